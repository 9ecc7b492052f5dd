/* Categorical axes: names on equal bands (the rows and columns of a heatmap) rather than
 * numbers on a scale, and the text measurements a caller needs to lay such a figure out. */
#include <math.h>
#include <stdio.h>

#include "core/internal.h"
#include "plot/plot_internal.h"

static const double HALF_PI = 1.57079632679489661923;
/* Cap height of the font as a fraction of its size: half of it centres a label on a point. */
static const double HALF_CAP = 0.36;
/* Gap between the panel's edge and its labels, and the length of a tick, in pixels. */
static const double GAP = 8, TICK = 4;

static double measure(cairo_t *cr, double size, int bold, const char *text)
{
    cairo_select_font_face(cr, PLOT_FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, text, &e);
    return e.x_advance;
}

/* A 1 x 1 surface to measure text on before any canvas exists. */
static cairo_t *scratch(void)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(s);
    cairo_surface_destroy(s); /* cr holds its own reference */
    return cr;
}

double plot_text_width(plot_canvas *c, double size, int bold, const char *text)
{
    if (!text) return 0;
    if (c) return measure(c->cr, size, bold, text);
    cairo_t *cr = scratch();
    double w = measure(cr, size, bold, text);
    cairo_destroy(cr);
    return w;
}

double plot_labels_width(const char *const *names, int n, double size)
{
    if (!names || n <= 0) return 0;
    cairo_t *cr = scratch();
    double w = 0;
    for (int i = 0; i < n; i++)
        if (names[i]) w = fmax(w, measure(cr, size, 0, names[i]));
    cairo_destroy(cr);
    return w;
}

int plot_labels_rotated(const char *const *names, int n, double size, double band,
                        plot_label_rotation rotation)
{
    if (rotation != PLOT_LABELS_AUTO) return rotation == PLOT_LABELS_VERTICAL;
    return plot_labels_width(names, n, size) > band - 6;
}

static cvg_status check_names(const char *side, const char *const *names, int n)
{
    if (n < 0) return cvg__fail(CVG_ERR_ARG, "plot_category_axes: %d %s labels", n, side);
    if (n > 0 && !names)
        return cvg__fail(CVG_ERR_ARG, "plot_category_axes: %d %s labels but no names", n, side);
    for (int i = 0; i < n; i++)
        if (!names[i]) return cvg__fail(CVG_ERR_ARG, "plot_category_axes: %s label %d is NULL", side, i);
    return CVG_OK;
}

static void tick(cairo_t *cr, double x0, double y0, double x1, double y1)
{
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
}

cvg_status plot_category_axes(plot_canvas *c, const plot_panel *p, const char *const *xnames,
                              int nx, const char *const *ynames, int ny, double size,
                              plot_label_rotation rotation, double *depth)
{
    if (depth) *depth = 0;
    if (!c || !p) return cvg__fail(CVG_ERR_ARG, "plot_category_axes: NULL canvas or panel");
    if (!(p->w > 0 && p->h > 0))
        return cvg__fail(CVG_ERR_ARG, "plot_category_axes: the panel has no area (%g x %g)", p->w, p->h);
    if (!(size > 0)) return cvg__fail(CVG_ERR_ARG, "plot_category_axes: font size %g", size);
    cvg_status st = check_names("x", xnames, nx);
    if (st == CVG_OK) st = check_names("y", ynames, ny);
    if (st != CVG_OK) return st;

    cairo_t *cr = c->cr;
    plot_axes(c, p, NULL, NULL, 0); /* the frame */
    const double bottom = p->y + p->h;
    if (nx > 0) {
        const double band = p->w / nx;
        const int turn = plot_labels_rotated(xnames, nx, size, band, rotation);
        double reach = 0;
        for (int j = 0; j < nx; j++) {
            const double cx = p->x + (j + 0.5) * band;
            tick(cr, cx + 0.5, bottom, cx + 0.5, bottom + TICK);
            if (turn) {
                /* reading downwards from just below the panel, the glyphs centred on cx */
                cairo_save(cr);
                cairo_translate(cr, cx, bottom + GAP);
                cairo_rotate(cr, HALF_PI);
                plot_text(c, 0, HALF_CAP * size, size, 0, 0, xnames[j]);
                cairo_restore(cr);
                reach = fmax(reach, plot_text_width(c, size, 0, xnames[j]));
            } else {
                plot_text(c, cx, bottom + GAP + size, size, 0.5, 0, xnames[j]);
                reach = 1.3 * size; /* ascent and descent */
            }
        }
        if (depth) *depth = GAP + reach;
    }
    const double band = ny > 0 ? p->h / ny : 0;
    for (int i = 0; i < ny; i++) {
        const double cy = p->y + (i + 0.5) * band;
        tick(cr, p->x - TICK, cy + 0.5, p->x, cy + 0.5);
        plot_text(c, p->x - GAP, cy + HALF_CAP * size, size, 1.0, 0, ynames[i]);
    }
    return CVG_OK;
}
