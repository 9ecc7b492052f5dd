/* One-to-one alignment: cvg_match's semi-matching, matching and overlap on small matrices
 * (brute force), and `convergent match` end to end against numpy/scipy references
 * (make_match_fixtures.py) on the statistics fixtures, plus bad stats directories. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "test_support.h"

/* Best total over all injections of rows into columns (rows <= cols), by recursion. */
static double brute_best(const double *m, int rows, int cols, int row, unsigned used)
{
    if (row == rows) return 0;
    double best = -INFINITY;
    for (int c = 0; c < cols; c++)
        if (!(used & (1u << c))) {
            double v = m[row * cols + c] + brute_best(m, rows, cols, row + 1, used | (1u << c));
            if (v > best) best = v;
        }
    return best;
}

static void test_small_matrices_against_brute_force(void **state)
{
    (void)state;
    uint64_t rng = 11;
    for (int trial = 0; trial < 300; trial++) {
        int n = 1 + trial % 7, cols = n + (trial % 3 == 0 ? trial % 2 : 0);
        double m[8 * 8];
        for (int i = 0; i < n * cols; i++) m[i] = trial % 5 == 0 ? (double)(test_rand_u64(&rng) % 3) : 2 * test_rand_uniform(&rng) - 1;
        cvg_match_result r;
        assert_cvg_ok(cvg_match(m, n, cols, &r));
        double total = 0;
        unsigned used = 0;
        int same = 0;
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int c = 1; c < cols; c++) if (m[i * cols + c] > m[i * cols + best]) best = c;
            assert_int_equal(r.semi[i], best);
            assert_true(r.semi_value[i] == m[i * cols + best]);
            assert_true(r.match[i] >= 0 && r.match[i] < cols && !(used & (1u << r.match[i])));
            used |= 1u << r.match[i];
            assert_true(r.match_value[i] == m[i * cols + r.match[i]]);
            total += r.match_value[i];
            same += r.match[i] == r.semi[i];
        }
        assert_true(fabs(total - brute_best(m, n, cols, 0, 0)) < 1e-12);
        assert_true(fabs(r.match_mean - total / n) < 1e-12);
        assert_true(fabs(r.overlap - (double)same / n) < 1e-15);
        assert_true(r.semi_mean >= r.match_mean - 1e-12); /* footnote 5 of the paper */
        cvg_match_result_free(&r);
    }
}

static void test_more_rows_than_columns(void **state)
{
    (void)state;
    const double m[3 * 2] = {0.9, 0.1, 0.8, 0.7, 0.2, 0.3};
    cvg_match_result r;
    assert_cvg_ok(cvg_match(m, 3, 2, &r));
    /* best: row0->0 (0.9) + row1->1 (0.7) = 1.6; row 2 unmatched */
    assert_int_equal(r.match[0], 0);
    assert_int_equal(r.match[1], 1);
    assert_int_equal(r.match[2], -1);
    assert_true(fabs(r.match_mean - 0.8) < 1e-15);
    cvg_match_result_free(&r);
    assert_int_equal(cvg_match(m, 0, 2, &r), CVG_ERR_EMPTY);
    const double bad[4] = {0.1, NAN, 0.2, 0.3};
    assert_int_equal(cvg_match(bad, 2, 2, &r), CVG_ERR_NONFINITE);
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("missing number %s", key);
    return v->valuedouble;
}

