/* Elementwise layers: ReLU and inverted dropout; the bias gradients' sum. */
#include "nn/layers.h"

void nn_relu_forward(float *x, int64_t n)
{
#pragma omp parallel for schedule(static) if (n > NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void nn_relu_backward(float *dx, const float *dy, const float *y, int64_t n)
{
    /* dy loaded unconditionally: a vector select, not a branch on the sign of each element
     * (mispredicted half the time: half the units of a layer are at 0) */
#pragma omp parallel for simd schedule(static) if (n > NN_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        const float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
}

void nn_dropout_mask(float *mask, int64_t n, float p, uint64_t key)
{
    /* keep with probability 1 - p: compare 24 random bits against p * 2^24 */
    const uint32_t cut = (uint32_t)((double)p * 16777216.0);
    const float keep = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)(cvg__hash64(key, (uint64_t)i) >> 40);
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

double nn_sum(const float *x, int64_t n)
{
    double acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[i + l];
    for (int l = 0; i < n; i++, l++) acc[l] += x[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}
