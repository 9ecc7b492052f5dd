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

/* ---- networks: data, layers, training, activations (paper section 2) */

/* Where Debian's dataset-fashion-mnist package puts Fashion-MNIST. */
#define CVG_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

/* Read one IDX file (gzip'd or plain, detected from its first bytes) of unsigned bytes
 * (type code 0x08): dims[0..ndim-1] from the header, *data (prod(dims) bytes) malloc'd and
 * owned by the caller. Errors name the file: bad magic, unsupported type, truncated data,
 * trailing bytes, corrupt gzip stream. */
cvg_status cvg_idx_load(const char *path, int *ndim, int64_t dims[CVG_NPY_MAX_DIMS],
                        uint8_t **data);

/* A labelled image set. images: count x (channels*height*width) float32, pixel / 255, NCHW. */
typedef struct cvg_dataset {
    int64_t count;
    int channels, height, width;
    int classes;        /* 1 + the largest label */
    float *images;
    uint8_t *labels;    /* count */
} cvg_dataset;

/* Load split "train" (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]) or "test"
 * (t10k-...) from dir (NULL: CVG_DEFAULT_DATA_DIR), the layout of MNIST, Fashion-MNIST and
 * EMNIST. limit > 0 keeps only the first limit images. A missing default directory gives an
 * error naming the Debian package to install. */
cvg_status cvg_dataset_load(const char *dir, const char *split, int64_t limit, cvg_dataset *out);
void cvg_dataset_free(cvg_dataset *ds);

/* A convolutional network: conv and fully connected layers, each followed by ReLU (except the
 * last), optionally max pooling, local response normalization and dropout. Described by text,
 *   "conv1:32k5p2,pool,lrn;conv2:64k5p2,pool,lrn;...;fc8:10"
 * (grammar and defaults in docs/training.md) or a preset name (see cvg_net_preset). */
typedef struct cvg_net cvg_net;

/* The description of a preset ("default", "wide", "tiny"), or NULL if there is no such name. */
const char *cvg_net_preset(const char *name);

/* A network for inputs of channels x height x width, weights drawn from seed (He-normal
 * weights, zero biases). arch: description or preset name. The last layer's width is the
 * number of classes. */
cvg_status cvg_net_create(const char *arch, int channels, int height, int width, uint64_t seed,
                          cvg_net **out);
void cvg_net_free(cvg_net *net);
/* The canonical description (every default spelled out). Owned by net. */
const char *cvg_net_arch(const cvg_net *net);
/* Named layers (conv1 .. fc8): count, name, index of a name (-1 if none), and the shape of one
 * image's activation (C, H, W; H = W = 1 for fully connected layers). */
int cvg_net_layers(const cvg_net *net);
const char *cvg_net_layer_name(const cvg_net *net, int layer);
int cvg_net_layer_index(const cvg_net *net, const char *name);
void cvg_net_layer_shape(const cvg_net *net, int layer, int64_t shape[3]);
int64_t cvg_net_param_count(const cvg_net *net);

/* Inference on n images (n x C*H*W float32); afterwards cvg_net_activation copies a layer's
 * activations (after its ReLU, before pooling, as Caffe's in-place ReLU leaves them; the last
 * layer gives logits) as (n, C, H, W) into dst. The buffers grow to n images (memory: a
 * batch of n through every layer; use batches of a few hundred). */
cvg_status cvg_net_forward(cvg_net *net, const float *images, int64_t n);
cvg_status cvg_net_activation(const cvg_net *net, int layer, float *dst);

/* Accuracy (fraction correct) and mean cross-entropy of net on ds (either may be NULL). */
cvg_status cvg_net_evaluate(cvg_net *net, const cvg_dataset *ds, double *accuracy, double *loss);

/* Write the weights as safetensors (names "conv1.weight", "conv1.bias", ...; weights OIHW /
 * (out, in) as PyTorch). Atomic. Metadata: the description. */
cvg_status cvg_net_save(const cvg_net *net, const char *path);
/* Read a checkpoint written by cvg_net_save or cvg_train (the optimizer state is ignored). */
cvg_status cvg_net_load(const char *path, cvg_net **out);

/* One finished epoch of training. */
typedef struct cvg_epoch_report {
    int epoch;              /* 1-based */
    int epochs;
    double train_loss;      /* mean over the epoch's batches */
    double test_accuracy;   /* on the test set given to cvg_train (-1 if none) */
    double lr;              /* learning rate of the epoch's last batch */
    double seconds;         /* wall time of the epoch (training + testing) */
} cvg_epoch_report;

typedef int (*cvg_epoch_fn)(const cvg_epoch_report *report, void *user);

typedef enum cvg_lr_schedule {
    CVG_LR_STEP = 0,  /* lr * gamma^floor(epoch / step_epochs) */
    CVG_LR_COSINE,    /* lr * (1 + cos(pi * t)) / 2, t = fraction of all batches done */
    CVG_LR_CONSTANT
} cvg_lr_schedule;

typedef struct cvg_train_options {
    int epochs;                 /* default 5 */
    int batch;                  /* default 64 */
    double lr;                  /* base learning rate, default 0.02 */
    cvg_lr_schedule schedule;   /* default CVG_LR_COSINE */
    double lr_gamma;            /* step schedule factor, default 0.1 */
    int lr_step_epochs;         /* step schedule period, default 2 */
    double momentum;            /* default 0.9 */
    double weight_decay;        /* L2 on weights, not biases; default 5e-4 */
    uint64_t seed;              /* initialization and dropout; default 1 */
    uint64_t data_seed;         /* order of the training images; default 1 */
    int threads;                /* 0: the OpenMP default */
    const char *checkpoint;     /* safetensors written atomically after every epoch, or NULL */
    const char *history;        /* JSON written atomically after every epoch, or NULL */
    int resume;                 /* continue from checkpoint if it exists (same settings) */
    cvg_epoch_fn on_epoch;      /* after each epoch (may be NULL); nonzero: stop */
    void *epoch_user;
    cvg_progress_fn progress;   /* batches of the current epoch */
    void *progress_user;
} cvg_train_options;

void cvg_train_options_init(cvg_train_options *opt);

/* Train a network of description arch (or preset) on train with SGD + momentum, testing on test
 * (may be NULL) after each epoch. With opt->resume and an existing checkpoint, the run continues
 * after the checkpoint's epoch and ends with exactly the weights of an uninterrupted run.
 * *out (may be NULL) receives the trained network. */
cvg_status cvg_train(const char *arch, const cvg_dataset *train, const cvg_dataset *test,
                     const cvg_train_options *opt, cvg_net **out);

/* Run net over ds and write one layer's activations to path as float32 .npy, (N, C, H, W) for
 * convolutional layers and (N, S) for fully connected ones, streamed in batches. Atomic. */
cvg_status cvg_net_extract(cvg_net *net, const cvg_dataset *ds, const char *layer,
                           const char *path, cvg_progress_fn progress, void *progress_user);

#ifdef __cplusplus
}
#endif
#endif /* CONVERGENT_H */
