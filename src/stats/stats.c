/* The cvg_stats object: creation, accessors, correlation, merging. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stats/stats_internal.h"

/* The options of every pass (the file pass of pass.c, the taps of nn/taps.c); here so
 * that the stats object does not depend on the pass that fills it. */
void cvg_stats_options_init(cvg_stats_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->layout = CVG_LAYOUT_NCHW;
    opt->reservoir = 60000;
    opt->seed = 1;
    opt->kernel = CVG_KERNEL_AUTO;
    opt->checkpoint_seconds = 60;
}

cvg_status stats_create(const char *layer, int nets, const int64_t *widths, int64_t reservoir_rows,
                        uint64_t seed, cvg_kernel kernel, cvg_stats **out)
{
    *out = NULL;
    cvg_stats *s = cvg__calloc(1, sizeof *s, "statistics");
    if (!s) return CVG_ERR_NOMEM;
    s->layer = strdup(layer);
    s->nets = nets;
    s->offset = malloc((size_t)(nets + 1) * sizeof *s->offset);
    s->kernel = kernel;
    s->position = -1;
    if (!s->layer || !s->offset) {
        cvg_stats_free(s);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    s->offset[0] = 0;
    s->units = widths[0];
    for (int k = 0; k < nets; k++) {
        s->offset[k + 1] = s->offset[k] + widths[k];
        if (widths[k] != widths[0]) s->units = 0;
    }
    s->dim = s->offset[nets];
    cvg_status st = cvg_moments_create(s->dim, kernel, &s->moments);
    if (st == CVG_OK) st = reservoir_init(&s->samples, reservoir_rows, s->dim, seed);
    if (st == CVG_OK) {
        st = sqnorm_init(&s->hsic, nets, s->offset);
        s->has_hsic = st == CVG_OK;
    }
    if (st != CVG_OK) {
        cvg_stats_free(s);
        return st;
    }
    *out = s;
    return CVG_OK;
}

cvg_status cvg_stats_add_source(cvg_stats *s, const char *path)
{
    if (!s || !path) return cvg__fail(CVG_ERR_ARG, "cvg_stats_add_source: NULL argument");
    char **grown = realloc(s->sources, (size_t)(s->source_count + 1) * sizeof *grown);
    if (!grown) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    s->sources = grown;
    if (!(s->sources[s->source_count] = strdup(path))) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    s->source_count++;
    return CVG_OK;
}

cvg_status stats_check_layer_name(const char *layer)
{
    if (!layer || !*layer || strchr(layer, '/') || strcmp(layer, ".") == 0 || strcmp(layer, "..") == 0)
        return cvg__fail(CVG_ERR_ARG, "invalid layer name '%s' (it names a directory: no '/')",
                         layer ? layer : "");
    return CVG_OK;
}

int stats_net_of(const cvg_stats *s, int64_t j)
{
    int k = 0;
    while (k + 1 < s->nets && j >= s->offset[k + 1]) k++;
    return k;
}

cvg_status cvg_stats_create(const char *layer, int nets, int64_t units, int64_t height,
                            int64_t width, const cvg_stats_options *options, cvg_stats **out)
{
    if (!out) return cvg__fail(CVG_ERR_ARG, "cvg_stats_create: NULL output");
    if (nets < 1 || nets > 1 << 16) {
        *out = NULL;
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_create(%s): invalid number of nets %d", layer ? layer : "", nets);
    }
    int64_t *widths = malloc((size_t)nets * sizeof *widths);
    if (!widths) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    for (int k = 0; k < nets; k++) widths[k] = units;
    cvg_status st = cvg_stats_create_widths(layer, nets, widths, height, width, options, out);
    free(widths);
    return st;
}

cvg_status cvg_stats_create_widths(const char *layer, int nets, const int64_t *units, int64_t height,
                                   int64_t width, const cvg_stats_options *options, cvg_stats **out)
{
    if (!out) return cvg__fail(CVG_ERR_ARG, "cvg_stats_create: NULL output");
    *out = NULL;
    cvg_stats_options defaults;
    cvg_stats_options_init(&defaults);
    const cvg_stats_options *opt = options ? options : &defaults;
    cvg_status st = stats_check_layer_name(layer);
    if (st != CVG_OK) return st;
    int bad_width = !units;
    for (int k = 0; !bad_width && k < nets; k++) bad_width = units[k] < 1;
    if (nets < 1 || bad_width || height < 0 || width < 0 || (height == 0) != (width == 0) ||
        opt->reservoir < 0 || opt->row_offset < 0)
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_create(%s): invalid nets, units, spatial size, "
                         "reservoir or row offset", layer);
    if ((st = cvg__check_threads(opt->threads, layer)) != CVG_OK) return st;
    if ((st = cvg__check_rows(opt->row_offset, 0, layer)) != CVG_OK) return st;
    if (!cvg_conv_samples_name(opt->conv_samples))
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_create(%s): invalid conv_samples %d", layer,
                         (int)opt->conv_samples);
    if ((st = stats_create(layer, nets, units, opt->reservoir, opt->seed, opt->kernel, out)) != CVG_OK)
        return st;
    (*out)->height = height;
    (*out)->width = width;
    (*out)->layout = opt->layout;
    (*out)->conv_samples = opt->conv_samples;
    (*out)->row_offset = opt->row_offset;
    return CVG_OK;
}

