/*
 * convergent analysis: one-pass statistics of layers, one-to-one matching, mutual
 * information, hierarchical spectral clustering and similarity measures (paper sections 2-4).
 * Part of the public API of libconvergent; the conventions are in convergent_core.h.
 */
#ifndef CONVERGENT_ANALYSIS_H
#define CONVERGENT_ANALYSIS_H

#include "convergent_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- one-pass moments */

/* Running count, mean and co-moment matrix M = sum_r (x_r - mean)(x_r - mean)^T of
 * D-dimensional rows, in double. Rows are added a chunk at a time: blocks of 128 rows are
 * centred on their own means, their products formed in float32 and summed in double, and the
 * chunk merged with the pairwise formula of Chan, Golub and LeVeque. Two accumulators merge
 * exactly (up to rounding). */
typedef struct cvg_moments cvg_moments;

/* How a chunk's co-moment is formed; see docs/statistics.md for the measured trade-off. */
typedef enum cvg_kernel {
    CVG_KERNEL_AUTO = 0, /* the default: CVG_KERNEL_FUSED (the fastest, docs/statistics.md) */
    CVG_KERNEL_SSYRK,    /* float32 BLAS: ssyrk on each strip's diagonal square, sgemm on the rest */
    CVG_KERNEL_SGEMM,    /* float32 BLAS: one sgemm per strip (the square below the diagonal wasted) */
    CVG_KERNEL_DSYRK,    /* float64 BLAS rank-k update */
    CVG_KERNEL_FUSED     /* float32, our own register-tiled kernel fused with the centring */
} cvg_kernel;

CVG_API cvg_status cvg_moments_create(int64_t dim, cvg_kernel kernel, cvg_moments **out);
CVG_API void cvg_moments_free(cvg_moments *m);
/* rows: n x dim, row-major with leading dimension ld >= dim; all values finite. (The fused
 * kernel leaves blocks of 128 rows holding NaN or Inf out and returns CVG_ERR_NONFINITE; the
 * BLAS kernels do not look.) */
CVG_API cvg_status cvg_moments_add(cvg_moments *m, const double *rows, int64_t n, int64_t ld);
/* The same for float32 rows (half the memory traffic; means and merges stay in double). */
CVG_API cvg_status cvg_moments_add_f32(cvg_moments *m, const float *rows, int64_t n, int64_t ld);
/* dst += src (same dim). */
CVG_API cvg_status cvg_moments_merge(cvg_moments *dst, const cvg_moments *src);
/* Set the state directly (count, mean[dim], comoment[dim*dim]); used to resume or load. */
CVG_API cvg_status cvg_moments_set(cvg_moments *m, int64_t count, const double *mean,
                                   const double *comoment);
CVG_API int64_t cvg_moments_dim(const cvg_moments *m);
CVG_API int64_t cvg_moments_count(const cvg_moments *m);
CVG_API const double *cvg_moments_mean(const cvg_moments *m);     /* dim */
/* Copy the full symmetric co-moment matrix (dim * dim) into out. */
CVG_API void cvg_moments_comoment(const cvg_moments *m, double *out);

/* From a co-moment matrix: std[i] = sqrt(M_ii / n) (population, as the paper) and the
 * correlation matrix. A unit with zero variance is "dead": correlation 0 with every other unit
 * and 1 with itself. dead (may be NULL) gets 1 for dead units. Never produces NaN. */
CVG_API cvg_status cvg_correlation_from_comoment(int64_t dim, int64_t count, const double *comoment,
                                           double *std, double *corr, unsigned char *dead);

/* ---------------------------------------------------------------- the statistics pass */

typedef enum cvg_layout {
    CVG_LAYOUT_NCHW = 0, /* (N, C, H, W): channels are units, (image, y, x) are samples */
    CVG_LAYOUT_NHWC      /* (N, H, W, C) */
} cvg_layout;           /* 2-D (N, S) files are fully connected whatever the layout */

/* What a sample of a convolutional (4-D) activation is (docs/statistics.md). */
typedef enum cvg_conv_samples {
    CVG_CONV_POSITIONS = 0, /* every (image, position) is a sample, channels are units: the
                               paper's (default) */
    CVG_CONV_MEAN,          /* one sample per image: each channel averaged over the positions
                               (global average pooling); S = C units */
    CVG_CONV_FLATTEN        /* one sample per image: its C*H*W values, in the file's axis
                               order, are the units; S = C*H*W */
} cvg_conv_samples;

/* "positions", "mean", "flatten" (NULL for a value outside the enum). */
CVG_API const char *cvg_conv_samples_name(cvg_conv_samples mode);
/* The mode named by name; CVG_ERR_ARG, naming the value and the choices, for anything else. */
CVG_API cvg_status cvg_conv_samples_parse(const char *name, cvg_conv_samples *mode);

typedef struct cvg_stats_options {
    cvg_layout layout;
    int64_t reservoir;       /* rows kept for MI and joint plots; default 60000; 0: none */
    uint64_t seed;           /* reservoir seed; default 1 */
    int64_t row_offset;      /* global index of this shard's first row (for --merge) */
    int64_t first_input;     /* cvg_stats_compute only: read inputs (axis 0 of the files) */
    int64_t input_count;     /* [first_input, first_input + input_count); 0: to the end. Rows
                                keep their place in the file (global row = row_offset + row
                                in the file), so the passes over the parts of a file merge
                                into exactly the pass over the whole (MPI ranks) */
    int64_t chunk_rows;      /* sample rows read per chunk (memory); 0: automatic (~32 MB) */
    int threads;             /* 0: the OpenMP default */
    int skip_nonfinite;      /* drop rows with NaN/Inf (in any net) instead of failing */
    cvg_kernel kernel;
    cvg_progress_fn progress;
    void *progress_user;
    /* cvg_stats_compute only: a directory where the pass saves its state every
     * checkpoint_seconds (default 60; 0: after every chunk), or NULL (default: none). With
     * resume set, a pass finding a checkpoint there made from the same files and options goes
     * on from it, with exactly the result of an uninterrupted pass; one made from anything else
     * is an error. The caller removes the checkpoint (cvg_stats_checkpoint_remove) once the
     * results are saved. */
    const char *checkpoint;
    double checkpoint_seconds;
    int resume;
    /* what a sample of a 4-D activation is; default CVG_CONV_POSITIONS (the paper's). The file
     * pass (cvg_stats_compute) and the taps convert by it; an accumulator fed from memory
     * (cvg_stats_create) records it in meta.json, its rows are already converted by the
     * caller. Fully connected (2-D) activations are one sample per input whatever the mode. */
    cvg_conv_samples conv_samples;
} cvg_stats_options;

