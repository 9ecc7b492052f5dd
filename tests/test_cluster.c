/* Spectral clustering (src/cluster): planted groups recovered, eigenpairs by residual, k-means
 * against brute force, invariance to the order of units, determinism, the tree and the
 * appendix 6.6 metrics recomputed independently. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cluster/cluster_internal.h"
#include "cluster/graph_csr.h"
#include "cluster_planted.h"
#include "core/internal.h"
#include "test_support.h"

/* ---------------------------------------------------------------- options */

static void test_options_defaults(void **state)
{
    (void)state;
    cvg_cluster_options o;
    cvg_cluster_options_init(&o);
    assert_int_equal(o.k, 0);
    assert_int_equal(o.k_max, 0);
    assert_true(o.tau == 0.2);
    assert_true(o.alpha == 0.025);
    assert_int_equal(o.restarts, 10);
    assert_int_equal(o.eigensolver, CVG_EIG_AUTO);
    assert_int_equal(o.laplacian, CVG_LAPLACIAN_UNNORMALIZED);
    assert_int_equal(o.refine, 0); /* the paper's k-means labels; refinement is opt-in */
    /* the paper's k where the layer is as wide as the paper's ... */
    assert_int_equal(cvg_cluster_paper_k(1, 96, 2, NULL, 0), 40);
    assert_int_equal(cvg_cluster_paper_k(1, 4096, 2, NULL, 0), 40);
    assert_int_equal(cvg_cluster_paper_k(0, 256, 2, NULL, 0), 100);
    assert_int_equal(cvg_cluster_paper_k(0, 384, 2, NULL, 0), 100);
    /* ... else its units per cluster: round(2S / 4.8), round(2S / 5.12) */
    assert_int_equal(cvg_cluster_paper_k(1, 16, 2, NULL, 0), 7);   /* 6.67 */
    assert_int_equal(cvg_cluster_paper_k(1, 95, 2, NULL, 0), 40);  /* 39.58 */
    assert_int_equal(cvg_cluster_paper_k(0, 48, 2, NULL, 0), 19);  /* 18.75 */
    assert_int_equal(cvg_cluster_paper_k(0, 32, 2, NULL, 0), 13);  /* 12.5 rounds half up */
    assert_int_equal(cvg_cluster_paper_k(0, 255, 2, NULL, 0), 100); /* 99.6 */
    assert_int_equal(cvg_cluster_paper_k(0, 1, 2, NULL, 0), 1);     /* at least 1 */
    assert_int_equal(cvg_cluster_paper_k(1, 2, 2, NULL, 0), 1);
    /* K nets: the same units per cluster, nets * S / k */
    assert_int_equal(cvg_cluster_paper_k(0, 256, 4, NULL, 0), 200);
    assert_int_equal(cvg_cluster_paper_k(1, 24, 4, NULL, 0), 20);
    char rule[128];
    assert_int_equal(cvg_cluster_paper_k(0, 48, 2, rule, sizeof rule), 19);
    assert_non_null(strstr(rule, "scaled"));
    assert_non_null(strstr(rule, "5.12"));
    assert_int_equal(cvg_cluster_paper_k(1, 96, 2, rule, sizeof rule), 40);
    assert_non_null(strstr(rule, "paper"));
    char tiny[8]; /* truncated, still terminated */
    cvg_cluster_paper_k(1, 96, 2, tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 7);
    /* the older entry point: the first layer is index 0 */
    assert_int_equal(cvg_cluster_default_k(0, 96), 40);
    assert_int_equal(cvg_cluster_default_k(3, 64), 25);
}

/* ---------------------------------------------------------------- eigenpairs */

/* The thresholded graph of a planted correlation matrix, as the library defines it, built
 * here independently: full symmetric W and degrees. */
static void graph_of(const double *corr, int64_t n, double tau, double *W, double *d)
{
    for (int64_t p = 0; p < n; p++) {
        d[p] = 0.0;
        for (int64_t q = 0; q < n; q++) {
            double c = 0.5 * (corr[p * n + q] + corr[q * n + p]);
            W[p * n + q] = (p != q && c > tau) ? c : 0.0;
            d[p] += W[p * n + q];
        }
    }
}

