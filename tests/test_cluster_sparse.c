/* The sparse path of the spectral clustering (src/cluster/graph_csr.c, components.c,
 * eigs_sparse.c; docs/clustering.md "Sparse path"):
 *  - eigenpairs against numpy on small multi-component graphs (fixtures from
 *    tests/fixtures/make_sparse_eig_fixtures.py): eigenvalues equal numpy's, L v = lambda v,
 *    orthonormal, the span of the first nev equals numpy's, the null space is the component
 *    indicators in the documented order; with the filtered Krylov forced on every component
 *    large enough and with the default choice (dense dsyevr on small components); the
 *    random-walk form's eigenvalues too;
 *  - the sparse graph against a dense recount (entries, degrees, components by brute force);
 *  - cvg_cluster gives the same leaves on the sparse path as on the dense paths: on the
 *    clustering fixtures, and on random block-structured graphs with several components and
 *    isolated units, including k below the number of components. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "cluster/graph_csr.h"
#include "cluster_planted.h"
#include "core/internal.h"
#include "test_support.h"

static double *load_npy(const char *dir, const char *name, int64_t *rows, int64_t *cols)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int ndim = 0;
    int64_t shape[CVG_NPY_MAX_DIMS];
    double *data = NULL;
    assert_cvg_ok(cvg_npy_load(path, &ndim, shape, &data));
    *rows = shape[0];
    *cols = ndim > 1 ? shape[1] : 1;
    return data;
}

/* ---------------------------------------------------------------- eigenpairs vs numpy */

typedef struct eig_case {
    int64_t n;
    int nev;
    double *W;       /* n x n, full symmetric */
    double *vals, *vecs, *vals_rw; /* numpy: nev; n x nev row-major; nev */
    int64_t null_order[64];
    int n_null;
} eig_case;

static void load_case(const char *name, eig_case *c)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/sparse_eig/%s", CVG_FIXTURE_DIR, name);
    snprintf(path, sizeof path, "%s/meta.json", dir);
    cJSON *meta = test_read_json(path);
    c->n = (int64_t)cJSON_GetObjectItemCaseSensitive(meta, "n")->valuedouble;
    c->nev = cJSON_GetObjectItemCaseSensitive(meta, "nev")->valueint;
    const cJSON *order = cJSON_GetObjectItemCaseSensitive(meta, "null_order"), *e;
    c->n_null = 0;
    cJSON_ArrayForEach(e, order) c->null_order[c->n_null++] = (int64_t)e->valuedouble;
    cJSON_Delete(meta);
    int64_t E, three, r, q;
    double *edges = load_npy(dir, "edges.npy", &E, &three);
    assert_int_equal(three, 3);
    c->W = calloc((size_t)(c->n * c->n), sizeof(double));
    for (int64_t t = 0; t < E; t++) {
        int64_t i = (int64_t)edges[3 * t], j = (int64_t)edges[3 * t + 1];
        c->W[i * c->n + j] = c->W[j * c->n + i] = edges[3 * t + 2];
    }
    free(edges);
    c->vals = load_npy(dir, "eigenvalues.npy", &r, &q);
    assert_int_equal(r, c->nev);
    c->vecs = load_npy(dir, "vectors.npy", &r, &q);
    assert_int_equal(r, c->n);
    assert_int_equal(q, c->nev);
    c->vals_rw = load_npy(dir, "eigenvalues_rw.npy", &r, &q);
}

static void free_case(eig_case *c)
{
    free(c->W);
    free(c->vals);
    free(c->vecs);
    free(c->vals_rw);
}

static cvg__csr graph_of_case(const eig_case *c)
{
    int64_t *u = malloc(sizeof(int64_t) * (size_t)c->n);
    for (int64_t i = 0; i < c->n; i++) u[i] = i;
    cvg__csr g;
    assert_cvg_ok(cvg__csr_build(c->W, c->n, u, c->n, 0.0, &g)); /* tau 0: every w > 0 */
    free(u);
    return g;
}

/* The sparse graph holds exactly W: entries, weights and degrees recounted from the dense W;
 * the components agree with a brute-force closure. */
static void check_graph(const eig_case *c, const cvg__csr *g)
{
    int64_t n = c->n, edges = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = 0.0;
        for (int64_t j = 0; j < n; j++) {
            edges += c->W[i * n + j] > 0.0;
            d += c->W[i * n + j];
        }
        assert_true(fabs(d - g->degree[i]) <= 1e-12 * (1.0 + d));
        for (int64_t p = g->start[i]; p < g->start[i + 1]; p++)
            assert_true(c->W[i * n + g->col[p]] == g->w[p]);
    }
    assert_int_equal(cvg__csr_entries(g), edges);
    /* brute force: label propagation to the smallest reachable vertex */
    int64_t *low = malloc(sizeof(int64_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) low[i] = i;
    for (int changed = 1; changed;) {
        changed = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                if (c->W[i * n + j] > 0.0 && low[j] < low[i]) low[i] = low[j], changed = 1;
    }
    int32_t *comp = malloc(sizeof(int32_t) * (size_t)n);
    int64_t count = cvg__csr_components(g, comp);
    assert_int_equal(count, c->n_null);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) assert_int_equal(comp[i] == comp[j], low[i] == low[j]);
    free(low);
    free(comp);
}