static void test_cli_against_scipy(void **state)
{
    (void)state;
    const char *cases[][2] = {{"fc_k2", "nchw"}, {"conv_k4_nchw", "nchw"}, {"conv_k2_nhwc", "nhwc"}};
    char *dir = test_tmpdir("match_cli");
    for (size_t c = 0; c < 3; c++) {
        const char *name = cases[c][0];
        char fix[1024];
        snprintf(fix, sizeof fix, "%s/stats/%s", CVG_FIXTURE_DIR, name);
        assert_int_equal(test_system("%s stats -q -o %s/stats --layer %s --layout %s %s/net*.npy",
                                     CVG_CLI, dir, name, cases[c][1], fix), 0);
    }
    /* the reference counts dead units as correlation 0 (fc_k2 has one): --include-dead */
    assert_int_equal(test_system("%s match %s/stats -o %s/match --include-dead > %s/table.txt", CVG_CLI, dir, dir, dir), 0);
    assert_int_equal(test_system("grep -q 'Table 1' %s/table.txt && grep -q 'conv_k4_nchw' %s/table.txt", dir, dir), 0);
    for (size_t c = 0; c < 3; c++) {
        const char *name = cases[c][0];
        char path[2048];
        snprintf(path, sizeof path, "%s/match/%s.json", CVG_FIXTURE_DIR, name);
        cJSON *ref = test_read_json(path);
        const cJSON *pair;
        int pairs = 0;
        cJSON_ArrayForEach(pair, cJSON_GetObjectItemCaseSensitive(ref, "pairs")) {
            int a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pair, "nets"), 0)->valueint;
            int b = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pair, "nets"), 1)->valueint;
            snprintf(path, sizeof path, "%s/match/%s/match_%d_%d.json", dir, name, a, b);
            cJSON *got = test_read_json(path);
            assert_true(fabs(num(got, "semi_matching_mean") - num(pair, "semi_matching_mean")) < 1e-6);
            assert_true(fabs(num(got, "matching_mean") - num(pair, "matching_mean")) < 1e-6);
            assert_true(fabs(num(got, "overlap_ratio") - num(pair, "overlap_ratio")) < 1e-12);
            const cJSON *gs = cJSON_GetObjectItemCaseSensitive(got, "semi_matching_unit");
            const cJSON *rs = cJSON_GetObjectItemCaseSensitive(pair, "semi_matching_unit");
            assert_int_equal(cJSON_GetArraySize(gs), cJSON_GetArraySize(rs));
            for (int i = 0; i < cJSON_GetArraySize(rs); i++)
                assert_int_equal(cJSON_GetArrayItem(gs, i)->valueint, cJSON_GetArrayItem(rs, i)->valueint);
            /* the permutation is one, and the permuted matrix puts matched pairs on the diagonal */
            snprintf(path, sizeof path, "%s/match/%s/match_%d_%d_perm.npy", dir, name, a, b);
            int nd;
            int64_t sh[CVG_NPY_MAX_DIMS];
            double *perm, *permuted;
            assert_cvg_ok(cvg_npy_load(path, &nd, sh, &perm));
            int64_t S = sh[0];
            char *seen = calloc((size_t)S, 1);
            for (int64_t i = 0; i < S; i++) {
                assert_true(perm[i] >= 0 && perm[i] < S && !seen[(int64_t)perm[i]]);
                seen[(int64_t)perm[i]] = 1;
            }
            snprintf(path, sizeof path, "%s/match/%s/match_%d_%d_permuted.npy", dir, name, a, b);
            assert_cvg_ok(cvg_npy_load(path, &nd, sh, &permuted));
            const cJSON *mv = cJSON_GetObjectItemCaseSensitive(got, "matching_value");
            for (int64_t i = 0; i < S; i++)
                assert_true(fabs(permuted[i * S + i] - cJSON_GetArrayItem(mv, (int)i)->valuedouble) < 1e-12);
            free(seen), free(perm), free(permuted);
            cJSON_Delete(got);
            pairs++;
        }
        assert_true(pairs >= 1);
        cJSON_Delete(ref);
    }
    /* table1.json: one row per layer */
    char tpath[2048];
    snprintf(tpath, sizeof tpath, "%s/match/table1.json", dir);
    cJSON *t = test_read_json(tpath);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "layers")), 3);
    cJSON_Delete(t);
    free(dir);
}