/* Rows in column parts (one part: rows given whole; one per net: cvg_stats_add_nets) must be
 * finite before anything is added, so that a failed call changes nothing. The scan is parallel
 * (it reads every value once, as much memory traffic as the co-moment kernel); only when it
 * finds a defect is the first one located, serially, for the message. */
static cvg_status check_finite(const cvg_stats *s, const row_parts *p, int64_t n)
{
    int bad = 0;
    for (int k = 0; k < p->count && !bad; k++) {
        const int64_t w = p->col[k + 1] - p->col[k];
        const float *x = p->base[k];
#pragma omp parallel for reduction(| : bad) schedule(static) if (n * w >= 65536)
        for (int64_t r = 0; r < n; r++) {
            int row_bad = 0;
            for (int64_t j = 0; j < w; j++) row_bad |= !isfinite(x[r * p->ld[k] + j]);
            bad |= row_bad;
        }
    }
    if (!bad) return CVG_OK;
    for (int64_t r = 0; r < n; r++)
        for (int k = 0; k < p->count; k++)
            for (int64_t j = p->col[k]; j < p->col[k + 1]; j++)
                if (!isfinite(((const float *)p->base[k])[r * p->ld[k] + j - p->col[k]]))
                    return cvg__fail(CVG_ERR_NONFINITE, "layer '%s': non-finite value at row %lld, "
                                     "unit %lld (net %lld)", s->layer, (long long)(s->rows_seen + r),
                                     (long long)(j - s->offset[stats_net_of(s, j)]),
                                     (long long)(stats_net_of(s, j) + 1));
    return CVG_OK;
}

static cvg_status add_parts(cvg_stats *s, const row_parts *parts, int64_t n, int64_t inputs)
{
    char who[80];
    snprintf(who, sizeof who, "layer '%.64s'", s->layer);
    cvg_status st = cvg__check_rows(s->row_offset, s->rows_seen + n, who);
    if (st == CVG_OK) st = check_finite(s, parts, n);
    if (st == CVG_OK) st = stats_add_parts(s, parts, n, NULL, s->row_offset + s->rows_seen, NULL);
    if (st == CVG_OK) {
        s->rows_seen += n;
        s->images += inputs;
    }
    return st;
}

cvg_status cvg_stats_add_rows(cvg_stats *s, const float *rows, int64_t n, int64_t inputs)
{
    if (!s || n < 0 || (n > 0 && !rows) || inputs < 0)
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_add_rows: invalid arguments");
    const void *base[1] = {rows};
    const int64_t D = s->dim, ld[1] = {D}, col[2] = {0, D};
    const row_parts parts = {1, 1, base, ld, col};
    return add_parts(s, &parts, n, inputs);
}

cvg_status cvg_stats_add_nets(cvg_stats *s, const float *const *nets, int64_t n, int64_t inputs)
{
    if (!s || n < 0 || (n > 0 && !nets) || inputs < 0)
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_add_nets: invalid arguments");
    const void **base = malloc((size_t)s->nets * sizeof *base);
    int64_t *ld = malloc((size_t)s->nets * sizeof *ld), *col = malloc((size_t)(s->nets + 1) * sizeof *col);
    cvg_status st = base && ld && col ? CVG_OK : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    for (int k = 0; k < s->nets && st == CVG_OK; k++) {
        if (n > 0 && !nets[k]) st = cvg__fail(CVG_ERR_ARG, "cvg_stats_add_nets: no rows for net %d", k + 1);
        base[k] = nets ? nets[k] : NULL;
        ld[k] = stats_width(s, k);
        col[k] = s->offset[k];
    }
    if (st == CVG_OK) {
        col[s->nets] = s->dim;
        const row_parts parts = {s->nets, 1, base, ld, col};
        st = add_parts(s, &parts, n, inputs);
    }
    free(base), free(ld), free(col);
    return st;
}