/* Our nev pairs against numpy's: eigenvalues, residual with L formed here, orthonormality,
 * the same span (projectors equal), and the null space = indicators in the fixture's order. */
static void check_pairs(const eig_case *c, int64_t krylov_from)
{
    int64_t n = c->n;
    int nev = c->nev;
    cvg__csr g = graph_of_case(c);
    check_graph(c, &g);
    cvg__components comps;
    assert_cvg_ok(cvg__components_find(&g, &comps));
    double *vals = malloc(sizeof(double) * (size_t)nev);
    double *V = malloc(sizeof(double) * (size_t)n * nev);
    int iters = -1;
    cvg__eig_request rq = {.nev = nev, .nvec = nev, .gap_lo = 2, .gap_hi = nev - 1, .seed = 7,
                           .krylov_from = krylov_from};
    assert_cvg_ok(cvg__sparse_laplacian_eigs(&g, NULL, &comps, &rq, vals, V, &iters));
    if (krylov_from > 0) assert_true(iters >= 1); /* the filtered Krylov ran */
    else assert_int_equal(iters, 0);
    double dmax = 0.0;
    for (int64_t i = 0; i < n; i++) dmax = fmax(dmax, g.degree[i]);
    double norm_l = 2.0 * dmax;
    for (int j = 0; j < nev; j++) {
        assert_true(fabs(vals[j] - c->vals[j]) <= 1e-9 * norm_l);
        const double *v = V + (size_t)j * n;
        double res = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double lv = g.degree[i] * v[i];
            for (int64_t q = 0; q < n; q++) lv -= c->W[i * n + q] * v[q];
            res += (lv - vals[j] * v[i]) * (lv - vals[j] * v[i]);
        }
        assert_true(sqrt(res) <= 1e-8 * norm_l);
        for (int l = 0; l <= j; l++) {
            double dot = 0.0;
            for (int64_t i = 0; i < n; i++) dot += v[i] * V[i + (size_t)l * n];
            assert_true(fabs(dot - (l == j)) <= 1e-10);
        }
    }
    /* span: V V^T = U U^T with numpy's U (row-major n x nev) */
    for (int64_t a = 0; a < n; a++)
        for (int64_t b = 0; b <= a; b++) {
            double p = 0.0, q = 0.0;
            for (int j = 0; j < nev; j++) {
                p += V[a + (size_t)j * n] * V[b + (size_t)j * n];
                q += c->vecs[a * nev + j] * c->vecs[b * nev + j];
            }
            assert_true(fabs(p - q) <= 1e-7);
        }
    /* the null space: column j is 1/sqrt(|C|) on the j-th component of the order */
    int z = c->n_null < nev ? c->n_null : nev;
    for (int j = 0; j < z; j++) {
        int32_t id = comps.comp[c->null_order[j]];
        double expect = 1.0 / sqrt((double)comps.size[id]);
        assert_true(vals[j] == 0.0);
        for (int64_t i = 0; i < n; i++)
            assert_true(fabs(V[i + (size_t)j * n] - (comps.comp[i] == id ? expect : 0.0)) <= 1e-15);
    }
    free(vals);
    free(V);
    cvg__components_free(&comps);
    cvg__csr_free(&g);
}

/* The random-walk form diag(s) L diag(s), s = D^{-1/2}, on the vertices with an edge: its
 * eigenvalues equal numpy's eigvalsh of I - D^{-1/2} W D^{-1/2}, with residuals formed here. */