static void check_eigs(int64_t n, const double *W, const double *d, int nev,
                       cvg_eigensolver method, double *vals_out)
{
    double *A = malloc(sizeof(double) * (size_t)n * n);
    for (int64_t j = 0; j < n; j++)
        for (int64_t i = 0; i < n; i++) A[i + j * n] = i < j ? W[i + j * n] : 12345.0;
    double *vals = malloc(sizeof(double) * nev), *vecs = malloc(sizeof(double) * n * nev);
    int iters = -1;
    cvg__eig_request rq = {.nev = nev, .nvec = nev, .method = method, .seed = 7};
    /* One BLAS thread, as cvg_cluster uses for graphs this small (many small calls, each an
     * OpenMP barrier: slow on a loaded machine, and not what is tested here). */
#ifdef _OPENMP
    int saved_threads = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    assert_cvg_ok(cvg__laplacian_eigs(n, A, d, &rq, vals, vecs, &iters));
#ifdef _OPENMP
    omp_set_num_threads(saved_threads);
#endif
    if (method == CVG_EIG_KRYLOV) assert_true(iters >= 1);
    /* The contract on A: strict upper still W, diagonal zero. */
    for (int64_t j = 0; j < n; j++) {
        assert_true(A[j + j * n] == 0.0);
        for (int64_t i = 0; i < j; i++) assert_true(A[i + j * n] == W[i + j * n]);
    }
    double dmax = 0.0;
    for (int64_t i = 0; i < n; i++) dmax = d[i] > dmax ? d[i] : dmax;
    double norm_l = 2.0 * dmax;
    double *lv = malloc(sizeof(double) * n);
    for (int e = 0; e < nev; e++) {
        const double *v = vecs + (size_t)e * n;
        if (e) assert_true(vals[e] >= vals[e - 1] - 1e-12 * norm_l);
        assert_true(vals[e] >= -1e-9 * norm_l); /* L is positive semi-definite */
        /* residual ||L v - lambda v|| with L = D - W formed here */
        double r2 = 0.0, nv = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double s = d[i] * v[i];
            for (int64_t j = 0; j < n; j++) s -= W[i * n + j] * v[j];
            lv[i] = s;
            double r = s - vals[e] * v[i];
            r2 += r * r;
            nv += v[i] * v[i];
        }
        assert_true(fabs(nv - 1.0) < 1e-9);
        if (!(sqrt(r2) <= 1e-8 * norm_l))
            fail_msg("eigenpair %d: residual %g (||L|| <= %g)", e, sqrt(r2), norm_l);
        for (int f = 0; f < e; f++)
            assert_true(fabs(cblas_ddot((int)n, v, 1, vecs + (size_t)f * n, 1)) < 1e-8);
    }
    memcpy(vals_out, vals, sizeof(double) * nev);
    free(lv);
    free(A);
    free(vals);
    free(vecs);
}

static void test_eigenpairs_residuals(void **state)
{
    (void)state;
    const int64_t S = 200;
    const int64_t n = 2 * S;
    double *corr;
    int32_t *truth;
    planted_corr(S, 12, 300, 0.4, 1.0, 11, &corr, &truth);
    double *W = malloc(sizeof(double) * n * n), *d = malloc(sizeof(double) * n);
    graph_of(corr, n, 0.2, W, d);
    for (int64_t i = 0; i < n; i++) assert_true(d[i] > 0.0); /* connected enough: no isolated */
    const int nev = 24;
    double dense[24], krylov[24];
    check_eigs(n, W, d, nev, CVG_EIG_DENSE, dense);
    check_eigs(n, W, d, nev, CVG_EIG_KRYLOV, krylov);
    for (int e = 0; e < nev; e++) assert_true(fabs(dense[e] - krylov[e]) < 1e-8 * (1 + dense[e]));
    /* 12 planted groups: the eigen-gap rule sees them */
    assert_int_equal(cvg__eigengap_k(dense, nev, 2, nev - 1), 12);
    free(W);
    free(d);
    free(corr);
    free(truth);
}

/* A graph with many exactly-zero eigenvalues (disconnected components) and isolated vertices
 * stresses the Krylov block (Krylov space exhausted, degenerate clusters). */
static void test_eigenpairs_components(void **state)
{
    (void)state;
    const int64_t n = 300;
    uint64_t st = 5;
    double *W = calloc(n * n, sizeof(double)), *d = calloc(n, sizeof(double));
    for (int64_t p = 0; p < n; p++)
        for (int64_t q = p + 1; q < n; q++)
            if (p % 15 == q % 15 && p % 15 != 0) { /* 14 cliques, and 20 isolated vertices */
                double w = 0.3 + 0.5 * test_rand_uniform(&st);
                W[p * n + q] = W[q * n + p] = w;
                d[p] += w;
                d[q] += w;
            }
    double dense[40], krylov[40];
    check_eigs(n, W, d, 40, CVG_EIG_DENSE, dense);
    check_eigs(n, W, d, 40, CVG_EIG_KRYLOV, krylov);
    for (int e = 0; e < 34; e++) assert_true(fabs(dense[e]) < 1e-9 && fabs(krylov[e]) < 1e-9);
    for (int e = 34; e < 40; e++)
        assert_true(dense[e] > 1.0 && fabs(dense[e] - krylov[e]) < 1e-8 * dense[e]);
    free(W);
    free(d);
}

static void test_eigengap_rule(void **state)
{
    (void)state;
    double v[] = {0, 0.1, 0.2, 3.0, 3.1, 3.3, 9.0};
    assert_int_equal(cvg__eigengap_k(v, 7, 2, 6), 6);  /* 9.0 - 3.3 */
    assert_int_equal(cvg__eigengap_k(v, 7, 2, 5), 3);  /* 3.0 - 0.2 */
    assert_int_equal(cvg__eigengap_k(v, 4, 2, 10), 3); /* hi capped at count - 1 */
    double flat[] = {0, 0, 0, 0};
    assert_int_equal(cvg__eigengap_k(flat, 4, 2, 3), 2); /* ties: smallest */
}