/* Fill with the defaults documented above. */
CVG_API void cvg_stats_options_init(cvg_stats_options *opt);

/* The accumulated statistics of one layer of K networks with S units each. */
typedef struct cvg_stats cvg_stats;

/* An empty accumulator for one layer of `nets` networks with `units` units each, fed from
 * memory (e.g. activation taps): height and width give a conv layer's spatial size (0, 0 for a
 * fully connected layer); opt (may be NULL) gives reservoir, seed, row_offset and kernel. */
CVG_API cvg_status cvg_stats_create(const char *layer, int nets, int64_t units, int64_t height,
                                    int64_t width, const cvg_stats_options *opt, cvg_stats **out);
/* The same for networks of different widths: net k has units[k] units (k < nets), D = the sum.
 * Every analysis that takes the between-net block of two nets takes it rectangular
 * (docs/statistics.md); cvg_stats_units is then 0. */
CVG_API cvg_status cvg_stats_create_widths(const char *layer, int nets, const int64_t *units,
                                           int64_t height, int64_t width,
                                           const cvg_stats_options *opt, cvg_stats **out);
/* Add n sample rows [net1 units | net2 units | ...] (n x (nets*units) float32, row-major,
 * finite) that came from `inputs` inputs; rows are numbered on from the rows already added. */
CVG_API cvg_status cvg_stats_add_rows(cvg_stats *s, const float *rows, int64_t n, int64_t inputs);
/* The same rows given net by net, without building their concatenation: nets[k] points to net
 * k's n x units float32 rows (row-major, contiguous, finite). Equals cvg_stats_add_rows of
 * [nets[0] | nets[1] | ...]. For front ends holding each network's activations apart (the
 * Python package's forward hooks). */
CVG_API cvg_status cvg_stats_add_nets(cvg_stats *s, const float *const *nets, int64_t n, int64_t inputs);
/* A convolutional layer's activations as each network's array, as PyTorch holds them: nets[k]
 * points to net k's (inputs, units, height, width) float32 C-contiguous array. The sample rows
 * are (image, y, x) and the statistics are bit for bit those of cvg_stats_add_nets of the
 * arrays transposed to (inputs, height, width, units); the rows are transposed in cache, a
 * group at a time, instead of in a copy of the whole batch. Every value is checked first: a
 * non-finite one is CVG_ERR_NONFINITE naming row, unit and net, and nothing is added.
 * height = width = 0: (inputs, units) arrays, as cvg_stats_add_nets takes them. */
CVG_API cvg_status cvg_stats_add_nets_nchw(cvg_stats *s, const float *const *nets, int64_t inputs,
                                           int64_t height, int64_t width);

/* Record where the inputs' images are (a dataset directory and split, as cvg_dataset_load
 * takes them), so that the report can show the patches units respond to. */
CVG_API cvg_status cvg_stats_set_images(cvg_stats *s, const char *dir, const char *split);
/* Record a source of the statistics (an input file or a network checkpoint), listed in
 * meta.json's "sources"; cvg_stats_compute records its input files itself. */
CVG_API cvg_status cvg_stats_add_source(cvg_stats *s, const char *path);

/* The number of top activations kept per unit by the activation taps (cvg_taps_run). */
#define CVG_TOP_K 9

/* One streaming pass over paths[0..nets-1] (one .npy per network, same shape). */
CVG_API cvg_status cvg_stats_compute(const char *const *paths, int nets, const char *layer,
                                     const cvg_stats_options *opt, cvg_stats **out);
/* The inputs of a pass over paths cut into `parts` consecutive ranges [first[p], first[p] +
 * count[p]) of whole chunks of the pass's plan for opt, as equal as chunks allow (a part may be
 * empty: count 0). Passes over the parts (cvg_stats_options.first_input, input_count) read
 * the chunks one pass reads; merged, they equal it: with the float64 kernel (dsyrk) to
 * rounding (1e-12 relative and better), with the float32 kernels to their accuracy
 * (correlations within 1e-7), as between two chunk sizes. */
CVG_API cvg_status cvg_stats_split_inputs(const char *const *paths, int nets,
                                          const cvg_stats_options *opt, int parts, int64_t *first,
                                          int64_t *count);
/* Remove a pass's checkpoint directory (cvg_stats_options.checkpoint); absent is fine. */
CVG_API cvg_status cvg_stats_checkpoint_remove(const char *checkpoint);
/* Read a layer directory written by cvg_stats_save (OUT/<layer>). */
CVG_API cvg_status cvg_stats_load(const char *layer_dir, cvg_stats **out);
/* Write OUT/<layer>/{meta.json, mean.npy, std.npy, comoment.npy, corr.npy, samples.npy,
 * samples_rows.npy}, each atomically. Creates directories as needed. */
CVG_API cvg_status cvg_stats_save(const cvg_stats *stats, const char *out_dir);
/* The layers of a stats directory (subdirectories holding a meta.json) in natural order
 * (conv2 before conv10). *names is one allocation (the pointers and the strings): release it
 * with cvg_free. */
