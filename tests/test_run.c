/* `convergent run`, the main job, on a tiny scale: every step leaves its outputs, the report
 * shows every figure (the patch figures too), and a second run reuses the finished checkpoints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "test_support.h"

static void test_run_end_to_end(void **state)
{
    (void)state;
    char *dir = test_tmpdir("run");
    const char *args = "--arch tiny --epochs 1 --train-limit 600 --test-limit 120 --nets 2";
    assert_int_equal(test_system("%s run -o %s/r %s > %s/out1.txt 2>&1", CVG_CLI, dir, args, dir), 0);
    assert_int_equal(test_system("grep -q 'Table 1' %s/out1.txt && grep -q 'finished in' %s/out1.txt", dir, dir), 0);
    const char *files[] = {"nets/net1.safetensors", "nets/net2.json", "stats/conv1/corr.npy",
                           "stats/fc6/mi.npy", "stats/conv2/top9.npy", "match/table1.json",
                           "match_mi/conv1/match_1_2.json", "cluster/conv3/cluster_1_2.json",
                           "similarity/similarity.json", "report.html", "figures/fig13_conv1.png",
                           "figures/fig6_fc7.png", "figures/fig2_conv1.png", "figures/fig4_fc6.png"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (test_system("test -s %s/r/%s", dir, files[i]) != 0) fail_msg("missing %s", files[i]);
    assert_int_equal(test_system("grep -q 'Fig. 14 (fc8; the paper' %s/r/report.html", dir), 0);
    assert_int_equal(test_system("grep -q 'debiased CKA' %s/r/report.html", dir), 0);
    assert_int_equal(test_system("grep -q 'similarity/fc6/similarity_1_2.json' %s/r/report.html", dir), 0);
    /* a similarity file that does not load is a report error naming it, not a silent gap */
    assert_int_equal(test_system("cp %s/r/similarity/fc6/similarity_1_2.json %s/keep.json && "
                                 "echo '{' > %s/r/similarity/fc6/similarity_1_2.json", dir, dir, dir), 0);
    assert_int_not_equal(test_system("%s report %s/r > %s/rep.txt 2>&1", CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("grep -q 'fc6/similarity_1_2.json' %s/rep.txt", dir), 0);
    assert_int_equal(test_system("cp %s/keep.json %s/r/similarity/fc6/similarity_1_2.json", dir, dir), 0);
    /* again: the networks are not trained again */
    assert_int_equal(test_system("%s run -o %s/r %s > %s/out2.txt 2>&1", CVG_CLI, dir, args, dir), 0);
    assert_int_equal(test_system("grep -c 'resuming after epoch 1' %s/out2.txt | grep -q 2", dir), 0);
    assert_int_equal(test_system("%s run --nets 1 2>/dev/null", CVG_CLI), 2);
    free(dir);
}

/* The default run gives no --train-limit/--test-limit: every image of the dataset is used. A
 * default that train or stats refuses (once `--train-limit 0`) fails here; one that drops
 * images shows in the counts. A tiny IDX dataset given with --data keeps it to seconds. */
