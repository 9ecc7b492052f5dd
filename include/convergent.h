/*
 * convergent: do different neural networks learn the same representations?
 *
 * The one public header of libconvergent. Conventions:
 *  - every name starts with cvg_; handles are opaque; functions that can fail return a
 *    cvg_status and give their results through out-parameters the caller owns;
 *  - on failure cvg_last_error() holds a sentence naming the file and the defect, for the
 *    calling thread, until that thread's next failing call;
 *  - the library never exits and never prints: messages go to the callback of cvg_set_log(),
 *    progress to the callback in the options of long calls;
 *  - matrices are row-major; "D" is the width of the concatenated vector of all networks'
 *    units [net1 | net2 | ...] (net-major), D = K * S for K networks of S units.
 */
#ifndef CONVERGENT_H
#define CONVERGENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status, errors, logging */

typedef enum cvg_status {
    CVG_OK = 0,
    CVG_ERR_ARG,         /* an argument is invalid (NULL, out of range, inconsistent) */
    CVG_ERR_NOMEM,       /* an allocation failed */
    CVG_ERR_IO,          /* open, read, write, rename or mkdir failed */
    CVG_ERR_FORMAT,      /* a file is malformed (bad magic, header, truncated data) */
    CVG_ERR_UNSUPPORTED, /* a well-formed file uses something we do not read (a dtype) */
    CVG_ERR_SHAPE,       /* shapes disagree (between files, or with what was expected) */
    CVG_ERR_NONFINITE,   /* NaN or Inf where a finite number is required */
    CVG_ERR_EMPTY,       /* no data: zero rows, zero units */
    CVG_ERR_NUMERIC,     /* a numerical method failed to converge */
    CVG_ERR_CANCELLED    /* a progress callback asked to stop */
} cvg_status;

/* A short, static description of a status code. */
const char *cvg_strerror(cvg_status status);

/* The detailed message of the last failure on the calling thread ("" if none). */
const char *cvg_last_error(void);

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *cvg_version(void);

typedef enum cvg_log_level {
    CVG_LOG_DEBUG = 0,
    CVG_LOG_INFO,
    CVG_LOG_WARN,
    CVG_LOG_ERROR
} cvg_log_level;

typedef void (*cvg_log_fn)(cvg_log_level level, const char *message, void *user);

/* Route the library's messages to fn (NULL: discard them, the default). Process-wide. */
void cvg_set_log(cvg_log_fn fn, void *user);

/* Progress of a long call: done out of total units of work (rows, pairs, ...).
 * Return nonzero to cancel; the call then returns CVG_ERR_CANCELLED. */
typedef int (*cvg_progress_fn)(const char *task, uint64_t done, uint64_t total, void *user);

/* ---------------------------------------------------------------- .npy files */

#define CVG_NPY_MAX_DIMS 8

/* An open .npy file (v1, v2 or v3) for streaming reads of rows. Any numeric or bool dtype,
 * either byte order, C or Fortran order; values are converted to double. A "row" is one
 * index of axis 0: prod(shape[1:]) values in C order. */
typedef struct cvg_npy cvg_npy;

cvg_status cvg_npy_open(const char *path, cvg_npy **out);
void cvg_npy_close(cvg_npy *npy);
int cvg_npy_ndim(const cvg_npy *npy);
const int64_t *cvg_npy_shape(const cvg_npy *npy);    /* ndim entries */
int64_t cvg_npy_rows(const cvg_npy *npy);            /* shape[0] (1 for a 0-d array) */
int64_t cvg_npy_row_size(const cvg_npy *npy);        /* prod(shape[1:]) */
const char *cvg_npy_descr(const cvg_npy *npy);       /* the dtype string, e.g. "<f4" */
const char *cvg_npy_path(const cvg_npy *npy);

/* Read rows [first, first + count) into dst (count * row_size doubles, C order). */
cvg_status cvg_npy_read_rows(cvg_npy *npy, int64_t first, int64_t count, double *dst);

/* Load a whole (small) array as double; *data is malloc'd and owned by the caller. */
cvg_status cvg_npy_load(const char *path, int *ndim, int64_t shape[CVG_NPY_MAX_DIMS],
                        double **data);