CVG_API cvg_status cvg_stats_list_layers(const char *stats_dir, char ***names, int *count);
/* The same listing with the cross-layer directories (holding a cross.json) too; kinds (may be
 * NULL; free with cvg_free) receives per name 'l' (a layer) or 'c' (cross-layer: cross.json
 * wins when a directory holds both). */
CVG_API cvg_status cvg_stats_list_dirs(const char *stats_dir, char ***names, char **kinds, int *count);

/* The fingerprint of a layer directory's statistics (meta.json "fingerprint", 16 hex digits;
 * for a cross-layer directory, cross.json's):
 * a hash of its inputs' names, the pass's options and its results. Every result derived from
 * the layer records it, so a reader can tell a result computed from other statistics
 * (docs/reliability.md). "" when meta.json has none (written before fingerprints). */
#define CVG_FINGERPRINT_SIZE 17
CVG_API cvg_status cvg_stats_fingerprint(const char *layer_dir, char fingerprint[CVG_FINGERPRINT_SIZE]);

/* Read one D x D matrix of a layer directory: name "corr" reads corr.npy, "mi" mi.npy (a
 * reader that needs only some nets' blocks: cvg_stats_matrix_open, below).
 * nets and units (S; 0 when the nets' widths differ: cvg_stats_load_widths) come from
 * meta.json; *matrix is the caller's (cvg_free). */
/* The nets' widths of a layer directory (meta.json "units_per_net": one count, or one per net):
 * *units is nets counts, the caller's (cvg_free). */
CVG_API cvg_status cvg_stats_load_widths(const char *layer_dir, int *nets, int64_t **units);
CVG_API cvg_status cvg_stats_load_matrix(const char *layer_dir, const char *name, int *nets,
                                         int64_t *units, double **matrix);
/* A layer's D x D matrix (name "corr": corr.npy, "mi": mi.npy, "comoment": comoment.npy)
 * opened for reading blocks of it: a reader that treats one pair of nets at a time reads and
 * holds their blocks (S_a x S_b, or the 2S x 2S of a pair), not the whole D x D. Open reads
 * meta.json (the nets, their widths) and checks the file's header, size and shape (D, D)
 * against it, with the errors of cvg_stats_load_matrix; each block read checks its values are
 * finite (naming the flat index) and that the file was not rewritten in place since open. The
 * file stays open until free: every block comes from the version opened, whatever is
 * published over the directory meanwhile. flags: CVG_MATRIX_WHOLE reads the whole matrix at
 * open and serves the blocks from memory (the readers' old path; the environment variable
 * CVG_MATRIX_READ=whole sets it for every open). Free with cvg_stats_matrix_free. */
typedef struct cvg_stats_matrix cvg_stats_matrix;
#define CVG_MATRIX_WHOLE 1
CVG_API cvg_status cvg_stats_matrix_open(const char *layer_dir, const char *name, int flags,
                                         cvg_stats_matrix **out);
CVG_API int cvg_stats_matrix_nets(const cvg_stats_matrix *m);
/* S, the units of every net; 0 when the widths differ (then the offsets say). */
CVG_API int64_t cvg_stats_matrix_units(const cvg_stats_matrix *m);
/* nets + 1 entries: net k's units are [offset[k], offset[k + 1]) of D. */
CVG_API const int64_t *cvg_stats_matrix_offsets(const cvg_stats_matrix *m);
/* The rows of the nets row_nets[0..nrow) by the columns of col_nets[0..ncol) (0-based, in the
 * order given, repeats allowed) into dst, row-major: (sum of their widths) x (sum of theirs).
 * Nets {a} x {b}: the between-net block; {a, b} x {a, b}: the combined matrix of a pair. */
CVG_API cvg_status cvg_stats_matrix_block(cvg_stats_matrix *m, const int *row_nets, int nrow,
                                          const int *col_nets, int ncol, double *dst);
/* The D diagonal entries (one value read per unit), checked finite. */
CVG_API cvg_status cvg_stats_matrix_diagonal(cvg_stats_matrix *m, double *dst);
CVG_API void cvg_stats_matrix_free(cvg_stats_matrix *m);
/* dst += src: same layer shape, same reservoir size and seed. Equals one pass over both. */
CVG_API cvg_status cvg_stats_merge(cvg_stats *dst, const cvg_stats *src);
CVG_API void cvg_stats_free(cvg_stats *stats);
/* The whole state of stats as one byte string, for another process of the same build (MPI
 * ranks, a Python pickle): *bytes is the caller's (cvg_free). Unpacking gives statistics equal,
 * bit for bit, to the packed ones (what cvg_stats_save + cvg_stats_load gives); CVG_ERR_FORMAT
 * for bytes that are not a whole packed state. */
CVG_API cvg_status cvg_stats_pack(const cvg_stats *stats, void **bytes, size_t *size);
CVG_API cvg_status cvg_stats_unpack(const void *bytes, size_t size, cvg_stats **out);

CVG_API const char *cvg_stats_layer(const cvg_stats *s);
/* How a conv layer's activations were made into samples (CVG_CONV_POSITIONS for fc layers and
 * directories written before the option). */
CVG_API cvg_conv_samples cvg_stats_conv_samples(const cvg_stats *s);
CVG_API int cvg_stats_nets(const cvg_stats *s);
CVG_API int64_t cvg_stats_units(const cvg_stats *s);          /* S, units per net; 0 when the
                                                                 nets' widths differ */
CVG_API int64_t cvg_stats_net_units(const cvg_stats *s, int net); /* S_k of net k (0-based) */
CVG_API int64_t cvg_stats_dim(const cvg_stats *s);            /* D = sum of the S_k */
CVG_API int64_t cvg_stats_count(const cvg_stats *s);          /* samples accumulated */
CVG_API int64_t cvg_stats_skipped(const cvg_stats *s);        /* rows dropped as non-finite */
CVG_API const double *cvg_stats_mean(const cvg_stats *s);     /* K*S, net-major */
/* Compute std (K*S), corr ((K*S)^2) and dead flags (K*S) into caller buffers (any may be NULL). */
CVG_API cvg_status cvg_stats_correlation(const cvg_stats *s, double *std, double *corr,
                                         unsigned char *dead);
