/* Figures: a PNG written atomically, read back with cairo; heatmap cells have the colour map's
 * colour at their centres, lines and text change pixels, the colour maps' ends are right;
 * categorical axes put names beside their bands; the labelled heatmap (cvg_heatmap_png); the
 * line plot of several series (cvg_lines_png). */
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
    plot_canvas *small = plot_open(10, 10);
    assert_int_equal(plot_save_png(small, "/nonexistent/x.png"), CVG_ERR_IO);
    plot_close(small);
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

/* Pixels of s in [x0, x1) x [y0, y1) that differ from white. */
static int ink(cairo_surface_t *s, int x0, int y0, int x1, int y1)
{
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) n += pixel(s, x, y) != 0xffffff;
    return n;
}

static cairo_surface_t *saved(plot_canvas *c, const char *dir, const char *name)
{
    char *path = test_path(dir, name);
    assert_cvg_ok(plot_save_png(c, path));
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    free(path);
    return s;
}

/* Categorical axes: labels land beside their bands (left of each row, below each column, turned
 * when too wide), nothing lands where there are no labels, bad arguments are refused. */
static void test_category_axes(void **state)
{
    (void)state;
    char *dir = test_tmpdir("plot_category");
    const char *rows[3] = {"conv1", "conv2", "fc3"};
    const char *cols[2] = {"a", "b"};
    plot_panel p = {100, 40, 200, 150, 0, 2, 0, 3};

    plot_canvas *c = plot_open(400, 300);
    double depth = -1;
    assert_cvg_ok(plot_category_axes(c, &p, cols, 2, rows, 3, 13, PLOT_LABELS_AUTO, &depth));
    assert_true(depth > 8 && depth < 30); /* short names: one horizontal line of text */
    cairo_surface_t *s = saved(c, dir, "short.png");
    for (int i = 0; i < 3; i++) /* each row name left of its row, none inside the panel */
        if (ink(s, 40, 40 + 50 * i + 15, 92, 40 + 50 * i + 35) < 15) fail_msg("no label at row %d", i);
    assert_int_equal(ink(s, 102, 42, 298, 188), 0);
    for (int j = 0; j < 2; j++)
        if (ink(s, 100 + 100 * j + 40, 195, 100 + 100 * j + 60, 220) < 5) fail_msg("no label at column %d", j);
    assert_int_equal(ink(s, 0, 0, 400, 35), 0); /* nothing above the panel */
    cairo_surface_destroy(s);
    plot_close(c);

    /* long column names on narrow columns are turned: they reach far below the panel */
    const char *longer[2] = {"a rather long layer name", "another long name"};
    assert_true(plot_labels_rotated(longer, 2, 13, 100, PLOT_LABELS_AUTO));
    assert_false(plot_labels_rotated(cols, 2, 13, 100, PLOT_LABELS_AUTO));
    assert_true(plot_labels_rotated(cols, 2, 13, 100, PLOT_LABELS_VERTICAL));
    assert_true(plot_labels_width(longer, 2, 13) > plot_labels_width(cols, 2, 13));
    assert_true(fabs(plot_labels_width(longer, 2, 13) - plot_text_width(NULL, 13, 0, longer[0])) < 1e-9);
    c = plot_open(400, 400);
    assert_cvg_ok(plot_category_axes(c, &p, longer, 2, NULL, 0, 13, PLOT_LABELS_AUTO, &depth));
    assert_true(fabs(depth - (8 + plot_labels_width(longer, 2, 13))) < 1e-9);
    s = saved(c, dir, "turned.png");
    assert_true(ink(s, 140, 300, 160, 360) > 10);  /* column 0's name, low down */
    assert_int_equal(ink(s, 0, 0, 95, 400), 0);     /* no row labels asked for */
    cairo_surface_destroy(s);

    /* bad arguments */
    const char *with_null[2] = {"a", NULL};
    plot_panel flat = p;
    flat.h = 0;
    assert_int_equal(plot_category_axes(NULL, &p, cols, 2, rows, 3, 13, 0, NULL), CVG_ERR_ARG);
    assert_int_equal(plot_category_axes(c, NULL, cols, 2, rows, 3, 13, 0, NULL), CVG_ERR_ARG);
    assert_int_equal(plot_category_axes(c, &flat, cols, 2, rows, 3, 13, 0, NULL), CVG_ERR_ARG);
    assert_int_equal(plot_category_axes(c, &p, cols, -1, rows, 3, 13, 0, NULL), CVG_ERR_ARG);
    assert_int_equal(plot_category_axes(c, &p, NULL, 2, rows, 3, 13, 0, NULL), CVG_ERR_ARG);
    assert_int_equal(plot_category_axes(c, &p, with_null, 2, rows, 3, 13, 0, NULL), CVG_ERR_ARG);
    assert_non_null(strstr(cvg_last_error(), "NULL"));
    assert_int_equal(plot_category_axes(c, &p, cols, 2, rows, 3, 0, 0, NULL), CVG_ERR_ARG);
    assert_int_equal(plot_category_axes(c, &p, cols, 2, rows, 3, NAN, 0, NULL), CVG_ERR_ARG);
    plot_close(c);
    free(dir);
}