static void check_random_walk(const eig_case *c, int64_t krylov_from)
{
    int64_t n = c->n, m = 0;
    int nev = c->nev;
    int64_t *act = malloc(sizeof(int64_t) * (size_t)n);
    assert_non_null(act);
    for (int64_t i = 0; i < n; i++) {
        double d = 0.0;
        for (int64_t j = 0; j < n; j++) d += c->W[i * n + j];
        if (d > 0.0) act[m++] = i;
    }
    cvg__csr g;
    assert_cvg_ok(cvg__csr_build(c->W, n, act, m, 0.0, &g));
    double *s = malloc(sizeof(double) * (size_t)m);
    for (int64_t i = 0; i < m; i++) s[i] = 1.0 / sqrt(g.degree[i]);
    cvg__components comps;
    assert_cvg_ok(cvg__components_find(&g, &comps));
    double *vals = malloc(sizeof(double) * (size_t)nev);
    double *V = malloc(sizeof(double) * (size_t)m * nev);
    cvg__eig_request rq = {.nev = nev, .nvec = nev, .gap_lo = 2, .gap_hi = nev - 1, .seed = 3,
                           .krylov_from = krylov_from};
    assert_cvg_ok(cvg__sparse_laplacian_eigs(&g, s, &comps, &rq, vals, V, NULL));
    for (int j = 0; j < nev; j++) {
        assert_true(fabs(vals[j] - c->vals_rw[j]) <= 1e-9 * 2.0);
        const double *v = V + (size_t)j * m;
        double res = 0.0;
        for (int64_t i = 0; i < m; i++) {
            double lv = v[i];
            for (int64_t q = 0; q < m; q++) lv -= s[i] * c->W[act[i] * n + act[q]] * s[q] * v[q];
            res += (lv - vals[j] * v[i]) * (lv - vals[j] * v[i]);
        }
        assert_true(sqrt(res) <= 1e-8 * 2.0);
    }
    free(act);
    free(s);
    free(vals);
    free(V);
    cvg__components_free(&comps);
    cvg__csr_free(&g);
}

static void test_eigenpairs_vs_numpy(void **state)
{
    (void)state;
    const char *cases[] = {"blocks", "connected", "ties"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        eig_case c;
        load_case(cases[i], &c);
        check_pairs(&c, 0);   /* the default: dsyevr on these small components */
        check_pairs(&c, 50);  /* filtered Krylov on every component of 50+ vertices */
        check_random_walk(&c, 0);
        check_random_walk(&c, 50);
        free_case(&c);
    }
}

/* ---------------------------------------------------------------- same leaves as dense */

static int32_t *cluster_labels(const double *corr, int64_t S, const cvg_cluster_options *base,
                               cvg_eigensolver method, cvg_eigensolver *used)
{
    cvg_cluster_options o = *base;
    o.eigensolver = method;
    cvg_clustering *c = NULL;
    assert_cvg_ok(cvg_cluster(corr, S, &o, &c));
    *used = cvg_clustering_eigensolver(c);
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)(2 * S));
    memcpy(lab, cvg_clustering_labels(c), sizeof(int32_t) * (size_t)(2 * S));
    cvg_clustering_free(c);
    return lab;
}

/* Dense (dsyevr), Krylov (when the basis fits) and sparse give identical leaves. */
static void assert_same_leaves(const double *corr, int64_t S, const cvg_cluster_options *o,
                               const char *what)
{
    cvg_eigensolver used;
    int32_t *dense = cluster_labels(corr, S, o, CVG_EIG_DENSE, &used);
    assert_int_equal(used, CVG_EIG_DENSE);
    int32_t *sparse = cluster_labels(corr, S, o, CVG_EIG_SPARSE, &used);
    assert_int_equal(used, CVG_EIG_SPARSE);
    int32_t *krylov = cluster_labels(corr, S, o, CVG_EIG_KRYLOV, &used);
    for (int64_t i = 0; i < 2 * S; i++)
        if (dense[i] != sparse[i] || dense[i] != krylov[i])
            fail_msg("%s: unit %lld in leaf %d (dense), %d (sparse), %d (krylov)", what,
                     (long long)i, dense[i], sparse[i], krylov[i]);
    free(dense);
    free(sparse);
    free(krylov);
}

static void test_same_leaves_on_fixtures(void **state)
{
    (void)state;
    const char *cases[] = {"cluster/small", "cluster/medium", "cluster/large",
                           "cluster/separated_a", "cluster/separated_b",
                           "cluster_paper/first_narrow", "cluster_paper/first_wide",
                           "cluster_paper/later_narrow", "cluster_paper/later_overlapping"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/%s", CVG_FIXTURE_DIR, cases[c]);
        snprintf(path, sizeof path, "%s/meta.json", dir);
        cJSON *meta = test_read_json(path);
        int64_t S = (int64_t)cJSON_GetObjectItemCaseSensitive(meta, "S")->valuedouble, r, q;
        int k = cJSON_GetObjectItemCaseSensitive(meta, "k")->valueint;
        cJSON_Delete(meta);
        double *corr = load_npy(dir, "corr.npy", &r, &q);
        assert_int_equal(r * q, 4 * S * S);
        cvg_cluster_options o;
        cvg_cluster_options_init(&o);
        o.k = k;
        assert_same_leaves(corr, S, &o, cases[c]); /* the paper's pipeline, hierarchy included */
        o.laplacian = CVG_LAPLACIAN_RANDOM_WALK;
        assert_same_leaves(corr, S, &o, cases[c]);
        o.laplacian = CVG_LAPLACIAN_UNNORMALIZED;
        o.refine = 1;
        assert_same_leaves(corr, S, &o, cases[c]);
        free(corr);
    }
}