/* Copy the co-moment matrix M = sum of centred outer products ((K*S)^2, net-major) into out. */
CVG_API cvg_status cvg_stats_comoment(const cvg_stats *s, double *out);
/* Reservoir rows: *rows x (K*S) float32, and their global row indices. Owned by s. */
CVG_API const float *cvg_stats_samples(const cvg_stats *s, int64_t *rows);
CVG_API const int64_t *cvg_stats_sample_rows(const cvg_stats *s);
/* Mean |correlation| over pairs of live units within a net and between nets (for summaries). */
CVG_API cvg_status cvg_stats_mean_abs_corr(const cvg_stats *s, const double *corr,
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
    double *match_value;  /* 0 where unmatched (null in cvg_match_save's JSON) */
    double semi_mean;     /* mean of semi_value over A's units */
    double match_mean;    /* mean of match_value over the matched A units */
    double overlap;       /* fraction of the matched A units whose match is their semi-match
                             (every A unit when rows <= cols; cols of them when rows > cols) */
    int64_t excluded_rows, excluded_cols; /* units left out by cvg_match_excluding (dead units):
                             such a row has semi = match = -1 and both values NAN */
} cvg_match_result;

/* sim: rows x cols, row-major, finite. */
CVG_API cvg_status cvg_match(const double *sim, int64_t rows, int64_t cols, cvg_match_result *out);
/* The semi-matching alone (match all -1, match_mean and overlap 0): no assignment solved. */
CVG_API cvg_status cvg_semi_match(const double *sim, int64_t rows, int64_t cols, cvg_match_result *out);
/* cvg_match with some units left out, as if their networks did not have them: the paper's
 * Table 1 without dead units (zero variance: their correlations are 0 by convention and mean
 * nothing). skip_rows (rows bytes) and skip_cols (cols bytes), nonzero = left out, either may
 * be NULL (none). A left-out row gets semi = match = -1 and semi_value = match_value = NAN; a
 * left-out column is never chosen. The matching is solved on the kept rows x kept columns;
 * means and overlap are over the kept rows (NAN when none is kept). */
CVG_API cvg_status cvg_match_excluding(const double *sim, int64_t rows, int64_t cols,
                                       const unsigned char *skip_rows, const unsigned char *skip_cols,
                                       cvg_match_result *out);
CVG_API void cvg_match_result_free(cvg_match_result *r);

/* What a saved alignment describes: the layer, the similarity ("corr" or "mi") and the two
 * networks, 0-based (rows are net_a's units, columns net_b's). */
enum { CVG_NAME_MAX = 256 };
typedef struct cvg_match_info {
    char layer[CVG_NAME_MAX];
    char metric[16];
    int net_a, net_b;
    char stats_fingerprint[CVG_FINGERPRINT_SIZE]; /* the statistics matched ("": not recorded) */
} cvg_match_info;

/* Write r and info as one JSON object (format: docs/matching.md), atomically. */
CVG_API cvg_status cvg_match_save(const char *path, const cvg_match_result *r,
                                  const cvg_match_info *info);
/* Read a file written by cvg_match_save into out (free with cvg_match_result_free); info (may
 * be NULL) receives the description. CVG_ERR_FORMAT, naming the file and the field, for
 * anything else: unit indices out of range, arrays of the wrong length, non-finite values. */
CVG_API cvg_status cvg_match_load(const char *path, cvg_match_result *out, cvg_match_info *info);

/* How two similarity measures of the same units (e.g. correlation and mutual information,
 * rows x cols each) agree on the semi-matching: agree = how many of the `top` best
 * semi-matched pairs (a, b) under sim_a are also among the `top` best under sim_b (the paper:
 * 7 of 8 in conv1); spearman = rank correlation of the two semi-matching values per row
 * (average ranks for ties). */
CVG_API cvg_status cvg_compare_semi_matchings(const double *sim_a, const double *sim_b, int64_t rows,
                                              int64_t cols, int top, int *agree, double *spearman);
/* The same with units left out (dead units), as cvg_match_excluding: the comparison is made on
 * the kept rows x kept columns. No kept row or column: agree 0, spearman NAN. */
CVG_API cvg_status cvg_compare_semi_matchings_excluding(const double *sim_a, const double *sim_b,
                                                        int64_t rows, int64_t cols,
                                                        const unsigned char *skip_rows,
                                                        const unsigned char *skip_cols, int top,
                                                        int *agree, double *spearman);

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
CVG_API cvg_status cvg_assignment_max(const double *score, int64_t rows, int64_t cols,
                                      int64_t *row_to_col, double *total);

/* The same, minimizing sum_i cost[i*cols + row_to_col[i]]. */
CVG_API cvg_status cvg_assignment_min(const double *cost, int64_t rows, int64_t cols,
                                      int64_t *row_to_col, double *total);

/* ---------------------------------------------------------------- mutual information */

/* Mutual information between units (paper section 3.2 and footnote 6), from reservoir rows.
 * Each unit is discretized on its own (see cvg_mi_bin), then the MI of every pair of units is
 * the plug-in estimate from the exact joint histogram of the binned rows:
 *   I(x;y) = sum_ab p(a,b) log(p(a,b) / (p(a) p(b))),  p = count / rows.
 * Details, edge cases and measurements: docs/mutual-information.md. */