/* ---------------------------------------------------------------- k-means */

static double inertia_of(const double *X, int64_t n, int dim, const int32_t *lab, int k)
{
    double total = 0.0;
    for (int c = 0; c < k; c++) {
        double mean[8] = {0};
        int64_t cnt = 0;
        for (int64_t i = 0; i < n; i++)
            if (lab[i] == c) {
                cnt++;
                for (int q = 0; q < dim; q++) mean[q] += X[i * dim + q];
            }
        for (int q = 0; q < dim; q++) mean[q] /= cnt ? (double)cnt : 1.0;
        for (int64_t i = 0; i < n; i++)
            if (lab[i] == c)
                for (int q = 0; q < dim; q++) total += pow(X[i * dim + q] - mean[q], 2);
    }
    return total;
}

/* Brute force over every labeling of 9 points into 3 clusters: k-means with restarts reaches
 * the optimum on well-spread data, and reports the inertia it claims. */
static void test_kmeans_brute_force(void **state)
{
    (void)state;
    enum { N = 9, K = 3, DIM = 2 };
    uint64_t st = 3;
    for (int trial = 0; trial < 5; trial++) {
        double X[N * DIM];
        for (int i = 0; i < N * DIM; i++) X[i] = test_rand_normal(&st);
        double best = INFINITY;
        int32_t lab[N];
        int total = 1;
        for (int i = 0; i < N; i++) total *= K;
        for (int code = 0; code < total; code++) {
            int c = code, used[K] = {0};
            for (int i = 0; i < N; i++) {
                lab[i] = c % K;
                used[c % K] = 1;
                c /= K;
            }
            if (!used[0] || !used[1] || !used[2]) continue;
            double v = inertia_of(X, N, DIM, lab, K);
            if (v < best) best = v;
        }
        double got;
        assert_cvg_ok(cvg__kmeans(N, DIM, X, K, 20, 100, 1, lab, &got));
        assert_true(fabs(got - inertia_of(X, N, DIM, lab, K)) < 1e-9);
        if (!(got <= best + 1e-9)) fail_msg("trial %d: k-means %g, optimum %g", trial, got, best);
    }
}

/* Fewer distinct points than clusters: every cluster still gets a point (empty clusters are
 * reseeded), and duplicates make k-means++ draw from a zero potential. */
static void test_kmeans_empty_clusters(void **state)
{
    (void)state;
    enum { N = 12, K = 6 };
    double X[N];
    for (int i = 0; i < N; i++) X[i] = (double)(i % 3); /* 3 distinct values */
    int32_t lab[N];
    assert_cvg_ok(cvg__kmeans(N, 1, X, K, 3, 50, 9, lab, NULL));
    int cnt[K] = {0};
    for (int i = 0; i < N; i++) {
        assert_true(lab[i] >= 0 && lab[i] < K);
        cnt[lab[i]]++;
    }
    for (int c = 0; c < K; c++) assert_true(cnt[c] > 0);
    /* k == n: each point alone */
    assert_cvg_ok(cvg__kmeans(N, 1, X, N, 1, 50, 9, lab, NULL));
    assert_int_equal(cvg__kmeans(N, 1, X, N + 1, 1, 50, 9, lab, NULL), CVG_ERR_ARG);
}

static void test_kmeans_deterministic(void **state)
{
    (void)state;
    enum { N = 500, DIM = 4, K = 7 };
    uint64_t st = 17;
    double *X = malloc(sizeof(double) * N * DIM);
    for (int i = 0; i < N * DIM; i++) X[i] = test_rand_normal(&st);
    int32_t a[N], b[N];
    double ia, ib;
    assert_cvg_ok(cvg__kmeans(N, DIM, X, K, 6, 300, 42, a, &ia));
    assert_cvg_ok(cvg__kmeans(N, DIM, X, K, 6, 300, 42, b, &ib));
    assert_memory_equal(a, b, sizeof a);
    assert_true(ia == ib);
    free(X);
}

/* ---------------------------------------------------------------- refinement */

/* Ratio association sum_c W(c,c)/|c| of labels, W dense n x n (row-major), from scratch. */
static double ratio_assoc(const double *W, int64_t n, const int32_t *lab, int k)
{
    double total = 0.0;
    for (int c = 0; c < k; c++) {
        double s = 0.0;
        int64_t cnt = 0;
        for (int64_t i = 0; i < n; i++) {
            if (lab[i] != c) continue;
            cnt++;
            for (int64_t j = 0; j < n; j++)
                if (lab[j] == c) s += W[i * n + j];
        }
        if (cnt) total += s / (double)cnt;
    }
    return total;
}

/* No single move of a unit (out of a cluster of at least two) raises the ratio association by
 * more than tol: checked by recomputing it from scratch for every move. */
