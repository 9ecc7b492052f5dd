/* Figures: a PNG written atomically, read back with cairo; heatmap cells have the colour map's
 * colour at their centres, lines and text change pixels, the colour maps' ends are right. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "test_support.h"
#include "plot/plot.h"

static uint32_t pixel(cairo_surface_t *s, int x, int y)
{
    const unsigned char *d = cairo_image_surface_get_data(s);
    return *(const uint32_t *)(const void *)(d + y * cairo_image_surface_get_stride(s) + 4 * x) & 0xffffff;
}

static uint32_t packed(plot_rgb c)
{
    return ((uint32_t)lround(c.r * 255) << 16) | ((uint32_t)lround(c.g * 255) << 8) | (uint32_t)lround(c.b * 255);
}

static void test_heatmap_png(void **state)
{
    (void)state;
    char *dir = test_tmpdir("plot");
    char *path = test_path(dir, "heat.png");
    plot_canvas *c = plot_open(400, 300);
    assert_non_null(c);
    const double m[2 * 3] = {-1, 0, 1, 0.5, -0.5, 0.25};
    plot_panel p = {60, 40, 240, 160, 0, 3, 0, 2};
    plot_heatmap(c, &p, m, 2, 3, -1, 1, PLOT_DIVERGING);
    plot_colorbar(c, 320, 40, 16, 160, -1, 1, PLOT_DIVERGING, "correlation");
    plot_text(c, 200, 25, 14, 0.5, 1, "title");
    assert_cvg_ok(plot_save_png(c, path));
    plot_close(c);
    assert_int_equal(test_system("ls %s | grep -c tmp", dir), 1); /* no temporary left */
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    assert_int_equal(cairo_image_surface_get_width(s), 400);
    assert_int_equal(cairo_image_surface_get_height(s), 300);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            int x = 60 + 40 + 80 * j, y = 40 + 40 + 80 * i;
            uint32_t want = packed(plot_colormap_value(PLOT_DIVERGING, (m[i * 3 + j] + 1) / 2));
            if (pixel(s, x, y) != want) fail_msg("cell (%d,%d): %06x != %06x", i, j, pixel(s, x, y), want);
        }
    /* the title darkened some pixels of the white margin */
    int dark = 0;
    for (int x = 150; x < 250; x++)
        for (int y = 10; y < 30; y++) dark += (pixel(s, x, y) & 0xff) < 128;
    assert_true(dark > 20);
    cairo_surface_destroy(s);
    assert_int_equal(plot_save_png(plot_open(10, 10), "/nonexistent/x.png"), CVG_ERR_IO);
    free(path);
    free(dir);
}

static void test_colormap_ends(void **state)
{
    (void)state;
    assert_int_equal(packed(plot_colormap_value(PLOT_GRAY, 0)), 0x000000);
    assert_int_equal(packed(plot_colormap_value(PLOT_GRAY, 1)), 0xffffff);
    assert_int_equal(packed(plot_colormap_value(PLOT_GRAY, NAN)), 0x000000);
    assert_int_equal(packed(plot_colormap_value(PLOT_DIVERGING, 0.5)), 0xffffff);
    plot_rgb lo = plot_colormap_value(PLOT_VIRIDIS, 0), hi = plot_colormap_value(PLOT_VIRIDIS, 1);
    assert_true(lo.r + lo.g + lo.b < hi.r + hi.g + hi.b);
}

static void test_lines_and_axes(void **state)
{
    (void)state;
    char *dir = test_tmpdir("plot_lines");
    char *path = test_path(dir, "lines.png");
    plot_canvas *c = plot_open(500, 300);
    plot_panel p = {70, 30, 380, 200, 0, 10, 0, 1};
    double xs[11], ys[11];
    for (int i = 0; i <= 10; i++) xs[i] = i, ys[i] = i / 10.0;
    plot_axes(c, &p, "unit rank", "correlation", 5);
    plot_line(c, &p, xs, ys, 11, plot_series_color(0), 2);
    const char *labels[1] = {"semi-matching"};
    plot_rgb colors[1] = {plot_series_color(0)};
    plot_legend(c, 90, 40, labels, colors, 1);
    assert_cvg_ok(plot_save_png(c, path));
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    /* the diagonal line passes through the panel's centre (x=5, y=0.5) */
    uint32_t mid = pixel(s, 70 + 190, 30 + 100);
    assert_true(mid != 0xffffff);
    cairo_surface_destroy(s);
    plot_close(c);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heatmap_png),
        cmocka_unit_test(test_colormap_ends),
        cmocka_unit_test(test_lines_and_axes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
