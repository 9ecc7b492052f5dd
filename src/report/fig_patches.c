/* The figures made of input patches: Fig. 2 / 4 (best and worst semi-matched units) and
 * Fig. 5 / 12 (clusters with the highest between-net similarity). */
#include <stdio.h>
#include <stdlib.h>

#include "core/internal.h"
#include "report/figures.h"

enum { WIDTH_MAX = 1180 }; /* the page's text column: the figure shows at 100% */

/* The title and, under it, what the colours mean. Returns the y where drawing may start. */
static double header(plot_canvas *c, const char *title, const char *what)
{
    plot_text(c, 20, 26, 14, 0, 1, title);
    plot_text(c, 20, 46, 12, 0, 0, what);
    plot_fill(c, 20, 56, 12, 12, patch_net_color(0));
    plot_text(c, 38, 67, 12, 0, 0, "net1");
    plot_fill(c, 90, 56, 12, 12, patch_net_color(1));
    plot_text(c, 108, 67, 12, 0, 0, "net2");
    plot_fill(c, 160, 56, 12, 12, (plot_rgb){0.78, 0.85, 0.95});
    plot_text(c, 178, 67, 12, 0, 0, "outside the image (receptive field cut by the border)");
    return 90;
}

/* ---- Fig. 2 / 4 */

typedef struct pair_layout {
    int left, grid, pitch, cols, filter, net_row, group;
} pair_layout;

static pair_layout layout_pairs(const patch_layer *p)
{
    pair_layout L = {.left = 64, .grid = patch_grid_side(p, 3)};
    L.pitch = L.grid + 18;
    L.cols = 8; /* the most pairs a row can hold */
    while (L.cols > 1 && L.left + L.cols * L.pitch > WIDTH_MAX) L.cols--;
    L.filter = p->filters ? (L.grid < 48 ? L.grid : 48) : 0;
    L.net_row = L.grid + 16 + (L.filter ? L.filter + 6 : 0); /* grid, unit label, filter */
    L.group = 20 + 2 * L.net_row + 8 + 14;                   /* value, two nets, gaps */
    return L;
}

static int groups(int n, int cols) { return (n + cols - 1) / cols; }

/* Columns for n pairs: as few rows as fit, the pairs spread evenly over them (8 in 4 + 4). */
static int balanced(int n, int cols) { return n > 0 ? groups(n, groups(n, cols)) : 1; }

/* One column: the value, net1's unit above its partner of net2, each with its filter. */
static void draw_pair(plot_canvas *c, const pair_layout *L, const patch_layer *p, const int64_t offset[2],
                      double x, double y, const fig_pair *pr, const char *symbol)
{
    char text[64];
    snprintf(text, sizeof text, "%s = %.3f", symbol, pr->corr);
    plot_text(c, x + L->grid / 2.0, y + 14, 12, 0.5, 1, text);
    y += 20;
    const int64_t unit[2] = {pr->unit_a, pr->unit_b};
    for (int k = 0; k < 2; k++, y += L->net_row + 8) {
        patch_draw_unit(c, x, y, p, offset[k] + unit[k], 3, patch_net_color(k));
        snprintf(text, sizeof text, "#%lld", (long long)unit[k]);
        plot_text(c, x + L->grid / 2.0, y + L->grid + 13, 11, 0.5, 0, text);
        if (L->filter) patch_draw_filter(c, x + (L->grid - L->filter) / 2.0, y + L->grid + 18, L->filter, p, offset[k] + unit[k]);
    }
}

cvg_status fig_matched_patches(const char *png, const char *layer, const char *metric,
                               const patch_layer *p, const int64_t offset[2], const fig_pair *best, int nbest,
                               const fig_pair *worst, int nworst)
{
    const pair_layout L = layout_pairs(p);
    const int cols[2] = {balanced(nbest, L.cols), balanced(nworst, L.cols)};
    const int width = L.left + (cols[0] > cols[1] ? cols[0] : cols[1]) * L.pitch + 10;
    const int height = 90 + 2 * 30 + (groups(nbest, L.cols) + groups(nworst, L.cols)) * L.group + 10;
    plot_canvas *c = plot_open(width < 760 ? 760 : width, height);
    if (!c) return cvg__fail(CVG_ERR_NOMEM, "out of memory drawing %s", png);
    const int corr = metric[0] == 'c';
    char title[256], what[256];
    snprintf(title, sizeof title, "%s: the %d best and %d worst semi-matched units of net1, by %s",
             layer, nbest, nworst, corr ? "correlation" : "mutual information");
    snprintf(what, sizeof what, "Each block: one unit's 9 top input patches (best top-left), net1's "
             "unit above its partner in net2%s.", L.filter ? ", with the unit's filter" : "");
    double y = header(c, title, what);
    const fig_pair *sets[2] = {best, worst};
    const int counts[2] = {nbest, nworst};
    for (int s = 0; s < 2; s++) {
        snprintf(title, sizeof title, "%s %d: %s %s", s == 0 ? "best" : "worst", counts[s],
                 s == 0 ? "highest" : "lowest", corr ? "correlation" : "mutual information");
        plot_text(c, 20, y + 16, 13, 0, 1, title);
        y += 30;
        for (int i = 0; i < counts[s]; i++) {
            const int col = i % cols[s];
            if (col == 0 && i > 0) y += L.group;
            if (col == 0)
                for (int k = 0; k < 2; k++) {
                    plot_text_color(c, patch_net_color(k));
                    plot_text(c, 14, y + 20 + k * (L.net_row + 8) + L.grid / 2.0 + 5, 13, 0, 1, k ? "net2" : "net1");
                    plot_text_color(c, (plot_rgb){0.1, 0.1, 0.1});
                }
            draw_pair(c, &L, p, offset, L.left + col * L.pitch, y, &sets[s][i], corr ? "r" : "MI");
        }
        if (counts[s] > 0) y += L.group;
    }
    return fig_finish(c, png);
}

