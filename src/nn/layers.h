/* The layers of the network engine: one forward/backward pair per layer, plain functions over
 * float32 buffers the caller owns (in the manner of llm.c).
 *
 * Layout. Activations are kept channel-major over the batch, "CNHW": (C, B, H, W), so that a
 * convolution is ONE matrix product over the whole batch, y (OC, B*OH*OW) = w (OC, C*K*K) @
 * col (C*K*K, B*OH*OW), whose result is already the next layer's CNHW input (no transposes).
 * Fully connected activations are (F, B), the same layout with H = W = 1. Conversion to the
 * (N, C, H, W) order of files happens only at the edges (input, extraction).
 *
 * Backward functions overwrite (not accumulate) the parameter gradients dw, db and the input
 * gradient dx. Loops that are parallel split work so that every output element is written by
 * one thread in a fixed order: results do not depend on scheduling. */
#ifndef CVG_NN_LAYERS_H
#define CVG_NN_LAYERS_H

#include <stdint.h>

#include "core/internal.h"

/* Loops over fewer elements than this run on one thread: a parallel region costs a few
 * microseconds (much more on a loaded machine, where OpenMP threads spin), more than small
 * loops take. Results do not depend on it. */
#define NN_PAR_MIN 32768

/* The element-wise loops (im2col, col2im, pooling, LRN) in an AVX-512, an AVX2 and a baseline
 * x86-64 version, chosen when the program is loaded from what the CPU has (GCC's target_clones,
 * an ifunc): a build runs on any x86-64 CPU. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_VECTOR_CLONES
#endif

typedef struct nn_conv_shape {
    int C, H, W;      /* input channels and size */
    int OC, OH, OW;   /* output channels and size */
    int K, S, P;      /* square kernel, stride, zero padding */
    int B;            /* batch */
} nn_conv_shape;

/* OH = (H + 2P - K) / S + 1 (floor), as Caffe and PyTorch. */
int nn_conv_out(int in, int k, int s, int p);

/* x (C, B, H, W) -> col (C*K*K, B*OH*OW); row (c, ki, kj), column (b, oy, ox). */
void nn_im2col(float *col, const float *x, const nn_conv_shape *s);
/* The adjoint: dx (C, B, H, W) = sum of the col entries that read each pixel; col is left all
 * zeros (the backward pass adds its next product into it). */
void nn_col2im(float *dx, float *col, const nn_conv_shape *s);

/* The batch is processed in chunks of images whose col block is about this many floats
 * (a variable so that tests can force many chunks). */
extern int64_t nn_conv_chunk_floats;
/* Floats of the backward scratch dcol: col's size plus one partial weight gradient per chunk. */
int64_t nn_conv_scratch_floats(const nn_conv_shape *s);

/* y (OC, B, OH, OW) = w (OC, C*K*K) @ im2col(x) + b (OC); col (C*K*K, B*OH*OW) is filled and
 * must be kept for the backward pass. */
void nn_conv_forward(float *y, float *col, const float *x, const float *w, const float *b,
                     const nn_conv_shape *s);
/* dy (OC, B*OH*OW) -> dw (OC, C*K*K), db (OC), dx (C, B, H, W) (dx may be NULL: first layer).
 * dcol: scratch of nn_conv_scratch_floats(s) floats. Weight gradients are summed per chunk,
 * then over chunks in order: results do not depend on the thread count. */
void nn_conv_backward(float *dx, float *dw, float *db, float *dcol, const float *dy,
                      const float *col, const float *w, const nn_conv_shape *s);

/* The same on images [b0, b0 + nb) of the batch only, serially (for callers that are already
 * inside a parallel region, one slab of images per thread): the images are processed in chunks
 * of the size above; relu: apply ReLU to the outputs; col NULL (no backward pass to follow):
 * the col blocks go to room (nn_conv_range_scratch_floats(s, nb) floats) one after another. Backward: dw (OC, C*K*K) = the weight
 * gradient of these images alone (summed chunk by chunk in order), db (may be NULL) = the sums
 * of dy over them, dx of these images (may be NULL); dcol: scratch for one chunk's col block
 * (nn_conv_range_scratch_floats(s, nb)), all zeros on entry and left so. A backward range must
 * match the forward range (it reads the col blocks the forward range wrote); col NULL: each
 * chunk's col block is computed again from x (the layer's input) into room (as large as dcol),
 * and stays in cache for its product. */
