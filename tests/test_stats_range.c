/* Finite values outside the float32 kernels' range never reach an output as inf, NaN or a
 * wrong number: the default kernel gives numpy's float64 answer on the fc_range fixture (std
 * 1e18 and 3e37 units, std 1e-20, mean 1e20, a constant 1e30: make_stats_fixtures.py), a float
 * kernel chosen by name refuses the layer naming it, values beyond float64's squares or
 * float32's samples are refused, and cvg_stats_save refuses an accumulator that overflowed
 * (the taps' path, which cannot measure again). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

enum { UNITS = 8, NETS = 2 };

static char *fixture(const char *file)
{
    char *p = malloc(1024);
    snprintf(p, 1024, "%s/stats/fc_range/%s", CVG_FIXTURE_DIR, file);
    return p;
}

static double *load(const char *path, int64_t *count)
{
    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *d;
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &d));
    *count = 1;
    for (int i = 0; i < nd; i++) *count *= sh[i];
    return d;
}

/* |got - want| <= tol * max(|want|, floor) elementwise, every got finite. */
static void compare(const char *what, const double *got, const double *want, int64_t n, double tol, double floor)
{
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) fail_msg("%s[%lld] = %g is not finite", what, (long long)i, got[i]);
        const double err = fabs(got[i] - want[i]), bar = tol * fmax(fabs(want[i]), floor);
        if (!(err <= bar)) fail_msg("%s[%lld] = %.17g, reference %.17g (error %g > %g)", what,
                                    (long long)i, got[i], want[i], err, bar);
    }
}

static void fixture_paths(char **paths)
{
    paths[0] = fixture("net1.npy");
    paths[1] = fixture("net2.npy");
}

static void test_default_kernel_gives_the_float64_answer(void **state)
{
    (void)state;
    char *paths[NETS];
    fixture_paths(paths);
    cvg_stats *s;
    assert_cvg_ok(cvg_stats_compute((const char *const *)paths, NETS, "fc", NULL, &s));
    const int64_t D = NETS * UNITS;
    double *mean = malloc(sizeof(double) * D), *std = malloc(sizeof(double) * D);
    double *corr = malloc(sizeof(double) * D * D);
    memcpy(mean, cvg_stats_mean(s), sizeof(double) * D);
    assert_cvg_ok(cvg_stats_correlation(s, std, corr, NULL));
    int64_t n;
    char *p;
    double *ref_mean = load(p = fixture("ref_mean.npy"), &n);
    free(p);
    double *ref_std = load(p = fixture("ref_std.npy"), &n);
    free(p);
    double *ref_corr = load(p = fixture("ref_corr.npy"), &n);
    free(p);
    compare("mean", mean, ref_mean, D, 1e-12, 0);
    compare("std", std, ref_std, D, 1e-12, 0);
    compare("corr", corr, ref_corr, D * D, 1e-12, 1.0);
    assert_true(std[5] == 0.0); /* the constant 1e30 is dead, not a tiny std */
    cvg_stats_free(s);
    free(mean), free(std), free(corr), free(ref_mean), free(ref_std), free(ref_corr);
    free(paths[0]), free(paths[1]);
}

/* A float kernel chosen by name refuses the layer, naming it, the unit's net and file. */
static void test_chosen_float_kernel_refuses_by_name(void **state)
{
    (void)state;
    const cvg_kernel kernels[] = {CVG_KERNEL_FUSED, CVG_KERNEL_SGEMM, CVG_KERNEL_SSYRK};
    char *paths[NETS];
    fixture_paths(paths);
    for (int k = 0; k < 3; k++) {
        cvg_stats_options opt;
        cvg_stats_options_init(&opt);
        opt.kernel = kernels[k];
        cvg_stats *s = NULL;
        assert_int_equal(cvg_stats_compute((const char *const *)paths, NETS, "fc", &opt, &s), CVG_ERR_NUMERIC);
        assert_null(s);
        const char *e = cvg_last_error();
        if (!strstr(e, "layer 'fc'") || !strstr(e, "net 1") || !strstr(e, "fc_range/net1.npy") ||
            !strstr(e, "float32 kernel"))
            fail_msg("kernel %d: unclear error: %s", (int)kernels[k], e);
    }
    free(paths[0]), free(paths[1]);
}

