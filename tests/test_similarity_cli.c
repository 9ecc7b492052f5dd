/* convergent similarity end to end: the JSON and .npy outputs against the numpy references,
 * --help, bad arguments, stats --cross-layer with heatmaps (read back with cairo). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cjson/cJSON.h>

#include "test_support.h"
#include "plot/plot.h"

static uint32_t png_pixel(cairo_surface_t *s, int x, int y)
{
    const unsigned char *d = cairo_image_surface_get_data(s);
    return *(const uint32_t *)(const void *)(d + y * cairo_image_surface_get_stride(s) + 4 * x) & 0xffffff;
}

static void test_layer(void **state)
{
    (void)state;
    char *dir = test_tmpdir("sim_cli");
    const char *F = CVG_FIXTURE_DIR;
    assert_int_equal(test_system("'%s' stats -q -o '%s/stats' --layer fc --kernel dsyrk "
                                 "'%s/stats/fc_k2/net1.npy' '%s/stats/fc_k2/net2.npy'",
                                 CVG_CLI, dir, F, F, F), 0);
    assert_int_equal(test_system("'%s' similarity '%s/stats' -o '%s/out' --ridge 0 "
                                 "--lasso-path 8 > '%s/table.txt'", CVG_CLI, dir, dir, dir), 0);
    char path[2048];
    snprintf(path, sizeof path, "%s/out/fc/similarity_1_2.json", dir);
    cJSON *got = test_read_json(path);
    snprintf(path, sizeof path, "%s/similarity/fc_k2/ref.json", F);
    cJSON *ref = test_read_json(path);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(ref, "1,2");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(got, "measures");
    for (int k = 0; k < CVG_SIM_MEASURES; k++) {
        const char *name = cvg_measure_name((cvg_measure)k);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, name), *w = cJSON_GetObjectItemCaseSensitive(r, name);
        assert_true(cJSON_IsNumber(v));
        if (!(fabs(v->valuedouble - w->valuedouble) <= 1e-7 * fmax(1, fabs(w->valuedouble))))
            fail_msg("%s: %.10g vs reference %.10g", name, v->valuedouble, w->valuedouble);
    }
    const cJSON *lasso = cJSON_GetObjectItemCaseSensitive(got, "lasso");
    assert_int_equal(cJSON_GetArraySize(lasso), 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(lasso, 0), "mean_r2")), 8);
    cJSON_Delete(got);
    cJSON_Delete(ref);

    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *d;
    snprintf(path, sizeof path, "%s/out/fc/lasso_2_from_1_r2.npy", dir);
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &d));
    assert_int_equal(nd, 2);
    assert_int_equal(sh[0], 8);
    assert_int_equal(sh[1], 24);
    free(d);
    snprintf(path, sizeof path, "%s/out/fc/cca_1_2.npy", dir);
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &d));
    assert_int_equal(sh[0], 23); /* one dead unit in net 1 */
    free(d);
    snprintf(path, sizeof path, "%s/out/similarity.json", dir);
    cJSON_Delete(test_read_json(path));
    assert_int_equal(test_system("grep -q 'CKA' '%s/table.txt'", dir), 0);

    /* usage errors (2) and failures naming the file (1) */
    assert_int_equal(test_system("'%s' similarity --help | grep -q 'default: 1e-06'", CVG_CLI), 0);
    assert_int_equal(test_system("'%s' similarity '%s/stats' 2>/dev/null", CVG_CLI, dir), 2);
    assert_int_equal(test_system("'%s' similarity '%s/stats' -o x --ridge -1 2>/dev/null", CVG_CLI, dir), 2);
    assert_int_equal(test_system("'%s' similarity '%s/stats' -o x --pair 1 2>/dev/null", CVG_CLI, dir), 2);
    assert_int_equal(test_system("'%s' similarity '%s/stats' -o '%s/o2' --pair 1,3 2>/dev/null", CVG_CLI, dir, dir), 1);
    assert_int_equal(test_system("'%s' similarity '%s/nope' -o '%s/o2' 2>'%s/err.txt'", CVG_CLI, dir, dir, dir), 1);
    assert_int_equal(test_system("grep -q 'nope' '%s/err.txt'", dir), 0);
    free(dir);
}

