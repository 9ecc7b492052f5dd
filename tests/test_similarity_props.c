/* Properties of the similarity measures: invariances (CKA and Procrustes under orthogonal maps,
 * isotropic scaling and shifts; CCA under invertible linear maps), the lasso path (sklearn
 * weights from the raw data, KKT conditions, monotone fit), the cross-layer pass against numpy
 * layer-by-layer matrices. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "stats/sqnorm.h"
#include "test_support.h"

static void close_to(const char *what, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol * fmax(1.0, fabs(want))))
        fail_msg("%s = %.12g, expected %.12g (error %.3g > %.3g)", what, got, want,
                 fabs(got - want), tol);
}

/* All measures of X (n x p) against Y (n x q), through the accumulators (float64 kernel). */
static void measures_of(const double *X, int64_t p, const double *Y, int64_t q, int64_t n,
                        cvg_similarity *out)
{
    const int64_t D = p + q;
    double *Z = malloc((size_t)(n * D) * sizeof *Z), *M = malloc((size_t)(D * D) * sizeof *M);
    for (int64_t r = 0; r < n; r++) {
        memcpy(Z + r * D, X + r * p, (size_t)p * sizeof *Z);
        memcpy(Z + r * D + p, Y + r * q, (size_t)q * sizeof *Z);
    }
    cvg_moments *m;
    assert_cvg_ok(cvg_moments_create(D, CVG_KERNEL_DSYRK, &m));
    sqnorm_sums s;
    const int64_t off[3] = {0, p, D};
    assert_cvg_ok(sqnorm_init(&s, 2, off));
    for (int64_t r0 = 0; r0 < n; r0 += 97) { /* uneven chunks */
        int64_t k = n - r0 < 97 ? n - r0 : 97;
        assert_cvg_ok(sqnorm_add(&s, m, Z + r0 * D, 0, k, D));
        assert_cvg_ok(cvg_moments_add(m, Z + r0 * D, k, D));
    }
    cvg_moments_comoment(m, M);
    const double q3[3] = {s.Q[0], s.Q[1], s.Q[3]};
    cvg_similarity_options opt;
    cvg_similarity_options_init(&opt);
    opt.ridge = 0;
    assert_cvg_ok(cvg_similarity_compute(M, D, n, 0, p, p, q, q3, &opt, out));
    for (int k = 0; k < CVG_SIM_MEASURES; k++)
        if (!out->defined[k] && !(X == Y && k == CVG_SIM_GAUSSIAN_MI)) fail_msg("%s undefined: %s", cvg_measure_name((cvg_measure)k), out->why[k]);
    sqnorm_free(&s);
    cvg_moments_free(m);
    free(Z), free(M);
}

/* out = X A (+ shift), X n x p, A p x p. */
static void transform(const double *X, int64_t n, int64_t p, const double *A, double scale,
                      double shift, double *out)
{
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < p; j++) {
            double acc = 0;
            for (int64_t k = 0; k < p; k++) acc += X[r * p + k] * A[k * p + j];
            out[r * p + j] = scale * acc + shift * (double)(j + 1);
        }
}

/* A random orthogonal p x p matrix (Gram-Schmidt of Gaussian columns). */
static void random_orthogonal(int64_t p, uint64_t *rng, double *Q)
{
    for (int64_t i = 0; i < p * p; i++) Q[i] = test_rand_normal(rng);
    for (int64_t c = 0; c < p; c++) {
        for (int pass = 0; pass < 2; pass++)
            for (int64_t b = 0; b < c; b++) {
                double dot = 0;
                for (int64_t i = 0; i < p; i++) dot += Q[i * p + c] * Q[i * p + b];
                for (int64_t i = 0; i < p; i++) Q[i * p + c] -= dot * Q[i * p + b];
            }
        double norm = 0;
        for (int64_t i = 0; i < p; i++) norm += Q[i * p + c] * Q[i * p + c];
        for (int64_t i = 0; i < p; i++) Q[i * p + c] /= sqrt(norm);
    }
}

