/* The report of layers whose networks have different widths (net1 narrower: fc7, 4 + 7 units;
 * net1 wider: fc8, 9 + 5), beside one of equal widths (fc6, 5 + 5), from `convergent stats`,
 * `mi`, `match` and `cluster` on .npy activations: every figure is drawn, and the drawn data
 * is read back from the PNGs and checked against what the test computes itself from corr.npy,
 * match_1_2.json and its own activations:
 *   - Fig. 1 (d), every cell: the between-net block with net1's matched units first (index
 *     order), each beside its partner; the diagonal of the min(S1, S2) square holds the
 *     matching's values; the unmatched units of the wider net after;
 *   - Fig. 7: net1's unit 0 is a copy of net2's last unit, so the best pair's histogram lies
 *     on the diagonal only (a column taken at the wrong offset would spread it);
 *   - the mean activations: the KS distance of fc7's nets, brute force over thresholds;
 * and the error paths: a mean.npy of the wrong size, a clustering of other widths. The patch
 * figures (Fig. 2, 4, 12) of such a layer, from top-9 entries the test writes (`stats --nets`
 * measures nets of one architecture only), with the filters of checkpoints of 4 and 7 conv1
 * units: drawn, every image of the page a PNG. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cjson/cJSON.h>

#include "plot/plot.h"
#include "test_support.h"

enum { ROWS = 300 };

/* Activations of nets of widths wa and wb (ROWS x w each, ReLU of 3 shared factors plus
 * noise); net1's unit 0 is net2's last unit, exactly. means: wa + wb column means. */
static void write_layer(const char *dir, const char *layer, int64_t wa, int64_t wb, uint64_t seed, double *means)
{
    uint64_t rng = seed;
    float *x[2] = {malloc(ROWS * wa * sizeof(float)), malloc(ROWS * wb * sizeof(float))};
    const int64_t w[2] = {wa, wb};
    double mix[2][16][3];
    for (int k = 0; k < 2; k++)
        for (int64_t u = 0; u < w[k]; u++)
            for (int f = 0; f < 3; f++) mix[k][u][f] = test_rand_normal(&rng);
    for (int r = 0; r < ROWS; r++) {
        double h[3];
        for (int f = 0; f < 3; f++) h[f] = test_rand_normal(&rng);
        for (int k = 0; k < 2; k++)
            for (int64_t u = 0; u < w[k]; u++) {
                double v = 0.5 * test_rand_normal(&rng);
                for (int f = 0; f < 3; f++) v += mix[k][u][f] * h[f];
                x[k][r * w[k] + u] = (float)(v > 0 ? v : 0);
            }
        x[0][r * wa] = x[1][r * wb + wb - 1];
    }
    char path[2048];
    for (int k = 0; k < 2; k++) {
        const int64_t shape[2] = {ROWS, w[k]};
        snprintf(path, sizeof path, "%s/%s_net%d.npy", dir, layer, k + 1);
        assert_cvg_ok(cvg_npy_save(path, CVG_F32, 2, shape, x[k]));
        for (int64_t u = 0; u < w[k]; u++) {
            double s = 0;
            for (int r = 0; r < ROWS; r++) s += x[k][r * w[k] + u];
            means[(k ? wa : 0) + u] = s / ROWS;
        }
    }
    assert_int_equal(test_system("%s stats -q -o %s/stats --layer %s %s/%s_net1.npy %s/%s_net2.npy", CVG_CLI, dir,
                                 layer, dir, layer, dir, layer), 0);
    free(x[0]), free(x[1]);
}

typedef struct image {
    cairo_surface_t *s;
    int w, h, stride;
    const unsigned char *d;
} image;

static image open_png(const char *dir, const char *file)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/figures/%s", dir, file);
    image im = {.s = cairo_image_surface_create_from_png(path)};
    if (cairo_surface_status(im.s) != CAIRO_STATUS_SUCCESS) fail_msg("%s: not a PNG", path);
    im.w = cairo_image_surface_get_width(im.s), im.h = cairo_image_surface_get_height(im.s);
    im.stride = cairo_image_surface_get_stride(im.s);
    im.d = cairo_image_surface_get_data(im.s);
    return im;
}

/* 0xRRGGBB of the pixel containing (x, y). */
static uint32_t pixel(const image *im, double x, double y)
{
    const int px = (int)floor(x), py = (int)floor(y);
    assert_true(px >= 0 && px < im->w && py >= 0 && py < im->h);
    return *(const uint32_t *)(const void *)(im->d + py * im->stride + 4 * px) & 0xffffff;
}