static void assert_local_optimum(const double *W, int64_t n, int32_t *lab, int k, double tol)
{
    double ra = ratio_assoc(W, n, lab, k);
    for (int64_t i = 0; i < n; i++) {
        int a = lab[i], cnt = 0;
        for (int64_t j = 0; j < n; j++) cnt += lab[j] == a;
        if (cnt < 2) continue;
        for (int c = 0; c < k; c++) {
            if (c == a) continue;
            lab[i] = c;
            double moved = ratio_assoc(W, n, lab, k);
            lab[i] = a;
            if (moved > ra + tol)
                fail_msg("moving unit %lld from %d to %d raises RA %.12g -> %.12g", (long long)i, a, c,
                         ra, moved);
        }
    }
}

/* The sparse graph of a full symmetric n x n W (row-major, zero diagonal): every w > 0 an edge. */
static cvg__csr csr_of(const double *W, int64_t n)
{
    int64_t u[64];
    assert_true(n <= 64);
    for (int64_t i = 0; i < n; i++) u[i] = i;
    cvg__csr g;
    assert_cvg_ok(cvg__csr_build(W, n, u, n, 0.0, &g));
    return g;
}

/* Random sparse graphs from random labelings: the refinement never lowers the ratio
 * association, never empties a cluster, ends at a local optimum (brute force over all single
 * moves). */
static void test_refine_brute_force(void **state)
{
    (void)state;
    enum { N = 14, K = 4 };
    uint64_t st = 5;
    for (int trial = 0; trial < 20; trial++) {
        double W[N * N] = {0};
        for (int i = 0; i < N; i++)
            for (int j = i + 1; j < N; j++) {
                double w = test_rand_uniform(&st) < 0.5 ? test_rand_uniform(&st) : 0.0;
                W[i * N + j] = W[j * N + i] = w;
            }
        cvg__csr g = csr_of(W, N);
        int32_t lab[N];
        int64_t order[N];
        for (int i = 0; i < N; i++) {
            lab[i] = i < K ? i : (int32_t)(test_rand_u64(&st) % K);
            order[i] = (N - 1 - i * 5 % N + N) % N; /* a permutation: 5 is prime to 14 */
        }
        double before = ratio_assoc(W, N, lab, K);
        int64_t moves = -1;
        assert_cvg_ok(cvg__refine_assoc(&g, order, K, 100, lab, &moves));
        cvg__csr_free(&g);
        assert_true(moves >= 0);
        double after = ratio_assoc(W, N, lab, K);
        assert_true(after >= before - 1e-12);
        int cnt[K] = {0};
        for (int i = 0; i < N; i++) cnt[lab[i]]++;
        for (int c = 0; c < K; c++) assert_true(cnt[c] > 0);
        assert_local_optimum(W, N, lab, K, 1e-9);
    }
}

/* Three cliques with weak links between them, started with units swapped between cliques:
 * the moves put every unit back. */
static void test_refine_repairs_cliques(void **state)
{
    (void)state;
    enum { N = 15, K = 3 };
    double W[N * N] = {0};
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) W[i * N + j] = i == j ? 0.0 : i / 5 == j / 5 ? 0.8 : 0.05;
    cvg__csr g = csr_of(W, N);
    int32_t lab[N];
    int64_t order[N];
    for (int i = 0; i < N; i++) {
        lab[i] = i / 5;
        order[i] = i;
    }
    lab[0] = 1;
    lab[6] = 2;
    lab[12] = 0;
    int64_t moves = 0;
    assert_cvg_ok(cvg__refine_assoc(&g, order, K, 100, lab, &moves));
    cvg__csr_free(&g);
    assert_int_equal(moves, 3);
    for (int i = 0; i < N; i++) assert_int_equal(lab[i], i / 5);
}

/* ---------------------------------------------------------------- the whole clustering */

static cvg_clustering *run(const double *corr, int64_t S, int k, double alpha, uint64_t seed)
{
    cvg_cluster_options o;
    cvg_cluster_options_init(&o);
    o.k = k;
    o.alpha = alpha;
    o.seed = seed;
    cvg_clustering *c = NULL;
    assert_cvg_ok(cvg_cluster(corr, S, &o, &c));
    return c;
}

