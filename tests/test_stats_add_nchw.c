/* cvg_stats_add_nets_nchw (each net's (N, C, H, W) array) against cvg_stats_add_rows of the
 * same activations transposed here into (image, y, x) rows [net1 | net2], batch by batch (of
 * more rows than the function's groups of one moments chunk, starting mid-image; rows made
 * sub-block by sub-block or group by group): the same
 * statistics bit for bit (moments, HSIC sums,
 * reservoir), the same refusal of non-finite values (nothing added; row, unit and net named),
 * and fully connected layers taken as cvg_stats_add_nets takes them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/reservoir.h"
#include "stats/sqnorm.h"
#include "stats/stats_internal.h"
#include "test_support.h"

/* CH: channels per net of the current case (5: element by element; 32: AVX-512 blocks of 16) */
enum { NETS = 2, MAX_CH = 32, HGT = 7, WID = 7, POS = HGT * WID, IMAGES = 700 };
static int64_t CH = 5;

/* nchw[k]: IMAGES x CH x POS for net k (ReLU-like, with a dead channel in net 1). */
static void make_nchw(float *nchw[NETS])
{
    uint64_t rng = 11;
    for (int k = 0; k < NETS; k++)
        for (int64_t i = 0; i < (int64_t)IMAGES * CH * POS; i++) {
            const int64_t c = i / POS % CH;
            nchw[k][i] = k == 0 && c == 3 ? 0.0f : (float)fmax(0.0, test_rand_normal(&rng) + 0.2 * c);
        }
}

/* Images [i0, i0 + n) as rows (n*POS) x (NETS*CH). */
static void to_rows(float *const nchw[NETS], int64_t i0, int64_t n, float *rows)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = 0; p < POS; p++)
            for (int k = 0; k < NETS; k++)
                for (int64_t c = 0; c < CH; c++)
                    rows[((i * POS + p) * NETS + k) * CH + c] = nchw[k][((i0 + i) * CH + c) * POS + p];
}

static void assert_same_stats(const cvg_stats *a, const cvg_stats *b)
{
    const int64_t D = NETS * CH;
    assert_int_equal(cvg_stats_count(a), cvg_stats_count(b));
    assert_int_equal(a->images, b->images);
    assert_memory_equal(cvg_stats_mean(a), cvg_stats_mean(b), (size_t)D * sizeof(double));
    double *ma = malloc((size_t)(D * D) * sizeof *ma), *mb = malloc((size_t)(D * D) * sizeof *mb);
    assert_int_equal(cvg_stats_comoment(a, ma), CVG_OK);
    assert_int_equal(cvg_stats_comoment(b, mb), CVG_OK);
    assert_memory_equal(ma, mb, (size_t)(D * D) * sizeof *ma);
    assert_memory_equal(a->hsic.Q, b->hsic.Q, (size_t)(NETS * NETS) * sizeof(double));
    assert_memory_equal(a->hsic.G, b->hsic.G, (size_t)(NETS * D) * sizeof(double));
    int64_t ra, rb;
    const float *sa = cvg_stats_samples(a, &ra), *sb = cvg_stats_samples(b, &rb);
    assert_int_equal(ra, rb);
    assert_memory_equal(sa, sb, (size_t)(ra * D) * sizeof *sa);
    free(ma), free(mb);
}

