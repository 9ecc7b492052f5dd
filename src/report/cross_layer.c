/* The report's cross-layer similarity heatmaps (report/cross_layer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/cross_layer.h"

/* The cross-layer heatmaps `convergent similarity` drew for cross-layer statistics (rows of
 * similarity.json with "cross_layer"): linear CKA of every layer of one net against every layer
 * of the other, copied beside the page's figures. Beyond the paper: no figure of it there. */
void section_cross_layer(report *r)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/similarity/similarity.json", r->results);
    cJSON *j = read_json(path);
    if (!j) return;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(j, "results")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "cross_layer"));
        const cJSON *nets = cJSON_GetObjectItemCaseSensitive(row, "nets");
        if (!name || cJSON_GetArraySize(nets) != 2 || strchr(name, '/')) continue;
        const int a = cJSON_GetArrayItem(nets, 0)->valueint, b = cJSON_GetArrayItem(nets, 1)->valueint;
        char src[4400], file[600], caption[1024];
        snprintf(src, sizeof src, "%s/similarity/%s/cka_%d_%d.png", r->results, name, a, b);
        char *data = NULL;
        size_t bytes = 0;
        if (cvg_read_file(src, &data, &bytes) != CVG_OK) continue; /* not drawn: nothing to show */
        snprintf(file, sizeof file, "cross_%s_cka_%d_%d.png", name, a, b);
        char *png = fig_path(r, file);
        cvg_status st = png ? cvg_write_file_atomic(png, data, bytes) : CVG_ERR_NOMEM;
        free(png), free(data);
        if (st != CVG_OK) continue;
        snprintf(caption, sizeof caption,
                 "Cross-layer similarity (%s; beyond the paper, which has no such figure): linear "
                 "CKA of every layer of net %d (rows) against every layer of net %d (columns), from "
                 "spatially averaged activations. A bright diagonal means each layer's "
                 "representation is most like the same layer of the other network.", name, a, b);
        put_figure(r, file, caption);
    }
    cJSON_Delete(j);
}