static void test_planted_recovered(void **state)
{
    (void)state;
    const int64_t S = 240;
    const int G = 16;
    double *corr;
    int32_t *truth;
    planted_corr(S, G, 400, 0.4, 1.0, 21, &corr, &truth);
    /* Flat (alpha large: no further splits), k given. */
    cvg_clustering *c = run(corr, S, G, 1e9, 1);
    assert_int_equal(cvg_clustering_k(c), G);
    assert_int_equal(cvg_clustering_leaves(c), G);
    double ari = adjusted_rand(cvg_clustering_labels(c), truth, 2 * S);
    if (ari < 0.95) fail_msg("ARI %g with k given", ari);
    assert_int_equal(cvg_clustering_suggested_k(c), G);
    cvg_clustering_free(c);
    /* k from the eigen-gap */
    c = run(corr, S, 0, 1e9, 1);
    assert_int_equal(cvg_clustering_k(c), G);
    ari = adjusted_rand(cvg_clustering_labels(c), truth, 2 * S);
    if (ari < 0.95) fail_msg("ARI %g with k auto", ari);
    int count = 0;
    const double *ev = cvg_clustering_eigenvalues(c, &count);
    assert_int_equal(count, 101); /* k automatic: lambda_1 .. lambda_{k_max + 1} */
    for (int i = 1; i < count; i++) assert_true(ev[i] >= ev[i - 1] - 1e-9);
    cvg_clustering_free(c);
    /* the random-walk variant finds them too */
    cvg_cluster_options o;
    cvg_cluster_options_init(&o);
    o.k = G;
    o.alpha = 1e9;
    o.laplacian = CVG_LAPLACIAN_RANDOM_WALK;
    assert_cvg_ok(cvg_cluster(corr, S, &o, &c));
    ari = adjusted_rand(cvg_clustering_labels(c), truth, 2 * S);
    if (ari < 0.95) fail_msg("ARI %g with the random-walk Laplacian", ari);
    ev = cvg_clustering_eigenvalues(c, &count);
    assert_true(ev[count - 1] <= 2.0 + 1e-9); /* normalized spectrum lies in [0, 2] */
    cvg_clustering_free(c);
    free(corr);
    free(truth);
}

/* Permuting the units of each net (the corr matrix with them) permutes the labels. */
static void test_permutation_invariant(void **state)
{
    (void)state;
    const int64_t S = 200, n = 2 * S;
    double *corr;
    int32_t *truth;
    planted_corr(S, 10, 400, 0.4, 1.0, 33, &corr, &truth);
    int64_t *perm = malloc(sizeof(int64_t) * n);
    uint64_t st = 99;
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t net = 0; net < 2; net++)
        for (int64_t i = S - 1; i > 0; i--) {
            int64_t j = (int64_t)(test_rand_u64(&st) % (uint64_t)(i + 1));
            int64_t t = perm[net * S + i];
            perm[net * S + i] = perm[net * S + j];
            perm[net * S + j] = t;
        }
    double *pc = malloc(sizeof(double) * n * n);
    for (int64_t p = 0; p < n; p++)
        for (int64_t q = 0; q < n; q++) pc[p * n + q] = corr[perm[p] * n + perm[q]];
    for (int hier = 0; hier < 2; hier++) {
        double alpha = hier ? 0.025 : 1e9;
        cvg_clustering *a = run(corr, S, 10, alpha, 1);
        cvg_clustering *b = run(pc, S, 10, alpha, 1);
        assert_int_equal(cvg_clustering_leaves(a), cvg_clustering_leaves(b));
        const int32_t *la = cvg_clustering_labels(a), *lb = cvg_clustering_labels(b);
        int32_t *back = malloc(sizeof(int32_t) * n); /* b's labels in the original order */
        for (int64_t i = 0; i < n; i++) back[perm[i]] = lb[i];
        if (!same_partition(la, back, n)) fail_msg("partition changed under permutation (alpha %g)", alpha);
        free(back);
        cvg_clustering_free(a);
        cvg_clustering_free(b);
    }
    free(pc);
    free(perm);
    free(corr);
    free(truth);
}

static void test_deterministic(void **state)
{
    (void)state;
    const int64_t S = 150, n = 2 * S;
    double *corr;
    int32_t *truth;
    planted_corr(S, 6, 300, 0.5, 1.2, 4, &corr, &truth);
    cvg_clustering *a = run(corr, S, 0, 0.025, 77);
    cvg_clustering *b = run(corr, S, 0, 0.025, 77);
    assert_int_equal(cvg_clustering_nodes(a), cvg_clustering_nodes(b));
    assert_memory_equal(cvg_clustering_labels(a), cvg_clustering_labels(b), sizeof(int32_t) * n);
    assert_memory_equal(cvg_clustering_order(a), cvg_clustering_order(b), sizeof(int64_t) * n);
    for (int i = 0; i < cvg_clustering_nodes(a); i++)
        assert_memory_equal(cvg_clustering_node(a, i), cvg_clustering_node(b, i),
                            sizeof(cvg_cluster_node));
    cvg_clustering_free(b);
    /* the number of threads does not change the result */
    cvg_cluster_options o;
    cvg_cluster_options_init(&o);
    o.alpha = 0.025;
    o.seed = 77;
    o.threads = 2;
    assert_cvg_ok(cvg_cluster(corr, S, &o, &b));
    assert_memory_equal(cvg_clustering_labels(a), cvg_clustering_labels(b), sizeof(int32_t) * n);
    cvg_clustering_free(a);
    cvg_clustering_free(b);
    free(corr);
    free(truth);
}

