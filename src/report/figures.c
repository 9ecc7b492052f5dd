#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "plot/plot.h"
#include "report/figures.h"

cvg_status fig_finish(plot_canvas *c, const char *png)
{
    cvg_status st = plot_save_png(c, png);
    plot_close(c);
    return st;
}

static void matrix_range(const double *m, int64_t n, double *lo, double *hi)
{
    *lo = INFINITY, *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        if (m[i] < *lo) *lo = m[i];
        if (m[i] > *hi) *hi = m[i];
    }
    if (!(*hi > *lo)) *hi = *lo + 1;
}

cvg_status fig_correlation_matrices(const char *png, const char *layer, const double *corr,
                                    int64_t D, const int64_t *offset, int a, int b, const double *permuted)
{
    const int64_t Sa = offset[a + 1] - offset[a], Sb = offset[b + 1] - offset[b], Smax = Sa > Sb ? Sa : Sb;
    const int panels = permuted ? 4 : 3, side = 230, gap = 40, left = 30, top = 70;
    double *block = malloc((size_t)(Smax * Smax) * sizeof *block);
    plot_canvas *c = plot_open(left + panels * (side + gap) + 60, top + side + 60);
    if (!block || !c) {
        free(block);
        plot_close(c);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory drawing %s", png);
    }
    char title[256];
    if (Sa == Sb)
        snprintf(title, sizeof title, "%s: correlation matrices (%lld units per net; min black, max white)", layer, (long long)Sa);
    else
        snprintf(title, sizeof title, "%s: correlation matrices (net%d %lld units, net%d %lld units; min black, max white)",
                 layer, a + 1, (long long)Sa, b + 1, (long long)Sb);
    plot_text(c, left, 28, 15, 0, 1, title);
    const int na[4] = {a, b, a, a}, nb[4] = {a, b, b, b};
    for (int p = 0; p < panels; p++) {
        const int64_t rows = offset[na[p] + 1] - offset[na[p]], cols = offset[nb[p] + 1] - offset[nb[p]];
        if (p == 3) {
            memcpy(block, permuted, (size_t)(rows * cols) * sizeof *block);
        } else {
            for (int64_t i = 0; i < rows; i++)
                memcpy(block + i * cols, corr + (offset[na[p]] + i) * D + offset[nb[p]], (size_t)cols * sizeof *block);
        }
        double lo, hi;
        matrix_range(block, rows * cols, &lo, &hi);
        /* one scale for every panel: the wider net's units span the side, a block of fewer
           rows or columns is drawn shorter or narrower (all 230 x 230 for equal widths) */
        const double w = side * (double)cols / (double)Smax, h = side * (double)rows / (double)Smax;
        plot_panel pan = {left + p * (side + gap), top, w, h, 0, (double)cols, 0, (double)rows};
        plot_heatmap(c, &pan, block, rows, cols, lo, hi, PLOT_GRAY);
        plot_axes(c, &pan, NULL, NULL, 0);
        char label[128];
        if (p < 2) snprintf(label, sizeof label, "(%c) within net%d", 'a' + p, na[p] + 1);
        else if (p == 2) snprintf(label, sizeof label, "(c) net%d vs net%d", a + 1, b + 1);
        else snprintf(label, sizeof label, "(d) net%d vs net%d permuted", a + 1, b + 1);
        plot_text(c, pan.x + side / 2.0, top - 8, 12, 0.5, 0, label);
        snprintf(label, sizeof label, "range [%.2f, %.2f]", lo, hi);
        plot_text(c, pan.x + side / 2.0, top + side + 18, 11, 0.5, 0, label);
    }
    free(block);
    return fig_finish(c, png);
}

void fig_matched_rows_first(const double *permuted, const int64_t *match, int64_t Sa, int64_t Sb,
                            double *out, int64_t *row_unit)
{
    int64_t r = 0;
    for (int pass = 0; pass < 2; pass++) /* matched rows, then the others, each in index order */
        for (int64_t i = 0; i < Sa; i++)
            if ((match[i] >= 0) == (pass == 0)) {
                memcpy(out + r * Sb, permuted + i * Sb, (size_t)Sb * sizeof *out);
                if (row_unit) row_unit[r] = i;
                r++;
            }
}