static void nchw_equals_rows(void)
{
    float *nchw[NETS];
    for (int k = 0; k < NETS; k++) nchw[k] = malloc(sizeof(float) * IMAGES * MAX_CH * POS);
    make_nchw(nchw);
    float *rows = malloc(sizeof(float) * IMAGES * POS * NETS * MAX_CH);
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.reservoir = 3000;
    cvg_stats *a, *b;
    assert_int_equal(cvg_stats_create("conv", NETS, CH, HGT, WID, &opt, &a), CVG_OK);
    assert_int_equal(cvg_stats_create("conv", NETS, CH, HGT, WID, &opt, &b), CVG_OK);
    /* batches of 300 and 400 images: 14,700 and 19,600 rows, the second two groups */
    assert_true(400 * POS > MOMENTS_CHUNK_ROWS && 300 * POS < MOMENTS_CHUNK_ROWS);
    for (int64_t first = 0, n = 300; first < IMAGES; first += n, n = IMAGES - first) {
        to_rows(nchw, first, n, rows);
        assert_int_equal(cvg_stats_add_rows(a, rows, n * POS, n), CVG_OK);
        const float *nets[NETS];
        for (int k = 0; k < NETS; k++) nets[k] = nchw[k] + first * CH * POS;
        assert_int_equal(cvg_stats_add_nets_nchw(b, nets, n, HGT, WID), CVG_OK);
    }
    assert_int_equal(cvg_stats_count(b), (int64_t)IMAGES * POS);
    assert_same_stats(a, b);

    /* An infinity in net 2, image 10, channel 4, position 20: refused, named, nothing added. */
    nchw[1][(10 * CH + 4) * POS + 20] = INFINITY;
    const float *nets[NETS] = {nchw[0], nchw[1]};
    assert_int_equal(cvg_stats_add_nets_nchw(b, nets, 50, HGT, WID), CVG_ERR_NONFINITE);
    assert_non_null(strstr(cvg_last_error(), "layer 'conv': non-finite value at row 34810, unit 4 (net 2)"));
    assert_same_stats(a, b);
    const float *missing[NETS] = {nchw[0], NULL};
    assert_int_equal(cvg_stats_add_nets_nchw(b, missing, 10, HGT, WID), CVG_ERR_ARG);
    assert_int_equal(cvg_stats_add_nets_nchw(b, NULL, 0, HGT, WID), CVG_OK); /* nothing to add */
    assert_int_equal(cvg_stats_add_nets_nchw(NULL, nets, 1, HGT, WID), CVG_ERR_ARG);
    assert_int_equal(cvg_stats_add_nets_nchw(b, nets, 1, 0, WID), CVG_ERR_ARG); /* half a size */
    cvg_stats_free(a), cvg_stats_free(b);
    free(rows);
    for (int k = 0; k < NETS; k++) free(nchw[k]);
}

static void test_nchw_equals_rows(void **state)
{
    (void)state;
    /* the rows made sub-block by sub-block in each thread's buffer (stats_add_filled) or group
     * by group into one buffer (stats_add_groups); AVX-512 transposes (with masked loads for
     * the 49 positions' last one) or element by element */
    for (int groups = 0; groups <= 1; groups++)
        for (int portable = 0; portable <= 1; portable++)
            for (CH = 5; CH <= 32; CH += 27) {
                stats__nchw_force_groups(groups);
                stats__nchw_force_portable(portable);
                nchw_equals_rows();
            }
    stats__nchw_force_portable(0);
    stats__nchw_force_groups(0);
}

/* The HSIC row norms' lane sums, 16 rows at once in AVX-512 registers or row by row: the same
 * sums bit for bit (and everything else), for 5 and 32 channels a net (blocks inside panels,
 * whole panels), sub-blocks of 128 rows and a last shorter one (odd row counts). */
static void test_lane_sums_equal_row_by_row(void **state)
{
    (void)state;
    if (!sqnorm__force_portable(0)) skip(); /* no AVX-512: one path only */
    float *nchw[NETS];
    for (int k = 0; k < NETS; k++) nchw[k] = malloc(sizeof(float) * IMAGES * MAX_CH * POS);
    for (CH = 5; CH <= 32; CH += 27) {
        make_nchw(nchw);
        cvg_stats *s[2];
        for (int portable = 0; portable <= 1; portable++) {
            sqnorm__force_portable(portable);
            assert_int_equal(cvg_stats_create("conv", NETS, CH, HGT, WID, NULL, &s[portable]), CVG_OK);
            for (int64_t first = 0, n = 123; first < IMAGES; first += n, n = IMAGES - first) {
                const float *nets[NETS];
                for (int k = 0; k < NETS; k++) nets[k] = nchw[k] + first * CH * POS;
                assert_int_equal(cvg_stats_add_nets_nchw(s[portable], nets, n, HGT, WID), CVG_OK);
            }
        }
        sqnorm__force_portable(0);
        assert_same_stats(s[0], s[1]);
        cvg_stats_free(s[0]), cvg_stats_free(s[1]);
    }
    for (int k = 0; k < NETS; k++) free(nchw[k]);
}

typedef struct keyed {
    uint64_t key;
    int64_t row;
} keyed;

static int compare_i64(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int compare_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key) return (x->key > y->key) - (x->key < y->key);
    return (x->row > y->row) - (x->row < y->row);
}

