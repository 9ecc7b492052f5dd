/* The co-moment accumulator against a brute-force two-pass computation in long double, the
 * merge of shards against one pass, chunking invariance, and dead units. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/comoment_kernel.h"
#include "stats/moments_internal.h"
#include "test_support.h"

enum { N = 3000, D = 12 };

/* Rows with structure: shared factors, a big-mean column (1e3 + N(0,1)), a constant column. */
static double *make_rows(uint64_t seed)
{
    double *x = malloc(sizeof(double) * N * D);
    uint64_t s = seed;
    for (int r = 0; r < N; r++) {
        double f1 = test_rand_normal(&s), f2 = test_rand_normal(&s);
        for (int j = 0; j < D; j++) {
            double v = (j % 3) * f1 - (j % 4) * f2 + 0.3 * test_rand_normal(&s);
            x[r * D + j] = v > 0 ? v : 0.0;
        }
        x[r * D + 4] = 1e3 + test_rand_normal(&s);
        x[r * D + 7] = 0.1; /* constant: dead */
    }
    return x;
}

static void two_pass(const double *x, int n, double *mean, double *M)
{
    for (int j = 0; j < D; j++) {
        long double s = 0;
        for (int r = 0; r < n; r++) s += x[r * D + j];
        mean[j] = (double)(s / n);
    }
    for (int i = 0; i < D; i++)
        for (int j = 0; j < D; j++) {
            long double s = 0;
            for (int r = 0; r < n; r++) s += ((long double)x[r * D + i] - mean[i]) * ((long double)x[r * D + j] - mean[j]);
            M[i * D + j] = (double)s;
        }
}

static double max_corr_error(const cvg_moments *m, const double *M_ref, int n)
{
    double M[D * D], c[D * D], cr[D * D];
    cvg_moments_comoment(m, M);
    assert_cvg_ok(cvg_correlation_from_comoment(D, cvg_moments_count(m), M, NULL, c, NULL));
    assert_cvg_ok(cvg_correlation_from_comoment(D, n, M_ref, NULL, cr, NULL));
    double worst = 0;
    for (int i = 0; i < D * D; i++) {
        assert_true(isfinite(c[i]));
        worst = fmax(worst, fabs(c[i] - cr[i]));
    }
    return worst;
}

static void test_matches_two_pass(void **state)
{
    (void)state;
    double *x = make_rows(1);
    double mean[D], M_ref[D * D];
    two_pass(x, N, mean, M_ref);
    const cvg_kernel kernels[] = {CVG_KERNEL_SSYRK, CVG_KERNEL_SGEMM, CVG_KERNEL_DSYRK, CVG_KERNEL_FUSED};
    const double corr_tol[] = {1e-6, 1e-6, 1e-12, 1e-6};
    for (int k = 0; k < 4; k++) {
        cvg_moments *m;
        assert_cvg_ok(cvg_moments_create(D, kernels[k], &m));
        assert_cvg_ok(cvg_moments_add(m, x, N, D));
        assert_int_equal(cvg_moments_count(m), N);
        for (int j = 0; j < D; j++) assert_true(fabs(cvg_moments_mean(m)[j] - mean[j]) <= 1e-12 * fmax(1, fabs(mean[j])));
        double err = max_corr_error(m, M_ref, N);
        if (err > corr_tol[k]) fail_msg("kernel %d: correlation error %g > %g", (int)kernels[k], err, corr_tol[k]);
        /* The big-mean unit's variance is right: the naive sum-of-squares would lose it. */
        double M[D * D];
        cvg_moments_comoment(m, M);
        assert_true(fabs(M[4 * D + 4] / M_ref[4 * D + 4] - 1) < 1e-5);
        assert_true(M[7 * D + 7] == 0.0);
        cvg_moments_free(m);
    }
    free(x);
}

