/* The stats directory of one layer: OUT/<layer>/{meta.json, mean.npy, std.npy, comoment.npy,
 * corr.npy, samples.npy, samples_rows.npy}. Every file is written atomically; meta.json last,
 * so a directory whose meta.json exists is complete. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/internal.h"
#include "stats/stats_internal.h"
#include "stats/stats_range.h"

/* meta.json's "kernel"; the default (AUTO) is recorded as the kernel it stands for. */
static const char *const kernel_names[] = {"fused", "ssyrk", "sgemm", "dsyrk", "fused"};

static const char *kernel_name(cvg_kernel k)
{
    return k >= CVG_KERNEL_AUTO && k <= CVG_KERNEL_FUSED ? kernel_names[k] : "fused";
}

static cvg_kernel kernel_from_name(const char *name)
{
    for (int k = CVG_KERNEL_SSYRK; name && k <= CVG_KERNEL_FUSED; k++)
        if (strcmp(name, kernel_names[k]) == 0) return (cvg_kernel)k;
    return CVG_KERNEL_AUTO;
}

cvg_status cvg_stats_mean_abs_corr(const cvg_stats *s, const double *corr,
                                   const unsigned char *dead, double *within, double *between)
{
    const int64_t D = s->dim;
    double sum_w = 0, sum_b = 0;
    int64_t n_w = 0, n_b = 0;
    for (int64_t i = 0; i < D; i++) {
        if (dead[i]) continue;
        const int64_t end_of_net = s->offset[stats_net_of(s, i) + 1];
        for (int64_t j = i + 1; j < D; j++) {
            if (dead[j]) continue;
            double a = fabs(corr[i * D + j]);
            if (j < end_of_net) sum_w += a, n_w++;
            else sum_b += a, n_b++;
        }
    }
    *within = n_w ? sum_w / (double)n_w : 0.0;
    *between = n_b ? sum_b / (double)n_b : 0.0;
    return CVG_OK;
}

/* The layer's fingerprint (docs/reliability.md): its inputs' names, the options that shape the
 * result, and the result itself (means, co-moments, reservoir rows): a new pass over changed
 * data changes it, a pass repeated over the same data keeps it. comoment: D x D. */
static void fingerprint(const cvg_stats *s, const double *comoment, char hex[17])
{
    const int64_t D = s->dim;
    cvg__fingerprint f;
    cvg__fp_init(&f);
    cvg__fp_add_str(&f, "convergent stats layer 1");
    cvg__fp_add_str(&f, s->layer);
    const uint64_t shape[] = {(uint64_t)s->nets, (uint64_t)s->units, (uint64_t)s->height, (uint64_t)s->width,
                              (uint64_t)s->layout, (uint64_t)s->images, (uint64_t)cvg_moments_count(s->moments),
                              (uint64_t)s->rows_seen, (uint64_t)s->row_offset, (uint64_t)s->skipped,
                              (uint64_t)s->samples.capacity, (uint64_t)s->samples.size, s->samples.seed};
    for (size_t i = 0; i < sizeof shape / sizeof *shape; i++) cvg__fp_add_u64(&f, shape[i]);
    for (int k = 0; s->units == 0 && k < s->nets; k++) /* widths differ (equal: as before) */
        cvg__fp_add_u64(&f, (uint64_t)stats_width(s, k));
    cvg__fp_add_str(&f, s->image_dir);
    cvg__fp_add_str(&f, s->image_split);
    for (int i = 0; i < s->source_count; i++) cvg__fp_add_str(&f, s->sources[i]);
    if (s->conv_samples != CVG_CONV_POSITIONS) /* absent for the paper's: fingerprints unchanged */
        cvg__fp_add_str(&f, cvg_conv_samples_name(s->conv_samples));
    cvg__fp_add(&f, cvg_moments_mean(s->moments), (size_t)D * sizeof(double));
    cvg__fp_add(&f, comoment, (size_t)(D * D) * sizeof(double));
    cvg__fp_add(&f, s->samples.data, (size_t)(s->samples.size * D) * sizeof(float));
    cvg__fp_add(&f, s->samples.rows, (size_t)s->samples.size * sizeof(int64_t));
    cvg__fp_hex(&f, hex);
}