int64_t nn_conv_range_scratch_floats(const nn_conv_shape *s, int nb);
void nn_conv_forward_range(float *y, float *col, float *room, const float *x, const float *w,
                           const float *b, const nn_conv_shape *s, int b0, int nb, int relu);
void nn_conv_backward_range(float *dx, float *dw, float *db, float *dcol, float *room,
                            const float *dy, const float *col, const float *x, const float *w,
                            const nn_conv_shape *s, int b0, int nb);

/* Winograd convolution (winograd.c) for stride-1 layers with 3x3 (F(m x m, 3 x 3)) or 5x5
 * (F(2x2, 5x5)) kernels and at least 8 input channels, on a slab's images, as the range
 * functions above. nn_conv_winograd: the tile size m of 3x3 layers, 4 (default) or 2; 0:
 * im2col everywhere; read when a network reserves its buffers (nn_net_reserve). nn_wino_tile(s):
 * m for this shape, 0 when Winograd does not apply. The transformed weights u (a*a, OC, C) and
 * ut (a*a, C, OC) (a = m + K - 1; nn_wino_weight_floats(s) floats each) come from
 * nn_wino_weights, output channels [oc0, oc1) per call; room: nn_wino_scratch_floats(s) floats.
 * Backward: dw (OC, C, K, K) of these images (overwritten), db (may be NULL) their dy sums,
 * dx (may be NULL) their input gradient; the exact adjoint of the forward computation. */
extern int nn_conv_winograd;
int nn_wino_tile(const nn_conv_shape *s);
int64_t nn_wino_scratch_floats(const nn_conv_shape *s);
int64_t nn_wino_weight_floats(const nn_conv_shape *s);
void nn_wino_weights(float *u, float *ut, const float *w, const nn_conv_shape *s, int oc0, int oc1);
void nn_wino_forward_range(float *y, float *room, const float *x, const float *u,
                           const float *bias, const nn_conv_shape *s, int b0, int nb, int relu);
void nn_wino_backward_range(float *dx, float *dw, float *db, float *room, const float *dy,
                            const float *x, const float *u, const float *ut,
                            const nn_conv_shape *s, int b0, int nb);

/* The convolutions' matrix products (gemm.c): AVX-512 kernels that read their operands in place
 * where the CPU has AVX-512F and the weight operand has at most NN_GEMM_A_MAX floats (it is
 * broadcast element by element from L2), OpenBLAS's sgemm otherwise. add: 1: C += product,
 * 0: C = product, NN_GEMM_ONTO_ZEROS: C is all zeros on entry (either, whichever is cheaper:
 * OpenBLAS zeroes C in a separate pass for beta = 0, our kernels need not read it).
 *   nn_gemm_w_b:  C (M, N; ldc) = W @ B, W (M, K; row stride ldw) or, trans_w, W^T with W
 *                 stored (K, M); B (K, N; ldb).
 *   nn_gemm_a_bt: C (M, K; ldc) = A @ B^T, A (M, L; lda), B (K, L; ldb) (ours when the
 *                 reduction has at least NN_GEMM_NT_MIN_L terms).
 * Sums run in an order fixed by the shapes (never by threads). nn_gemm_force_blas (tests,
 * benches): 1 = always OpenBLAS. */
#define NN_GEMM_A_MAX (64 * 1024)
#define NN_GEMM_ONTO_ZEROS 2
#define NN_GEMM_NT_MIN_L 1024
extern int nn_gemm_force_blas;
int nn_gemm_uses_avx512(int64_t a_floats);
void nn_gemm_w_b(int M, int N, int K, const float *w, int trans_w, int ldw, const float *b,
                 int ldb, float *c, int ldc, int add);
/* C (M, N; ldc) = W (M, K; ldw) @ B (K, N; ldb) by our kernel whatever W's size, where the CPU
 * has AVX-512F (OpenBLAS otherwise): for Winograd's short products (few columns). */
void nn_gemm_w_b_any_a(int M, int N, int K, const float *w, int ldw, const float *b, int ldb,
                       float *c, int ldc);
/* A convolution's product with its bias and (relu) ReLU: C (M, N; ldc) = relu(W @ B + bias),
 * W (M, K) row-major, bias (M). */
