/* The cvg_stats object: creation, accessors, correlation, merging. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stats/stats_internal.h"

cvg_status stats_create(const char *layer, int nets, int64_t units, int64_t reservoir_rows,
                        uint64_t seed, cvg_kernel kernel, cvg_stats **out)
{
    *out = NULL;
    cvg_stats *s = cvg__calloc(1, sizeof *s, "statistics");
    if (!s) return CVG_ERR_NOMEM;
    s->layer = strdup(layer);
    s->nets = nets;
    s->units = units;
    s->kernel = kernel;
    if (!s->layer) {
        cvg_stats_free(s);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    cvg_status st = cvg_moments_create(nets * units, kernel, &s->moments);
    if (st == CVG_OK) st = reservoir_init(&s->samples, reservoir_rows, nets * units, seed);
    if (st == CVG_OK) {
        int64_t *offset = malloc((size_t)(nets + 1) * sizeof *offset);
        if (!offset) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        for (int k = 0; offset && k <= nets; k++) offset[k] = k * units;
        if (st == CVG_OK) st = sqnorm_init(&s->hsic, nets, offset);
        s->has_hsic = st == CVG_OK;
        free(offset);
    }
    if (st != CVG_OK) {
        cvg_stats_free(s);
        return st;
    }
    *out = s;
    return CVG_OK;
}

cvg_status stats_add_source(cvg_stats *s, const char *path)
{
    char **grown = realloc(s->sources, (size_t)(s->source_count + 1) * sizeof *grown);
    if (!grown) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    s->sources = grown;
    if (!(s->sources[s->source_count] = strdup(path))) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    s->source_count++;
    return CVG_OK;
}

void cvg_stats_free(cvg_stats *s)
{
    if (!s) return;
    free(s->layer);
    cvg_moments_free(s->moments);
    reservoir_free(&s->samples);
    sqnorm_free(&s->hsic);
    for (int i = 0; i < s->source_count; i++) free(s->sources[i]);
    free(s->sources);
    free(s);
}

const char *cvg_stats_layer(const cvg_stats *s) { return s->layer; }
int cvg_stats_nets(const cvg_stats *s) { return s->nets; }
int64_t cvg_stats_units(const cvg_stats *s) { return s->units; }
int64_t cvg_stats_count(const cvg_stats *s) { return cvg_moments_count(s->moments); }
int64_t cvg_stats_skipped(const cvg_stats *s) { return s->skipped; }
const double *cvg_stats_mean(const cvg_stats *s) { return cvg_moments_mean(s->moments); }

const float *cvg_stats_samples(const cvg_stats *s, int64_t *rows)
{
    if (rows) *rows = s->samples.size;
    return s->samples.data;
}

const int64_t *cvg_stats_sample_rows(const cvg_stats *s) { return s->samples.rows; }

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

cvg_status cvg_stats_merge(cvg_stats *dst, const cvg_stats *src)
{
    if (!dst || !src) return cvg__fail(CVG_ERR_ARG, "cvg_stats_merge: NULL argument");
    if (dst->nets != src->nets || dst->units != src->units || dst->height != src->height ||
        dst->width != src->width)
        return cvg__fail(CVG_ERR_SHAPE,
                         "cannot merge layer '%s': %d nets x %lld units (%lldx%lld) vs %d nets x "
                         "%lld units (%lldx%lld)", src->layer, dst->nets, (long long)dst->units,
                         (long long)dst->height, (long long)dst->width, src->nets,
                         (long long)src->units, (long long)src->height, (long long)src->width);
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
    dst->images += src->images;
    dst->rows_seen += src->rows_seen;
    dst->skipped += src->skipped;
    if (src->row_offset < dst->row_offset) dst->row_offset = src->row_offset;
    for (int i = 0; i < src->source_count; i++)
        if ((st = stats_add_source(dst, src->sources[i])) != CVG_OK) return st;
    return CVG_OK;
}
