/* Clustering of two networks of different widths (cvg_cluster_widths, docs/clustering.md
 * "Networks of different widths"), on the rectangular fixture of the replica test
 * (tests/fixtures/cluster_paper/later_rect: nets of 140 and 84 units; that the partition is
 * the numpy / scikit-learn replica's is test_cluster_paper.c):
 *   - every node's size_a / size_b and appendix 6.6 metrics recomputed by brute force from
 *     the correlations, with net A's units below S_a;
 *   - listing the nets the other way round (B first) gives the same partition;
 *   - the tree's leaves are at most alpha * (S_a + S_b) units where a split could divide;
 *   - the saved form (units_per_net per net, per-net counts) reads back equal, and a unit of
 *     net B beyond S_b is refused;
 *   - the default k of cvg_cluster_paper_k_widths from its definition;
 *   - bad widths and a non-finite entry of a rectangular block are refused by name. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_planted.h"
#include "test_support.h"

enum { S_A = 140, S_B = 84, N = S_A + S_B };

static double *load_rect_corr(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/cluster_paper/later_rect/corr.npy", CVG_FIXTURE_DIR);
    int nd;
    int64_t shape[CVG_NPY_MAX_DIMS];
    double *corr = NULL;
    assert_cvg_ok(cvg_npy_load(path, &nd, shape, &corr));
    assert_int_equal(nd, 2);
    assert_int_equal(shape[0], N);
    return corr;
}

/* The units of node id (from the order), their net counts and the appendix 6.6 metrics, by
 * brute force over all pairs; compared with what the node says. */
static void check_node(const cvg_clustering *c, int id, const double *corr)
{
    const cvg_cluster_node *nd = cvg_clustering_node(c, id);
    const int64_t *order = cvg_clustering_order(c);
    int64_t na = 0, nb = 0;
    double aa = 0, bb = 0, ab = 0;
    for (int64_t x = nd->offset; x < nd->offset + nd->size; x++) {
        const int64_t p = order[x];
        if (p < S_A) na++;
        else nb++;
        for (int64_t y = nd->offset; y < nd->offset + nd->size; y++) {
            const int64_t q = order[y];
            if (p < S_A && q < S_A) aa += corr[p * N + q];
            else if (p >= S_A && q >= S_A) bb += corr[p * N + q];
            else if (p < S_A) ab += corr[p * N + q];
        }
    }
    assert_int_equal(nd->size_a, na);
    assert_int_equal(nd->size_b, nb);
    const double between = na && nb ? ab / ((double)na * nb) : 0;
    const double wa = na ? aa / ((double)na * na) : 0, wb = nb ? bb / ((double)nb * nb) : 0;
    const double within = na && nb ? (wa + wb) / 2 : na ? wa : wb;
    if (fabs(nd->between - between) > 1e-12 || fabs(nd->within_a - wa) > 1e-12 ||
        fabs(nd->within_b - wb) > 1e-12 || fabs(nd->within - within) > 1e-12)
        fail_msg("node %d: between %.15g within %.15g/%.15g/%.15g, brute force %.15g %.15g/%.15g/%.15g",
                 id, nd->between, nd->within_a, nd->within_b, nd->within, between, wa, wb, within);
}

