/* The statistics pass: stream K activation files (one per network) chunk by chunk into the
 * co-moment accumulator and the reservoir. Memory is set by the chunk size, never by N. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "io/npy_internal.h"
#include "stats/checkpoint.h"
#include "stats/conv_samples.h"
#include "stats/moments_internal.h"
#include "stats/stats_range.h"
#include "stats/stats_internal.h"

/* The chunk buffer when the caller does not choose: about this many bytes, within these rows. */
enum { AUTO_CHUNK_BYTES = 32 << 20, MIN_CHUNK_ROWS = 256, MAX_CHUNK_ROWS = 16384 };
/* Files mapped at once (one per net); more nets are read through a buffer. */
enum { MAX_MAPPED_NETS = 64 };

int64_t stats_chunk_inputs(int64_t chunk_rows, int64_t row_bytes, int64_t positions)
{
    int64_t rows = chunk_rows;
    if (rows <= 0) {
        rows = AUTO_CHUNK_BYTES / (row_bytes > 0 ? row_bytes : 1);
        if (rows < MIN_CHUNK_ROWS) rows = MIN_CHUNK_ROWS;
        if (rows > MAX_CHUNK_ROWS) rows = MAX_CHUNK_ROWS;
    }
    return rows / positions > 0 ? rows / positions : 1;
}

/* The geometry shared by the K files of one layer: of the samples (units, positions per input:
 * height * width, 1 for fc) and of the file (file_h x file_w positions per input, of which the
 * "mean" mode makes one sample). */
typedef struct layer_shape {
    int64_t images, units, height, width, positions;
    int64_t file_h, file_w, file_positions;
    int pool_mean; /* CVG_CONV_MEAN of a 4-D file: each input's positions averaged */
    /* per net (the pass fills them after the files are open): units S_k (units above is
     * net 1's) and first column col[k] of the chunk's D = col[nets] columns */
    const int64_t *net_units, *col;
} layer_shape;

static void format_shape(const cvg_npy *f, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < cvg_npy_ndim(f) && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "",
                              (long long)cvg_npy_shape(f)[i]);
    if (n < cap) snprintf(buf + n, cap - n, ")");
}

static cvg_status shape_of(const cvg_npy *f, cvg_layout layout, cvg_conv_samples mode, layer_shape *out)
{
    const int64_t *sh = cvg_npy_shape(f);
    char desc[160];
    format_shape(f, desc, sizeof desc);
    if (cvg_npy_ndim(f) == 2) {
        *out = (layer_shape){sh[0], sh[1], 0, 0, 1, 0, 0, 1, 0, NULL, NULL};
    } else if (cvg_npy_ndim(f) == 4) {
        const int64_t C = layout == CVG_LAYOUT_NCHW ? sh[1] : sh[3];
        const int64_t H = layout == CVG_LAYOUT_NCHW ? sh[2] : sh[1];
        const int64_t W = layout == CVG_LAYOUT_NCHW ? sh[3] : sh[2];
        if (mode == CVG_CONV_MEAN) *out = (layer_shape){sh[0], C, 0, 0, 1, H, W, H * W, 1, NULL, NULL};
        else if (mode == CVG_CONV_FLATTEN) *out = (layer_shape){sh[0], C * H * W, 0, 0, 1, H, W, 1, 0, NULL, NULL};
        else *out = (layer_shape){sh[0], C, H, W, H * W, H, W, H * W, 0, NULL, NULL};
    } else {
        return cvg__fail(CVG_ERR_SHAPE, "%s: expected a 2-D (N, S) or 4-D (N, C, H, W) array, got "
                         "shape %s", cvg_npy_path(f), desc);
    }
    if (out->images == 0)
        return cvg__fail(CVG_ERR_EMPTY, "%s: zero rows (shape %s)", cvg_npy_path(f), desc);
    if (out->units == 0 || out->positions == 0 || out->file_positions == 0)
        return cvg__fail(CVG_ERR_EMPTY, "%s: zero units or positions (shape %s)", cvg_npy_path(f), desc);
    return CVG_OK;
}

