/* Cross-layer statistics merged: shards of the inputs, each given its own cross-layer pass,
 * merged (library and `stats --merge`) equal one pass over all the inputs (count, means,
 * co-moment and the HSIC sums of the debiased CKA, to 1e-12 of each array's scale with the
 * double kernel); and the refusals: a cross-layer directory against a per-layer one, different
 * directory contents, layers or units that differ, a shard without HSIC sums; the listing of
 * both kinds of directory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "test_support.h"

static const char *const LAYERS[3] = {"conv1", "conv2", "fc3"};
enum { NETS = 2, L = 3, N = 200 };

/* The fixture file of net k (from 1), layer l. */
static void fixture(int k, int l, char *path, size_t cap)
{
    snprintf(path, cap, "%s/similarity/cross/net%d_%s.npy", CVG_FIXTURE_DIR, k, LAYERS[l]);
}

/* Write rows [first, first + count) of every fixture file as dir/net<k>_<layer>.npy (float64:
 * the float32 values exactly). */
static void write_shard(const char *dir, int64_t first, int64_t count)
{
    for (int k = 1; k <= NETS; k++)
        for (int l = 0; l < L; l++) {
            char in[1024], out[1024];
            fixture(k, l, in, sizeof in);
            int nd;
            int64_t sh[CVG_NPY_MAX_DIMS];
            double *d;
            assert_cvg_ok(cvg_npy_load(in, &nd, sh, &d));
            int64_t row = 1;
            for (int i = 1; i < nd; i++) row *= sh[i];
            sh[0] = count;
            snprintf(out, sizeof out, "%s/net%d_%s.npy", dir, k, LAYERS[l]);
            assert_cvg_ok(cvg_npy_save(out, CVG_F64, nd, sh, d + first * row));
            free(d);
        }
}

static void shard_paths(const char *dir, char **paths)
{
    for (int k = 1; k <= NETS; k++)
        for (int l = 0; l < L; l++) {
            paths[(k - 1) * L + l] = malloc(1024);
            snprintf(paths[(k - 1) * L + l], 1024, "%s/net%d_%s.npy", dir, k, LAYERS[l]);
        }
}

static cvg_cross *pass(const char *dir, int64_t chunk_rows)
{
    char *paths[NETS * L];
    shard_paths(dir, paths);
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.kernel = CVG_KERNEL_DSYRK;
    opt.chunk_rows = chunk_rows;
    cvg_cross *c;
    assert_cvg_ok(cvg_cross_compute((const char *const *)paths, NETS, L, LAYERS, &opt, &c));
    for (int i = 0; i < NETS * L; i++) free(paths[i]);
    return c;
}

/* got and want, the same .npy of two cross-layer directories, agree to tol of want's scale. */
static void same_array(const char *got_dir, const char *want_dir, const char *file, double tol)
{
    char p1[2048], p2[2048];
    snprintf(p1, sizeof p1, "%s/%s", got_dir, file);
    snprintf(p2, sizeof p2, "%s/%s", want_dir, file);
    int n1, n2;
    int64_t s1[CVG_NPY_MAX_DIMS], s2[CVG_NPY_MAX_DIMS];
    double *a, *b;
    assert_cvg_ok(cvg_npy_load(p1, &n1, s1, &a));
    assert_cvg_ok(cvg_npy_load(p2, &n2, s2, &b));
    assert_int_equal(n1, n2);
    int64_t n = 1;
    for (int i = 0; i < n1; i++) {
        assert_int_equal(s1[i], s2[i]);
        n *= s1[i];
    }
    double scale = 0, err = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (int64_t i = 0; i < n; i++) err = fmax(err, fabs(a[i] - b[i]));
    if (!(scale > 0) || !(err <= tol * scale))
        fail_msg("%s: merged differs from one pass by %g (scale %g, tolerance %g)", file, err, scale, tol * scale);
    free(a), free(b);
}

static cJSON *manifest(const char *dir)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/cross.json", dir);
    return test_read_json(p);
}

static double number(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* Every array and count of a merged directory against the one pass. */
static void same_directory(const char *merged, const char *one, int shards)
{
    const char *files[4] = {"mean.npy", "comoment.npy", "sqnorm_q.npy", "sqnorm_g.npy"};
    for (int f = 0; f < 4; f++) same_array(merged, one, files[f], 1e-12);
    cJSON *a = manifest(merged), *b = manifest(one);
    assert_true(number(a, "samples") == N && number(b, "samples") == N);
    assert_true(number(a, "inputs") == N);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "hsic_sums")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(a, "sources")), shards * NETS * L);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(a, "layers")), L);
    cJSON_Delete(a), cJSON_Delete(b);
}

