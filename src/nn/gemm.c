/* The convolutions' matrix products without operand packing: hand-written AVX-512 kernels,
 * chosen at run time (the CPU must have AVX-512F; otherwise, or when the weights are too large
 * to stay in cache, OpenBLAS's sgemm).
 *
 * Why: the convolutions' products are short and wide (M = OC = 16-64 rows, K = C*K*K = 25-576,
 * N = a chunk's output positions, 392-6272), and OpenBLAS copies ("packs") both operands into
 * its own layout on every call, ~15% of a training step, for products that are read once. Here
 * the wide operand (col or dy, rows contiguous in N) is read in place, and the narrow one (the
 * weights, at most NN_GEMM_A_MAX floats, in L2) is broadcast one element at a time.
 *
 * Every output element is summed in a fixed order that depends on the shapes alone (never on
 * threads), so training stays bit-identical for a given seed and thread count. */
#include <cblas.h>

#include "nn/layers.h"

int nn_gemm_force_blas = 0;

static int use_avx512(int64_t a_floats)
{
    if (nn_gemm_force_blas || a_floats > NN_GEMM_A_MAX) return 0;
#if defined(__x86_64__) && defined(__GNUC__)
    static int kernel_choice = -1; /* not decided yet; 0: OpenBLAS, 1: the AVX-512 kernels */
    int k = __atomic_load_n(&kernel_choice, __ATOMIC_RELAXED);
    if (k < 0) {
        __builtin_cpu_init();
        k = __builtin_cpu_supports("avx512f") ? 1 : 0;
        __atomic_store_n(&kernel_choice, k, __ATOMIC_RELAXED);
    }
    return k;
#else
    return 0; /* the kernels are x86-64 only */
#endif
}

