/* Similarity measures from the one-pass statistics against numpy/sklearn references computed
 * from the raw activations (tests/fixtures/make_similarity_fixtures.py); the HSIC sums of the
 * pass (one pass, shards merged, old directories without them); singular covariances. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "test_support.h"

static double num(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v)) fail_msg("reference has no number '%s'", key);
    return v->valuedouble;
}

/* Statistics of the fixture's nets written to a fresh directory; returns the layer dir. */
static char *stats_dir(const char *group, const char *cas, int nets, cvg_kernel kernel, const char *tag)
{
    char *paths[8];
    for (int k = 0; k < nets; k++) {
        paths[k] = malloc(1024);
        snprintf(paths[k], 1024, "%s/%s/%s/net%d.npy", CVG_FIXTURE_DIR, group, cas, k + 1);
    }
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.kernel = kernel;
    opt.reservoir = 0;
    opt.chunk_rows = 700; /* several chunks: exercises the HSIC-sum shifts */
    cvg_stats *s;
    assert_cvg_ok(cvg_stats_compute((const char *const *)paths, nets, "L", &opt, &s));
    char *dir = test_tmpdir(tag);
    assert_cvg_ok(cvg_stats_save(s, dir));
    cvg_stats_free(s);
    for (int k = 0; k < nets; k++) free(paths[k]);
    char *layer = test_path(dir, "L");
    free(dir);
    return layer;
}

static void close_to(const char *what, double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol * fmax(1.0, fabs(want))))
        fail_msg("%s = %.12g, reference %.12g (error %.3g > %.3g)", what, got, want,
                 fabs(got - want), tol);
}

static const char *const REF_KEYS[CVG_SIM_MEASURES] = {
    "cka", "cka_debiased", "cca_mean_rho", "cca_mean_rho2", "svcca", "pwcca", "procrustes",
    "gaussian_mi"};

static void check_case(const char *cas, int nets, cvg_kernel kernel, double ridge, double tol,
                       double mi_tol)
{
    char *layer = stats_dir("stats", cas, nets, kernel, cas);
    char ref_path[1024];
    snprintf(ref_path, sizeof ref_path, "%s/similarity/%s/ref.json", CVG_FIXTURE_DIR, cas);
    cJSON *ref = test_read_json(ref_path);
    cvg_blocks b;
    assert_cvg_ok(cvg_blocks_load(layer, &b));
    assert_int_equal(b.count, nets);
    assert_non_null(b.sqnorm);
    cvg_similarity_options opt;
    cvg_similarity_options_init(&opt);
    opt.ridge = ridge;
    for (int i = 0; i < nets; i++)
        for (int j = i + 1; j < nets; j++) {
            char key[16], what[128];
            snprintf(key, sizeof key, "%d,%d", i + 1, j + 1);
            const cJSON *r = cJSON_GetObjectItemCaseSensitive(ref, key);
            cvg_similarity s;
            assert_cvg_ok(cvg_blocks_similarity(&b, i, j, &opt, &s));
            for (int m = 0; m < CVG_SIM_MEASURES; m++) {
                snprintf(what, sizeof what, "%s pair %s %s", cas, key, REF_KEYS[m]);
                if (!s.defined[m]) fail_msg("%s undefined: %s", what, s.why[m]);
                assert_string_equal(cvg_measure_name((cvg_measure)m), REF_KEYS[m]);
                close_to(what, s.value[m], num(r, REF_KEYS[m]), m == CVG_SIM_GAUSSIAN_MI ? mi_tol : tol);
            }
            const cJSON *dims = cJSON_GetObjectItemCaseSensitive(r, "svcca_dims");
            assert_int_equal(s.svcca_dims_a, cJSON_GetArrayItem(dims, 0)->valueint);
            assert_int_equal(s.svcca_dims_b, cJSON_GetArrayItem(dims, 1)->valueint);
            const cJSON *rho = cJSON_GetObjectItemCaseSensitive(r, "rho");
            assert_int_equal(s.ncca, cJSON_GetArraySize(rho));
            for (int64_t k = 0; k < s.ncca; k++) {
                snprintf(what, sizeof what, "%s pair %s rho[%lld]", cas, key, (long long)k);
                close_to(what, s.rho[k], cJSON_GetArrayItem(rho, (int)k)->valuedouble, tol);
            }
            double wsum = 0;
            for (int64_t k = 0; k < s.ncca; k++) wsum += s.pwcca_weight[k];
            close_to("sum of PWCCA weights", wsum, 1.0, 1e-12);
            cvg_similarity_free(&s);
        }
    cvg_blocks_free(&b);
    cJSON_Delete(ref);
    free(layer);
}

