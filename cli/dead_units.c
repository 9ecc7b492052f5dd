/* The dead units of a layer (zero variance: correlation 0 with every other unit by convention),
 * read from STATS/<layer>/meta.json, for match and mi to leave out (cli.h). */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cli.h"

int cli_load_dead(const char *layer_dir, int K, const int64_t *offset, unsigned char **dead, int *counts)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.json", layer_dir);
    *dead = calloc((size_t)offset[K] + 1, 1);
    if (!*dead) return cli_error("out of memory");
    for (int k = 0; k < K; k++) counts[k] = 0;
    cJSON *meta = cli_read_json(path);
    if (!meta) {
        free(*dead);
        *dead = NULL;
        return cli_error("%s: missing or not JSON", path);
    }
    /* directories written before the list existed have no dead units recorded: none left out */
    const cJSON *lists = cJSON_GetObjectItemCaseSensitive(meta, "dead_unit_indices");
    int rc = 0;
    if (lists && (!cJSON_IsArray(lists) || cJSON_GetArraySize(lists) != K))
        rc = cli_error("%s: \"dead_unit_indices\" is not one list per network (%d)", path, K);
    for (int k = 0; rc == 0 && lists && k < K; k++) {
        const cJSON *unit;
        const int64_t S = offset[k + 1] - offset[k];
        cJSON_ArrayForEach(unit, cJSON_GetArrayItem(lists, k)) {
            if (!cJSON_IsNumber(unit) || unit->valuedouble < 0 || unit->valuedouble >= (double)S ||
                unit->valuedouble != (double)(int64_t)unit->valuedouble) {
                rc = cli_error("%s: \"dead_unit_indices\" of network %d holds a value that is not "
                               "a unit index in [0, %lld)", path, k + 1, (long long)S);
                break;
            }
            unsigned char *flag = &(*dead)[offset[k] + (int64_t)unit->valuedouble];
            counts[k] += !*flag;
            *flag = 1;
        }
    }
    cJSON_Delete(meta);
    if (rc != 0) {
        free(*dead);
        *dead = NULL;
    }
    return rc;
}
