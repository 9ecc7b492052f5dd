/* Convolution as im2col + sgemm over chunks of the batch (see layers.h for the layout). */
#include <string.h>

#include "nn/layers.h"

int nn_conv_out(int in, int k, int s, int p)
{
    return (in + 2 * p - k) / s + 1;
}

/* Target size of one chunk's col block: the batch is cut into chunks of images whose col block
 * (C*K*K rows x n*OH*OW columns) stays in the core's cache between im2col and the sgemm that
 * reads it, instead of streaming the whole batch's col (tens of MB) through memory twice. */
int64_t nn_conv_chunk_floats = 128 * 1024;

static int chunk_images(const nn_conv_shape *s)
{
    int64_t per = (int64_t)s->C * s->K * s->K * s->OH * s->OW, n = nn_conv_chunk_floats / per;
    if (n < 1) n = 1;
    if (n > s->B) n = s->B;
    return (int)n;
}

static int chunk_count(const nn_conv_shape *s)
{
    int n = chunk_images(s);
    return (s->B + n - 1) / n;
}

int64_t nn_conv_scratch_floats(const nn_conv_shape *s)
{
    return (int64_t)s->C * s->K * s->K * s->B * s->OH * s->OW +
           (int64_t)chunk_count(s) * s->OC * s->C * s->K * s->K;
}

int64_t nn_conv_range_scratch_floats(const nn_conv_shape *s, int nb)
{
    const int n = chunk_images(s) < nb ? chunk_images(s) : nb;
    return (int64_t)s->C * s->K * s->K * n * s->OH * s->OW;
}

/* One row (c, ki, kj) of a chunk's col: for each of nb images (xc: channel c of the first,
 * images plane floats apart) and every (oy, ox), the pixel x[oy*S-P+ki, ox*S-P+kj] or 0. */
static void im2col_row(float *row, const float *xc, const nn_conv_shape *s, int ki, int kj, int nb)
{
    const int64_t plane = (int64_t)s->H * s->W;
    for (int b = 0; b < nb; b++) {
        const float *xb = xc + b * plane;
        for (int oy = 0; oy < s->OH; oy++) {
            float *dst = row + ((int64_t)b * s->OH + oy) * s->OW;
            int iy = oy * s->S - s->P + ki;
            if (iy < 0 || iy >= s->H) {
                for (int ox = 0; ox < s->OW; ox++) dst[ox] = 0.0f;
                continue;
            }
            const float *src = xb + (int64_t)iy * s->W;
            if (s->S == 1) {
                /* ix = ox - P + kj: zeros, a contiguous run, zeros (short rows: plain loops) */
                int off = kj - s->P;
                int lo = off < 0 ? -off : 0;
                if (lo > s->OW) lo = s->OW;
                int hi = s->W - off < s->OW ? s->W - off : s->OW;
                if (hi < lo) hi = lo;
                for (int ox = 0; ox < lo; ox++) dst[ox] = 0.0f;
                for (int ox = lo; ox < hi; ox++) dst[ox] = src[ox + off];
                for (int ox = hi; ox < s->OW; ox++) dst[ox] = 0.0f;
            } else {
                for (int ox = 0; ox < s->OW; ox++) {
                    int ix = ox * s->S - s->P + kj;
                    dst[ox] = ix >= 0 && ix < s->W ? src[ix] : 0.0f;
                }
            }
        }
    }
}

/* col (C*K*K, nb*OH*OW) of images [b0, b0 + nb) of x (C, B, H, W), row by row (any plane size). */
static void im2col_rows(float *col, const float *x, const nn_conv_shape *s, int b0, int nb)
{
    const int KK = s->K * s->K, rows = s->C * KK;
    const int64_t cols = (int64_t)nb * s->OH * s->OW, plane = (int64_t)s->H * s->W;
    const int64_t chan = (int64_t)s->B * plane;
    for (int r = 0; r < rows; r++) {
        int c = r / KK, ki = (r % KK) / s->K, kj = r % s->K;
        im2col_row(col + r * cols, x + c * chan + b0 * plane, s, ki, kj, nb);
    }
}

/* Planes up to this many floats with their zero border are copied to a stack buffer first
 * (64 x 64 padded: 16 KB): every col entry is then a read from the padded plane, and with
 * stride 1 every output row (oy, all ox) one contiguous copy, without bounds tests. */
#define PAD_MAX 4096

static int padded_fits(const nn_conv_shape *s)
{
    return (int64_t)(s->H + 2 * s->P) * (s->W + 2 * s->P) <= PAD_MAX;
}