/* Float64 co-moments, no ridge: our covariance formulas equal the data-matrix references. */
static void test_fixtures_exact(void **state)
{
    (void)state;
    check_case("fc_k2", 2, CVG_KERNEL_DSYRK, 0.0, 1e-8, 1e-7);
    check_case("conv_k4_nchw", 4, CVG_KERNEL_DSYRK, 0.0, 1e-8, 1e-7);
}

/* The defaults (float32 co-moment kernel, ridge 1e-6) stay close to the references. */
static void test_fixtures_defaults(void **state)
{
    (void)state;
    check_case("fc_k2", 2, CVG_KERNEL_AUTO, 1e-6, 2e-4, 2e-3);
    check_case("conv_k4_nchw", 4, CVG_KERNEL_AUTO, 1e-6, 2e-4, 2e-3);
}

static int all_finite(const cvg_similarity *s)
{
    for (int m = 0; m < CVG_SIM_MEASURES; m++)
        if (!isfinite(s->value[m])) return 0;
    for (int64_t k = 0; k < s->ncca; k++)
        if (!isfinite(s->rho[k]) || !isfinite(s->pwcca_weight[k])) return 0;
    return 1;
}

/* 40 samples, 30 units per net, dead and duplicated units: with the ridge every measure is
 * defined and finite; without it the CCA measures are undefined with a reason. */
static void test_singular(void **state)
{
    (void)state;
    char *layer = stats_dir("similarity", "small_n", 2, CVG_KERNEL_DSYRK, "small_n");
    char ref_path[1024];
    snprintf(ref_path, sizeof ref_path, "%s/similarity/small_n/ref.json", CVG_FIXTURE_DIR);
    cJSON *ref = test_read_json(ref_path);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(ref, "1,2");
    cvg_blocks b;
    assert_cvg_ok(cvg_blocks_load(layer, &b));
    cvg_similarity_options opt;
    cvg_similarity_options_init(&opt);
    cvg_similarity s;
    assert_cvg_ok(cvg_blocks_similarity(&b, 0, 1, &opt, &s));
    for (int m = 0; m < CVG_SIM_MEASURES; m++)
        if (!s.defined[m]) fail_msg("%s undefined with the ridge: %s", REF_KEYS[m], s.why[m]);
    assert_true(all_finite(&s));
    assert_int_equal(s.live_a, 28);
    assert_int_equal(s.live_b, 29);
    close_to("cka", s.value[CVG_SIM_CKA], num(r, "cka"), 1e-9);
    close_to("cka_debiased", s.value[CVG_SIM_CKA_DEBIASED], num(r, "cka_debiased"), 1e-9);
    close_to("procrustes", s.value[CVG_SIM_PROCRUSTES], num(r, "procrustes"), 1e-9);
    for (int64_t k = 0; k < s.ncca; k++) assert_true(s.rho[k] >= 0 && s.rho[k] < 1);
    cvg_similarity_free(&s);

    opt.ridge = 0;
    assert_cvg_ok(cvg_blocks_similarity(&b, 0, 1, &opt, &s));
    assert_true(all_finite(&s));
    assert_true(s.defined[CVG_SIM_CKA] && s.defined[CVG_SIM_PROCRUSTES] && s.defined[CVG_SIM_SVCCA]);
    const cvg_measure cca[] = {CVG_SIM_CCA_RHO, CVG_SIM_CCA_RHO2, CVG_SIM_PWCCA, CVG_SIM_GAUSSIAN_MI};
    for (int m = 0; m < 4; m++) {
        assert_false(s.defined[cca[m]]);
        assert_non_null(strstr(s.why[cca[m]], "singular"));
        assert_true(s.value[cca[m]] == 0.0);
    }
    cvg_similarity_free(&s);
    cvg_blocks_free(&b);
    cJSON_Delete(ref);
    free(layer);
}

/* cvg_similarity_save / _load: every field back bit for bit, undefined measures with their
 * reasons; a malformed file is CVG_ERR_FORMAT naming the file. */