typedef struct cvg_mi_options {
    int bins;              /* equal-mass bins over the values above zero_threshold; default 20,
                            * 1..254 (codes are uint8: 0 is the zero bin, 1..bins the rest) */
    double zero_threshold; /* values <= this go to the zero bin 0; default 1e-6 (not NaN) */
    int bias_correction;   /* 1: add the Miller-Madow correction
                            *    -(m_xy - m_x - m_y + 1) / (2 rows), m = non-empty bins;
                            * 0: plug-in estimate (default) */
    int bits;              /* 1: log base 2 (bits); 0: natural log (nats, default) */
    int threads;           /* 0: the OpenMP default */
    cvg_progress_fn progress; /* task "mi", done/total = units finished / units */
    void *progress_user;
    int part, parts;       /* cvg_mi_from_codes (and cvg_mi_matrix) compute part `part` of
                            * `parts` (0 <= part < parts; default 0 of 0 or 1: everything): the
                            * pairs of every parts-th block of units, every other entry of out
                            * set to 0, so the sum of the parts' matrices (an MPI reduction) is
                            * the whole matrix, bit for bit */
} cvg_mi_options;

/* Fill with the defaults documented above. */
CVG_API void cvg_mi_options_init(cvg_mi_options *opt);

/* Discretize every column (unit) of samples (rows x dim float32, row-major, all finite):
 * code 0 for values <= zero_threshold; the other values v get code
 *   1 + #{k : edge_k <= v}   (numpy: 1 + np.searchsorted(edges, v, side="right")),
 * where edges are the bins-1 interior quantiles at k/bins (k = 1..bins-1) of the unit's values
 * above the threshold, by numpy's default "linear" rule (np.quantile(v, k/bins)), in double.
 * codes: dim x rows uint8, unit-major (codes[i * rows + r]), caller-allocated.
 * edges (may be NULL): dim x (bins-1) doubles; a unit with no value above the threshold gets
 * edges equal to zero_threshold. nonzero (may be NULL): dim counts of values above it.
 * rows <= 2^31 - 1. A NaN or Inf is CVG_ERR_NONFINITE naming the row and unit. */
CVG_API cvg_status cvg_mi_bin(const float *samples, int64_t rows, int64_t dim,
                              const cvg_mi_options *opt, uint8_t *codes, double *edges,
                              int64_t *nonzero);

/* MI matrix of binned units: codes as written by cvg_mi_bin (dim x rows, values 0..levels-1,
 * levels = bins + 1 <= 255). out: dim x dim doubles, row-major, symmetric; out[i][i] is the
 * entropy of unit i's codes (its MI with itself), with the same correction and log base.
 * opt supplies bias_correction, bits, threads and progress; bins is taken from levels. */
CVG_API cvg_status cvg_mi_from_codes(const uint8_t *codes, int64_t rows, int64_t dim, int levels,
                                     const cvg_mi_options *opt, double *out);

/* cvg_mi_bin followed by cvg_mi_from_codes: the MI of every pair of columns of samples
 * (rows x dim float32, row-major). out: dim x dim doubles (symmetric; diagonal = entropy of the
 * unit's binned values). opt may be NULL for the defaults. */
CVG_API cvg_status cvg_mi_matrix(const float *samples, int64_t rows, int64_t dim,
                                 const cvg_mi_options *opt, double *out);

/* ---------------------------------------------------------------- many-to-many alignment: hierarchical spectral clustering */

/* Section 4 and appendix 6.4-6.6 of the paper; algorithm, defaults and decisions in
 * docs/clustering.md. For two networks of S units each, the graph has 2S vertices (net A's
 * units 0..S-1, then net B's S..2S-1) and an edge of weight c_pq wherever the correlation
 * c_pq > tau (W >= 0, no self-loops). Units are embedded with the eigenvectors of the k smallest
 * eigenvalues of L = D - W and grouped by k-means; clusters larger than 2*alpha*S units are
 * split again, giving a tree whose leaves are the final clusters. */

typedef enum cvg_eigensolver {
    CVG_EIG_AUTO = 0, /* sparse from 1024 vertices when W is sparse enough (stored entries
                         times the block nev + max(8, nev/4) at most n^3 / 256); else Krylov
                         from 1024 vertices when its basis (3 * (nev + nev/4)) is at most a
                         quarter of them, else dense (docs/clustering.md) */
    CVG_EIG_DENSE,    /* LAPACK dsyevr with an index range on the dense Laplacian */
    CVG_EIG_KRYLOV,   /* Cholesky of the dense L + sigma*I, block Krylov, Rayleigh-Ritz on L
                         (dense when the basis would not fit in half the vertices) */
    CVG_EIG_SPARSE    /* W stored sparse (memory proportional to the edges, no 2S x 2S array):
                         connected components, each solved by Chebyshev-filtered block Krylov
                         (dsyevr on small ones) */
} cvg_eigensolver;

typedef enum cvg_laplacian {
    CVG_LAPLACIAN_UNNORMALIZED = 0, /* L = D - W, as the paper (default) */
    CVG_LAPLACIAN_RANDOM_WALK       /* L v = lambda D v (Shi and Malik), the embedding of
                                       scikit-learn's SpectralClustering; beyond the paper */
} cvg_laplacian;

