/* The report end to end: a results directory made by the CLI (stats, mi, match on the
 * fixtures), `convergent report`, every <img> of the page an existing PNG that cairo reads, and
 * the page in headless Chromium: no console errors, every image loaded, a screenshot that is not
 * blank. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "test_support.h"

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    s[n] = '\0';
    fclose(fp);
    return s;
}

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
    assert_int_equal(test_system("%s report %s -q", CVG_CLI, dir), 0);

    char path[2048];
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = slurp(path);
    const char *must[] = {"Table 1", "paper: semi", "conv1", "fc6", "Mean activations",
                          "Fig. 1 (fc6)", "Fig. 3 (conv1)", "Fig. 7 (fc6)", "7 of 8",
                          "stats/fc6/corr.npy", "Not drawn here"};
    for (size_t i = 0; i < sizeof must / sizeof *must; i++)
        if (!strstr(html, must[i])) fail_msg("report.html lacks '%s'", must[i]);
    /* every image the page shows exists and is a PNG */
    int images = 0;
    for (const char *p = html; (p = strstr(p, "<img src=\"")); images++) {
        p += strlen("<img src=\"");
        const char *end = strchr(p, '"');
        char rel[512];
        snprintf(rel, sizeof rel, "%.*s", (int)(end - p), p);
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        assert_true(non_white_fraction_percent(path) > 2);
    }
    assert_true(images >= 7);
    assert_int_equal(test_system("ls %s %s/figures | grep -c '[.]tmp[.]'", dir, dir), 1);
    free(html);

    /* in a browser */
    int rc = test_system("sh %s/../report_browser_check.sh %s/report.html", CVG_FIXTURE_DIR, dir);
    if (rc == 77) {
        print_message("chromium not installed: browser check skipped\n");
    } else {
        assert_int_equal(rc, 0);
        snprintf(path, sizeof path, "%s/.screenshot.png", dir);
        assert_true(non_white_fraction_percent(path) > 3);
    }
    /* a results directory without statistics is refused */
    assert_int_equal(test_system("%s report %s/match 2>/dev/null", CVG_CLI, dir), 1);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_from_cli_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