cvg_status stats_enable_top(cvg_stats *s)
{
    if (s->top) return CVG_OK;
    s->top = cvg__calloc((size_t)s->dim, sizeof *s->top, "top activations");
    return s->top ? CVG_OK : CVG_ERR_NOMEM;
}

void top_offer(top_unit *t, float value, int64_t image, int y, int x, const int box[4])
{
    if (t->count == CVG_TOP_K && !(value > t->entry[CVG_TOP_K - 1].value)) return;
    int pos = t->count < CVG_TOP_K ? t->count : CVG_TOP_K - 1;
    while (pos > 0 && value > t->entry[pos - 1].value) {
        t->entry[pos] = t->entry[pos - 1];
        pos--;
    }
    t->entry[pos] = (top_entry){value, image, y, x, {box[0], box[1], box[2], box[3]}};
    if (t->count < CVG_TOP_K) t->count++;
}

cvg_status cvg_stats_set_images(cvg_stats *s, const char *dir, const char *split)
{
    if (!s || !dir || !split) return cvg__fail(CVG_ERR_ARG, "cvg_stats_set_images: NULL argument");
    char *d = strdup(dir), *sp = strdup(split);
    if (!d || !sp) {
        free(d), free(sp);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    free(s->image_dir), free(s->image_split);
    s->image_dir = d, s->image_split = sp;
    return CVG_OK;
}

void stats_sort_samples(const cvg_stats *s)
{
    if (s->samples_sorted) return;
    /* Reorders the reservoir's slots only: the statistics are unchanged (logically const). */
    cvg_stats *m = (cvg_stats *)s;
    reservoir_sort_by_row(&m->samples);
    m->samples_sorted = 1;
}

void cvg_stats_free(cvg_stats *s)
{
    if (!s) return;
    free(s->layer);
    free(s->offset);
    cvg_moments_free(s->moments);
    reservoir_free(&s->samples);
    sqnorm_free(&s->hsic);
    for (int i = 0; i < s->source_count; i++) free(s->sources[i]);
    free(s->sources);
    free(s->top);
    free(s->image_dir);
    free(s->image_split);
    free(s);
}

const char *cvg_stats_layer(const cvg_stats *s) { return s->layer; }
int cvg_stats_nets(const cvg_stats *s) { return s->nets; }
cvg_conv_samples cvg_stats_conv_samples(const cvg_stats *s) { return s->conv_samples; }
int64_t cvg_stats_units(const cvg_stats *s) { return s->units; }
int64_t cvg_stats_dim(const cvg_stats *s) { return s->dim; }
int64_t cvg_stats_net_units(const cvg_stats *s, int net)
{
    return s && net >= 0 && net < s->nets ? stats_width(s, net) : -1;
}
int64_t cvg_stats_count(const cvg_stats *s) { return cvg_moments_count(s->moments); }
int64_t cvg_stats_skipped(const cvg_stats *s) { return s->skipped; }
const double *cvg_stats_mean(const cvg_stats *s) { return cvg_moments_mean(s->moments); }

const float *cvg_stats_samples(const cvg_stats *s, int64_t *rows)
{
    stats_sort_samples(s);
    if (rows) *rows = s->samples.size;
    return s->samples.data;
}

const int64_t *cvg_stats_sample_rows(const cvg_stats *s)
{
    stats_sort_samples(s);
    return s->samples.rows;
}

cvg_status cvg_stats_correlation(const cvg_stats *s, double *std, double *corr,
                                 unsigned char *dead)
{
    const int64_t d = cvg_moments_dim(s->moments);
    double *M = cvg__malloc((size_t)(d * d) * sizeof *M, "the co-moment matrix");
    if (!M) return CVG_ERR_NOMEM;
    cvg_moments_comoment(s->moments, M);
    cvg_status st = cvg_correlation_from_comoment(d, cvg_moments_count(s->moments), M, std, corr, dead);
    free(M);
    return st;
}

/* "64" when every net has 64 units, "32,48" (",..." past the buffer) when they differ. */
static void describe_widths(const cvg_stats *s, char *buf, size_t size)
{
    if (s->units > 0) {
        snprintf(buf, size, "%lld", (long long)s->units);
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < s->nets; k++) {
        char part[24];
        int len = snprintf(part, sizeof part, "%s%lld", k ? "," : "",
                           (long long)(s->offset[k + 1] - s->offset[k]));
        if (used + (size_t)len + 5 > size) {
            snprintf(buf + used, size - used, ",...");
            return;
        }
        memcpy(buf + used, part, (size_t)len + 1);
        used += (size_t)len;
    }
}

cvg_status cvg_stats_merge(cvg_stats *dst, const cvg_stats *src)
{
    if (!dst || !src) return cvg__fail(CVG_ERR_ARG, "cvg_stats_merge: NULL argument");
    int same_widths = dst->nets == src->nets;
    for (int k = 0; same_widths && k <= dst->nets; k++) same_widths = dst->offset[k] == src->offset[k];
    if (!same_widths || dst->height != src->height || dst->width != src->width) {
        char dst_widths[96], src_widths[96];
        describe_widths(dst, dst_widths, sizeof dst_widths);
        describe_widths(src, src_widths, sizeof src_widths);
        return cvg__fail(CVG_ERR_SHAPE, "cannot merge layer '%s': %d nets of %s units (%lldx%lld) vs "
                         "%d nets of %s units (%lldx%lld)", src->layer, dst->nets, dst_widths,
                         (long long)dst->height, (long long)dst->width, src->nets, src_widths,
                         (long long)src->height, (long long)src->width);
    }
    if (dst->conv_samples != src->conv_samples)
        return cvg__fail(CVG_ERR_ARG, "cannot merge layer '%s': its samples were made with conv "
                         "samples '%s' and '%s' (compute the shards with the same --conv-samples)",
                         src->layer, cvg_conv_samples_name(dst->conv_samples),
                         cvg_conv_samples_name(src->conv_samples));
    if (strcmp(dst->layer, src->layer) != 0)
        return cvg__fail(CVG_ERR_ARG, "cannot merge layer '%s' into layer '%s'", src->layer, dst->layer);
    if (dst->samples.capacity != src->samples.capacity || dst->samples.seed != src->samples.seed)
        return cvg__fail(CVG_ERR_ARG,
                         "cannot merge layer '%s': reservoirs differ (size %lld seed %llu vs size "
                         "%lld seed %llu); compute the shards with the same --reservoir and --seed",
                         src->layer, (long long)dst->samples.capacity,
                         (unsigned long long)dst->samples.seed, (long long)src->samples.capacity,
                         (unsigned long long)src->samples.seed);
    cvg_status st = CVG_OK;
    if (dst->has_hsic && src->has_hsic) {
        st = sqnorm_merge(&dst->hsic, dst->moments, &src->hsic, src->moments);
    } else if (dst->has_hsic) {
        cvg__log(CVG_LOG_WARN, "layer '%s': one of the merged directories has no HSIC sums "
                 "(written by an older version); the merge will not support debiased CKA", dst->layer);
        dst->has_hsic = 0;
    }
    if (st == CVG_OK) st = cvg_moments_merge(dst->moments, src->moments);
    if (st == CVG_OK) st = reservoir_merge(&dst->samples, &src->samples);
    if (st != CVG_OK) return st;
    /* moments from a float64 shard make the merge's small variances float64 ones (a float
     * shard's were range-checked when it was made), so the range check must not take them for
     * a float32 kernel's underflow (stats_range.h) */
    if (src->kernel == CVG_KERNEL_DSYRK) dst->kernel = CVG_KERNEL_DSYRK;
    dst->samples_sorted = 0;
    if (dst->top && src->top)
        for (int64_t u = 0; u < dst->dim; u++)
            for (int e = 0; e < src->top[u].count; e++) {
                const top_entry *t = &src->top[u].entry[e];
                top_offer(&dst->top[u], t->value, t->image, t->y, t->x, t->box);
            }
    dst->images += src->images;
    dst->rows_seen += src->rows_seen;
    dst->skipped += src->skipped;
    if (src->row_offset < dst->row_offset) dst->row_offset = src->row_offset;
    for (int i = 0; i < src->source_count; i++) {
        int listed = 0; /* parts of one file (cvg_stats_options.first_input) name it once */
        for (int j = 0; j < dst->source_count && !listed; j++) listed = strcmp(dst->sources[j], src->sources[i]) == 0;
        if (!listed && (st = cvg_stats_add_source(dst, src->sources[i])) != CVG_OK) return st;
    }
    return CVG_OK;
}
