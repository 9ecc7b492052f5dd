/* What a binding needs from statistics held in memory, without saving and reloading them: the
 * co-moment matrix, and the blocks (one per network) that the similarity measures take. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "stats/stats_internal.h"

cvg_status cvg_stats_comoment(const cvg_stats *s, double *out)
{
    if (!s || !out) return cvg__fail(CVG_ERR_ARG, "cvg_stats_comoment: NULL argument");
    cvg_moments_comoment(s->moments, out);
    return CVG_OK;
}

cvg_status cvg_stats_blocks(const cvg_stats *s, cvg_blocks *out)
{
    if (!s || !out) return cvg__fail(CVG_ERR_ARG, "cvg_stats_blocks: NULL argument");
    memset(out, 0, sizeof *out);
    const int K = s->nets;
    const int64_t D = s->dim;
    out->count = K;
    out->nets = K;
    out->layers = 1;
    out->dim = D;
    out->samples = cvg_moments_count(s->moments);
    out->offset = calloc((size_t)K + 1, sizeof *out->offset);
    out->net = calloc((size_t)K, sizeof *out->net);
    out->layer = calloc((size_t)K, sizeof *out->layer);
    out->comoment = malloc((size_t)(D * D) * sizeof *out->comoment);
    if (s->has_hsic) out->sqnorm = malloc((size_t)K * (size_t)K * sizeof *out->sqnorm);
    int ok = out->offset && out->net && out->layer && out->comoment && (out->sqnorm || !s->has_hsic);
    for (int k = 0; ok && k < K; k++) {
        out->offset[k + 1] = s->offset[k + 1];
        out->net[k] = k;
        ok = (out->layer[k] = strdup(s->layer)) != NULL;
    }
    if (!ok) {
        cvg_blocks_free(out);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory copying layer '%s' (%lld units)", s->layer,
                         (long long)D);
    }
    if (s->height || s->conv_samples != CVG_CONV_POSITIONS) /* as meta.json records it */
        snprintf(out->conv_samples, sizeof out->conv_samples, "%s", cvg_conv_samples_name(s->conv_samples));
    cvg_moments_comoment(s->moments, out->comoment);
    if (out->sqnorm) memcpy(out->sqnorm, s->hsic.Q, (size_t)K * (size_t)K * sizeof *out->sqnorm);
    return CVG_OK;
}