/* Write an array atomically: to "path.tmp.<pid>", then rename onto path. */
typedef enum cvg_dtype { CVG_F32, CVG_F64, CVG_I32, CVG_I64 } cvg_dtype;
cvg_status cvg_npy_save(const char *path, cvg_dtype dtype, int ndim, const int64_t *shape,
                        const void *data);

/* ---------------------------------------------------------------- one-pass moments */

/* Running count, mean and co-moment matrix M = sum_r (x_r - mean)(x_r - mean)^T of
 * D-dimensional rows, in double. Rows are added a chunk at a time: the chunk is centred on
 * its own mean, its co-moment formed by one BLAS rank-k update, and merged with the pairwise
 * formula of Chan, Golub and LeVeque. Two accumulators merge exactly (up to rounding). */
typedef struct cvg_moments cvg_moments;

/* How a chunk's co-moment is formed; see docs/statistics.md for the measured trade-off. */
typedef enum cvg_kernel {
    CVG_KERNEL_AUTO = 0, /* the default: CVG_KERNEL_SSYRK */
    CVG_KERNEL_SSYRK,    /* float32 rank-k update of the centred chunk */
    CVG_KERNEL_SGEMM,    /* float32 general product (computes both triangles) */
    CVG_KERNEL_DSYRK     /* float64 rank-k update */
} cvg_kernel;

cvg_status cvg_moments_create(int64_t dim, cvg_kernel kernel, cvg_moments **out);
void cvg_moments_free(cvg_moments *m);
/* rows: n x dim, row-major with leading dimension ld >= dim; all values finite. */
cvg_status cvg_moments_add(cvg_moments *m, const double *rows, int64_t n, int64_t ld);
/* dst += src (same dim). */
cvg_status cvg_moments_merge(cvg_moments *dst, const cvg_moments *src);
/* Set the state directly (count, mean[dim], comoment[dim*dim]); used to resume or load. */
cvg_status cvg_moments_set(cvg_moments *m, int64_t count, const double *mean,
                           const double *comoment);
int64_t cvg_moments_dim(const cvg_moments *m);
int64_t cvg_moments_count(const cvg_moments *m);
const double *cvg_moments_mean(const cvg_moments *m);     /* dim */
/* Copy the full symmetric co-moment matrix (dim * dim) into out. */
void cvg_moments_comoment(const cvg_moments *m, double *out);

/* From a co-moment matrix: std[i] = sqrt(M_ii / n) (population, as the paper) and the
 * correlation matrix. A unit with zero variance is "dead": correlation 0 with every other unit
 * and 1 with itself. dead (may be NULL) gets 1 for dead units. Never produces NaN. */
cvg_status cvg_correlation_from_comoment(int64_t dim, int64_t count, const double *comoment,
                                   double *std, double *corr, unsigned char *dead);

/* ---------------------------------------------------------------- the statistics pass */

typedef enum cvg_layout {
    CVG_LAYOUT_NCHW = 0, /* (N, C, H, W): channels are units, (image, y, x) are samples */
    CVG_LAYOUT_NHWC      /* (N, H, W, C) */
} cvg_layout;           /* 2-D (N, S) files are fully connected whatever the layout */

typedef struct cvg_stats_options {
    cvg_layout layout;
    int64_t reservoir;       /* rows kept for MI and joint plots; default 60000; 0: none */
    uint64_t seed;           /* reservoir seed; default 1 */
    int64_t row_offset;      /* global index of this shard's first row (for --merge) */
    int64_t chunk_rows;      /* sample rows read per chunk (memory); 0: automatic (~32 MB) */
    int threads;             /* 0: the OpenMP default */
    int skip_nonfinite;      /* drop rows with NaN/Inf (in any net) instead of failing */
    cvg_kernel kernel;
    cvg_progress_fn progress;
    void *progress_user;
} cvg_stats_options;

/* Fill with the defaults documented above. */
void cvg_stats_options_init(cvg_stats_options *opt);

/* The accumulated statistics of one layer of K networks with S units each. */
typedef struct cvg_stats cvg_stats;