static void test_tree_and_metrics(void **state)
{
    (void)state;
    double *corr = load_rect_corr();
    cvg_cluster_options o;
    cvg_cluster_options_init(&o);
    o.k = cvg_cluster_paper_k_widths(0, 2, (const int64_t[]){S_A, S_B}, NULL, 0);
    cvg_clustering *c = NULL;
    assert_cvg_ok(cvg_cluster_widths(corr, S_A, S_B, &o, &c));
    assert_int_equal(cvg_clustering_units(c), N);
    assert_int_equal(cvg_clustering_net_units(c, 0), S_A);
    assert_int_equal(cvg_clustering_net_units(c, 1), S_B);
    assert_int_equal(cvg_clustering_net_units(c, 2), 0);
    const double limit = o.alpha * N; /* 5.6 units: 2 alpha S with 2S = S_a + S_b */
    int shared = 0;
    for (int id = 0; id < cvg_clustering_nodes(c); id++) {
        check_node(c, id, corr);
        const cvg_cluster_node *nd = cvg_clustering_node(c, id);
        if (nd->leaf >= 0) {
            shared += nd->size_a > 0 && nd->size_b > 0;
            if ((double)nd->size > limit && nd->size > o.min_split)
                fail_msg("leaf %d of %lld units above the limit %.2f", nd->leaf, (long long)nd->size, limit);
        }
    }
    /* the planted groups hold units of both nets: most leaves are shared */
    assert_true(shared >= cvg_clustering_leaves(c) / 2);

    /* net B first: the same partition of the same units */
    double *swapped = malloc(sizeof(double) * N * N);
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < N; j++) {
            const int64_t si = i < S_B ? S_A + i : i - S_B, sj = j < S_B ? S_A + j : j - S_B;
            swapped[i * N + j] = corr[si * N + sj];
        }
    cvg_clustering *cs = NULL;
    assert_cvg_ok(cvg_cluster_widths(swapped, S_B, S_A, &o, &cs));
    int32_t *back = malloc(sizeof(int32_t) * N);
    const int32_t *ls = cvg_clustering_labels(cs);
    for (int64_t i = 0; i < N; i++) back[i] = ls[i < S_A ? S_B + i : i - S_A];
    const double ari = adjusted_rand(cvg_clustering_labels(c), back, N);
    printf("nets A, B (140 + 84) vs B, A: %d and %d leaves, ARI %.6f\n", cvg_clustering_leaves(c),
           cvg_clustering_leaves(cs), ari);
    /* the top level is one k-means optimum (test_cluster_paper); tied splits of identical rows
     * may go either way below it, as in that test */
    assert_true(ari >= 0.98);
    cvg_clustering_free(cs);
    cvg_clustering_free(c);
    free(back), free(swapped), free(corr);
}

static void test_save_load(void **state)
{
    (void)state;
    double *corr = load_rect_corr();
    cvg_cluster_info info = {.layer = "fc7", .net_a = 0, .net_b = 2};
    cvg_cluster_options_init(&info.options);
    info.options.k = 30;
    snprintf(info.k_rule, sizeof info.k_rule, "given (--k 30)");
    cvg_clustering *c = NULL, *back = NULL;
    assert_cvg_ok(cvg_cluster_widths(corr, S_A, S_B, &info.options, &c));
    char *dir = test_tmpdir("cluster_widths");
    char *path = test_path(dir, "c.json");
    assert_cvg_ok(cvg_clustering_save(path, c, &info));
    cJSON *j = test_read_json(path);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "units_per_net");
    assert_true(cJSON_IsArray(u) && cJSON_GetArraySize(u) == 2);
    assert_int_equal(cJSON_GetArrayItem(u, 0)->valueint, S_A);
    assert_int_equal(cJSON_GetArrayItem(u, 1)->valueint, S_B);
    /* per-net counts: recomputed from the leaves */
    int64_t alone[2] = {0, 0}, in_shared[2] = {0, 0}, shared = 0;
    for (int l = 0; l < cvg_clustering_leaves(c); l++) {
        const cvg_cluster_node *nd = cvg_clustering_node(c, cvg_clustering_leaf_node(c, l));
        if (nd->size_a && nd->size_b) shared++, in_shared[0] += nd->size_a, in_shared[1] += nd->size_b;
        else alone[nd->size_a ? 0 : 1]++;
    }
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "leaves_shared")->valueint, shared);
    const cJSON *per = cJSON_GetObjectItemCaseSensitive(j, "per_net");
    for (int net = 0; net < 2; net++) {
        const cJSON *p = cJSON_GetArrayItem(per, net);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(p, "units")->valueint, net ? S_B : S_A);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(p, "leaves_alone")->valueint, alone[net]);
        assert_int_equal(cJSON_GetObjectItemCaseSensitive(p, "units_in_shared_leaves")->valueint, in_shared[net]);
    }
    cvg_cluster_info got;
    assert_cvg_ok(cvg_clustering_load(path, &back, &got));
    assert_int_equal(got.net_b, 2);
    assert_int_equal(cvg_clustering_net_units(back, 0), S_A);
    assert_int_equal(cvg_clustering_net_units(back, 1), S_B);
    assert_memory_equal(cvg_clustering_labels(c), cvg_clustering_labels(back), N * sizeof(int32_t));
    assert_memory_equal(cvg_clustering_order(c), cvg_clustering_order(back), N * sizeof(int64_t));
    for (int i = 0; i < cvg_clustering_nodes(c); i++)
        assert_memory_equal(cvg_clustering_node(c, i), cvg_clustering_node(back, i), sizeof(cvg_cluster_node));
    cvg_clustering_free(back);

    /* a unit of net B past its 84 units (but below net A's 140): refused, naming the field */
    cJSON *leaf = NULL, *node;
    cJSON_ArrayForEach(node, cJSON_GetObjectItemCaseSensitive(j, "nodes"))
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(node, "units_b")) > 0) leaf = node;
    assert_non_null(leaf);
    cJSON_SetNumberHelper(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(leaf, "units_b"), 0), S_B + 10);
    char *bad = test_path(dir, "bad.json"), *text = cJSON_Print(j);
    test_write_bytes(bad, text, strlen(text));
    free(text);
    assert_int_equal(cvg_clustering_load(bad, &back, NULL), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "units_b"));
    /* units_per_net neither a count nor two */
    cJSON_ReplaceItemInObject(j, "units_per_net", cJSON_CreateIntArray((const int[]){140, 84, 3}, 3));
    text = cJSON_Print(j);
    test_write_bytes(bad, text, strlen(text));
    free(text);
    assert_int_equal(cvg_clustering_load(bad, &back, NULL), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "units_per_net"));
    assert_non_null(strstr(cvg_last_error(), "bad.json"));
    cJSON_Delete(j);
    cvg_clustering_free(c);
    free(corr), free(path), free(bad), free(dir);
}

