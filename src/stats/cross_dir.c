/* Cross-layer directories read back (cvg_cross_load) and merged (cvg_cross_merge): statistics
 * computed on shards of the inputs combine into those of one pass over all of them. The
 * moments merge by the pairwise update (cvg_moments_merge), the HSIC sums by sqnorm_merge, which
 * moves both sides' sums to the merged mean first. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/internal.h"
#include "stats/cross_internal.h"
#include "stats/stats_internal.h"

/* A non-negative integer field, or fallback when absent (fallback < 0: required). */
static int64_t field(const cJSON *obj, const char *key, int64_t fallback, int *ok)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v && fallback >= 0) return fallback;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15) {
        *ok = 0;
        return 0;
    }
    return (int64_t)v->valuedouble;
}

/* The shape part of cross.json: nets, layers (name, units, positions_averaged). */
static cvg_status read_layout(const char *path, const cJSON *j, cvg_cross *c)
{
    int ok = 1;
    const int64_t K = field(j, "nets", -1, &ok);
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(j, "layers");
    const int L = cJSON_GetArraySize(layers);
    if (!ok || !cJSON_IsArray(layers) || L < 1 || K < 1 || K * L > 1 << 20)
        return cvg__fail(CVG_ERR_FORMAT, "%s: not a convergent cross-layer manifest (missing or "
                         "invalid nets or layers)", path);
    c->nets = (int)K;
    c->layers = L;
    const int F = c->nets * L;
    c->names = calloc((size_t)L, sizeof *c->names);
    c->units = calloc((size_t)L, sizeof *c->units);
    c->positions = calloc((size_t)L, sizeof *c->positions);
    c->offset = calloc((size_t)F + 1, sizeof *c->offset);
    if (!c->names || !c->units || !c->positions || !c->offset)
        return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    for (int l = 0; l < L; l++) {
        const cJSON *e = cJSON_GetArrayItem(layers, l);
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name"));
        c->units[l] = field(e, "units", -1, &ok);
        c->positions[l] = field(e, "positions_averaged", 1, &ok);
        if (!ok || !name || !*name || c->units[l] < 1 || c->positions[l] < 1)
            return cvg__fail(CVG_ERR_FORMAT, "%s: layer %d has no valid name, units or "
                             "positions_averaged", path, l + 1);
        if (!(c->names[l] = strdup(name))) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < F; i++) c->offset[i + 1] = c->offset[i] + c->units[i % L];
    if (c->offset[F] > 200000)
        return cvg__fail(CVG_ERR_FORMAT, "%s: %lld units in all is more than this tool handles",
                         path, (long long)c->offset[F]);
    return CVG_OK;
}

static cvg_status read_sources(const cJSON *j, cvg_cross *c)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(j, "sources");
    const int n = cJSON_IsArray(src) ? cJSON_GetArraySize(src) : 0;
    c->sources = calloc((size_t)n + 1, sizeof *c->sources);
    if (!c->sources) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    const cJSON *e;
    cJSON_ArrayForEach(e, src)
        if (cJSON_IsString(e) && !(c->sources[c->source_count++] = strdup(e->valuestring)))
            return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    return CVG_OK;
}

/* mean.npy, comoment.npy and, with the HSIC sums, sqnorm_q.npy and sqnorm_g.npy. */
static cvg_status read_arrays(const char *dir, int64_t count, cvg_cross *c)
{
    const int F = c->nets * c->layers;
    const int64_t D = c->offset[F];
    const int64_t mean_shape[1] = {D}, square[2] = {D, D}, q_shape[2] = {F, F}, g_shape[2] = {F, D};
    double *mean = NULL, *M = NULL, *q = NULL, *g = NULL;
    cvg_status st = cvg_moments_create(D, CVG_KERNEL_AUTO, &c->moments);
    if (st == CVG_OK) st = stats_load_array(dir, "mean.npy", 1, mean_shape, &mean);
    if (st == CVG_OK) st = stats_load_array(dir, "comoment.npy", 2, square, &M);
    if (st == CVG_OK) st = cvg_moments_set(c->moments, count, mean, M);
    if (st == CVG_OK && c->has_hsic) {
        st = sqnorm_init(&c->hsic, F, c->offset);
        if (st == CVG_OK) st = stats_load_array(dir, "sqnorm_q.npy", 2, q_shape, &q);
        if (st == CVG_OK) st = stats_load_array(dir, "sqnorm_g.npy", 2, g_shape, &g);
        if (st == CVG_OK) {
            memcpy(c->hsic.Q, q, (size_t)(F * F) * sizeof *q);
            memcpy(c->hsic.G, g, (size_t)(F * D) * sizeof *g);
        }
    }
    free(mean), free(M), free(q), free(g);
    return st;
}