static cJSON *build_meta(const cvg_stats *s, const unsigned char *dead, double within, double between,
                         const char *fp)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "fingerprint", fp);
    cJSON_AddStringToObject(m, "tool", "convergent");
    cJSON_AddStringToObject(m, "version", cvg_version());
    cJSON_AddStringToObject(m, "layer", s->layer);
    cJSON_AddNumberToObject(m, "nets", s->nets);
    if (s->units) {
        cJSON_AddNumberToObject(m, "units_per_net", (double)s->units);
    } else { /* networks of different widths: one count per net */
        cJSON *w = cJSON_AddArrayToObject(m, "units_per_net");
        for (int k = 0; k < s->nets; k++) cJSON_AddItemToArray(w, cJSON_CreateNumber((double)stats_width(s, k)));
    }
    /* a conv layer made one sample per image (mean, flatten) is still a conv layer; "spatial"
     * gives the positions per sample: none then */
    cJSON_AddStringToObject(m, "kind", s->height || s->conv_samples != CVG_CONV_POSITIONS ? "conv" : "fc");
    cJSON *spatial = cJSON_AddArrayToObject(m, "spatial");
    cJSON_AddItemToArray(spatial, cJSON_CreateNumber((double)s->height));
    cJSON_AddItemToArray(spatial, cJSON_CreateNumber((double)s->width));
    cJSON_AddStringToObject(m, "layout", s->layout == CVG_LAYOUT_NHWC ? "nhwc" : "nchw");
    if (s->height || s->conv_samples != CVG_CONV_POSITIONS) /* a conv layer's samples */
        cJSON_AddStringToObject(m, "conv_samples", cvg_conv_samples_name(s->conv_samples));
    cJSON_AddNumberToObject(m, "inputs", (double)s->images);
    cJSON_AddNumberToObject(m, "samples", (double)cvg_moments_count(s->moments));
    cJSON_AddNumberToObject(m, "rows_seen", (double)s->rows_seen);
    cJSON_AddNumberToObject(m, "row_offset", (double)s->row_offset);
    cJSON_AddNumberToObject(m, "skipped_nonfinite_rows", (double)s->skipped);
    cJSON *dead_counts = cJSON_AddArrayToObject(m, "dead_units");
    cJSON *dead_lists = cJSON_AddArrayToObject(m, "dead_unit_indices");
    for (int k = 0; k < s->nets; k++) {
        cJSON *list = cJSON_CreateArray();
        int count = 0;
        for (int64_t i = 0; i < stats_width(s, k); i++)
            if (dead[s->offset[k] + i]) {
                cJSON_AddItemToArray(list, cJSON_CreateNumber((double)i));
                count++;
            }
        cJSON_AddItemToArray(dead_counts, cJSON_CreateNumber(count));
        cJSON_AddItemToArray(dead_lists, list);
    }
    cJSON_AddNumberToObject(m, "mean_abs_corr_within", within);
    cJSON_AddNumberToObject(m, "mean_abs_corr_between", between);
    cJSON *res = cJSON_AddObjectToObject(m, "reservoir");
    cJSON_AddNumberToObject(res, "capacity", (double)s->samples.capacity);
    cJSON_AddNumberToObject(res, "rows", (double)s->samples.size);
    cJSON_AddNumberToObject(res, "seed", (double)s->samples.seed);
    cJSON_AddStringToObject(m, "kernel", kernel_name(s->kernel));
    if (s->image_dir) {
        cJSON *img = cJSON_AddObjectToObject(m, "images");
        cJSON_AddStringToObject(img, "dir", s->image_dir);
        cJSON_AddStringToObject(img, "split", s->image_split);
    }
    if (s->top) cJSON_AddNumberToObject(m, "top_k", CVG_TOP_K);
    if (s->position >= 0) { /* known from the network (taps): the clustering's default k uses it */
        cJSON_AddNumberToObject(m, "layer_index", s->position);
        cJSON_AddBoolToObject(m, "first_layer", s->position == 0);
    }
    cJSON_AddBoolToObject(m, "hsic_sums", s->has_hsic);
    cJSON *src = cJSON_AddArrayToObject(m, "sources");
    for (int i = 0; i < s->source_count; i++) cJSON_AddItemToArray(src, cJSON_CreateString(s->sources[i]));
    return m;
}