static void test_cli_bad_input(void **state)
{
    (void)state;
    char *dir = test_tmpdir("match_bad");
    char fix[1024];
    snprintf(fix, sizeof fix, "%s/stats/fc_k2", CVG_FIXTURE_DIR);
    assert_int_equal(test_system("%s stats -q -o %s/stats --layer fc %s/net*.npy", CVG_CLI, dir, fix), 0);
    /* no mi.npy yet */
    assert_int_equal(test_system("%s match %s/stats -o %s/out --metric mi 2>%s/err", CVG_CLI, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q 'mi.npy' %s/err", dir), 0);
    /* a pair that does not exist */
    assert_int_equal(test_system("%s match %s/stats -o %s/out --pair 1,3 2>%s/err", CVG_CLI, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q -- '--pair 1,3: layer fc has 2 networks' %s/err", dir), 0);
    assert_int_equal(test_system("%s match %s/stats -o %s/out --pair 1,1 2>/dev/null", CVG_CLI, dir, dir), 2);
    /* the layer walk shared with cluster and mi: a layer that is not there, one network */
    assert_int_equal(test_system("%s match %s/stats -o %s/out --layer nope 2>%s/err", CVG_CLI, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q \"no layer 'nope' (no .*/stats/nope/meta.json)\" %s/err", dir), 0);
    assert_int_equal(test_system("%s mi %s/stats --layer nope 2>%s/err", CVG_CLI, dir, dir), 1);
    assert_int_equal(test_system("grep -q \"no layer 'nope'\" %s/err", dir), 0);
    assert_int_equal(test_system("%s stats -q -o %s/one --layer fc %s/net1.npy", CVG_CLI, dir, fix), 0);
    assert_int_equal(test_system("%s match %s/one -o %s/out 2>%s/err", CVG_CLI, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q 'one/fc: layer has 1 network; matching needs two' %s/err", dir), 0);
    assert_int_equal(test_system("%s cluster %s/one -o %s/out 2>%s/err", CVG_CLI, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q 'one/fc: layer has 1 network; clustering pairs needs two' %s/err", dir), 0);
    /* a NaN in corr.npy */
    assert_int_equal(test_system("/usr/bin/python3 -c \"import numpy as np; c=np.load('%s/stats/fc/corr.npy'); "
                                 "c[3,30]=np.nan; np.save('%s/stats/fc/corr.npy', c)\" 2>/dev/null || "
                                 "printf '\\x00\\x00\\x00\\x00\\x00\\x00\\xf8\\x7f' | dd of=%s/stats/fc/corr.npy bs=1 seek=200 conv=notrunc 2>/dev/null",
                                 dir, dir, dir), 0);
    assert_int_equal(test_system("%s match %s/stats -o %s/out 2>%s/err", CVG_CLI, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q 'corr.npy: non-finite' %s/err", dir), 0);
    /* not a stats directory */
    assert_int_equal(test_system("%s match %s -o %s/out 2>%s/err", CVG_CLI, fix, dir, dir), 1);
    assert_int_equal(test_system("grep -q 'no layer directories' %s/err", dir), 0);
    free(dir);
}

/* Agreement of two semi-matchings against scipy.stats.spearmanr and a top-8 set computed in
 * make_match_fixtures.py. */
static void test_compare_semi_matchings(void **state)
{
    (void)state;
    char path[1024];
    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *corr, *b;
    snprintf(path, sizeof path, "%s/stats/fc_k2/ref_corr.npy", CVG_FIXTURE_DIR);
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &corr));
    const int64_t S = sh[0] / 2;
    snprintf(path, sizeof path, "%s/match/compare_b.npy", CVG_FIXTURE_DIR);
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &b));
    double *a = malloc(sizeof(double) * S * S);
    for (int64_t i = 0; i < S; i++) memcpy(a + i * S, corr + i * 2 * S + S, sizeof(double) * S);
    snprintf(path, sizeof path, "%s/match/compare.json", CVG_FIXTURE_DIR);
    cJSON *ref = test_read_json(path);
    int agree;
    double rho;
    assert_cvg_ok(cvg_compare_semi_matchings(a, b, S, S, 8, &agree, &rho));
    assert_int_equal(agree, (int)num(ref, "agree"));
    assert_true(fabs(rho - num(ref, "spearman")) < 1e-12);
    /* a measure agrees with itself completely */
    assert_cvg_ok(cvg_compare_semi_matchings(a, a, S, S, 8, &agree, &rho));
    assert_int_equal(agree, 8);
    assert_true(fabs(rho - 1) < 1e-15);
    cJSON_Delete(ref);
    free(a), free(b), free(corr);
}

/* cvg_match_save / cvg_match_load: a rectangular result round-trips exactly (values as the
 * shortest decimal cJSON prints, which read back to the same double); every field a reader
 * relies on is checked, and a broken file is an error naming it. */
static void test_save_load_round_trip_and_bad_files(void **state)
{
    (void)state;
    uint64_t rng = 5;
    enum { ROWS = 6, COLS = 4 };
    double sim[ROWS * COLS];
    for (int i = 0; i < ROWS * COLS; i++) sim[i] = 2 * test_rand_uniform(&rng) - 1;
    cvg_match_result r, back;
    assert_cvg_ok(cvg_match(sim, ROWS, COLS, &r));
    char *dir = test_tmpdir("match_save");
    char *path = test_path(dir, "m.json");
    cvg_match_info info = {.layer = "conv3", .metric = "mi", .net_a = 2, .net_b = 0}, info_back;
    assert_cvg_ok(cvg_match_save(path, &r, &info));
    assert_cvg_ok(cvg_match_load(path, &back, &info_back));
    assert_int_equal(back.rows, ROWS);
    assert_int_equal(back.cols, COLS);
    assert_string_equal(info_back.layer, "conv3");
    assert_string_equal(info_back.metric, "mi");
    assert_int_equal(info_back.net_a, 2);
    assert_int_equal(info_back.net_b, 0);
    for (int i = 0; i < ROWS; i++) {
        assert_int_equal(back.semi[i], r.semi[i]);
        assert_int_equal(back.match[i], r.match[i]);
        assert_true(back.semi_value[i] == r.semi_value[i]);
        assert_true(back.match_value[i] == r.match_value[i]);
    }
    assert_true(back.semi_mean == r.semi_mean && back.match_mean == r.match_mean && back.overlap == r.overlap);
    cvg_match_result_free(&back);

    /* A unit index past the second net, a short array, a missing field, not JSON. */
    const char *bad[] = {
        "{\"layer\":\"l\",\"metric\":\"corr\",\"nets\":[1,2],\"units\":1,\"units_b\":1,"
        "\"semi_matching_mean\":0,\"matching_mean\":0,\"overlap_ratio\":1,\"semi_matching_unit\":[1],"
        "\"semi_matching_value\":[0],\"matching_unit\":[0],\"matching_value\":[0]}",
        "{\"layer\":\"l\",\"metric\":\"corr\",\"nets\":[1,2],\"units\":2,"
        "\"semi_matching_mean\":0,\"matching_mean\":0,\"overlap_ratio\":1,\"semi_matching_unit\":[0,1],"
        "\"semi_matching_value\":[0],\"matching_unit\":[0,1],\"matching_value\":[0,0]}",
        "{\"layer\":\"l\",\"nets\":[1,2],\"units\":1}",
        "[1, 2",
    };
    const char *field[] = {"semi_matching_unit", "semi_matching_value", "\"metric\"", "not a JSON object"};
    for (int k = 0; k < 4; k++) {
        test_write_bytes(path, bad[k], strlen(bad[k]));
        assert_int_equal(cvg_match_load(path, &back, NULL), CVG_ERR_FORMAT);
        assert_non_null(strstr(cvg_last_error(), path));
        assert_non_null(strstr(cvg_last_error(), field[k]));
        assert_null(back.semi);
    }
    cvg_match_result_free(&r);
    free(path);
    free(dir);
}


/* cvg_match_excluding: left-out rows get -1 and NAN, left-out columns are never chosen, the
 * matching total is the brute-force optimum of the kept block, means and overlap are over the
 * kept rows; without a mask it is cvg_match. */
static void test_match_excluding_against_brute_force(void **state)
{
    (void)state;
    uint64_t rng = 23;
    for (int trial = 0; trial < 300; trial++) {
        int rows = 1 + trial % 7, cols = 1 + (trial / 7) % 7;
        double m[8 * 8], sub[8 * 8];
        unsigned char skip_r[8], skip_c[8];
        int kr = 0, kc = 0, row_of[8], col_of[8];
        for (int i = 0; i < rows * cols; i++) m[i] = 2 * test_rand_uniform(&rng) - 1;
        for (int i = 0; i < rows; i++)
            if (!(skip_r[i] = trial % 4 != 0 && test_rand_u64(&rng) % 3 == 0)) row_of[kr++] = i;
        for (int j = 0; j < cols; j++)
            if (!(skip_c[j] = trial % 4 != 1 && test_rand_u64(&rng) % 3 == 0)) col_of[kc++] = j;
        for (int i = 0; i < kr; i++)
            for (int j = 0; j < kc; j++) sub[i * kc + j] = m[row_of[i] * cols + col_of[j]];
        cvg_match_result r;
        assert_cvg_ok(cvg_match_excluding(m, rows, cols, skip_r, skip_c, &r));
        assert_int_equal(r.excluded_rows, rows - kr);
        assert_int_equal(r.excluded_cols, cols - kc);
        double total = 0, semi_sum = 0;
        int same = 0, matched = 0;
        unsigned used = 0;
        for (int i = 0; i < rows; i++) {
            if (skip_r[i] || !kc) {
                assert_int_equal(r.semi[i], -1);
                assert_int_equal(r.match[i], -1);
                assert_true(isnan(r.semi_value[i]) && isnan(r.match_value[i]));
                continue;
            }
            int best = -1;
            for (int j = 0; j < cols; j++)
                if (!skip_c[j] && (best < 0 || m[i * cols + j] > m[i * cols + best])) best = j;
            assert_int_equal(r.semi[i], best);
            semi_sum += m[i * cols + best];
            if (r.match[i] < 0) continue;
            assert_false(skip_c[r.match[i]]);
            assert_false(used & (1u << r.match[i]));
            used |= 1u << r.match[i];
            total += m[i * cols + r.match[i]];
            matched++;
            same += r.match[i] == r.semi[i];
        }
        if (!kr || !kc) {
            assert_true(isnan(r.semi_mean) && isnan(r.match_mean) && isnan(r.overlap));
        } else {
            /* brute force on the kept block, in its smaller orientation */
            double t[8 * 8];
            int tr = kr, tc = kc;
            if (kr > kc) {
                for (int i = 0; i < kr; i++)
                    for (int j = 0; j < kc; j++) t[j * kr + i] = sub[i * kc + j];
                tr = kc, tc = kr;
            } else {
                memcpy(t, sub, sizeof(double) * kr * kc);
            }
            assert_true(fabs(total - brute_best(t, tr, tc, 0, 0)) < 1e-12);
            assert_int_equal(matched, kr < kc ? kr : kc);
            assert_true(fabs(r.semi_mean - semi_sum / kr) < 1e-12);
            assert_true(fabs(r.match_mean - total / matched) < 1e-12);
            assert_true(fabs(r.overlap - (double)same / matched) < 1e-15); /* over the matched rows */
        }
        cvg_match_result_free(&r);
        /* no mask: cvg_match itself */
        cvg_match_result a, b;
        assert_cvg_ok(cvg_match(m, rows, cols, &a));
        assert_cvg_ok(cvg_match_excluding(m, rows, cols, NULL, NULL, &b));
        assert_memory_equal(a.semi, b.semi, sizeof(int64_t) * rows);
        assert_memory_equal(a.match, b.match, sizeof(int64_t) * rows);
        assert_true(a.semi_mean == b.semi_mean && a.match_mean == b.match_mean && a.overlap == b.overlap);
        assert_int_equal(b.excluded_rows + b.excluded_cols, 0);
        cvg_match_result_free(&a);
        cvg_match_result_free(&b);
    }
}

/* Dead units in a real layout: rows and columns of zeros (corr 0 by convention). Included, a
 * dead row semi-matches column 0 with value 0 and lowers the mean; excluded, it is -1/null,
 * the means are those of the live block, and the saved file says so and reads back. */
static void test_dead_units_saved_as_null(void **state)
{
    (void)state;
    enum { S = 5 };
    double m[S * S];
    uint64_t rng = 3;
    for (int i = 0; i < S * S; i++) m[i] = test_rand_uniform(&rng) - 0.5;
    unsigned char dead_a[S] = {0, 1, 0, 0, 0}, dead_b[S] = {0, 0, 0, 1, 0};
    for (int j = 0; j < S; j++) m[1 * S + j] = 0.0;
    for (int i = 0; i < S; i++) m[i * S + 3] = 0.0;
    cvg_match_result all, live;
    assert_cvg_ok(cvg_match(m, S, S, &all));
    assert_cvg_ok(cvg_match_excluding(m, S, S, dead_a, dead_b, &live));
    assert_int_equal(all.semi[1], 0); /* today's "unit 0, value 0" */
    assert_true(all.semi_value[1] == 0.0);
    assert_int_equal(live.semi[1], -1);
    for (int i = 0; i < S; i++) assert_true(live.semi[i] != 3 && live.match[i] != 3);
    char *dir = test_tmpdir("match_dead");
    char *path = test_path(dir, "m.json");
    cvg_match_info info = {.layer = "conv1", .metric = "corr", .net_a = 0, .net_b = 1};
    assert_cvg_ok(cvg_match_save(path, &live, &info));
    cJSON *j = test_read_json(path);
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "semi_matching_unit"), 1)->valueint, -1);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "semi_matching_value"), 1)));
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "matching_value"), 1)));
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "excluded_units"), 0)->valueint, 1);
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "excluded_units"), 1)->valueint, 1);
    cJSON_Delete(j);
    cvg_match_result back;
    assert_cvg_ok(cvg_match_load(path, &back, NULL));
    assert_int_equal(back.semi[1], -1);
    assert_true(isnan(back.semi_value[1]) && isnan(back.match_value[1]));
    assert_int_equal(back.excluded_rows, 1);
    assert_int_equal(back.excluded_cols, 1);
    assert_true(back.semi_mean == live.semi_mean && back.match_mean == live.match_mean);
    for (int i = 0; i < S; i++) assert_int_equal(back.match[i], live.match[i]);
    cvg_match_result_free(&back);
    /* a -1 the counts do not account for is refused */
    const char *bad = "{\"layer\":\"l\",\"metric\":\"corr\",\"nets\":[1,2],\"units\":2,\"units_b\":2,"
                      "\"excluded_units\":[0,0],\"semi_matching_mean\":0,\"matching_mean\":0,"
                      "\"overlap_ratio\":1,\"semi_matching_unit\":[-1,0],\"semi_matching_value\":[null,0],"
                      "\"matching_unit\":[-1,0],\"matching_value\":[null,0]}";
    test_write_bytes(path, bad, strlen(bad));
    assert_int_equal(cvg_match_load(path, &back, NULL), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "excluded_units"));
    /* the comparison of two measures leaves them out too: equal to the live block's */
    double m2[S * S], la[4 * 4], lb[4 * 4];
    for (int i = 0; i < S * S; i++) m2[i] = m[i] + 0.1 * (test_rand_uniform(&rng) - 0.5);
    for (int i = 0; i < S; i++) m2[1 * S + i] = m2[i * S + 3] = 0.0;
    for (int i = 0, r = 0; i < S; i++) {
        if (dead_a[i]) continue;
        for (int jj = 0, c = 0; jj < S; jj++)
            if (!dead_b[jj]) la[r * 4 + c] = m[i * S + jj], lb[r * 4 + c] = m2[i * S + jj], c++;
        r++;
    }
    int agree, agree_live;
    double rho, rho_live;
    assert_cvg_ok(cvg_compare_semi_matchings_excluding(m, m2, S, S, dead_a, dead_b, 2, &agree, &rho));
    assert_cvg_ok(cvg_compare_semi_matchings(la, lb, 4, 4, 2, &agree_live, &rho_live));
    assert_int_equal(agree, agree_live);
    assert_true(rho == rho_live);
    cvg_match_result_free(&all);
    cvg_match_result_free(&live);
    free(path);
    free(dir);
}

