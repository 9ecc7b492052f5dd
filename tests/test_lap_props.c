/* Linear assignment on medium and large problems against references that need no solver:
 * the rearrangement inequality (rank-one scores), maximum bipartite matching (0/1 scores,
 * Kuhn's algorithm), a planted permutation with a margin, and invariances (row and column
 * offsets, permutations). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lap_check.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* score[i][j] = x_i * y_j, x, y > 0: the best pairing sorts both alike (rearrangement
 * inequality), the worst sorts them oppositely. */
static void test_rank_one(void **state)
{
    (void)state;
    uint64_t rng = 5;
    const int64_t n = 300;
    double *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n);
    double *s = malloc(sizeof(double) * n * n);
    int64_t *r2c = malloc(sizeof(int64_t) * n);
    for (int64_t i = 0; i < n; i++) {
        x[i] = 0.1 + test_rand_uniform(&rng);
        y[i] = 0.1 + test_rand_uniform(&rng);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) s[i * n + j] = x[i] * y[j];
    double total;
    assert_cvg_ok(cvg_assignment_max(s, n, n, r2c, &total));
    lap_check_valid(s, n, n, r2c);
    qsort(x, (size_t)n, sizeof(double), cmp_double);
    qsort(y, (size_t)n, sizeof(double), cmp_double);
    long double best = 0, worst = 0;
    for (int64_t k = 0; k < n; k++) {
        best += (long double)x[k] * y[k];
        worst += (long double)x[k] * y[n - 1 - k];
    }
    lap_assert_close(total, (double)best, 1e-12, "rank one, max");
    assert_cvg_ok(cvg_assignment_min(s, n, n, r2c, &total));
    lap_assert_close(total, (double)worst, 1e-12, "rank one, min");
    free(x);
    free(y);
    free(s);
    free(r2c);
}

/* Kuhn's augmenting paths on the bipartite graph of the nonzero entries: the size of a maximum
 * matching, which is the optimum of a 0/1 score matrix. */
static int kuhn_try(const double *s, int64_t cols, int64_t i, int64_t *match_col,
                    unsigned char *seen)
{
    for (int64_t j = 0; j < cols; j++) {
        if (s[i * cols + j] == 0.0 || seen[j]) continue;
        seen[j] = 1;
        if (match_col[j] < 0 || kuhn_try(s, cols, match_col[j], match_col, seen)) {
            match_col[j] = i;
            return 1;
        }
    }
    return 0;
}

static int64_t max_matching(const double *s, int64_t rows, int64_t cols)
{
    int64_t *match_col = malloc(sizeof(int64_t) * (size_t)cols);
    unsigned char *seen = malloc((size_t)cols);
    for (int64_t j = 0; j < cols; j++) match_col[j] = -1;
    int64_t size = 0;
    for (int64_t i = 0; i < rows; i++) {
        memset(seen, 0, (size_t)cols);
        size += kuhn_try(s, cols, i, match_col, seen);
    }
    free(match_col);
    free(seen);
    return size;
}

static void test_binary_is_max_matching(void **state)
{
    (void)state;
    uint64_t rng = 6;
    const int64_t shapes[][2] = {{400, 400}, {250, 420}, {420, 250}, {300, 300}};
    const double density[] = {0.004, 0.006, 0.006, 0.02};
    for (int c = 0; c < 4; c++) {
        int64_t rows = shapes[c][0], cols = shapes[c][1];
        double *s = malloc(sizeof(double) * (size_t)(rows * cols));
        int64_t *r2c = malloc(sizeof(int64_t) * (size_t)rows);
        for (int64_t k = 0; k < rows * cols; k++)
            s[k] = test_rand_uniform(&rng) < density[c] ? 1.0 : 0.0;
        double total;
        assert_cvg_ok(cvg_assignment_max(s, rows, cols, r2c, &total));
        lap_check_valid(s, rows, cols, r2c);
        int64_t want = max_matching(s, rows, cols);
        if (total != (double)want)
            fail_msg("0/1 %lldx%lld: total %g, maximum matching %lld", (long long)rows,
                     (long long)cols, total, (long long)want);
        free(s);
        free(r2c);
    }
}

/* A planted permutation scoring 1 against noise in [0, 0.45): any other assignment gives up
 * at least 1 per changed row and gains less than 0.45 + 0.45, so the plant is the unique
 * optimum. n = 2000 exercises sizes above the fixtures'. */