static uint32_t rgb(plot_rgb c)
{
    return ((uint32_t)lround(c.r * 255) << 16) | ((uint32_t)lround(c.g * 255) << 8) | (uint32_t)lround(c.b * 255);
}

/* Fig. 1 (d) of layer (nets 1 and 2 of wa and wb units): every cell's grey level. */
static void check_permuted_panel(const char *dir, const char *layer, int64_t wa, int64_t wb)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/stats/%s", dir, layer);
    int K;
    int64_t S, D = wa + wb;
    double *corr;
    assert_cvg_ok(cvg_stats_load_matrix(path, "corr", &K, &S, &corr));
    assert_int_equal(S, 0); /* the widths differ */
    snprintf(path, sizeof path, "%s/match/%s/match_1_2.json", dir, layer);
    cvg_match_result m;
    assert_cvg_ok(cvg_match_load(path, &m, NULL));
    /* the expected order: matched rows of net1 in index order, then the others; columns: their
       partners, then net2's unmatched units in index order */
    int64_t rows[16], cols[16], nr = 0, nc = 0, matched = 0;
    int taken[16] = {0};
    for (int64_t i = 0; i < wa; i++)
        if (m.match[i] >= 0) rows[nr++] = i, cols[nc++] = m.match[i], taken[m.match[i]] = 1, matched++;
    for (int64_t i = 0; i < wa; i++)
        if (m.match[i] < 0) rows[nr++] = i;
    for (int64_t j = 0; j < wb; j++)
        if (!taken[j]) cols[nc++] = j;
    assert_int_equal(matched, wa < wb ? wa : wb);
    assert_int_equal(nr, wa);
    assert_int_equal(nc, wb);
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < wa; i++)
        for (int64_t j = 0; j < wb; j++) lo = fmin(lo, corr[i * D + wa + j]), hi = fmax(hi, corr[i * D + wa + j]);
    snprintf(path, sizeof path, "fig1_%s.png", layer);
    image im = open_png(dir, path);
    /* the figure's layout (figures.c): panel (d) at x = 30 + 3 * (230 + 40), y = 70; a unit is
       230 / max(wa, wb) px in every panel */
    const double unit = 230.0 / (double)(wa > wb ? wa : wb), x0 = 30 + 3 * 270, y0 = 70;
    for (int64_t i = 0; i < wa; i++)
        for (int64_t j = 0; j < wb; j++) {
            double v = corr[rows[i] * D + wa + cols[j]];
            if (i == j && i < matched) { /* the diagonal: the matching's own value */
                assert_true(fabs(v - m.match_value[rows[i]]) < 1e-6);
                v = m.match_value[rows[i]];
            }
            const long want = lround((v - lo) / (hi - lo) * 255);
            const long got = (long)(pixel(&im, x0 + (j + 0.5) * unit, y0 + (i + 0.5) * unit) >> 16);
            if (labs(got - want) > 1)
                fail_msg("%s Fig. 1 (d) cell (%lld, %lld): grey %ld, want %ld", layer, (long long)i, (long long)j, got, want);
        }
    /* right of and below the block: the page's white (not a square of 230 px) */
    if (wb < wa) assert_int_equal(pixel(&im, x0 + wb * unit + 6, y0 + 0.5 * unit), 0xffffff);
    if (wa < wb) assert_int_equal(pixel(&im, x0 + 0.5 * unit, y0 + wa * unit + 6), 0xffffff);
    cairo_surface_destroy(im.s);
    cvg_match_result_free(&m);
    free(corr);
}

/* Fig. 7's first panel (the best pair: net1 unit 0 and its copy, net2's last unit): counts on
 * the diagonal bins only. */
static void check_best_pair_histogram(const char *dir, const char *layer)
{
    char file[256];
    snprintf(file, sizeof file, "fig7_%s.png", layer);
    image im = open_png(dir, file);
    const uint32_t empty = rgb(plot_colormap_value(PLOT_VIRIDIS, 0));
    int on_diagonal = 0;
    for (int row = 0; row < 40; row++) /* 40 x 40 bins of 5 px at (70, 70); row 0 = top = high y */
        for (int col = 0; col < 40; col++) {
            const uint32_t p = pixel(&im, 70 + 5 * col + 2.5, 70 + 5 * row + 2.5);
            if (row == 39 - col) on_diagonal += p != empty;
            else if (p != empty) fail_msg("%s Fig. 7: count off the diagonal at bin (%d, %d)", layer, row, col);
        }
    assert_true(on_diagonal >= 5);
    cairo_surface_destroy(im.s);
}

