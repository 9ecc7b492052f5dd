/* Elementwise layers: ReLU and inverted dropout. */
#include "nn/layers.h"

void nn_relu_forward(float *x, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void nn_relu_backward(float *dx, const float *dy, const float *y, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void nn_dropout_mask(float *mask, int64_t n, float p, uint64_t key)
{
    /* keep with probability 1 - p: compare 24 random bits against p * 2^24 */
    const uint32_t cut = (uint32_t)((double)p * 16777216.0);
    const float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)(nn_hash64(key, (uint64_t)i) >> 40);
        mask[i] = u >= cut ? keep : 0.0f;
    }
}

void nn_dropout_forward(float *x, const float *mask, int64_t n)
{
    for (int64_t i = 0; i < n; i++) x[i] *= mask[i];
}

void nn_dropout_backward(float *dx, const float *dy, const float *mask, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * mask[i];
}