/* Brute-force float64 two-pass statistics of n rows of D columns. */
static void brute_force(const double *x, int64_t n, int64_t D, double *mean, double *std, double *corr)
{
    double *cov = calloc((size_t)(D * D), sizeof *cov);
    for (int64_t j = 0; j < D; j++) {
        mean[j] = 0;
        for (int64_t r = 0; r < n; r++) mean[j] += x[r * D + j];
        mean[j] /= (double)n;
    }
    for (int64_t r = 0; r < n; r++)
        for (int64_t i = 0; i < D; i++)
            for (int64_t j = 0; j < D; j++) cov[i * D + j] += (x[r * D + i] - mean[i]) * (x[r * D + j] - mean[j]);
    for (int64_t i = 0; i < D; i++) std[i] = sqrt(cov[i * D + i] / (double)n);
    for (int64_t i = 0; i < D; i++)
        for (int64_t j = 0; j < D; j++)
            corr[i * D + j] = i == j ? 1.0 : cov[i * D + j] / sqrt(cov[i * D + i] * cov[j * D + j]);
    free(cov);
}

/* Two float64 files of n x S with values of scale `scale` (correlated across the files). */
static void write_f64_pair(const char *dir, double scale, int64_t n, int64_t S, char **pa, char **pb, double *rows)
{
    double *a = malloc(sizeof(double) * n * S), *b = malloc(sizeof(double) * n * S);
    uint64_t seed = 3;
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < S; j++) {
            a[r * S + j] = scale * test_rand_normal(&seed);
            b[r * S + j] = 0.6 * a[r * S + j] + scale * test_rand_normal(&seed);
            rows[r * 2 * S + j] = a[r * S + j];
            rows[r * 2 * S + S + j] = b[r * S + j];
        }
    const int64_t shape[2] = {n, S};
    *pa = test_path(dir, "a.npy");
    *pb = test_path(dir, "b.npy");
    assert_cvg_ok(cvg_npy_save(*pa, CVG_F64, 2, shape, a));
    assert_cvg_ok(cvg_npy_save(*pb, CVG_F64, 2, shape, b));
    free(a), free(b);
}

/* float64 files beyond float32 (1e39): the co-moments are right in float64, but samples.npy
 * (float32) cannot hold them: refused with the reservoir, right without it. Beyond float64's
 * squares (1e200): refused either way. */
static void test_float64_inputs_beyond_float32(void **state)
{
    (void)state;
    enum { N = 700, S = 3 };
    const int64_t D = 2 * S;
    char *dir = test_tmpdir("range_f64"), *pa, *pb;
    double *rows = malloc(sizeof(double) * N * D);
    write_f64_pair(dir, 1e39, N, S, &pa, &pb, rows);
    const char *paths[2] = {pa, pb};
    cvg_stats *s = NULL;
    assert_int_equal(cvg_stats_compute(paths, 2, "big", NULL, &s), CVG_ERR_NUMERIC);
    assert_non_null(strstr(cvg_last_error(), "samples.npy"));
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.reservoir = 0;
    assert_cvg_ok(cvg_stats_compute(paths, 2, "big", &opt, &s));
    double mean[D], std[D], corr[D * D], ref_mean[D], ref_std[D], ref_corr[D * D];
    memcpy(mean, cvg_stats_mean(s), sizeof mean);
    assert_cvg_ok(cvg_stats_correlation(s, std, corr, NULL));
    brute_force(rows, N, D, ref_mean, ref_std, ref_corr);
    compare("mean 1e39", mean, ref_mean, D, 1e-9, 1e39);
    compare("std 1e39", std, ref_std, D, 1e-12, 0);
    compare("corr 1e39", corr, ref_corr, D * D, 1e-12, 1.0);
    cvg_stats_free(s);
    free(pa), free(pb);

    write_f64_pair(dir, 1e200, N, S, &pa, &pb, rows);
    paths[0] = pa, paths[1] = pb;
    assert_int_equal(cvg_stats_compute(paths, 2, "huge", &opt, &s), CVG_ERR_NUMERIC);
    assert_non_null(strstr(cvg_last_error(), "too large even for float64"));
    assert_non_null(strstr(cvg_last_error(), "a.npy"));
    free(pa), free(pb), free(rows), free(dir);
}

/* An accumulator fed through cvg_stats_add_rows (the taps) with the fused kernel cannot be
 * measured again: cvg_stats_save refuses it and writes nothing. */