/* Three uneven shards merged equal one pass; so does feeding rows in odd-sized pieces. */
static void test_merge_equals_one_pass(void **state)
{
    (void)state;
    double *x = make_rows(2);
    cvg_moments *one, *a, *b, *c, *pieces;
    assert_cvg_ok(cvg_moments_create(D, CVG_KERNEL_DSYRK, &one));
    assert_cvg_ok(cvg_moments_create(D, CVG_KERNEL_DSYRK, &a));
    assert_cvg_ok(cvg_moments_create(D, CVG_KERNEL_DSYRK, &b));
    assert_cvg_ok(cvg_moments_create(D, CVG_KERNEL_DSYRK, &c));
    assert_cvg_ok(cvg_moments_create(D, CVG_KERNEL_DSYRK, &pieces));
    assert_cvg_ok(cvg_moments_add(one, x, N, D));
    assert_cvg_ok(cvg_moments_add(a, x, 17, D));
    assert_cvg_ok(cvg_moments_add(b, x + 17 * D, 1900, D));
    assert_cvg_ok(cvg_moments_add(c, x + 1917 * D, N - 1917, D));
    assert_cvg_ok(cvg_moments_merge(b, c));
    assert_cvg_ok(cvg_moments_merge(a, b));
    for (int r = 0; r < N;) {
        int take = 1 + r % 7;
        if (r + take > N) take = N - r;
        assert_cvg_ok(cvg_moments_add(pieces, x + r * D, take, D));
        r += take;
    }
    double M1[D * D], Ma[D * D], Mp[D * D];
    cvg_moments_comoment(one, M1);
    cvg_moments_comoment(a, Ma);
    cvg_moments_comoment(pieces, Mp);
    assert_int_equal(cvg_moments_count(a), N);
    for (int i = 0; i < D * D; i++) {
        /* relative to the entry's natural scale sqrt(M_ii M_jj) (or 1 for dead units) */
        double scale = fmax(1.0, sqrt(M1[(i / D) * (D + 1)] * M1[(i % D) * (D + 1)]));
        assert_true(fabs(Ma[i] - M1[i]) <= 1e-11 * scale);
        assert_true(fabs(Mp[i] - M1[i]) <= 1e-11 * scale);
    }
    for (int j = 0; j < D; j++) assert_true(fabs(cvg_moments_mean(a)[j] - cvg_moments_mean(one)[j]) <= 1e-12 * fmax(1, fabs(cvg_moments_mean(one)[j])));
    /* merging an empty accumulator changes nothing; mismatched dims are refused */
    cvg_moments *empty, *other;
    assert_cvg_ok(cvg_moments_create(D, CVG_KERNEL_DSYRK, &empty));
    assert_cvg_ok(cvg_moments_create(D + 1, CVG_KERNEL_DSYRK, &other));
    assert_cvg_ok(cvg_moments_merge(a, empty));
    assert_int_equal(cvg_moments_count(a), N);
    assert_int_equal(cvg_moments_merge(a, other), CVG_ERR_SHAPE);
    cvg_moments_free(one), cvg_moments_free(a), cvg_moments_free(b), cvg_moments_free(c);
    cvg_moments_free(pieces), cvg_moments_free(empty), cvg_moments_free(other);
    free(x);
}

static void test_dead_units_and_bounds(void **state)
{
    (void)state;
    double *x = make_rows(3);
    for (int r = 0; r < N; r++) x[r * D + 2] = 0.0; /* an all-zero ReLU unit too */
    cvg_moments *m;
    assert_cvg_ok(cvg_moments_create(D, CVG_KERNEL_AUTO, &m));
    assert_cvg_ok(cvg_moments_add(m, x, N, D));
    double M[D * D], c[D * D], sd[D];
    unsigned char dead[D];
    cvg_moments_comoment(m, M);
    assert_cvg_ok(cvg_correlation_from_comoment(D, N, M, sd, c, dead));
    for (int i = 0; i < D; i++) {
        assert_int_equal(dead[i], i == 2 || i == 7);
        assert_true(isfinite(sd[i]));
        for (int j = 0; j < D; j++) {
            double v = c[i * D + j];
            assert_true(isfinite(v) && v >= -1 && v <= 1);
            if (i == j) assert_true(v == 1.0);
            else if (dead[i] || dead[j]) assert_true(v == 0.0);
            assert_true(v == c[j * D + i]);
        }
    }
    assert_true(sd[2] == 0.0 && sd[7] == 0.0);
    /* nothing added: every unit dead, still no NaN */
    cvg_moments *none;
    assert_cvg_ok(cvg_moments_create(D, CVG_KERNEL_AUTO, &none));
    cvg_moments_comoment(none, M);
    assert_cvg_ok(cvg_correlation_from_comoment(D, 0, M, sd, c, dead));
    for (int i = 0; i < D * D; i++) assert_true(c[i] == (i % (D + 1) == 0 ? 1.0 : 0.0));
    cvg_moments_free(m);
    cvg_moments_free(none);
    free(x);
}

