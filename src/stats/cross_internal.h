/* The accumulated cross-layer statistics (struct cvg_cross), shared by the pass (cross.c) and
 * the directory's loading and merging (cross_dir.c). */
#ifndef CVG_CROSS_INTERNAL_H
#define CVG_CROSS_INTERNAL_H

#include "convergent.h"
#include "stats/sqnorm.h"

struct cvg_cross {
    int nets, layers;
    char **names;         /* layers */
    int64_t *units;       /* layers: units of each layer (the same in every net) */
    int64_t *positions;   /* layers: H*W pooled over (1 for fc) */
    int64_t images, skipped;
    int64_t *offset;      /* nets*layers + 1 */
    cvg_moments *moments;
    sqnorm_sums hsic;     /* block = one (net, layer) */
    int has_hsic;         /* 0: a directory without the sums (no debiased CKA) */
    int source_count;
    char **sources;       /* net-major, nets*layers per pass merged in */
    char *origin;         /* the directory it was loaded from, for messages; NULL if computed */
};

#endif