cvg_status cvg_cross_load(const char *dir, cvg_cross **out)
{
    if (!dir || !out) return cvg__fail(CVG_ERR_ARG, "cvg_cross_load: NULL argument");
    *out = NULL;
    char *path = cvg__path_join(dir, "cross.json");
    cvg_cross *c = cvg__calloc(1, sizeof *c, "cross-layer statistics");
    cJSON *j = NULL;
    cvg_status st = path && c ? CVG_OK : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st == CVG_OK) st = cvg__json_read(path, &j);
    if (st == CVG_OK && !j)
        st = cvg__fail(CVG_ERR_FORMAT, "%s: not valid JSON", path);
    int ok = 1;
    const int64_t count = j ? field(j, "samples", -1, &ok) : 0;
    if (st == CVG_OK && !ok)
        st = cvg__fail(CVG_ERR_FORMAT, "%s: not a convergent cross-layer manifest (missing or "
                       "invalid samples)", path);
    if (st == CVG_OK) st = read_layout(path, j, c);
    if (st == CVG_OK) {
        c->images = field(j, "inputs", 0, &ok);
        c->skipped = field(j, "skipped_nonfinite_inputs", 0, &ok);
        c->has_hsic = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "hsic_sums"));
        if (!ok)
            st = cvg__fail(CVG_ERR_FORMAT, "%s: invalid inputs or skipped_nonfinite_inputs", path);
    }
    if (st == CVG_OK) st = read_sources(j, c);
    if (st == CVG_OK) st = read_arrays(dir, count, c);
    if (st == CVG_OK && !(c->origin = strdup(dir))) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st != CVG_OK && st != CVG_ERR_NOMEM)
        cvg__error_context("loading cross-layer statistics from %s", dir);
    cJSON_Delete(j);
    free(path);
    if (st != CVG_OK) {
        cvg_cross_free(c);
        return st;
    }
    *out = c;
    return CVG_OK;
}

/* How a cross-layer result is named in messages: its directory, or its first source. */
static const char *origin(const cvg_cross *c)
{
    if (c->origin) return c->origin;
    return c->source_count > 0 ? c->sources[0] : "(cross-layer statistics)";
}

/* Both sides must hold the same networks and layers, in the same order. */
static cvg_status same_layout(const cvg_cross *dst, const cvg_cross *src)
{
    if (dst->nets != src->nets || dst->layers != src->layers)
        return cvg__fail(CVG_ERR_SHAPE, "cannot merge cross-layer statistics %s (%d nets x %d "
                         "layers) with %s (%d nets x %d layers)", origin(dst), dst->nets,
                         dst->layers, origin(src), src->nets, src->layers);
    for (int l = 0; l < dst->layers; l++) {
        if (strcmp(dst->names[l], src->names[l]) != 0)
            return cvg__fail(CVG_ERR_SHAPE, "cannot merge cross-layer statistics %s and %s: layer "
                             "%d is '%s' in one and '%s' in the other", origin(dst), origin(src),
                             l + 1, dst->names[l], src->names[l]);
        if (dst->units[l] != src->units[l] || dst->positions[l] != src->positions[l])
            return cvg__fail(CVG_ERR_SHAPE, "cannot merge cross-layer statistics %s and %s: layer "
                             "'%s' has %lld units (%lld positions averaged) in one and %lld units "
                             "(%lld positions) in the other", origin(dst), origin(src),
                             dst->names[l], (long long)dst->units[l], (long long)dst->positions[l],
                             (long long)src->units[l], (long long)src->positions[l]);
    }
    return CVG_OK;
}

cvg_status cvg_cross_merge(cvg_cross *dst, const cvg_cross *src)
{
    if (!dst || !src) return cvg__fail(CVG_ERR_ARG, "cvg_cross_merge: NULL argument");
    cvg_status st = same_layout(dst, src);
    if (st != CVG_OK) return st;
    char **grown = realloc(dst->sources, (size_t)(dst->source_count + src->source_count + 1) * sizeof *grown);
    if (!grown) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    dst->sources = grown;
    /* the sums move to the merged mean using both sides' moments as they are before the merge */
    if (dst->has_hsic && src->has_hsic) {
        st = sqnorm_merge(&dst->hsic, dst->moments, &src->hsic, src->moments);
    } else if (dst->has_hsic) {
        cvg__log(CVG_LOG_WARN, "%s has no HSIC sums; the merge with %s will not support debiased "
                 "CKA", origin(src), origin(dst));
        sqnorm_free(&dst->hsic);
        dst->has_hsic = 0;
    }
    if (st == CVG_OK) st = cvg_moments_merge(dst->moments, src->moments);
    if (st != CVG_OK) return st;
    dst->images += src->images;
    dst->skipped += src->skipped;
    for (int i = 0; i < src->source_count; i++) {
        if (!(dst->sources[dst->source_count] = strdup(src->sources[i])))
            return cvg__fail(CVG_ERR_NOMEM, "out of memory");
        dst->source_count++;
    }
    return CVG_OK;
}
