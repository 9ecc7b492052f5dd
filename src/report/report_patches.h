/* The report's sections made of input patches (Fig. 2, 4, 5, 12). */
#ifndef CVG_REPORT_PATCHES_SECTION_H
#define CVG_REPORT_PATCHES_SECTION_H

#include "report/page.h"
#include "report/patches.h"

/* What one layer's patch figures need, or why they cannot be drawn. */
typedef struct layer_patches {
    int ok;
    patch_layer p;
    double *top, *top_value;
    float *filters;
    char split[16];        /* the images' split */
    char why[600];         /* when !ok */
    char filter_note[200]; /* first layer: why the filters are missing, "" if shown */
} layer_patches;

/* Load the layer's top-9 entries and images (and, for the networks' first layer, nets 1 and
 * 2's filters). Returns lp->ok; without patches lp->why says why. */
int layer_patches_open(report *r, const layer_data *L, int first, layer_patches *lp);
void layer_patches_close(layer_patches *lp);
void patch_cache_free(patch_cache *pc);

/* Fig. 2 and (if mi.npy exists) Fig. 4, or a note saying why they are not drawn. */
cvg_status section_matched_patches(report *r, const layer_data *L, const layer_patches *lp);
/* Fig. 5 / 12 (first: the networks' first layer, 12 clusters as the paper's Fig. 12, else 8)
 * from the clustering of nets 1 and 2. */
cvg_status section_cluster_patches(report *r, const layer_data *L, const cvg_clustering *cluster,
                                   const layer_patches *lp, int first);

#endif