/* One streaming pass over paths[0..nets-1] (one .npy per network, same shape). */
cvg_status cvg_stats_compute(const char *const *paths, int nets, const char *layer,
                             const cvg_stats_options *opt, cvg_stats **out);
/* Read a layer directory written by cvg_stats_save (OUT/<layer>). */
cvg_status cvg_stats_load(const char *layer_dir, cvg_stats **out);
/* Write OUT/<layer>/{meta.json, mean.npy, std.npy, comoment.npy, corr.npy, samples.npy,
 * samples_rows.npy}, each atomically. Creates directories as needed. */
cvg_status cvg_stats_save(const cvg_stats *stats, const char *out_dir);
/* Read one (K*S) x (K*S) matrix of a layer directory: name "corr" reads corr.npy, "mi" mi.npy.
 * nets and units come from meta.json; *matrix is malloc'd, owned by the caller. */
cvg_status cvg_stats_load_matrix(const char *layer_dir, const char *name, int *nets,
                                 int64_t *units, double **matrix);
/* dst += src: same layer shape, same reservoir size and seed. Equals one pass over both. */
cvg_status cvg_stats_merge(cvg_stats *dst, const cvg_stats *src);
void cvg_stats_free(cvg_stats *stats);

const char *cvg_stats_layer(const cvg_stats *s);
int cvg_stats_nets(const cvg_stats *s);
int64_t cvg_stats_units(const cvg_stats *s);          /* S, units per net */
int64_t cvg_stats_count(const cvg_stats *s);          /* samples accumulated */
int64_t cvg_stats_skipped(const cvg_stats *s);        /* rows dropped as non-finite */
const double *cvg_stats_mean(const cvg_stats *s);     /* K*S, net-major */
/* Compute std (K*S), corr ((K*S)^2) and dead flags (K*S) into caller buffers (any may be NULL). */
cvg_status cvg_stats_correlation(const cvg_stats *s, double *std, double *corr,
                                 unsigned char *dead);
/* Reservoir rows: *rows x (K*S) float32, and their global row indices. Owned by s. */
const float *cvg_stats_samples(const cvg_stats *s, int64_t *rows);
const int64_t *cvg_stats_sample_rows(const cvg_stats *s);
/* Mean |correlation| over pairs of live units within a net and between nets (for summaries). */
cvg_status cvg_stats_mean_abs_corr(const cvg_stats *s, const double *corr,
                                   const unsigned char *dead, double *within, double *between);

/* ---------------------------------------------------------------- one-to-one alignment */

/* The units of net A (rows) aligned to those of net B (columns) by a similarity matrix
 * (between-net correlation or mutual information), paper section 3.1. Arrays have `rows`
 * entries and are owned by the result (cvg_match_result_free). */
typedef struct cvg_match_result {
    int64_t rows, cols;
    int64_t *semi;        /* semi-matching: the B unit of highest similarity (ties: lowest) */
    double *semi_value;
    int64_t *match;       /* matching: the B unit assigned one-to-one, -1 if rows > cols */
    double *match_value;  /* 0 where unmatched */
    double semi_mean;     /* mean of semi_value over A's units */
    double match_mean;    /* mean of match_value over the matched A units */
    double overlap;       /* fraction of A units whose match is their semi-match */
} cvg_match_result;

/* sim: rows x cols, row-major, finite. */
cvg_status cvg_match(const double *sim, int64_t rows, int64_t cols, cvg_match_result *out);
void cvg_match_result_free(cvg_match_result *r);

/* ---- linear assignment (one-to-one matching, paper section 3.1) */

/* Max-weight assignment: maximize sum_i score[i*cols + row_to_col[i]] (score row-major,
 * rows x cols, finite values). If rows <= cols every row gets a distinct column; if rows > cols
 * every column gets a distinct row and the rows left over get -1. Objective summed in double.
 * total (may be NULL) receives the optimal sum.
 * Exact (Jonker-Volgenant: column reduction, augmenting row reduction, shortest augmenting
 * paths; see docs/matching.md). Among tied optima one is returned, always the same for the same
 * input. Extra memory O(rows + cols), plus one rows x cols copy when rows > cols.
 * Errors: CVG_ERR_ARG (NULL, negative shape), CVG_ERR_EMPTY (rows or cols 0),
 * CVG_ERR_NONFINITE (a NaN or Inf, named by row and column), CVG_ERR_NOMEM. */