/* The fused kernel against dsyrk (float64 throughout) on widths around its panel and tile
 * boundaries, row counts around the sub-block (128), batch (1024) and chunk (16384) sizes, a
 * leading dimension wider than the rows, float and double input, the AVX-512 and portable
 * kernels, the work split by rows and by columns. */
static void test_fused_matches_dsyrk(void **state)
{
    (void)state;
    const int64_t widths[] = {1, 3, 17, 50, 130}, counts[] = {1, 129, 1100, 16500};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++)
        for (size_t c = 0; c < sizeof counts / sizeof *counts; c++)
            for (int variant = 0; variant < 4; variant++) {
                const int portable = variant & 1, by_rows = variant >> 1;
                moments__force_split(by_rows);
                const int64_t dim = widths[w], n = counts[c], ld = dim + 3;
                double *x = malloc(sizeof(double) * (size_t)(n * ld));
                float *xf = malloc(sizeof(float) * (size_t)(n * ld));
                uint64_t s = 11 + w * 7 + c;
                for (int64_t r = 0; r < n; r++) {
                    const double f = test_rand_normal(&s);
                    for (int64_t j = 0; j < ld; j++) {
                        const double v = (j % 3) * f + test_rand_normal(&s) + (j == 1 ? 1e3 : 0);
                        xf[r * ld + j] = (float)(v > 0 ? v : 0);
                        x[r * ld + j] = xf[r * ld + j];
                    }
                }
                cvg_moments *ref, *f32, *f64;
                assert_cvg_ok(cvg_moments_create(dim, CVG_KERNEL_DSYRK, &ref));
                assert_cvg_ok(cvg_moments_create(dim, CVG_KERNEL_FUSED, &f32));
                assert_cvg_ok(cvg_moments_create(dim, CVG_KERNEL_FUSED, &f64));
                ck_force_portable(portable);
                assert_cvg_ok(cvg_moments_add(ref, x, n, ld));
                assert_cvg_ok(cvg_moments_add_f32(f32, xf, n, ld));
                assert_cvg_ok(cvg_moments_add(f64, x, n, ld));
                ck_force_portable(0);
                moments__force_split(-1);
                double *Mr = malloc(sizeof(double) * (size_t)(dim * dim));
                double *Mf = malloc(sizeof(double) * (size_t)(dim * dim));
                cvg_moments_comoment(ref, Mr);
                for (int which = 0; which < 2; which++) {
                    const cvg_moments *m = which ? f64 : f32;
                    assert_int_equal(cvg_moments_count(m), n);
                    for (int64_t j = 0; j < dim; j++)
                        assert_true(fabs(cvg_moments_mean(m)[j] - cvg_moments_mean(ref)[j]) <=
                                    1e-12 * fmax(1, fabs(cvg_moments_mean(ref)[j])));
                    cvg_moments_comoment(m, Mf);
                    for (int64_t i = 0; i < dim; i++)
                        for (int64_t j = 0; j < dim; j++) {
                            const double scale = sqrt(Mr[i * dim + i] * Mr[j * dim + j]);
                            if (fabs(Mf[i * dim + j] - Mr[i * dim + j]) > 1e-5 * scale + 1e-12) /* float32 sums of 128 */
                                fail_msg("D=%lld n=%lld portable=%d by_rows=%d %s: M[%lld][%lld] %.10g vs %.10g",
                                         (long long)dim, (long long)n, portable, by_rows, which ? "f64" : "f32",
                                         (long long)i, (long long)j, Mf[i * dim + j], Mr[i * dim + j]);
                        }
                }
                cvg_moments_free(ref), cvg_moments_free(f32), cvg_moments_free(f64);
                free(x), free(xf), free(Mr), free(Mf);
            }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    cvg_moments *m;
    assert_int_equal(cvg_moments_create(0, CVG_KERNEL_AUTO, &m), CVG_ERR_ARG);
    assert_int_equal(cvg_moments_create(4, (cvg_kernel)99, &m), CVG_ERR_ARG);
    assert_cvg_ok(cvg_moments_create(4, CVG_KERNEL_AUTO, &m));
    double row[4] = {0};
    assert_int_equal(cvg_moments_add(m, row, 1, 3), CVG_ERR_ARG); /* ld < dim */
    cvg_moments_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_two_pass),
        cmocka_unit_test(test_merge_equals_one_pass),
        cmocka_unit_test(test_dead_units_and_bounds),
        cmocka_unit_test(test_fused_matches_dsyrk),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