/* The interior of pad (H + 2P, W + 2P) = plane src (H, W); the border is left as it is. W is a
 * parameter so that callers can pass a constant (short copies inlined, not memcpy calls). */
static inline __attribute__((always_inline)) void pad_fill(float *pad, const float *src,
                                                           const nn_conv_shape *s, const int W)
{
    const int Wp = W + 2 * s->P;
    for (int y = 0; y < s->H; y++)
        memcpy(pad + (int64_t)(y + s->P) * Wp + s->P, src + (int64_t)y * W, (size_t)W * sizeof *pad);
}

/* OW is a parameter so that the callers below can pass a constant: the compiler then turns
 * the short row copies (7, 14 or 28 floats here) into a few vector moves. */
static inline __attribute__((always_inline)) void
im2col_padded(float *col, const float *x, const nn_conv_shape *s, int b0, int nb, const int OW,
              const int W)
{
    float pad[PAD_MAX];
    const int Wp = W + 2 * s->P, Hp = s->H + 2 * s->P, K = s->K, S = s->S, OH = s->OH;
    const int64_t P = (int64_t)OH * OW, cols = (int64_t)nb * P, plane = (int64_t)s->H * s->W;
    const int64_t chan = (int64_t)s->B * plane;
    memset(pad, 0, (size_t)Hp * Wp * sizeof *pad);
    for (int c = 0; c < s->C; c++)
        for (int b = 0; b < nb; b++) {
            pad_fill(pad, x + c * chan + (b0 + b) * plane, s, W);
            for (int ki = 0; ki < K; ki++)
                for (int kj = 0; kj < K; kj++) {
                    float *dst = col + ((int64_t)(c * K + ki) * K + kj) * cols + b * P;
                    const float *src = pad + ki * Wp + kj;
                    for (int oy = 0; oy < OH; oy++, dst += OW, src += S * Wp) {
                        if (S == 1) memcpy(dst, src, (size_t)OW * sizeof *dst);
                        else
                            for (int ox = 0; ox < OW; ox++) dst[ox] = src[ox * S];
                    }
                }
        }
}

/* col (C*K*K, nb*OH*OW) of images [b0, b0 + nb) of x (C, B, H, W). */
NN_VECTOR_CLONES static void im2col_chunk(float *col, const float *x, const nn_conv_shape *s, int b0, int nb)
{
    if (!padded_fits(s)) {
        im2col_rows(col, x, s, b0, nb);
        return;
    }
    /* the widths of the presets' layers (28x28 inputs, "same" padding: W = OW) */
    const int same = s->W == s->OW;
    switch (same ? s->OW : 0) {
    case 28: im2col_padded(col, x, s, b0, nb, 28, 28); break;
    case 14: im2col_padded(col, x, s, b0, nb, 14, 14); break;
    case 7: im2col_padded(col, x, s, b0, nb, 7, 7); break;
    default: im2col_padded(col, x, s, b0, nb, s->OW, s->W);
    }
}

/* dx of images [b0, b0 + nb) = the adjoint of im2col_chunk applied to dcol, row by row. */
static void col2im_rows(float *dx, float *col, const nn_conv_shape *s, int b0, int nb)
{
    const int KK = s->K * s->K;
    const int64_t cols = (int64_t)nb * s->OH * s->OW, plane = (int64_t)s->H * s->W;
    const int64_t chan = (int64_t)s->B * plane;
    for (int c = 0; c < s->C; c++) {
        float *dxc = dx + c * chan + b0 * plane;
        memset(dxc, 0, (size_t)(nb * plane) * sizeof *dxc);
        for (int kr = 0; kr < KK; kr++) {
            int ki = kr / s->K, kj = kr % s->K;
            const float *row = col + ((int64_t)c * KK + kr) * cols;
            for (int b = 0; b < nb; b++)
                for (int oy = 0; oy < s->OH; oy++) {
                    int iy = oy * s->S - s->P + ki;
                    if (iy < 0 || iy >= s->H) continue;
                    const float *src = row + ((int64_t)b * s->OH + oy) * s->OW;
                    float *dst = dxc + b * plane + (int64_t)iy * s->W;
                    /* the output columns whose pixel ix = ox*S - P + kj lies inside the row */
                    int lo = 0, hi = s->OW;
                    while (lo < hi && lo * s->S - s->P + kj < 0) lo++;
                    while (hi > lo && (hi - 1) * s->S - s->P + kj >= s->W) hi--;
                    for (int ox = lo; ox < hi; ox++) dst[ox * s->S - s->P + kj] += src[ox];
                }
        }
    }
    memset(col, 0, (size_t)KK * s->C * cols * sizeof *col); /* left zeroed (see col2im_chunk) */
}