/* The tree is consistent and every node's metrics match appendix 6.6 recomputed here. */
static void test_tree_and_metrics(void **state)
{
    (void)state;
    const int64_t S = 200, n = 2 * S;
    double *corr;
    int32_t *truth;
    planted_corr(S, 5, 300, 0.3, 1.0, 8, &corr, &truth); /* groups of 80 > 2 alpha S = 10 */
    cvg_clustering *c = run(corr, S, 5, 0.025, 1);
    int nodes = cvg_clustering_nodes(c), leaves = cvg_clustering_leaves(c);
    const int32_t *lab = cvg_clustering_labels(c);
    const int64_t *order = cvg_clustering_order(c);
    assert_true(leaves > 5); /* the five top-level clusters were split again */
    /* order is a permutation; labels are non-decreasing along it */
    unsigned char *seen = calloc(n, 1);
    for (int64_t i = 0; i < n; i++) {
        assert_true(order[i] >= 0 && order[i] < n && !seen[order[i]]);
        seen[order[i]] = 1;
        if (i) assert_true(lab[order[i]] >= lab[order[i - 1]]);
    }
    free(seen);
    const cvg_cluster_node *root = cvg_clustering_node(c, 0);
    assert_int_equal(root->parent, -1);
    assert_int_equal(root->size, n);
    assert_int_equal(root->k, 5);
    int max_depth = 0;
    for (int id = 0; id < nodes; id++) {
        const cvg_cluster_node *nd = cvg_clustering_node(c, id);
        max_depth = nd->depth > max_depth ? nd->depth : max_depth;
        if (nd->n_children) {
            int64_t sum = 0;
            for (int ch = 0; ch < nd->n_children; ch++) {
                const cvg_cluster_node *kid = cvg_clustering_node(c, nd->first_child + ch);
                assert_int_equal(kid->parent, id);
                assert_int_equal(kid->depth, nd->depth + 1);
                assert_int_equal(kid->offset, nd->offset + sum);
                sum += kid->size;
            }
            assert_int_equal(sum, nd->size);
            assert_int_equal(nd->leaf, -1);
        } else {
            assert_int_equal(cvg_clustering_leaf_node(c, nd->leaf), id);
            /* a leaf is small, or its split failed (then it has no children either) */
            for (int64_t x = 0; x < nd->size; x++) assert_int_equal(lab[order[nd->offset + x]], nd->leaf);
        }
        /* appendix 6.6, brute force */
        double sab = 0, saa = 0, sbb = 0;
        int64_t na = 0, nb = 0;
        for (int64_t x = 0; x < nd->size; x++) {
            int64_t p = order[nd->offset + x];
            p < S ? na++ : nb++;
            for (int64_t y = 0; y < nd->size; y++) {
                int64_t q = order[nd->offset + y];
                if (p < S && q < S) saa += corr[p * n + q];
                if (p >= S && q >= S) sbb += corr[p * n + q];
                if (p < S && q >= S) sab += corr[p * n + q];
            }
        }
        assert_int_equal(nd->size_a, na);
        assert_int_equal(nd->size_b, nb);
        double between = na && nb ? sab / (na * nb) : 0.0;
        double wa = na ? saa / (na * na) : 0.0, wb = nb ? sbb / (nb * nb) : 0.0;
        double within = na && nb ? (wa + wb) / 2 : (na ? wa : wb);
        assert_true(fabs(nd->between - between) < 1e-12);
        assert_true(fabs(nd->within_a - wa) < 1e-12);
        assert_true(fabs(nd->within_b - wb) < 1e-12);
        assert_true(fabs(nd->within - within) < 1e-12);
    }
    assert_true(max_depth >= 2);
    /* leaves larger than 2 alpha S = 10 exist only if their split could not divide them */
    for (int l = 0; l < leaves; l++) {
        const cvg_cluster_node *nd = cvg_clustering_node(c, cvg_clustering_leaf_node(c, l));
        assert_true(nd->size <= 10 || nd->k == 0);
    }
    /* ranking: a permutation of the leaves, between-net similarity non-increasing */
    const int32_t *rank = cvg_clustering_ranking(c);
    for (int r = 1; r < leaves; r++)
        assert_true(cvg_clustering_node(c, cvg_clustering_leaf_node(c, rank[r]))->between <=
                    cvg_clustering_node(c, cvg_clustering_leaf_node(c, rank[r - 1]))->between);
    cvg_clustering_free(c);
    free(corr);
    free(truth);
}

/* Units with no correlation above tau (dead units, say) are singleton leaves; the rest is
 * clustered as before. */