static cvg_status save_array(const char *dir, const char *name, cvg_dtype t, int ndim,
                             const int64_t *shape, const void *data)
{
    char *path = cvg__path_join(dir, name);
    if (!path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    cvg_status st = cvg_npy_save(path, t, ndim, shape, data);
    free(path);
    return st;
}

/* top9.npy (D, K, 7) int64: image, y, x, box y0, x0, y1, x1 (-1 where a unit has fewer than K
 * entries); top9_value.npy (D, K) float64. */
static cvg_status save_top(const cvg_stats *s, const char *dir)
{
    const int64_t D = s->dim;
    int64_t *where = malloc((size_t)(D * CVG_TOP_K * 7) * sizeof *where);
    double *value = calloc((size_t)(D * CVG_TOP_K), sizeof *value);
    if (!where || !value) {
        free(where), free(value);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    for (int64_t u = 0; u < D; u++)
        for (int e = 0; e < CVG_TOP_K; e++) {
            int64_t *w = where + (u * CVG_TOP_K + e) * 7;
            if (e >= s->top[u].count) {
                for (int j = 0; j < 7; j++) w[j] = -1;
                continue;
            }
            const top_entry *t = &s->top[u].entry[e];
            const int64_t row[7] = {t->image, t->y, t->x, t->box[0], t->box[1], t->box[2], t->box[3]};
            memcpy(w, row, sizeof row);
            value[u * CVG_TOP_K + e] = t->value;
        }
    const int64_t shape3[3] = {D, CVG_TOP_K, 7}, shape2[2] = {D, CVG_TOP_K};
    cvg_status st = save_array(dir, "top9.npy", CVG_I64, 3, shape3, where);
    if (st == CVG_OK) st = save_array(dir, "top9_value.npy", CVG_F64, 2, shape2, value);
    free(where), free(value);
    return st;
}

cvg_status cvg_stats_save(const cvg_stats *s, const char *out_dir)
{
    if (!s || !out_dir) return cvg__fail(CVG_ERR_ARG, "cvg_stats_save: NULL argument");
    cvg_status range = stats_check_range(s); /* no inf, NaN or underflow written (stats_range.h) */
    if (range != CVG_OK) return range;
    char *dir = cvg__path_join(out_dir, s->layer);
    if (!dir) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    const int64_t D = s->dim;
    double *M = malloc((size_t)(D * D) * sizeof *M);
    double *corr = malloc((size_t)(D * D) * sizeof *corr);
    double *std = malloc((size_t)D * sizeof *std);
    unsigned char *dead = malloc((size_t)D);
    char *meta_path = NULL;
    cvg_status st = CVG_OK;
    if (!M || !corr || !std || !dead) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory writing layer '%s'", s->layer);
        goto done;
    }
    if ((st = cvg_mkdirs(dir)) != CVG_OK) goto done;
    stats_sort_samples(s);
    cvg_moments_comoment(s->moments, M);
    st = cvg_correlation_from_comoment(D, cvg_moments_count(s->moments), M, std, corr, dead);
    /* (K, S) when every net has S units; (D,) net-major when the widths differ */
    const int64_t net_units[2] = {s->nets, s->units}, flat[1] = {D}, square[2] = {D, D};
    const int per_net_ndim = s->units ? 2 : 1;
    const int64_t *per_net_shape = s->units ? net_units : flat;
    const int64_t samples_shape[2] = {s->samples.size, D}, rows_shape[1] = {s->samples.size};
    if (st == CVG_OK) st = save_array(dir, "mean.npy", CVG_F64, per_net_ndim, per_net_shape, cvg_moments_mean(s->moments));
    if (st == CVG_OK) st = save_array(dir, "std.npy", CVG_F64, per_net_ndim, per_net_shape, std);
    if (st == CVG_OK) st = save_array(dir, "comoment.npy", CVG_F64, 2, square, M);
    if (st == CVG_OK) st = save_array(dir, "corr.npy", CVG_F64, 2, square, corr);
    if (st == CVG_OK) st = save_array(dir, "samples.npy", CVG_F32, 2, samples_shape, s->samples.data);
    if (st == CVG_OK) st = save_array(dir, "samples_rows.npy", CVG_I64, 1, rows_shape, s->samples.rows);
    if (st == CVG_OK && s->top) st = save_top(s, dir);
    if (st == CVG_OK && s->has_hsic) {
        const int64_t q_shape[2] = {s->nets, s->nets}, g_shape[2] = {s->nets, D};
        st = save_array(dir, "sqnorm_q.npy", CVG_F64, 2, q_shape, s->hsic.Q);
        if (st == CVG_OK) st = save_array(dir, "sqnorm_g.npy", CVG_F64, 2, g_shape, s->hsic.G);
    }
    if (st != CVG_OK) goto done;
    double within, between;
    cvg_stats_mean_abs_corr(s, corr, dead, &within, &between);
    meta_path = cvg__path_join(dir, "meta.json");
    if (!meta_path) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory writing meta.json");
        goto done;
    }
    char fp[17];
    fingerprint(s, M, fp);
    st = cvg__json_write(meta_path, build_meta(s, dead, within, between, fp), "meta.json");
done:
    free(meta_path);
    free(M);
    free(corr);
    free(std);
    free(dead);
    free(dir);
    return st;
}

