/* Whether a layer's accumulated statistics are trustworthy numbers (stats_range.h): finite
 * inputs can still leave the float32 kernels' range. The fused kernel and the BLAS float
 * kernels form products of centred values in float32, so a unit whose centred values reach
 * about 4e17 overflows a staged sum of 2048 products (FLT_MAX = 3.4e38: std = inf, corr 0 or
 * NaN), and one whose values spread less than about 1e-19 has products in float32's subnormal
 * range or below it (precision lost, or a unit that varies reported dead). In float64 the same
 * happens only beyond about 1e150 (squares and the HSIC sums' fourth powers past 1.8e308).
 * One sweep over the upper triangle at the end of a pass (D^2 / 2 doubles) finds any of it;
 * the reservoir is read only for units reported dead (with a float kernel) or of values near
 * float32's limit. Nothing is checked per row. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/internal.h"
#include "stats/stats_internal.h"
#include "stats/stats_range.h"

/* A variance below this (std below 2^-50, about 9e-16) is too close to float32's subnormal
 * products (y^2 < 2^-126 for |y| < 1e-19) for the float kernels to be trusted with it. */
#define FLOAT_VARIANCE_FLOOR 0x1p-100

static int kernel_is_float(const cvg_stats *s) { return s->kernel != CVG_KERNEL_DSYRK; }

/* First index i (row-major upper triangle scan) whose row of M holds a non-finite entry, or -1. */
static int64_t first_nonfinite_row(const double *M, int64_t D)
{
    int64_t found = D;
#pragma omp parallel for schedule(dynamic, 16) reduction(min : found) if (D * D >= (1 << 20))
    for (int64_t i = 0; i < D; i++) {
        double probe = 0;
        for (int64_t j = i; j < D; j++) probe += M[i * D + j] * 0.0; /* NaN iff some entry is */
        if (probe != 0 || isnan(probe)) found = i < found ? i : found;
    }
    return found < D ? found : -1;
}

/* A unit reported dead (zero co-moment diagonal) whose reservoir column varies: its float
 * products all underflowed to zero. -1 if none. Rows are scanned in order, each over the list
 * of dead units only (contiguous within a row). */
static int64_t dead_but_varies(const cvg_stats *s, const double *M, int64_t D)
{
    const reservoir *r = &s->samples;
    if (r->size < 2 || r->width != D) return -1;
    int64_t ndead = 0;
    for (int64_t i = 0; i < D; i++) ndead += M[i * D + i] == 0.0;
    if (ndead == 0) return -1;
    int64_t *dead = cvg__malloc((size_t)ndead * sizeof *dead, "dead unit list");
    if (!dead) return -1; /* a check we cannot afford is skipped, not failed */
    ndead = 0;
    for (int64_t i = 0; i < D; i++)
        if (M[i * D + i] == 0.0) dead[ndead++] = i;
    int64_t found = -1;
    const float *first = r->data;
    for (int64_t row = 1; row < r->size && found < 0; row++) {
        const float *x = r->data + row * D;
        for (int64_t q = 0; q < ndead; q++)
            if (x[dead[q]] != first[dead[q]]) {
                found = dead[q];
                break;
            }
    }
    free(dead);
    return found;
}

int64_t stats_first_nonfinite_unit(const double *mean, const double *M, int64_t D, const sqnorm_sums *h,
                                   int *in_mean)
{
    *in_mean = 0;
    for (int64_t i = 0; i < D; i++)
        if (!isfinite(mean[i])) {
            *in_mean = 1;
            return i;
        }
    int64_t i = first_nonfinite_row(M, D);
    if (i >= 0) return i;
    for (int64_t q = 0; h && q < (int64_t)h->blocks * h->blocks; q++)
        if (!isfinite(h->Q[q])) return h->offset[q / h->blocks];
    for (int64_t q = 0; h && q < (int64_t)h->blocks * h->dim; q++)
        if (!isfinite(h->G[q])) return q % h->dim;
    return -1;
}