typedef struct order_item {
    double value;
    int64_t index;
} order_item;

static int by_value_desc(const void *pa, const void *pb)
{
    const order_item *x = pa, *y = pb;
    if (x->value != y->value) return x->value < y->value ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

cvg_status fig_matching_curve(const char *png, const char *layer, const char *metric,
                              const double *semi, const double *match, int64_t S, int a, int b)
{
    order_item *order = malloc((size_t)S * sizeof *order);
    double *xs = malloc((size_t)S * sizeof *xs), *ys = malloc((size_t)S * sizeof *ys);
    double *ym = malloc((size_t)S * sizeof *ym);
    plot_canvas *c = plot_open(640, 380);
    if (!order || !xs || !ys || !ym || !c) {
        free(order), free(xs), free(ys), free(ym), plot_close(c);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory drawing %s", png);
    }
    for (int64_t i = 0; i < S; i++) order[i] = (order_item){semi[i], i};
    qsort(order, (size_t)S, sizeof *order, by_value_desc);
    double lo = 0, hi = 0;
    for (int64_t i = 0; i < S; i++) {
        xs[i] = (double)i;
        ys[i] = semi[order[i].index];
        ym[i] = match[order[i].index];
        lo = fmin(lo, fmin(ys[i], ym[i]));
        hi = fmax(hi, fmax(ys[i], ym[i]));
    }
    if (strcmp(metric, "corr") == 0) hi = fmax(hi, 1.0);
    char title[256], ylabel[64];
    snprintf(title, sizeof title, "%s: net%d units paired with net%d, by semi-matching and matching", layer, a + 1, b + 1);
    snprintf(ylabel, sizeof ylabel, "%s", strcmp(metric, "corr") == 0 ? "correlation" : "mutual information");
    plot_text(c, 20, 26, 14, 0, 1, title);
    plot_panel p = {80, 50, 520, 260, 0, (double)(S > 1 ? S - 1 : 1), lo, hi};
    plot_axes(c, &p, "net units, sorted by decreasing semi-matching value", ylabel, 6);
    plot_line(c, &p, xs, ym, S, plot_series_color(1), 1.5);
    plot_points(c, &p, xs, ym, S, plot_series_color(1), S > 200 ? 1.2 : 2.2);
    plot_line(c, &p, xs, ys, S, plot_series_color(0), 2);
    const char *labels[2] = {"semi-matching", "matching"};
    plot_rgb colors[2] = {plot_series_color(0), plot_series_color(1)};
    plot_legend(c, p.x + p.w - 150, p.y + 10, labels, colors, 2);
    free(order), free(xs), free(ys), free(ym);
    return fig_finish(c, png);
}

cvg_status fig_joint_distributions(const char *png, const char *layer, const float *samples,
                                   int64_t rows, int a, int b, const fig_pair *pairs, int n)
{
    const int64_t D = 2 * n; /* samples: pair k's unit of net a in column 2k, of net b in 2k + 1 */
    enum { BINS = 40 };
    const int side = 200, gap = 70, left = 70, top = 70;
    plot_canvas *c = plot_open(left + n * (side + gap), top + side + 70);
    double *hist = malloc(sizeof(double) * BINS * BINS);
    if (!c || !hist) {
        plot_close(c), free(hist);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory drawing %s", png);
    }
    char text[256];
    snprintf(text, sizeof text, "%s: joint distributions of activations, net%d unit vs net%d unit (%lld samples; log counts)",
             layer, a + 1, b + 1, (long long)rows);
    plot_text(c, 20, 26, 14, 0, 1, text);
    for (int k = 0; k < n; k++) {
        const int64_t ca = 2 * k, cb = 2 * k + 1;
        double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
        for (int64_t r = 0; r < rows; r++) {
            double x = samples[r * D + ca], y = samples[r * D + cb];
            xmin = fmin(xmin, x), xmax = fmax(xmax, x), ymin = fmin(ymin, y), ymax = fmax(ymax, y);
        }
        if (!(xmax > xmin)) xmax = xmin + 1;
        if (!(ymax > ymin)) ymax = ymin + 1;
        memset(hist, 0, sizeof(double) * BINS * BINS);
        for (int64_t r = 0; r < rows; r++) {
            int bx = (int)((samples[r * D + ca] - xmin) / (xmax - xmin) * BINS);
            int by = (int)((samples[r * D + cb] - ymin) / (ymax - ymin) * BINS);
            bx = bx >= BINS ? BINS - 1 : bx;
            by = by >= BINS ? BINS - 1 : by;
            hist[(BINS - 1 - by) * BINS + bx] += 1; /* row 0 at the top: high y first */
        }
        double hmax = 0;
        for (int i = 0; i < BINS * BINS; i++) {
            hist[i] = log1p(hist[i]);
            hmax = fmax(hmax, hist[i]);
        }
        plot_panel p = {left + k * (side + gap), top, side, side, xmin, xmax, ymin, ymax};
        plot_heatmap(c, &p, hist, BINS, BINS, 0, hmax, PLOT_VIRIDIS);
        char xl[64], yl[64];
        snprintf(xl, sizeof xl, "net%d unit %lld", a + 1, (long long)pairs[k].unit_a);
        snprintf(yl, sizeof yl, "net%d unit %lld", b + 1, (long long)pairs[k].unit_b);
        plot_axes(c, &p, xl, yl, 4);
        snprintf(text, sizeof text, "corr = %.3f", pairs[k].corr);
        plot_text(c, p.x + side / 2.0, top - 10, 12, 0.5, 1, text);
    }
    free(hist);
    return fig_finish(c, png);
}

static int cmp_double(const void *pa, const void *pb)
{
    double x = *(const double *)pa, y = *(const double *)pb;
    return (x > y) - (x < y);
}

double ks_distance(const double *x, int64_t nx, const double *y, int64_t ny)
{
    double *xs = malloc((size_t)nx * sizeof *xs), *ys = malloc((size_t)ny * sizeof *ys);
    if (!xs || !ys) {
        free(xs), free(ys);
        return NAN;
    }
    memcpy(xs, x, (size_t)nx * sizeof *xs);
    memcpy(ys, y, (size_t)ny * sizeof *ys);
    qsort(xs, (size_t)nx, sizeof *xs, cmp_double);
    qsort(ys, (size_t)ny, sizeof *ys, cmp_double);
    double d = 0;
    int64_t i = 0, j = 0;
    while (i < nx && j < ny) {
        double v = xs[i] <= ys[j] ? xs[i] : ys[j];
        while (i < nx && xs[i] <= v) i++;
        while (j < ny && ys[j] <= v) j++;
        d = fmax(d, fabs((double)i / nx - (double)j / ny));
    }
    free(xs), free(ys);
    return d;
}

cvg_status fig_mean_activations(const char *png, const char *const *layers, int nlayers,
                                const double *const *means, int K, const int64_t *const *offsets,
                                double *closeness)
{
    const int cols = nlayers < 4 ? nlayers : 4, rows = (nlayers + cols - 1) / cols;
    const int pw = 260, ph = 180, gx = 90, gy = 90, left = 80, top = 70;
    const int width = left + cols * (pw + gx);
    plot_canvas *c = plot_open(width < 720 ? 720 : width, top + rows * (ph + gy));
    if (!c) return cvg__fail(CVG_ERR_NOMEM, "out of memory drawing %s", png);
    plot_text(c, 20, 28, 15, 0, 1, "Mean activation of every unit, sorted, one line per network");
    cvg_status st = CVG_OK;
    for (int l = 0; l < nlayers && st == CVG_OK; l++) {
        const int64_t *off = offsets[l], D = off[K];
        int64_t widest = 0;
        int equal = 1;
        for (int k = 0; k < K; k++) {
            const int64_t n = off[k + 1] - off[k];
            widest = n > widest ? n : widest;
            equal &= n == off[1] - off[0];
        }
        /* net k's sorted means at sorted + off[k], against xs + off[k]: the unit's rank, or
           with different widths its rank as a fraction of its net's units (0 to 1), so that
           the curves of nets of different widths span one axis as quantile functions */
        double *sorted = malloc((size_t)D * sizeof *sorted), *xs = malloc((size_t)D * sizeof *xs);
        if (!sorted || !xs) {
            free(sorted), free(xs);
            st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
            break;
        }
        double lo = INFINITY, hi = -INFINITY;
        for (int k = 0; k < K; k++) {
            const int64_t n = off[k + 1] - off[k];
            memcpy(sorted + off[k], means[l] + off[k], (size_t)n * sizeof *sorted);
            qsort(sorted + off[k], (size_t)n, sizeof *sorted, cmp_double);
            lo = fmin(lo, sorted[off[k]]);
            hi = fmax(hi, sorted[off[k] + n - 1]);
            for (int64_t i = 0; i < n; i++)
                xs[off[k] + i] = equal ? (double)i : (double)i / (double)(n > 1 ? n - 1 : 1);
        }
        if (!(hi > lo)) hi = lo + 1;
        double ks = 0;
        int pairs = 0;
        for (int a = 0; a < K; a++)
            for (int b = a + 1; b < K; b++, pairs++)
                ks += ks_distance(means[l] + off[a], off[a + 1] - off[a], means[l] + off[b], off[b + 1] - off[b]);
        closeness[l] = pairs ? ks / pairs : 0;
        const int col = l % cols, row = l / cols;
        const double xmax = equal ? (double)(widest > 1 ? widest - 1 : 1) : 1.0;
        plot_panel p = {left + col * (pw + gx), top + row * (ph + gy), pw, ph, 0, xmax, lo, hi};
        plot_axes(c, &p, equal ? "units, sorted" : "units, sorted (fraction of the net's)", "mean activation", 4);
        for (int k = 0; k < K; k++)
            plot_line(c, &p, xs + off[k], sorted + off[k], off[k + 1] - off[k], plot_series_color(k), 1.5);
        char label[128];
        snprintf(label, sizeof label, "%s  (KS distance %.3f)", layers[l], closeness[l]);
        plot_text(c, p.x + pw / 2.0, p.y - 10, 12, 0.5, 1, label);
        free(sorted), free(xs);
    }
    if (st == CVG_OK && K <= 8) {
        const char *labels[8];
        plot_rgb colors[8];
        char names[8][16];
        for (int k = 0; k < K; k++) {
            snprintf(names[k], sizeof names[k], "net%d", k + 1);
            labels[k] = names[k];
            colors[k] = plot_series_color(k);
        }
        plot_legend(c, left + 10, top + 10, labels, colors, K);
    }
    if (st != CVG_OK) {
        plot_close(c);
        return st;
    }
    return fig_finish(c, png);
}

cvg_status fig_cluster_matrix(const char *png, const char *layer, const double *w, int64_t n,
                              const int64_t *order, const int64_t *bounds, int n_bounds, int a, int b)
{
    double *m = malloc((size_t)(n * n) * sizeof *m);
    plot_canvas *c = plot_open(620, 600);
    if (!m || !c) {
        free(m), plot_close(c);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory drawing %s", png);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) m[i * n + j] = w[order[i] * n + order[j]];
    double lo, hi;
    matrix_range(m, n * n, &lo, &hi);
    char title[256];
    snprintf(title, sizeof title, "%s: correlation of net%d + net%d units, ordered by cluster", layer, a + 1, b + 1);
    plot_text(c, 20, 26, 14, 0, 1, title);
    plot_panel p = {50, 50, 480, 480, 0, (double)n, 0, (double)n};
    plot_heatmap(c, &p, m, n, n, lo, hi, PLOT_GRAY);
    plot_axes(c, &p, "units (both nets), by cluster", NULL, 0);
    plot_colorbar(c, 550, 50, 14, 480, lo, hi, PLOT_GRAY, NULL);
    plot_rgb red = {0.85, 0.2, 0.1};
    for (int k = 0; k < n_bounds && n <= 1024; k++) { /* leaf boundaries, where they can be seen */
        double x = (double)bounds[k];
        double xs[2] = {x, x}, ys[2] = {0, (double)n}, ys2[2] = {(double)n - x, (double)n - x}, xs2[2] = {0, (double)n};
        plot_line(c, &p, xs, ys, 2, red, 0.5);
        plot_line(c, &p, xs2, ys2, 2, red, 0.5);
    }
    free(m);
    return fig_finish(c, png);
}

cvg_status fig_cluster_similarity(const char *png, const char *layer, const double *between,
                                  const double *within, int n, int a, int b)
{
    double *xs = malloc((size_t)(n > 0 ? n : 1) * sizeof *xs);
    plot_canvas *c = plot_open(640, 380);
    if (!xs || !c) {
        free(xs), plot_close(c);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory drawing %s", png);
    }
    double lo = 0, hi = 0;
    for (int i = 0; i < n; i++) {
        xs[i] = i;
        lo = fmin(lo, fmin(between[i], within[i]));
        hi = fmax(hi, fmax(between[i], within[i]));
    }
    if (!(hi > lo)) hi = lo + 1;
    char title[256];
    snprintf(title, sizeof title, "%s: similarity within each cluster of net%d + net%d units", layer, a + 1, b + 1);
    plot_text(c, 20, 26, 14, 0, 1, title);
    plot_panel p = {80, 50, 520, 260, 0, (double)(n > 1 ? n - 1 : 1), lo, hi};
    plot_axes(c, &p, "clusters, sorted by decreasing between-net similarity", "similarity", 6);
    plot_line(c, &p, xs, within, n, plot_series_color(1), 1.5);
    plot_line(c, &p, xs, between, n, plot_series_color(0), 2);
    const char *labels[2] = {"between-net", "within-net"};
    plot_rgb colors[2] = {plot_series_color(0), plot_series_color(1)};
    plot_legend(c, p.x + p.w - 140, p.y + 10, labels, colors, 2);
    free(xs);
    return fig_finish(c, png);
}

cvg_status fig_cluster_tree(const char *png, const char *layer, const fig_tree_node *nodes,
                            int n, int64_t units, int max_depth, int a, int b)
{
    const int row_h = 70, left = 30, width = 900;
    plot_canvas *c = plot_open(left + width + 120, 70 + (max_depth + 1) * (row_h + 10) + 30);
    if (!c) return cvg__fail(CVG_ERR_NOMEM, "out of memory drawing %s", png);
    char text[256];
    snprintf(text, sizeof text, "%s: top levels of the cluster tree of net%d + net%d units (box width = size; "
             "label: net%d + net%d units)", layer, a + 1, b + 1, a + 1, b + 1);
    plot_text(c, 20, 26, 13, 0, 1, text);
    for (int i = 0; i < n; i++) {
        const fig_tree_node *nd = &nodes[i];
        if (nd->depth > max_depth) continue;
        double x0 = left + (double)nd->offset / units * width, w = (double)nd->size / units * width;
        double y = 50 + nd->depth * (row_h + 10);
        plot_rgb col = plot_colormap_value(PLOT_VIRIDIS, nd->between < 0 ? 0 : nd->between);
        plot_box(c, x0, y, w, row_h, col);
        if (w > 34) {
            snprintf(text, sizeof text, "%lld+%lld", (long long)nd->size_a, (long long)nd->size_b);
            const int dark = col.r + col.g + col.b < 1.5;
            plot_text_color(c, dark ? (plot_rgb){1, 1, 1} : (plot_rgb){0.1, 0.1, 0.1});
            plot_text(c, x0 + w / 2, y + row_h / 2 + 4, w > 60 ? 11 : 9, 0.5, 0, text);
            plot_text_color(c, (plot_rgb){0.1, 0.1, 0.1});
        }
    }
    for (int d = 0; d <= max_depth; d++) {
        snprintf(text, sizeof text, d == 0 ? "all" : "depth %d", d);
        plot_text(c, left + width + 8, 50 + d * (row_h + 10) + row_h / 2 + 4, 11, 0, 0, text);
    }
    plot_colorbar(c, left + width + 70, 50, 12, (max_depth + 1) * (row_h + 10) - 10, 0, 1, PLOT_VIRIDIS, NULL);
    return fig_finish(c, png);
}
