/* The statistics pass: stream K activation files (one per network) chunk by chunk into the
 * co-moment accumulator and the reservoir. Memory is set by the chunk size, never by N. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "stats/stats_internal.h"

/* Bytes of the double chunk buffer (rows x D) when the caller does not choose. */
enum { AUTO_CHUNK_BYTES = 32 << 20, MIN_CHUNK_ROWS = 256, MAX_CHUNK_ROWS = 16384 };

void cvg_stats_options_init(cvg_stats_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->layout = CVG_LAYOUT_NCHW;
    opt->reservoir = 60000;
    opt->seed = 1;
    opt->kernel = CVG_KERNEL_AUTO;
}

/* The geometry shared by the K files of one layer. */
typedef struct layer_shape {
    int64_t images, units, height, width, positions; /* positions = height * width (1 for fc) */
} layer_shape;

static void format_shape(const cvg_npy *f, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < cvg_npy_ndim(f) && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "",
                              (long long)cvg_npy_shape(f)[i]);
    if (n < cap) snprintf(buf + n, cap - n, ")");
}

static cvg_status shape_of(const cvg_npy *f, cvg_layout layout, layer_shape *out)
{
    const int64_t *sh = cvg_npy_shape(f);
    char desc[160];
    format_shape(f, desc, sizeof desc);
    if (cvg_npy_ndim(f) == 2) {
        *out = (layer_shape){sh[0], sh[1], 0, 0, 1};
    } else if (cvg_npy_ndim(f) == 4) {
        if (layout == CVG_LAYOUT_NCHW) *out = (layer_shape){sh[0], sh[1], sh[2], sh[3], sh[2] * sh[3]};
        else *out = (layer_shape){sh[0], sh[3], sh[1], sh[2], sh[1] * sh[2]};
    } else {
        return cvg__fail(CVG_ERR_SHAPE, "%s: expected a 2-D (N, S) or 4-D (N, C, H, W) array, got "
                         "shape %s", cvg_npy_path(f), desc);
    }
    if (out->images == 0)
        return cvg__fail(CVG_ERR_EMPTY, "%s: zero rows (shape %s)", cvg_npy_path(f), desc);
    if (out->units == 0 || out->positions == 0)
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
    else if (a->height != b->height) what = "height H", va = a->height, vb = b->height;
    else if (a->width != b->width) what = "width W", va = a->width, vb = b->width;
    else if (a->units != b->units) what = "number of units", va = a->units, vb = b->units;
    if (!what) return CVG_OK;
    return cvg__fail(CVG_ERR_SHAPE, "%s: %s is %lld, but %lld in %s (all networks must see the "
                     "same inputs through layers of the same shape)", cvg_npy_path(other), what,
                     (long long)vb, (long long)va, cvg_npy_path(first));
}

