/* cvg_lines_png: curves of several series in one panel (time or memory against size), drawn
 * with src/plot. Layout, in pixels: the title in the top TOP, the panel below it with LEFT on
 * its left for the y ticks and axis title and BOTTOM below it for the x ticks and axis title,
 * the legend right of it. On a log axis a value v is drawn at log10(v). */
#include <math.h>
#include <stdio.h>

#include <cairo.h>

#include "core/internal.h"
#include "plot/plot_internal.h"

static const double TOP = 44, LEFT = 84, BOTTOM = 64, LEGEND_GAP = 18, RIGHT_GAP = 14;
static const double TICK_SIZE = 11, LABEL_SIZE = 13, TITLE_SIZE = 16, LEGEND_SIZE = 12;
static const double LINE_W = 2, DOT_R = 3.5, MIN_PANEL = 100, TWO_PI = 6.28318530717958647692;
static const int MIN_SIDE = 200, MAX_SIDE = 4000, DEFAULT_W = 760, DEFAULT_H = 500;
enum { MAX_TICKS = 64 };

/* Where a value is drawn on an axis: log10 on a log axis; NAN for one that cannot be drawn. */
static double axis_value(double v, int log_axis)
{
    if (!isfinite(v)) return NAN;
    if (log_axis) return v > 0 ? log10(v) : NAN;
    return v;
}

static int drawable(const cvg_lines *p, const cvg_series *s, int i, double *x, double *y)
{
    *x = axis_value(s->x[i], p->log_x);
    *y = axis_value(s->y[i], p->log_y);
    return !isnan(*x) && !isnan(*y);
}

static cvg_status check(const char *png, const cvg_lines *p)
{
    if (!png || !p) return cvg__fail(CVG_ERR_ARG, "cvg_lines_png: NULL path or plot");
    if (!p->series || p->n_series < 1)
        return cvg__fail(CVG_ERR_ARG, "%s: a line plot needs at least one series (got %d)", png,
                         p->n_series);
    for (int k = 0; k < p->n_series; k++) {
        const cvg_series *s = &p->series[k];
        if (s->n < 0 || (s->n > 0 && (!s->x || !s->y)))
            return cvg__fail(CVG_ERR_ARG, "%s: series %d has %d points and %s coordinates", png, k,
                             s->n, s->x && s->y ? "its" : "no");
        if (s->color < 0) return cvg__fail(CVG_ERR_ARG, "%s: series %d has colour %d (< 0)", png, k, s->color);
    }
    if (p->n_x_ticks < 0 || (p->n_x_ticks > 0 && !p->x_ticks))
        return cvg__fail(CVG_ERR_ARG, "%s: %d x ticks without positions", png, p->n_x_ticks);
    const int w = p->width ? p->width : DEFAULT_W, h = p->height ? p->height : DEFAULT_H;
    if (w < MIN_SIDE || w > MAX_SIDE || h < MIN_SIDE || h > MAX_SIDE)
        return cvg__fail(CVG_ERR_ARG, "%s: a %d x %d image is outside [%d, %d] pixels a side", png,
                         w, h, MIN_SIDE, MAX_SIDE);
    return CVG_OK;
}

/* The range of the drawable points along x (axis 0) or y (axis 1), in axis units; the number
 * of drawable points. */
static int64_t data_range(const cvg_lines *p, int axis, double *lo, double *hi)
{
    int64_t n = 0;
    *lo = INFINITY, *hi = -INFINITY;
    for (int k = 0; k < p->n_series; k++)
        for (int i = 0; i < p->series[k].n; i++) {
            double x, y;
            if (!drawable(p, &p->series[k], i, &x, &y)) continue;
            double v = axis ? y : x;
            *lo = fmin(*lo, v), *hi = fmax(*hi, v);
            n++;
        }
    return n;
}

/* Widen [lo, hi] by 5% a side, so that points on the edge stay whole; a single value gets a
 * span of one decade (log) or of its own size (linear). */
static void pad(double *lo, double *hi, int log_axis)
{
    if (*hi - *lo < 1e-12) {
        double half = log_axis ? 0.5 : (fabs(*lo) > 0 ? 0.5 * fabs(*lo) : 1);
        *lo -= half, *hi += half;
    }
    double margin = 0.05 * (*hi - *lo);
    *lo -= margin, *hi += margin;
}

/* Ticks (data units) for the axis range [lo, hi] (axis units): a round step on a linear axis;
 * 1, 2, 5 x 10^k on a log axis up to 2.5 decades, else 10^k every few decades (about 7 ticks).
 * *step: the linear step, for the labels' decimals (0 on a log axis). */
