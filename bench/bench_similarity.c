/* Benchmark driver for the similarity measures.
 *   bench_similarity OUT LASSO_PATH FILE1 FILE2
 * One statistics pass over the two nets' files (cvg_stats_compute without a reservoir, then
 * cvg_stats_save), then every measure between the two nets (cvg_blocks_load +
 * cvg_blocks_similarity) and the lasso path both ways (LASSO_PATH lambdas; 0: skipped).
 * Prints one JSON object with the seconds of each step and the measures (read by
 * similarity_bench.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convergent.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_similarity: %s: %s\n", what, cvg_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_similarity OUT LASSO_PATH FILE1 FILE2\n");
        return 2;
    }
    const char *out = argv[1];
    const int lasso_path = atoi(argv[2]);
    const char *files[2] = {argv[3], argv[4]};
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.reservoir = 0;
    double t0 = now();
    cvg_stats *s;
    if (cvg_stats_compute(files, 2, "bench", &opt, &s) != CVG_OK) return fail("stats");
    if (cvg_stats_save(s, out) != CVG_OK) return fail("save");
    cvg_stats_free(s);
    double t1 = now();
    char layer[4096];
    snprintf(layer, sizeof layer, "%s/bench", out);
    cvg_blocks b;
    if (cvg_blocks_load(layer, &b) != CVG_OK) return fail("load");
    double t2 = now();
    cvg_similarity sim;
    if (cvg_blocks_similarity(&b, 0, 1, NULL, &sim) != CVG_OK) return fail("similarity");
    double t3 = now();
    double t_lasso = 0, r2_last = 0, nnz_last = 0;
    if (lasso_path > 0) {
        cvg_lasso_options lo;
        cvg_lasso_options_init(&lo);
        lo.path = lasso_path;
        const int64_t S = b.offset[1];
        for (int dir = 0; dir < 2; dir++) {
            cvg_lasso_result r;
            double l0 = now();
            if (cvg_lasso_path(b.comoment, b.dim, dir ? S : 0, S, dir ? 0 : S, S, &lo, &r) != CVG_OK)
                return fail("lasso");
            t_lasso += now() - l0;
            r2_last = r.mean_r2[r.path - 1];
            nnz_last = r.mean_nnz[r.path - 1];
            cvg_lasso_result_free(&r);
        }
    }
    printf("{\"pass_seconds\": %.4f, \"load_seconds\": %.4f, \"measures_seconds\": %.4f, "
           "\"lasso_seconds\": %.4f, \"lasso_last_mean_r2\": %.6f, \"lasso_last_mean_nnz\": %.3f",
           t1 - t0, t2 - t1, t3 - t2, t_lasso, r2_last, nnz_last);
    for (int m = 0; m < CVG_SIM_MEASURES; m++)
        printf(", \"%s\": %.10g", cvg_measure_name((cvg_measure)m), sim.defined[m] ? sim.value[m] : -1.0);
    printf("}\n");
    cvg_similarity_free(&sim);
    cvg_blocks_free(&b);
    return 0;
}
