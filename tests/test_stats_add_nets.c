/* cvg_stats_add_nets (rows given net by net) against cvg_stats_add_rows of the concatenated
 * rows: the same statistics bit for bit, the same reservoir, and the same refusal of
 * non-finite values (nothing added, the row, unit and net named). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

enum { NETS = 3, UNITS = 5, ROWS = 700 };

/* rows: ROWS x (NETS*UNITS), and the same values net by net: per[k] is ROWS x UNITS. */
static void make_rows(float *rows, float *per[NETS])
{
    uint64_t rng = 7;
    for (int64_t r = 0; r < ROWS; r++)
        for (int k = 0; k < NETS; k++)
            for (int u = 0; u < UNITS; u++) {
                const float v = (float)fmax(0.0, test_rand_normal(&rng) + 0.3 * k);
                rows[r * NETS * UNITS + k * UNITS + u] = v;
                per[k][r * UNITS + u] = v;
            }
}

static void assert_same_stats(const cvg_stats *a, const cvg_stats *b)
{
    const int64_t D = NETS * UNITS;
    assert_int_equal(cvg_stats_count(a), cvg_stats_count(b));
    assert_memory_equal(cvg_stats_mean(a), cvg_stats_mean(b), (size_t)D * sizeof(double));
    double *ma = malloc((size_t)(D * D) * sizeof *ma), *mb = malloc((size_t)(D * D) * sizeof *mb);
    assert_int_equal(cvg_stats_comoment(a, ma), CVG_OK);
    assert_int_equal(cvg_stats_comoment(b, mb), CVG_OK);
    assert_memory_equal(ma, mb, (size_t)(D * D) * sizeof *ma);
    int64_t ra, rb;
    const float *sa = cvg_stats_samples(a, &ra), *sb = cvg_stats_samples(b, &rb);
    assert_int_equal(ra, rb);
    assert_memory_equal(sa, sb, (size_t)(ra * D) * sizeof *sa);
    free(ma), free(mb);
}

/* Every kernel: the BLAS ones read one array, so the nets' parts are joined for them (they
 * once read only net 1's part, as if it held every net's columns). */
static void check_add_nets_equals_add_rows(cvg_kernel kernel)
{
    float *rows = malloc(sizeof(float) * ROWS * NETS * UNITS), *per[NETS];
    for (int k = 0; k < NETS; k++) per[k] = malloc(sizeof(float) * ROWS * UNITS);
    make_rows(rows, per);
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.reservoir = 100;
    opt.kernel = kernel;
    cvg_stats *a, *b;
    assert_int_equal(cvg_stats_create("fc", NETS, UNITS, 0, 0, &opt, &a), CVG_OK);
    assert_int_equal(cvg_stats_create("fc", NETS, UNITS, 0, 0, &opt, &b), CVG_OK);
    /* batches of 300, 300 and 100 rows */
    for (int64_t first = 0; first < ROWS; first += 300) {
        const int64_t n = ROWS - first < 300 ? ROWS - first : 300;
        const float *nets[NETS];
        for (int k = 0; k < NETS; k++) nets[k] = per[k] + first * UNITS;
        assert_int_equal(cvg_stats_add_rows(a, rows + first * NETS * UNITS, n, n), CVG_OK);
        assert_int_equal(cvg_stats_add_nets(b, nets, n, n), CVG_OK);
    }
    assert_int_equal(cvg_stats_count(b), ROWS);
    assert_same_stats(a, b);

    /* A NaN in net 2, row 350 of the next batch: refused, named, nothing added. */
    per[1][50 * UNITS + 3] = NAN;
    const float *nets[NETS] = {per[0], per[1], per[2]};
    assert_int_equal(cvg_stats_add_nets(b, nets, 100, 100), CVG_ERR_NONFINITE);
    assert_non_null(strstr(cvg_last_error(), "layer 'fc': non-finite value at row 750, unit 3 (net 2)"));
    assert_same_stats(a, b);
    const float *missing[NETS] = {per[0], NULL, per[2]};
    assert_int_equal(cvg_stats_add_nets(b, missing, 10, 10), CVG_ERR_ARG);
    assert_int_equal(cvg_stats_add_nets(b, NULL, 0, 0), CVG_OK);  /* nothing to add */
    cvg_stats_free(a), cvg_stats_free(b);
    free(rows);
    for (int k = 0; k < NETS; k++) free(per[k]);
}

static void test_add_nets_equals_add_rows(void **state)
{
    (void)state;
    const cvg_kernel kernels[] = {CVG_KERNEL_FUSED, CVG_KERNEL_SSYRK, CVG_KERNEL_SGEMM, CVG_KERNEL_DSYRK};
    for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++) check_add_nets_equals_add_rows(kernels[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_add_nets_equals_add_rows)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
