/* The accumulated statistics of one layer of K networks (struct cvg_stats). */
#ifndef CVG_STATS_INTERNAL_H
#define CVG_STATS_INTERNAL_H

#include "convergent.h"
#include "stats/reservoir.h"
#include "stats/sqnorm.h"

/* Per unit, the CVG_TOP_K largest activations, decreasing (ties: the earlier one first), with
 * where they happened: input image, position, and the receptive field box in input pixels. */
typedef struct top_entry {
    float value;
    int64_t image;
    int32_t y, x;
    int32_t box[4];          /* y0, x0, y1, x1, inclusive */
} top_entry;

typedef struct top_unit {
    int count;
    top_entry entry[CVG_TOP_K];
} top_unit;

struct cvg_stats {
    char *layer;
    int nets;
    int64_t units;           /* S, per net, when every net has S units; 0 when widths differ */
    int64_t dim;             /* D = sum of the nets' widths S_k */
    int64_t *offset;         /* nets + 1: net k's units are [offset[k], offset[k+1]) of D */
    int64_t height, width;   /* spatial size of a conv layer; 0 for a fully connected layer */
    cvg_layout layout;
    cvg_conv_samples conv_samples; /* how a conv layer's activations became samples */
    int64_t images;          /* inputs seen (axis 0 of the files) */
    int64_t rows_seen;       /* sample rows seen, skipped ones included */
    int64_t row_offset;      /* global index of the first row (shards) */
    int64_t skipped;         /* rows dropped as non-finite */
    cvg_kernel kernel;
    cvg_moments *moments;    /* over D = nets * units */
    reservoir samples;
    int samples_sorted;      /* reservoir slots in row order (sorted lazily for output) */
    top_unit *top;           /* D units, or NULL when not kept (inputs given as .npy) */
    char *image_dir, *image_split; /* where the inputs' images are, for patches (or NULL) */
    int position;            /* the layer's place in its network (0: the first layer), from the
                                taps; -1 when unknown (inputs given as .npy) */
    sqnorm_sums hsic;        /* block = one net: the sums of the debiased-CKA estimator */
    int has_hsic;            /* 0 for directories written before those sums existed */
    int source_count;
    char **sources;          /* source files, net-major (K per shard) */
};

/* Inputs per chunk of a pass, each input `positions` sample rows of row_bytes bytes of buffer:
 * chunk_rows rows when the caller chose (> 0), else about 32 MiB of rows within [256, 16384]
 * rows; rounded down to whole inputs, at least one. The statistics pass and the cross-layer
 * pass plan their chunks by it. */
int64_t stats_chunk_inputs(int64_t chunk_rows, int64_t row_bytes, int64_t positions);

/* A stats object with empty accumulators: widths[k] units for net k. */
cvg_status stats_create(const char *layer, int nets, const int64_t *widths, int64_t reservoir_rows,
                        uint64_t seed, cvg_kernel kernel, cvg_stats **out);
/* The net of unit j (0 <= j < D), and the unit's index within it. */
int stats_net_of(const cvg_stats *s, int64_t j);
static inline int64_t stats_width(const cvg_stats *s, int k) { return s->offset[k + 1] - s->offset[k]; }
cvg_status stats_check_layer_name(const char *layer);
/* Accumulate n rows (float or double, n x D) with their global row indices (for the reservoir).
 * The caller counts rows_seen, images and skipped. Every value must be finite. */
cvg_status stats_add(cvg_stats *s, const void *rows, int is_float, int64_t n, const int64_t *global_rows);
/* The same for rows in column parts (moments_internal.h); row r's global index is
 * global_rows[r], or row0 + r when global_rows is NULL. With block_bad (one byte per sub-block
 * of MOMENTS_SUB_ROWS rows) the fused kernel's sub-blocks holding a NaN or infinity are left
 * out of every accumulator and flagged there for the caller; without it they are an error. */
cvg_status stats_add_parts(cvg_stats *s, const row_parts *rows, int64_t n, const int64_t *global_rows,
                           int64_t row0, unsigned char *block_bad);
/* The same for n rows made group by group: fill(user, first, count, out) describes rows
 * [first, first + count) of the batch in *out (valid until the next fill), group rows at a
 * time (a multiple of MOMENTS_CHUNK_ROWS): the statistics are those of one stats_add_parts of
 * all n rows, bit for bit. Every value must be finite. */
cvg_status stats_add_groups(cvg_stats *s, int64_t n, int64_t group,
                            void (*fill)(void *user, int64_t first, int64_t count, row_parts *out),
                            void *user, int64_t row0);
/* The same for n finite float rows made sub-block by sub-block by the thread that adds them
 * (moments_filler): no group buffer; the reservoir's rows are copied from each sub-block while
 * it is in cache. The statistics are those of stats_add_groups of the same rows, bit for bit.
 * Only for a layer whose accumulator takes a filler (moments_takes_filler(s->moments)). */
cvg_status stats_add_filled(cvg_stats *s, int64_t n, const moments_filler *filler, int64_t row0);
/* Tests: 1 makes cvg_stats_add_nets_nchw transpose element by element even where AVX-512 is
 * available, 0 restores the choice by CPU; returns 1 when the AVX-512 transpose is in use. */
int stats__nchw_force_portable(int on);
/* Tests: 1 makes cvg_stats_add_nets_nchw transpose groups of rows into one buffer and add them
 * (stats_add_groups) even where the accumulator takes rows sub-block by sub-block; 0 restores
 * the choice. */
int stats__nchw_force_groups(int on);
/* Keep top activations per unit (taps). */
cvg_status stats_enable_top(cvg_stats *s);
void top_offer(top_unit *t, float value, int64_t image, int y, int x, const int box[4]);
/* Load dir/name as double, checking its shape (want_shape[i] < 0: any) and that every value
 * is finite; *data malloc'd. */
cvg_status stats_load_array(const char *dir, const char *name, int want_ndim,
                            const int64_t *want_shape, double **data);
/* Test hook: called by the pass over mapped files after a chunk's pages are mapped and
 * populated, before they are read (row0: the chunk's first file row), so that a test can
 * shrink a file at the worst moment. NULL (the default): nothing. */
extern void (*stats__mapped_hook)(int64_t row0, void *user);
extern void *stats__mapped_hook_user;
/* Put the reservoir in row order (for output); changes no statistic. */
void stats_sort_samples(const cvg_stats *s);

#endif