typedef struct cvg_cluster_options {
    int k;             /* clusters at the top level; 0 (default): the eigen-gap suggestion */
    int k_max;         /* largest k the eigen-gap rule considers; default 0: 100 when k is
                          automatic, k when k is given (a given k needs only k + 1
                          eigenvalues, so the suggestion is then among 2..k) */
    double tau;        /* edge threshold, >= 0; default 0.2 */
    double alpha;      /* clusters of more than 2*alpha*S units are split again; default 0.025 */
    int min_split;     /* ... but never clusters of at most this many units; default 4 (2*alpha*S
                          is 4.8 for the paper's smallest layer; small layers would otherwise
                          split every matched pair apart) */
    int restarts;      /* k-means restarts, the lowest inertia wins; default 10 */
    int max_iter;      /* Lloyd iterations per restart; default 300 */
    int max_depth;     /* nodes at this depth are never split (root: 0); default 32 */
    uint64_t seed;     /* k-means and eigensolver seed; default 1 */
    cvg_eigensolver eigensolver; /* default CVG_EIG_AUTO */
    cvg_laplacian laplacian;     /* default CVG_LAPLACIAN_UNNORMALIZED */
    int refine;        /* 0 (default): the top level's k-means labels, as the paper; 1: then
                          refined by moving single units where that raises the ratio
                          association sum_c W(c,c)/|c| (kernel k-means on W). Beyond the
                          paper, opt-in; its measured effect in docs/clustering.md */
    int threads;       /* 0 (default): one below S = 2048 units per net, else the OpenMP
                          default; the result does not depend on it */
    cvg_progress_fn progress;
    void *progress_user;
} cvg_cluster_options;

/* Fill with the defaults documented above. */
CVG_API void cvg_cluster_options_init(cvg_cluster_options *opt);

/* The top-level k of the paper's experiment for a layer of S = units_per_net units in each of
 * `nets` networks clustered together (2 for cvg_cluster). The paper clusters 2 AlexNets with
 * k = 40 on conv1 (S = 96: 2*96/40 = 4.8 units per cluster) and k = 100 on the other layers
 * (S = 256 for conv2 and conv5: 5.12 units per cluster). Here
 *     k = round(nets * min(S, S_paper) / u),  S_paper, u = 96, 4.8 (first layer)
 *                                                       = 256, 5.12 (other layers),
 * i.e. the paper's k (40 or 100 for two nets) where the layer is as wide as the paper's, else
 * the paper's units per cluster kept; at least 1, at most S. rule (may be NULL): a sentence
 * naming the rule and its numbers, rule_size bytes with the NUL (128 are enough). */
CVG_API int cvg_cluster_paper_k(int first_layer, int64_t units_per_net, int nets, char *rule,
                                size_t rule_size);
/* The same for networks of different widths: net i of the `nets` clustered together has
 * widths[i] units, n = widths[0] + ... + widths[nets - 1] vertices. 2S (nets * S) becomes n:
 *     k = round(min(n, nets * S_paper) / u),  at least 1, at most n / nets,
 * the paper's k where the graph has as many vertices as the paper's, else its units per
 * cluster kept. Equal widths: exactly cvg_cluster_paper_k (its k and its sentence). */
CVG_API int cvg_cluster_paper_k_widths(int first_layer, int nets, const int64_t *widths, char *rule,
                                       size_t rule_size);
/* Kept for earlier callers: cvg_cluster_paper_k(layer_index == 0, units_per_net, 2, NULL, 0). */
CVG_API int cvg_cluster_default_k(int layer_index, int64_t units_per_net);

/* One node of the cluster tree. Node 0 is the root (all 2S units); the children of a node are
 * the nodes first_child .. first_child + n_children - 1; leaves have n_children == 0. */
typedef struct cvg_cluster_node {
    int32_t parent;      /* -1 for the root */
    int32_t depth;       /* 0 for the root, 1 for the top-level clusters */
    int32_t first_child;
    int32_t n_children;
    int32_t leaf;        /* its leaf index (the label of its units), -1 for inner nodes */
    int32_t k;           /* k of the k-means that split it (0 for leaves) */
    int64_t offset;      /* its units are order[offset .. offset + size) */
    int64_t size;        /* units in it, size_a + size_b */
    int64_t size_a;      /* units of net A (indices < S, or < units_a: cvg_cluster_widths) */
    int64_t size_b;      /* units of net B */
    double between;      /* appendix 6.6: mean corr(A, B) over its A x B unit pairs; 0 if
                            either net has no unit in it */
    double within_a;     /* mean corr(A, A) over its A x A pairs, diagonal included; 0 if none */
    double within_b;     /* the same for net B */
    double within;       /* (within_a + within_b) / 2; the one present if only one net is */
} cvg_cluster_node;

typedef struct cvg_clustering cvg_clustering;

/* corr: the 2S x 2S combined correlation matrix of the paper, row-major, finite, units of net A
 * first: [corr(A,A) corr(A,B); corr(B,A) corr(B,B)]. An asymmetric input is symmetrized as
 * (c_pq + c_qp) / 2. opt may be NULL for the defaults. Units without any edge become singleton
 * leaves. Deeper splits re-run k-means on the top-level embedding (docs/clustering.md). */
CVG_API cvg_status cvg_cluster(const double *corr, int64_t units_per_net, const cvg_cluster_options *opt,
                               cvg_clustering **out);
/* Networks of different widths (docs/clustering.md, "Networks of different widths"): net A of
 * units_a units, net B of units_b; corr is n x n, n = units_a + units_b, net A's units first:
 * [corr(A,A) corr(A,B); corr(B,A) corr(B,B)] with the rectangular blocks units_a x units_b.
 * The same algorithm on the graph of n vertices; the split limit 2*alpha*S becomes alpha*n (the
 * same number for equal widths). cvg_cluster(corr, S, ...) is cvg_cluster_widths(corr, S, S, ...). */
CVG_API cvg_status cvg_cluster_widths(const double *corr, int64_t units_a, int64_t units_b,
                                      const cvg_cluster_options *opt, cvg_clustering **out);
CVG_API void cvg_clustering_free(cvg_clustering *c);

CVG_API int64_t cvg_clustering_units(const cvg_clustering *c);      /* 2S (units_a + units_b) */
/* The units of net 0 (A) or 1 (B); 0 for another net. */
CVG_API int64_t cvg_clustering_net_units(const cvg_clustering *c, int net);
CVG_API int cvg_clustering_k(const cvg_clustering *c);              /* k used at the top level */
/* The eigen-gap suggestion: the i in [2, k_max] maximizing lambda_{i+1} - lambda_i over the
         * ascending eigenvalues of the top-level Laplacian (isolated units left out; ties: smaller i). */