/* The debiased CKA of every (net 1 layer, net 2 layer) from both directories. */
static void same_similarity(const char *merged, const char *one)
{
    cvg_blocks a, b;
    assert_cvg_ok(cvg_blocks_load(merged, &a));
    assert_cvg_ok(cvg_blocks_load(one, &b));
    assert_non_null(a.sqnorm);
    cvg_similarity_options opt;
    cvg_similarity_options_init(&opt);
    for (int i = 0; i < L; i++)
        for (int j = 0; j < L; j++) {
            cvg_similarity sa, sb;
            assert_cvg_ok(cvg_blocks_similarity(&a, i, L + j, &opt, &sa));
            assert_cvg_ok(cvg_blocks_similarity(&b, i, L + j, &opt, &sb));
            for (int m = 0; m < CVG_SIM_MEASURES; m++) {
                assert_int_equal(sa.defined[m], sb.defined[m]);
                if (!(fabs(sa.value[m] - sb.value[m]) <= 1e-9))
                    fail_msg("%s, layers %d,%d: %.15g merged vs %.15g", cvg_measure_name((cvg_measure)m),
                             i, j, sa.value[m], sb.value[m]);
            }
            assert_true(sa.defined[CVG_SIM_CKA_DEBIASED]);
            cvg_similarity_free(&sa), cvg_similarity_free(&sb);
        }
    cvg_blocks_free(&a), cvg_blocks_free(&b);
}

/* Three uneven shards (one of 3 inputs) merged by the library equal one pass. */
static void test_library_merge(void **state)
{
    (void)state;
    char *dir = test_tmpdir("cross_merge_lib");
    const int64_t first[4] = {0, 90, 93, N};
    char sub[3][1024];
    cvg_cross *acc = NULL;
    for (int s = 0; s < 3; s++) {
        snprintf(sub[s], sizeof sub[s], "%s/shard%d", dir, s);
        assert_int_equal(test_system("mkdir -p '%s'", sub[s]), 0);
        write_shard(sub[s], first[s], first[s + 1] - first[s]);
        cvg_cross *c = pass(sub[s], 32);
        assert_cvg_ok(cvg_cross_save(c, sub[s], "cross"));
        cvg_cross_free(c);
        char saved[1100];
        snprintf(saved, sizeof saved, "%s/cross", sub[s]);
        assert_cvg_ok(cvg_cross_load(saved, &c)); /* through the disk, as --merge does */
        if (acc) {
            assert_cvg_ok(cvg_cross_merge(acc, c));
            cvg_cross_free(c);
        } else {
            acc = c;
        }
    }
    assert_cvg_ok(cvg_cross_save(acc, dir, "merged"));
    cvg_cross_free(acc);
    char all[1024];
    snprintf(all, sizeof all, "%s/all", dir);
    assert_int_equal(test_system("mkdir -p '%s'", all), 0);
    write_shard(all, 0, N);
    cvg_cross *one = pass(all, 0);
    assert_cvg_ok(cvg_cross_save(one, dir, "one"));
    cvg_cross_free(one);
    char merged[1100], single[1100];
    snprintf(merged, sizeof merged, "%s/merged", dir);
    snprintf(single, sizeof single, "%s/one", dir);
    same_directory(merged, single, 3);
    same_similarity(merged, single);

    /* arguments, a broken manifest */
    assert_int_equal(cvg_cross_merge(NULL, NULL), CVG_ERR_ARG);
    assert_int_equal(cvg_cross_load(NULL, &acc), CVG_ERR_ARG);
    assert_int_equal(test_system("printf '{\"nets\": 2}' > '%s/shard0/cross/cross.json'", dir), 0);
    char broken[1100];
    snprintf(broken, sizeof broken, "%s/shard0/cross", dir);
    assert_int_equal(cvg_cross_load(broken, &acc), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "shard0/cross"));
    free(dir);
}