static void test_save_load_round_trip(void **state)
{
    (void)state;
    char *layer = stats_dir("similarity", "small_n", 2, CVG_KERNEL_DSYRK, "round_trip");
    cvg_blocks b;
    assert_cvg_ok(cvg_blocks_load(layer, &b));
    cvg_similarity_info info = {.net_a = 0, .net_b = 1, .samples = b.samples};
    snprintf(info.layer, sizeof info.layer, "L");
    cvg_similarity_options_init(&info.options);
    info.options.ridge = 0; /* singular covariances: the CCA measures are undefined */
    cvg_similarity s, got;
    assert_cvg_ok(cvg_blocks_similarity(&b, 0, 1, &info.options, &s));
    assert_false(s.defined[CVG_SIM_CCA_RHO]);
    char *path = test_path(layer, "similarity_1_2.json");
    assert_cvg_ok(cvg_similarity_save(path, &s, &info, NULL));
    cvg_similarity_info got_info;
    assert_cvg_ok(cvg_similarity_load(path, &got, &got_info));
    for (int m = 0; m < CVG_SIM_MEASURES; m++) {
        assert_int_equal(got.defined[m], s.defined[m]);
        if (s.defined[m]) assert_memory_equal(&got.value[m], &s.value[m], sizeof(double));
        else assert_string_equal(got.why[m], s.why[m]);
    }
    assert_int_equal(got.units_a, s.units_a);
    assert_int_equal(got.units_b, s.units_b);
    assert_int_equal(got.live_a, s.live_a);
    assert_int_equal(got.live_b, s.live_b);
    assert_int_equal(got.svcca_dims_a, s.svcca_dims_a);
    assert_int_equal(got.svcca_dims_b, s.svcca_dims_b);
    assert_int_equal(got.ncca, s.ncca);
    if (s.ncca > 0) {
        assert_memory_equal(got.rho, s.rho, (size_t)s.ncca * sizeof(double));
        assert_memory_equal(got.pwcca_weight, s.pwcca_weight, (size_t)s.ncca * sizeof(double));
    }
    assert_string_equal(got_info.layer, "L");
    assert_int_equal(got_info.net_b, 1);
    assert_int_equal(got_info.samples, b.samples);
    assert_true(got_info.options.ridge == 0 && got_info.options.svcca_variance == info.options.svcca_variance);
    cvg_similarity_free(&got);

    static const char *const bad[] = {
        "{\"layer\": \"L\"",                                    /* truncated */
        "{\"layer\": \"L\", \"nets\": [0, 2], \"samples\": 5}",    /* networks from 1 */
        "[1, 2]",                                                 /* not an object */
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        FILE *f = fopen(path, "w");
        fputs(bad[k], f);
        fclose(f);
        assert_int_not_equal(cvg_similarity_load(path, &got, NULL), CVG_OK);
        assert_non_null(strstr(cvg_last_error(), path));
        assert_null(got.rho);
    }
    /* A measure that is neither a number nor null. */
    char text[512];
    snprintf(text, sizeof text, "{\"layer\": \"L\", \"nets\": [1, 2], \"samples\": 5, \"ridge\": 0, "
             "\"svcca_variance\": 0.99, \"units\": [2, 2], \"live_units\": [2, 2], \"svcca_dims\": [1, 1], "
             "\"measures\": {\"cka\": \"high\"}}");
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    assert_int_equal(cvg_similarity_load(path, &got, NULL), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "measure"));
    cvg_similarity_free(&s);
    cvg_blocks_free(&b);
    free(path), free(layer);
}

/* A block whose every unit is constant: the measures are undefined, never NaN. */
static void test_all_dead(void **state)
{
    (void)state;
    const int64_t n = 50, p = 3, q = 4, D = p + q;
    uint64_t rng = 5;
    double *X = calloc((size_t)(n * D), sizeof *X);
    for (int64_t r = 0; r < n; r++) {
        for (int64_t j = 0; j < p; j++) X[r * D + j] = 1.5; /* constant */
        for (int64_t j = p; j < D; j++) X[r * D + j] = test_rand_normal(&rng);
    }
    cvg_moments *m;
    assert_cvg_ok(cvg_moments_create(D, CVG_KERNEL_DSYRK, &m));
    assert_cvg_ok(cvg_moments_add(m, X, n, D));
    double *M = malloc((size_t)(D * D) * sizeof *M);
    cvg_moments_comoment(m, M);
    cvg_similarity s;
    const double q3[3] = {0, 0, 1};
    assert_cvg_ok(cvg_similarity_compute(M, D, n, 0, p, p, q, q3, NULL, &s));
    for (int k = 0; k < CVG_SIM_MEASURES; k++) {
        assert_false(s.defined[k]);
        assert_true(s.value[k] == 0.0);
        assert_true(strlen(s.why[k]) > 10);
    }
    cvg_similarity_free(&s);
    /* bad arguments */
    assert_int_equal(cvg_similarity_compute(M, D, n, 0, p, p, q + 1, NULL, NULL, &s), CVG_ERR_ARG);
    assert_int_equal(cvg_similarity_compute(M, D, 1, 0, p, p, q, NULL, NULL, &s), CVG_ERR_EMPTY);
    cvg_similarity_options o;
    cvg_similarity_options_init(&o);
    o.svcca_variance = 0;
    assert_int_equal(cvg_similarity_compute(M, D, n, 0, p, p, q, NULL, &o, &s), CVG_ERR_ARG);
    free(M);
    free(X);
    cvg_moments_free(m);
}

