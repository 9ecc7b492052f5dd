/* Fully connected layer on (F, B) activations (see layers.h). */
#include <cblas.h>

#include "nn/layers.h"

void nn_fc_forward(float *y, const float *x, const float *w, const float *b, int O, int F, int B)
{
    /* y (O, B) = w (O, F) @ x (F, B), then + b */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O, B, F, 1.0f, w, F, x, B, 0.0f, y, B);
    for (int o = 0; o < O; o++)
        for (int n = 0; n < B; n++) y[(int64_t)o * B + n] += b[o];
}

void nn_fc_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                    const float *w, int O, int F, int B)
{
    /* dw (O, F) = dy (O, B) @ x^T (B, F) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, O, F, B, 1.0f, dy, B, x, B, 0.0f, dw, F);
    for (int o = 0; o < O; o++) db[o] = (float)nn_sum(dy + (int64_t)o * B, B);
    /* dx (F, B) = w^T (F, O) @ dy (O, B) */
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, F, B, O, 1.0f, w, F, dy, B, 0.0f,
                    dx, B);
}
