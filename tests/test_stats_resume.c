/* Checkpoint and resume of the statistics pass: a pass stopped part way and resumed writes
 * exactly (byte for byte) the files of an uninterrupted pass; a checkpoint made from other
 * inputs or options is refused with a message naming what differs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

enum { ROWS = 3000, UNITS = 24, CHUNK = 256 };

static const char *const OUTPUT_FILES[] = {"mean.npy", "std.npy", "comoment.npy", "corr.npy",
                                           "samples.npy", "samples_rows.npy", "sqnorm_q.npy",
                                           "sqnorm_g.npy", "meta.json"};

/* Two nets' float32 activations: ReLU of a shared factor plus noise, a mean-1e3 unit, a dead one. */
static void write_nets(const char *dir, char **paths)
{
    float *x[2] = {malloc(ROWS * UNITS * sizeof(float)), malloc(ROWS * UNITS * sizeof(float))};
    uint64_t rng = 7;
    for (int64_t r = 0; r < ROWS; r++) {
        const double z = test_rand_normal(&rng);
        for (int k = 0; k < 2; k++)
            for (int u = 0; u < UNITS; u++) {
                double v = 0.6 * z * (u % 3 - 1) + test_rand_normal(&rng);
                if (u == 5) v += 1000.0;
                x[k][r * UNITS + u] = u == 7 ? 0.0f : (float)(v > 0 ? v : 0);
            }
    }
    const int64_t shape[2] = {ROWS, UNITS};
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "net%d.npy", k + 1);
        paths[k] = test_path(dir, name);
        assert_cvg_ok(cvg_npy_save(paths[k], CVG_F32, 2, shape, x[k]));
        free(x[k]);
    }
}

typedef struct stopper {
    int calls, stop_after;
} stopper;

static int stop_after(const char *task, uint64_t done, uint64_t total, void *user)
{
    (void)task, (void)done, (void)total;
    stopper *s = user;
    return ++s->calls >= s->stop_after;
}

static void options(cvg_stats_options *opt, const char *checkpoint)
{
    cvg_stats_options_init(opt);
    opt->reservoir = 500;
    opt->seed = 3;
    opt->chunk_rows = CHUNK;
    opt->checkpoint = checkpoint;
    opt->checkpoint_seconds = 0; /* after every chunk */
}

static void test_resume_equals_one_pass(void **state)
{
    (void)state;
    char *dir = test_tmpdir("stats_resume"), *paths[2];
    write_nets(dir, paths);
    char *whole = test_path(dir, "whole"), *resumed = test_path(dir, "resumed");
    char *ckpt = test_path(dir, "ckpt");
    cvg_stats_options opt;
    cvg_stats *s;

    options(&opt, NULL);
    assert_cvg_ok(cvg_stats_compute((const char *const *)paths, 2, "fc", &opt, &s));
    assert_cvg_ok(cvg_stats_save(s, whole));
    cvg_stats_free(s);

    /* stopped after 5 of 12 chunks, then after 9 (resuming), then to the end */
    const int stops[] = {5, 4};
    for (int i = 0; i < 2; i++) {
        stopper stop = {0, stops[i]};
        options(&opt, ckpt);
        opt.resume = i > 0;
        opt.progress = stop_after;
        opt.progress_user = &stop;
        s = NULL;
        assert_int_equal(cvg_stats_compute((const char *const *)paths, 2, "fc", &opt, &s), CVG_ERR_CANCELLED);
        assert_null(s);
        assert_int_equal(test_system("test -s %s/current", ckpt), 0);
    }
    options(&opt, ckpt);
    opt.resume = 1;
    assert_cvg_ok(cvg_stats_compute((const char *const *)paths, 2, "fc", &opt, &s));
    assert_int_equal(cvg_stats_count(s), ROWS);
    assert_cvg_ok(cvg_stats_save(s, resumed));
    cvg_stats_free(s);
    for (size_t f = 0; f < sizeof OUTPUT_FILES / sizeof *OUTPUT_FILES; f++)
        if (test_system("cmp -s %s/fc/%s %s/fc/%s", whole, OUTPUT_FILES[f], resumed, OUTPUT_FILES[f]) != 0)
            fail_msg("%s differs between the resumed and the uninterrupted pass", OUTPUT_FILES[f]);

    assert_cvg_ok(cvg_stats_checkpoint_remove(ckpt));
    assert_int_equal(test_system("test -e %s", ckpt), 1);
    assert_cvg_ok(cvg_stats_checkpoint_remove(ckpt)); /* absent is fine */
    for (int k = 0; k < 2; k++) free(paths[k]);
    free(whole), free(resumed), free(ckpt), free(dir);
}

