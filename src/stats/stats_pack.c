/* cvg_stats_pack / cvg_stats_unpack: the whole state of a cvg_stats as one byte string, for
 * another process of the same build (an MPI rank, a Python pickle), without files.
 *
 * Layout, native byte order, no padding: the magic "CVGSTAT2"; then fields in this order, each
 * an int64 unless said otherwise: nets, units, height, width, layout, kernel, images, rows_seen,
 * row_offset, skipped, has_hsic, has_top, reservoir capacity, position (the layer's place in
 * its network, -1 if unknown), conv samples (cvg_conv_samples); the K ends of the nets' units
 * in D (offset[1..K]; units is 0 when the widths differ); reservoir seed (uint64), reservoir
 * rows R, count; the strings layer, image_dir, image_split (int64 length, -1 for none, then the
 * bytes); sources (int64 count, then each string); mean (D doubles), co-moment (D x D doubles),
 * with has_hsic Q (K x K doubles) and G (K x D doubles); the reservoir's R global row indices
 * (int64) and R x D values (float32); with has_top, per unit CVG_TOP_K entries of value (float32),
 * image (int64), y, x, box[4] (int32), count (int32) per unit first. Unpacking rebuilds the state
 * the way cvg_stats_load does from a directory, so pack + unpack and save + load give the same
 * statistics bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stats/stats_internal.h"

static const char MAGIC[8] = {'C', 'V', 'G', 'S', 'T', 'A', 'T', '2'};
enum { HEAD_FIELDS = 15 };

/* ---- writing: a growing buffer; the first failure sticks */

typedef struct writer {
    unsigned char *data;
    size_t size, cap;
    int failed;
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (w->failed || n == 0) return;
    if (w->size + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->size + n) cap *= 2;
        unsigned char *grown = realloc(w->data, cap);
        if (!grown) {
            w->failed = 1;
            return;
        }
        w->data = grown, w->cap = cap;
    }
    memcpy(w->data + w->size, p, n);
    w->size += n;
}

static void put_i64(writer *w, int64_t v) { put(w, &v, sizeof v); }

static void put_string(writer *w, const char *s)
{
    put_i64(w, s ? (int64_t)strlen(s) : -1);
    if (s) put(w, s, strlen(s));
}

cvg_status cvg_stats_pack(const cvg_stats *s, void **bytes, size_t *size)
{
    if (!s || !bytes || !size) return cvg__fail(CVG_ERR_ARG, "cvg_stats_pack: NULL argument");
    *bytes = NULL;
    *size = 0;
    const int64_t K = s->nets, D = s->dim, R = s->samples.size;
    double *M = malloc((size_t)(D * D) * sizeof *M);
    if (!M) return cvg__fail(CVG_ERR_NOMEM, "out of memory packing layer '%s'", s->layer);
    cvg_moments_comoment(s->moments, M);
    writer w = {0};
    put(&w, MAGIC, sizeof MAGIC);
    const int64_t head[] = {K, s->units, s->height, s->width, s->layout, s->kernel, s->images,
                            s->rows_seen, s->row_offset, s->skipped, s->has_hsic, s->top != NULL,
                            s->samples.capacity, s->position, s->conv_samples};
    _Static_assert(sizeof head / sizeof *head == HEAD_FIELDS, "the packed header");
    put(&w, head, sizeof head);
    put(&w, s->offset + 1, (size_t)K * sizeof(int64_t)); /* where each net's units end */
    put(&w, &s->samples.seed, sizeof s->samples.seed);
    put_i64(&w, R);
    put_i64(&w, cvg_moments_count(s->moments));
    put_string(&w, s->layer);
    put_string(&w, s->image_dir);
    put_string(&w, s->image_split);
    put_i64(&w, s->source_count);
    for (int i = 0; i < s->source_count; i++) put_string(&w, s->sources[i]);
    put(&w, cvg_moments_mean(s->moments), (size_t)D * sizeof(double));
    put(&w, M, (size_t)(D * D) * sizeof(double));
    if (s->has_hsic) {
        put(&w, s->hsic.Q, (size_t)(K * K) * sizeof(double));
        put(&w, s->hsic.G, (size_t)(K * D) * sizeof(double));
    }
    put(&w, s->samples.rows, (size_t)R * sizeof(int64_t));
    put(&w, s->samples.data, (size_t)(R * D) * sizeof(float));
    for (int64_t u = 0; s->top && u < D; u++) {
        const top_unit *t = &s->top[u];
        const int32_t count = t->count;
        put(&w, &count, sizeof count);
        for (int e = 0; e < t->count; e++) {
            const top_entry *x = &t->entry[e];
            const int32_t where[6] = {x->y, x->x, x->box[0], x->box[1], x->box[2], x->box[3]};
            put(&w, &x->value, sizeof x->value);
            put(&w, &x->image, sizeof x->image);
            put(&w, where, sizeof where);
        }
    }
    free(M);
    if (w.failed) {
        free(w.data);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory packing layer '%s'", s->layer);
    }
    *bytes = w.data;
    *size = w.size;
    return CVG_OK;
}