static int auto_ticks(double lo, double hi, int log_axis, double *ticks, double *step)
{
    int n = 0;
    *step = 0;
    if (!log_axis) {
        *step = plot_tick_step(lo, hi, 6);
        for (double v = ceil(lo / *step) * *step; v <= hi + *step * 1e-9 && n < MAX_TICKS; v += *step)
            ticks[n++] = v;
        return n;
    }
    static const double MANTISSAS[3] = {1, 2, 5};
    const int every = hi - lo <= 2.5 ? 0 : (int)ceil((hi - lo) / 7);
    for (int e = (int)floor(lo); e <= (int)ceil(hi) && n < MAX_TICKS; e++) {
        if (every && ((e % every) + every) % every) continue;
        for (int m = 0; m < (every ? 1 : 3) && n < MAX_TICKS; m++) {
            double v = MANTISSAS[m] * pow(10, e), a = log10(v);
            if (a >= lo - 1e-9 && a <= hi + 1e-9) ticks[n++] = v;
        }
    }
    return n;
}

static void tick_label(double v, double step, char *buf, size_t cap)
{
    if (step > 0) plot_format_tick(v, step, buf, cap);
    else if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3)) snprintf(buf, cap, "%.0e", v);
    else snprintf(buf, cap, "%g", v);
}

static double to_px(const plot_panel *p, double v) { return p->x + (v - p->xmin) / (p->xmax - p->xmin) * p->w; }
static double to_py(const plot_panel *p, double v) { return p->y + p->h - (v - p->ymin) / (p->ymax - p->ymin) * p->h; }

/* Grid lines, tick marks and labels of one axis (0: x, 1: y). */
static void draw_ticks(plot_canvas *c, const plot_panel *pp, int axis, int log_axis,
                       const double *given, int n_given)
{
    double ticks[MAX_TICKS], step = 0;
    int n;
    if (axis == 0 && n_given > 0) {
        n = n_given < MAX_TICKS ? n_given : MAX_TICKS;
        for (int i = 0; i < n; i++) ticks[i] = given[i];
    } else {
        n = axis ? auto_ticks(pp->ymin, pp->ymax, log_axis, ticks, &step)
                 : auto_ticks(pp->xmin, pp->xmax, log_axis, ticks, &step);
    }
    cairo_t *cr = c->cr;
    char buf[32];
    for (int i = 0; i < n; i++) {
        double a = axis_value(ticks[i], log_axis);
        double lo = axis ? pp->ymin : pp->xmin, hi = axis ? pp->ymax : pp->xmax;
        if (isnan(a) || a < lo || a > hi) continue; /* a given tick outside the data */
        tick_label(ticks[i], step, buf, sizeof buf);
        cairo_set_line_width(cr, 1);
        if (axis == 0) {
            double px = floor(to_px(pp, a)) + 0.5;
            cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
            cairo_move_to(cr, px, pp->y), cairo_line_to(cr, px, pp->y + pp->h);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            cairo_move_to(cr, px, pp->y + pp->h), cairo_line_to(cr, px, pp->y + pp->h + 5);
            cairo_stroke(cr);
            plot_text(c, px, pp->y + pp->h + 18, TICK_SIZE, 0.5, 0, buf);
        } else {
            double py = floor(to_py(pp, a)) + 0.5;
            cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
            cairo_move_to(cr, pp->x, py), cairo_line_to(cr, pp->x + pp->w, py);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            cairo_move_to(cr, pp->x - 5, py), cairo_line_to(cr, pp->x, py);
            cairo_stroke(cr);
            plot_text(c, pp->x - 8, py + 4, TICK_SIZE, 1.0, 0, buf);
        }
    }
}

static void stroke_style(cairo_t *cr, const cvg_series *s)
{
    static const double DASH[2] = {7, 4};
    plot_rgb col = plot_series_color(s->color);
    cairo_set_source_rgb(cr, col.r, col.g, col.b);
    cairo_set_line_width(cr, LINE_W);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_dash(cr, DASH, s->dashed ? 2 : 0, 0);
}

