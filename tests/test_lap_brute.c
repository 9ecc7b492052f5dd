/* Linear assignment against brute force: every injection of the smaller side into the larger
 * one is enumerated on thousands of random problems with rows, cols <= 8; also the errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lap_check.h"

/* Exhaustive search: unit k of the smaller side (size m) is paired with every unused unit of
 * the larger side (size M), recursively. pair(k, l) is score[k][l] if rows <= cols else
 * score[l][k]. Keeps the best (maximize > 0) or the least sum. */
typedef struct brute {
    const double *s;
    int64_t rows, cols, m, M;
    int maximize;
    unsigned used;
    long double best;
    int have;
} brute;

static double pair_score(const brute *b, int64_t k, int64_t l)
{
    return b->rows <= b->cols ? b->s[k * b->cols + l] : b->s[l * b->cols + k];
}

static void brute_rec(brute *b, int64_t k, long double sum)
{
    if (k == b->m) {
        if (!b->have || (b->maximize ? sum > b->best : sum < b->best)) b->best = sum;
        b->have = 1;
        return;
    }
    for (int64_t l = 0; l < b->M; l++) {
        if (b->used & (1u << l)) continue;
        b->used |= 1u << l;
        brute_rec(b, k + 1, sum + pair_score(b, k, l));
        b->used &= ~(1u << l);
    }
}

static double brute_opt(const double *s, int64_t rows, int64_t cols, int maximize)
{
    brute b = {.s = s, .rows = rows, .cols = cols, .maximize = maximize};
    b.m = rows < cols ? rows : cols;
    b.M = rows < cols ? cols : rows;
    brute_rec(&b, 0, 0.0L);
    return (double)b.best;
}

/* Kinds of random matrices: small integer ranges make many ties. */
static double draw(uint64_t *rng, int kind)
{
    switch (kind) {
    case 0: return (double)(int)(test_rand_u64(rng) % 3);            /* {0,1,2}: heavy ties */
    case 1: return (double)((int)(test_rand_u64(rng) % 21) - 10);    /* [-10, 10] */
    case 2: return (double)((int)(test_rand_u64(rng) % 2001) - 1000) * 1000.0; /* -1e6 scale */
    case 3: return test_rand_normal(rng);                            /* continuous */
    case 4: return -1e6 + test_rand_uniform(rng);                    /* very negative, close */
    default: return 7.0;                                             /* constant */
    }
}

static void run_cases(int ncases, int square_only, uint64_t seed)
{
    uint64_t rng = seed;
    double s[64];
    int64_t r2c[8];
    for (int c = 0; c < ncases; c++) {
        int64_t rows = 1 + (int64_t)(test_rand_u64(&rng) % 8);
        int64_t cols = square_only ? rows : 1 + (int64_t)(test_rand_u64(&rng) % 8);
        int kind = (int)(test_rand_u64(&rng) % 6);
        for (int64_t k = 0; k < rows * cols; k++) s[k] = draw(&rng, kind);
        /* Integer-valued kinds are summed exactly by both sides: demand equality. */
        double tol = (kind == 3 || kind == 4) ? 1e-12 : 0.0;
        for (int maximize = 0; maximize < 2; maximize++) {
            double total = NAN;
            if (maximize) assert_cvg_ok(cvg_assignment_max(s, rows, cols, r2c, &total));
            else assert_cvg_ok(cvg_assignment_min(s, rows, cols, r2c, &total));
            double got = lap_check_valid(s, rows, cols, r2c);
            double want = brute_opt(s, rows, cols, maximize);
            char what[128];
            snprintf(what, sizeof what, "case %d (%lldx%lld kind %d %s)", c, (long long)rows,
                     (long long)cols, kind, maximize ? "max" : "min");
            lap_assert_close(got, want, tol, what);
            lap_assert_close(total, got, tol > 0 ? tol : 1e-15, what);
        }
    }
}

static void test_square_brute(void **state)
{
    (void)state;
    run_cases(2500, 1, 11);
}

static void test_rectangular_brute(void **state)
{
    (void)state;
    run_cases(2500, 0, 12);
}

static void test_trivial_shapes(void **state)
{
    (void)state;
    double one = -3.5, total = 0;
    int64_t r2c[4];
    assert_cvg_ok(cvg_assignment_max(&one, 1, 1, r2c, &total));
    assert_int_equal(r2c[0], 0);
    assert_true(total == -3.5);
    /* 1 x 4: the largest entry, first of ties. */
    double wide[4] = {1, 5, 5, 2};
    assert_cvg_ok(cvg_assignment_max(wide, 1, 4, r2c, &total));
    assert_true(total == 5.0);
    assert_true(r2c[0] == 1 || r2c[0] == 2);
    /* 4 x 1: one row matched, three get -1. */
    double tall[4] = {1, 9, -2, 3};
    assert_cvg_ok(cvg_assignment_max(tall, 4, 1, r2c, NULL));
    assert_int_equal(r2c[0], -1);
    assert_int_equal(r2c[1], 0);
    assert_int_equal(r2c[2], -1);
    assert_int_equal(r2c[3], -1);
    assert_cvg_ok(cvg_assignment_min(tall, 4, 1, r2c, &total));
    assert_int_equal(r2c[2], 0);
    assert_true(total == -2.0);
}

static void test_errors(void **state)
{
    (void)state;
    double s[6] = {1, 2, 3, 4, 5, 6};
    int64_t r2c[3];
    assert_int_equal(cvg_assignment_max(s, 0, 3, r2c, NULL), CVG_ERR_EMPTY);
    assert_int_equal(cvg_assignment_max(s, 2, 0, r2c, NULL), CVG_ERR_EMPTY);
    assert_int_equal(cvg_assignment_max(s, -1, 3, r2c, NULL), CVG_ERR_ARG);
    assert_int_equal(cvg_assignment_max(NULL, 2, 3, r2c, NULL), CVG_ERR_ARG);
    assert_int_equal(cvg_assignment_max(s, 2, 3, NULL, NULL), CVG_ERR_ARG);

    s[4] = NAN; /* row 1, column 1 */
    assert_int_equal(cvg_assignment_max(s, 2, 3, r2c, NULL), CVG_ERR_NONFINITE);
    assert_non_null(strstr(cvg_last_error(), "row 1, column 1"));
    assert_non_null(strstr(cvg_last_error(), "NaN"));
    s[4] = 5;
    s[2] = -INFINITY; /* row 0, column 2; also through the transposed (tall) path */
    assert_int_equal(cvg_assignment_min(s, 3, 2, r2c, NULL), CVG_ERR_NONFINITE);
    assert_non_null(strstr(cvg_last_error(), "row 1, column 0"));
    assert_int_equal(cvg_assignment_max(s, 2, 3, r2c, NULL), CVG_ERR_NONFINITE);
    assert_non_null(strstr(cvg_last_error(), "row 0, column 2"));
    assert_non_null(strstr(cvg_last_error(), "infinite"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_square_brute),
        cmocka_unit_test(test_rectangular_brute),
        cmocka_unit_test(test_trivial_shapes),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