/* `stats --merge` of two cross-layer directories equals one pass; and what it refuses. */
static void test_cli_merge(void **state)
{
    (void)state;
    char *dir = test_tmpdir("cross_merge_cli");
    const char *C = CVG_CLI;
    char files[3][1024];
    for (int s = 0; s < 3; s++) {
        snprintf(files[s], sizeof files[s], "%s/in%d", dir, s);
        assert_int_equal(test_system("mkdir -p '%s'", files[s]), 0);
    }
    write_shard(files[0], 0, 120);
    write_shard(files[1], 120, N - 120);
    write_shard(files[2], 0, N);
    const char *LIST = "net1_conv1.npy net1_conv2.npy net1_fc3.npy net2_conv1.npy net2_conv2.npy net2_fc3.npy";
    for (int s = 0; s < 3; s++)
        assert_int_equal(test_system("cd '%s' && '%s' stats -q --kernel dsyrk --cross-layer --layers "
                                     "conv1,conv2,fc3 -o '%s/s%d' %s", files[s], C, dir, s, LIST), 0);
    assert_int_equal(test_system("'%s' stats --merge '%s/s0' '%s/s1' -o '%s/m' > '%s/out.txt'", C, dir, dir, dir, dir), 0);
    assert_int_equal(test_system("grep -q 'wrote %s/m/cross/' '%s/out.txt'", dir, dir), 0);
    char merged[1100], single[1100];
    snprintf(merged, sizeof merged, "%s/m/cross", dir);
    snprintf(single, sizeof single, "%s/s2/cross", dir);
    same_directory(merged, single, 2);
    same_similarity(merged, single);

    /* a per-layer directory of the same name: a clear refusal naming both */
    assert_int_equal(test_system("cd '%s' && '%s' stats -q -o '%s/p' --layer cross net1_fc3.npy net2_fc3.npy",
                                 files[0], C, dir), 0);
    assert_int_equal(test_system("'%s' stats --merge '%s/s0' '%s/p' -o '%s/x' 2>'%s/err'", C, dir, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q 'cannot merge %s/s0/cross (a cross-layer directory) with "
                                 "%s/p/cross (a per-layer stats directory)' '%s/err'", dir, dir, dir), 0);
    /* directories holding different things */
    assert_int_equal(test_system("cd '%s' && '%s' stats -q -o '%s/q' --layer fc3 net1_fc3.npy net2_fc3.npy",
                                 files[0], C, dir), 0);
    assert_int_equal(test_system("'%s' stats --merge '%s/s0' '%s/q' -o '%s/x' 2>'%s/err'", C, dir, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q \"%s/q has no 'cross' (%s/s0/cross is a cross-layer directory)\" '%s/err'",
                                 dir, dir, dir), 0);
    assert_int_equal(test_system("'%s' stats --merge '%s/q' '%s/s0' -o '%s/x' 2>'%s/err'", C, dir, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q \"%s/q has no 'fc3'\\|%s/s0 has no 'fc3'\" '%s/err'", dir, dir, dir), 0);
    /* other layers, other units */
    assert_int_equal(test_system("cd '%s' && '%s' stats -q --cross-layer --layers conv1,conv2 -o '%s/two' "
                                 "net1_conv1.npy net1_conv2.npy net2_conv1.npy net2_conv2.npy", files[1], C, dir), 0);
    assert_int_equal(test_system("'%s' stats --merge '%s/s0' '%s/two' -o '%s/x' 2>'%s/err'", C, dir, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q 'cannot merge cross-layer statistics %s/s0/cross (2 nets x 3 layers) "
                                 "with %s/two/cross (2 nets x 2 layers)' '%s/err'", dir, dir, dir), 0);
    assert_int_equal(test_system("cd '%s' && '%s' stats -q --cross-layer --layers conv1,conv2,fc3 -o '%s/units' "
                                 "net1_conv1.npy net1_fc3.npy net1_fc3.npy net2_conv1.npy net2_fc3.npy "
                                 "net2_fc3.npy", files[1], C, dir), 0);
    assert_int_equal(test_system("'%s' stats --merge '%s/s0' '%s/units' -o '%s/x' 2>'%s/err'", C, dir, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q \"layer 'conv2' has 10 units (9 positions averaged) in one and 16 "
                                 "units (1 positions) in the other\" '%s/err'", dir), 0);
    assert_int_equal(test_system("grep -q '%s/units/cross' '%s/err'", dir, dir), 0);

    /* a shard without HSIC sums: merged, with a warning, but no debiased CKA */
    assert_int_equal(test_system("sed -i 's/\"hsic_sums\":[[:space:]]*true/\"hsic_sums\": false/' '%s/s1/cross/cross.json' "
                                 "&& rm '%s/s1/cross/sqnorm_q.npy'", dir, dir), 0);
    assert_int_equal(test_system("'%s' stats --merge '%s/s0' '%s/s1' -o '%s/nh' 2>'%s/err' >/dev/null", C, dir, dir, dir, dir), 0);
    assert_int_equal(test_system("grep -q 'no HSIC sums' '%s/err'", dir), 0);
    char nh[1100];
    snprintf(nh, sizeof nh, "%s/nh/cross", dir);
    cJSON *j = manifest(nh);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "hsic_sums")));
    cJSON_Delete(j);
    same_array(nh, single, "comoment.npy", 1e-12);
    cvg_blocks b;
    assert_cvg_ok(cvg_blocks_load(nh, &b));
    assert_null(b.sqnorm);
    cvg_blocks_free(&b);

    /* listing a directory holding both kinds */
    assert_int_equal(test_system("cd '%s' && '%s' stats -q -o '%s/s0' --layer fc3 net1_fc3.npy net2_fc3.npy",
                                 files[0], C, dir), 0);
    char s0[1100], **names, *kinds;
    int count;
    snprintf(s0, sizeof s0, "%s/s0", dir);
    assert_cvg_ok(cvg_stats_list_dirs(s0, &names, &kinds, &count));
    assert_int_equal(count, 2);
    assert_string_equal(names[0], "cross");
    assert_string_equal(names[1], "fc3");
    assert_memory_equal(kinds, "cl", 2);
    cvg_free(names);
    free(kinds);
    assert_cvg_ok(cvg_stats_list_layers(s0, &names, &count));
    assert_int_equal(count, 1);
    assert_string_equal(names[0], "fc3");
    cvg_free(names);
    assert_int_equal(cvg_stats_list_dirs(files[0], &names, NULL, &count), CVG_ERR_EMPTY);
    assert_non_null(strstr(cvg_last_error(), "cross-layer directories (cross.json)"));
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library_merge),
        cmocka_unit_test(test_cli_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