/* Annotated cells: undefined ones hatched grey, values written in a colour that reads. */
static void test_heatmap_annotate(void **state)
{
    (void)state;
    char *dir = test_tmpdir("plot_annotate");
    plot_canvas *c = plot_open(300, 200);
    const double m[2] = {0, 1};
    const unsigned char ok[2] = {1, 0};
    plot_panel p = {50, 50, 200, 100, 0, 2, 0, 1};
    plot_heatmap(c, &p, m, 1, 2, 0, 1, PLOT_GRAY);
    plot_heatmap_annotate(c, &p, m, ok, 1, 2, 0, 1, PLOT_GRAY, 13);
    cairo_surface_t *s = saved(c, dir, "annotated.png");
    /* cell 0 is black (value 0): white text on it; cell 1 is grey with darker hatching */
    int white = 0, hatch = 0, fill = 0;
    for (int y = 55; y < 145; y++)
        for (int x = 55; x < 145; x++) white += pixel(s, x, y) == 0xffffff;
    for (int y = 55; y < 145; y++)
        for (int x = 155; x < 245; x++) {
            uint32_t v = pixel(s, x, y) & 0xff;
            fill += v == 217; /* 0.85 grey */
            hatch += v < 200;
        }
    assert_true(white > 10);
    assert_true(fill > 3000);
    assert_true(hatch > 300);
    cairo_surface_destroy(s);
    plot_close(c);
    free(dir);
}

/* The public labelled heatmap: a readable PNG of the laid-out size, every cell in its colour,
 * bad arguments refused. */