/* ---- loading */

static cvg_status load_array(const char *dir, const char *name, int want_ndim,
                             const int64_t *want_shape, double **data)
{
    char *path = cvg__path_join(dir, name);
    if (!path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    int ndim;
    int64_t shape[CVG_NPY_MAX_DIMS];
    cvg_status st = cvg_npy_load(path, &ndim, shape, data);
    if (st == CVG_OK) {
        int ok = ndim == want_ndim;
        int64_t count = 1;
        for (int i = 0; ok && i < ndim; i++) {
            ok = want_shape[i] < 0 || shape[i] == want_shape[i];
            count *= shape[i];
        }
        if (!ok) {
            st = cvg__fail(CVG_ERR_SHAPE, "%s: shape does not match the directory's manifest", path);
        } else {
            for (int64_t i = 0; i < count; i++)
                if (!isfinite((*data)[i])) {
                    st = cvg__fail(CVG_ERR_NONFINITE, "%s: non-finite value at flat index %lld",
                                   path, (long long)i);
                    break;
                }
        }
        if (st != CVG_OK) {
            free(*data);
            *data = NULL;
        }
    }
    free(path);
    return st;
}

cvg_status stats_load_array(const char *dir, const char *name, int want_ndim,
                            const int64_t *want_shape, double **data)
{
    return load_array(dir, name, want_ndim, want_shape, data);
}

static cvg_status load_top(cvg_stats *s, const char *dir)
{
    const int64_t D = s->dim;
    const int64_t shape3[3] = {D, CVG_TOP_K, 7}, shape2[2] = {D, CVG_TOP_K};
    double *where = NULL, *value = NULL;
    cvg_status st = load_array(dir, "top9.npy", 3, shape3, &where);
    if (st == CVG_OK) st = load_array(dir, "top9_value.npy", 2, shape2, &value);
    if (st == CVG_OK) st = stats_enable_top(s);
    for (int64_t u = 0; st == CVG_OK && u < D; u++)
        for (int e = 0; e < CVG_TOP_K; e++) {
            const double *w = where + (u * CVG_TOP_K + e) * 7;
            if (w[0] < 0) continue;
            const int box[4] = {(int)w[3], (int)w[4], (int)w[5], (int)w[6]};
            top_offer(&s->top[u], (float)value[u * CVG_TOP_K + e], (int64_t)w[0], (int)w[1], (int)w[2], box);
        }
    free(where), free(value);
    return st;
}

static int64_t json_int(const cJSON *obj, const char *key, int64_t fallback, int *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v)) {
        if (fallback < 0) *ok = 0;
        return fallback;
    }
    return (int64_t)v->valuedouble;
}

