/* JSON numbers that read back to the same double: the shortest of 15, 16 or 17 significant
 * digits that round-trips (cJSON's own printer accepts 15 digits within an epsilon, so it may
 * drop the last bit; 17 digits always would keep it, but print 0.2 as 0.20000000000000001). */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "core/internal.h"

struct cJSON *cvg__json_number(double v)
{
    char text[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v) break;
    }
    return cJSON_CreateRaw(text);
}
