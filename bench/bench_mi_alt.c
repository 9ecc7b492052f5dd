/* The counting methods considered for the MI matrix, timed on a sample of the work and
 * extrapolated to the whole matrix, to document why mi_count.c does what it does
 * (docs/mutual-information.md). All on random codes with the shape of the benchmark.
 *
 *   bench_mi_alt [ROWS] [DIM] [THREADS]      (defaults 60000 512 2)
 *
 * 1. scalar: one histogram increment per (pair, row): hist[a * 21 + b]++ for every row
 *            (four interleaved sub-histograms).
 * 2. sgemm:  joint counts as a product of one-hot matrices, C = O^T O with O of shape
 *            rows x (21 * dim) in float32 (exact up to 2^24 rows); OpenBLAS sgemm on a slice of
 *            the columns, extrapolated to the upper triangle (half of the full product).
 * 3. ours:   cvg_mi_from_codes on the same codes (whole matrix, not extrapolated). */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convergent.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const int64_t rows = argc > 1 ? atoll(argv[1]) : 60000, dim = argc > 2 ? atoll(argv[2]) : 512;
    const int threads = argc > 3 ? atoi(argv[3]) : 2;
    const int levels = 21;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    uint8_t *codes = malloc((size_t)(rows * dim));
    uint64_t s = 12345;
    for (int64_t e = 0; e < rows * dim; e++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const uint32_t u = (uint32_t)(s >> 33) % 40; /* half zeros, like ReLU units */
        codes[e] = (uint8_t)(u < 20 ? 0 : u - 19);
    }
    const double pairs = (double)dim * (dim + 1) / 2;

    /* 1. scalar counting, 256 pairs */
    const int np = 256;
    double t0 = now();
    int64_t check = 0;
#pragma omp parallel for reduction(+ : check) schedule(static)
    for (int k = 0; k < np; k++) {
        /* four sub-histograms, so repeated cells do not serialize the increments */
        uint32_t hist[4][21 * 21] = {{0}};
        const uint8_t *ci = codes + (int64_t)(k % dim) * rows;
        const uint8_t *cj = codes + (int64_t)((k * 7 + 1) % dim) * rows;
        int64_t r = 0;
        for (; r + 4 <= rows; r += 4)
            for (int u = 0; u < 4; u++) hist[u][ci[r + u] * levels + cj[r + u]]++;
        for (; r < rows; r++) hist[0][ci[r] * levels + cj[r]]++;
        check += hist[0][k % (21 * 21)] + hist[3][0];
    }
    const double t_scalar = (now() - t0) / np * pairs;
    printf("scalar increments: %.2f ns per pair-row -> %.1f s for the matrix (%d threads)\n",
           (now() - t0) / np / (double)rows * 1e9 * threads, t_scalar, threads);

    /* 2. one-hot sgemm on a slice: (21 * 64 columns)^T x (21 * dim columns), K = rows chunk */
    const int64_t kc = rows < 8192 ? rows : 8192, ma = 21 * 64, nb = 21 * dim;
    float *oa = calloc((size_t)(kc * ma), sizeof(float));
    float *ob = calloc((size_t)(kc * nb), sizeof(float));
    float *c = malloc((size_t)(ma * nb) * sizeof(float));
    for (int64_t r = 0; r < kc; r++)
        for (int64_t i = 0; i < dim; i++) {
            const int a = codes[i * rows + r];
            ob[r * nb + i * levels + a] = 1;
            if (i < 64) oa[r * ma + i * levels + a] = 1;
        }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ma, (int)nb, (int)kc, 1.0f, oa,
                (int)ma, ob, (int)nb, 0.0f, c, (int)nb); /* warm-up */
    t0 = now();
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ma, (int)nb, (int)kc, 1.0f, oa,
                (int)ma, ob, (int)nb, 0.0f, c, (int)nb);
    const double t_slice = now() - t0;
    const double flops = 2.0 * ma * nb * kc;
    /* whole upper triangle: (21 dim)^2 / 2 outputs over all rows */
    const double t_gemm = t_slice * ((double)nb * nb / 2 / ((double)ma * nb)) * ((double)rows / kc);
    printf("one-hot sgemm: %.0f GFLOP/s -> %.1f s for the matrix (%d threads)\n",
           flops / t_slice * 1e-9, t_gemm, threads);

    /* 3. ours */
    double *mi = malloc((size_t)(dim * dim) * sizeof(double));
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    opt.threads = threads;
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        t0 = now();
        if (cvg_mi_from_codes(codes, rows, dim, levels, &opt, mi) != CVG_OK) {
            fprintf(stderr, "%s\n", cvg_last_error());
            return 1;
        }
        const double t = now() - t0;
        if (t < best) best = t;
    }
    printf("convergent (vector compare kernel, whole matrix): %.3f s (%d threads, best of 3)\n",
           best, threads);
    printf("(check %lld %g)\n", (long long)check, (double)c[0]);
    free(codes), free(oa), free(ob), free(c), free(mi);
    return 0;
}