/* meta.json's "units_per_net": a count (every net that wide) or one count per net (widths
 * differ). *widths: nets counts, malloc'd; an error naming path when malformed. */
static cvg_status meta_widths(const cJSON *meta, const char *path, int64_t *nets, int64_t **widths)
{
    *widths = NULL;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(meta, "nets");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(meta, "units_per_net");
    *nets = cJSON_IsNumber(n) ? (int64_t)n->valuedouble : -1;
    int ok = *nets >= 1 && *nets <= 1 << 16 && (cJSON_IsNumber(u) || (cJSON_IsArray(u) && cJSON_GetArraySize(u) == *nets));
    if (ok && !(*widths = malloc((size_t)*nets * sizeof **widths))) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    for (int64_t k = 0; ok && k < *nets; k++) {
        const cJSON *w = cJSON_IsNumber(u) ? u : cJSON_GetArrayItem(u, (int)k);
        ok = cJSON_IsNumber(w) && w->valuedouble >= 1 && w->valuedouble <= 1 << 30;
        if (ok) (*widths)[k] = (int64_t)w->valuedouble;
    }
    if (ok) return CVG_OK;
    free(*widths);
    *widths = NULL;
    return cvg__fail(CVG_ERR_FORMAT, "%s: not a convergent stats meta.json (missing or invalid nets "
                     "or units_per_net: a count, or one count per net)", path);
}