/* The reservoir after batches of several groups each (the slots of a batch claimed before its
 * rows are read, stats_add.c), against brute force: the rows with the `cap` smallest keys of
 * every row offered, their values those of the rows, in row order. Capacities: more than the
 * first batch (the reservoir fills across batches), and a small one (full from the first group
 * on, few candidates per batch: claims one by one). */
static void test_reservoir_equals_bottom_k(void **state)
{
    (void)state;
    CH = 5;
    float *nchw[NETS];
    for (int k = 0; k < NETS; k++) nchw[k] = malloc(sizeof(float) * IMAGES * MAX_CH * POS);
    make_nchw(nchw);
    const int64_t total = (int64_t)IMAGES * POS, D = NETS * CH;
    float *rows = malloc(sizeof(float) * (size_t)(total * D));
    to_rows(nchw, 0, IMAGES, rows);
    keyed *all = malloc(sizeof *all * (size_t)total);
    const int64_t caps[] = {20000, 300};
    for (size_t c = 0; c < sizeof caps / sizeof *caps; c++) {
        cvg_stats_options opt;
        cvg_stats_options_init(&opt);
        opt.reservoir = caps[c];
        opt.seed = 3 + c;
        cvg_stats *s;
        assert_int_equal(cvg_stats_create("conv", NETS, CH, HGT, WID, &opt, &s), CVG_OK);
        for (int64_t first = 0, n = 350; first < IMAGES; first += n, n = IMAGES - first) {
            const float *nets[NETS];
            for (int k = 0; k < NETS; k++) nets[k] = nchw[k] + first * CH * POS;
            assert_int_equal(cvg_stats_add_nets_nchw(s, nets, n, HGT, WID), CVG_OK);
        }
        for (int64_t r = 0; r < total; r++) all[r] = (keyed){reservoir_key(opt.seed, r), r};
        qsort(all, (size_t)total, sizeof *all, compare_keyed);
        const int64_t cap = caps[c];
        int64_t *want = malloc(sizeof *want * (size_t)cap);
        for (int64_t i = 0; i < cap; i++) want[i] = all[i].row;
        qsort(want, (size_t)cap, sizeof *want, compare_i64);
        int64_t got_rows;
        const float *samples = cvg_stats_samples(s, &got_rows);
        const int64_t *sample_rows = cvg_stats_sample_rows(s);
        assert_int_equal(got_rows, cap);
        for (int64_t i = 0; i < cap; i++) {
            assert_int_equal(sample_rows[i], want[i]);
            assert_memory_equal(samples + i * D, rows + want[i] * D, (size_t)D * sizeof(float));
        }
        free(want);
        cvg_stats_free(s);
    }
    free(all), free(rows);
    for (int k = 0; k < NETS; k++) free(nchw[k]);
}

/* A fully connected layer: (N, S) arrays, equal to cvg_stats_add_nets. */
static void test_fully_connected_as_add_nets(void **state)
{
    (void)state;
    enum { N = 500, S = 9 };
    float *x[NETS];
    uint64_t rng = 5;
    for (int k = 0; k < NETS; k++) {
        x[k] = malloc(sizeof(float) * N * S);
        for (int64_t i = 0; i < N * S; i++) x[k][i] = (float)test_rand_normal(&rng);
    }
    cvg_stats *a, *b;
    assert_int_equal(cvg_stats_create("fc", NETS, S, 0, 0, NULL, &a), CVG_OK);
    assert_int_equal(cvg_stats_create("fc", NETS, S, 0, 0, NULL, &b), CVG_OK);
    const float *nets[NETS] = {x[0], x[1]};
    assert_int_equal(cvg_stats_add_nets(a, nets, N, N), CVG_OK);
    assert_int_equal(cvg_stats_add_nets_nchw(b, nets, N, 0, 0), CVG_OK);
    assert_int_equal(cvg_stats_count(b), N);
    assert_memory_equal(cvg_stats_mean(a), cvg_stats_mean(b), NETS * S * sizeof(double));
    cvg_stats_free(a), cvg_stats_free(b);
    for (int k = 0; k < NETS; k++) free(x[k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nchw_equals_rows),
        cmocka_unit_test(test_fully_connected_as_add_nets),
        cmocka_unit_test(test_reservoir_equals_bottom_k),
        cmocka_unit_test(test_lane_sums_equal_row_by_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
