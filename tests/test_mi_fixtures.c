/* Mutual information against the numpy reference of tests/fixtures/make_mi_fixtures.py:
 * identical edges and codes (np.quantile "linear", np.searchsorted side="right"), and the MI
 * matrix (np.histogram2d, plug-in formula, Miller-Madow, bits) to 1e-9, on samples with a dead
 * unit, a constant unit, heavy ties, fewer non-zero values than bins, values at the zero
 * threshold, negative values and a monotone transform, with every counting kernel. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mi/mi_internal.h"
#include "test_support.h"

static double *load(const char *name, int64_t *d0, int64_t *d1)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/mi/%s", CVG_FIXTURE_DIR, name);
    int nd;
    int64_t shape[CVG_NPY_MAX_DIMS];
    double *data;
    assert_cvg_ok(cvg_npy_load(path, &nd, shape, &data));
    assert_int_equal(nd, 2);
    *d0 = shape[0];
    *d1 = shape[1];
    return data;
}

static void check_matrix(const char *what, const double *got, const double *want, int64_t dim)
{
    for (int64_t e = 0; e < dim * dim; e++)
        if (!(fabs(got[e] - want[e]) <= 1e-9))
            fail_msg("%s: [%lld][%lld] = %.17g, numpy %.17g", what, (long long)(e / dim),
                     (long long)(e % dim), got[e], want[e]);
}

static void check_config(const char *name, int bins, double zt)
{
    int64_t rows, dim, a, b;
    double *xs = load("samples.npy", &rows, &dim);
    float *x = malloc((size_t)(rows * dim) * sizeof *x);
    for (int64_t e = 0; e < rows * dim; e++) x[e] = (float)xs[e]; /* float32 in the file */
    char fn[256];
    snprintf(fn, sizeof fn, "%s_edges.npy", name);
    double *edges_ref = load(fn, &a, &b);
    assert_int_equal(a, dim);
    assert_int_equal(b, bins - 1);
    snprintf(fn, sizeof fn, "%s_codes.npy", name);
    double *codes_ref = load(fn, &a, &b);
    assert_int_equal(a, dim);
    assert_int_equal(b, rows);

    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    opt.bins = bins;
    opt.zero_threshold = zt;
    uint8_t *codes = malloc((size_t)(rows * dim));
    double *edges = malloc((size_t)(dim * (bins - 1)) * sizeof *edges);
    assert_cvg_ok(cvg_mi_bin(x, rows, dim, &opt, codes, edges, NULL));
    for (int64_t e = 0; e < dim * (bins - 1); e++)
        if (edges[e] != edges_ref[e])
            fail_msg("%s: edge %lld of unit %lld = %.17g, numpy %.17g", name,
                     (long long)(e % (bins - 1)), (long long)(e / (bins - 1)), edges[e],
                     edges_ref[e]);
    for (int64_t e = 0; e < dim * rows; e++)
        if (codes[e] != (uint8_t)codes_ref[e])
            fail_msg("%s: code of unit %lld row %lld = %d, numpy %d", name,
                     (long long)(e / rows), (long long)(e % rows), codes[e],
                     (int)codes_ref[e]);

    static const char *const variants[] = {"mi", "mi_mm", "mi_bits"};
    static const char *const kernels[] = {"bitslice", "avx512", "avx2", "generic"};
    double *out = malloc((size_t)(dim * dim) * sizeof *out);
    for (int v = 0; v < 3; v++) {
        snprintf(fn, sizeof fn, "%s_%s.npy", name, variants[v]);
        double *ref = load(fn, &a, &b);
        assert_int_equal(a, dim);
        assert_int_equal(b, dim);
        opt.bias_correction = v == 1;
        opt.bits = v == 2;
        for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
            if (!cvg__mi_force_kernel(kernels[k])) continue;
            char what[128];
            snprintf(what, sizeof what, "%s %s kernel %s", name, variants[v], kernels[k]);
            assert_cvg_ok(cvg_mi_matrix(x, rows, dim, &opt, out));
            check_matrix(what, out, ref, dim);
            /* the same from numpy's codes */
            assert_cvg_ok(cvg_mi_from_codes(codes, rows, dim, bins + 1, &opt, out));
            check_matrix(what, out, ref, dim);
        }
        cvg__mi_force_kernel(NULL);
        free(ref);
    }
    free(out);
    free(edges);
    free(codes);
    free(codes_ref);
    free(edges_ref);
    free(x);
    free(xs);
}

static void test_default_bins(void **state)
{
    (void)state;
    check_config("b20", 20, 1e-6);
}

static void test_five_bins_threshold(void **state)
{
    (void)state;
    check_config("b5", 5, 0.25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_bins),
        cmocka_unit_test(test_five_bins_threshold),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