static const char *nonfinite_name(double v) { return isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"); }

/* Scatter one net's images [0, b) (raw rows of the file) into columns [k*S, (k+1)*S) of the
 * chunk X (b*P rows x D). Rows with a non-finite value are flagged in bad[] when skipping, or
 * reported as an error naming the file, the row and the unit. */
static cvg_status scatter_net(const double *raw, int64_t b, const layer_shape *g, cvg_layout layout,
                              int is_conv, int64_t col0, int64_t D, double *X, unsigned char *bad,
                              int skip, const char *path, int64_t first_image)
{
    const int64_t S = g->units, P = g->positions;
    for (int64_t img = 0; img < b; img++) {
        const double *src = raw + img * S * P;
        for (int64_t p = 0; p < P; p++) {
            double *dst = X + (img * P + p) * D + col0;
            int finite = 1;
            int64_t bad_unit = 0;
            if (!is_conv || layout == CVG_LAYOUT_NHWC) {
                const double *s = src + p * S;
                for (int64_t c = 0; c < S; c++) {
                    dst[c] = s[c];
                    if (!isfinite(s[c]) && finite) finite = 0, bad_unit = c;
                }
            } else {
                for (int64_t c = 0; c < S; c++) {
                    double v = src[c * P + p];
                    dst[c] = v;
                    if (!isfinite(v) && finite) finite = 0, bad_unit = c;
                }
            }
            if (finite) continue;
            if (skip) {
                bad[img * P + p] = 1;
                continue;
            }
            double v = dst[bad_unit];
            if (!is_conv)
                return cvg__fail(CVG_ERR_NONFINITE, "%s: %s at row %lld, unit %lld (use "
                                 "--skip-nonfinite to drop such rows)", path, nonfinite_name(v),
                                 (long long)(first_image + img), (long long)bad_unit);
            return cvg__fail(CVG_ERR_NONFINITE, "%s: %s at image %lld, position (y=%lld, x=%lld), "
                             "channel %lld (use --skip-nonfinite to drop such rows)", path,
                             nonfinite_name(v), (long long)(first_image + img),
                             (long long)(p / g->width), (long long)(p % g->width), (long long)bad_unit);
        }
    }
    return CVG_OK;
}

cvg_status cvg_stats_compute(const char *const *paths, int nets, const char *layer,
                             const cvg_stats_options *options, cvg_stats **out)
{
    if (!out) return cvg__fail(CVG_ERR_ARG, "cvg_stats_compute: NULL output");
    *out = NULL;
    if (!paths || nets < 1) return cvg__fail(CVG_ERR_ARG, "cvg_stats_compute: need at least one file");
    if (!layer || !*layer || strchr(layer, '/') || strcmp(layer, ".") == 0 || strcmp(layer, "..") == 0)
        return cvg__fail(CVG_ERR_ARG, "invalid layer name '%s' (it names a directory: no '/')",
                         layer ? layer : "");
    cvg_stats_options defaults;
    cvg_stats_options_init(&defaults);
    const cvg_stats_options *opt = options ? options : &defaults;
    if (opt->reservoir < 0 || opt->chunk_rows < 0 || opt->threads < 0 || opt->row_offset < 0)
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_compute: negative reservoir, chunk, thread count or offset");
    if (opt->threads > 0) omp_set_num_threads(opt->threads);

    cvg_status st = CVG_OK;
    cvg_npy **files = calloc((size_t)nets, sizeof *files);
    layer_shape g = {0}, gk;
    double *X = NULL, *raw = NULL;
    unsigned char *bad = NULL;
    int64_t *kept_row = NULL; /* chunk row index of each row kept after dropping non-finite */
    cvg_stats *s = NULL;
    if (!files) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    for (int k = 0; k < nets && st == CVG_OK; k++) {
        st = cvg_npy_open(paths[k], &files[k]);
        if (st == CVG_OK) st = shape_of(files[k], opt->layout, k == 0 ? &g : &gk);
        if (st == CVG_OK && k > 0) st = check_same_shape(files[0], &g, files[k], &gk);
    }
    if (st != CVG_OK) goto done;

    const int is_conv = cvg_npy_ndim(files[0]) == 4;
    const int64_t S = g.units, P = g.positions, D = (int64_t)nets * S;
    int64_t rows_wanted = opt->chunk_rows;
    if (rows_wanted == 0) {
        rows_wanted = AUTO_CHUNK_BYTES / (D * (int64_t)sizeof(double));
        if (rows_wanted < MIN_CHUNK_ROWS) rows_wanted = MIN_CHUNK_ROWS;
        if (rows_wanted > MAX_CHUNK_ROWS) rows_wanted = MAX_CHUNK_ROWS;
    }
    const int64_t images_per_chunk = rows_wanted / P > 0 ? rows_wanted / P : 1;
    const int64_t chunk_rows = images_per_chunk * P;

    st = stats_create(layer, nets, S, opt->reservoir, opt->seed, opt->kernel, &s);
    if (st != CVG_OK) goto done;
    s->height = g.height;
    s->width = g.width;
    s->layout = opt->layout;
    s->row_offset = opt->row_offset;
    for (int k = 0; k < nets && st == CVG_OK; k++) st = stats_add_source(s, paths[k]);
    X = malloc((size_t)(chunk_rows * D) * sizeof *X);
    raw = malloc((size_t)(images_per_chunk * S * P) * sizeof *raw);
    bad = malloc((size_t)chunk_rows);
    kept_row = malloc((size_t)chunk_rows * sizeof *kept_row);
    if (!X || !raw || !bad || !kept_row) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory for a chunk of %lld rows x %lld units",
                       (long long)chunk_rows, (long long)D);
        goto done;
    }

    char task[128];
    snprintf(task, sizeof task, "stats %s", layer);
    for (int64_t first = 0; first < g.images && st == CVG_OK; first += images_per_chunk) {
        const int64_t b = g.images - first < images_per_chunk ? g.images - first : images_per_chunk;
        const int64_t rows = b * P;
        memset(bad, 0, (size_t)rows);
        for (int k = 0; k < nets && st == CVG_OK; k++) {
            st = cvg_npy_read_rows(files[k], first, b, raw);
            if (st == CVG_OK)
                st = scatter_net(raw, b, &g, opt->layout, is_conv, k * S, D, X, bad,
                                 opt->skip_nonfinite, paths[k], first);
        }
        if (st != CVG_OK) break;

        /* Drop flagged rows (compacting X), then one accumulator update for the chunk. */
        int64_t kept = 0;
        for (int64_t r = 0; r < rows; r++) {
            if (bad[r]) continue;
            if (kept != r) memmove(X + kept * D, X + r * D, (size_t)D * sizeof *X);
            kept_row[kept++] = r;
        }
        s->skipped += rows - kept;
        /* the HSIC sums first: they need the moments before the chunk */
        if (kept > 0) st = sqnorm_add(&s->hsic, s->moments, X, kept, D);
        if (kept > 0 && st == CVG_OK) st = cvg_moments_add(s->moments, X, kept, D);
        const int64_t base = opt->row_offset + first * P;
        for (int64_t j = 0; j < kept && st == CVG_OK; j++)
            reservoir_offer(&s->samples, base + kept_row[j], X + j * D);
        s->images += b;
        s->rows_seen += rows;
        if (opt->progress && opt->progress(task, (uint64_t)(first + b), (uint64_t)g.images,
                                           opt->progress_user))
            st = cvg__fail(CVG_ERR_CANCELLED, "stats pass over layer '%s' cancelled", layer);
    }
    if (st == CVG_OK && cvg_moments_count(s->moments) == 0)
        st = cvg__fail(CVG_ERR_EMPTY, "layer '%s': every row held a non-finite value; nothing left "
                       "to measure (first file %s)", layer, paths[0]);
done:
    for (int k = 0; k < nets; k++) cvg_npy_close(files[k]);
    free(files);
    free(X);
    free(raw);
    free(bad);
    free(kept_row);
    if (st != CVG_OK) {
        cvg_stats_free(s);
        return st;
    }
    *out = s;
    return CVG_OK;
}
