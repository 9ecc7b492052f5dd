/* Benchmark driver for the MI matrix (run by bench/mi_bench.py, which times numpy on the same
 * data). Reads rows x dim float32 (raw, C order), times cvg_mi_bin and cvg_mi_from_codes
 * `repeat` times, prints one line per repeat, writes the last MI matrix as raw float64.
 *
 *   bench_mi SAMPLES.f32 ROWS DIM [--repeat N] [--threads T] [--kernel NAME] [--bins B]
 *            [--out MI.f64]
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convergent.h"
#include "mi/mi_internal.h"

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU time of all threads: unlike wall time, not inflated when the shared machine's other
 * processes take the cores. */
static double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s SAMPLES.f32 ROWS DIM [--repeat N] [--threads T] "
                        "[--kernel NAME] [--bins B] [--out MI.f64]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1], *out_path = NULL;
    const int64_t rows = atoll(argv[2]), dim = atoll(argv[3]);
    int repeat = 5;
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    for (int k = 4; k + 1 < argc; k += 2) {
        if (!strcmp(argv[k], "--repeat")) repeat = atoi(argv[k + 1]);
        else if (!strcmp(argv[k], "--threads")) opt.threads = atoi(argv[k + 1]);
        else if (!strcmp(argv[k], "--bins")) opt.bins = atoi(argv[k + 1]);
        else if (!strcmp(argv[k], "--out")) out_path = argv[k + 1];
        else if (!strcmp(argv[k], "--kernel")) {
            if (!cvg__mi_force_kernel(argv[k + 1])) {
                fprintf(stderr, "kernel %s not available\n", argv[k + 1]);
                return 2;
            }
        } else {
            fprintf(stderr, "unknown option %s\n", argv[k]);
            return 2;
        }
    }
    float *x = malloc((size_t)(rows * dim) * sizeof *x);
    uint8_t *codes = malloc((size_t)(rows * dim));
    double *mi = malloc((size_t)(dim * dim) * sizeof *mi);
    FILE *fp = fopen(path, "rb");
    if (!x || !codes || !mi || !fp ||
        fread(x, sizeof *x, (size_t)(rows * dim), fp) != (size_t)(rows * dim)) {
        fprintf(stderr, "cannot read %lld x %lld float32 from %s\n", (long long)rows,
                (long long)dim, path);
        return 1;
    }
    fclose(fp);
    printf("kernel %s threads %d\n", cvg__mi_kernel_name(opt.bins),
           opt.threads > 0 ? opt.threads : omp_get_max_threads());
    for (int rep = 0; rep < repeat; rep++) {
        double t0 = now(), c0 = cpu();
        if (cvg_mi_bin(x, rows, dim, &opt, codes, NULL, NULL) != CVG_OK) {
            fprintf(stderr, "%s\n", cvg_last_error());
            return 1;
        }
        double t1 = now(), c1 = cpu();
        if (cvg_mi_from_codes(codes, rows, dim, opt.bins + 1, &opt, mi) != CVG_OK) {
            fprintf(stderr, "%s\n", cvg_last_error());
            return 1;
        }
        double t2 = now(), c2 = cpu();
        printf("bin %.4f mi %.4f total %.4f cpu_bin %.4f cpu_mi %.4f\n", t1 - t0, t2 - t1,
               t2 - t0, c1 - c0, c2 - c1);
        fflush(stdout);
    }
    if (out_path) {
        fp = fopen(out_path, "wb");
        if (!fp || fwrite(mi, sizeof *mi, (size_t)(dim * dim), fp) != (size_t)(dim * dim)) {
            fprintf(stderr, "cannot write %s\n", out_path);
            return 1;
        }
        fclose(fp);
    }
    free(x);
    free(codes);
    free(mi);
    return 0;
}
