/* k-means speed-ups that must not change the result (src/cluster/kmeans*.c):
 *   - the hand-written inner-product kernel against brute force, and one point computed alone
 *     equal bit for bit to the same point computed in a block;
 *   - Lloyd stopped at a cycle of labels gives the labels and inertia of running on to
 *     max_iter, bit for bit (on data that does cycle: fewer distinct points than clusters);
 *   - k-means++ seeding skipping the points that sit on a centre == computing them all;
 *   - a batch of k-means equals one call per job, and 1 and 2 threads give the same labels;
 *   - the whole clustering with 1 and 2 threads gives the same tree. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "cluster/kmeans_kernel.h"
#include "cluster/kmeans_run.h"
#include "cluster_planted.h"
#include "test_support.h"

static double *random_points(int64_t n, int dim, uint64_t seed)
{
    uint64_t st = seed;
    double *X = malloc(sizeof(double) * (size_t)n * dim);
    for (int64_t i = 0; i < n * dim; i++) X[i] = test_rand_normal(&st);
    return X;
}

static void test_kernel_against_brute_force(void **state)
{
    (void)state;
    enum { NP = 13, DIM = 37, COLS = 11 };
    int ld = cvg__km_padded(COLS);
    assert_int_equal(ld, 16);
    double *X = random_points(NP, DIM, 5), *ct = random_points(DIM, ld, 6);
    double *out = calloc((size_t)NP * ld, sizeof(double)), *one = calloc((size_t)ld, sizeof(double));
    cvg__km_dots(X, NP, DIM, ct, ld, COLS, out, ld);
    for (int p = 0; p < NP; p++) {
        for (int j = 0; j < COLS; j++) {
            long double s = 0.0L, mag = 0.0L;
            for (int q = 0; q < DIM; q++) {
                s += (long double)X[p * DIM + q] * ct[q * ld + j];
                mag += fabsl((long double)X[p * DIM + q] * ct[q * ld + j]);
            }
            if (fabsl(out[p * ld + j] - s) > 1e-14L * mag)
                fail_msg("point %d column %d: %.17g vs %.17Lg", p, j, out[p * ld + j], s);
        }
        /* alone (the one-point path) == in its block of four (or the remainder) */
        cvg__km_dots(X + p * DIM, 1, DIM, ct, ld, COLS, one, ld);
        assert_memory_equal(one, out + p * ld, sizeof(double) * COLS);
    }
    /* an offset block: points 1..12 (blocks fall differently) give the same entries */
    double *shifted = calloc((size_t)NP * ld, sizeof(double));
    cvg__km_dots(X + DIM, NP - 1, DIM, ct, ld, COLS, shifted, ld);
    for (int p = 1; p < NP; p++)
        assert_memory_equal(shifted + (p - 1) * ld, out + p * ld, sizeof(double) * COLS);
    free(X);
    free(ct);
    free(out);
    free(one);
    free(shifted);
}

/* k-means with and without the cycle stop: the same labels and inertia, bit for bit. */
static void same_with_and_without_cycles(int64_t n, int dim, const double *X, int k, int restarts,
                                         int max_iter, uint64_t seed)
{
    int32_t *a = malloc(sizeof(int32_t) * (size_t)n), *b = malloc(sizeof(int32_t) * (size_t)n);
    double ia, ib;
    cvg__km_detect_cycles = 0;
    assert_cvg_ok(cvg__kmeans(n, dim, X, k, restarts, max_iter, seed, a, &ia));
    cvg__km_detect_cycles = 1;
    assert_cvg_ok(cvg__kmeans(n, dim, X, k, restarts, max_iter, seed, b, &ib));
    assert_memory_equal(a, b, sizeof(int32_t) * (size_t)n);
    assert_true(ia == ib);
    free(a);
    free(b);
}

static void test_cycle_stop_equals_full_run(void **state)
{
    (void)state;
    /* A blob of identical points (the origin, where the units of small graph components sit in
     * the embedding) and a few distinct ones: fewer distinct points than clusters, so every
     * iteration empties clusters and the empty-cluster rule refills them: a cycle. */
    enum { N = 300, DIM = 5, K = 12 };
    double *X = calloc((size_t)N * DIM, sizeof(double));
    uint64_t st = 11;
    for (int i = 0; i < 6; i++)
        for (int q = 0; q < DIM; q++) X[i * DIM + q] = test_rand_normal(&st);
    long before = cvg__km_cycles_found;
    for (int max_iter = 1; max_iter <= 40; max_iter += 3)
        same_with_and_without_cycles(N, DIM, X, K, 3, max_iter, 7);
    same_with_and_without_cycles(N, DIM, X, K, 10, 300, 8);
    if (cvg__km_cycles_found == before) fail_msg("the data did not cycle: the test checks nothing");
    /* duplicates in 1-D (fewer distinct values than k) and ordinary random data */
    double Y[24];
    for (int i = 0; i < 24; i++) Y[i] = (double)(i % 4);
    same_with_and_without_cycles(24, 1, Y, 7, 5, 300, 3);
    /* 2-D, many clusters: dozens of Lloyd iterations, few labels changing in the late ones */
    double *R = random_points(1500, 2, 21);
    for (int max_iter = 2; max_iter <= 300; max_iter = max_iter * 2 + 1)
        same_with_and_without_cycles(1500, 2, R, 25, 3, max_iter, 4);
    free(X);
    free(R);
}

