/* Loading what the similarity measures need from a stats directory: the count, the co-moment
 * matrix and the HSIC sums, as blocks of units (one per network, or per network and layer). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/internal.h"

static cvg_status load_checked(const char *dir, const char *name, int64_t rows, int64_t cols,
                               double **data)
{
    char *path = cvg__path_join(dir, name);
    if (!path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    int ndim;
    int64_t shape[CVG_NPY_MAX_DIMS];
    cvg_status st = cvg_npy_load(path, &ndim, shape, data);
    if (st == CVG_OK && (ndim != 2 || shape[0] != rows || shape[1] != cols))
        st = cvg__fail(CVG_ERR_SHAPE, "%s: expected shape (%lld, %lld) from the directory's "
                       "manifest", path, (long long)rows, (long long)cols);
    for (int64_t i = 0; st == CVG_OK && i < rows * cols; i++)
        if (!isfinite((*data)[i]))
            st = cvg__fail(CVG_ERR_NONFINITE, "%s: non-finite value at flat index %lld", path,
                           (long long)i);
    if (st != CVG_OK && *data) {
        free(*data);
        *data = NULL;
    }
    free(path);
    return st;
}

void cvg_blocks_free(cvg_blocks *b)
{
    if (!b) return;
    for (int i = 0; b->layer && i < b->count; i++) free(b->layer[i]);
    free(b->layer);
    free(b->offset);
    free(b->net);
    free(b->comoment);
    free(b->sqnorm);
    memset(b, 0, sizeof *b);
}

static int64_t number(const cJSON *obj, const char *key, int *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0) {
        *ok = 0;
        return 0;
    }
    return (int64_t)v->valuedouble;
}

static cvg_status alloc_blocks(cvg_blocks *b, int count)
{
    b->count = count;
    b->offset = calloc((size_t)count + 1, sizeof *b->offset);
    b->net = calloc((size_t)count, sizeof *b->net);
    b->layer = calloc((size_t)count, sizeof *b->layer);
    if (!b->offset || !b->net || !b->layer) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    return CVG_OK;
}

/* A layer directory: meta.json with nets, units_per_net, samples, layer. */
static cvg_status from_meta(const char *dir, const char *path, const cJSON *meta, cvg_blocks *b)
{
    int ok = 1;
    const int64_t K = number(meta, "nets", &ok);
    b->samples = number(meta, "samples", &ok);
    const cJSON *layer = cJSON_GetObjectItemCaseSensitive(meta, "layer");
    /* units_per_net: one count, or one per net when the widths differ */
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(meta, "units_per_net");
    if (!cJSON_IsNumber(units) && !(cJSON_IsArray(units) && cJSON_GetArraySize(units) == K)) ok = 0;
    for (int k = 0; ok && k < K; k++) {
        const cJSON *w = cJSON_IsNumber(units) ? units : cJSON_GetArrayItem(units, k);
        ok = cJSON_IsNumber(w) && w->valuedouble >= 1 && w->valuedouble <= 1 << 30;
    }
    if (!ok || !cJSON_IsString(layer) || K < 1 || K > 1 << 16)
        return cvg__fail(CVG_ERR_FORMAT, "%s: not a convergent stats meta.json (missing or invalid "
                         "layer, nets, units_per_net or samples)", path);
    cvg_status st = alloc_blocks(b, (int)K);
    if (st != CVG_OK) return st;
    b->nets = (int)K;
    b->layers = 1;
    for (int k = 0; k < K; k++) {
        const cJSON *w = cJSON_IsNumber(units) ? units : cJSON_GetArrayItem(units, k);
        b->offset[k + 1] = b->offset[k] + (int64_t)w->valuedouble;
        b->net[k] = k;
        if (!(b->layer[k] = strdup(layer->valuestring))) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    const cJSON *conv = cJSON_GetObjectItemCaseSensitive(meta, "conv_samples");
    cvg_conv_samples mode;
    if (conv && (!cJSON_IsString(conv) || cvg_conv_samples_parse(conv->valuestring, &mode) != CVG_OK))
        return cvg__fail(CVG_ERR_FORMAT, "%s: \"conv_samples\" is not one of \"positions\", \"mean\", "
                         "\"flatten\"", path);
    if (conv) snprintf(b->conv_samples, sizeof b->conv_samples, "%s", cvg_conv_samples_name(mode));
    (void)dir;
    return CVG_OK;
}

/* A cross-layer directory: cross.json with nets, samples and layers [{name, units}, ...]. */
static cvg_status from_cross(const char *path, const cJSON *meta, cvg_blocks *b)
{
    int ok = 1;
    const int64_t K = number(meta, "nets", &ok);
    b->samples = number(meta, "samples", &ok);
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(meta, "layers");
    const int L = cJSON_GetArraySize(layers);
    if (!ok || !cJSON_IsArray(layers) || L < 1 || K < 1 || K * L > 1 << 20)
        return cvg__fail(CVG_ERR_FORMAT, "%s: not a convergent cross-layer manifest (missing or "
                         "invalid nets, samples or layers)", path);
    cvg_status st = alloc_blocks(b, (int)(K * L));
    if (st != CVG_OK) return st;
    b->nets = (int)K;
    b->layers = L;
    b->cross = 1;
    snprintf(b->conv_samples, sizeof b->conv_samples, "%s", "mean"); /* conv layers: one sample per input */
    for (int k = 0, i = 0; k < K; k++)
        for (int l = 0; l < L; l++, i++) {
            const cJSON *e = cJSON_GetArrayItem(layers, l);
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
            const int64_t units = number(e, "units", &ok);
            if (!ok || units < 1 || !cJSON_IsString(name))
                return cvg__fail(CVG_ERR_FORMAT, "%s: layer %d has no valid name or units", path, l);
            b->offset[i + 1] = b->offset[i] + units;
            b->net[i] = k;
            if (!(b->layer[i] = strdup(name->valuestring))) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
        }
    return CVG_OK;
}

/* cvg_blocks_load, or with comoment non-NULL (cvg_blocks_open) a layer directory's
 * comoment.npy opened for its blocks instead of read whole (out->comoment left NULL). */
static cvg_status blocks_load(const char *dir, cvg_blocks *out, cvg_stats_matrix **comoment)
{
    memset(out, 0, sizeof *out);
    if (comoment) *comoment = NULL;
    char *cross_path = cvg__path_join(dir, "cross.json"), *meta_path = cvg__path_join(dir, "meta.json");
    char *text = NULL;
    cJSON *meta = NULL;
    cvg_status st = CVG_OK;
    if (!cross_path || !meta_path) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        goto done;
    }
    FILE *probe = fopen(cross_path, "rb");
    const int cross = probe != NULL;
    if (probe) fclose(probe);
    const char *path = cross ? cross_path : meta_path;
    if ((st = cvg_read_file(path, &text, NULL)) != CVG_OK) {
        cvg__error_context("%s is not a stats layer directory (no meta.json) nor a cross-layer "
                           "directory (no cross.json)", dir);
        goto done;
    }
    if (!(meta = cJSON_Parse(text))) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: not valid JSON", path);
        goto done;
    }
    st = cross ? from_cross(path, meta, out) : from_meta(dir, path, meta, out);
    if (st != CVG_OK) goto done;
    out->dim = out->offset[out->count];
    if (out->dim > 200000) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: %lld units in all is more than this tool handles",
                       path, (long long)out->dim);
        goto done;
    }
    double *diagonal = NULL;
    if (comoment && !cross) {
        if ((st = cvg_stats_matrix_open(dir, "comoment", 0, comoment)) != CVG_OK) goto done;
        if (!(diagonal = malloc((size_t)out->dim * sizeof *diagonal))) {
            st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
            goto done;
        }
        st = cvg_stats_matrix_diagonal(*comoment, diagonal);
    } else {
        st = load_checked(dir, "comoment.npy", out->dim, out->dim, &out->comoment);
    }
    for (int64_t i = 0; st == CVG_OK && i < out->dim; i++)
        if ((diagonal ? diagonal[i] : out->comoment[i * out->dim + i]) < 0) {
            st = cvg__fail(CVG_ERR_FORMAT, "%s/comoment.npy: negative diagonal at unit %lld "
                           "(not a co-moment matrix)", dir, (long long)i);
        }
    free(diagonal);
    if (st != CVG_OK) goto done;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "hsic_sums")))
        st = load_checked(dir, "sqnorm_q.npy", out->count, out->count, &out->sqnorm);
