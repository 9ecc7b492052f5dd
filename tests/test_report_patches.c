/* Input patches: cropping an image to a receptive-field box (clipped at the border) against
 * hand-worked answers, and a unit's drawn grid read back pixel by pixel: each image pixel a
 * block of `scale` canvas pixels, cut-off parts of a field pale blue on the side where they
 * were cut, missing entries pale grey, filters with zero weight mid-grey. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "test_support.h"
#include "report/patches.h"

enum { H = 28, W = 28 };

/* A known image: pixel (y, x) = (y * W + x) / 1000, distinct everywhere. */
static float known(int y, int x) { return (float)(y * W + x) / 1000.0f; }

static void test_crop_inside_and_clipped(void **state)
{
    (void)state;
    float img[H * W];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) img[y * W + x] = known(y, x);
    double out[H * W];
    int64_t cl[4];
    /* inside: rows 3..7, columns 10..14 */
    assert_int_equal(patch_crop(img, H, W, (const int64_t[]){3, 10, 7, 14}, out, cl), 1);
    assert_memory_equal(cl, ((const int64_t[]){3, 10, 7, 14}), sizeof cl);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) assert_float_equal(out[i * 5 + j], known(3 + i, 10 + j), 1e-7);
    /* the top-left corner of a 5x5 field centred on (0, 0): only rows 0..2, columns 0..2 */
    assert_int_equal(patch_crop(img, H, W, (const int64_t[]){-2, -2, 2, 2}, out, cl), 1);
    assert_memory_equal(cl, ((const int64_t[]){0, 0, 2, 2}), sizeof cl);
    const float corner[9] = {0.000f, 0.001f, 0.002f, 0.028f, 0.029f, 0.030f, 0.056f, 0.057f, 0.058f};
    for (int i = 0; i < 9; i++) assert_float_equal(out[i], corner[i], 1e-7);
    /* the bottom-right border: rows 26..27 of a field reaching row 30, columns 25..27 */
    assert_int_equal(patch_crop(img, H, W, (const int64_t[]){26, 25, 30, 29}, out, cl), 1);
    assert_memory_equal(cl, ((const int64_t[]){26, 25, 27, 27}), sizeof cl);
    assert_float_equal(out[0], known(26, 25), 1e-7);
    assert_float_equal(out[5], known(27, 27), 1e-7);
    /* larger than the image: the whole image */
    assert_int_equal(patch_crop(img, H, W, (const int64_t[]){-9, -9, 40, 40}, out, cl), 1);
    assert_memory_equal(cl, ((const int64_t[]){0, 0, 27, 27}), sizeof cl);
    for (int i = 0; i < H * W; i++) assert_float_equal(out[i], img[i], 0);
    /* entirely outside */
    assert_int_equal(patch_crop(img, H, W, (const int64_t[]){28, 0, 31, 3}, out, cl), 0);
    assert_int_equal(patch_crop(img, H, W, (const int64_t[]){0, -5, 3, -1}, out, cl), 0);
}

static uint32_t pixel(cairo_surface_t *s, int x, int y)
{
    const unsigned char *d = cairo_image_surface_get_data(s);
    return *(const uint32_t *)(const void *)(d + y * cairo_image_surface_get_stride(s) + 4 * x) & 0xffffff;
}

/* Equal colours, each channel within 1 (cairo rounds fills and images differently). */
static int same(uint32_t a, uint32_t b)
{
    for (int sh = 0; sh < 24; sh += 8)
        if (abs((int)((a >> sh) & 0xff) - (int)((b >> sh) & 0xff)) > 1) return 0;
    return 1;
}

static uint32_t gray(double v)
{
    uint32_t g = (uint32_t)lround(v * 255);
    return g << 16 | g << 8 | g;
}

/* Two images: image 0 black with one white pixel at (1, 1); image 1 black with a white pixel
 * at (10, 12). Unit 0's entries: a 5x5 field cut at the top-left (centre (0, 0)) on image 0,
 * then an inside field centred on (10, 12) on image 1, then nothing. */