/* ---- reading: every read checked against the end */

typedef struct reader {
    const unsigned char *p, *end;
    int short_read;
} reader;

static const void *take(reader *r, size_t n)
{
    if (r->short_read || (size_t)(r->end - r->p) < n) {
        r->short_read = 1;
        return NULL;
    }
    const void *at = r->p;
    r->p += n;
    return at;
}

static int64_t take_i64(reader *r)
{
    int64_t v = -1;
    const void *at = take(r, sizeof v);
    if (at) memcpy(&v, at, sizeof v);
    return v;
}

/* A string of at most max bytes as a new C string; *none when it was packed as NULL. */
static char *take_string(reader *r, size_t max, int *none)
{
    const int64_t n = take_i64(r);
    *none = n == -1 && !r->short_read;
    if (n < 0 || (uint64_t)n > max) {
        if (!*none) r->short_read = 1;
        return NULL;
    }
    const char *at = take(r, (size_t)n);
    char *s = at ? malloc((size_t)n + 1) : NULL;
    if (s) {
        memcpy(s, at, (size_t)n);
        s[n] = 0;
        if (strlen(s) != (size_t)n) { /* a NUL inside */
            free(s);
            r->short_read = 1;
            return NULL;
        }
    }
    return s;
}

static cvg_status bad(const char *what)
{
    return cvg__fail(CVG_ERR_FORMAT, "packed statistics: %s", what);
}

/* Everything after the strings; the stats object exists with its shape. */
static cvg_status take_state(reader *r, cvg_stats *s, int64_t count, int64_t R, int has_top)
{
    const int64_t K = s->nets, D = s->dim;
    cvg_status st = CVG_OK;
    const int64_t sources = take_i64(r);
    if (sources < 0 || sources > 1 << 20) return bad("the source list is malformed");
    for (int64_t i = 0; i < sources && st == CVG_OK; i++) {
        int none;
        char *path = take_string(r, 1 << 20, &none);
        if (!path) return bad("a source path is malformed");
        st = cvg_stats_add_source(s, path);
        free(path);
    }
    if (st != CVG_OK) return st;
    const double *mean = take(r, (size_t)D * sizeof(double));
    const double *M = take(r, (size_t)(D * D) * sizeof(double));
    const double *Q = s->has_hsic ? take(r, (size_t)(K * K) * sizeof(double)) : NULL;
    const double *G = s->has_hsic ? take(r, (size_t)(K * D) * sizeof(double)) : NULL;
    const int64_t *rows = take(r, (size_t)R * sizeof(int64_t));
    const unsigned char *values = take(r, (size_t)(R * D) * sizeof(float));
    if (r->short_read) return bad("shorter than its shape says");
    /* unaligned in the buffer: copied before use */
    double *mean_a = malloc((size_t)D * sizeof *mean_a), *M_a = malloc((size_t)(D * D) * sizeof *M_a);
    float *row = malloc((size_t)D * sizeof *row);
    if (!mean_a || !M_a || !row) st = cvg__fail(CVG_ERR_NOMEM, "out of memory unpacking statistics");
    if (st == CVG_OK) {
        memcpy(mean_a, mean, (size_t)D * sizeof *mean_a);
        memcpy(M_a, M, (size_t)(D * D) * sizeof *M_a);
        for (int64_t i = 0; i < D * D && st == CVG_OK; i++)
            if (!isfinite(M_a[i]) || (i < D && !isfinite(mean_a[i]))) st = bad("a mean or co-moment is not finite");
    }
    if (st == CVG_OK) st = cvg_moments_set(s->moments, count, mean_a, M_a);
    if (st == CVG_OK && s->has_hsic) {
        memcpy(s->hsic.Q, Q, (size_t)(K * K) * sizeof(double));
        memcpy(s->hsic.G, G, (size_t)(K * D) * sizeof(double));
    }
    for (int64_t i = 0; st == CVG_OK && i < R; i++) {
        int64_t global;
        memcpy(&global, (const unsigned char *)rows + i * sizeof global, sizeof global);
        memcpy(row, values + (size_t)(i * D) * sizeof(float), (size_t)D * sizeof(float));
        reservoir_offer_f32(&s->samples, global, row);
    }
    free(mean_a), free(M_a), free(row);
    if (st == CVG_OK && has_top) st = stats_enable_top(s);
    for (int64_t u = 0; st == CVG_OK && has_top && u < D; u++) {
        int32_t n = -1;
        const void *at = take(r, sizeof n);
        if (at) memcpy(&n, at, sizeof n);
        if (n < 0 || n > CVG_TOP_K) return bad("a unit's top activations are malformed");
        for (int e = 0; e < n; e++) {
            float value;
            int64_t image;
            int32_t where[6];
            const unsigned char *v = take(r, sizeof value), *im = take(r, sizeof image), *wh = take(r, sizeof where);
            if (r->short_read) return bad("shorter than its top activations say");
            memcpy(&value, v, sizeof value), memcpy(&image, im, sizeof image), memcpy(where, wh, sizeof where);
            top_offer(&s->top[u], value, image, where[0], where[1], where + 2);
        }
    }
    if (st == CVG_OK && r->p != r->end) return bad("bytes left over after the statistics");
    return st;
}