range_verdict stats_range_check(const cvg_stats *s, int64_t *unit)
{
    const int64_t D = s->dim, n = cvg_moments_count(s->moments);
    const double *M = moments__upper(s->moments), *mean = cvg_moments_mean(s->moments);
    const int float_kernel = kernel_is_float(s);
    int in_mean;
    *unit = stats_first_nonfinite_unit(mean, M, D, s->has_hsic ? &s->hsic : NULL, &in_mean);
    if (*unit >= 0) return in_mean || !float_kernel ? RANGE_DOUBLE : RANGE_FLOAT_OVERFLOW;
    if (float_kernel && n > 0) {
        for (int64_t j = 0; j < D; j++) {
            const double v = M[j * D + j];
            if (v > 0 && v < FLOAT_VARIANCE_FLOOR * (double)n) {
                *unit = j;
                return RANGE_FLOAT_UNDERFLOW;
            }
        }
        if ((*unit = dead_but_varies(s, M, D)) >= 0) return RANGE_FLOAT_UNDERFLOW;
    }
    /* A sample beyond float32 (a float64 input value |x| > FLT_MAX) needs |x - mean| or
     * |mean| above FLT_MAX / 2, so M_jj >= (FLT_MAX / 2)^2 or the mean shows it: only such
     * units' columns are read (none, for any ordinary layer). */
    const double half = 0.5 * (double)FLT_MAX;
    const float *x = s->samples.data;
    const int64_t W = s->samples.width;
    for (int64_t j = 0; j < D && W == D; j++) {
        if (!(M[j * D + j] >= half * half) && !(fabs(mean[j]) >= half)) continue;
        for (int64_t r = 0; r < s->samples.size; r++)
            if (!isfinite(x[r * W + j])) {
                *unit = j;
                return RANGE_SAMPLES;
            }
    }
    return RANGE_OK;
}

/* What went wrong, and what to do about it, per verdict. */
static const char *reason(range_verdict v)
{
    switch (v) {
    case RANGE_FLOAT_OVERFLOW:
        return "has values too large for the float32 kernel (its co-moment overflowed: |x - mean| "
               "above about 4e17)";
    case RANGE_FLOAT_UNDERFLOW:
        return "varies too little for the float32 kernel (std below about 1e-15: its products fall "
               "into float32's subnormal range)";
    case RANGE_DOUBLE:
        return "has values too large even for float64 co-moments (squares or the HSIC sums "
               "overflow: |x| above about 1e150)";
    case RANGE_SAMPLES:
        return "has a value beyond float32's range (|x| > 3.4e38), which samples.npy cannot hold";
    case RANGE_OK:
        break;
    }
    return "";
}

static const char *advice(range_verdict v)
{
    if (v == RANGE_FLOAT_OVERFLOW || v == RANGE_FLOAT_UNDERFLOW)
        return "measure it with the default kernel (auto) or --kernel dsyrk (float64)";
    if (v == RANGE_SAMPLES) return "rescale the activations or keep no reservoir (--reservoir 0)";
    return "rescale the activations";
}

static const char *source_of(const cvg_stats *s, int net)
{
    return net < s->source_count ? s->sources[net] : "in memory";
}

void stats_range_log_retry(const cvg_stats *s, range_verdict v, int64_t unit)
{
    const int net = stats_net_of(s, unit);
    cvg__log(CVG_LOG_WARN, "layer '%s': unit %lld of net %d (%s) %s; measuring the layer again in "
             "float64 (--kernel dsyrk)", s->layer, (long long)(unit - s->offset[net]), net + 1,
             source_of(s, net), reason(v));
}

cvg_status stats_range_error(const cvg_stats *s, range_verdict v, int64_t unit)
{
    if (v == RANGE_OK) return CVG_OK;
    const int net = stats_net_of(s, unit);
    return cvg__fail(CVG_ERR_NUMERIC, "layer '%s': unit %lld of net %d (%s) %s; %s", s->layer,
                     (long long)(unit - s->offset[net]), net + 1, source_of(s, net), reason(v), advice(v));
}

cvg_status stats_check_range(const cvg_stats *s)
{
    int64_t unit;
    const range_verdict v = stats_range_check(s, &unit);
    return stats_range_error(s, v, unit);
}