static void test_invariances(void **state)
{
    (void)state;
    const int64_t n = 600, p = 9, q = 7;
    uint64_t rng = 42;
    double *X = malloc((size_t)(n * p) * sizeof *X), *Y = malloc((size_t)(n * q) * sizeof *Y);
    double *X2 = malloc((size_t)(n * p) * sizeof *X2), *A = malloc((size_t)(p * p) * sizeof *A);
    for (int64_t r = 0; r < n; r++) {
        double z[3] = {test_rand_normal(&rng), test_rand_normal(&rng), test_rand_normal(&rng)};
        for (int64_t j = 0; j < p; j++)
            X[r * p + j] = z[j % 3] * (1 + 0.2 * (double)j) + 0.8 * test_rand_normal(&rng) + 5;
        for (int64_t j = 0; j < q; j++)
            Y[r * q + j] = fmax(0, z[(j + 1) % 3] - 0.3 * z[j % 3] + 0.6 * test_rand_normal(&rng));
    }
    cvg_similarity base, t;
    measures_of(X, p, Y, q, n, &base);
    assert_true(base.value[CVG_SIM_CKA] > 0.05 && base.value[CVG_SIM_CCA_RHO] > 0.05);

    /* orthogonal map, isotropic scaling, shift: every measure but SVCCA/PWCCA is invariant
     * (PCA truncation and the neuron-wise weights are basis dependent) */
    random_orthogonal(p, &rng, A);
    transform(X, n, p, A, 3.7, -11.0, X2);
    measures_of(X2, p, Y, q, n, &t);
    const cvg_measure inv_orth[] = {CVG_SIM_CKA, CVG_SIM_CKA_DEBIASED, CVG_SIM_CCA_RHO,
                                    CVG_SIM_CCA_RHO2, CVG_SIM_PROCRUSTES, CVG_SIM_GAUSSIAN_MI};
    for (size_t k = 0; k < sizeof inv_orth / sizeof *inv_orth; k++)
        close_to(cvg_measure_name(inv_orth[k]), t.value[inv_orth[k]], base.value[inv_orth[k]], 1e-10);
    cvg_similarity_free(&t);

    /* an invertible, non-orthogonal map: CCA (and MI) invariant, CKA not */
    for (int64_t i = 0; i < p * p; i++) A[i] = (i % (p + 1) == 0 ? 2.0 : 0.0) + 0.5 * test_rand_normal(&rng);
    transform(X, n, p, A, 1.0, 3.0, X2);
    measures_of(X2, p, Y, q, n, &t);
    const cvg_measure inv_lin[] = {CVG_SIM_CCA_RHO, CVG_SIM_CCA_RHO2, CVG_SIM_GAUSSIAN_MI};
    for (size_t k = 0; k < sizeof inv_lin / sizeof *inv_lin; k++)
        close_to(cvg_measure_name(inv_lin[k]), t.value[inv_lin[k]], base.value[inv_lin[k]], 1e-9);
    for (int64_t k = 0; k < base.ncca; k++) close_to("rho", t.rho[k], base.rho[k], 1e-9);
    assert_true(fabs(t.value[CVG_SIM_CKA] - base.value[CVG_SIM_CKA]) > 1e-4);
    cvg_similarity_free(&t);

    /* a block against itself: CKA 1, every canonical correlation 1, Procrustes 0 */
    measures_of(X, p, X, p, n, &t);
    close_to("self CKA", t.value[CVG_SIM_CKA], 1, 1e-12);
    close_to("self debiased CKA", t.value[CVG_SIM_CKA_DEBIASED], 1, 1e-12);
    close_to("self CCA", t.value[CVG_SIM_CCA_RHO], 1, 1e-9);
    close_to("self Procrustes", t.value[CVG_SIM_PROCRUSTES], 0, 1e-9);
    assert_false(t.defined[CVG_SIM_GAUSSIAN_MI]); /* infinite without a ridge */
    assert_non_null(strstr(t.why[CVG_SIM_GAUSSIAN_MI], "infinite"));
    cvg_similarity_free(&t);
    cvg_similarity_free(&base);
    free(X), free(Y), free(X2), free(A);
}

