/* Linear assignment against scipy.optimize.linear_sum_assignment: the optimal objectives in
 * fixtures/lap/cases.txt (made by fixtures/make_lap_fixtures.py), maximizing and minimizing,
 * on square, wide and tall matrices up to 1024 x 1024: uniform, integer with heavy ties,
 * constant, 0/1, very negative, and correlation-like. The large matrices are regenerated here
 * bit for bit from the script's integer formula (see gen() there). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lap_check.h"

static uint64_t splitmix_at(uint64_t seed, uint64_t k)
{
    uint64_t z = seed + (k + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The script's gen(kind, param, seed, rows, cols). Returns 1 if the values are integers. */
static int gen(const char *kind, double param, uint64_t seed, int64_t rows, int64_t cols,
               double *a)
{
    int integer = 1;
    for (int64_t k = 0; k < rows * cols; k++) {
        uint64_t u = splitmix_at(seed, (uint64_t)k) >> 11;
        if (!strcmp(kind, "unif")) {
            a[k] = (double)u * 0x1p-53;
            integer = 0;
        } else if (!strcmp(kind, "int")) {
            int64_t p = (int64_t)param;
            a[k] = (double)((int64_t)(u % (uint64_t)p) - p / 2);
        } else if (!strcmp(kind, "near")) {
            a[k] = -1e6 + (double)(u >> 33) * 0x1p-10;
            integer = 0;
        } else if (!strcmp(kind, "negint")) {
            a[k] = -(double)(u % ((uint64_t)param + 1));
        } else if (!strcmp(kind, "bin")) {
            a[k] = (double)(u % 2);
        } else if (!strcmp(kind, "const")) {
            a[k] = param;
            integer = param == floor(param);
        } else {
            fail_msg("unknown kind %s", kind);
        }
    }
    return integer;
}

static void transpose(const double *a, int64_t rows, int64_t cols, double *t)
{
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
}

/* Solve both ways, check validity and both objectives. */
static void check_case(const char *name, const double *a, int64_t rows, int64_t cols,
                       double want_max, double want_min, double tol)
{
    int64_t *r2c = malloc(sizeof(int64_t) * (size_t)rows);
    assert_non_null(r2c);
    char what[256];
    for (int maximize = 1; maximize >= 0; maximize--) {
        double total = NAN;
        if (maximize) assert_cvg_ok(cvg_assignment_max(a, rows, cols, r2c, &total));
        else assert_cvg_ok(cvg_assignment_min(a, rows, cols, r2c, &total));
        double recomputed = lap_check_valid(a, rows, cols, r2c);
        snprintf(what, sizeof what, "%s (%lldx%lld, %s)", name, (long long)rows,
                 (long long)cols, maximize ? "max" : "min");
        lap_assert_close(total, maximize ? want_max : want_min, tol, what);
        lap_assert_close(recomputed, total, 1e-12, what);
    }
    free(r2c);
}

static void test_scipy_cases(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/lap/cases.txt", CVG_FIXTURE_DIR);
    FILE *fp = fopen(path, "r");
    if (!fp) fail_msg("cannot open %s", path);
    char line[1024];
    int ncases = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char name[128], source[128], kind[32];
        long long rows, cols;
        double param, want_max, want_min;
        unsigned long long seed;
        if (sscanf(line, "%127s %127s %lld %lld %31s %lf %llu %lf %lf", name, source, &rows,
                   &cols, kind, &param, &seed, &want_max, &want_min) != 9)
            fail_msg("bad line in %s: %s", path, line);
        double *a = NULL;
        double tol = 1e-9;
        if (!strcmp(source, "gen")) {
            a = malloc(sizeof(double) * (size_t)(rows * cols));
            assert_non_null(a);
            if (gen(kind, param, seed, rows, cols, a)) tol = 0.0; /* integer sums are exact */
        } else {
            char npy[4096];
            snprintf(npy, sizeof npy, "%s/lap/%s", CVG_FIXTURE_DIR, source);
            int ndim;
            int64_t shape[CVG_NPY_MAX_DIMS];
            assert_cvg_ok(cvg_npy_load(npy, &ndim, shape, &a));
            assert_int_equal(ndim, 2);
            assert_int_equal(shape[0], rows);
            assert_int_equal(shape[1], cols);
        }
        check_case(name, a, rows, cols, want_max, want_min, tol);
        if (rows * cols <= 200 * 200) {
            /* The transposed problem has the same optima (the other side is matched). */
            double *t = malloc(sizeof(double) * (size_t)(rows * cols));
            assert_non_null(t);
            transpose(a, rows, cols, t);
            char tname[160];
            snprintf(tname, sizeof tname, "%s transposed", name);
            check_case(tname, t, cols, rows, want_max, want_min, tol);
            free(t);
        }
        free(a);
        ncases++;
    }
    fclose(fp);
    assert_true(ncases >= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scipy_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