CVG_API int cvg_clustering_suggested_k(const cvg_clustering *c);
/* The smallest eigenvalues of the top-level Laplacian, ascending; *count of them. */
CVG_API const double *cvg_clustering_eigenvalues(const cvg_clustering *c, int *count);
/* Units without any edge (no correlation above tau): each is a singleton leaf. */
CVG_API int64_t cvg_clustering_isolated(const cvg_clustering *c);
/* Connected components of the graph once isolated units are left out: their indicator vectors
 * are the first eigenvectors (largest component first; docs/clustering.md). */
CVG_API int64_t cvg_clustering_components(const cvg_clustering *c);
/* The eigensolver that computed the top-level eigenpairs: CVG_EIG_DENSE, CVG_EIG_KRYLOV or
 * CVG_EIG_SPARSE (CVG_EIG_AUTO when none ran: fewer than two units with an edge). */
CVG_API cvg_eigensolver cvg_clustering_eigensolver(const cvg_clustering *c);
CVG_API int cvg_clustering_leaves(const cvg_clustering *c);
/* 2S (units_a + units_b) leaf indices, one per unit, net A's units first. Leaves are
 * numbered in depth-first order of the tree, children ordered by their lowest unit index. */
CVG_API const int32_t *cvg_clustering_labels(const cvg_clustering *c);
/* 2S (units_a + units_b) unit indices ordering units by leaf (depth-first), within a leaf by
 * index: W permuted by it is block-diagonal (Fig. 13), and every node's units are contiguous
 * in it. */
CVG_API const int64_t *cvg_clustering_order(const cvg_clustering *c);
CVG_API int cvg_clustering_nodes(const cvg_clustering *c);
CVG_API const cvg_cluster_node *cvg_clustering_node(const cvg_clustering *c, int node);
CVG_API int cvg_clustering_leaf_node(const cvg_clustering *c, int leaf);
/* The leaf indices sorted by between-net similarity, highest first (ties: larger first, then
 * lower index), as in Fig. 14. cvg_clustering_leaves() entries. */
CVG_API const int32_t *cvg_clustering_ranking(const cvg_clustering *c);

/* What a saved clustering describes: the layer, the two networks (0-based; net_a's units come
 * first) and the options it was run with. */
typedef struct cvg_cluster_info {
    char layer[CVG_NAME_MAX];
    int net_a, net_b;
    cvg_cluster_options options;  /* progress fields are neither saved nor loaded */
    char k_rule[CVG_NAME_MAX];    /* how k was chosen, a sentence ("" if not said), e.g. the
                                     rule of cvg_cluster_paper_k or "given (--k 12)" */
    char stats_fingerprint[CVG_FINGERPRINT_SIZE]; /* the statistics clustered ("": not recorded) */
} cvg_cluster_info;

/* Write c and info as one JSON object (format: docs/clustering.md), atomically. */
CVG_API cvg_status cvg_clustering_save(const char *path, const cvg_clustering *c,
                                       const cvg_cluster_info *info);
/* Read a file written by cvg_clustering_save: the same tree, labels, order, metrics and ranking,
 * bit for bit. info (may be NULL) receives the description. CVG_ERR_FORMAT, naming the file and
 * the field, for anything inconsistent (a unit in no leaf or in two, sizes that do not add up). */
CVG_API cvg_status cvg_clustering_load(const char *path, cvg_clustering **out, cvg_cluster_info *info);
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
CVG_API const char *cvg_measure_name(cvg_measure m);

typedef struct cvg_similarity_options {
    double ridge;           /* relative ridge: C + ridge * mean(diag C) * I before whitening;
                               default 1e-6; 0: none (a singular covariance is then an error
                               of the CCA measures) */
    double svcca_variance;  /* fraction of variance SVCCA keeps on each side; default 0.99 */
} cvg_similarity_options;

CVG_API void cvg_similarity_options_init(cvg_similarity_options *opt);

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
CVG_API cvg_status cvg_similarity_compute(const double *comoment, int64_t dim, int64_t count,
                                          int64_t off_a, int64_t p, int64_t off_b, int64_t q,
                                          const double sqnorm[3], const cvg_similarity_options *opt,
                                          cvg_similarity *out);
CVG_API void cvg_similarity_free(cvg_similarity *s);

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
    char conv_samples[16]; /* what a sample of a conv layer is: "positions", "mean" or
                              "flatten" (cvg_conv_samples_name); "mean" for a cross-layer
                              directory; "" for a fully connected layer */
} cvg_blocks;

CVG_API cvg_status cvg_blocks_load(const char *dir, cvg_blocks *out);
/* The same blocks from statistics in memory (one block per network), equal to cvg_blocks_load
 * of the directory cvg_stats_save would write: no save and reload to compute a measure. */
CVG_API cvg_status cvg_stats_blocks(const cvg_stats *s, cvg_blocks *out);
CVG_API void cvg_blocks_free(cvg_blocks *b);
/* cvg_blocks_load without reading the D x D co-moments: for a layer directory, b->comoment is
 * NULL and *comoment is comoment.npy opened for its blocks (checked as cvg_blocks_load checks
 * it: shape, and every diagonal entry finite and >= 0); cvg_blocks_pair then reads one pair's.
 * For a cross-layer directory the same as cvg_blocks_load (*comoment NULL). Free *comoment
 * with cvg_stats_matrix_free. */
CVG_API cvg_status cvg_blocks_open(const char *dir, cvg_blocks *b, cvg_stats_matrix **comoment);
/* Blocks i and j of b alone (one block when i == j) as blocks of their own: out->comoment
 * their (S_i + S_j)^2 co-moments, read from comoment (a layer directory's, cvg_blocks_open) or
 * copied from b->comoment; sqnorm, nets, layer names and samples carried over. Every measure
 * of out's blocks 0 and 1 equals that of b's i and j, bit for bit. Free with cvg_blocks_free. */