cvg_status cvg_stats_unpack(const void *bytes, size_t size, cvg_stats **out)
{
    if (!bytes || !out) return cvg__fail(CVG_ERR_ARG, "cvg_stats_unpack: NULL argument");
    *out = NULL;
    reader r = {bytes, (const unsigned char *)bytes + size, 0};
    const void *magic = take(&r, sizeof MAGIC);
    if (!magic || memcmp(magic, MAGIC, sizeof MAGIC) != 0)
        return bad("not packed by cvg_stats_pack (no CVGSTAT2 magic)");
    int64_t head[HEAD_FIELDS];
    for (int i = 0; i < HEAD_FIELDS; i++) head[i] = take_i64(&r);
    const int64_t K = head[0], S = head[1], capacity = head[12];
    if (r.short_read || K < 1 || K > 1 << 16) return bad("the header is malformed");
    int64_t *widths = malloc((size_t)K * sizeof *widths), D = 0, end = 0;
    if (!widths) return cvg__fail(CVG_ERR_NOMEM, "out of memory unpacking statistics");
    int widths_ok = 1;
    for (int64_t k = 0; k < K; k++) {
        const int64_t e = take_i64(&r);
        widths[k] = e - end;
        end = e;
        widths_ok &= !r.short_read && widths[k] >= 1 && widths[k] <= 1 << 30 && (S == 0 || widths[k] == S);
    }
    D = end;
    if (!widths_ok || D > (int64_t)1 << 31) {
        free(widths);
        return bad("the nets' widths are malformed");
    }
    uint64_t seed = 0;
    const void *at = take(&r, sizeof seed);
    if (at) memcpy(&seed, at, sizeof seed);
    const int64_t R = take_i64(&r), count = take_i64(&r);
    cvg_status st0 = CVG_OK;
    if (r.short_read || S < 0 ||
        head[2] < 0 || head[3] < 0 || (head[4] != CVG_LAYOUT_NCHW && head[4] != CVG_LAYOUT_NHWC) ||
        head[5] < CVG_KERNEL_AUTO || head[5] > CVG_KERNEL_FUSED || head[6] < 0 || head[7] < 0 ||
        head[8] < 0 || head[9] < 0 || (head[10] != 0 && head[10] != 1) || (head[11] != 0 && head[11] != 1) ||
        capacity < 0 || head[13] < -1 || head[13] > 1000000 ||
        !cvg_conv_samples_name((cvg_conv_samples)head[14]) || R < 0 || R > capacity || count < 0)
        st0 = bad("the header is malformed");
    else if ((uint64_t)(r.end - r.p) / sizeof(double) < (uint64_t)D * (uint64_t)D)
        st0 = bad("shorter than its co-moment matrix");
    if (st0 != CVG_OK) {
        free(widths);
        return st0;
    }
    int none;
    char *layer = take_string(&r, CVG_NAME_MAX, &none);
    char *image_dir = take_string(&r, 1 << 20, &none);
    int dir_none = none;
    char *image_split = take_string(&r, 1 << 20, &none);
    cvg_status st = CVG_OK;
    cvg_stats *s = NULL;
    if (!layer || r.short_read || (!image_dir) != dir_none || (!image_dir) != (!image_split))
        st = bad("the layer name or the image source is malformed");
    if (st == CVG_OK) st = stats_check_layer_name(layer);
    if (st == CVG_OK) st = stats_create(layer, (int)K, widths, capacity, seed, (cvg_kernel)head[5], &s);
    free(widths);
    if (st == CVG_OK) {
        s->height = head[2], s->width = head[3], s->layout = (cvg_layout)head[4];
        s->images = head[6], s->rows_seen = head[7], s->row_offset = head[8], s->skipped = head[9];
        s->has_hsic = (int)head[10];
        s->position = (int)head[13];
        s->conv_samples = (cvg_conv_samples)head[14];
        if (image_dir) st = cvg_stats_set_images(s, image_dir, image_split);
    }
    if (st == CVG_OK) st = take_state(&r, s, count, R, (int)head[11]);
    free(layer), free(image_dir), free(image_split);
    if (st != CVG_OK) {
        cvg_stats_free(s);
        return st;
    }
    *out = s;
    return CVG_OK;
}
