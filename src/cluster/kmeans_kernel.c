/* k-means' inner products without BLAS (kmeans_kernel.h says why). */
#include "cluster/kmeans_kernel.h"

/* An AVX-512, an AVX2 and a baseline x86-64 version, picked at load time (as src/nn). Within
 * one version every entry is computed by the one statement `acc += x * c` below, so all
 * entries of a run follow the same rounding (FMA or not) whatever the block they are in:
 * `a += x * c` in block4 and block1 alike. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KM_CLONES
#endif

enum { POINTS = 4, LANES = CVG_KM_LANES };

/* LANES doubles as one value (GCC/Clang vector extension: one zmm, two ymm or four xmm
 * registers, by clone); aligned(8): the operand's rows need not be 64-byte aligned. */
typedef double lanes __attribute__((vector_size(LANES * sizeof(double)), aligned(8)));

/* Four points against the LANES columns starting at ct; the accumulators stay in registers. */
static inline __attribute__((always_inline)) void block4(const double *X, int dim,
                                                         const double *ct, int ldc, double *out,
                                                         int ldo)
{
    lanes a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    const double *x0 = X, *x1 = X + dim, *x2 = X + 2 * dim, *x3 = X + 3 * dim;
    for (int q = 0; q < dim; q++) {
        lanes c = *(const lanes *)(ct + (int64_t)q * ldc);
        a0 += x0[q] * c;
        a1 += x1[q] * c;
        a2 += x2[q] * c;
        a3 += x3[q] * c;
    }
    *(lanes *)out = a0;
    *(lanes *)(out + ldo) = a1;
    *(lanes *)(out + 2 * (int64_t)ldo) = a2;
    *(lanes *)(out + 3 * (int64_t)ldo) = a3;
}

/* One point: the same statement per entry as block4. */
static inline __attribute__((always_inline)) void block1(const double *x, int dim,
                                                         const double *ct, int ldc, double *out)
{
    lanes a0 = {0};
    for (int q = 0; q < dim; q++) {
        lanes c = *(const lanes *)(ct + (int64_t)q * ldc);
        a0 += x[q] * c;
    }
    *(lanes *)out = a0;
}

KM_CLONES static void dots(const double *X, int64_t np, int dim, const double *ct, int ldc,
                           int cols, double *out, int ldo)
{
    int padded = cvg__km_padded(cols);
    int64_t p = 0;
    for (; p + POINTS <= np; p += POINTS)
        for (int j0 = 0; j0 < padded; j0 += LANES)
            block4(X + p * dim, dim, ct + j0, ldc, out + p * ldo + j0, ldo);
    for (; p < np; p++)
        for (int j0 = 0; j0 < padded; j0 += LANES)
            block1(X + p * dim, dim, ct + j0, ldc, out + p * ldo + j0);
}

/* A plain function around the clones: a non-static target_clones function would be exported
 * (its ifunc resolver ignores the hidden visibility), and the library exports only its API. */
void cvg__km_dots(const double *X, int64_t np, int dim, const double *ct, int ldc, int cols,
                  double *out, int ldo)
{
    dots(X, np, dim, ct, ldc, cols, out, ldo);
}