/* The HSIC sums of shards merged equal one pass; a directory without them (an older version)
 * loads, merges and reports the debiased CKA as unavailable. */
static void test_shards_and_old_dirs(void **state)
{
    (void)state;
    char *dir = test_tmpdir("sim_shards");
    const char *cas = "fc_k2";
    char *halves[2][2];
    for (int k = 0; k < 2; k++) {
        char src[1024];
        snprintf(src, sizeof src, "%s/stats/%s/net%d.npy", CVG_FIXTURE_DIR, cas, k + 1);
        int nd;
        int64_t sh[CVG_NPY_MAX_DIMS];
        double *d;
        assert_cvg_ok(cvg_npy_load(src, &nd, sh, &d));
        const int64_t h = 1234;
        const int64_t s0[2] = {h, sh[1]}, s1[2] = {sh[0] - h, sh[1]};
        for (int part = 0; part < 2; part++) {
            char name[64];
            snprintf(name, sizeof name, "net%d_part%d.npy", k + 1, part);
            halves[part][k] = test_path(dir, name);
            assert_cvg_ok(cvg_npy_save(halves[part][k], CVG_F64, 2, part ? s1 : s0,
                                       part ? d + h * sh[1] : d));
        }
        free(d);
    }
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.kernel = CVG_KERNEL_DSYRK;
    opt.reservoir = 0;
    cvg_stats *a, *b;
    assert_cvg_ok(cvg_stats_compute((const char *const *)halves[0], 2, "L", &opt, &a));
    opt.row_offset = 1234;
    assert_cvg_ok(cvg_stats_compute((const char *const *)halves[1], 2, "L", &opt, &b));
    /* b goes through the disk: the sums must survive save and load */
    char *bdir = test_path(dir, "b");
    assert_cvg_ok(cvg_stats_save(b, bdir));
    cvg_stats_free(b);
    char *blayer = test_path(bdir, "L");
    assert_cvg_ok(cvg_stats_load(blayer, &b));
    assert_cvg_ok(cvg_stats_merge(a, b));
    cvg_stats_free(b);
    char *mdir = test_path(dir, "merged");
    assert_cvg_ok(cvg_stats_save(a, mdir));
    char *mlayer = test_path(mdir, "L");
    char *one = stats_dir("stats", cas, 2, CVG_KERNEL_DSYRK, "sim_one");
    cvg_blocks bm, bo;
    assert_cvg_ok(cvg_blocks_load(mlayer, &bm));
    assert_cvg_ok(cvg_blocks_load(one, &bo));
    for (int i = 0; i < 4; i++) close_to("merged HSIC sum", bm.sqnorm[i], bo.sqnorm[i], 1e-11);
    cvg_similarity sm, so;
    assert_cvg_ok(cvg_blocks_similarity(&bm, 0, 1, NULL, &sm));
    assert_cvg_ok(cvg_blocks_similarity(&bo, 0, 1, NULL, &so));
    close_to("merged debiased CKA", sm.value[CVG_SIM_CKA_DEBIASED], so.value[CVG_SIM_CKA_DEBIASED], 1e-11);
    cvg_similarity_free(&sm);
    cvg_similarity_free(&so);
    cvg_blocks_free(&bm);

    /* an older directory: no hsic_sums key in meta.json, no sqnorm files */
    char *meta = test_path(blayer, "meta.json");
    cJSON *j = test_read_json(meta);
    cJSON_DeleteItemFromObjectCaseSensitive(j, "hsic_sums");
    char *text = cJSON_Print(j);
    test_write_bytes(meta, text, strlen(text));
    free(text);
    cJSON_Delete(j);
    assert_int_equal(test_system("rm -f '%s'/sqnorm_q.npy '%s'/sqnorm_g.npy", blayer, blayer), 0);
    cvg_blocks old;
    assert_cvg_ok(cvg_blocks_load(blayer, &old));
    assert_null(old.sqnorm);
    cvg_similarity s;
    assert_cvg_ok(cvg_blocks_similarity(&old, 0, 1, NULL, &s));
    assert_false(s.defined[CVG_SIM_CKA_DEBIASED]);
    assert_non_null(strstr(s.why[CVG_SIM_CKA_DEBIASED], "older version"));
    assert_true(s.defined[CVG_SIM_CKA] && s.defined[CVG_SIM_PWCCA]);
    cvg_similarity_free(&s);
    cvg_blocks_free(&old);
    cvg_stats *olds;
    assert_cvg_ok(cvg_stats_load(blayer, &olds));
    cvg_stats_free(a);
    opt.row_offset = 0;
    assert_cvg_ok(cvg_stats_compute((const char *const *)halves[0], 2, "L", &opt, &a));
    assert_cvg_ok(cvg_stats_merge(a, olds)); /* warns, drops the sums */
    char *m2 = test_path(dir, "merged_old");
    assert_cvg_ok(cvg_stats_save(a, m2));
    char *m2l = test_path(m2, "L");
    assert_cvg_ok(cvg_blocks_load(m2l, &old));
    assert_null(old.sqnorm);
    cvg_blocks_free(&old);

    cvg_blocks_free(&bo);
    cvg_stats_free(a);
    cvg_stats_free(olds);
    for (int part = 0; part < 2; part++)
        for (int k = 0; k < 2; k++) free(halves[part][k]);
    free(dir), free(bdir), free(blayer), free(mdir), free(mlayer), free(one), free(meta), free(m2), free(m2l);
}