done:
    free(cross_path);
    free(meta_path);
    free(text);
    cJSON_Delete(meta);
    if (st != CVG_OK) {
        cvg_blocks_free(out);
        if (comoment) cvg_stats_matrix_free(*comoment), *comoment = NULL;
    }
    return st;
}

cvg_status cvg_blocks_load(const char *dir, cvg_blocks *out)
{
    if (!dir || !out) return cvg__fail(CVG_ERR_ARG, "cvg_blocks_load: NULL argument");
    return blocks_load(dir, out, NULL);
}

cvg_status cvg_blocks_open(const char *dir, cvg_blocks *out, cvg_stats_matrix **comoment)
{
    if (!dir || !out || !comoment) return cvg__fail(CVG_ERR_ARG, "cvg_blocks_open: NULL argument");
    return blocks_load(dir, out, comoment);
}

cvg_status cvg_blocks_pair(const cvg_blocks *b, cvg_stats_matrix *comoment, int i, int j, cvg_blocks *out)
{
    if (!b || !out) return cvg__fail(CVG_ERR_ARG, "cvg_blocks_pair: NULL argument");
    memset(out, 0, sizeof *out);
    if (i < 0 || j < 0 || i >= b->count || j >= b->count || (!b->comoment && (!comoment || b->cross)))
        return cvg__fail(CVG_ERR_ARG, "cvg_blocks_pair: block index out of range, or no co-moments");
    const int pick[2] = {i, j}, n = i == j ? 1 : 2;
    cvg_status st = alloc_blocks(out, n);
    if (st != CVG_OK) return st;
    out->nets = b->nets, out->layers = b->layers, out->samples = b->samples, out->cross = b->cross;
    memcpy(out->conv_samples, b->conv_samples, sizeof out->conv_samples);
    for (int k = 0; k < n; k++) {
        out->offset[k + 1] = out->offset[k] + b->offset[pick[k] + 1] - b->offset[pick[k]];
        out->net[k] = b->net[pick[k]];
        if (!(out->layer[k] = strdup(b->layer[pick[k]]))) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    const int64_t dim = out->dim = out->offset[n];
    if (st == CVG_OK && !(out->comoment = malloc((size_t)(dim * dim) * sizeof *out->comoment)))
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st == CVG_OK && b->comoment) { /* in memory: copy the blocks */
        for (int r = 0, row = 0; r < n; row += (int)(b->offset[pick[r] + 1] - b->offset[pick[r]]), r++)
            for (int64_t u = 0; u < b->offset[pick[r] + 1] - b->offset[pick[r]]; u++)
                for (int c = 0; c < n; c++)
                    memcpy(out->comoment + (row + u) * dim + out->offset[c],
                           b->comoment + (b->offset[pick[r]] + u) * b->dim + b->offset[pick[c]],
                           (size_t)(out->offset[c + 1] - out->offset[c]) * sizeof *out->comoment);
    } else if (st == CVG_OK) { /* a layer directory: block k is net k */
        st = cvg_stats_matrix_block(comoment, pick, n, pick, n, out->comoment);
    }
    if (st == CVG_OK && b->sqnorm) {
        if (!(out->sqnorm = malloc((size_t)(n * n) * sizeof *out->sqnorm))) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        for (int r = 0; st == CVG_OK && r < n; r++)
            for (int c = 0; c < n; c++) out->sqnorm[r * n + c] = b->sqnorm[pick[r] * b->count + pick[c]];
    }
    if (st != CVG_OK) cvg_blocks_free(out);
    return st;
}

cvg_status cvg_blocks_similarity(const cvg_blocks *b, int i, int j,
                                 const cvg_similarity_options *opt, cvg_similarity *out)
{
    if (!b || !out || i < 0 || j < 0 || i >= b->count || j >= b->count)
        return cvg__fail(CVG_ERR_ARG, "cvg_blocks_similarity: block index out of range");
    double q[3];
    if (b->sqnorm) {
        q[0] = b->sqnorm[i * b->count + i];
        q[1] = b->sqnorm[i * b->count + j];
        q[2] = b->sqnorm[j * b->count + j];
    }
    return cvg_similarity_compute(b->comoment, b->dim, b->samples, b->offset[i],
                                  b->offset[i + 1] - b->offset[i], b->offset[j],
                                  b->offset[j + 1] - b->offset[j], b->sqnorm ? q : NULL, opt, out);
}