/* A correlation matrix whose graph falls apart: `groups` planted groups (from
 * cluster_planted.h, with a second loading so groups have internal structure and weak links),
 * then every correlation between units of different "islands" (group % islands) set to 0, and
 * `dead` units of each net with no correlation above tau. */
static double *islands_corr(int64_t S, int groups, int islands, int dead, uint64_t seed)
{
    double *corr;
    int32_t *truth;
    planted_corr(S, groups, 200, 0.5, 0.8, seed, &corr, &truth);
    int64_t n = 2 * S;
    for (int64_t p = 0; p < n; p++)
        for (int64_t q = 0; q < n; q++) {
            int dead_p = p % S < dead, dead_q = q % S < dead;
            if (p != q && (truth[p] % islands != truth[q] % islands || dead_p || dead_q))
                corr[p * n + q] = 0.0;
        }
    free(truth);
    return corr;
}

static void test_same_leaves_on_components(void **state)
{
    (void)state;
    /* S = 540: each of the two islands has about 540 units, above the sparse path's dense
     * threshold (512), so the filtered Krylov runs on them; k both above and below the count of
     * components (below: the null-space order decides which indicators are used), and from
     * the eigen-gap. */
    struct { int64_t S; int groups, islands, dead, k; } cases[] = {
        {540, 8, 2, 3, 12}, {150, 20, 10, 2, 6}, {150, 20, 10, 2, 14}, {150, 20, 10, 2, 0}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double *corr = islands_corr(cases[c].S, cases[c].groups, cases[c].islands, cases[c].dead,
                                    100 + c);
        cvg_cluster_options o;
        cvg_cluster_options_init(&o);
        o.k = cases[c].k;
        o.k_max = cases[c].k ? 0 : 30;
        char what[64];
        snprintf(what, sizeof what, "islands case %zu", c);
        cvg_clustering *cl = NULL;
        o.eigensolver = CVG_EIG_SPARSE;
        assert_cvg_ok(cvg_cluster(corr, cases[c].S, &o, &cl));
        assert_true(cvg_clustering_components(cl) >= cases[c].islands);
        assert_int_equal(cvg_clustering_isolated(cl), 2 * cases[c].dead);
        int count;
        const double *ev = cvg_clustering_eigenvalues(cl, &count);
        for (int64_t j = 0; j < cvg_clustering_components(cl) && j < count; j++)
            assert_true(ev[j] == 0.0);
        cvg_clustering_free(cl);
        assert_same_leaves(corr, cases[c].S, &o, what);
        free(corr);
    }
}

/* The option is checked and recorded (the path used and the components survive a save and
 * load); auto picks the dense Laplacian below 1024 vertices. */
static void test_eigensolver_option(void **state)
{
    (void)state;
    double *corr = islands_corr(60, 6, 2, 1, 9);
    cvg_cluster_options o;
    cvg_cluster_options_init(&o);
    o.k = 4;
    cvg_clustering *c = NULL, *back = NULL;
    assert_cvg_ok(cvg_cluster(corr, 60, &o, &c));
    assert_int_equal(cvg_clustering_eigensolver(c), CVG_EIG_DENSE);
    cvg_clustering_free(c);
    o.eigensolver = CVG_EIG_SPARSE;
    assert_cvg_ok(cvg_cluster(corr, 60, &o, &c));
    assert_int_equal(cvg_clustering_eigensolver(c), CVG_EIG_SPARSE);
    assert_true(cvg_clustering_components(c) >= 2);
    cvg_cluster_info info = {.net_a = 0, .net_b = 1, .options = o};
    snprintf(info.layer, sizeof info.layer, "fc");
    char *dir = test_tmpdir("cluster_sparse_save");
    char *path = test_path(dir, "c.json");
    assert_cvg_ok(cvg_clustering_save(path, c, &info));
    cvg_cluster_info got;
    assert_cvg_ok(cvg_clustering_load(path, &back, &got));
    assert_int_equal(got.options.eigensolver, CVG_EIG_SPARSE);
    assert_int_equal(cvg_clustering_eigensolver(back), CVG_EIG_SPARSE);
    assert_int_equal(cvg_clustering_components(back), cvg_clustering_components(c));
    cvg_clustering_free(back);
    cvg_clustering_free(c);
    free(path);
    free(dir);
    o.eigensolver = (cvg_eigensolver)4;
    assert_int_equal(cvg_cluster(corr, 60, &o, &c), CVG_ERR_ARG);
    assert_null(c);
    free(corr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eigenpairs_vs_numpy),
        cmocka_unit_test(test_same_leaves_on_fixtures),
        cmocka_unit_test(test_same_leaves_on_components),
        cmocka_unit_test(test_eigensolver_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
