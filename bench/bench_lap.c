/* Benchmark driver for the assignment solver, run by bench/lap_bench.py.
 *
 *   bench_lap MATRIX.f64 ROWS COLS REPEATS [OUT.i64]
 *
 * MATRIX.f64: ROWS x COLS float64, native (little-endian) order, C order, as numpy's
 * ndarray.tofile writes it. Solves the max-weight assignment REPEATS times and prints one line
 *   total=<objective> seconds=<t1>,<t2>,...
 * (wall time of cvg_assignment_max only, not of reading the file). OUT.i64, if given, receives
 * row_to_col as int64. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "convergent.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s MATRIX.f64 ROWS COLS REPEATS [OUT.i64]\n", argv[0]);
        return 2;
    }
    long long rows = atoll(argv[2]), cols = atoll(argv[3]);
    int repeats = atoi(argv[4]);
    if (rows <= 0 || cols <= 0 || repeats <= 0) {
        fprintf(stderr, "bad ROWS, COLS or REPEATS\n");
        return 2;
    }
    size_t count = (size_t)rows * (size_t)cols;
    double *score = malloc(count * sizeof(double));
    int64_t *r2c = malloc((size_t)rows * sizeof(int64_t));
    FILE *fp = fopen(argv[1], "rb");
    if (!score || !r2c || !fp || fread(score, sizeof(double), count, fp) != count) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(fp);
    double total = 0.0;
    printf("total=");
    double *secs = malloc((size_t)repeats * sizeof(double));
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        cvg_status st = cvg_assignment_max(score, rows, cols, r2c, &total);
        secs[r] = now() - t0;
        if (st != CVG_OK) {
            fprintf(stderr, "cvg_assignment_max: %s\n", cvg_last_error());
            return 1;
        }
    }
    printf("%.17g seconds=", total);
    for (int r = 0; r < repeats; r++) printf("%s%.6f", r ? "," : "", secs[r]);
    printf("\n");
    if (argc > 5) {
        FILE *out = fopen(argv[5], "wb");
        if (!out || fwrite(r2c, sizeof(int64_t), (size_t)rows, out) != (size_t)rows ||
            fclose(out) != 0) {
            fprintf(stderr, "cannot write %s\n", argv[5]);
            return 1;
        }
    }
    free(secs);
    free(score);
    free(r2c);
    return 0;
}
