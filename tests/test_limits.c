/* The library bounds every numeric option itself (CVG_ERR_ARG, never a crash or a wrapped
 * number), whatever its front end checked: thread counts above CVG_MAX_THREADS or below 0 in
 * every entry point that takes one, row offsets whose last row index passes CVG_MAX_ROW_INDEX
 * (2^53 - 1), and a reservoir too large to size. The CLI turns the library's CVG_ERR_ARG into
 * a usage error (exit 2). Each case also runs at the bound, where it must succeed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

static void expect_arg(cvg_status st, const char *what, const char *needle)
{
    if (st != CVG_ERR_ARG) fail_msg("%s: expected CVG_ERR_ARG, got %s (%s)", what, cvg_strerror(st), cvg_last_error());
    if (needle && !strstr(cvg_last_error(), needle)) fail_msg("%s: message '%s' lacks '%s'", what, cvg_last_error(), needle);
}

enum { ROWS = 300, UNITS = 5 };

static void write_pair(const char *dir, char **pa, char **pb)
{
    float *a = malloc(sizeof(float) * ROWS * UNITS), *b = malloc(sizeof(float) * ROWS * UNITS);
    uint64_t seed = 1;
    for (int i = 0; i < ROWS * UNITS; i++) a[i] = (float)test_rand_normal(&seed), b[i] = a[i] + (float)test_rand_normal(&seed);
    const int64_t shape[2] = {ROWS, UNITS};
    *pa = test_path(dir, "a.npy"), *pb = test_path(dir, "b.npy");
    assert_cvg_ok(cvg_npy_save(*pa, CVG_F32, 2, shape, a));
    assert_cvg_ok(cvg_npy_save(*pb, CVG_F32, 2, shape, b));
    free(a), free(b);
}

static void test_stats_pass_limits(void **state)
{
    (void)state;
    char *dir = test_tmpdir("limits_stats"), *pa, *pb;
    write_pair(dir, &pa, &pb);
    const char *paths[2] = {pa, pb};
    cvg_stats *s = NULL;
    cvg_stats_options opt;
    const int bad_threads[] = {-1, CVG_MAX_THREADS + 1, 65536};
    for (int i = 0; i < 3; i++) {
        cvg_stats_options_init(&opt);
        opt.threads = bad_threads[i];
        expect_arg(cvg_stats_compute(paths, 2, "fc", &opt, &s), "compute threads", "threads must be in 0..1024");
        expect_arg(cvg_stats_create("fc", 2, UNITS, 0, 0, &opt, &s), "create threads", "threads");
        expect_arg(cvg_cross_compute(paths, 1, 2, (const char *const[]){"a", "b"}, &opt, (cvg_cross **)&s),
                   "cross threads", "threads");
    }
    assert_null(s);
    /* the last row index may be 2^53 - 1 exactly, not one more */
    cvg_stats_options_init(&opt);
    opt.row_offset = CVG_MAX_ROW_INDEX - ROWS + 2;
    expect_arg(cvg_stats_compute(paths, 2, "fc", &opt, &s), "row offset", "a.npy");
    opt.row_offset = INT64_MAX;
    expect_arg(cvg_stats_compute(paths, 2, "fc", &opt, &s), "row offset INT64_MAX", "past row index");
    opt.row_offset = CVG_MAX_ROW_INDEX - ROWS + 1;
    assert_cvg_ok(cvg_stats_compute(paths, 2, "fc", &opt, &s));
    const int64_t *rows = cvg_stats_sample_rows(s);
    int64_t kept;
    cvg_stats_samples(s, &kept);
    for (int64_t r = 0; r < kept; r++) assert_true(rows[r] >= opt.row_offset && rows[r] <= CVG_MAX_ROW_INDEX);
    cvg_stats_free(s);
    /* a chunk as large as the option allows is cut to the pass (no size computed past it) */
    cvg_stats_options_init(&opt);
    opt.chunk_rows = CVG_MAX_ROW_INDEX;
    assert_cvg_ok(cvg_stats_compute(paths, 2, "fc", &opt, &s));
    assert_int_equal(cvg_stats_count(s), ROWS);
    cvg_stats_free(s);
    /* a reservoir whose size would overflow */
    opt.chunk_rows = 0;
    opt.reservoir = INT64_MAX / 4;
    expect_arg(cvg_stats_compute(paths, 2, "fc", &opt, &s), "reservoir", "reservoir");
    free(pa), free(pb), free(dir);
}