/* ---- Fig. 5 / 12 */

/* How a cluster's row is drawn: grid size and how many units of each net fit. */
typedef struct cluster_row {
    int grid, side, shown[2];
} cluster_row;

enum { CL_LEFT = 150, CL_GAP = 8, CL_SEP = 28, CL_MORE = 44 };

static cluster_row layout_cluster(const patch_layer *p, const fig_cluster *cl)
{
    const int avail = WIDTH_MAX - CL_LEFT - CL_SEP, n = cl->na + cl->nb;
    for (int g = 3; g >= 1; g--) {
        const int side = patch_grid_side(p, g);
        if (n * (side + CL_GAP) <= avail) return (cluster_row){g, side, {cl->na, cl->nb}};
    }
    /* too many units even with one patch each: as many as fit, shared in proportion */
    const int side = patch_grid_side(p, 1), fit = (avail - 2 * CL_MORE) / (side + CL_GAP);
    int a = (int)((int64_t)fit * cl->na / n);
    a = a < 1 ? 1 : a;
    int b = fit - a < cl->nb ? fit - a : cl->nb;
    return (cluster_row){1, side, {a, b < 1 ? 1 : b}};
}

static double draw_net_units(plot_canvas *c, const patch_layer *p, const cluster_row *row,
                             double x, double y, int net, int64_t first, const int64_t *units, int n)
{
    char text[32];
    for (int i = 0; i < row->shown[net]; i++, x += row->side + CL_GAP) {
        patch_draw_unit(c, x, y, p, first + units[i], row->grid, patch_net_color(net));
        snprintf(text, sizeof text, "#%lld", (long long)units[i]);
        plot_text(c, x + row->side / 2.0, y + row->side + 13, row->side < 40 ? 9 : 11, 0.5, 0, text);
    }
    if (n > row->shown[net]) {
        snprintf(text, sizeof text, "+%d", n - row->shown[net]);
        plot_text(c, x + 4, y + row->side / 2.0 + 5, 12, 0, 1, text);
        x += CL_MORE;
    }
    return x;
}

cvg_status fig_cluster_patches(const char *png, const char *layer, const char *label,
                               const patch_layer *p, const int64_t offset[2], const fig_cluster *cl, int n)
{
    cluster_row *rows = malloc((size_t)(n > 0 ? n : 1) * sizeof *rows);
    if (!rows) return cvg__fail(CVG_ERR_NOMEM, "out of memory drawing %s", png);
    int height = 90 + 10, width = 760;
    for (int i = 0; i < n; i++) {
        rows[i] = layout_cluster(p, &cl[i]);
        height += rows[i].side + 16 + 16;
        int w = CL_LEFT + CL_SEP + (rows[i].shown[0] + rows[i].shown[1]) * (rows[i].side + CL_GAP) + 2 * CL_MORE;
        if (w > width) width = w;
    }
    plot_canvas *c = plot_open(width > WIDTH_MAX ? WIDTH_MAX : width, height);
    if (!c) {
        free(rows);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory drawing %s", png);
    }
    char title[256], text[64];
    snprintf(title, sizeof title, "%s (%s): the %d clusters of net1 + net2 units with the highest "
             "between-net similarity", label, layer, n);
    double y = header(c, title, "Each row one cluster: its units' top input patches (best top-left), "
                      "net1's units, then net2's; # = unit.");
    for (int i = 0; i < n; i++) {
        const cluster_row *row = &rows[i];
        snprintf(text, sizeof text, "cluster %d", cl[i].rank);
        plot_text(c, 20, y + 16, 13, 0, 1, text);
        snprintf(text, sizeof text, "between %.3f", cl[i].between);
        plot_text(c, 20, y + 34, 11, 0, 0, text);
        snprintf(text, sizeof text, "%d + %d units", cl[i].na, cl[i].nb);
        plot_text(c, 20, y + 50, 11, 0, 0, text);
        double x = draw_net_units(c, p, row, CL_LEFT, y, 0, offset[0], cl[i].units_a, cl[i].na);
        draw_net_units(c, p, row, x + CL_SEP - CL_GAP, y, 1, offset[1], cl[i].units_b, cl[i].nb);
        y += row->side + 32;
    }
    free(rows);
    return fig_finish(c, png);
}
