/* Local response normalization across channels (Caffe's LRN ACROSS_CHANNELS, PyTorch's
 * LocalResponseNorm; both divide alpha by size, see docs/training.md). x, y, scale: (C, M). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"

/* Compiled with -fno-math-errno (CMakeLists.txt): sqrtf need not set errno (its argument here
 * is >= k > 0 anyway), so the loops below use vector square roots instead of a scalar one with
 * a branch per element; the results are the same (IEEE square roots are correctly rounded). */

/* Columns handled together: all C channels of LRN_CHUNK positions stay in cache. */
#define LRN_CHUNK 256

/* s^-beta; beta = 0.75 (the default) without powf: s^-3/4 = 1 / (sqrt(s) * sqrt(sqrt(s))). */
static inline float neg_pow(float s, float beta)
{
    if (beta == 0.75f) {
        float r = sqrtf(s);
        return 1.0f / (r * sqrtf(r));
    }
    return powf(s, -beta);
}

/* Columns [m0, m1) of (C, M), serially, LRN_CHUNK columns at a time (each output element
 * is computed the same way whatever the chunking). */
NN_VECTOR_CLONES void nn_lrn_forward_cols(float *y, float *scale, const float *x, int C, int64_t M, int64_t m0,
                         int64_t m1, const nn_lrn_param *p)
{
    const int lo = p->size / 2, hi = (p->size - 1) / 2; /* window c-lo .. c+hi */
    const float a = p->alpha / (float)p->size;
    for (; m0 < m1; m0 += LRN_CHUNK) {
        const int64_t len = m1 - m0 < LRN_CHUNK ? m1 - m0 : LRN_CHUNK;
        for (int c = 0; c < C; c++) {
            float acc[LRN_CHUNK];
            memset(acc, 0, sizeof acc);
            int c0 = c - lo < 0 ? 0 : c - lo, c1 = c + hi >= C ? C - 1 : c + hi;
            for (int cc = c0; cc <= c1; cc++) {
                const float *xr = x + cc * M + m0;
                for (int64_t i = 0; i < len; i++) acc[i] += xr[i] * xr[i];
            }
            float *sr = scale + c * M + m0, *yr = y + c * M + m0;
            const float *xr = x + c * M + m0;
            for (int64_t i = 0; i < len; i++) sr[i] = p->k + a * acc[i];
            if (p->beta == 0.75f) /* the branch outside the loop: it vectorizes */
                for (int64_t i = 0; i < len; i++) yr[i] = xr[i] * neg_pow(sr[i], 0.75f);
            else
                for (int64_t i = 0; i < len; i++) yr[i] = xr[i] * neg_pow(sr[i], p->beta);
        }
    }
}

/* dx[j] = dy[j] scale[j]^-beta
 *         - (2 alpha beta / size) x[j] sum_{c : j in window(c)} dy[c] y[c] / scale[c]
 * and j is in window(c) for c = j - hi .. j + lo. */
NN_VECTOR_CLONES void nn_lrn_backward_cols(float *dx, const float *dy, const float *x, const float *y,
                          const float *scale, int C, int64_t M, int64_t m0, int64_t m1,
                          const nn_lrn_param *p)
{
    const int lo = p->size / 2, hi = (p->size - 1) / 2;
    const float f = 2.0f * p->alpha * p->beta / (float)p->size;
    {
        /* t: dy y / scale of a chunk's columns (NULL if out of memory: recomputed below) */
        float *t = malloc((size_t)C * LRN_CHUNK * sizeof *t);
        for (; m0 < m1; m0 += LRN_CHUNK) {
            const int64_t len = m1 - m0 < LRN_CHUNK ? m1 - m0 : LRN_CHUNK;
            if (t)
                for (int c = 0; c < C; c++)
                    for (int64_t i = 0; i < len; i++) {
                        int64_t k = c * M + m0 + i;
                        t[c * LRN_CHUNK + i] = dy[k] * y[k] / scale[k];
                    }
            for (int j = 0; j < C; j++) {
                float acc[LRN_CHUNK];
                memset(acc, 0, sizeof acc);
                int c0 = j - hi < 0 ? 0 : j - hi, c1 = j + lo >= C ? C - 1 : j + lo;
                for (int c = c0; c <= c1; c++)
                    for (int64_t i = 0; i < len; i++) {
                        int64_t k = c * M + m0 + i; /* no scratch (out of memory): recompute */
                        acc[i] += t ? t[c * LRN_CHUNK + i] : dy[k] * y[k] / scale[k];
                    }
                const int64_t k0 = j * M + m0;
                if (p->beta == 0.75f) /* the branch outside the loop: it vectorizes */
                    for (int64_t i = 0; i < len; i++)
                        dx[k0 + i] = dy[k0 + i] * neg_pow(scale[k0 + i], 0.75f) - f * x[k0 + i] * acc[i];
                else
                    for (int64_t i = 0; i < len; i++)
                        dx[k0 + i] = dy[k0 + i] * neg_pow(scale[k0 + i], p->beta) - f * x[k0 + i] * acc[i];
            }
        }
        free(t);
    }
}

/* The whole (C, M) in parallel over chunks of columns. */
void nn_lrn_forward(float *y, float *scale, const float *x, int C, int64_t M, const nn_lrn_param *p)
{
    const int64_t chunks = (M + LRN_CHUNK - 1) / LRN_CHUNK;
#pragma omp parallel for schedule(static) if (C * M > NN_PAR_MIN)
    for (int64_t ch = 0; ch < chunks; ch++) {
        const int64_t m0 = ch * LRN_CHUNK, m1 = M - m0 < LRN_CHUNK ? M : m0 + LRN_CHUNK;
        nn_lrn_forward_cols(y, scale, x, C, M, m0, m1, p);
    }
}

void nn_lrn_backward(float *dx, const float *dy, const float *x, const float *y,
                     const float *scale, int C, int64_t M, const nn_lrn_param *p)
{
    const int64_t n = (M + 1) / 2; /* two halves, one per thread */
#pragma omp parallel for schedule(static) if (C * M > NN_PAR_MIN)
    for (int h = 0; h < 2; h++) {
        const int64_t m0 = h * n, m1 = h ? M : n;
        nn_lrn_backward_cols(dx, dy, x, y, scale, C, M, m0, m1, p);
    }
}