/* k-means++ seeding that skips the points sitting on a centre == computing them all. */
static void test_seeding_skip_equals_full(void **state)
{
    (void)state;
    enum { N = 400, DIM = 6, K = 10 };
    double *X = calloc((size_t)N * DIM, sizeof(double)), *R = random_points(N, DIM, 31);
    uint64_t st = 13;
    for (int i = 0; i < 40; i++) /* 40 distinct points, 360 at the origin */
        for (int q = 0; q < DIM; q++) X[i * DIM + q] = test_rand_normal(&st);
    for (int i = 0; i < N; i += 3) memcpy(R + (i + 1) * DIM % (N * DIM), R + i * DIM, sizeof(double) * DIM);
    const double *data[2] = {X, R};
    for (int d = 0; d < 2; d++)
        for (int max_iter = 1; max_iter <= 300; max_iter *= 300) { /* 1: the seeds' own labels */
            int32_t a[N], b[N];
            double ia, ib;
            cvg__km_skip_duplicates = 0;
            assert_cvg_ok(cvg__kmeans(N, DIM, data[d], K, 4, max_iter, 9, a, &ia));
            cvg__km_skip_duplicates = 1;
            assert_cvg_ok(cvg__kmeans(N, DIM, data[d], K, 4, max_iter, 9, b, &ib));
            assert_memory_equal(a, b, sizeof a);
            assert_true(ia == ib);
        }
    free(X);
    free(R);
}

/* Several jobs as one batch == one cvg__kmeans per job; and the batch with 1 and 2 threads. */
static void test_batch_equals_single_calls_and_threads(void **state)
{
    (void)state;
    enum { JOBS = 4, RESTARTS = 6 };
    /* sizes: the first is above the parallel threshold (2e7 multiply-adds) on its own
     * (1500 x 16 x 24 x (1 + 5 trials) x 6 restarts = 2.07e7), the others small */
    const int64_t n[JOBS] = {1500, 300, 7, 120};
    const int dim[JOBS] = {16, 16, 16, 3};
    const int k[JOBS] = {24, 5, 7, 4};
    double *X[JOBS];
    int32_t *single[JOBS], *batch[JOBS];
    double inertia[JOBS];
    cvg__kmeans_job jobs[JOBS];
    for (int j = 0; j < JOBS; j++) {
        X[j] = random_points(n[j], dim[j], 100 + j);
        single[j] = malloc(sizeof(int32_t) * (size_t)n[j]);
        batch[j] = malloc(sizeof(int32_t) * (size_t)n[j]);
        assert_cvg_ok(cvg__kmeans(n[j], dim[j], X[j], k[j], RESTARTS, 300, 50 + j, single[j],
                                  &inertia[j]));
    }
    for (int threads = 1; threads <= 2; threads++) {
        omp_set_num_threads(threads);
        for (int j = 0; j < JOBS; j++) {
            memset(batch[j], 0xff, sizeof(int32_t) * (size_t)n[j]);
            jobs[j] = (cvg__kmeans_job){.n = n[j], .dim = dim[j], .X = X[j], .k = k[j],
                                        .seed = 50 + (uint64_t)j, .labels = batch[j]};
        }
        assert_cvg_ok(cvg__kmeans_batch(jobs, JOBS, RESTARTS, 300));
        for (int j = 0; j < JOBS; j++) {
            assert_memory_equal(batch[j], single[j], sizeof(int32_t) * (size_t)n[j]);
            assert_true(jobs[j].inertia == inertia[j]);
        }
    }
    omp_set_num_threads(2);
    /* bad job: named error, nothing run */
    jobs[1].k = (int)n[1] + 1;
    assert_int_equal(cvg__kmeans_batch(jobs, JOBS, RESTARTS, 300), CVG_ERR_ARG);
    for (int j = 0; j < JOBS; j++) {
        free(X[j]);
        free(single[j]);
        free(batch[j]);
    }
}

/* The whole clustering (root, and levels of splits run as batches) with 1 and 2 threads. */
static void test_cluster_threads_same_tree(void **state)
{
    (void)state;
    double *corr;
    int32_t *truth;
    planted_corr(200, 8, 400, 0.35, 1.0, 77, &corr, &truth);
    cvg_cluster_options opt;
    cvg_cluster_options_init(&opt);
    opt.k = 6; /* clusters of ~65 units, split again (limit 2 alpha S = 10) in levels */
    cvg_clustering *c[2] = {NULL, NULL};
    for (int t = 0; t < 2; t++) {
        opt.threads = t + 1;
        assert_cvg_ok(cvg_cluster(corr, 200, &opt, &c[t]));
    }
    assert_int_equal(cvg_clustering_nodes(c[0]), cvg_clustering_nodes(c[1]));
    assert_true(cvg_clustering_nodes(c[0]) > 40); /* several levels of splits */
    assert_memory_equal(cvg_clustering_labels(c[0]), cvg_clustering_labels(c[1]), sizeof(int32_t) * 400);
    for (int i = 0; i < cvg_clustering_nodes(c[0]); i++)
        assert_memory_equal(cvg_clustering_node(c[0], i), cvg_clustering_node(c[1], i),
                            sizeof(cvg_cluster_node));
    cvg_clustering_free(c[0]);
    cvg_clustering_free(c[1]);
    free(corr);
    free(truth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_against_brute_force),
        cmocka_unit_test(test_cycle_stop_equals_full_run),
        cmocka_unit_test(test_seeding_skip_equals_full),
        cmocka_unit_test(test_batch_equals_single_calls_and_threads),
        cmocka_unit_test(test_cluster_threads_same_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