/* In memory (the taps' way): rows past the last index are refused before they are added. */
static void test_add_rows_limits(void **state)
{
    (void)state;
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.row_offset = CVG_MAX_ROW_INDEX - 9;
    cvg_stats *s;
    assert_cvg_ok(cvg_stats_create("mem", 1, 2, 0, 0, &opt, &s));
    float rows[20];
    for (int i = 0; i < 20; i++) rows[i] = (float)(i * i % 7);
    assert_cvg_ok(cvg_stats_add_rows(s, rows, 10, 10)); /* indices up to 2^53 - 1 */
    expect_arg(cvg_stats_add_rows(s, rows, 1, 1), "add past the last index", "past row index");
    assert_int_equal(cvg_stats_count(s), 10);
    cvg_stats_free(s);
    opt.row_offset = CVG_MAX_ROW_INDEX + 1;
    expect_arg(cvg_stats_create("mem", 1, 2, 0, 0, &opt, &s), "create offset", "past row index");
}

static void test_analysis_thread_limits(void **state)
{
    (void)state;
    enum { R = 50, D = 4 };
    float samples[R * D];
    uint64_t seed = 2;
    for (int i = 0; i < R * D; i++) samples[i] = (float)test_rand_normal(&seed);
    double mi[D * D];
    uint8_t codes[R * D];
    cvg_mi_options mo;
    cvg_mi_options_init(&mo);
    mo.threads = CVG_MAX_THREADS + 1;
    expect_arg(cvg_mi_matrix(samples, R, D, &mo, mi), "mi matrix", "threads");
    expect_arg(cvg_mi_bin(samples, R, D, &mo, codes, NULL, NULL), "mi bin", "threads");
    expect_arg(cvg_mi_from_codes(codes, R, D, 21, &mo, mi), "mi from codes", "threads");
    mo.threads = 2;
    assert_cvg_ok(cvg_mi_matrix(samples, R, D, &mo, mi));

    double corr[16] = {1, 0.5, 0.9, 0.1, 0.5, 1, 0.2, 0.8, 0.9, 0.2, 1, 0.3, 0.1, 0.8, 0.3, 1};
    cvg_cluster_options co;
    cvg_cluster_options_init(&co);
    co.threads = CVG_MAX_THREADS + 1;
    cvg_clustering *c = NULL;
    expect_arg(cvg_cluster(corr, 2, &co, &c), "cluster", "threads");
    assert_null(c);

    cvg_dataset ds;
    test_synthetic_images(&ds, 8, 1);
    cvg_train_options to;
    cvg_train_options_init(&to);
    to.threads = -3;
    cvg_net *net = NULL;
    expect_arg(cvg_train("tiny", &ds, NULL, &to, &net), "train", "threads");
    assert_null(net);
    char *path = malloc(1024);
    snprintf(path, 1024, "%s/nn/tiny.safetensors", CVG_FIXTURE_DIR);
    assert_cvg_ok(cvg_net_load(path, &net));
    cvg_taps_options tp;
    cvg_taps_options_init(&tp);
    tp.stats.threads = 2000;
    cvg_stats **layers = NULL;
    int nlayers = 0;
    expect_arg(cvg_taps_run(&net, 1, &ds, &tp, &layers, &nlayers), "taps", "threads");
    assert_null(layers);
    cvg_net_free(net);
    cvg_dataset_free(&ds);
    free(path);
}

/* The CLI: the library's CVG_ERR_ARG for a row offset these files cannot take is a usage error. */
static void test_cli_row_offset_past_the_files(void **state)
{
    (void)state;
    char *dir = test_tmpdir("limits_cli"), *pa, *pb;
    write_pair(dir, &pa, &pb);
    assert_int_equal(test_system("'%s' stats -q --layer fc --row-offset 9007199254740991 -o %s/o %s %s 2> %s/err",
                                 CVG_CLI, dir, pa, pb, dir), 2);
    assert_int_equal(test_system("grep -q 'past row index 9007199254740991' %s/err", dir), 0);
    assert_int_equal(test_system("'%s' stats -q --layer fc --row-offset 9007199254740692 -o %s/o %s %s",
                                 CVG_CLI, dir, pa, pb), 0);
    free(pa), free(pb), free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_pass_limits),
        cmocka_unit_test(test_add_rows_limits),
        cmocka_unit_test(test_analysis_thread_limits),
        cmocka_unit_test(test_cli_row_offset_past_the_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