/* k = round(min(n, 2 S_paper) / u), at least 1, at most n / 2, n = S_a + S_b; equal widths:
 * cvg_cluster_paper_k's k and sentence. */
static void test_paper_k_widths(void **state)
{
    (void)state;
    char rule[256], same[256];
    for (int first = 0; first < 2; first++)
        for (int64_t S = 1; S <= 400; S += 7) {
            const int64_t w[2] = {S, S};
            assert_int_equal(cvg_cluster_paper_k_widths(first, 2, w, rule, sizeof rule),
                             cvg_cluster_paper_k(first, S, 2, same, sizeof same));
            assert_string_equal(rule, same);
        }
    assert_int_equal(cvg_cluster_paper_k_widths(0, 2, (const int64_t[]){140, 84}, rule, sizeof rule), 44); /* 43.75 */
    assert_non_null(strstr(rule, "scaled"));
    assert_non_null(strstr(rule, "140 + 84"));
    assert_int_equal(cvg_cluster_paper_k_widths(1, 2, (const int64_t[]){80, 120}, rule, sizeof rule), 40);
    assert_non_null(strstr(rule, "paper"));
    assert_int_equal(cvg_cluster_paper_k_widths(0, 2, (const int64_t[]){300, 100}, NULL, 0), 78);  /* 400 / 5.12 */
    assert_int_equal(cvg_cluster_paper_k_widths(0, 2, (const int64_t[]){600, 100}, NULL, 0), 100); /* n > 512 */
    assert_int_equal(cvg_cluster_paper_k_widths(1, 2, (const int64_t[]){4, 7}, NULL, 0), 2);       /* 2.29 */
    assert_int_equal(cvg_cluster_paper_k_widths(0, 2, (const int64_t[]){1, 2}, NULL, 0), 1);       /* at least 1 */
    assert_int_equal(cvg_cluster_paper_k_widths(0, 3, (const int64_t[]){256, 300, 512}, NULL, 0), 150); /* 3 x 256 / 5.12 */
}

static void test_bad_input(void **state)
{
    (void)state;
    double corr[5 * 5];
    for (int i = 0; i < 25; i++) corr[i] = i % 6 == 0 ? 1.0 : 0.5;
    cvg_clustering *c = NULL;
    assert_int_equal(cvg_cluster_widths(corr, 5, 0, NULL, &c), CVG_ERR_EMPTY);
    assert_non_null(strstr(cvg_last_error(), "net B"));
    assert_int_equal(cvg_cluster_widths(corr, 0, 5, NULL, &c), CVG_ERR_EMPTY);
    assert_non_null(strstr(cvg_last_error(), "net A"));
    assert_null(c);
    corr[1 * 5 + 4] = NAN; /* in the 2 x 3 between-net block of nets of 2 and 3 units */
    assert_int_equal(cvg_cluster_widths(corr, 2, 3, NULL, &c), CVG_ERR_NONFINITE);
    assert_non_null(strstr(cvg_last_error(), "corr[1][4]"));
    corr[1 * 5 + 4] = 0.5;
    assert_cvg_ok(cvg_cluster_widths(corr, 2, 3, NULL, &c));
    assert_int_equal(cvg_clustering_units(c), 5);
    cvg_clustering_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_and_metrics),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_paper_k_widths),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