/* Table 1 as the paper's, end to end: three nets with dead units (constant columns). The
 * headline is nets 1-2, beside it the mean over the 3 pairs; dead units are left out (means of
 * the live blocks, by brute force from corr.npy here) and counted; --include-dead gives the
 * means over every unit, as before. The MI comparison counts them too. */
static void brute_means(const double *corr, int64_t D, int S, int a, int b, const unsigned char *dead,
                        double *semi, double *match)
{
    double blk[8 * 8], t[8 * 8];
    int rows[8], cols[8], kr = 0, kc = 0;
    for (int i = 0; i < S; i++) if (!dead || !dead[a * S + i]) rows[kr++] = i;
    for (int j = 0; j < S; j++) if (!dead || !dead[b * S + j]) cols[kc++] = j;
    double ssum = 0;
    for (int i = 0; i < kr; i++) {
        double best = -INFINITY;
        for (int j = 0; j < kc; j++) {
            blk[i * kc + j] = corr[(a * S + rows[i]) * D + b * S + cols[j]];
            best = fmax(best, blk[i * kc + j]);
        }
        ssum += best;
    }
    *semi = ssum / kr;
    int tr = kr, tc = kc;
    if (kr > kc) {
        for (int i = 0; i < kr; i++) for (int j = 0; j < kc; j++) t[j * kr + i] = blk[i * kc + j];
        tr = kc, tc = kr;
    } else memcpy(t, blk, sizeof(double) * kr * kc);
    *match = brute_best(t, tr, tc, 0, 0) / tr;
}