static void test_run_default_limits(void **state)
{
    (void)state;
    char *dir = test_tmpdir("run_defaults");
    test_write_synthetic_dataset(dir, 300, 90, 11);
    int rc = test_system("%s run -o %s/r --data %s --arch tiny --epochs 1 --nets 2 > %s/out.txt 2>&1",
                         CVG_CLI, dir, dir, dir);
    if (rc != 0) {
        test_system("tail -20 %s/out.txt", dir);
        fail_msg("convergent run with default limits exited with %d", rc);
    }
    assert_int_equal(test_system("grep -q 'Table 1' %s/out.txt", dir), 0);
    /* every training image, and every test image measured */
    for (int k = 1; k <= 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "r/nets/net%d.json", k);
        char *p = test_path(dir, name);
        cJSON *j = test_read_json(p);
        const cJSON *n = cJSON_GetObjectItem(j, "train_images");
        assert_non_null(n);
        assert_int_equal((int)n->valuedouble, 300);
        cJSON_Delete(j);
        free(p);
    }
    char *meta = test_path(dir, "r/stats/conv1/meta.json");
    cJSON *m = test_read_json(meta);
    const cJSON *inputs = cJSON_GetObjectItem(m, "inputs");
    assert_non_null(inputs);
    assert_int_equal((int)inputs->valuedouble, 90);
    /* the networks' layer order is recorded, so cluster knows the first layer (its default k) */
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "first_layer")));
    assert_int_equal(cJSON_GetObjectItem(m, "layer_index")->valueint, 0);
    cJSON_Delete(m);
    free(meta);
    meta = test_path(dir, "r/stats/conv2/meta.json");
    m = test_read_json(meta);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(m, "first_layer")));
    assert_int_equal(cJSON_GetObjectItem(m, "layer_index")->valueint, 1);
    cJSON_Delete(m);
    free(meta);
    meta = test_path(dir, "r/cluster/conv1/cluster_1_2.json");
    m = test_read_json(meta);
    const char *rule = cJSON_GetStringValue(cJSON_GetObjectItem(m, "k_rule"));
    assert_non_null(rule);
    assert_non_null(strstr(rule, "first layer"));
    assert_non_null(strstr(rule, "meta.json"));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(m, "refine")));
    cJSON_Delete(m);
    free(meta);
    free(dir);
}

/* Networks trained side by side (--jobs 2, each a child process on its own threads) are the
 * networks trained one after another: the statistics measured from them are the same bit for
 * bit. A child that fails (here: a corrupt checkpoint of net 2 to resume from) fails the run
 * with the file named. */
static void test_run_parallel_training(void **state)
{
    (void)state;
    char *dir = test_tmpdir("run_jobs");
    test_write_synthetic_dataset(dir, 300, 90, 11);
    const char *args = "--arch tiny --epochs 2 --nets 3 --lr 0.01";
    assert_int_equal(test_system("%s run -o %s/one --data %s %s --jobs 1 > %s/one.txt 2>&1", CVG_CLI, dir,
                                 dir, args, dir), 0);
    assert_int_equal(test_system("%s run -o %s/par --data %s %s --jobs 2 > %s/par.txt 2>&1", CVG_CLI, dir,
                                 dir, args, dir), 0);
    assert_int_equal(test_system("grep -q '^net3: epoch 2/2' %s/par.txt", dir), 0);
    assert_int_equal(test_system("grep -q '2 at a time' %s/par.txt", dir), 0);
    /* --lr reaches every network's training (its history records it) */
    assert_int_equal(test_system("grep -q '\"lr\":[[:space:]]*0.01,' %s/par/nets/net3.json", dir), 0);
    const char *same[] = {"stats/conv1/corr.npy", "stats/fc6/corr.npy", "stats/conv3/mean.npy"};
    for (size_t i = 0; i < sizeof same / sizeof *same; i++)
        if (test_system("cmp -s %s/one/%s %s/par/%s", dir, same[i], dir, same[i]) != 0)
            fail_msg("%s differs between --jobs 1 and --jobs 2", same[i]);
    assert_int_equal(test_system("mkdir -p %s/bad/nets && echo garbage > %s/bad/nets/net2.safetensors", dir, dir), 0);
    assert_int_equal(test_system("%s run -o %s/bad --data %s %s --jobs 2 > %s/bad.txt 2>&1", CVG_CLI, dir, dir,
                                 args, dir), 1);
    assert_int_equal(test_system("grep -q 'bad/nets/net2.safetensors' %s/bad.txt", dir), 0);
    assert_int_equal(test_system("test ! -e %s/bad/report.html", dir), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_end_to_end),
        cmocka_unit_test(test_run_default_limits),
        cmocka_unit_test(test_run_parallel_training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
