/* Checkpoints are read strictly: every file of tests/fixtures/nn/bad/checkpoints.txt (made by
 * make_nn_fixtures.py with its own safetensors writer: a NUL in the architecture or input
 * string, NUL padding, a control byte, bytes after the JSON, a key twice, a number as
 * metadata, an unknown tensor, bytes after the tensors, overlapping tensors, fractional
 * offsets, NaN and Inf parameters) is refused by cvg_net_load with its path and the defect,
 * and the commands that load networks (extract, stats --nets, train --resume) exit 1 with the
 * same message for non-finite weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#include "nn/net_internal.h"

static char *fixture(const char *rel)
{
    char *p = malloc(1024);
    snprintf(p, 1024, "%s/nn/%s", CVG_FIXTURE_DIR, rel);
    return p;
}

static void test_bad_checkpoint_corpus(void **state)
{
    (void)state;
    char *manifest = fixture("bad/checkpoints.txt");
    FILE *fp = fopen(manifest, "r");
    assert_non_null(fp);
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#') continue;
        char *name = strtok(line, "\t"), *needle = strtok(NULL, "\t\n");
        assert_non_null(needle);
        char rel[300];
        snprintf(rel, sizeof rel, "bad/%s", name);
        char *path = fixture(rel);
        cvg_net *net = (cvg_net *)1;
        cvg_status st = cvg_net_load(path, &net);
        if (st == CVG_OK) fail_msg("%s: accepted", name);
        assert_null(net);
        if (!strstr(cvg_last_error(), needle) || !strstr(cvg_last_error(), path))
            fail_msg("%s: message '%s' lacks '%s' or the file's path", name, cvg_last_error(), needle);
        free(path);
        cases++;
    }
    fclose(fp);
    free(manifest);
    assert_true(cases >= 13);
}

/* The good fixture, written by the same independent writer, still loads: the checks refuse
 * the defects, not the format. */
static void test_good_checkpoint_loads(void **state)
{
    (void)state;
    char *path = fixture("tiny.safetensors");
    cvg_net *net;
    assert_cvg_ok(cvg_net_load(path, &net));
    cvg_net_free(net);
    free(path);
}

/* A checkpoint written by cvg_net_save passes the strict reader, momentum and all (train's
 * own checkpoints are checked by test_nn_resume). */
static void test_own_checkpoint_round_trip(void **state)
{
    (void)state;
    char *path = fixture("tiny.safetensors"), *dir = test_tmpdir("ckpt_round"), *copy = test_path(dir, "net.safetensors");
    cvg_net *net, *again;
    assert_cvg_ok(cvg_net_load(path, &net));
    assert_cvg_ok(cvg_net_save(net, copy));
    assert_cvg_ok(cvg_net_load(copy, &again));
    cvg_net_free(net);
    cvg_net_free(again);
    free(path), free(dir), free(copy);
}

/* A training checkpoint whose momentum holds an infinity is refused when loaded with its
 * momentum (train --resume's way), naming the momentum tensor; the same file loads as a network
 * (cvg_net_load reads the parameters only, which are finite). */
static void test_nonfinite_momentum_refused_on_resume(void **state)
{
    (void)state;
    char *path = fixture("tiny.safetensors"), *dir = test_tmpdir("ckpt_momentum");
    char *ckpt = test_path(dir, "train.safetensors");
    cvg_net *net;
    assert_cvg_ok(cvg_net_load(path, &net));
    const int64_t n = cvg_net_param_count(net);
    float *mom = calloc((size_t)n, sizeof *mom);
    mom[n - 1] = -INFINITY;
    assert_cvg_ok(nn_checkpoint_save(net, mom, NULL, ckpt));
    cvg_net *again = (cvg_net *)1;
    float *mom_again = (float *)1;
    assert_int_equal(nn_checkpoint_load(ckpt, &again, &mom_again, NULL), CVG_ERR_NONFINITE);
    assert_null(again);
    assert_null(mom_again);
    if (!strstr(cvg_last_error(), ".bias.momentum' holds -Inf") || !strstr(cvg_last_error(), ckpt))
        fail_msg("unclear error: %s", cvg_last_error());
    assert_cvg_ok(cvg_net_load(ckpt, &again));
    cvg_net_free(again);
    cvg_net_free(net);
    free(mom), free(path), free(dir), free(ckpt);
}

static void expect_cli_refusal(const char *dir, const char *what, const char *command)
{
    char err[1024];
    snprintf(err, sizeof err, "%s/%s.err", dir, what);
    int rc = test_system("%s 2> %s", command, err);
    if (rc != 1) fail_msg("%s: exit %d, expected 1 (%s)", what, rc, command);
    if (test_system("grep -q \"nan_weight.safetensors: tensor 'conv2.weight' holds NaN at index 3\" %s", err) != 0)
        fail_msg("%s: the error does not name the file and tensor (see %s)", what, err);
}

static void test_commands_refuse_nonfinite_weights(void **state)
{
    (void)state;
    char *dir = test_tmpdir("ckpt_nan_cli"), *bad = fixture("bad/nan_weight.safetensors"), *good = fixture("tiny.safetensors");
    test_write_synthetic_dataset(dir, 20, 10, 1);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s extract %s --layer conv1 --data %s --split test -q -o %s/x.npy", CVG_CLI, bad, dir, dir);
    expect_cli_refusal(dir, "extract", cmd);
    snprintf(cmd, sizeof cmd, "%s stats --nets %s %s --data %s --split test -q -o %s/stats", CVG_CLI, good, bad, dir, dir);
    expect_cli_refusal(dir, "stats_nets", cmd);
    /* train --resume continues from the checkpoint given as -o */
    assert_int_equal(test_system("cp %s %s/nan_weight.safetensors", bad, dir), 0);
    snprintf(cmd, sizeof cmd, "%s train -o %s/nan_weight.safetensors --resume --data %s --epochs 1 -q", CVG_CLI, dir, dir);
    expect_cli_refusal(dir, "train_resume", cmd);
    free(dir), free(bad), free(good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_checkpoint_corpus),
        cmocka_unit_test(test_good_checkpoint_loads),
        cmocka_unit_test(test_own_checkpoint_round_trip),
        cmocka_unit_test(test_nonfinite_momentum_refused_on_resume),
        cmocka_unit_test(test_commands_refuse_nonfinite_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
