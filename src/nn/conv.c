/* Convolution as im2col + one sgemm over the whole batch (see layers.h for the layout). */
#include <string.h>

#include <cblas.h>

#include "nn/layers.h"

int nn_conv_out(int in, int k, int s, int p)
{
    return (in + 2 * p - k) / s + 1;
}

/* One row (c, ki, kj) of col: for every (b, oy, ox) the pixel x[c, b, oy*S-P+ki, ox*S-P+kj]. */
static void im2col_row(float *row, const float *xc, const nn_conv_shape *s, int ki, int kj)
{
    const int64_t plane = (int64_t)s->H * s->W;
    for (int b = 0; b < s->B; b++) {
        const float *xb = xc + b * plane;
        for (int oy = 0; oy < s->OH; oy++) {
            float *dst = row + ((int64_t)b * s->OH + oy) * s->OW;
            int iy = oy * s->S - s->P + ki;
            if (iy < 0 || iy >= s->H) {
                memset(dst, 0, (size_t)s->OW * sizeof *dst);
                continue;
            }
            const float *src = xb + (int64_t)iy * s->W;
            if (s->S == 1) {
                /* ix = ox - P + kj: zeros, a contiguous run, zeros */
                int off = kj - s->P;
                int lo = off < 0 ? -off : 0;
                if (lo > s->OW) lo = s->OW;
                int hi = s->W - off < s->OW ? s->W - off : s->OW;
                if (hi < lo) hi = lo;
                for (int ox = 0; ox < lo; ox++) dst[ox] = 0;
                if (hi > lo) memcpy(dst + lo, src + lo + off, (size_t)(hi - lo) * sizeof *dst);
                for (int ox = hi; ox < s->OW; ox++) dst[ox] = 0;
            } else {
                for (int ox = 0; ox < s->OW; ox++) {
                    int ix = ox * s->S - s->P + kj;
                    dst[ox] = ix >= 0 && ix < s->W ? src[ix] : 0.0f;
                }
            }
        }
    }
}

void nn_im2col(float *col, const float *x, const nn_conv_shape *s)
{
    const int KK = s->K * s->K, rows = s->C * KK;
    const int64_t cols = (int64_t)s->B * s->OH * s->OW, chan = (int64_t)s->B * s->H * s->W;
#pragma omp parallel for schedule(static) if (rows * cols > NN_PAR_MIN)
    for (int r = 0; r < rows; r++) {
        int c = r / KK, ki = (r % KK) / s->K, kj = r % s->K;
        im2col_row(col + r * cols, x + c * chan, s, ki, kj);
    }
}

void nn_col2im(float *dx, const float *col, const nn_conv_shape *s)
{
    const int KK = s->K * s->K;
    const int64_t cols = (int64_t)s->B * s->OH * s->OW, plane = (int64_t)s->H * s->W;
    const int64_t chan = (int64_t)s->B * plane;
    /* one channel per iteration: a channel's pixels are written only by its own rows */
#pragma omp parallel for schedule(static) if (KK * cols * s->C > NN_PAR_MIN)
    for (int c = 0; c < s->C; c++) {
        float *dxc = dx + c * chan;
        memset(dxc, 0, (size_t)chan * sizeof *dxc);
        for (int kr = 0; kr < KK; kr++) {
            int ki = kr / s->K, kj = kr % s->K;
            const float *row = col + ((int64_t)c * KK + kr) * cols;
            for (int b = 0; b < s->B; b++)
                for (int oy = 0; oy < s->OH; oy++) {
                    int iy = oy * s->S - s->P + ki;
                    if (iy < 0 || iy >= s->H) continue;
                    const float *src = row + ((int64_t)b * s->OH + oy) * s->OW;
                    float *dst = dxc + b * plane + (int64_t)iy * s->W;
                    /* the output columns whose pixel ix = ox*S - P + kj lies inside the row */
                    int lo = 0, hi = s->OW;
                    while (lo < hi && lo * s->S - s->P + kj < 0) lo++;
                    while (hi > lo && (hi - 1) * s->S - s->P + kj >= s->W) hi--;
                    if (s->S == 1) {
                        float *d = dst + kj - s->P;
                        for (int ox = lo; ox < hi; ox++) d[ox] += src[ox];
                    } else {
                        for (int ox = lo; ox < hi; ox++) dst[ox * s->S - s->P + kj] += src[ox];
                    }
                }
        }
    }
}

void nn_conv_forward(float *y, float *col, const float *x, const float *w, const float *b,
                     const nn_conv_shape *s)
{
    const int CKK = s->C * s->K * s->K;
    const int64_t N = (int64_t)s->B * s->OH * s->OW;
    nn_im2col(col, x, s);
    /* y (OC, N) = w (OC, CKK) @ col (CKK, N) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->OC, (int)N, CKK, 1.0f, w, CKK,
                col, (int)N, 0.0f, y, (int)N);
#pragma omp parallel for schedule(static) if (N * s->OC > NN_PAR_MIN)
    for (int oc = 0; oc < s->OC; oc++) {
        float *yo = y + oc * N, bo = b[oc];
        for (int64_t i = 0; i < N; i++) yo[i] += bo;
    }
}

void nn_conv_backward(float *dx, float *dw, float *db, float *dcol, const float *dy,
                      const float *col, const float *w, const nn_conv_shape *s)
{
    const int CKK = s->C * s->K * s->K;
    const int64_t N = (int64_t)s->B * s->OH * s->OW;
    /* dw (OC, CKK) = dy (OC, N) @ col^T (N, CKK) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->OC, CKK, (int)N, 1.0f, dy, (int)N,
                col, (int)N, 0.0f, dw, CKK);
#pragma omp parallel for schedule(static) if (N * s->OC > NN_PAR_MIN)
    for (int oc = 0; oc < s->OC; oc++) {
        const float *d = dy + oc * N;
        double acc = 0;
        for (int64_t i = 0; i < N; i++) acc += d[i];
        db[oc] = (float)acc;
    }
    if (!dx) return;
    /* dcol (CKK, N) = w^T (CKK, OC) @ dy (OC, N) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, (int)N, s->OC, 1.0f, w, CKK, dy,
                (int)N, 0.0f, dcol, (int)N);
    nn_col2im(dx, dcol, s);
}