/* cvg_stats_blocks (statistics in memory) gives exactly what cvg_blocks_load reads back from
 * the saved directory, so a binding computes every measure without a save and reload. */
static void test_blocks_from_memory_equal_saved(void **state)
{
    (void)state;
    char *paths[4];
    for (int k = 0; k < 4; k++) {
        paths[k] = malloc(1024);
        snprintf(paths[k], 1024, "%s/stats/conv_k4_nchw/net%d.npy", CVG_FIXTURE_DIR, k + 1);
    }
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.reservoir = 0;
    opt.chunk_rows = 700;
    cvg_stats *st;
    assert_cvg_ok(cvg_stats_compute((const char *const *)paths, 4, "L", &opt, &st));
    char *dir = test_tmpdir("blocks_memory");
    assert_cvg_ok(cvg_stats_save(st, dir));
    char *layer = test_path(dir, "L");
    cvg_blocks mem, saved;
    assert_cvg_ok(cvg_stats_blocks(st, &mem));
    assert_cvg_ok(cvg_blocks_load(layer, &saved));
    assert_int_equal(mem.count, saved.count);
    assert_int_equal(mem.nets, saved.nets);
    assert_int_equal(mem.layers, saved.layers);
    assert_int_equal(mem.dim, saved.dim);
    assert_int_equal(mem.samples, saved.samples);
    assert_int_equal(mem.cross, saved.cross);
    assert_non_null(mem.sqnorm);
    assert_non_null(saved.sqnorm);
    for (int i = 0; i <= mem.count; i++) assert_int_equal(mem.offset[i], saved.offset[i]);
    for (int i = 0; i < mem.count; i++) {
        assert_int_equal(mem.net[i], saved.net[i]);
        assert_string_equal(mem.layer[i], saved.layer[i]);
    }
    assert_memory_equal(mem.comoment, saved.comoment, (size_t)(mem.dim * mem.dim) * sizeof(double));
    assert_memory_equal(mem.sqnorm, saved.sqnorm, (size_t)(mem.count * mem.count) * sizeof(double));
    double *M = malloc((size_t)(mem.dim * mem.dim) * sizeof *M);
    assert_cvg_ok(cvg_stats_comoment(st, M));
    assert_memory_equal(M, saved.comoment, (size_t)(mem.dim * mem.dim) * sizeof(double));
    cvg_similarity a, b;
    assert_cvg_ok(cvg_blocks_similarity(&mem, 0, 3, NULL, &a));
    assert_cvg_ok(cvg_blocks_similarity(&saved, 0, 3, NULL, &b));
    assert_memory_equal(a.value, b.value, sizeof a.value);
    cvg_similarity_free(&a);
    cvg_similarity_free(&b);
    free(M);
    cvg_blocks_free(&mem);
    cvg_blocks_free(&saved);
    cvg_stats_free(st);
    free(layer);
    free(dir);
    for (int k = 0; k < 4; k++) free(paths[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_exact),
        cmocka_unit_test(test_fixtures_defaults),
        cmocka_unit_test(test_singular),
        cmocka_unit_test(test_all_dead),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_shards_and_old_dirs),
        cmocka_unit_test(test_blocks_from_memory_equal_saved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