cvg_status cvg_stats_load_widths(const char *layer_dir, int *nets, int64_t **units)
{
    if (!layer_dir || !nets || !units) return cvg__fail(CVG_ERR_ARG, "cvg_stats_load_widths: NULL argument");
    *units = NULL;
    char *meta_path = cvg__path_join(layer_dir, "meta.json");
    if (!meta_path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    cJSON *meta = NULL;
    int64_t K = 0;
    cvg_status st = cvg__json_read(meta_path, &meta);
    if (st == CVG_OK) st = meta_widths(meta, meta_path, &K, units);
    if (st == CVG_OK) *nets = (int)K;
    cJSON_Delete(meta);
    free(meta_path);
    return st;
}

cvg_status cvg_stats_load(const char *layer_dir, cvg_stats **out)
{
    if (!layer_dir || !out) return cvg__fail(CVG_ERR_ARG, "cvg_stats_load: NULL argument");
    *out = NULL;
    char *meta_path = cvg__path_join(layer_dir, "meta.json");
    cJSON *meta = NULL;
    cvg_stats *s = NULL;
    double *mean = NULL, *M = NULL, *samples = NULL, *rows = NULL, *hq = NULL, *hg = NULL;
    cvg_status st;
    if (!meta_path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if ((st = cvg__json_read(meta_path, &meta)) != CVG_OK) goto done;
    const cJSON *layer = cJSON_GetObjectItemCaseSensitive(meta, "layer");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(meta, "reservoir");
    int ok = meta && cJSON_IsString(layer);
    int64_t nets = 0, *widths = NULL;
    if ((st = meta_widths(meta, meta_path, &nets, &widths)) != CVG_OK) goto done;
    int64_t count = json_int(meta, "samples", -1, &ok);
    int64_t capacity = json_int(res, "capacity", -1, &ok), res_rows = json_int(res, "rows", -1, &ok);
    int64_t seed = json_int(res, "seed", -1, &ok);
    if (!ok || count < 0 || res_rows < 0 || res_rows > capacity) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: not a convergent stats meta.json (missing or invalid "
                       "layer, nets, units_per_net, samples or reservoir)", meta_path);
        goto done;
    }
    const cJSON *kernel = cJSON_GetObjectItemCaseSensitive(meta, "kernel");
    st = stats_create(layer->valuestring, (int)nets, widths, capacity, (uint64_t)seed,
                      kernel_from_name(cJSON_IsString(kernel) ? kernel->valuestring : NULL), &s);
    if (st != CVG_OK) goto done;
    const cJSON *spatial = cJSON_GetObjectItemCaseSensitive(meta, "spatial");
    if (cJSON_GetArraySize(spatial) == 2) {
        s->height = (int64_t)cJSON_GetArrayItem(spatial, 0)->valuedouble;
        s->width = (int64_t)cJSON_GetArrayItem(spatial, 1)->valuedouble;
    }
    const cJSON *layout = cJSON_GetObjectItemCaseSensitive(meta, "layout");
    s->layout = cJSON_IsString(layout) && strcmp(layout->valuestring, "nhwc") == 0 ? CVG_LAYOUT_NHWC
                                                                                   : CVG_LAYOUT_NCHW;
    const cJSON *conv = cJSON_GetObjectItemCaseSensitive(meta, "conv_samples");
    if (conv && (!cJSON_IsString(conv) || cvg_conv_samples_parse(conv->valuestring, &s->conv_samples) != CVG_OK)) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: \"conv_samples\" is not one of \"positions\", \"mean\", "
                       "\"flatten\"", meta_path);
        goto done;
    }
    ok = 1;
    s->images = json_int(meta, "inputs", 0, &ok);
    s->rows_seen = json_int(meta, "rows_seen", 0, &ok);
    s->row_offset = json_int(meta, "row_offset", 0, &ok);
    s->skipped = json_int(meta, "skipped_nonfinite_rows", 0, &ok);
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(meta, "images");
    const char *img_dir = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(images, "dir"));
    const char *img_split = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(images, "split"));
    if (img_dir && img_split && (st = cvg_stats_set_images(s, img_dir, img_split)) != CVG_OK) goto done;
    const cJSON *position = cJSON_GetObjectItemCaseSensitive(meta, "layer_index");
    if (cJSON_IsNumber(position) && position->valuedouble >= 0 && position->valuedouble < 1e6)
        s->position = (int)position->valuedouble;
    const cJSON *src;
    cJSON_ArrayForEach(src, cJSON_GetObjectItemCaseSensitive(meta, "sources"))
        if (cJSON_IsString(src) && (st = cvg_stats_add_source(s, src->valuestring)) != CVG_OK) goto done;

    const int64_t D = s->dim;
    const int64_t mean_shape[2] = {nets, s->units}, flat[1] = {D}, square[2] = {D, D};
    const int64_t samples_shape[2] = {res_rows, D}, rows_shape[1] = {res_rows};
    if ((st = load_array(layer_dir, "mean.npy", s->units ? 2 : 1, s->units ? mean_shape : flat, &mean)) != CVG_OK)
        goto done;
    if ((st = load_array(layer_dir, "comoment.npy", 2, square, &M)) != CVG_OK) goto done;
    if ((st = cvg_moments_set(s->moments, count, mean, M)) != CVG_OK) goto done;
    s->has_hsic = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "hsic_sums"));
    if (s->has_hsic) {
        const int64_t q_shape[2] = {nets, nets}, g_shape[2] = {nets, D};
        if ((st = load_array(layer_dir, "sqnorm_q.npy", 2, q_shape, &hq)) != CVG_OK) goto done;
        if ((st = load_array(layer_dir, "sqnorm_g.npy", 2, g_shape, &hg)) != CVG_OK) goto done;
        memcpy(s->hsic.Q, hq, (size_t)(nets * nets) * sizeof *hq);
        memcpy(s->hsic.G, hg, (size_t)(nets * D) * sizeof *hg);
    }
    if (capacity > 0) {
        if ((st = load_array(layer_dir, "samples.npy", 2, samples_shape, &samples)) != CVG_OK) goto done;
        if ((st = load_array(layer_dir, "samples_rows.npy", 1, rows_shape, &rows)) != CVG_OK) goto done;
        float *row_values = malloc((size_t)D * sizeof *row_values);
        if (!row_values) {
            st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int64_t r = 0; r < res_rows; r++) {
            for (int64_t j = 0; j < D; j++) row_values[j] = (float)samples[r * D + j];
            reservoir_offer_f32(&s->samples, (int64_t)rows[r], row_values);
        }
        free(row_values);
    }
    if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(meta, "top_k")) && (st = load_top(s, layer_dir)) != CVG_OK)
        goto done;
