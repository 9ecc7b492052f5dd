/* The accumulated statistics of one layer of K networks (struct cvg_stats). */
#ifndef CVG_STATS_INTERNAL_H
#define CVG_STATS_INTERNAL_H

#include "convergent.h"
#include "stats/reservoir.h"
#include "stats/sqnorm.h"

struct cvg_stats {
    char *layer;
    int nets;
    int64_t units;           /* S, per net */
    int64_t height, width;   /* spatial size of a conv layer; 0 for a fully connected layer */
    cvg_layout layout;
    int64_t images;          /* inputs seen (axis 0 of the files) */
    int64_t rows_seen;       /* sample rows seen, skipped ones included */
    int64_t row_offset;      /* global index of the first row (shards) */
    int64_t skipped;         /* rows dropped as non-finite */
    cvg_kernel kernel;
    cvg_moments *moments;    /* over D = nets * units */
    reservoir samples;
    sqnorm_sums hsic;        /* block = one net: the sums of the debiased-CKA estimator */
    int has_hsic;            /* 0 for directories written before those sums existed */
    int source_count;
    char **sources;          /* source files, net-major (K per shard) */
};

/* A stats object with empty accumulators. */
cvg_status stats_create(const char *layer, int nets, int64_t units, int64_t reservoir_rows,
                        uint64_t seed, cvg_kernel kernel, cvg_stats **out);
cvg_status stats_add_source(cvg_stats *s, const char *path);

#endif