static void test_resume_refuses_other_inputs(void **state)
{
    (void)state;
    char *dir = test_tmpdir("stats_resume_refuse"), *paths[2];
    write_nets(dir, paths);
    char *ckpt = test_path(dir, "ckpt");
    cvg_stats_options opt;
    cvg_stats *s = NULL;
    stopper stop = {0, 3};
    options(&opt, ckpt);
    opt.progress = stop_after;
    opt.progress_user = &stop;
    assert_int_equal(cvg_stats_compute((const char *const *)paths, 2, "fc", &opt, &s), CVG_ERR_CANCELLED);

    options(&opt, ckpt); /* another reservoir seed */
    opt.resume = 1;
    opt.seed = 4;
    assert_int_equal(cvg_stats_compute((const char *const *)paths, 2, "fc", &opt, &s), CVG_ERR_ARG);
    assert_non_null(strstr(cvg_last_error(), "'seed'"));
    assert_non_null(strstr(cvg_last_error(), "progress.json"));

    const char *swapped[2] = {paths[1], paths[0]}; /* the nets in another order */
    options(&opt, ckpt);
    opt.resume = 1;
    assert_int_equal(cvg_stats_compute(swapped, 2, "fc", &opt, &s), CVG_ERR_ARG);
    assert_non_null(strstr(cvg_last_error(), "'sources'"));

    /* a damaged checkpoint names the file */
    assert_int_equal(test_system("for f in %s/*/progress.json; do echo '{\"version\": ' > $f; done", ckpt), 0);
    options(&opt, ckpt);
    opt.resume = 1;
    assert_int_equal(cvg_stats_compute((const char *const *)paths, 2, "fc", &opt, &s), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "progress.json"));

    /* without resume a checkpoint is simply written over */
    options(&opt, ckpt);
    assert_cvg_ok(cvg_stats_compute((const char *const *)paths, 2, "fc", &opt, &s));
    cvg_stats_free(s);
    for (int k = 0; k < 2; k++) free(paths[k]);
    free(ckpt), free(dir);
}

static void test_cli_resume(void **state)
{
    (void)state;
    char *dir = test_tmpdir("stats_resume_cli"), *paths[2];
    write_nets(dir, paths);
    char *out = test_path(dir, "out");
    assert_int_equal(test_system("%s stats -q -o %s --layer fc --chunk-rows %d --checkpoint-every 0 "
                                 "--resume %s %s", CVG_CLI, out, CHUNK, paths[0], paths[1]), 0);
    assert_int_equal(test_system("test -s %s/fc/corr.npy", out), 0);
    assert_int_equal(test_system("test -e %s/.checkpoint-fc", out), 1); /* removed once written */
    assert_int_equal(test_system("%s stats --help | grep -q 'checkpoint-every SEC.*(default: 60)'", CVG_CLI), 0);
    assert_int_equal(test_system("%s stats -q -o %s --layer fc --checkpoint-every -1 %s %s 2>/dev/null",
                                 CVG_CLI, out, paths[0], paths[1]), 2);
    for (int k = 0; k < 2; k++) free(paths[k]);
    free(out), free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_equals_one_pass),
        cmocka_unit_test(test_resume_refuses_other_inputs),
        cmocka_unit_test(test_cli_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