static double ks_brute(const double *x, int nx, const double *y, int ny)
{
    double d = 0;
    for (int t = 0; t < nx + ny; t++) {
        const double v = t < nx ? x[t] : y[t - nx];
        int fx = 0, fy = 0;
        for (int i = 0; i < nx; i++) fx += x[i] <= v;
        for (int i = 0; i < ny; i++) fy += y[i] <= v;
        d = fmax(d, fabs((double)fx / nx - (double)fy / ny));
    }
    return d;
}

static void test_report_of_different_widths(void **state)
{
    (void)state;
    char *dir = test_tmpdir("report_widths");
    double means6[10], means7[11], means8[14];
    write_layer(dir, "fc6", 5, 5, 1, means6);
    write_layer(dir, "fc7", 4, 7, 2, means7);
    write_layer(dir, "fc8", 9, 5, 3, means8);
    assert_int_equal(test_system("%s mi -q %s/stats", CVG_CLI, dir), 0);
    assert_int_equal(test_system("%s match -q %s/stats -o %s/match", CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("%s cluster -q %s/stats -o %s/cluster --pair 1,2", CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("%s report -q %s", CVG_CLI, dir), 0);

    char path[2048];
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = test_read_text(path);
    const char *layers[] = {"fc6", "fc7", "fc8"}, *figs[] = {"fig1", "fig3", "fig7", "fig13", "fig14", "fig6"};
    for (int l = 0; l < 3; l++)
        for (int f = 0; f < 6; f++) {
            char ref[128];
            snprintf(ref, sizeof ref, "<img src=\"figures/%s_%s.png\"", figs[f], layers[l]);
            if (!strstr(html, ref)) fail_msg("report.html lacks %s", ref);
        }
    const char *must[] = {"2 networks of different widths (4, 7 units)", "2 networks of different widths (9, 5 units)",
                          "Net1 is the wider network", "Net2 is the wider network", "in (d) the matched units of net1 come first",
                          "<img src=\"figures/mean_activations.png\"", "quantile"};
    for (size_t i = 0; i < sizeof must / sizeof *must; i++)
        if (!strstr(html, must[i])) fail_msg("report.html lacks '%s'", must[i]);
    assert_null(strstr(html, "Not drawn for them"));
    /* the KS distance of fc7's unit means (4 against 7), as the page prints it */
    char row[128];
    snprintf(row, sizeof row, "<tr><td>fc7</td><td>%.3f</td></tr>", ks_brute(means7, 4, means7 + 4, 7));
    if (!strstr(html, row)) fail_msg("report.html lacks '%s'", row);
    free(html);

    check_permuted_panel(dir, "fc7", 4, 7);
    check_permuted_panel(dir, "fc8", 9, 5);
    check_best_pair_histogram(dir, "fc7");
    check_best_pair_histogram(dir, "fc8");

    /* a mean.npy of other widths: an error naming it */
    assert_int_equal(test_system("cp %s/stats/fc7/mean.npy %s/keep.npy && cp %s/stats/fc8/mean.npy %s/stats/fc7/mean.npy",
                                 dir, dir, dir, dir), 0);
    assert_int_equal(test_system("%s report -q %s 2> %s/err.txt", CVG_CLI, dir, dir), 1);
    assert_int_equal(test_system("grep -q 'fc7/mean.npy: 14 values' %s/err.txt", dir), 0);
    assert_int_equal(test_system("cp %s/keep.npy %s/stats/fc7/mean.npy", dir, dir), 0);
    /* a clustering of other widths: an error naming it */
    assert_int_equal(test_system("cp %s/cluster/fc8/cluster_1_2.json %s/cluster/fc7/cluster_1_2.json", dir, dir), 0);
    assert_int_not_equal(test_system("%s report -q %s 2> %s/err.txt", CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("grep -q 'fc7/cluster_1_2.json' %s/err.txt", dir), 0);
    free(dir);
}

/* Net k's unit u of a layer of D units "responds" to images (3u + t) % 60, t = 0..8, at a
 * 9 x 9 receptive field whose corner moves with u. */
static void write_top9(const char *layer_dir, int64_t D)
{
    int64_t *top = malloc((size_t)(D * 9 * 7) * sizeof *top);
    double *value = malloc((size_t)(D * 9) * sizeof *value);
    for (int64_t u = 0; u < D; u++)
        for (int t = 0; t < 9; t++) {
            int64_t *e = top + (u * 9 + t) * 7, y0 = (u * 2) % 19, x0 = (u * 5) % 19;
            const int64_t entry[7] = {(3 * u + t) % 60, y0 + 4, x0 + 4, y0, x0, y0 + 8, x0 + 8};
            memcpy(e, entry, sizeof entry);
            value[u * 9 + t] = 9 - t;
        }
    char path[2048];
    const int64_t shape[3] = {D, 9, 7};
    snprintf(path, sizeof path, "%s/top9.npy", layer_dir);
    assert_cvg_ok(cvg_npy_save(path, CVG_I64, 3, shape, top));
    snprintf(path, sizeof path, "%s/top9_value.npy", layer_dir);
    assert_cvg_ok(cvg_npy_save(path, CVG_F64, 2, shape, value));
    free(top), free(value);
}

static void test_patch_figures_of_different_widths(void **state)
{
    (void)state;
    char *dir = test_tmpdir("report_widths_patches");
    double means[11];
    write_layer(dir, "conv1", 4, 7, 5, means);
    char path[2048];
    assert_int_equal(test_system("mkdir -p %s/data", dir), 0);
    cvg_dataset ds;
    test_synthetic_images(&ds, 60, 11);
    snprintf(path, sizeof path, "%s/data", dir);
    test_write_idx(path, "t10k", &ds);
    cvg_dataset_free(&ds);
    /* the images in meta.json (its fingerprint field unchanged) and the top-9 entries */
    snprintf(path, sizeof path, "%s/stats/conv1/meta.json", dir);
    cJSON *meta = test_read_json(path);
    cJSON *images = cJSON_AddObjectToObject(meta, "images");
    char data[2048];
    snprintf(data, sizeof data, "%s/data", dir);
    cJSON_AddStringToObject(images, "dir", data);
    cJSON_AddStringToObject(images, "split", "test");
    char *text = cJSON_Print(meta);
    test_write_bytes(path, text, strlen(text));
    free(text);
    cJSON_Delete(meta);
    snprintf(path, sizeof path, "%s/stats/conv1", dir);
    write_top9(path, 11);
    /* checkpoints whose first layers are this layer, 4 and 7 filters of 3 x 3 */
    assert_int_equal(test_system("mkdir -p %s/nets", dir), 0);
    const char *arch[2] = {"conv1:4k3p1;fc8:10", "conv1:7k3p1;fc8:10"};
    for (int k = 0; k < 2; k++) {
        cvg_net *net;
        assert_cvg_ok(cvg_net_create(arch[k], 1, 28, 28, (uint64_t)(k + 1), &net));
        snprintf(path, sizeof path, "%s/nets/net%d.safetensors", dir, k + 1);
        assert_cvg_ok(cvg_net_save(net, path));
        cvg_net_free(net);
    }
    assert_int_equal(test_system("%s mi -q %s/stats", CVG_CLI, dir), 0);
    assert_int_equal(test_system("%s cluster -q %s/stats -o %s/cluster --tau 0 --k 2", CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("%s report -q %s", CVG_CLI, dir), 0);
    snprintf(path, sizeof path, "%s/report.html", dir);
    char *html = test_read_text(path);
    const char *must[] = {"<img src=\"figures/fig2_conv1.png\"", "<img src=\"figures/fig4_conv1.png\"",
                          "<img src=\"figures/fig5_conv1.png\""};
    for (size_t i = 0; i < sizeof must / sizeof *must; i++)
        if (!strstr(html, must[i])) fail_msg("report.html lacks '%s'", must[i]);
    assert_null(strstr(html, "Not drawn here"));
    assert_non_null(strstr(html, "its filter (black negative"));
    assert_null(strstr(html, "filters left out"));
    for (const char *p = html; (p = strstr(p, "<img src=\"")); ) {
        p += strlen("<img src=\"figures/");
        char file[256];
        snprintf(file, sizeof file, "%.*s", (int)(strchr(p, '"') - p), p);
        image im = open_png(dir, file);
        assert_true(im.w > 100 && im.h > 100);
        cairo_surface_destroy(im.s);
    }
    free(html);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_of_different_widths),
        cmocka_unit_test(test_patch_figures_of_different_widths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