static void test_planted_permutation(void **state)
{
    (void)state;
    uint64_t rng = 7;
    const int64_t n = 2000;
    int64_t *perm = malloc(sizeof(int64_t) * n);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t k = (int64_t)(test_rand_u64(&rng) % (uint64_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[k];
        perm[k] = t;
    }
    double *s = malloc(sizeof(double) * n * n);
    for (int64_t k = 0; k < n * n; k++) s[k] = 0.45 * test_rand_uniform(&rng);
    for (int64_t i = 0; i < n; i++) s[i * n + perm[i]] = 1.0;
    int64_t *r2c = malloc(sizeof(int64_t) * n);
    double total;
    assert_cvg_ok(cvg_assignment_max(s, n, n, r2c, &total));
    for (int64_t i = 0; i < n; i++)
        if (r2c[i] != perm[i]) fail_msg("row %lld -> %lld, planted %lld", (long long)i,
                                        (long long)r2c[i], (long long)perm[i]);
    assert_true(total == (double)n);
    free(perm);
    free(s);
    free(r2c);
}

/* Adding a_i to row i and b_j to column j adds sum a + sum b to every full assignment of a
 * square matrix; permuting rows and columns changes nothing. Checked on a continuous matrix,
 * where the optimum is unique in practice. */
static void test_invariances(void **state)
{
    (void)state;
    uint64_t rng = 8;
    const int64_t n = 500;
    double *s = malloc(sizeof(double) * n * n), *t = malloc(sizeof(double) * n * n);
    double *a = malloc(sizeof(double) * n), *b = malloc(sizeof(double) * n);
    int64_t *r2c = malloc(sizeof(int64_t) * n), *r2c2 = malloc(sizeof(int64_t) * n);
    int64_t *pr = malloc(sizeof(int64_t) * n), *pc = malloc(sizeof(int64_t) * n);
    for (int64_t k = 0; k < n * n; k++) s[k] = test_rand_normal(&rng);
    long double shift = 0;
    for (int64_t i = 0; i < n; i++) {
        a[i] = 100.0 * test_rand_normal(&rng);
        b[i] = 100.0 * test_rand_normal(&rng);
        shift += (long double)a[i] + b[i];
        pr[i] = pc[i] = i;
    }
    double base;
    assert_cvg_ok(cvg_assignment_max(s, n, n, r2c, &base));

    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) t[i * n + j] = s[i * n + j] + a[i] + b[j];
    double shifted;
    assert_cvg_ok(cvg_assignment_max(t, n, n, r2c2, &shifted));
    lap_check_valid(t, n, n, r2c2);
    lap_assert_close(shifted, base + (double)shift, 1e-9, "row and column offsets");
    for (int64_t i = 0; i < n; i++) assert_int_equal(r2c2[i], r2c[i]);

    for (int64_t i = n - 1; i > 0; i--) {
        int64_t k = (int64_t)(test_rand_u64(&rng) % (uint64_t)(i + 1)), x = pr[i];
        pr[i] = pr[k];
        pr[k] = x;
        k = (int64_t)(test_rand_u64(&rng) % (uint64_t)(i + 1));
        x = pc[i];
        pc[i] = pc[k];
        pc[k] = x;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) t[i * n + j] = s[pr[i] * n + pc[j]];
    double permuted;
    assert_cvg_ok(cvg_assignment_max(t, n, n, r2c2, &permuted));
    lap_check_valid(t, n, n, r2c2);
    lap_assert_close(permuted, base, 1e-12, "permuted rows and columns");
    /* same pairs: t row i (= s row pr[i]) -> t column j (= s column pc[j]) */
    for (int64_t i = 0; i < n; i++) assert_int_equal(pc[r2c2[i]], r2c[pr[i]]);

    /* Deterministic: the same input gives the same answer. */
    assert_cvg_ok(cvg_assignment_max(s, n, n, r2c2, NULL));
    for (int64_t i = 0; i < n; i++) assert_int_equal(r2c2[i], r2c[i]);
    free(s);
    free(t);
    free(a);
    free(b);
    free(r2c);
    free(r2c2);
    free(pr);
    free(pc);
}

/* Every entry equal, large: any full assignment is optimal; it must come back quickly and be
 * valid in all three orientations. */
static void test_constant_large(void **state)
{
    (void)state;
    const int64_t shapes[][2] = {{1500, 1500}, {700, 1500}, {1500, 700}};
    for (int c = 0; c < 3; c++) {
        int64_t rows = shapes[c][0], cols = shapes[c][1];
        double *s = malloc(sizeof(double) * (size_t)(rows * cols));
        int64_t *r2c = malloc(sizeof(int64_t) * (size_t)rows);
        for (int64_t k = 0; k < rows * cols; k++) s[k] = -2.5;
        double total;
        assert_cvg_ok(cvg_assignment_max(s, rows, cols, r2c, &total));
        lap_check_valid(s, rows, cols, r2c);
        assert_true(total == -2.5 * (double)(rows < cols ? rows : cols));
        free(s);
        free(r2c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_one),
        cmocka_unit_test(test_binary_is_max_matching),
        cmocka_unit_test(test_planted_permutation),
        cmocka_unit_test(test_invariances),
        cmocka_unit_test(test_constant_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