static void test_isolated_units(void **state)
{
    (void)state;
    const int64_t S = 120, n = 2 * S;
    const int G = 6;
    double *corr;
    int32_t *truth;
    planted_corr(S, G, 400, 0.3, 1.0, 12, &corr, &truth);
    const int64_t dead[] = {0, 7, 130, 239};
    for (size_t x = 0; x < sizeof dead / sizeof *dead; x++) {
        for (int64_t q = 0; q < n; q++) corr[dead[x] * n + q] = corr[q * n + dead[x]] = 0.0;
        corr[dead[x] * n + dead[x]] = 1.0;
    }
    cvg_clustering *c = run(corr, S, G, 1e9, 1);
    assert_int_equal(cvg_clustering_isolated(c), 4);
    assert_int_equal(cvg_clustering_leaves(c), G + 4);
    const int32_t *lab = cvg_clustering_labels(c);
    for (size_t x = 0; x < sizeof dead / sizeof *dead; x++) {
        int leaf = lab[dead[x]];
        assert_int_equal(cvg_clustering_node(c, cvg_clustering_leaf_node(c, leaf))->size, 1);
    }
    /* ARI on the live units only */
    int32_t *a = malloc(sizeof(int32_t) * n), *b = malloc(sizeof(int32_t) * n);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i == 0 || i == 7 || i == 130 || i == 239) continue;
        a[m] = lab[i];
        b[m++] = truth[i];
    }
    assert_true(adjusted_rand(a, b, m) >= 0.95);
    free(a);
    free(b);
    cvg_clustering_free(c);
    /* all units isolated: every unit its own leaf */
    double *eye = calloc(n * n, sizeof(double));
    for (int64_t i = 0; i < n; i++) eye[i * n + i] = 1.0;
    c = run(eye, S, 0, 0.025, 1);
    assert_int_equal(cvg_clustering_leaves(c), n);
    assert_int_equal(cvg_clustering_isolated(c), n);
    cvg_clustering_free(c);
    free(eye);
    free(corr);
    free(truth);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const int64_t S = 4, n = 8;
    double corr[64] = {0};
    for (int i = 0; i < n; i++) corr[i * n + i] = 1.0;
    cvg_clustering *c = NULL;
    cvg_cluster_options o;
    cvg_cluster_options_init(&o);
    assert_int_equal(cvg_cluster(NULL, S, &o, &c), CVG_ERR_ARG);
    assert_int_equal(cvg_cluster(corr, 0, &o, &c), CVG_ERR_EMPTY);
    assert_int_equal(cvg_cluster(corr, S, &o, NULL), CVG_ERR_ARG);
    o.tau = -0.1;
    assert_int_equal(cvg_cluster(corr, S, &o, &c), CVG_ERR_ARG);
    cvg_cluster_options_init(&o);
    o.restarts = 0;
    assert_int_equal(cvg_cluster(corr, S, &o, &c), CVG_ERR_ARG);
    cvg_cluster_options_init(&o);
    o.refine = 2;
    assert_int_equal(cvg_cluster(corr, S, &o, &c), CVG_ERR_ARG);
    cvg_cluster_options_init(&o);
    corr[3] = NAN;
    assert_int_equal(cvg_cluster(corr, S, &o, &c), CVG_ERR_NONFINITE);
    assert_non_null(strstr(cvg_last_error(), "corr[0][3]"));
    assert_null(c);
    corr[3] = 0.5;
    corr[3 * n] = 0.5;
    assert_cvg_ok(cvg_cluster(corr, S, NULL, &c)); /* defaults; tiny graph */
    assert_int_equal(cvg_clustering_units(c), n);
    assert_int_equal(cvg_clustering_isolated(c), 6);
    cvg_clustering_free(c);
    cvg_clustering_free(NULL);
}

static int cancel_after(const char *task, uint64_t done, uint64_t total, void *user)
{
    (void)task;
    (void)done;
    (void)total;
    int *calls = user;
    return ++*calls >= 2;
}

static void test_cancel(void **state)
{
    (void)state;
    const int64_t S = 100;
    double *corr;
    int32_t *truth;
    planted_corr(S, 4, 200, 0.3, 1.0, 2, &corr, &truth);
    cvg_cluster_options o;
    cvg_cluster_options_init(&o);
    int calls = 0;
    o.progress = cancel_after;
    o.progress_user = &calls;
    cvg_clustering *c = NULL;
    assert_int_equal(cvg_cluster(corr, S, &o, &c), CVG_ERR_CANCELLED);
    assert_null(c);
    free(corr);
    free(truth);
}

/* cvg_clustering_save / cvg_clustering_load: a hierarchical clustering (several depths, isolated
 * units) reads back identical in every getter, with its options; broken files are refused
 * with the file and the field named. */
