/* cvg_heatmap_png: a labelled matrix (a measure between the layers of two networks) drawn with
 * src/plot. Layout, in pixels: square cells of 480 / max(rows, cols), kept within [26, 90]; the
 * title above, row names left of the matrix, column names below it (turned when wider than a
 * cell), the axis titles outside those, the colour bar on the right. */
#include <math.h>
#include <stdlib.h>

#include "core/internal.h"
#include "plot/plot.h"

static const double LABEL = 13, TITLE = 16, AXIS_TITLE = 14, TOP = 64, BAR_W = 18;
static const int MAX_SIDE = 32767; /* cairo's largest image */

static cvg_status check(const char *png, const cvg_heatmap *h)
{
    if (!png || !h) return cvg__fail(CVG_ERR_ARG, "cvg_heatmap_png: NULL path or heatmap");
    if (h->rows < 1 || h->cols < 1 || !h->values || !h->row_names || !h->col_names)
        return cvg__fail(CVG_ERR_ARG, "%s: a heatmap needs at least one row and column, values "
                         "and names (got %d x %d)", png, h->rows, h->cols);
    for (int i = 0; i < h->rows; i++)
        if (!h->row_names[i]) return cvg__fail(CVG_ERR_ARG, "%s: row %d has no name", png, i);
    for (int j = 0; j < h->cols; j++)
        if (!h->col_names[j]) return cvg__fail(CVG_ERR_ARG, "%s: column %d has no name", png, j);
    if (!isfinite(h->vmin) || !isfinite(h->vmax))
        return cvg__fail(CVG_ERR_ARG, "%s: colour scale [%g, %g] is not finite", png, h->vmin, h->vmax);
    if (h->rows > 1000 || h->cols > 1000)
        return cvg__fail(CVG_ERR_ARG, "%s: %d x %d cells do not fit one image (at most 1000 a side)",
                         png, h->rows, h->cols);
    return CVG_OK;
}

cvg_status cvg_heatmap_png(const char *png, const cvg_heatmap *h)
{
    cvg_status st = check(png, h);
    if (st != CVG_OK) return st;
    const int rows = h->rows, cols = h->cols;
    const double vmin = h->vmin, vmax = h->vmax > h->vmin ? h->vmax : h->vmin + 1;
    const double cell = fmin(90, fmax(26, 480.0 / (rows > cols ? rows : cols)));
    const double row_w = plot_labels_width(h->row_names, rows, LABEL);
    const int turn = plot_labels_rotated(h->col_names, cols, LABEL, cell, PLOT_LABELS_AUTO);
    const double col_depth = turn ? plot_labels_width(h->col_names, cols, LABEL) : 1.3 * LABEL;
    const double left = 40 + row_w + 12, grid_w = cell * cols, grid_h = cell * rows;
    const double bar_h = fmax(grid_h, 160);
    const double width = fmax(left + grid_w + 130, plot_text_width(NULL, TITLE, 1, h->title) + 40);
    const double height = fmax(TOP + grid_h + 8 + col_depth + 48, TOP + bar_h + 24);
    if (width > MAX_SIDE || height > MAX_SIDE)
        return cvg__fail(CVG_ERR_ARG, "%s: a %.0f x %.0f image is too large (names too long?)", png,
                         width, height);
    plot_canvas *c = plot_open((int)ceil(width), (int)ceil(height));
    if (!c) return cvg__fail(CVG_ERR_NOMEM, "%s: cannot open a %.0f x %.0f canvas", png, width, height);

    const plot_panel p = {left, TOP, grid_w, grid_h, 0, cols, 0, rows};
    if (h->title) plot_text(c, width / 2, 30, TITLE, 0.5, 1, h->title);
    plot_heatmap(c, &p, h->values, rows, cols, vmin, vmax, PLOT_VIRIDIS);
    plot_heatmap_annotate(c, &p, h->values, h->defined, rows, cols, vmin, vmax, PLOT_VIRIDIS,
                          cell >= 40 ? (cell >= 60 ? 13 : 11) : 0);
    double depth = 0;
    st = plot_category_axes(c, &p, h->col_names, cols, h->row_names, rows, LABEL,
                            turn ? PLOT_LABELS_VERTICAL : PLOT_LABELS_HORIZONTAL, &depth);
    if (st != CVG_OK) {
        plot_close(c);
        return st;
    }
    if (h->col_title) plot_text(c, left + grid_w / 2, TOP + grid_h + depth + 30, AXIS_TITLE, 0.5, 0, h->col_title);
    if (h->row_title) plot_text_vertical(c, 26, TOP + grid_h / 2, AXIS_TITLE, h->row_title);
    plot_colorbar(c, left + grid_w + 24, TOP, BAR_W, bar_h, vmin, vmax, PLOT_VIRIDIS, h->bar_label);
    st = plot_save_png(c, png);
    plot_close(c);
    return st;
}