done:
    if (st != CVG_OK && st != CVG_ERR_NOMEM) cvg__error_context("loading statistics from %s", layer_dir);
    cJSON_Delete(meta);
    free(meta_path);
    free(widths);
    free(mean);
    free(M);
    free(samples);
    free(rows);
    free(hq);
    free(hg);
    if (st != CVG_OK) {
        cvg_stats_free(s);
        return st;
    }
    *out = s;
    return CVG_OK;
}

cvg_status cvg_stats_load_matrix(const char *layer_dir, const char *name, int *nets,
                                 int64_t *units, double **matrix)
{
    if (!layer_dir || !name || !nets || !units || !matrix)
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_load_matrix: NULL argument");
    *matrix = NULL;
    char *meta_path = cvg__path_join(layer_dir, "meta.json");
    if (!meta_path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    cJSON *meta;
    int64_t K = 0, *widths = NULL, D = 0, S = 0;
    cvg_status st = cvg__json_read(meta_path, &meta);
    if (st == CVG_OK) st = meta_widths(meta, meta_path, &K, &widths);
    for (int64_t k = 0; st == CVG_OK && k < K; k++) D += widths[k];
    if (st == CVG_OK) S = widths[0];
    for (int64_t k = 1; st == CVG_OK && k < K; k++)
        if (widths[k] != widths[0]) S = 0; /* the widths differ */
    if (st == CVG_OK) {
        char file[256];
        snprintf(file, sizeof file, "%s.npy", name);
        const int64_t square[2] = {D, D};
        st = load_array(layer_dir, file, 2, square, matrix);
    }
    if (st == CVG_OK) {
        *nets = (int)K;
        *units = S;
    }
    free(widths);
    cJSON_Delete(meta);
    free(meta_path);
    return st;
}

cvg_status cvg_stats_fingerprint(const char *layer_dir, char fingerprint[17])
{
    if (!layer_dir || !fingerprint) return cvg__fail(CVG_ERR_ARG, "cvg_stats_fingerprint: NULL argument");
    fingerprint[0] = '\0';
    char *path = cvg__path_join(layer_dir, "meta.json");
    if (!path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (access(path, F_OK) != 0) { /* a cross-layer directory: its cross.json */
        free(path);
        if (!(path = cvg__path_join(layer_dir, "cross.json"))) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    cJSON *meta;
    cvg_status st = cvg__json_read(path, &meta);
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(meta, "fingerprint");
    if (st == CVG_OK && !meta) st = cvg__fail(CVG_ERR_FORMAT, "%s: not JSON", path);
    else if (st == CVG_OK && fp && (!cJSON_IsString(fp) || strlen(fp->valuestring) != 16))
        st = cvg__fail(CVG_ERR_FORMAT, "%s: \"fingerprint\" is not 16 hex digits", path);
    else if (st == CVG_OK && fp) memcpy(fingerprint, fp->valuestring, 17);
    cJSON_Delete(meta);
    free(path);
    return st;
}