/* fc_k2 statistics in float64; the co-moment of [net1 | net2]. */
static double *fc_k2_comoment(int64_t *D, int64_t *n)
{
    char paths[2][1024];
    const char *pp[2] = {paths[0], paths[1]};
    for (int k = 0; k < 2; k++)
        snprintf(paths[k], sizeof paths[k], "%s/stats/fc_k2/net%d.npy", CVG_FIXTURE_DIR, k + 1);
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.kernel = CVG_KERNEL_DSYRK;
    opt.reservoir = 0;
    cvg_stats *s;
    assert_cvg_ok(cvg_stats_compute(pp, 2, "fc", &opt, &s));
    *D = 2 * cvg_stats_units(s);
    *n = cvg_stats_count(s);
    char *dir = test_tmpdir("lasso_stats");
    assert_cvg_ok(cvg_stats_save(s, dir));
    char *layer = test_path(dir, "fc");
    int K;
    int64_t S;
    double *M;
    assert_cvg_ok(cvg_stats_load_matrix(layer, "comoment", &K, &S, &M));
    cvg_stats_free(s);
    free(dir), free(layer);
    return M;
}

static double *load_npy(const char *name, int64_t *count)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/similarity/fc_k2/%s", CVG_FIXTURE_DIR, name);
    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *d;
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &d));
    *count = 1;
    for (int i = 0; i < nd; i++) *count *= sh[i];
    return d;
}

/* KKT conditions of the standardized lasso: g = r - R w; g_k = lambda sign(w_k) where
 * w_k != 0, |g_k| <= lambda elsewhere. R and r straight from the co-moment. */
static void check_kkt(const double *M, int64_t D, int64_t S, const cvg_lasso_result *res, double tol)
{
    for (int l = 0; l < res->path; l++)
        for (int64_t j = 0; j < S; j++) {
            const int64_t y = S + j;
            if (!(M[y * D + y] > 0)) continue;
            const double *w = res->weights + ((int64_t)l * S + j) * S;
            for (int64_t k = 0; k < S; k++) {
                const double vk = M[k * D + k];
                if (!(vk > 0)) {
                    assert_true(w[k] == 0.0);
                    continue;
                }
                double g = M[k * D + y] / sqrt(vk * M[y * D + y]);
                for (int64_t i = 0; i < S; i++)
                    if (w[i] != 0) g -= M[k * D + i] / sqrt(vk * M[i * D + i]) * w[i];
                const double lam = res->lambda[l];
                if (w[k] != 0) {
                    if (!(fabs(g - lam * (w[k] > 0 ? 1 : -1)) <= tol))
                        fail_msg("KKT: lambda %g target %lld active %lld: gradient %.10g", lam,
                                 (long long)j, (long long)k, g);
                } else if (!(fabs(g) <= lam + tol)) {
                    fail_msg("KKT: lambda %g target %lld inactive %lld: |gradient| %.10g", lam,
                             (long long)j, (long long)k, fabs(g));
                }
            }
        }
}