static void test_heatmap_figure(void **state)
{
    (void)state;
    char *dir = test_tmpdir("plot_figure");
    char *path = test_path(dir, "fig.png");
    const char *names[4] = {"conv1", "conv2", "fc3", "a_long_layer_name_4"};
    double v[16];
    unsigned char ok[16];
    for (int i = 0; i < 16; i++) v[i] = i / 15.0, ok[i] = i != 5;
    cvg_heatmap h = {"title", "rows", "columns", names, names, 4, 4, v, ok, 0, 1, "value"};
    assert_cvg_ok(cvg_heatmap_png(path, &h));
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    const int w = cairo_image_surface_get_width(s), ht = cairo_image_surface_get_height(s);
    assert_true(w >= 4 * 90 + 130 && w < 900);
    assert_true(ht >= 64 + 4 * 90 + 8 + plot_labels_width(names, 4, 13)); /* turned names fit */
    /* every defined cell's colour covers most of a cell somewhere in the image */
    for (int i = 0; i < 16; i++) {
        if (!ok[i]) continue;
        uint32_t want = packed(plot_colormap_value(PLOT_VIRIDIS, v[i]));
        int n = 0;
        for (int y = 0; y < ht; y++)
            for (int x = 0; x < w; x++) n += pixel(s, x, y) == want;
        if (n < 90 * 90 / 2) fail_msg("cell %d: %d pixels of %06x", i, n, want);
    }
    cairo_surface_destroy(s);

    cvg_heatmap bad = h;
    bad.rows = 0;
    assert_int_equal(cvg_heatmap_png(path, &bad), CVG_ERR_ARG);
    bad = h, bad.values = NULL;
    assert_int_equal(cvg_heatmap_png(path, &bad), CVG_ERR_ARG);
    bad = h, bad.vmax = INFINITY;
    assert_int_equal(cvg_heatmap_png(path, &bad), CVG_ERR_ARG);
    const char *holes[4] = {"a", "b", NULL, "d"};
    bad = h, bad.col_names = holes;
    assert_int_equal(cvg_heatmap_png(path, &bad), CVG_ERR_ARG);
    assert_non_null(strstr(cvg_last_error(), "column 2"));
    assert_int_equal(cvg_heatmap_png(NULL, &h), CVG_ERR_ARG);
    assert_int_equal(cvg_heatmap_png("/nonexistent/dir/x.png", &h), CVG_ERR_IO);
    free(path);
    free(dir);
}

/* Pixels of s within a small distance of colour c: their count and, for the collinearity check,
 * the least-squares line y = a + b x through them and the largest distance from it (pixels). */
static int near_colour(cairo_surface_t *s, plot_rgb c, double *worst)
{
    const int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    const uint32_t want = packed(c);
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        double b = 0, a = 0;
        if (pass == 1) {
            if (n < 2) break;
            b = (n * sxy - sx * sy) / (n * sxx - sx * sx), a = (sy - b * sx) / n;
            *worst = 0;
        }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint32_t v = pixel(s, x, y);
                int d = abs((int)(v >> 16) - (int)(want >> 16)) + abs((int)((v >> 8) & 0xff) - (int)((want >> 8) & 0xff)) +
                        abs((int)(v & 0xff) - (int)(want & 0xff));
                if (d > 30) continue;
                if (pass == 0) sx += x, sy += y, sxx += (double)x * x, sxy += (double)x * y, n++;
                else *worst = fmax(*worst, fabs(y - a - b * x) / sqrt(1 + b * b));
            }
    }
    return n;
}

static cairo_surface_t *lines_image(const char *dir, const char *name, const cvg_lines *l)
{
    char *path = test_path(dir, name);
    assert_cvg_ok(cvg_lines_png(path, l));
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    free(path);
    return s;
}

/* The public line plot: y = x^3 is a straight line on log-log axes and a curve on linear ones;
 * a dashed line inks fewer pixels than a solid one; the legend and labels ink their places;
 * the size asked for; bad arguments refused. */