CVG_API cvg_status cvg_blocks_pair(const cvg_blocks *b, cvg_stats_matrix *comoment, int i, int j,
                                   cvg_blocks *out);
/* The measures between blocks i and j. */
CVG_API cvg_status cvg_blocks_similarity(const cvg_blocks *b, int i, int j,
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

CVG_API void cvg_lasso_options_init(cvg_lasso_options *opt);

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

CVG_API cvg_status cvg_lasso_path(const double *comoment, int64_t dim, int64_t off_x, int64_t p,
                                  int64_t off_y, int64_t q, const cvg_lasso_options *opt,
                                  cvg_lasso_result *out);
CVG_API void cvg_lasso_result_free(cvg_lasso_result *r);

/* What a saved similarity result describes: the layer, the two networks (0-based), the samples
 * and the options the measures were computed with. */
typedef struct cvg_similarity_info {
    char layer[CVG_NAME_MAX];
    int net_a, net_b;
    int64_t samples;
    cvg_similarity_options options;
    char stats_fingerprint[CVG_FINGERPRINT_SIZE]; /* the statistics measured ("": not recorded) */
    char conv_samples[16]; /* cvg_blocks.conv_samples of the statistics ("": fc, or not recorded) */
} cvg_similarity_info;

/* Write one pair's measures as one JSON object (format: docs/similarity.md), atomically:
 * every measure (null, with its reason, where undefined), the canonical correlations and PWCCA
 * weights. lasso: NULL, or the two directions {net_b from net_a, net_a from net_b}, of which
 * the path and its means are written (the per-unit r2 and counts belong in .npy files). */
CVG_API cvg_status cvg_similarity_save(const char *path, const cvg_similarity *s,
                                       const cvg_similarity_info *info,
                                       const cvg_lasso_result *lasso);
/* Read the measures of a file written by cvg_similarity_save into out (free with
 * cvg_similarity_free); info (may be NULL) receives the description. The lasso summary is not
 * read. CVG_ERR_FORMAT, naming the file and the field, for anything malformed. */
CVG_API cvg_status cvg_similarity_load(const char *path, cvg_similarity *out,
                                       cvg_similarity_info *info);

/* Every measure between every layer of one network and every layer of another (or the same:
 * net_a == net_b), from the blocks of a cross-layer directory (cvg_blocks.cross). Cells are
 * indexed [(m * layers + row) * layers + column], rows the layers of net_a. */
typedef struct cvg_layer_similarity {
    int layers;
    int net_a, net_b;                 /* 0-based */
    int64_t samples;
    cvg_similarity_options options;
    char (*layer)[CVG_NAME_MAX];      /* the layer names, in order (owned) */
    double *value;                    /* CVG_SIM_MEASURES x layers x layers; 0 where undefined */
    unsigned char *defined;           /* same cells: 1 where the measure is defined */
    char (*why)[CVG_SIM_REASON];      /* same cells: the reason where undefined, else "" */
    char stats_fingerprint[CVG_FINGERPRINT_SIZE]; /* the statistics measured ("": not recorded) */
} cvg_layer_similarity;

CVG_API cvg_status cvg_layer_similarity_compute(const cvg_blocks *b, int net_a, int net_b,
                                                const cvg_similarity_options *opt,
                                                cvg_layer_similarity *out);
/* Write as one JSON object (cross_<i>_<j>.json, docs/similarity.md), atomically: per measure
 * the matrix with null for undefined cells, and each undefined cell's reason. */
CVG_API cvg_status cvg_layer_similarity_save(const char *path, const cvg_layer_similarity *s);
/* Read a file written by cvg_layer_similarity_save (free with cvg_layer_similarity_free);
 * CVG_ERR_FORMAT naming the file and the field for anything malformed. */
CVG_API cvg_status cvg_layer_similarity_load(const char *path, cvg_layer_similarity *out);
CVG_API void cvg_layer_similarity_free(cvg_layer_similarity *s);

/* Cross-layer statistics: co-moments between every layer of every network, so that measures
 * can be computed layer by layer (every layer of net A against every layer of net B). Samples
 * are the N inputs: a convolutional layer is spatially averaged per input (global average
 * pooling, so layers of different spatial sizes share the same samples); a fully connected
 * layer is used as is. paths: nets * layers files, net-major (net 1's layers in order, then
 * net 2's...), all with the same N. Uses opt's layout, chunk_rows (inputs per chunk),
 * threads, skip_nonfinite, kernel and progress; no reservoir. */
typedef struct cvg_cross cvg_cross;

CVG_API cvg_status cvg_cross_compute(const char *const *paths, int nets, int layers,
                                     const char *const *layer_names, const cvg_stats_options *opt,
                                     cvg_cross **out);
/* Write out_dir/name/{cross.json, mean.npy, comoment.npy, sqnorm_q.npy, sqnorm_g.npy}. */
CVG_API cvg_status cvg_cross_save(const cvg_cross *c, const char *out_dir, const char *name);
/* Read a directory written by cvg_cross_save (out_dir/name). */
CVG_API cvg_status cvg_cross_load(const char *dir, cvg_cross **out);
/* dst += src: cross-layer statistics of the same networks and layers (names, units, positions
 * averaged, in order) over other inputs. Equals one pass over both sets of inputs, the HSIC sums
 * (debiased CKA) included; if either side lacks those sums the result has none (with a
 * warning). CVG_ERR_SHAPE, naming both sides and the mismatch, when the layouts differ. */
CVG_API cvg_status cvg_cross_merge(cvg_cross *dst, const cvg_cross *src);
CVG_API void cvg_cross_free(cvg_cross *c);

#ifdef __cplusplus
}
#endif
#endif /* CONVERGENT_ANALYSIS_H */