static void test_save_load_round_trip(void **state)
{
    (void)state;
    const int64_t S = 60, n = 2 * S;
    double *corr;
    int32_t *truth;
    planted_corr(S, 6, 200, 0.4, 1.0, 5, &corr, &truth);
    for (int64_t j = 0; j < n; j++) /* unit 3 of net A loses every edge: an isolated leaf */
        if (j != 3) corr[3 * n + j] = corr[j * n + 3] = 0.0;
    cvg_cluster_info info = {.layer = "fc6", .net_a = 1, .net_b = 2};
    cvg_cluster_options_init(&info.options);
    info.options.k = 4;
    info.options.alpha = 0.02; /* split the top-level clusters further */
    info.options.seed = 0xFFFFFFFFFFFFFFF1ull; /* past what a JSON number holds exactly */
    info.options.refine = 1;
    info.options.threads = 1;
    snprintf(info.k_rule, sizeof info.k_rule, "given (--k 4)");
    cvg_clustering *c, *back;
    assert_cvg_ok(cvg_cluster(corr, S, &info.options, &c));
    char *dir = test_tmpdir("cluster_save");
    char *path = test_path(dir, "c.json");
    assert_cvg_ok(cvg_clustering_save(path, c, &info));
    cvg_cluster_info got;
    assert_cvg_ok(cvg_clustering_load(path, &back, &got));
    assert_string_equal(got.layer, "fc6");
    assert_int_equal(got.net_a, 1);
    assert_int_equal(got.net_b, 2);
    assert_int_equal(got.options.k, 4);
    assert_true(got.options.alpha == 0.02 && got.options.tau == info.options.tau);
    assert_true(got.options.seed == info.options.seed);
    assert_int_equal(got.options.refine, 1);
    assert_int_equal(got.options.threads, 1);
    assert_string_equal(got.k_rule, "given (--k 4)");
    assert_int_equal(cvg_clustering_units(back), n);
    assert_int_equal(cvg_clustering_k(back), cvg_clustering_k(c));
    assert_int_equal(cvg_clustering_suggested_k(back), cvg_clustering_suggested_k(c));
    assert_int_equal(cvg_clustering_isolated(back), cvg_clustering_isolated(c));
    assert_true(cvg_clustering_isolated(c) >= 1);
    assert_int_equal(cvg_clustering_leaves(back), cvg_clustering_leaves(c));
    assert_int_equal(cvg_clustering_nodes(back), cvg_clustering_nodes(c));
    int ne, ne_back;
    const double *ev = cvg_clustering_eigenvalues(c, &ne), *ev_back = cvg_clustering_eigenvalues(back, &ne_back);
    assert_int_equal(ne, ne_back);
    assert_memory_equal(ev, ev_back, (size_t)ne * sizeof *ev);
    assert_memory_equal(cvg_clustering_labels(c), cvg_clustering_labels(back), (size_t)n * sizeof(int32_t));
    assert_memory_equal(cvg_clustering_order(c), cvg_clustering_order(back), (size_t)n * sizeof(int64_t));
    assert_memory_equal(cvg_clustering_ranking(c), cvg_clustering_ranking(back),
                        (size_t)cvg_clustering_leaves(c) * sizeof(int32_t));
    int deepest = 0;
    for (int i = 0; i < cvg_clustering_nodes(c); i++) {
        assert_memory_equal(cvg_clustering_node(c, i), cvg_clustering_node(back, i), sizeof(cvg_cluster_node));
        if (cvg_clustering_node(c, i)->depth > deepest) deepest = cvg_clustering_node(c, i)->depth;
    }
    assert_true(deepest >= 2); /* the round trip covered a tree, not one level */
    for (int l = 0; l < cvg_clustering_leaves(c); l++)
        assert_int_equal(cvg_clustering_leaf_node(c, l), cvg_clustering_leaf_node(back, l));
    cvg_clustering_free(back);

    /* A unit moved into a second leaf; a file that is not JSON. */
    char *text;
    size_t bytes;
    assert_cvg_ok(cvg_read_file(path, &text, &bytes));
    char *first = strstr(text, "\"units_a\":\t[");
    assert_non_null(first);
    char *second = strstr(first + 1, "\"units_a\":\t[");
    assert_non_null(second);
    /* make the second leaf's first A unit equal the first leaf's: a unit in two leaves */
    const char *a0 = first + strlen("\"units_a\":\t[");
    char *b0 = second + strlen("\"units_a\":\t[");
    assert_true(*a0 != ']' && *b0 != ']');
    {
        char *patched = calloc(bytes + 64, 1);
        size_t pre = (size_t)(b0 - text);
        memcpy(patched, text, pre);
        size_t alen = strcspn(a0, ",]"), blen = strcspn(b0, ",]");
        memcpy(patched + pre, a0, alen);
        strcpy(patched + pre + alen, b0 + blen);
        test_write_bytes(path, patched, strlen(patched));
        assert_int_equal(cvg_clustering_load(path, &back, NULL), CVG_ERR_FORMAT);
        assert_non_null(strstr(cvg_last_error(), path));
        assert_non_null(strstr(cvg_last_error(), "units_a"));
        free(patched);
    }
    test_write_bytes(path, "{\"nodes\": [", 11);
    assert_int_equal(cvg_clustering_load(path, &back, NULL), CVG_ERR_FORMAT);
    assert_null(back);
    free(text);
    free(path);
    free(dir);
    cvg_clustering_free(c);
    free(corr);
    free(truth);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_defaults),
        cmocka_unit_test(test_eigenpairs_residuals),
        cmocka_unit_test(test_eigenpairs_components),
        cmocka_unit_test(test_eigengap_rule),
        cmocka_unit_test(test_kmeans_brute_force),
        cmocka_unit_test(test_kmeans_empty_clusters),
        cmocka_unit_test(test_kmeans_deterministic),
        cmocka_unit_test(test_refine_brute_force),
        cmocka_unit_test(test_refine_repairs_cliques),
        cmocka_unit_test(test_planted_recovered),
        cmocka_unit_test(test_permutation_invariant),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_tree_and_metrics),
        cmocka_unit_test(test_isolated_units),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_save_load_round_trip),
    };
    if (getenv("CVG_TEST_FILTER")) cmocka_set_test_filter(getenv("CVG_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