cvg_status cvg_assignment_max(const double *score, int64_t rows, int64_t cols,
                              int64_t *row_to_col, double *total);

/* The same, minimizing sum_i cost[i*cols + row_to_col[i]]. */
cvg_status cvg_assignment_min(const double *cost, int64_t rows, int64_t cols,
                              int64_t *row_to_col, double *total);

/* ---- similarity measures between networks (docs/similarity.md) */

/* Every measure is a function of the count, the co-moment blocks and, for the debiased CKA,
 * the HSIC sums of the statistics pass: no second pass over the activations. */
typedef enum cvg_measure {
    CVG_SIM_CKA = 0,        /* linear CKA (biased HSIC), in [0, 1] */
    CVG_SIM_CKA_DEBIASED,   /* linear CKA from the unbiased HSIC estimator of Song et al. */
    CVG_SIM_CCA_RHO,        /* mean canonical correlation */
    CVG_SIM_CCA_RHO2,       /* mean squared canonical correlation */
    CVG_SIM_SVCCA,          /* mean canonical correlation after PCA to svcca_variance */
    CVG_SIM_PWCCA,          /* projection-weighted mean canonical correlation */
    CVG_SIM_PROCRUSTES,     /* orthogonal Procrustes distance of normalized data, in [0, 2] */
    CVG_SIM_GAUSSIAN_MI,    /* -1/2 sum log(1 - rho_i^2), nats */
    CVG_SIM_MEASURES
} cvg_measure;

/* "cka", "cka_debiased", "cca_mean_rho", "cca_mean_rho2", "svcca", "pwcca", "procrustes",
 * "gaussian_mi". */
const char *cvg_measure_name(cvg_measure m);

typedef struct cvg_similarity_options {
    double ridge;           /* relative ridge: C + ridge * mean(diag C) * I before whitening;
                               default 1e-6; 0: none (a singular covariance is then an error
                               of the CCA measures) */
    double svcca_variance;  /* fraction of variance SVCCA keeps on each side; default 0.99 */
} cvg_similarity_options;

void cvg_similarity_options_init(cvg_similarity_options *opt);

enum { CVG_SIM_REASON = 240 };

/* The measures for one pair of unit blocks X (net a) and Y (net b). A measure that is not
 * defined for these statistics has defined[m] = 0, value[m] = 0 and a sentence in why[m]. */
typedef struct cvg_similarity {
    double value[CVG_SIM_MEASURES];
    int defined[CVG_SIM_MEASURES];
    char why[CVG_SIM_MEASURES][CVG_SIM_REASON];
    int64_t units_a, units_b;        /* block widths */
    int64_t live_a, live_b;          /* units with nonzero variance (CCA uses only these) */
    int64_t svcca_dims_a, svcca_dims_b;
    int64_t ncca;                    /* min(live_a, live_b) */
    double *rho;                     /* ncca canonical correlations, descending (owned) */
    double *pwcca_weight;            /* ncca PWCCA weights, summing to 1 (owned) */
} cvg_similarity;

/* comoment: dim x dim, full and symmetric (M = sum of centred outer products over count
 * samples). X = units [off_a, off_a + p), Y = units [off_b, off_b + q). sqnorm: the HSIC sums
 * {Q_aa, Q_ab, Q_bb} (sum_r ||x_r - mean||^2 ||y_r - mean||^2 ...) or NULL, in which case the
 * debiased CKA is undefined. Errors: CVG_ERR_ARG, CVG_ERR_NOMEM, CVG_ERR_NUMERIC (LAPACK). */
cvg_status cvg_similarity_compute(const double *comoment, int64_t dim, int64_t count,
                                  int64_t off_a, int64_t p, int64_t off_b, int64_t q,
                                  const double sqnorm[3], const cvg_similarity_options *opt,
                                  cvg_similarity *out);
void cvg_similarity_free(cvg_similarity *s);

/* The statistics a directory holds, as blocks of units: one block per network for a layer
 * directory (OUT/<layer>, meta.json), one per (network, layer) for a cross-layer directory
 * (cross.json, written by cvg_cross_save). */
