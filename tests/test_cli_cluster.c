/* `convergent cluster` end to end on the statistics fixtures: the labels, the block-diagonal
 * order and the JSON tree agree with each other and with the appendix 6.6 metrics recomputed
 * from corr.npy; options and bad input. (The algorithm itself: test_cluster*.c.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "test_support.h"

static void test_cluster_command(void **state)
{
    (void)state;
    char *dir = test_tmpdir("cli_cluster");
    char fix[1024];
    snprintf(fix, sizeof fix, "%s/stats/conv_k4_nchw", CVG_FIXTURE_DIR);
    assert_int_equal(test_system("%s stats -q -o %s/stats --layer conv1 %s/net*.npy", CVG_CLI, dir, fix), 0);
    assert_int_equal(test_system("%s cluster %s/stats -o %s/cl --pair 2,3 --k auto > %s/out.txt", CVG_CLI, dir, dir, dir), 0);
    assert_int_equal(test_system("grep -q 'eigen-gap suggests' %s/out.txt", dir), 0);
    char path[2048];
    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *labels, *order, *corr;
    snprintf(path, sizeof path, "%s/cl/conv1/cluster_2_3_labels.npy", dir);
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &labels));
    const int64_t n = sh[0], S = n / 2;
    assert_int_equal(n, 24);
    snprintf(path, sizeof path, "%s/cl/conv1/cluster_2_3_order.npy", dir);
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &order));
    snprintf(path, sizeof path, "%s/stats/conv1/corr.npy", dir);
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &corr));
    const int64_t D = sh[0];
    /* order is a permutation in which every leaf is contiguous */
    char *seen = calloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++) {
        assert_true(order[i] >= 0 && order[i] < n && !seen[(int64_t)order[i]]);
        seen[(int64_t)order[i]] = 1;
        if (i > 1 && labels[(int64_t)order[i]] != labels[(int64_t)order[i - 1]])
            for (int64_t j = 0; j < i - 1; j++) assert_true(labels[(int64_t)order[j]] != labels[(int64_t)order[i]]);
    }
    snprintf(path, sizeof path, "%s/cl/conv1/cluster_2_3.json", dir);
    cJSON *j = test_read_json(path);
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(j, "nodes");
    const cJSON *ranking = cJSON_GetObjectItemCaseSensitive(j, "leaves_by_between_similarity");
    int64_t covered = 0;
    double previous = INFINITY;
    const cJSON *id;
    cJSON_ArrayForEach(id, ranking) {
        const cJSON *node = cJSON_GetArrayItem(nodes, id->valueint);
        const cJSON *ua = cJSON_GetObjectItemCaseSensitive(node, "units_a");
        const cJSON *ub = cJSON_GetObjectItemCaseSensitive(node, "units_b");
        int na = cJSON_GetArraySize(ua), nb = cJSON_GetArraySize(ub);
        covered += na + nb;
        /* between-net similarity (appendix 6.6) recomputed from corr.npy: nets 2 and 3 */
        double sum = 0;
        for (int p = 0; p < na; p++)
            for (int q = 0; q < nb; q++)
                sum += corr[(1 * S + cJSON_GetArrayItem(ua, p)->valueint) * D + 2 * S + cJSON_GetArrayItem(ub, q)->valueint];
        double between = na && nb ? sum / (na * nb) : 0;
        double got = cJSON_GetObjectItemCaseSensitive(node, "between")->valuedouble;
        if (fabs(got - between) > 1e-9) fail_msg("between %.9f != %.9f", got, between);
        assert_true(got <= previous + 1e-15);
        previous = got;
        /* every unit of the leaf carries its label */
        int leaf = cJSON_GetObjectItemCaseSensitive(node, "leaf")->valueint;
        for (int p = 0; p < na; p++) assert_true(labels[cJSON_GetArrayItem(ua, p)->valueint] == leaf);
        for (int q = 0; q < nb; q++) assert_true(labels[S + cJSON_GetArrayItem(ub, q)->valueint] == leaf);
    }
    assert_int_equal(covered, n);
    /* the default: the paper's k-means labels, k chosen by --k auto, recorded in the JSON */
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "refine")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "k_rule")),
                        "eigen-gap suggestion (--k auto)");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "threads"));
    cJSON_Delete(j);
    /* --refine: the refined labels, recorded; default k from the width: S = 12 units per net,
     * meta.json (from .npy files) does not say which layer is first, so a later layer:
     * round(2 * 12 / 5.12) = 5 */
    assert_int_equal(test_system("%s cluster %s/stats -o %s/cl2 --pair 2,3 --refine > %s/out2.txt", CVG_CLI, dir, dir, dir), 0);
    assert_int_equal(test_system("grep -q 'k = 5 ' %s/out2.txt", dir), 0);
    snprintf(path, sizeof path, "%s/cl2/conv1/cluster_2_3.json", dir);
    j = test_read_json(path);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "refine")));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "k")->valueint, 5);
    const char *rule = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "k_rule"));
    assert_non_null(rule);
    assert_non_null(strstr(rule, "scaled"));
    assert_non_null(strstr(rule, "unknown"));
    cJSON_Delete(j);
    /* --first-layer conv1: round(2 * 12 / 4.8) = 5 as well; tau 0.2, alpha recorded */
    assert_int_equal(test_system("%s cluster %s/stats -q -o %s/cl3 --pair 1,2 --first-layer conv1", CVG_CLI, dir, dir), 0);
    snprintf(path, sizeof path, "%s/cl3/conv1/cluster_1_2.json", dir);
    j = test_read_json(path);
    rule = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "k_rule"));
    assert_non_null(strstr(rule, "first layer, S = 12"));
    assert_non_null(strstr(rule, "--first-layer"));
    assert_true(cJSON_GetObjectItemCaseSensitive(j, "tau")->valuedouble == 0.2);
    assert_true(cJSON_GetObjectItemCaseSensitive(j, "alpha")->valuedouble == 0.025);
    cJSON_Delete(j);
    /* --k 3: given */
    assert_int_equal(test_system("%s cluster %s/stats -q -o %s/cl3 --pair 1,2 --k 3", CVG_CLI, dir, dir), 0);
    j = test_read_json(path);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "k_rule")), "given (--k 3)");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "k")->valueint, 3);
    cJSON_Delete(j);
    /* bad input */
    assert_int_equal(test_system("%s cluster %s/stats -o %s/cl --pair 1,9 2>/dev/null", CVG_CLI, dir, dir), 1);
    assert_int_equal(test_system("%s cluster %s/stats -o %s/cl --tau -1 2>/dev/null", CVG_CLI, dir, dir), 2);
    assert_int_equal(test_system("%s cluster %s/stats -o %s/cl --layer nope 2>/dev/null", CVG_CLI, dir, dir), 1);
    free(labels), free(order), free(corr), free(seen), free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