int nn_gemm_uses_avx512(int64_t a_floats)
{
    return use_avx512(a_floats);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,fma")))

/* Tiles of C: R rows (8, 4 or 1) x 32 columns starting at n (m0, m1: which lanes of the two
 * 16-column halves exist). C(i, j) = [C(i, j) +] sum over k in order of A(i, k) B(k, j). The
 * accumulators are named variables (GCC keeps an array of vectors on the stack). */
#define ACC_DECL(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = _mm512_setzero_ps();
#define ACC_FMA(i)                                                                            \
    {                                                                                         \
        const __m512 ai = _mm512_set1_ps(ak[(i) * ars]);                                      \
        c##i##a = _mm512_fmadd_ps(ai, b0, c##i##a);                                           \
        c##i##b = _mm512_fmadd_ps(ai, b1, c##i##b);                                           \
    }
#define ACC_STORE(i)                                                                          \
    {                                                                                         \
        float *ci = c + (i) * ldc;                                                            \
        if (add) {                                                                            \
            c##i##a = _mm512_add_ps(c##i##a, _mm512_maskz_loadu_ps(m0, ci));                  \
            c##i##b = _mm512_add_ps(c##i##b, _mm512_maskz_loadu_ps(m1, ci + 16));             \
        }                                                                                     \
        if (bias) {                                                                           \
            const __m512 bi = _mm512_set1_ps(bias[i]);                                        \
            c##i##a = _mm512_add_ps(c##i##a, bi);                                             \
            c##i##b = _mm512_add_ps(c##i##b, bi);                                             \
        }                                                                                     \
        if (relu) {                                                                           \
            c##i##a = _mm512_max_ps(c##i##a, _mm512_setzero_ps());                            \
            c##i##b = _mm512_max_ps(c##i##b, _mm512_setzero_ps());                            \
        }                                                                                     \
        _mm512_mask_storeu_ps(ci, m0, c##i##a);                                               \
        _mm512_mask_storeu_ps(ci + 16, m1, c##i##b);                                          \
    }
#define TILE_ARGS                                                                             \
    int K, const float *a, int64_t ars, int64_t acs, const float *b, int64_t ldb, float *c,   \
        int64_t ldc, int add, const float *bias, int relu, __mmask16 m0, __mmask16 m1
#define TILE_LOOP(BODY)                                                                       \
    for (int k = 0; k < K; k++) {                                                             \
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, b + k * ldb);                             \
        const __m512 b1 = _mm512_maskz_loadu_ps(m1, b + k * ldb + 16);                        \
        const float *ak = a + k * acs;                                                        \
        BODY                                                                                  \
    }

static AVX512 void nn_tile8(TILE_ARGS)
{
    ACC_DECL(0) ACC_DECL(1) ACC_DECL(2) ACC_DECL(3) ACC_DECL(4) ACC_DECL(5) ACC_DECL(6) ACC_DECL(7)
    TILE_LOOP(ACC_FMA(0) ACC_FMA(1) ACC_FMA(2) ACC_FMA(3) ACC_FMA(4) ACC_FMA(5) ACC_FMA(6) ACC_FMA(7))
    ACC_STORE(0) ACC_STORE(1) ACC_STORE(2) ACC_STORE(3) ACC_STORE(4) ACC_STORE(5) ACC_STORE(6)
    ACC_STORE(7)
}

static AVX512 void nn_tile4(TILE_ARGS)
{
    ACC_DECL(0) ACC_DECL(1) ACC_DECL(2) ACC_DECL(3)
    TILE_LOOP(ACC_FMA(0) ACC_FMA(1) ACC_FMA(2) ACC_FMA(3))
    ACC_STORE(0) ACC_STORE(1) ACC_STORE(2) ACC_STORE(3)
}

static AVX512 void nn_tile1(TILE_ARGS)
{
    ACC_DECL(0)
    TILE_LOOP(ACC_FMA(0))
    ACC_STORE(0)
}

/* Columns in blocks of N_BLOCK; within a block, row tiles outer and 32-column tiles inner, so
 * that C is written row by row in runs of N_BLOCK floats (not 32 floats in each of M rows: the
 * input-gradient products have M = C*K*K = 400 rows) while the block's B panel (K x N_BLOCK)
 * stays in L2. */

#define N_BLOCK 512

static AVX512 void gemm_nn_avx512(int M, int N, int K, const float *a, int64_t ars, int64_t acs,
                                  const float *b, int64_t ldb, float *c, int64_t ldc, int add,
                                  const float *bias, int relu)
{
    for (int n0 = 0; n0 < N; n0 += N_BLOCK) {
        const int n1 = N - n0 < N_BLOCK ? N : n0 + N_BLOCK;
        for (int i = 0; i < M;) {
            const int r = M - i >= 8 ? 8 : M - i >= 4 ? 4 : 1;
            for (int n = n0; n < n1; n += 32) {
                const int left = n1 - n;
                const __mmask16 m0 = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);
                const __mmask16 m1 = left >= 32   ? 0xFFFF
                                     : left <= 16 ? 0
                                                  : (__mmask16)((1u << (left - 16)) - 1);
                const float *ai = a + i * ars, *bn = b + n;
                float *cin = c + i * ldc + n;
                if (r == 8) nn_tile8(K, ai, ars, acs, bn, ldb, cin, ldc, add, bias ? bias + i : NULL, relu, m0, m1);
                else if (r == 4) nn_tile4(K, ai, ars, acs, bn, ldb, cin, ldc, add, bias ? bias + i : NULL, relu, m0, m1);
                else nn_tile1(K, ai, ars, acs, bn, ldb, cin, ldc, add, bias ? bias + i : NULL, relu, m0, m1);
            }
            i += r;
        }
    }
}

/* Tiles of the transposed-B product: C(i, j) for R rows x S columns (4 or 1 each) = [C +] sum
 * over l of A(i, l) B(j, l), A and B with rows contiguous in l. Each element is summed in 16
 * lanes (l mod 16) in order of l, then across the lanes by _mm512_reduce_add_ps's fixed tree. */
#define T_ARGS int L, const float *a, int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc, int add
#define T_DECL(i, j) __m512 t##i##j = _mm512_setzero_ps();
#define T_LOADA(i) const __m512 a##i = _mm512_maskz_loadu_ps(m, a + (i) * lda + l);
#define T_LOADB(j) const __m512 b##j = _mm512_maskz_loadu_ps(m, b + (j) * ldb + l);
#define T_FMA(i, j) t##i##j = _mm512_fmadd_ps(a##i, b##j, t##i##j);
#define T_STORE(i, j)                                                                         \
    {                                                                                         \
        const float v = _mm512_reduce_add_ps(t##i##j);                                        \
        c[(i) * ldc + (j)] = add ? c[(i) * ldc + (j)] + v : v;                                \
    }
/* full 16-column steps, then one masked step for the last L mod 16 columns */
#define T_LOOP(BODY)                                                                          \
    for (int l = 0; l < L; l += 16) {                                                         \
        const __mmask16 m = L - l >= 16 ? 0xFFFF : (__mmask16)((1u << (L - l)) - 1);          \
        BODY                                                                                  \
    }
#define ROW4(X, j) X(0, j) X(1, j) X(2, j) X(3, j)

static AVX512 void nn_tile_t44(T_ARGS)
{
    ROW4(T_DECL, 0) ROW4(T_DECL, 1) ROW4(T_DECL, 2) ROW4(T_DECL, 3)
    T_LOOP(T_LOADA(0) T_LOADA(1) T_LOADA(2) T_LOADA(3) T_LOADB(0) T_LOADB(1) T_LOADB(2)
           T_LOADB(3) ROW4(T_FMA, 0) ROW4(T_FMA, 1) ROW4(T_FMA, 2) ROW4(T_FMA, 3))
    ROW4(T_STORE, 0) ROW4(T_STORE, 1) ROW4(T_STORE, 2) ROW4(T_STORE, 3)
}

static AVX512 void nn_tile_t41(T_ARGS)
{
    ROW4(T_DECL, 0)
    T_LOOP(T_LOADA(0) T_LOADA(1) T_LOADA(2) T_LOADA(3) T_LOADB(0) ROW4(T_FMA, 0))
    ROW4(T_STORE, 0)
}

static AVX512 void nn_tile_t14(T_ARGS)
{
    T_DECL(0, 0) T_DECL(0, 1) T_DECL(0, 2) T_DECL(0, 3)
    T_LOOP(T_LOADA(0) T_LOADB(0) T_LOADB(1) T_LOADB(2) T_LOADB(3) T_FMA(0, 0) T_FMA(0, 1)
           T_FMA(0, 2) T_FMA(0, 3))
    T_STORE(0, 0) T_STORE(0, 1) T_STORE(0, 2) T_STORE(0, 3)
}

static AVX512 void nn_tile_t11(T_ARGS)
{
    T_DECL(0, 0)
    T_LOOP(T_LOADA(0) T_LOADB(0) T_FMA(0, 0))
    T_STORE(0, 0)
}

/* The reduction is cut into blocks of L_BLOCK columns so that the 4 + 4 rows a tile reads stay
 * in L1 while every tile of a row block passes over them; each block's sums are added to C in
 * block order (a fixed order, from the shapes alone). */
#define L_BLOCK 1024

static AVX512 void gemm_nt_avx512(int M, int K, int L, const float *a, int64_t lda,
                                  const float *b, int64_t ldb, float *c, int64_t ldc, int add)
{
    for (int l0 = 0; l0 < L; l0 += L_BLOCK) {
        const int nl = L - l0 < L_BLOCK ? L - l0 : L_BLOCK, ad = add || l0 > 0;
        for (int i = 0; i < M;) {
            const int r = M - i >= 4 ? 4 : 1;
            for (int j = 0; j < K;) {
                const int q = K - j >= 4 ? 4 : 1;
                const float *ai = a + i * lda + l0, *bj = b + j * ldb + l0;
                float *cij = c + i * ldc + j;
                if (r == 4 && q == 4) nn_tile_t44(nl, ai, lda, bj, ldb, cij, ldc, ad);
                else if (r == 4) nn_tile_t41(nl, ai, lda, bj, ldb, cij, ldc, ad);
                else if (q == 4) nn_tile_t14(nl, ai, lda, bj, ldb, cij, ldc, ad);
                else nn_tile_t11(nl, ai, lda, bj, ldb, cij, ldc, ad);
                j += q;
            }
            i += r;
        }
    }
}
#else
static void gemm_nn_avx512(int M, int N, int K, const float *a, int64_t ars, int64_t acs,
                           const float *b, int64_t ldb, float *c, int64_t ldc, int add,
                           const float *bias, int relu)
{
    (void)M, (void)N, (void)K, (void)a, (void)ars, (void)acs, (void)b, (void)ldb, (void)c;
    (void)ldc, (void)add, (void)bias, (void)relu;
}
static void gemm_nt_avx512(int M, int K, int L, const float *a, int64_t lda, const float *b,
                           int64_t ldb, float *c, int64_t ldc, int add)
{
    (void)M, (void)K, (void)L, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc;
    (void)add;
}
#endif

void nn_gemm_w_b(int M, int N, int K, const float *w, int trans_w, int ldw, const float *b,
                 int ldb, float *c, int ldc, int add)
{
    /* W^T @ B (the input gradients' dcol = w^T dy): OpenBLAS stays faster there (measured with
     * bench_nn_gemm: ours 0.92-0.96x on conv2-conv5 of `default`) */
    if (!trans_w && use_avx512((int64_t)M * K)) {
        gemm_nn_avx512(M, N, K, w, ldw, 1, b, ldb, c, ldc, add == NN_GEMM_ONTO_ZEROS ? 0 : add,
                       NULL, 0); /* onto zeros: no need to read them */
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_w ? CblasTrans : CblasNoTrans, CblasNoTrans, M, N, K, 1.0f,
                w, ldw, b, ldb, add ? 1.0f : 0.0f, c, ldc); /* onto zeros: beta 1, no zeroing pass */
}

void nn_gemm_w_b_any_a(int M, int N, int K, const float *w, int ldw, const float *b, int ldb,
                       float *c, int ldc)
{
    /* Winograd's products (N = 32 columns per group of 8 images with F(4x4) on 7x7 maps):
     * OpenBLAS packs all of W for so few columns; our kernel reads W from L2 (bench_conv_layers
     * paper) */
    if (use_avx512(0)) {
        gemm_nn_avx512(M, N, K, w, ldw, 1, b, ldb, c, ldc, 0, NULL, 0);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, w, ldw, b, ldb, 0.0f, c, ldc);
}

void nn_gemm_conv_forward(int M, int N, int K, const float *w, const float *b, int ldb,
                          float *c, int ldc, const float *bias, int relu)
{
    if (use_avx512((int64_t)M * K)) { /* bias and ReLU as each tile is stored, while in registers */
        gemm_nn_avx512(M, N, K, w, K, 1, b, ldb, c, ldc, 0, bias, relu);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, w, K, b, ldb, 0.0f, c, ldc);
    for (int i = 0; i < M; i++) {
        float *ci = c + (int64_t)i * ldc, bi = bias[i];
        if (relu)
            for (int j = 0; j < N; j++) {
                const float v = ci[j] + bi;
                ci[j] = v > 0.0f ? v : 0.0f;
            }
        else
            for (int j = 0; j < N; j++) ci[j] += bi;
    }
}

void nn_gemm_a_bt(int M, int K, int L, const float *a, int lda, const float *b, int ldb,
                  float *c, int ldc, int add)
{
    /* short reductions: the 16-lane sums' final reduction costs too much next to L/16 FMAs
     * (bench_nn_gemm: ours 0.94x at L = 392, 1.06-1.85x at L >= 1568) */
    if (L >= NN_GEMM_NT_MIN_L && use_avx512((int64_t)M * K)) {
        gemm_nt_avx512(M, K, L, a, lda, b, ldb, c, ldc, add);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, L, 1.0f, a, lda, b, ldb,
                add ? 1.0f : 0.0f, c, ldc);
}