typedef struct cvg_blocks {
    int count;          /* blocks */
    int nets, layers;   /* count = nets * layers, net-major */
    int64_t dim;        /* total units */
    int64_t samples;
    int64_t *offset;    /* count + 1 */
    int *net;           /* count: 0-based network of each block */
    char **layer;       /* count: layer name of each block */
    double *comoment;   /* dim x dim */
    double *sqnorm;     /* count x count HSIC sums, NULL if the directory predates them */
    int cross;          /* 1 for a cross-layer directory */
} cvg_blocks;

cvg_status cvg_blocks_load(const char *dir, cvg_blocks *out);
void cvg_blocks_free(cvg_blocks *b);
/* The measures between blocks i and j. */
cvg_status cvg_blocks_similarity(const cvg_blocks *b, int i, int j,
                                 const cvg_similarity_options *opt, cvg_similarity *out);

/* Sparse prediction ("few-to-one"): every unit y_j of block Y predicted from all units of block
 * X by the lasso on standardized units,
 *     min_w  1/2 E[(y_j - X w)^2] + lambda ||w||_1      (unit variances, zero means),
 * solved by coordinate descent on the correlation matrix (covariance updates), warm-started
 * along a geometric path of lambda from lambda_max (every weight 0) down. */
typedef struct cvg_lasso_options {
    int path;               /* number of lambdas; default 30 */
    double min_ratio;       /* smallest lambda / lambda_max; default 1e-2 */
    const double *lambdas;  /* path values to use instead (descending, > 0); default NULL:
                               lambda_max * min_ratio^(l / (path - 1)), l = 0 .. path-1, with
                               lambda_max = the largest |corr(x_k, y_j)| (every weight 0) */
    double tol;             /* stop when no weight moves more than tol in a sweep; 1e-7 */
    int max_sweeps;         /* per lambda and target; default 100000 */
    int keep_weights;       /* also return every weight (path x q x p doubles); default 0 */
} cvg_lasso_options;

void cvg_lasso_options_init(cvg_lasso_options *opt);

typedef struct cvg_lasso_result {
    int path;
    int64_t p, q;                 /* predictors (units of X), targets (units of Y) */
    int64_t live_p, live_q;       /* units with nonzero variance */
    double *lambda;               /* path */
    double *r2;                   /* path x q: fraction of y_j's variance explained (0 if dead) */
    int64_t *nnz;                 /* path x q: nonzero weights */
    double *mean_r2, *mean_nnz;   /* path: means over the live targets */
    double *weights;              /* path x q x p (standardized units), or NULL */
    int64_t not_converged;        /* (lambda, target) problems that hit max_sweeps */
} cvg_lasso_result;

cvg_status cvg_lasso_path(const double *comoment, int64_t dim, int64_t off_x, int64_t p,
                          int64_t off_y, int64_t q, const cvg_lasso_options *opt,
                          cvg_lasso_result *out);
void cvg_lasso_result_free(cvg_lasso_result *r);

/* Cross-layer statistics: co-moments between every layer of every network, so that measures
 * can be computed layer by layer (every layer of net A against every layer of net B). Samples
 * are the N inputs: a convolutional layer is spatially averaged per input (global average
 * pooling, so layers of different spatial sizes share the same samples); a fully connected
 * layer is used as is. paths: nets * layers files, net-major (net 1's layers in order, then
 * net 2's...), all with the same N. Uses opt's layout, chunk_rows (inputs per chunk),
 * threads, skip_nonfinite, kernel and progress; no reservoir. */
typedef struct cvg_cross cvg_cross;

cvg_status cvg_cross_compute(const char *const *paths, int nets, int layers,
                             const char *const *layer_names, const cvg_stats_options *opt,
                             cvg_cross **out);
/* Write out_dir/name/{cross.json, mean.npy, comoment.npy, sqnorm_q.npy, sqnorm_g.npy}. */
cvg_status cvg_cross_save(const cvg_cross *c, const char *out_dir, const char *name);
void cvg_cross_free(cvg_cross *c);

#ifdef __cplusplus
}
#endif
#endif /* CONVERGENT_H */