/* The same sums into a zeroed padded plane (each pixel gets its terms in the same order,
 * (ki, kj) ascending, as col2im_rows), whose interior is then dx's plane. */
static inline __attribute__((always_inline)) void
col2im_padded(float *dx, float *col, const nn_conv_shape *s, int b0, int nb, const int OW,
              const int W)
{
    float pad[PAD_MAX];
    const int Wp = W + 2 * s->P, Hp = s->H + 2 * s->P, K = s->K, S = s->S, OH = s->OH;
    const int64_t P = (int64_t)OH * OW, cols = (int64_t)nb * P, plane = (int64_t)s->H * s->W;
    const int64_t chan = (int64_t)s->B * plane;
    for (int c = 0; c < s->C; c++)
        for (int b = 0; b < nb; b++) {
            memset(pad, 0, (size_t)Hp * Wp * sizeof *pad);
            for (int ki = 0; ki < K; ki++)
                for (int kj = 0; kj < K; kj++) {
                    float *src = col + ((int64_t)(c * K + ki) * K + kj) * cols + b * P;
                    float *dst = pad + ki * Wp + kj;
                    for (int oy = 0; oy < OH; oy++, src += OW, dst += S * Wp) {
                        if (S == 1) /* contiguous: vectorized */
                            for (int ox = 0; ox < OW; ox++) dst[ox] += src[ox], src[ox] = 0.0f;
                        else
                            for (int ox = 0; ox < OW; ox++) dst[ox * S] += src[ox], src[ox] = 0.0f;
                    }
                }
            float *dxp = dx + c * chan + (b0 + b) * plane;
            for (int y = 0; y < s->H; y++)
                memcpy(dxp + (int64_t)y * W, pad + (int64_t)(y + s->P) * Wp + s->P,
                       (size_t)W * sizeof *dxp);
        }
}

/* col2im also zeroes every entry of col it has read, i.e. all of it: the next chunk's dcol
 * product then adds into a zeroed room (beta = 1), sparing OpenBLAS's separate zeroing pass for
 * beta = 0 (the product's inner dimension, OC, is short, so that pass cost as much as a third
 * of the product). */
NN_VECTOR_CLONES static void col2im_chunk(float *dx, float *col, const nn_conv_shape *s, int b0, int nb)
{
    if (!padded_fits(s)) {
        col2im_rows(dx, col, s, b0, nb);
        return;
    }
    const int same = s->W == s->OW;
    switch (same ? s->OW : 0) {
    case 28: col2im_padded(dx, col, s, b0, nb, 28, 28); break;
    case 14: col2im_padded(dx, col, s, b0, nb, 14, 14); break;
    case 7: col2im_padded(dx, col, s, b0, nb, 7, 7); break;
    default: col2im_padded(dx, col, s, b0, nb, s->OW, s->W);
    }
}

void nn_im2col(float *col, const float *x, const nn_conv_shape *s)
{
    im2col_chunk(col, x, s, 0, s->B);
}

void nn_col2im(float *dx, float *col, const nn_conv_shape *s)
{
    col2im_chunk(dx, col, s, 0, s->B);
}

/* Images [b0, b0 + nb) in chunks of chunk_images(s), serially: for each chunk, im2col into
 * its own col block (CKK, n*P) at col + CKK*b0'*P (kept for the backward pass) or, when col is
 * NULL (inference), into room (one chunk's block, reused), then y = w @ col + b (then ReLU if
 * relu, while the chunk's outputs are in cache). */
void nn_conv_forward_range(float *y, float *col, float *room, const float *x, const float *w,
                           const float *b, const nn_conv_shape *s, int b0, int nb, int relu)
{
    const int CKK = s->C * s->K * s->K, P = s->OH * s->OW, n = chunk_images(s);
    const int64_t N = (int64_t)s->B * P;
    for (int c0 = b0; c0 < b0 + nb; c0 += n) {
        const int m = b0 + nb - c0 < n ? b0 + nb - c0 : n;
        float *cc = col ? col + (int64_t)CKK * c0 * P : room;
        im2col_chunk(cc, x, s, c0, m);
        /* y[:, c0*P : (c0+m)*P] (OC, m*P; row stride N) = w (OC, CKK) @ cc (CKK, m*P) */
        nn_gemm_conv_forward(s->OC, m * P, CKK, w, cc, m * P, y + (int64_t)c0 * P, (int)N, b, relu);
    }
}

