/* JSON numbers that read back to the same double: the shortest of 15, 16 or 17 significant
 * digits that round-trips (cJSON's own printer accepts 15 digits within an epsilon, so it may
 * drop the last bit; 17 digits always would keep it, but print 0.2 as 0.20000000000000001). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/internal.h"

struct cJSON *cvg__json_number(double v)
{
    if (!isfinite(v)) return cJSON_CreateNull(); /* JSON has no NaN or infinity */
    char text[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v) break;
    }
    return cJSON_CreateRaw(text);
}

cvg_status cvg__json_write(const char *path, struct cJSON *json, const char *what)
{
    char *text = json ? cJSON_Print(json) : NULL;
    cJSON_Delete(json);
    if (!text) return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory writing %s", path, what);
    cvg_status st = cvg_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}

cvg_status cvg__json_read(const char *path, struct cJSON **out)
{
    char *text;
    *out = NULL;
    cvg_status st = cvg_read_file(path, &text, NULL);
    if (st != CVG_OK) return st;
    *out = cJSON_Parse(text);
    free(text);
    return CVG_OK;
}

int cvg__json_finite(const cJSON *o, const char *key, double *v)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) return 0;
    *v = item->valuedouble;
    return 1;
}