static void test_lines_figure(void **state)
{
    (void)state;
    char *dir = test_tmpdir("plot_lines_figure");
    double xs[7], ys[7], ticks[7];
    for (int i = 0; i < 7; i++) xs[i] = pow(2, i + 1), ys[i] = pow(xs[i], 3), ticks[i] = xs[i];
    cvg_series one = {NULL, xs, ys, 7, 0, 0};
    cvg_lines l = {"power law", "units per net", "seconds", 1, 1, &one, 1, ticks, 7, 0, 0};
    cairo_surface_t *s = lines_image(dir, "loglog.png", &l);
    assert_int_equal(cairo_image_surface_get_width(s), 760);
    assert_int_equal(cairo_image_surface_get_height(s), 500);
    double worst = -1;
    int solid = near_colour(s, plot_series_color(0), &worst);
    assert_true(solid > 400);
    if (worst > 4) fail_msg("log-log line of y = x^3 strays %.1f px from straight", worst);
    assert_true(ink(s, 300, 5, 460, 40) > 30);   /* the title */
    assert_true(ink(s, 0, 150, 40, 350) > 30);   /* the y axis title */
    cairo_surface_destroy(s);

    l.log_x = l.log_y = 0;
    l.x_ticks = NULL, l.n_x_ticks = 0;
    s = lines_image(dir, "linear.png", &l);
    near_colour(s, plot_series_color(0), &worst);
    if (worst < 20) fail_msg("linear axes: y = x^3 is only %.1f px from straight", worst);
    cairo_surface_destroy(s);

    /* dashed, another colour, a legend right of the panel; a custom size */
    l.log_x = l.log_y = 1;
    cvg_series two[2] = {{"ours", xs, ys, 7, 2, 0}, {"peer (dashed)", xs, ys, 7, 3, 1}};
    l.series = two, l.n_series = 2, l.width = 600, l.height = 400;
    s = lines_image(dir, "two.png", &l);
    assert_int_equal(cairo_image_surface_get_width(s), 600);
    assert_int_equal(cairo_image_surface_get_height(s), 400);
    cairo_surface_destroy(s);
    two[0].dashed = 1, two[1].dashed = 0; /* now the second series is drawn solid, on top */
    cvg_series only_solid = two[1], only_dashed = two[0];
    only_dashed.color = only_solid.color = 3;
    only_dashed.name = only_solid.name = NULL;
    l.series = &only_solid, l.n_series = 1;
    s = lines_image(dir, "solid.png", &l);
    int n_solid = near_colour(s, plot_series_color(3), &worst);
    cairo_surface_destroy(s);
    l.series = &only_dashed;
    s = lines_image(dir, "dashed.png", &l);
    int n_dashed = near_colour(s, plot_series_color(3), &worst);
    cairo_surface_destroy(s);
    assert_true(n_dashed < n_solid * 0.9 && n_dashed > n_solid / 3);

    /* points <= 0 or NaN are left out on a log axis, the rest still drawn */
    double ybad[7];
    for (int i = 0; i < 7; i++) ybad[i] = i == 3 ? NAN : i == 0 ? -1 : ys[i];
    cvg_series holes = {"with holes", xs, ybad, 7, 1, 0};
    l.series = &holes;
    s = lines_image(dir, "holes.png", &l);
    assert_true(near_colour(s, plot_series_color(1), &worst) > 100);
    cairo_surface_destroy(s);

    /* bad arguments */
    char *path = test_path(dir, "bad.png");
    cvg_lines bad = l;
    assert_int_equal(cvg_lines_png(NULL, &l), CVG_ERR_ARG);
    assert_int_equal(cvg_lines_png(path, NULL), CVG_ERR_ARG);
    bad.n_series = 0;
    assert_int_equal(cvg_lines_png(path, &bad), CVG_ERR_ARG);
    double neg[7] = {-1, -2, 0, -3, -4, -5, -6};
    cvg_series none = {"x", xs, neg, 7, 0, 0};
    bad = l, bad.series = &none;
    assert_int_equal(cvg_lines_png(path, &bad), CVG_ERR_ARG);
    assert_non_null(strstr(cvg_last_error(), "no point"));
    cvg_series no_y = {"x", xs, NULL, 7, 0, 0};
    bad = l, bad.series = &no_y;
    assert_int_equal(cvg_lines_png(path, &bad), CVG_ERR_ARG);
    bad = l, bad.width = 100;
    assert_int_equal(cvg_lines_png(path, &bad), CVG_ERR_ARG);
    bad = l, bad.n_x_ticks = 3, bad.x_ticks = NULL;
    assert_int_equal(cvg_lines_png(path, &bad), CVG_ERR_ARG);
    assert_int_equal(cvg_lines_png("/nonexistent/dir/x.png", &l), CVG_ERR_IO);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heatmap_png),
        cmocka_unit_test(test_colormap_ends),
        cmocka_unit_test(test_lines_and_axes),
        cmocka_unit_test(test_category_axes),
        cmocka_unit_test(test_heatmap_annotate),
        cmocka_unit_test(test_heatmap_figure),
        cmocka_unit_test(test_lines_figure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
