/* The report end to end: a results directory made by the CLI (stats, mi, match on the
 * fixtures), `convergent report`, every <img> of the page an existing PNG that cairo reads, and
 * the page in headless Chromium (the page with the patch figures, the larger one): no console
 * errors, every image loaded, a screenshot that is not blank. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "test_support.h"

static int non_white_fraction_percent(const char *png)
{
    cairo_surface_t *s = cairo_image_surface_create_from_png(png);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) fail_msg("%s: not a PNG", png);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    long dark = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t p = *(const uint32_t *)(const void *)(d + y * stride + 4 * x) & 0xffffff;
            dark += p != 0xffffff;
        }
    cairo_surface_destroy(s);
    assert_true(w > 100 && h > 100);
    return (int)(100 * dark / ((long)w * h));
}

/* Every image the page shows exists, is a PNG and is not blank; returns how many there are. */
static int check_page_images(const char *dir, const char *html)
{
    int images = 0;
    char path[2048];
    for (const char *p = html; (p = strstr(p, "<img src=\"")); images++) {
        p += strlen("<img src=\"");
        const char *end = strchr(p, '"');
        snprintf(path, sizeof path, "%s/%.*s", dir, (int)(end - p), p);
        assert_true(non_white_fraction_percent(path) > 2);
    }
    return images;
}