static void test_unit_grid_pixels(void **state)
{
    (void)state;
    float images[2 * H * W] = {0};
    images[1 * W + 1] = 1;
    images[H * W + 10 * W + 12] = 1;
    double top[CVG_TOP_K * 7], value[CVG_TOP_K] = {3, 2};
    for (int i = 0; i < CVG_TOP_K * 7; i++) top[i] = -1;
    const double e0[7] = {0, 0, 0, 0, 0, 2, 2}, e1[7] = {1, 10, 12, 8, 10, 12, 14};
    memcpy(top, e0, sizeof e0);
    memcpy(top + 7, e1, sizeof e1);
    patch_layer p = {.images = images, .count = 2, .height = H, .width = W, .top = top, .top_value = value, .D = 1};
    assert_int_equal(patch_layer_measure(&p), 1);
    assert_int_equal(p.field, 5);
    const int scale = p.cell / p.field;
    assert_int_equal(p.cell % p.field, 0);
    assert_true(scale >= 2);
    const int side = patch_grid_side(&p, 3);
    assert_int_equal(side, 3 * p.cell + 2 + 4);

    plot_canvas *c = plot_open(side + 20, side + 20);
    patch_draw_unit(c, 10, 10, &p, 0, 3, (plot_rgb){1, 0, 0});
    char *dir = test_tmpdir("report_patches");
    char *png = test_path(dir, "unit.png");
    assert_cvg_ok(plot_save_png(c, png));
    plot_close(c);
    cairo_surface_t *s = cairo_image_surface_create_from_png(png);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    const uint32_t pale_blue = 0xc7d9f2, pale_grey = gray(0.93), red = 0xff0000;
    /* centre of canvas pixel block for patch pixel (i, j) of cell (r, q) */
#define AT(r, q, i, j) pixel(s, 10 + 2 + (q) * (p.cell + 1) + (j) * scale + scale / 2, \
                            10 + 2 + (r) * (p.cell + 1) + (i) * scale + scale / 2)
    /* cell 0: the clipped 3x3 crop sits at the bottom-right; rows and columns 0..1 are outside */
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) {
            uint32_t want = i < 2 || j < 2 ? pale_blue : (i == 3 && j == 3 ? 0xffffff : 0);
            if (!same(AT(0, 0, i, j), want)) fail_msg("cell 0 (%d,%d): %06x, want %06x", i, j, AT(0, 0, i, j), want);
        }
    /* cell 1: the whole field, the white pixel (10, 12) at field position (2, 2) */
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) assert_int_equal(AT(0, 1, i, j), i == 2 && j == 2 ? 0xffffffu : 0u);
    /* cells 2..8: no entries */
    for (int k = 2; k < 9; k++) assert_true(same(AT(k / 3, k % 3, 2, 2), pale_grey));
    /* the frame */
    assert_int_equal(pixel(s, 11, 11), red);
    assert_int_equal(pixel(s, 10 + side - 1, 10 + side / 2), red);
    assert_int_equal(pixel(s, 5, 5), 0xffffffu);
    cairo_surface_destroy(s);
    free(png), free(dir);
}

/* A 3x3 filter: weight / max |weight| from black (-1) through grey (0) to white (+1). */
static void test_filter_image(void **state)
{
    (void)state;
    const float f[9] = {-2, 0, 2, 1, 0, -1, 0, 0, 0};
    patch_layer p = {.filters = f, .filter_units = 1, .fk = 3};
    plot_canvas *c = plot_open(60, 60);
    patch_draw_filter(c, 0, 0, 30, &p, 0);
    patch_draw_filter(c, 30, 30, 30, &p, 1); /* no such filter: nothing */
    char *dir = test_tmpdir("report_filters");
    char *png = test_path(dir, "f.png");
    assert_cvg_ok(plot_save_png(c, png));
    plot_close(c);
    cairo_surface_t *s = cairo_image_surface_create_from_png(png);
    const double want[9] = {0, 0.5, 1, 0.75, 0.5, 0.25, 0.5, 0.5, 0.5};
    for (int i = 0; i < 9; i++) assert_int_equal(pixel(s, 5 + 10 * (i % 3), 5 + 10 * (i / 3)), gray(want[i]));
    assert_int_equal(pixel(s, 45, 45), 0xffffffu);
    cairo_surface_destroy(s);
    free(png), free(dir);
}

/* An entry naming an image beyond the loaded ones is refused. */
static void test_measure_refuses_bad_index(void **state)
{
    (void)state;
    float images[H * W] = {0};
    double top[CVG_TOP_K * 7], value[CVG_TOP_K] = {0};
    for (int i = 0; i < CVG_TOP_K * 7; i++) top[i] = -1;
    const double e[7] = {1, 0, 0, 0, 0, 27, 27};
    memcpy(top, e, sizeof e);
    patch_layer p = {.images = images, .count = 1, .height = H, .width = W, .top = top, .top_value = value, .D = 1};
    assert_int_equal(patch_layer_measure(&p), 0);
    top[0] = 0;
    assert_int_equal(patch_layer_measure(&p), 1);
    assert_int_equal(p.field, 28);
    assert_int_equal(p.cell, 56);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crop_inside_and_clipped),
        cmocka_unit_test(test_unit_grid_pixels),
        cmocka_unit_test(test_filter_image),
        cmocka_unit_test(test_measure_refuses_bad_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