/* Images [b0, b0 + nb), serially, in the chunks of nn_conv_forward_range (whose col blocks it
 * reads): dw (OC, CKK) = sum over the chunks in order of dy chunk @ col chunk^T; db (OC, may be
 * NULL) = the sums of dy over these images; dx (may be NULL) of these images via dcol + col2im
 * (dcol: room for one chunk's col block, reused chunk after chunk while it is in cache; it must
 * be all zeros on entry, and is left so). col NULL: each chunk's col block is computed again
 * from x into room. */
void nn_conv_backward_range(float *dx, float *dw, float *db, float *dcol, float *room,
                            const float *dy, const float *col, const float *x, const float *w,
                            const nn_conv_shape *s, int b0, int nb)
{
    const int CKK = s->C * s->K * s->K, P = s->OH * s->OW, n = chunk_images(s);
    const int64_t N = (int64_t)s->B * P;
    for (int c0 = b0; c0 < b0 + nb; c0 += n) {
        const int m = b0 + nb - c0 < n ? b0 + nb - c0 : n;
        const float *cc = col ? col + (int64_t)CKK * c0 * P : room;
        if (!col) im2col_chunk(room, x, s, c0, m);
        const float *dyc = dy + (int64_t)c0 * P;
        /* dw (+)= dy chunk (OC, m*P; row stride N) @ cc^T (m*P, CKK) */
        nn_gemm_a_bt(s->OC, CKK, m * P, dyc, (int)N, cc, m * P, dw, CKK, c0 != b0);
        if (dx) {
            float *dc = dcol; /* zeroed; consumed (and zeroed again) by col2im at once */
            /* dc (CKK, m*P) = w^T (CKK, OC) @ dy chunk (OC, m*P) */
            nn_gemm_w_b(CKK, m * P, s->OC, w, 1, CKK, dyc, (int)N, dc, m * P, NN_GEMM_ONTO_ZEROS);
            col2im_chunk(dx, dc, s, c0, m);
        }
    }
    if (db)
        for (int oc = 0; oc < s->OC; oc++)
            db[oc] = (float)nn_sum(dy + oc * N + (int64_t)b0 * P, (int64_t)nb * P);
}

/* Whole batches (tests): chunks run in parallel, each with single-threaded sgemm (BLAS calls
 * inside an OpenMP region use one thread); one chunk: no region, BLAS uses every thread.
 * Chunks are handed out one at a time (dynamic). Each chunk writes only its own outputs, so
 * the results do not depend on which thread took it. The network's passes (net.c) use the
 * range functions on slabs of images instead, in one parallel region per pass. */
void nn_conv_forward(float *y, float *col, const float *x, const float *w, const float *b,
                     const nn_conv_shape *s)
{
    const int n = chunk_images(s), nch = chunk_count(s);
#pragma omp parallel for schedule(dynamic, 1) if (nch > 1)
    for (int ch = 0; ch < nch; ch++) {
        int b0 = ch * n, nb = s->B - b0 < n ? s->B - b0 : n;
        nn_conv_forward_range(y, col, NULL, x, w, b, s, b0, nb, 0);
    }
}

void nn_conv_backward(float *dx, float *dw, float *db, float *dcol, const float *dy,
                      const float *col, const float *w, const nn_conv_shape *s)
{
    const int CKK = s->C * s->K * s->K, P = s->OH * s->OW, n = chunk_images(s);
    const int nch = chunk_count(s);
    const int64_t N = (int64_t)s->B * P, nwt = (int64_t)s->OC * CKK;
    float *part = dcol + (int64_t)CKK * N; /* nch partial weight gradients */
    if (dx) memset(dcol, 0, (size_t)(CKK * N) * sizeof *dcol); /* the range calls add into it */
#pragma omp parallel for schedule(dynamic, 1) if (nch > 1)
    for (int ch = 0; ch < nch; ch++) {
        int b0 = ch * n, nb = s->B - b0 < n ? s->B - b0 : n;
        nn_conv_backward_range(dx, part + ch * nwt, NULL, dcol + (int64_t)CKK * b0 * P, NULL, dy,
                               col, NULL, w, s, b0, nb);
    }
    /* dw = sum of the chunks' parts in chunk order: the same for any thread count */
#pragma omp parallel for schedule(static) if (nwt * nch > NN_PAR_MIN)
    for (int64_t i = 0; i < nwt; i++) {
        float acc = part[i];
        for (int ch = 1; ch < nch; ch++) acc += part[ch * nwt + i];
        dw[i] = acc;
    }
#pragma omp parallel for schedule(static) if (N * s->OC > NN_PAR_MIN)
    for (int oc = 0; oc < s->OC; oc++) {
        db[oc] = (float)nn_sum(dy + oc * N, N);
    }
}
