/* Benchmark driver for the statistics pass.
 *   bench_stats kernels D ROWS REPEATS [KERNEL]
 *                                        time cvg_moments_add_f32 per kernel (or only KERNEL) on
 *                                        random data in memory, and plain cblas_sgemm on the same
 *                                        shape
 *   bench_stats pass OUT FILE...         time one cvg_stats_compute + cvg_stats_save
 * Prints one JSON object per measurement on stdout (read by stats_bench.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "convergent.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int bench_kernels(int64_t D, int64_t rows, int repeats, const char *only)
{
    double *X = malloc((size_t)(rows * D) * sizeof *X);
    float *Xf = malloc((size_t)(rows * D) * sizeof *Xf);
    float *C = malloc((size_t)(D * D) * sizeof *C);
    uint64_t state = 42;
    for (int64_t i = 0; i < rows * D; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        X[i] = (double)(state >> 40) / (double)(1ull << 24);
        Xf[i] = (float)X[i];
    }
    /* Useful work: the rank-k update of the upper triangle, D(D+1)/2 * rows multiply-adds. */
    const double flops = (double)D * (double)(D + 1) * (double)rows;
    double t[64];
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        for (int64_t s = 0; s < rows; s += 1024)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)D, (int)D, 1024, 1.0f,
                        Xf + s * D, (int)D, Xf + s * D, (int)D, 0.0f, C, (int)D);
        t[r] = now() - t0;
    }
    /* sgemm computes both triangles: its rate counts 2*D*D*rows flops. */
    printf("{\"what\": \"sgemm_raw\", \"D\": %lld, \"rows\": %lld, \"seconds\": %.6f, \"gflops\": %.2f}\n",
           (long long)D, (long long)rows, median(t, repeats), 2.0 * D * D * rows / median(t, repeats) / 1e9);
    const char *names[] = {"", "ssyrk", "sgemm", "dsyrk", "fused"};
    for (int k = CVG_KERNEL_SSYRK; k <= CVG_KERNEL_FUSED; k++) {
            if (only && strcmp(only, names[k]) != 0) continue;
            for (int r = 0; r < repeats; r++) {
                cvg_moments *m;
                if (cvg_moments_create(D, (cvg_kernel)k, &m) != CVG_OK) return 1;
                double t0 = now();
                cvg_moments_add_f32(m, Xf, rows, D);
                t[r] = now() - t0;
                cvg_moments_free(m);
            }
            double med = median(t, repeats);
            printf("{\"what\": \"moments\", \"kernel\": \"%s\", \"D\": %lld, "
                   "\"rows\": %lld, \"seconds\": %.6f, \"gflops\": %.2f}\n", names[k],
                   (long long)D, (long long)rows, med, flops / med / 1e9);
            fflush(stdout);
        }
    free(X);
    free(Xf);
    free(C);
    return 0;
}

static int bench_pass(const char *out, int nfiles, char **files)
{
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    cvg_stats *s;
    double t0 = now();
    cvg_status st = cvg_stats_compute((const char *const *)files, nfiles, "bench", &opt, &s);
    double t1 = now();
    if (st == CVG_OK) st = cvg_stats_save(s, out);
    double t2 = now();
    if (st != CVG_OK) {
        fprintf(stderr, "bench_stats: %s\n", cvg_last_error());
        return 1;
    }
    printf("{\"what\": \"pass\", \"samples\": %lld, \"D\": %lld, \"seconds_pass\": %.4f, "
           "\"seconds_total\": %.4f}\n", (long long)cvg_stats_count(s),
           (long long)(cvg_stats_nets(s) * cvg_stats_units(s)), t1 - t0, t2 - t0);
    cvg_stats_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "kernels") == 0) {
        int repeats = atoi(argv[4]);
        if (repeats < 1 || repeats > 64) repeats = 3;
        return bench_kernels(atoll(argv[2]), atoll(argv[3]), repeats, argc >= 6 ? argv[5] : NULL);
    }
    if (argc >= 4 && strcmp(argv[1], "pass") == 0) return bench_pass(argv[2], argc - 3, argv + 3);
    fprintf(stderr, "usage: bench_stats kernels D ROWS REPEATS | pass OUT FILE...\n");
    return 2;
}