static void test_lasso(void **state)
{
    (void)state;
    int64_t D, n;
    double *M = fc_k2_comoment(&D, &n);
    const int64_t S = D / 2;
    cvg_lasso_options opt;
    cvg_lasso_options_init(&opt);
    opt.keep_weights = 1;
    cvg_lasso_result res;

    /* sklearn on the raw standardized data, at its lambdas */
    int64_t nl, nw;
    double *lambdas = load_npy("lasso_lambdas.npy", &nl), *ref = load_npy("lasso_weights.npy", &nw);
    opt.path = (int)nl;
    opt.lambdas = lambdas;
    assert_cvg_ok(cvg_lasso_path(M, D, 0, S, S, S, &opt, &res));
    assert_int_equal(res.live_p, S - 1); /* the fixture's dead unit */
    const int64_t targets = nw / (nl * S);
    for (int l = 0; l < nl; l++)
        for (int64_t j = 0; j < targets; j++)
            for (int64_t k = 0; k < S; k++) {
                char what[96];
                snprintf(what, sizeof what, "weight lambda %g target %lld unit %lld", lambdas[l],
                         (long long)j, (long long)k);
                close_to(what, res.weights[((int64_t)l * S + j) * S + k],
                         ref[((int64_t)l * targets + j) * S + k], 1e-6);
            }
    check_kkt(M, D, S, &res, 1e-7);
    cvg_lasso_result_free(&res);

    /* the default path: KKT everywhere, lambda decreasing, the fit improving */
    opt.path = 12;
    opt.lambdas = NULL;
    assert_cvg_ok(cvg_lasso_path(M, D, 0, S, S, S, &opt, &res));
    assert_int_equal(res.not_converged, 0);
    check_kkt(M, D, S, &res, 1e-7);
    assert_true(res.mean_nnz[0] == 0.0 && res.mean_r2[0] == 0.0);
    for (int l = 1; l < res.path; l++) {
        assert_true(res.lambda[l] < res.lambda[l - 1]);
        assert_true(res.mean_r2[l] >= res.mean_r2[l - 1] - 1e-12);
        for (int64_t j = 0; j < S; j++) assert_true(res.r2[l * S + j] >= 0 && res.r2[l * S + j] <= 1);
    }
    close_to("smallest lambda", res.lambda[res.path - 1], res.lambda[0] * 1e-2, 1e-12);
    cvg_lasso_result_free(&res);

    /* bad options */
    opt.min_ratio = 0;
    assert_int_equal(cvg_lasso_path(M, D, 0, S, S, S, &opt, &res), CVG_ERR_ARG);
    free(M), free(lambdas), free(ref);
}