void nn_gemm_conv_forward(int M, int N, int K, const float *w, const float *b, int ldb,
                          float *c, int ldc, const float *bias, int relu);
void nn_gemm_a_bt(int M, int K, int L, const float *a, int lda, const float *b, int ldb,
                  float *c, int ldc, int add);

/* The sum of n floats in double, over 8 interleaved partial sums (independent additions the
 * compiler can vectorize; a fixed order, so the same result every time). */
double nn_sum(const float *x, int64_t n);

/* y (O, B) = w (O, F) @ x (F, B) + b (O). */
void nn_fc_forward(float *y, const float *x, const float *w, const float *b, int O, int F, int B);
/* dy (O, B) -> dw (O, F), db (O), dx (F, B) (dx may be NULL). */
void nn_fc_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                    const float *w, int O, int F, int B);

/* In place: x = max(x, 0). Backward: dx = dy where y > 0, else 0 (dx may alias dy). */
void nn_relu_forward(float *x, int64_t n);
void nn_relu_backward(float *dx, const float *dy, const float *y, int64_t n);

/* Max pooling of `planes` independent H x W planes (C*B of them in CNHW) with a K x K window,
 * stride S, padding P (padding never wins, as -inf). Ties: the first maximum in row-major
 * window order (as PyTorch). arg (planes * OH * OW) records the winner's index within its plane. */
void nn_maxpool_forward(float *y, int32_t *arg, const float *x, int64_t planes, int H, int W,
                        int K, int S, int P, int OH, int OW);
void nn_maxpool_backward(float *dx, const float *dy, const int32_t *arg, int64_t planes, int H,
                         int W, int OH, int OW);
/* The same, serially (inside a parallel region). */
void nn_maxpool_forward_serial(float *y, int32_t *arg, const float *x, int64_t planes, int H,
                               int W, int K, int S, int P, int OH, int OW);
void nn_maxpool_backward_serial(float *dx, const float *dy, const int32_t *arg, int64_t planes,
                                int H, int W, int OH, int OW);

/* Local response normalization across channels (Caffe's ACROSS_CHANNELS, PyTorch's
 * LocalResponseNorm): for x (C, M) with M = B*H*W,
 *   scale[c] = k + alpha / size * sum_{c' = c - size/2}^{c + (size-1)/2} x[c']^2   (out-of-range
 *   channels count as 0), y[c] = x[c] * scale[c]^-beta.
 * scale (C, M) is kept for the backward pass. */
typedef struct nn_lrn_param {
    int size;
    float alpha, beta, k;
} nn_lrn_param;
void nn_lrn_forward(float *y, float *scale, const float *x, int C, int64_t M, const nn_lrn_param *p);
void nn_lrn_backward(float *dx, const float *dy, const float *x, const float *y,
                     const float *scale, int C, int64_t M, const nn_lrn_param *p);
/* The same on columns [m0, m1) only, serially (inside a parallel region). */
void nn_lrn_forward_cols(float *y, float *scale, const float *x, int C, int64_t M, int64_t m0,
                         int64_t m1, const nn_lrn_param *p);
void nn_lrn_backward_cols(float *dx, const float *dy, const float *x, const float *y,
                          const float *scale, int C, int64_t M, int64_t m0, int64_t m1,
                          const nn_lrn_param *p);

/* Inverted dropout with drop probability p: mask[i] = 0 or 1 / (1 - p), drawn by a counter-based
 * hash of (key, i) so that it depends on nothing but key (no RNG state to save for resuming).
 * y = x * mask in place; backward dx = dy * mask. */
void nn_dropout_mask(float *mask, int64_t n, float p, uint64_t key);
void nn_dropout_forward(float *x, const float *mask, int64_t n);
void nn_dropout_backward(float *dx, const float *dy, const float *mask, int64_t n);

/* Softmax cross-entropy of logits (K, B) against labels (B): returns the summed loss over the
 * batch (in double); dlogits (K, B) (may be NULL) = (softmax - onehot) / B, the gradient of the
 * MEAN loss; *correct (may be NULL) counts argmax == label (ties: lowest class). */
double nn_softmax_xent(float *dlogits, int *correct, const float *logits, const uint8_t *labels,
                       int K, int B);


#endif