static void test_report_from_cli_results(void **state)
{
    (void)state;
    char *dir = test_tmpdir("report");
    char fix[1024];
    snprintf(fix, sizeof fix, "%s/stats", CVG_FIXTURE_DIR);
    assert_int_equal(test_system("%s stats -q -o %s/stats --layer conv1 --layout nhwc %s/conv_k2_nhwc/net*.npy", CVG_CLI, dir, fix), 0);
    assert_int_equal(test_system("%s stats -q -o %s/stats --layer fc6 %s/fc_k2/net*.npy", CVG_CLI, dir, fix), 0);
    assert_int_equal(test_system("%s mi -q %s/stats", CVG_CLI, dir), 0);
    assert_int_equal(test_system("%s match -q %s/stats -o %s/match", CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("%s match -q %s/stats -o %s/match_mi --metric mi", CVG_CLI, dir, dir), 0);
    /* cross-layer statistics and their heatmaps: the report shows them */
    char files[4096] = "";
    for (int k = 1; k <= 2; k++)
        for (int l = 0; l < 3; l++) {
            const char *names[3] = {"conv1", "conv2", "fc3"};
            char one[512];
            snprintf(one, sizeof one, " '%s/similarity/cross/net%d_%s.npy'", CVG_FIXTURE_DIR, k, names[l]);
            strcat(files, one);
        }
    assert_int_equal(test_system("%s stats -q --cross-layer --layers conv1,conv2,fc3 -o %s/stats%s", CVG_CLI, dir, files), 0);
    assert_int_equal(test_system("LSAN_OPTIONS=suppressions='%s/../support/lsan.supp' %s similarity -q %s/stats "
                                 "--layer cross -o %s/similarity", CVG_FIXTURE_DIR, CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("%s report %s -q", CVG_CLI, dir), 0);

    char path[2048];
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = test_read_text(path);
    const char *must[] = {"Table 1", "AlexNet on ImageNet", "by mutual information", "conv1", "fc6",
                          "Mean activations", "Fig. 1 (fc6; the paper's Fig. 1", "Fig. 3 (conv1; the paper's Fig. 3",
                          "Fig. 7 (fc6; the paper's Fig. 7", "of 8", "match_mi/table1.json",
                          "Dead units (zero variance) are left out", "Cross-layer similarity (cross;",
                          "Nets 1 and 2 in this layer: mean semi-matching correlation",
                          "(dead units left out: 1 of net1, 0 of net2)",
                          "figures/cross_cross_cka_1_2.png",
                          "stats/fc6/corr.npy", "Not drawn here", "meta.json has no"};
    for (size_t i = 0; i < sizeof must / sizeof *must; i++)
        if (!strstr(html, must[i])) fail_msg("report.html lacks '%s'", must[i]);
    /* the paper's Table 1 once, not beside this run's layers; its MI finding once, not per layer */
    const char *once[] = {"0.703", "72.9%", "7 of the 8", "AlexNet on ImageNet"};
    for (size_t i = 0; i < sizeof once / sizeof *once; i++) {
        int count = 0;
        for (const char *p = html; (p = strstr(p, once[i])); p++) count++;
        if (count != 1) fail_msg("report.html has '%s' %d times, not once", once[i], count);
    }
    assert_null(strstr(html, "The paper found 7 of 8"));
    assert_true(check_page_images(dir, html) >= 8);
    assert_int_equal(test_system("ls %s %s/figures | grep -c '[.]tmp[.]'", dir, dir), 1);
    assert_null(strstr(html, "fig2_"));
    free(html);

    /* a results directory without statistics is refused */
    assert_int_equal(test_system("%s report %s/match 2>/dev/null", CVG_CLI, dir), 1);
    free(dir);
}

/* Networks measured on images (random tiny nets on synthetic images, as `convergent stats
 * --nets` does it): the patch figures of every layer (Fig. 2, 4, and 5 / 12 where clusters hold
 * units of both nets), conv1's filters from the checkpoints, and notes where the checkpoints
 * or the images are gone. */
static void test_report_patch_figures(void **state)
{
    (void)state;
    char *dir = test_tmpdir("report_patches_e2e");
    char path[2048];
    assert_int_equal(test_system("mkdir -p %s/data %s/nets", dir, dir), 0);
    cvg_dataset ds;
    test_synthetic_images(&ds, 60, 11);
    snprintf(path, sizeof path, "%s/data", dir);
    test_write_idx(path, "t10k", &ds);
    cvg_dataset_free(&ds);
    for (int k = 0; k < 2; k++) {
        cvg_net *net;
        assert_cvg_ok(cvg_net_create("tiny", 1, 28, 28, (uint64_t)(k + 1), &net));
        snprintf(path, sizeof path, "%s/nets/net%d.safetensors", dir, k + 1);
        assert_cvg_ok(cvg_net_save(net, path));
        cvg_net_free(net);
    }
    assert_int_equal(test_system("%s stats -q -o %s/stats --nets %s/nets/net1.safetensors %s/nets/net2.safetensors "
                                 "--data %s/data --split test", CVG_CLI, dir, dir, dir, dir), 0);
    assert_int_equal(test_system("%s mi -q %s/stats", CVG_CLI, dir), 0);
    assert_int_equal(test_system("%s cluster %s/stats -o %s/cluster --pair 1,2 -q", CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("%s report %s -q", CVG_CLI, dir), 0);

    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = test_read_text(path);
    const char *layers[] = {"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"};
    for (size_t l = 0; l < sizeof layers / sizeof *layers; l++)
        for (int f = 2; f <= 4; f += 2) {
            char ref[128];
            snprintf(ref, sizeof ref, "<img src=\"figures/fig%d_%s.png\"", f, layers[l]);
            if (!strstr(html, ref)) fail_msg("report.html lacks %s", ref);
        }
    const char *must[] = {"Fig. 2 (conv1; the paper's Fig. 2", "Fig. 4 (fc8; the paper's Fig. 4", "its filter (black negative", "enlarged"};
    for (size_t i = 0; i < sizeof must / sizeof *must; i++)
        if (!strstr(html, must[i])) fail_msg("report.html lacks '%s'", must[i]);
    assert_null(strstr(html, "Not drawn here"));
    /* clusters holding units of both nets get their patch figure */
    int clusters = 0;
    for (const char *p = html; (p = strstr(p, "<img src=\"figures/fig5_")); p++) clusters++;
    assert_true(clusters >= 1);
    assert_true(check_page_images(dir, html) >= 8 * 5 + clusters);
    free(html);
    /* in a browser: no console errors, every image loaded, a screenshot that is not blank */
    int rc = test_system("sh %s/../report_browser_check.sh %s/report.html", CVG_FIXTURE_DIR, dir);
    if (rc == 77) {
        print_message("chromium not installed: browser check skipped\n");
    } else {
        assert_int_equal(rc, 0);
        snprintf(path, sizeof path, "%s/.screenshot.png", dir);
        assert_true(non_white_fraction_percent(path) > 3);
    }

    /* without checkpoints: the same figures, conv1's without filters, and a note saying so */
    assert_int_equal(test_system("rm -r %s/nets && %s report %s -q", dir, CVG_CLI, dir), 0);
    snprintf(path, sizeof path, "%s/report.html", dir);
    html = test_read_text(path);
    assert_non_null(strstr(html, "filters left out: no checkpoints"));
    assert_non_null(strstr(html, "Fig. 2 (conv1; the paper's Fig. 2"));
    free(html);

    /* without the images: no patch figures, the reason per layer, everything else drawn */
    assert_int_equal(test_system("rm -r %s/data %s/figures && %s report %s -q", dir, dir, CVG_CLI, dir), 0);
    html = test_read_text(path);
    assert_non_null(strstr(html, "could not be read"));
    assert_non_null(strstr(html, "Not drawn here"));
    assert_null(strstr(html, "fig2_"));
    assert_null(strstr(html, "fig5_"));
    assert_non_null(strstr(html, "fig13_conv1.png"));
    assert_true(check_page_images(dir, html) >= 8 * 3);
    free(html);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_from_cli_results),
        cmocka_unit_test(test_report_patch_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