static void test_cli_table1_headline_and_dead_units(void **state)
{
    (void)state;
    enum { K = 3, S = 6, N = 300 };
    char *dir = test_tmpdir("match_dead_cli");
    uint64_t rng = 77;
    double *z = malloc(sizeof(double) * N * S);
    for (int i = 0; i < N * S; i++) z[i] = test_rand_normal(&rng);
    for (int k = 0; k < K; k++) {
        float *x = malloc(sizeof(float) * N * S);
        for (int r = 0; r < N; r++)
            for (int u = 0; u < S; u++)
                x[r * S + u] = (float)(z[r * S + (u + k) % S] + 0.8 * test_rand_normal(&rng));
        if (k == 0) for (int r = 0; r < N; r++) x[r * S + 2] = 0.0f; /* dead */
        if (k == 2) for (int r = 0; r < N; r++) x[r * S + 0] = 1.5f; /* dead */
        char name[64];
        snprintf(name, sizeof name, "net%d.npy", k + 1);
        char *p = test_path(dir, name);
        const int64_t shape[2] = {N, S};
        assert_cvg_ok(cvg_npy_save(p, CVG_F32, 2, shape, x));
        free(p), free(x);
    }
    free(z);
    assert_int_equal(test_system("%s stats -q -o %s/stats --layer fc %s/net1.npy %s/net2.npy %s/net3.npy",
                                 CVG_CLI, dir, dir, dir, dir), 0);
    assert_int_equal(test_system("%s match %s/stats -o %s/m > %s/t.txt", CVG_CLI, dir, dir, dir), 0);
    assert_int_equal(test_system("%s match %s/stats -o %s/all -q --include-dead", CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("grep -q 'Net1 vs Net2' %s/t.txt && grep -q '1,0,1' %s/t.txt", dir, dir), 0);
    char path[2048];
    snprintf(path, sizeof path, "%s/stats/fc/corr.npy", dir);
    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *corr;
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &corr));
    unsigned char dead[K * S] = {0};
    dead[0 * S + 2] = dead[2 * S + 0] = 1;
    for (int excluded = 1; excluded >= 0; excluded--) {
        snprintf(path, sizeof path, "%s/%s/table1.json", dir, excluded ? "m" : "all");
        cJSON *t = test_read_json(path);
        assert_true(cJSON_IsBool(cJSON_GetObjectItem(t, "dead_units_excluded")));
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(t, "dead_units_excluded")), excluded);
        const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(t, "layers"), 0);
        const cJSON *dc = cJSON_GetObjectItem(row, "dead_units");
        assert_int_equal(cJSON_GetArrayItem(dc, 0)->valueint, 1);
        assert_int_equal(cJSON_GetArrayItem(dc, 1)->valueint, 0);
        assert_int_equal(cJSON_GetArrayItem(dc, 2)->valueint, 1);
        assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(row, "headline_nets"), 1)->valueint, 2);
        double semi[3], match[3], sum_s = 0, sum_m = 0;
        const int pa[3] = {0, 0, 1}, pb[3] = {1, 2, 2};
        for (int p = 0; p < 3; p++) {
            brute_means(corr, K * S, S, pa[p], pb[p], excluded ? dead : NULL, &semi[p], &match[p]);
            sum_s += semi[p], sum_m += match[p];
        }
        const cJSON *cs = cJSON_GetObjectItem(row, "semi_matching"), *cm = cJSON_GetObjectItem(row, "matching");
        assert_true(fabs(num(cs, "headline") - semi[0]) < 1e-12);
        assert_true(fabs(num(cm, "headline") - match[0]) < 1e-12);
        assert_true(fabs(num(cs, "mean") - sum_s / 3) < 1e-12);
        assert_true(fabs(num(cm, "mean") - sum_m / 3) < 1e-12);
        cJSON_Delete(t);
        /* the dead unit of net 1: -1 and null when left out, "unit 0, value 0" when included */
        snprintf(path, sizeof path, "%s/%s/fc/match_1_2.json", dir, excluded ? "m" : "all");
        cJSON *m = test_read_json(path);
        const cJSON *su = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "semi_matching_unit"), 2);
        const cJSON *sv = cJSON_GetArrayItem(cJSON_GetObjectItem(m, "semi_matching_value"), 2);
        assert_int_equal(su->valueint, excluded ? -1 : 0);
        assert_true(excluded ? cJSON_IsNull(sv) : sv->valuedouble == 0.0);
        cJSON_Delete(m);
    }
    /* mi: the dead units counted in mi.json */
    assert_int_equal(test_system("%s mi %s/stats -q", CVG_CLI, dir), 0);
    snprintf(path, sizeof path, "%s/stats/fc/mi.json", dir);
    cJSON *mi = test_read_json(path);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(mi, "dead_units_excluded")));
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(mi, "dead_units"), 2)->valueint, 1);
    cJSON_Delete(mi);
    free(corr);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_matrices_against_brute_force),
        cmocka_unit_test(test_more_rows_than_columns),
        cmocka_unit_test(test_cli_against_scipy),
        cmocka_unit_test(test_cli_bad_input),
        cmocka_unit_test(test_compare_semi_matchings),
        cmocka_unit_test(test_save_load_round_trip_and_bad_files),
        cmocka_unit_test(test_match_excluding_against_brute_force),
        cmocka_unit_test(test_dead_units_saved_as_null),
        cmocka_unit_test(test_cli_table1_headline_and_dead_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
