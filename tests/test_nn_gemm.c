/* The convolutions' matrix products (src/nn/gemm.c) against a brute-force double-precision
 * product, through both paths (the AVX-512 kernels where the CPU has them, and OpenBLAS): the
 * presets' shapes and shapes with every kind of tail (rows not a multiple of 8 or 4, columns
 * not a multiple of 32 or 16, reductions not a multiple of 16, strides wider than the rows),
 * with and without accumulation into C. Tolerance: float32 sums of K products of values in
 * [-1, 1], |error| <= 1e-5 * (K + 1) (the worst-case float rounding bound is K * 6e-8 * sum|ab|,
 * far below this; an indexing mistake is off by ~0.1-1). */
#include <math.h>
#include <stdlib.h>

#include "test_support.h"
#include "nn/layers.h"

static uint64_t seed = 77;

static float *random_floats(int64_t n)
{
    float *v = malloc((size_t)n * sizeof *v);
    assert_non_null(v);
    for (int64_t i = 0; i < n; i++) v[i] = (float)(2.0 * test_rand_uniform(&seed) - 1.0);
    return v;
}

/* C (M, N; ldc) [+]= W @ B or W^T @ B (W stored (K, M) then), B (K, N; ldb): checks both paths. */
static void check_w_b(int M, int N, int K, int trans_w, int ldb, int ldc, int add)
{
    const int ldw = trans_w ? M : K;
    float *w = random_floats((int64_t)M * K), *b = random_floats((int64_t)K * ldb);
    float *c0 = random_floats((int64_t)M * ldc), *c = malloc((size_t)M * ldc * sizeof *c);
    assert_non_null(c);
    for (int force = 0; force < 2; force++) {
        for (int64_t i = 0; i < (int64_t)M * ldc; i++) c[i] = c0[i];
        nn_gemm_force_blas = force;
        nn_gemm_w_b(M, N, K, w, trans_w, ldw, b, ldb, c, ldc, add);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < ldc; j++) {
                double ref = j < N && add ? c0[i * ldc + j] : 0;
                if (j < N)
                    for (int k = 0; k < K; k++)
                        ref += (double)(trans_w ? w[k * ldw + i] : w[i * ldw + k]) * b[k * ldb + j];
                else
                    ref = c0[i * ldc + j]; /* columns beyond N are not touched */
                if (fabs(c[i * ldc + j] - ref) > 1e-5 * (K + 1))
                    fail_msg("w_b M %d N %d K %d trans %d add %d blas %d: C[%d,%d] = %g, want %g",
                             M, N, K, trans_w, add, force, i, j, c[i * ldc + j], ref);
            }
    }
    nn_gemm_force_blas = 0;
    free(w), free(b), free(c0), free(c);
}

/* C (M, K; ldc) [+]= A (M, L; lda) @ B^T, B (K, L; ldb). */
static void check_a_bt(int M, int K, int L, int lda, int ldb, int add)
{
    float *a = random_floats((int64_t)M * lda), *b = random_floats((int64_t)K * ldb);
    float *c0 = random_floats((int64_t)M * K), *c = malloc((size_t)M * K * sizeof *c);
    assert_non_null(c);
    for (int force = 0; force < 2; force++) {
        for (int64_t i = 0; i < (int64_t)M * K; i++) c[i] = c0[i];
        nn_gemm_force_blas = force;
        nn_gemm_a_bt(M, K, L, a, lda, b, ldb, c, K, add);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < K; j++) {
                double ref = add ? c0[i * K + j] : 0;
                for (int l = 0; l < L; l++) ref += (double)a[i * lda + l] * b[j * ldb + l];
                if (fabs(c[i * K + j] - ref) > 1e-5 * (L + 1))
                    fail_msg("a_bt M %d K %d L %d add %d blas %d: C[%d,%d] = %g, want %g", M, K, L,
                             add, force, i, j, c[i * K + j], ref);
            }
    }
    nn_gemm_force_blas = 0;
    free(a), free(b), free(c0), free(c);
}

static void test_weights_times_columns(void **state)
{
    (void)state;
    /* the default preset's forward products (OC, 8 images' positions, C*K*K) */
    check_w_b(16, 6272, 25, 0, 6272, 6272, 0);
    check_w_b(32, 1568, 400, 0, 1568, 1568 * 2, 0);
    check_w_b(48, 392, 288, 0, 392, 392, 0);
    /* its input-gradient products (C*K*K, positions, OC), W transposed, adding */
    check_w_b(400, 392, 32, 1, 392 * 2, 392, 1);
    check_w_b(432, 392, 48, 1, 392, 392, 1);
    /* tails: rows 1..13 (8 + 4 + 1 tiles), columns 1..70 (masked halves), K = 1 */
    for (int M = 1; M <= 13; M += 3)
        for (int N = 1; N <= 70; N += 11)
            for (int tr = 0; tr < 2; tr++) {
                check_w_b(M, N, 7, tr, N + 3, N + 5, tr);
                check_w_b(M, N, 1, tr, N, N, !tr);
            }
}

/* relu(W @ B + bias) (the forward product with its bias and ReLU), both paths. */
static void check_conv_forward(int M, int N, int K, int ldb, int ldc, int relu)
{
    float *w = random_floats((int64_t)M * K), *b = random_floats((int64_t)K * ldb);
    float *bias = random_floats(M), *c = random_floats((int64_t)M * ldc);
    for (int force = 0; force < 2; force++) {
        nn_gemm_force_blas = force;
        nn_gemm_conv_forward(M, N, K, w, b, ldb, c, ldc, bias, relu);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                double ref = bias[i];
                for (int k = 0; k < K; k++) ref += (double)w[i * K + k] * b[k * ldb + j];
                if (relu && ref < 0) ref = 0;
                if (fabs(c[i * ldc + j] - ref) > 1e-5 * (K + 2))
                    fail_msg("conv_forward M %d N %d K %d relu %d blas %d: C[%d,%d] = %g, want %g",
                             M, N, K, relu, force, i, j, c[i * ldc + j], ref);
            }
    }
    nn_gemm_force_blas = 0;
    free(w), free(b), free(bias), free(c);
}

static void test_forward_bias_relu(void **state)
{
    (void)state;
    check_conv_forward(32, 1568, 400, 1568, 1568 * 3, 1);
    check_conv_forward(16, 6272, 25, 6272, 6272, 0);
    for (int M = 1; M <= 13; M += 4)
        for (int N = 3; N <= 600; N += 97) check_conv_forward(M, N, 9, N + 1, N + 2, N & 1);
}

static void test_columns_times_columns(void **state)
{
    (void)state;
    /* the default preset's weight-gradient products (OC, C*K*K, positions) */
    check_a_bt(16, 25, 6272, 6272 * 2, 6272, 0);
    check_a_bt(32, 400, 1568, 1568, 1568, 1);
    check_a_bt(48, 432, 392, 392, 392, 0);
    /* tails: rows and columns not multiples of 4, reductions around 16 and the 1024 block */
    for (int M = 1; M <= 9; M += 4)
        for (int K = 1; K <= 10; K += 3)
            for (int L = 1; L <= 40; L += 13) check_a_bt(M, K, L, L + 2, L + 1, (M + K) & 1);
    check_a_bt(5, 6, 1024, 1024, 1024, 0);
    check_a_bt(5, 6, 2049, 2050, 2049, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_weights_times_columns),
        cmocka_unit_test(test_columns_times_columns),
        cmocka_unit_test(test_forward_bias_relu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
