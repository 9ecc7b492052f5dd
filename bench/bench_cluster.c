/* Benchmark driver for cvg_cluster (bench/cluster_bench.py runs it beside scikit-learn).
 *   bench_cluster CORR S K REPEATS LABELS [--solver auto|dense|krylov|sparse] [--alpha A]
 *                 [--kmax K] [--restarts R] [--laplacian unnormalized|random-walk]
 *                 [--threads T] [--refine 0|1]
 * CORR: raw little-endian float64, 2S x 2S row-major. Writes the leaf labels of the last repeat to LABELS
 * (raw int32), prints one line per repeat and the median, in seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convergent.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void log_stderr(cvg_log_level level, const char *message, void *user)
{
    (void)level;
    (void)user;
    fprintf(stderr, "%s\n", message);
}

static int progress_stderr(const char *task, uint64_t done, uint64_t total, void *user)
{
    if (getenv("BENCH_PROGRESS"))
        fprintf(stderr, "%8.3f %s %llu/%llu\n", now() - *(double *)user, task,
                (unsigned long long)done, (unsigned long long)total);
    return 0;
}

int main(int argc, char **argv)
{
    cvg_set_log(log_stderr, NULL);
    if (argc < 6) {
        fprintf(stderr, "usage: %s CORR S K REPEATS LABELS [--solver auto|dense|krylov|sparse] "
                        "[--alpha A] [--kmax K] [--restarts R] [--laplacian unnormalized|random-walk] [--threads T] "
                        "[--refine 0|1]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int64_t S = atoll(argv[2]), n = 2 * S;
    int repeats = atoi(argv[4]);
    cvg_cluster_options opt;
    cvg_cluster_options_init(&opt);
    opt.k = atoi(argv[3]);
    opt.alpha = 1e9; /* flat, like scikit-learn, unless --alpha */
    for (int i = 6; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--solver"))
            opt.eigensolver = !strcmp(argv[i + 1], "dense")    ? CVG_EIG_DENSE
                              : !strcmp(argv[i + 1], "krylov") ? CVG_EIG_KRYLOV
                              : !strcmp(argv[i + 1], "sparse") ? CVG_EIG_SPARSE
                                                               : CVG_EIG_AUTO;
        else if (!strcmp(argv[i], "--alpha"))
            opt.alpha = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--kmax"))
            opt.k_max = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--restarts"))
            opt.restarts = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--refine"))
            opt.refine = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            opt.threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--laplacian"))
            opt.laplacian = !strcmp(argv[i + 1], "random-walk") ? CVG_LAPLACIAN_RANDOM_WALK
                                                               : CVG_LAPLACIAN_UNNORMALIZED;
    }
    double *corr = malloc(sizeof(double) * (size_t)(n * n));
    FILE *fp = fopen(path, "rb");
    if (!corr || !fp || fread(corr, sizeof(double), (size_t)(n * n), fp) != (size_t)(n * n)) {
        fprintf(stderr, "%s: cannot read %lld x %lld float64\n", path, (long long)n, (long long)n);
        return 1;
    }
    fclose(fp);
    double *times = malloc(sizeof(double) * (size_t)repeats);
    cvg_clustering *c = NULL;
    for (int r = 0; r < repeats; r++) {
        cvg_clustering_free(c);
        double t0 = now();
        opt.progress = progress_stderr;
        opt.progress_user = &t0;
        cvg_status st = cvg_cluster(corr, S, &opt, &c);
        times[r] = now() - t0;
        if (st != CVG_OK) {
            fprintf(stderr, "cvg_cluster: %s\n", cvg_last_error());
            return 1;
        }
        static const char *const used[] = {"none", "dense", "krylov", "sparse"};
        printf("repeat %d: %.4f s (k %d, suggested %d, leaves %d, components %lld, solver %s)\n",
               r, times[r], cvg_clustering_k(c), cvg_clustering_suggested_k(c),
               cvg_clustering_leaves(c), (long long)cvg_clustering_components(c),
               used[cvg_clustering_eigensolver(c)]);
    }
    qsort(times, (size_t)repeats, sizeof(double), cmp_double);
    /* peak resident set of this process (VmHWM: getrusage's maxrss would carry the parent's
     * peak across fork and exec), the 2S x 2S input included */
    double hwm_kib = 0.0;
    char line[256];
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "VmHWM:", 6)) hwm_kib = atof(line + 6);
    if (status) fclose(status);
    printf("peak_rss_mib %.1f input_mib %.1f\n", hwm_kib / 1024.0,
           (double)(n * n) * sizeof(double) / 1048576.0);
    printf("median %.6f\n", times[repeats / 2]);
    fp = fopen(argv[5], "wb");
    if (!fp || fwrite(cvg_clustering_labels(c), sizeof(int32_t), (size_t)n, fp) != (size_t)n) {
        fprintf(stderr, "%s: cannot write\n", argv[5]);
        return 1;
    }
    fclose(fp);
    cvg_clustering_free(c);
    free(corr);
    free(times);
    return 0;
}