static void test_cross(void **state)
{
    (void)state;
    char *dir = test_tmpdir("sim_cli_cross");
    const char *F = CVG_FIXTURE_DIR;
    char files[4096] = "";
    for (int k = 1; k <= 2; k++)
        for (int l = 0; l < 3; l++) {
            const char *names[3] = {"conv1", "conv2", "fc3"};
            char one[512];
            snprintf(one, sizeof one, " '%s/similarity/cross/net%d_%s.npy'", F, k, names[l]);
            strcat(files, one);
        }
    assert_int_equal(test_system("'%s' stats -q --cross-layer --layers conv1,conv2,fc3 -o '%s/stats'%s",
                                 CVG_CLI, dir, files), 0);
    assert_int_equal(test_system("'%s' stats -q --cross-layer --layers conv1,conv2,fc3,fc4 -o '%s/bad'%s 2>/dev/null",
                                 CVG_CLI, dir, files), 2);
    /* under ASan: fontconfig (cairo's fonts) keeps a cache until exit, which LSan reports */
    assert_int_equal(test_system("LSAN_OPTIONS=suppressions='%s/../support/lsan.supp' "
                                 "'%s' similarity -q '%s/stats' -o '%s/out'", F, CVG_CLI, dir, dir), 0);
    char path[2048];
    snprintf(path, sizeof path, "%s/out/cross/cka_1_2.npy", dir);
    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *d;
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &d));
    assert_int_equal(sh[0], 3);
    assert_int_equal(sh[1], 3);
    snprintf(path, sizeof path, "%s/similarity/cross/ref.json", F);
    cJSON *ref = test_read_json(path);
    const cJSON *mat = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ref, "1,2"), "cka");
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            assert_true(fabs(d[i * 3 + j] - cJSON_GetArrayItem(cJSON_GetArrayItem(mat, i), j)->valuedouble) < 1e-5);
    cJSON_Delete(ref);
    /* a PNG for every measure that cairo reads back: three 90-pixel cells a side plus the
     * margins, mostly coloured; the CKA cells in their viridis colours (scale 0 to 1) */
    for (int k = 0; k < CVG_SIM_MEASURES; k++) {
        snprintf(path, sizeof path, "%s/out/cross/%s_1_2.png", dir, cvg_measure_name((cvg_measure)k));
        cairo_surface_t *s = cairo_image_surface_create_from_png(path);
        if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) fail_msg("%s: not a readable PNG", path);
        const int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
        if (w < 3 * 90 + 130 || w > 1000 || h < 64 + 3 * 90 + 40 || h > 800)
            fail_msg("%s: unexpected size %d x %d", path, w, h);
        int coloured = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) coloured += png_pixel(s, x, y) != 0xffffff;
        if (coloured < 3 * 3 * 90 * 90) fail_msg("%s: only %d coloured pixels", path, coloured);
        for (int c = 0; c < 9 && k == CVG_SIM_CKA; c++) {
            const plot_rgb col = plot_colormap_value(PLOT_VIRIDIS, d[c]);
            const uint32_t want = ((uint32_t)lround(col.r * 255) << 16) |
                                  ((uint32_t)lround(col.g * 255) << 8) | (uint32_t)lround(col.b * 255);
            int n = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) n += png_pixel(s, x, y) == want;
            if (n < 90 * 90 / 2) fail_msg("%s: cell %d (%.3f) has %d pixels of %06x", path, c, d[c], n, want);
        }
        cairo_surface_destroy(s);
    }
    free(d);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layer),
        cmocka_unit_test(test_cross),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