static void test_cross_layer(void **state)
{
    (void)state;
    const char *layers[3] = {"conv1", "conv2", "fc3"};
    char paths[6][1024];
    const char *pp[6];
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < 3; l++) {
            snprintf(paths[k * 3 + l], 1024, "%s/similarity/cross/net%d_%s.npy", CVG_FIXTURE_DIR,
                     k + 1, layers[l]);
            pp[k * 3 + l] = paths[k * 3 + l];
        }
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.kernel = CVG_KERNEL_DSYRK;
    opt.chunk_rows = 70;
    cvg_cross *c;
    assert_cvg_ok(cvg_cross_compute(pp, 2, 3, layers, &opt, &c));
    char *dir = test_tmpdir("cross");
    assert_cvg_ok(cvg_cross_save(c, dir, "cross"));
    cvg_cross_free(c);
    char *cdir = test_path(dir, "cross");
    cvg_blocks b;
    assert_cvg_ok(cvg_blocks_load(cdir, &b));
    assert_int_equal(b.count, 6);
    assert_int_equal(b.layers, 3);
    assert_true(b.cross);
    assert_int_equal(b.samples, 200);
    assert_string_equal(b.layer[4], "conv2");
    assert_int_equal(b.net[4], 1);

    char ref_path[1024];
    snprintf(ref_path, sizeof ref_path, "%s/similarity/cross/ref.json", CVG_FIXTURE_DIR);
    cJSON *ref = test_read_json(ref_path);
    const struct { const char *key; cvg_measure m; } ms[] = {
        {"cka", CVG_SIM_CKA}, {"cka_debiased", CVG_SIM_CKA_DEBIASED}, {"cca_mean_rho", CVG_SIM_CCA_RHO},
        {"svcca", CVG_SIM_SVCCA}, {"pwcca", CVG_SIM_PWCCA}, {"procrustes", CVG_SIM_PROCRUSTES}};
    cvg_similarity_options so;
    cvg_similarity_options_init(&so);
    so.ridge = 0;
    const int pairs[2][2] = {{1, 2}, {1, 1}};
    for (int pi = 0; pi < 2; pi++) {
        char key[8];
        snprintf(key, sizeof key, "%d,%d", pairs[pi][0], pairs[pi][1]);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(ref, key);
        for (int la = 0; la < 3; la++)
            for (int lb = 0; lb < 3; lb++) {
                cvg_similarity s;
                assert_cvg_ok(cvg_blocks_similarity(&b, (pairs[pi][0] - 1) * 3 + la,
                                                    (pairs[pi][1] - 1) * 3 + lb, &so, &s));
                for (size_t m = 0; m < sizeof ms / sizeof *ms; m++) {
                    char what[128];
                    snprintf(what, sizeof what, "cross %s %s %s-%s", key, ms[m].key, layers[la], layers[lb]);
                    const cJSON *mat = cJSON_GetObjectItemCaseSensitive(r, ms[m].key);
                    double want = cJSON_GetArrayItem(cJSON_GetArrayItem(mat, la), lb)->valuedouble;
                    if (!s.defined[ms[m].m]) fail_msg("%s undefined: %s", what, s.why[ms[m].m]);
                    close_to(what, s.value[ms[m].m], want, 1e-8);
                }
                cvg_similarity_free(&s);
            }
    }
    /* the layer-by-layer result: each cell the pair's measure, bit for bit, and the same after
     * a save and a load; a file with a malformed cell is refused naming the file */
    cvg_layer_similarity ls, got;
    assert_cvg_ok(cvg_layer_similarity_compute(&b, 0, 1, &so, &ls));
    assert_int_equal(ls.layers, 3);
    assert_string_equal(ls.layer[2], "fc3");
    for (int la = 0; la < 3; la++)
        for (int lb = 0; lb < 3; lb++) {
            cvg_similarity s;
            assert_cvg_ok(cvg_blocks_similarity(&b, la, 3 + lb, &so, &s));
            for (int m = 0; m < CVG_SIM_MEASURES; m++) {
                assert_int_equal(ls.defined[(m * 3 + la) * 3 + lb], s.defined[m]);
                assert_memory_equal(&ls.value[(m * 3 + la) * 3 + lb], &s.value[m], sizeof(double));
            }
            cvg_similarity_free(&s);
        }
    char *saved = test_path(dir, "cross_1_2.json");
    assert_cvg_ok(cvg_layer_similarity_save(saved, &ls));
    assert_cvg_ok(cvg_layer_similarity_load(saved, &got));
    assert_int_equal(got.layers, 3);
    assert_int_equal(got.net_b, 1);
    assert_int_equal(got.samples, 200);
    assert_memory_equal(got.value, ls.value, sizeof(double) * CVG_SIM_MEASURES * 9);
    assert_memory_equal(got.defined, ls.defined, CVG_SIM_MEASURES * 9);
    assert_memory_equal(got.layer, ls.layer, sizeof *ls.layer * 3);
    cvg_layer_similarity_free(&got);
    char *png = test_path(dir, "cka_1_2.png");
    assert_cvg_ok(cvg_layer_similarity_heatmap(png, &ls, CVG_SIM_CKA));
    assert_int_equal(test_system("test -s %s", png), 0);
    assert_int_equal(test_system("sed -i 's/\\[\\[[-0-9.e]*,/[[\\\"x\\\",/' %s", saved), 0);
    assert_int_equal(cvg_layer_similarity_load(saved, &got), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), saved));
    assert_null(got.value);
    cvg_layer_similarity_free(&ls);
    free(saved), free(png);
    cJSON_Delete(ref);
    cvg_blocks_free(&b);

    /* files that disagree: different N, different widths across nets */
    const char *bad[2] = {paths[0], paths[1]};
    assert_int_equal(cvg_cross_compute(bad, 2, 1, layers, &opt, &c), CVG_ERR_SHAPE);
    assert_non_null(strstr(cvg_last_error(), "units"));
    free(dir), free(cdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invariances),
        cmocka_unit_test(test_lasso),
        cmocka_unit_test(test_cross_layer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