/* One series: its line (broken at points that cannot be drawn) and a dot at every point. */
static void draw_series(plot_canvas *c, const plot_panel *pp, const cvg_lines *p, const cvg_series *s)
{
    cairo_t *cr = c->cr;
    cairo_save(cr);
    cairo_rectangle(cr, pp->x, pp->y, pp->w, pp->h);
    cairo_clip(cr);
    stroke_style(cr, s);
    int open = 0;
    for (int i = 0; i < s->n; i++) {
        double x, y;
        if (!drawable(p, s, i, &x, &y)) {
            open = 0;
            continue;
        }
        if (open) cairo_line_to(cr, to_px(pp, x), to_py(pp, y));
        else cairo_move_to(cr, to_px(pp, x), to_py(pp, y));
        open = 1;
    }
    cairo_stroke(cr);
    for (int i = 0; i < s->n; i++) {
        double x, y;
        if (!drawable(p, s, i, &x, &y)) continue;
        cairo_new_sub_path(cr);
        cairo_arc(cr, to_px(pp, x), to_py(pp, y), DOT_R, 0, TWO_PI);
        cairo_fill(cr);
    }
    cairo_restore(cr);
}

/* The legend of the named series, top-left at (x, y): a line sample with its dot, the name. */
static void draw_legend(plot_canvas *c, double x, double y, const cvg_lines *p)
{
    cairo_t *cr = c->cr;
    double ly = y;
    for (int k = 0; k < p->n_series; k++) {
        const cvg_series *s = &p->series[k];
        if (!s->name) continue;
        cairo_save(cr);
        stroke_style(cr, s);
        cairo_move_to(cr, x, ly + 6), cairo_line_to(cr, x + 30, ly + 6);
        cairo_stroke(cr);
        cairo_arc(cr, x + 15, ly + 6, DOT_R, 0, TWO_PI);
        cairo_fill(cr);
        cairo_restore(cr);
        plot_text(c, x + 38, ly + 10, LEGEND_SIZE, 0, 0, s->name);
        ly += 18;
    }
}

cvg_status cvg_lines_png(const char *png, const cvg_lines *p)
{
    cvg_status st = check(png, p);
    if (st != CVG_OK) return st;
    const int width = p->width ? p->width : DEFAULT_W, height = p->height ? p->height : DEFAULT_H;
    double xlo, xhi, ylo, yhi;
    if (data_range(p, 0, &xlo, &xhi) == 0 || data_range(p, 1, &ylo, &yhi) == 0)
        return cvg__fail(CVG_ERR_ARG, "%s: no point can be drawn (all non-finite, or <= 0 on a "
                         "log axis)", png);
    pad(&xlo, &xhi, p->log_x);
    pad(&ylo, &yhi, p->log_y);
    double legend_w = 0;
    for (int k = 0; k < p->n_series; k++)
        if (p->series[k].name)
            legend_w = fmax(legend_w, 38 + plot_text_width(NULL, LEGEND_SIZE, 0, p->series[k].name));
    const double panel_w = width - LEFT - RIGHT_GAP - (legend_w > 0 ? legend_w + LEGEND_GAP : 0);
    const double panel_h = height - TOP - BOTTOM;
    if (panel_w < MIN_PANEL || panel_h < MIN_PANEL)
        return cvg__fail(CVG_ERR_ARG, "%s: a %d x %d image leaves a %.0f x %.0f panel beside the "
                         "legend (at least %.0f a side)", png, width, height, panel_w, panel_h, MIN_PANEL);
    plot_canvas *c = plot_open(width, height);
    if (!c) return cvg__fail(CVG_ERR_NOMEM, "%s: cannot open a %d x %d canvas", png, width, height);

    const plot_panel pp = {LEFT, TOP, panel_w, panel_h, xlo, xhi, ylo, yhi};
    draw_ticks(c, &pp, 0, p->log_x, p->x_ticks, p->n_x_ticks);
    draw_ticks(c, &pp, 1, p->log_y, NULL, 0);
    for (int k = 0; k < p->n_series; k++) draw_series(c, &pp, p, &p->series[k]);
    plot_axes(c, &pp, NULL, NULL, 0); /* the frame, over the lines' ends */
    if (p->title) plot_text(c, width / 2.0, 28, TITLE_SIZE, 0.5, 1, p->title);
    if (p->x_label) plot_text(c, LEFT + panel_w / 2, TOP + panel_h + 46, LABEL_SIZE, 0.5, 0, p->x_label);
    if (p->y_label) plot_text_vertical(c, 24, TOP + panel_h / 2, LABEL_SIZE, p->y_label);
    if (legend_w > 0) draw_legend(c, LEFT + panel_w + LEGEND_GAP, TOP + 4, p);
    st = plot_save_png(c, png);
    plot_close(c);
    return st;
}