static void test_save_refuses_an_overflowed_accumulator(void **state)
{
    (void)state;
    enum { N = 3000, S = 4 };
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.kernel = CVG_KERNEL_FUSED;
    cvg_stats *s;
    assert_cvg_ok(cvg_stats_create("taps", 1, S, 0, 0, &opt, &s));
    float *x = malloc(sizeof(float) * N * S);
    uint64_t seed = 9;
    for (int i = 0; i < N * S; i++) x[i] = (float)(1e19 * test_rand_normal(&seed));
    assert_cvg_ok(cvg_stats_add_rows(s, x, N, N));
    char *dir = test_tmpdir("range_save");
    assert_int_equal(cvg_stats_save(s, dir), CVG_ERR_NUMERIC);
    assert_non_null(strstr(cvg_last_error(), "layer 'taps'"));
    char *layer_dir = test_path(dir, "taps/meta.json");
    FILE *f = fopen(layer_dir, "r");
    assert_null(f);
    cvg_stats_free(s);
    free(x), free(dir), free(layer_dir);
}

/* The cross-layer pass (two "layers" of one net: the fixture's two files) refuses to write a
 * co-moment its float32 kernel overflowed, naming the layer, net and file; in float64 it
 * writes finite arrays. */
static void test_cross_layer_refuses_overflow(void **state)
{
    (void)state;
    char *paths[NETS], *dir = test_tmpdir("range_cross");
    fixture_paths(paths);
    const char *names[2] = {"first", "second"};
    cvg_cross *c;
    assert_cvg_ok(cvg_cross_compute((const char *const *)paths, 1, 2, names, NULL, &c));
    assert_int_equal(cvg_cross_save(c, dir, "x"), CVG_ERR_NUMERIC);
    const char *e = cvg_last_error();
    if (!strstr(e, "cross-layer 'x'") || !strstr(e, "layer 'first' of net 1") || !strstr(e, "net1.npy"))
        fail_msg("unclear error: %s", e);
    cvg_cross_free(c);
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.kernel = CVG_KERNEL_DSYRK;
    assert_cvg_ok(cvg_cross_compute((const char *const *)paths, 1, 2, names, &opt, &c));
    assert_cvg_ok(cvg_cross_save(c, dir, "x"));
    cvg_cross_free(c);
    char *p = test_path(dir, "x/comoment.npy");
    int64_t n;
    double *v = load(p, &n);
    for (int64_t i = 0; i < n; i++) assert_true(isfinite(v[i]));
    free(v), free(p), free(paths[0]), free(paths[1]), free(dir);
}

/* The CLI end to end: exit 0 and no inf or NaN in any .npy written; a chosen float kernel:
 * exit 1 and the layer named. */
static void test_cli_outputs_are_finite(void **state)
{
    (void)state;
    char *dir = test_tmpdir("range_cli"), *paths[NETS];
    fixture_paths(paths);
    assert_int_equal(test_system("%s stats -q --layer fc -o %s %s %s > %s/log 2>&1", CVG_CLI, dir,
                                 paths[0], paths[1], dir), 0);
    const char *files[] = {"mean.npy", "std.npy", "comoment.npy", "corr.npy", "samples.npy",
                           "sqnorm_q.npy", "sqnorm_g.npy"};
    for (int i = 0; i < 7; i++) {
        char name[64];
        snprintf(name, sizeof name, "fc/%s", files[i]);
        char *p = test_path(dir, name);
        int64_t n;
        double *v = load(p, &n);
        for (int64_t j = 0; j < n; j++)
            if (!isfinite(v[j])) fail_msg("%s[%lld] = %g", p, (long long)j, v[j]);
        free(v), free(p);
    }
    assert_int_equal(test_system("%s stats -q --kernel fused --layer fc -o %s/f %s %s 2> %s/err", CVG_CLI,
                                 dir, paths[0], paths[1], dir), 1);
    assert_int_equal(test_system("grep -q \"layer 'fc': unit .* of net 1 (.*net1.npy)\" %s/err", dir), 0);
    free(paths[0]), free(paths[1]), free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_kernel_gives_the_float64_answer),
        cmocka_unit_test(test_chosen_float_kernel_refuses_by_name),
        cmocka_unit_test(test_float64_inputs_beyond_float32),
        cmocka_unit_test(test_save_refuses_an_overflowed_accumulator),
        cmocka_unit_test(test_cross_layer_refuses_overflow),
        cmocka_unit_test(test_cli_outputs_are_finite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