static cvg_status check_same_shape(const cvg_npy *first, const layer_shape *a, const cvg_npy *other,
                                   const layer_shape *b)
{
    const char *what = NULL;
    int64_t va = 0, vb = 0;
    if (cvg_npy_ndim(first) != cvg_npy_ndim(other)) what = "number of dimensions", va = cvg_npy_ndim(first), vb = cvg_npy_ndim(other);
    else if (a->images != b->images) what = "number of inputs N", va = a->images, vb = b->images;
    else if (a->file_h != b->file_h) what = "height H", va = a->file_h, vb = b->file_h;
    else if (a->file_w != b->file_w) what = "width W", va = a->file_w, vb = b->file_w;
    /* the number of units may differ: networks of different widths (docs/statistics.md) */
    if (!what) return CVG_OK;
    return cvg__fail(CVG_ERR_SHAPE, "%s: %s is %lld, but %lld in %s (all networks must see the "
                     "same inputs through layers of the same shape)", cvg_npy_path(other), what,
                     (long long)vb, (long long)va, cvg_npy_path(first));
}

static const char *nonfinite_name(double v) { return isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"); }

/* Scatter one net's images [0, b) (raw rows of the file, element type T) into columns
 * [col0, col0 + S) of the chunk X (b*P rows x D, type T). NCHW images are transposed in blocks
 * of 64 positions, so that both the reads and the writes stay in cache. */
#define DEFINE_SCATTER(NAME, T)                                                               \
    static void NAME(const T *raw, int64_t b, const layer_shape *g, int64_t S, int channels_first, \
                     int64_t col0, int64_t D, T *X)                                           \
    {                                                                                         \
        const int64_t P = g->positions;                                                       \
        for (int64_t img = 0; img < b; img++) {                                               \
            const T *src = raw + img * S * P;                                                 \
            T *out = X + img * P * D + col0;                                                  \
            if (!channels_first) {                                                            \
                for (int64_t p = 0; p < P; p++) memcpy(out + p * D, src + p * S, (size_t)S * sizeof(T)); \
                continue;                                                                     \
            }                                                                                 \
            for (int64_t p0 = 0; p0 < P; p0 += 64) {                                          \
                const int64_t p1 = p0 + 64 < P ? p0 + 64 : P;                                 \
                for (int64_t c = 0; c < S; c++)                                               \
                    for (int64_t p = p0; p < p1; p++) out[p * D + c] = src[c * P + p];        \
            }                                                                                 \
        }                                                                                     \
    }
DEFINE_SCATTER(scatter_f64, double)
DEFINE_SCATTER(scatter_f32, float)

/* The first unit of row r (net columns [col0, col0+S)) that is not finite, or -1. The sum of
 * v * 0 is NaN exactly when some v is NaN or infinite, and vectorizes. */
CVG_VECTOR_CLONES static int64_t first_nonfinite(const void *X, int is_float, int64_t r, int64_t D, int64_t col0, int64_t S)
{
    double probe = 0;
    if (is_float) {
        const float *x = (const float *)X + r * D + col0;
        float acc = 0;
#pragma omp simd reduction(+ : acc)
        for (int64_t c = 0; c < S; c++) acc += x[c] * 0.0f;
        probe = acc;
    } else {
        const double *x = (const double *)X + r * D + col0;
#pragma omp simd reduction(+ : probe)
        for (int64_t c = 0; c < S; c++) probe += x[c] * 0.0;
    }
    if (probe == 0) return -1;
    for (int64_t c = 0; c < S; c++) {
        double v = is_float ? ((const float *)X)[r * D + col0 + c] : ((const double *)X)[r * D + col0 + c];
        if (!isfinite(v)) return c;
    }
    return -1;
}

/* Flag (skip) or report the rows of net k's columns holding NaN/Inf. Row r of X is row
 * file_row[r] of the file (image * P + position). The rows are probed in parallel (marking
 * bad[]); the first flagged row, in order, is the one reported. */
static cvg_status check_finite(const void *X, int is_float, int64_t rows, const int64_t *file_row,
                               const layer_shape *g, int is_conv, int64_t col0, int64_t S, int64_t D,
                               unsigned char *bad, int skip, const char *path)
{
    const int64_t P = g->positions;
    int any = 0;
#pragma omp parallel for schedule(static) reduction(| : any) if (rows * S >= (1 << 16))
    for (int64_t r = 0; r < rows; r++)
        if (first_nonfinite(X, is_float, r, D, col0, S) >= 0) {
            bad[r] = 1;
            any = 1;
        }
    if (!any || skip) return CVG_OK;
    int64_t r = 0, unit;
    while ((unit = first_nonfinite(X, is_float, r, D, col0, S)) < 0) r++;
    double v = is_float ? ((const float *)X)[r * D + col0 + unit] : ((const double *)X)[r * D + col0 + unit];
    const int64_t img = file_row[r] / P, p = file_row[r] % P;
    if (!is_conv)
        return cvg__fail(CVG_ERR_NONFINITE, "%s: %s at row %lld, unit %lld (use "
                         "--skip-nonfinite to drop such rows)", path, nonfinite_name(v),
                         (long long)img, (long long)unit);
    return cvg__fail(CVG_ERR_NONFINITE, "%s: %s at image %lld, position (y=%lld, x=%lld), "
                     "channel %lld (use --skip-nonfinite to drop such rows)", path,
                     nonfinite_name(v), (long long)img, (long long)(p / g->width),
                     (long long)(p % g->width), (long long)unit);
}

/* Check rows [0, rows) of X (file rows in file_row) net by net, drop the flagged ones
 * (compacting X and file_row), and add the rest. */
static cvg_status add_checked_rows(cvg_stats *s, void *X, int is_float, int64_t rows, int64_t *file_row,
                                   const layer_shape *g, int is_conv, unsigned char *bad,
                                   const cvg_stats_options *opt, const char *const *paths)
{
    const int64_t D = g->col[s->nets];
    const size_t elem = is_float ? sizeof(float) : sizeof(double);
    cvg_status st = CVG_OK;
    if (rows <= 0) return CVG_OK;
    memset(bad, 0, (size_t)rows);
    for (int k = 0; k < s->nets && st == CVG_OK; k++)
        st = check_finite(X, is_float, rows, file_row, g, is_conv, g->col[k], g->net_units[k], D, bad,
                          opt->skip_nonfinite, paths[k]);
    if (st != CVG_OK) return st;
    int64_t kept = 0;
    for (int64_t r = 0; r < rows; r++) {
        if (bad[r]) continue;
        if (kept != r) memmove((char *)X + (size_t)(kept * D) * elem, (char *)X + (size_t)(r * D) * elem, (size_t)D * elem);
        file_row[kept++] = opt->row_offset + file_row[r]; /* now the global row index */
    }
    s->skipped += rows - kept;
    return stats_add(s, X, is_float, kept, file_row);
}

void (*stats__mapped_hook)(int64_t row0, void *user);
void *stats__mapped_hook_user;

/* Native float32 files in row order, added straight from the page cache: rows [row0, row0 +
 * rows) of every file mapped, no copy. Sub-blocks the fused kernel found holding a NaN or an
 * infinity are left out there; their rows are then copied into X, checked and added like the
 * rows of other files. */
static cvg_status add_mapped_rows(cvg_stats *s, cvg_npy *const *files, int64_t row0, int64_t rows,
                                  const layer_shape *g, int is_conv, void *X, unsigned char *bad,
                                  int64_t *file_row, unsigned char *block_bad,
                                  const cvg_stats_options *opt, const char *const *paths)
{
    const int nets = s->nets;
    const int64_t D = g->col[nets];
    npy_mapping maps[MAX_MAPPED_NETS] = {{0}};
    const void *base[MAX_MAPPED_NETS];
    int64_t ld[MAX_MAPPED_NETS], col[MAX_MAPPED_NETS + 1];
    cvg_status st = CVG_OK;
    for (int k = 0; k < nets && st == CVG_OK; k++) {
        st = npy_map_f32(files[k], row0 * g->net_units[k], rows * g->net_units[k], &maps[k]);
        base[k] = maps[k].values;
        ld[k] = g->net_units[k];
        col[k] = g->col[k];
    }
    col[nets] = D;
    if (st == CVG_OK) {
        /* every file's pages mapped up front (faulting them in one by one as the rows are
         * read costs more), each thread a piece of each file; a file that shrank since the
         * check in npy_map_f32 shows here, before its pages are read */
        unsigned char shrank[MAX_MAPPED_NETS] = {0};
#pragma omp parallel
        for (int k = 0; k < nets; k++)
            if (npy_mapping_populate(&maps[k], omp_get_thread_num(), omp_get_num_threads()) != 0) shrank[k] = 1;
        for (int k = 0; k < nets && st == CVG_OK; k++)
            if (shrank[k])
                st = cvg__fail(CVG_ERR_FORMAT, "%s: truncated data (the file shrank while being read)",
                               paths[k]);
    }
    if (st == CVG_OK && stats__mapped_hook) stats__mapped_hook(row0, stats__mapped_hook_user);
    const row_parts parts = {nets, 1, base, ld, col};
    if (st == CVG_OK) st = stats_add_parts(s, &parts, rows, NULL, opt->row_offset + row0, block_bad);
    int64_t gathered = 0;
    for (int64_t b = 0; st == CVG_OK && b * MOMENTS_SUB_ROWS < rows; b++) {
        if (!block_bad[b]) continue;
        for (int64_t r = b * MOMENTS_SUB_ROWS; r < rows && r < (b + 1) * MOMENTS_SUB_ROWS; r++, gathered++) {
            for (int k = 0; k < nets; k++)
                memcpy((float *)X + gathered * D + g->col[k], maps[k].values + r * g->net_units[k],
                       (size_t)g->net_units[k] * sizeof(float));
            file_row[gathered] = row0 + r;
        }
    }
    /* a file truncated while its pages were read: the guard turned the fault into zeros, or
     * the cut page's tail read as zeros; either way the chunk is not the file's, and the whole
     * accumulator is dropped with the error */
    for (int k = 0; k < nets && st == CVG_OK; k++) st = npy_mapping_verify(files[k], &maps[k]);
    if (st == CVG_OK) {
#pragma omp parallel /* the pages unmapped by all threads, not one */
        for (int k = 0; k < nets; k++) npy_mapping_release(&maps[k], omp_get_thread_num(), omp_get_num_threads());
    }
    for (int k = 0; k < nets; k++) npy_unmap(&maps[k]);
    if (st == CVG_OK && gathered > 0)
        st = add_checked_rows(s, X, 1, gathered, file_row, g, is_conv, bad, opt, paths);
    return st;
}

/* Read images [first, first + b) of every file into X (b * P rows x D): each net's file into
 * its own columns by its own thread (native float32 files straight into place, others through
 * a buffer and a scatter). A failed read is repeated on this thread afterwards: the error
 * message is per thread. */
static cvg_status read_chunk(cvg_npy *const *files, int nets, int64_t first, int64_t b,
                             const layer_shape *g, int is_float, int channels_first, void *X,
                             void **raw)
{
    const int64_t P = g->positions, D = g->col[nets], FP = g->file_positions;
    int failed = 0;
#pragma omp parallel for schedule(dynamic, 1) reduction(| : failed) if (nets > 1)
    for (int k = 0; k < nets; k++) {
        const int64_t S = g->net_units[k], col0 = g->col[k];
        cvg_status rs;
        if (g->pool_mean) { /* channels_first: the file's order; one row per image */
            rs = is_float ? cvg_npy_read_rows_f32(files[k], first, b, raw[k])
                          : cvg_npy_read_rows(files[k], first, b, raw[k]);
            failed |= rs != CVG_OK;
            for (int64_t img = 0; rs == CVG_OK && img < b; img++) {
                if (is_float)
                    conv_pool_mean_f32((const float *)raw[k] + img * S * FP, S, FP, channels_first,
                                       (float *)X + img * D + col0);
                else
                    conv_pool_mean_f64((const double *)raw[k] + img * S * FP, S, FP, channels_first,
                                       (double *)X + img * D + col0);
            }
            continue;
        }
        if (is_float && !channels_first && npy_is_native_f32(files[k])) { /* into place */
            rs = npy_read_runs_f32(files[k], first * S * P, b * P, S, (float *)X + col0, D);
            failed |= rs != CVG_OK;
            continue;
        }
        rs = is_float ? cvg_npy_read_rows_f32(files[k], first, b, raw[k])
                      : cvg_npy_read_rows(files[k], first, b, raw[k]);
        if (rs != CVG_OK) failed |= 1;
        else if (is_float) scatter_f32(raw[k], b, g, S, channels_first, col0, D, X);
        else scatter_f64(raw[k], b, g, S, channels_first, col0, D, X);
    }
    cvg_status st = CVG_OK;
    for (int k = 0; failed && k < nets && st == CVG_OK; k++)
        st = is_float ? cvg_npy_read_rows_f32(files[k], first, b, raw[k])
                      : cvg_npy_read_rows(files[k], first, b, raw[k]);
    return st;
}

/* The pass's chunk plan: inputs per chunk, for float32 rows when every file converts to float
 * exactly (*is_float), else double. */
static int64_t inputs_per_chunk(cvg_npy *const *files, int nets, const layer_shape *g,
                                const cvg_stats_options *opt, int *is_float, int64_t D)
{
    *is_float = 1;
    for (int k = 0; k < nets; k++) *is_float &= cvg_npy_exact_in_f32(files[k]);
    const int64_t elem = *is_float ? sizeof(float) : sizeof(double);
    const int64_t rows = g->images * g->positions; /* no chunk beyond the file */
    return stats_chunk_inputs(opt->chunk_rows < rows ? opt->chunk_rows : rows,
                              D * elem * (g->file_positions / g->positions),
                              g->positions);
}

/* Open the files and check that they make one layer: same inputs, units and positions. */
static cvg_status open_layer(const char *const *paths, int nets, const cvg_stats_options *opt,
                             cvg_npy **files, layer_shape *g, int64_t *net_units, int64_t *col)
{
    layer_shape gk;
    cvg_status st = cvg_conv_samples_name(opt->conv_samples)
                        ? CVG_OK
                        : cvg__fail(CVG_ERR_ARG, "cvg_stats_compute: invalid conv_samples %d",
                                    (int)opt->conv_samples);
    for (int k = 0; k < nets && st == CVG_OK; k++) {
        st = cvg_npy_open(paths[k], &files[k]);
        if (st == CVG_OK) st = shape_of(files[k], opt->layout, opt->conv_samples, k == 0 ? g : &gk);
        if (st == CVG_OK && k > 0) st = check_same_shape(files[0], g, files[k], &gk);
        if (st == CVG_OK) net_units[k] = k == 0 ? g->units : gk.units;
    }
    col[0] = 0;
    for (int k = 0; st == CVG_OK && k < nets; k++) col[k + 1] = col[k] + net_units[k];
    g->net_units = net_units;
    g->col = col;
    return st;
}

cvg_status cvg_stats_split_inputs(const char *const *paths, int nets, const cvg_stats_options *options,
                                  int parts, int64_t *first, int64_t *count)
{
    if (!paths || nets < 1 || parts < 1 || !first || !count)
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_split_inputs: invalid arguments");
    cvg_stats_options defaults;
    cvg_stats_options_init(&defaults);
    const cvg_stats_options *opt = options ? options : &defaults;
    cvg_npy **files = calloc((size_t)nets, sizeof *files);
    int64_t *widths = malloc((size_t)(2 * nets + 1) * sizeof *widths); /* S_k, then the columns */
    if (!files || !widths) {
        free(files), free(widths);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    layer_shape g = {0};
    cvg_status st = open_layer(paths, nets, opt, files, &g, widths, widths + nets);
    if (st == CVG_OK) {
        int is_float;
        const int64_t per_chunk = inputs_per_chunk(files, nets, &g, opt, &is_float, g.col[nets]);
        const int64_t chunks = (g.images + per_chunk - 1) / per_chunk;
        for (int p = 0; p < parts; p++) {
            const int64_t c0 = chunks * p / parts, c1 = chunks * (p + 1) / parts;
            first[p] = c0 * per_chunk < g.images ? c0 * per_chunk : g.images;
            count[p] = (c1 * per_chunk < g.images ? c1 * per_chunk : g.images) - first[p];
        }
    }
    for (int k = 0; k < nets; k++) cvg_npy_free(files[k]);
    free(files);
    free(widths);
    return st;
}

static cvg_status compute_pass(const char *const *paths, int nets, const char *layer,
                               const cvg_stats_options *options, cvg_stats **out)
{
    if (!out) return cvg__fail(CVG_ERR_ARG, "cvg_stats_compute: NULL output");
    *out = NULL;
    if (!paths || nets < 1) return cvg__fail(CVG_ERR_ARG, "cvg_stats_compute: need at least one file");
    cvg_status st = stats_check_layer_name(layer);
    if (st != CVG_OK) return st;
    cvg_stats_options defaults;
    cvg_stats_options_init(&defaults);
    const cvg_stats_options *opt = options ? options : &defaults;
    if (opt->reservoir < 0 || opt->chunk_rows < 0 || opt->row_offset < 0 || opt->first_input < 0 ||
        opt->input_count < 0)
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_compute: negative reservoir, chunk, offset or input range");
    if ((st = cvg__check_threads(opt->threads, "cvg_stats_compute")) != CVG_OK) return st;
    if (opt->threads > 0) omp_set_num_threads(opt->threads);

    cvg_npy **files = calloc((size_t)nets, sizeof *files);
    int64_t *widths = malloc((size_t)(2 * nets + 1) * sizeof *widths); /* S_k, then the columns */
    layer_shape g = {0};
    void *X = NULL;      /* float when every file converts to float exactly, else double */
    void **raw = NULL;   /* one read buffer per net: nets are read in parallel */
    unsigned char *bad = NULL;
    int64_t *kept_row = NULL; /* global row index of each row kept after dropping non-finite */
    unsigned char *block_bad = NULL; /* mapped chunks: sub-blocks holding NaN/Inf */
    cvg_stats *s = NULL;
    if (!files || !widths) {
        free(files), free(widths);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    if ((st = open_layer(paths, nets, opt, files, &g, widths, widths + nets)) != CVG_OK) goto done;

    /* is_conv: samples are positions (messages name them); channels_first: the file's order */
    const int is_conv = cvg_npy_ndim(files[0]) == 4 && opt->conv_samples == CVG_CONV_POSITIONS;
    const int channels_first = cvg_npy_ndim(files[0]) == 4 && opt->conv_samples != CVG_CONV_FLATTEN &&
                               opt->layout == CVG_LAYOUT_NCHW;
    cvg_stats_options made = *opt; /* fc files: one sample per input whatever the mode */
    if (cvg_npy_ndim(files[0]) == 2) made.conv_samples = CVG_CONV_POSITIONS;
    const int64_t P = g.positions, D = g.col[nets];
    int is_float;
    const int64_t images_per_chunk = inputs_per_chunk(files, nets, &g, opt, &is_float, D);
    const size_t elem = is_float ? sizeof(float) : sizeof(double);
    char who[96];
    snprintf(who, sizeof who, "layer '%.64s' (%s)", layer, paths[0]);
    if ((st = cvg__check_rows(opt->row_offset, g.images * P, who)) != CVG_OK) goto done;
    const int64_t chunk_rows = images_per_chunk * P;
    /* The inputs [begin, end) this pass reads. */
    const int64_t begin = opt->first_input, end = opt->input_count ? begin + opt->input_count : g.images;
    if (begin > g.images || end > g.images || end <= begin) {
        st = cvg__fail(CVG_ERR_ARG, "%s: inputs [%lld, %lld) asked for, but the file has %lld",
                       paths[0], (long long)begin, (long long)end, (long long)g.images);
        goto done;
    }

    int64_t start = begin; /* the first input to read: past what a checkpoint holds */
    if (opt->checkpoint && opt->resume &&
        (st = checkpoint_resume(opt->checkpoint, layer, paths, nets, opt, chunk_rows, &s, &start)) != CVG_OK)
        goto done;
    if (!s) {
        start = begin;
        st = cvg_stats_create_widths(layer, nets, g.net_units, g.height, g.width, &made, &s);
        for (int k = 0; k < nets && st == CVG_OK; k++) st = cvg_stats_add_source(s, paths[k]);
    }
    if (st != CVG_OK) goto done;
    X = malloc((size_t)(chunk_rows * D) * elem);
    raw = calloc((size_t)nets, sizeof *raw);
    for (int k = 0; raw && k < nets; k++)
        if (!(raw[k] = malloc((size_t)(images_per_chunk * g.net_units[k] * g.file_positions) * elem))) {
            st = cvg__fail(CVG_ERR_NOMEM, "out of memory for a chunk of %lld rows x %lld units",
                           (long long)chunk_rows, (long long)D);
            goto done;
        }
    bad = malloc((size_t)chunk_rows);
    kept_row = malloc((size_t)chunk_rows * sizeof *kept_row);
    block_bad = malloc((size_t)(chunk_rows / MOMENTS_SUB_ROWS + 1));
    if (!X || !raw || !bad || !kept_row || !block_bad) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory for a chunk of %lld rows x %lld units",
                       (long long)chunk_rows, (long long)D);
        goto done;
    }

    /* Every row of the pass reaches the reservoir unless non-finite rows are skipped: then the
     * rows a sample can keep are known from their keys in advance (identical sample, each kept
     * row copied once). */
    if (!opt->skip_nonfinite &&
        (st = reservoir_bound_rows(&s->samples, opt->row_offset + begin * P, (end - begin) * P)) != CVG_OK)
        goto done;

    /* Native float32 files in row order go to the fused kernel straight from the page cache. */
    int mapped = is_float && !channels_first && !g.pool_mean && moments_is_fused(s->moments) && nets <= MAX_MAPPED_NETS;
    for (int k = 0; k < nets; k++) mapped &= npy_is_native_f32(files[k]);

    char task[128];
    snprintf(task, sizeof task, "stats %s", layer);
    double last_save = omp_get_wtime();
    for (int64_t first = start; first < end && st == CVG_OK; first += images_per_chunk) {
        const int64_t b = end - first < images_per_chunk ? end - first : images_per_chunk;
        const int64_t rows = b * P;
        if (mapped) {
            st = add_mapped_rows(s, files, first * P, rows, &g, is_conv, X, bad, kept_row, block_bad, opt, paths);
        } else {
            st = read_chunk(files, nets, first, b, &g, is_float, channels_first, X, raw);
            for (int64_t r = 0; r < rows; r++) kept_row[r] = first * P + r;
            if (st == CVG_OK) st = add_checked_rows(s, X, is_float, rows, kept_row, &g, is_conv, bad, opt, paths);
        }
        if (st != CVG_OK) break;
        s->images += b;
        s->rows_seen += rows;
        if (st == CVG_OK && opt->checkpoint && first + b < end &&
            omp_get_wtime() - last_save >= opt->checkpoint_seconds) {
            st = checkpoint_save(opt->checkpoint, s, paths, nets, opt, chunk_rows, first + b);
            last_save = omp_get_wtime();
        }
        if (opt->progress && opt->progress(task, (uint64_t)(first + b - begin), (uint64_t)(end - begin),
                                           opt->progress_user))
            st = cvg__fail(CVG_ERR_CANCELLED, "stats pass over layer '%s' cancelled", layer);
    }
    if (st == CVG_OK && cvg_moments_count(s->moments) == 0)
        st = cvg__fail(CVG_ERR_EMPTY, "layer '%s': every row held a non-finite value; nothing left "
                       "to measure (first file %s)", layer, paths[0]);
done:
    if (s) reservoir_unbound(&s->samples);
    for (int k = 0; k < nets; k++) cvg_npy_free(files[k]);
    free(files);
    free(widths);
    free(X);
    for (int k = 0; raw && k < nets; k++) free(raw[k]);
    free(raw);
    free(bad);
    free(kept_row);
    free(block_bad);
    if (st != CVG_OK) {
        cvg_stats_free(s);
        return st;
    }
    *out = s;
    return CVG_OK;
}

/* The pass, then the range check (stats_range.h): with the default kernel a layer whose values
 * leave float32's range (finite, but |x - mean| above about 4e17 or a spread below about
 * 1e-15) is measured again in float64 (CVG_KERNEL_DSYRK, about a third of the speed; such
 * layers are rare), which gives the float64 answer; a kernel the caller chose is refused by
 * name instead, and so is anything beyond float64. The check reads the finished accumulators
 * once: the pass itself is unchanged. */
cvg_status cvg_stats_compute(const char *const *paths, int nets, const char *layer,
                             const cvg_stats_options *options, cvg_stats **out)
{
    cvg_status st = compute_pass(paths, nets, layer, options, out);
    if (st != CVG_OK) return st;
    int64_t unit;
    range_verdict v = stats_range_check(*out, &unit);
    const int automatic = !options || options->kernel == CVG_KERNEL_AUTO;
    if ((v == RANGE_FLOAT_OVERFLOW || v == RANGE_FLOAT_UNDERFLOW) && automatic) {
        stats_range_log_retry(*out, v, unit);
        cvg_stats_free(*out);
        *out = NULL;
        cvg_stats_options again;
        if (options) again = *options;
        else cvg_stats_options_init(&again);
        again.kernel = CVG_KERNEL_DSYRK;
        again.checkpoint = NULL; /* a checkpoint of the float pass would not resume this one */
        again.resume = 0;
        if ((st = compute_pass(paths, nets, layer, &again, out)) != CVG_OK) return st;
        v = stats_range_check(*out, &unit);
    }
    if (v != RANGE_OK) {
        st = stats_range_error(*out, v, unit);
        cvg_stats_free(*out);
        *out = NULL;
    }
    return st;
}
