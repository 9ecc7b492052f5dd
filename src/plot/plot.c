#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>

#include "core/internal.h"
#include "plot/plot_internal.h"

static const double PI = 3.14159265358979323846;

plot_canvas *plot_open(int width, int height)
{
    plot_canvas *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    c->cr = cairo_create(c->surface);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        plot_close(c);
        return NULL;
    }
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    c->text = (plot_rgb){0.1, 0.1, 0.1};
    return c;
}

void plot_close(plot_canvas *c)
{
    if (!c) return;
    if (c->cr) cairo_destroy(c->cr);
    if (c->surface) cairo_surface_destroy(c->surface);
    free(c);
}

cvg_status plot_save_png(plot_canvas *c, const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    cairo_surface_flush(c->surface);
    cairo_status_t cs = cairo_surface_write_to_png(c->surface, tmp);
    if (cs != CAIRO_STATUS_SUCCESS) {
        remove(tmp);
        return cvg__fail(CVG_ERR_IO, "%s: cannot write PNG: %s", path, cairo_status_to_string(cs));
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return cvg__fail(CVG_ERR_IO, "%s: cannot rename into place", path);
    }
    return CVG_OK;
}

void plot_text(plot_canvas *c, double x, double y, double size, double anchor, int bold,
               const char *text)
{
    cairo_t *cr = c->cr;
    cairo_select_font_face(cr, PLOT_FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, text, &e);
    cairo_set_source_rgb(cr, c->text.r, c->text.g, c->text.b);
    cairo_move_to(cr, x - anchor * e.x_advance, y);
    cairo_show_text(cr, text);
}

void plot_text_color(plot_canvas *c, plot_rgb color) { c->text = color; }

void plot_text_vertical(plot_canvas *c, double x, double y, double size, const char *text)
{
    cairo_t *cr = c->cr;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -PI / 2);
    plot_text(c, 0, 0, size, 0.5, 0, text);
    cairo_restore(cr);
}

/* Round tick step for a range: 1, 2 or 5 times a power of ten. */
double plot_tick_step(double lo, double hi, int ticks)
{
    double raw = (hi - lo) / (ticks > 1 ? ticks : 2);
    if (!(raw > 0)) return 1;
    double mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

void plot_format_tick(double v, double step, char *buf, size_t cap)
{
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (decimals > 6) decimals = 6;
    if (fabs(v) < step * 1e-9) v = 0;
    snprintf(buf, cap, "%.*f", decimals, v);
}

void plot_axes(plot_canvas *c, const plot_panel *p, const char *xlabel, const char *ylabel, int ticks)
{
    cairo_t *cr = c->cr;
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, p->x + 0.5, p->y + 0.5, p->w, p->h);
    cairo_stroke(cr);
    char buf[32];
    if (ticks > 0 && p->xmax > p->xmin) {
        double step = plot_tick_step(p->xmin, p->xmax, ticks);
        for (double v = ceil(p->xmin / step) * step; v <= p->xmax + step * 1e-9; v += step) {
            double px = p->x + (v - p->xmin) / (p->xmax - p->xmin) * p->w;
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            cairo_move_to(cr, px + 0.5, p->y + p->h);
            cairo_line_to(cr, px + 0.5, p->y + p->h + 5);
            cairo_stroke(cr);
            plot_format_tick(v, step, buf, sizeof buf);
            plot_text(c, px, p->y + p->h + 18, 11, 0.5, 0, buf);
        }
    }
    if (ticks > 0 && p->ymax > p->ymin) {
        double step = plot_tick_step(p->ymin, p->ymax, ticks);
        for (double v = ceil(p->ymin / step) * step; v <= p->ymax + step * 1e-9; v += step) {
            double py = p->y + p->h - (v - p->ymin) / (p->ymax - p->ymin) * p->h;
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            cairo_move_to(cr, p->x - 5, py + 0.5);
            cairo_line_to(cr, p->x, py + 0.5);
            cairo_stroke(cr);
            plot_format_tick(v, step, buf, sizeof buf);
            plot_text(c, p->x - 8, py + 4, 11, 1.0, 0, buf);
        }
    }
    if (xlabel) plot_text(c, p->x + p->w / 2, p->y + p->h + 38, 13, 0.5, 0, xlabel);
    if (ylabel) plot_text_vertical(c, p->x - 48, p->y + p->h / 2, 13, ylabel);
}

plot_rgb plot_colormap_value(plot_colormap map, double t)
{
    if (!(t >= 0)) t = 0; /* NaN too */
    if (t > 1) t = 1;
    if (map == PLOT_GRAY) return (plot_rgb){t, t, t};
    if (map == PLOT_DIVERGING) {
        if (t < 0.5) {
            double u = t / 0.5;
            return (plot_rgb){0.13 + 0.87 * u, 0.4 + 0.6 * u, 0.8 + 0.2 * u};
        }
        double u = (t - 0.5) / 0.5;
        return (plot_rgb){1.0 - 0.2 * u, 1.0 - 0.85 * u, 1.0 - 0.85 * u};
    }
    /* viridis, piecewise linear through five of its colours */
    static const double anchors[5][3] = {{0.267, 0.005, 0.329}, {0.230, 0.322, 0.546},
                                         {0.128, 0.567, 0.551}, {0.369, 0.789, 0.383},
                                         {0.993, 0.906, 0.144}};
    double s = t * 4;
    int i = s >= 4 ? 3 : (int)s;
    double u = s - i;
    return (plot_rgb){anchors[i][0] + u * (anchors[i + 1][0] - anchors[i][0]),
                      anchors[i][1] + u * (anchors[i + 1][1] - anchors[i][1]),
                      anchors[i][2] + u * (anchors[i + 1][2] - anchors[i][2])};
}

void plot_heatmap(plot_canvas *c, const plot_panel *p, const double *m, int64_t rows,
                  int64_t cols, double vmin, double vmax, plot_colormap map)
{
    if (rows <= 0 || cols <= 0) return;
    /* One pixel per cell in an image, scaled with nearest-neighbour filtering: exact cells at
     * any size, and fast for thousands of units. */
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)cols, (int)rows);
    unsigned char *data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    double span = vmax > vmin ? vmax - vmin : 1;
    for (int64_t i = 0; i < rows; i++) {
        uint32_t *row = (uint32_t *)(void *)(data + i * stride);
        for (int64_t j = 0; j < cols; j++) {
            plot_rgb col = plot_colormap_value(map, (m[i * cols + j] - vmin) / span);
            row[j] = ((uint32_t)lround(col.r * 255) << 16) | ((uint32_t)lround(col.g * 255) << 8) |
                     (uint32_t)lround(col.b * 255);
        }
    }
    cairo_surface_mark_dirty(img);
    cairo_t *cr = c->cr;
    cairo_save(cr);
    cairo_rectangle(cr, p->x, p->y, p->w, p->h);
    cairo_clip(cr);
    cairo_translate(cr, p->x, p->y);
    cairo_scale(cr, p->w / (double)cols, p->h / (double)rows);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
}

void plot_colorbar(plot_canvas *c, double x, double y, double w, double h, double vmin,
                   double vmax, plot_colormap map, const char *label)
{
    cairo_t *cr = c->cr;
    for (int i = 0; i < (int)h; i++) {
        plot_rgb col = plot_colormap_value(map, 1.0 - (double)i / (h - 1));
        cairo_set_source_rgb(cr, col.r, col.g, col.b);
        cairo_rectangle(cr, x, y + i, w, 1);
        cairo_fill(cr);
    }
    plot_panel axis = {x + w, y, 0, h, 0, 1, vmin, vmax};
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_rectangle(cr, x + 0.5, y + 0.5, w, h);
    cairo_stroke(cr);
    double step = plot_tick_step(vmin, vmax, 5);
    char buf[32];
    for (double v = ceil(vmin / step) * step; v <= vmax + step * 1e-9; v += step) {
        double py = axis.y + axis.h - (v - vmin) / (vmax - vmin) * axis.h;
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_move_to(cr, x + w, py + 0.5);
        cairo_line_to(cr, x + w + 4, py + 0.5);
        cairo_stroke(cr);
        plot_format_tick(v, step, buf, sizeof buf);
        plot_text(c, x + w + 7, py + 4, 11, 0, 0, buf);
    }
    if (label) plot_text_vertical(c, x + w + 52, y + h / 2, 12, label);
}

static double to_px(const plot_panel *p, double v) { return p->x + (v - p->xmin) / (p->xmax - p->xmin) * p->w; }
static double to_py(const plot_panel *p, double v) { return p->y + p->h - (v - p->ymin) / (p->ymax - p->ymin) * p->h; }

void plot_line(plot_canvas *c, const plot_panel *p, const double *xs, const double *ys, int64_t n,
               plot_rgb color, double width)
{
    cairo_t *cr = c->cr;
    cairo_save(cr);
    cairo_rectangle(cr, p->x, p->y, p->w, p->h);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, color.r, color.g, color.b);
    cairo_set_line_width(cr, width);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (int64_t i = 0; i < n; i++) {
        if (i == 0) cairo_move_to(cr, to_px(p, xs[i]), to_py(p, ys[i]));
        else cairo_line_to(cr, to_px(p, xs[i]), to_py(p, ys[i]));
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

void plot_points(plot_canvas *c, const plot_panel *p, const double *xs, const double *ys, int64_t n,
                 plot_rgb color, double radius)
{
    cairo_t *cr = c->cr;
    cairo_save(cr);
    cairo_rectangle(cr, p->x, p->y, p->w, p->h);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, color.r, color.g, color.b);
    for (int64_t i = 0; i < n; i++) {
        cairo_arc(cr, to_px(p, xs[i]), to_py(p, ys[i]), radius, 0, 2 * PI);
        cairo_fill(cr);
    }
    cairo_restore(cr);
}

void plot_box(plot_canvas *c, double x, double y, double w, double h, plot_rgb fill)
{
    cairo_t *cr = c->cr;
    cairo_set_source_rgb(cr, fill.r, fill.g, fill.b);
    cairo_rectangle(cr, x, y, w, h);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
}

void plot_fill(plot_canvas *c, double x, double y, double w, double h, plot_rgb fill)
{
    cairo_t *cr = c->cr;
    cairo_set_source_rgb(cr, fill.r, fill.g, fill.b);
    cairo_rectangle(cr, x, y, w, h);
    cairo_fill(cr);
}

void plot_legend(plot_canvas *c, double x, double y, const char *const *labels,
                 const plot_rgb *colors, int n)
{
    cairo_t *cr = c->cr;
    for (int i = 0; i < n; i++) {
        double ly = y + 18 * i;
        cairo_set_source_rgb(cr, colors[i].r, colors[i].g, colors[i].b);
        cairo_set_line_width(cr, 3);
        cairo_move_to(cr, x, ly + 6);
        cairo_line_to(cr, x + 24, ly + 6);
        cairo_stroke(cr);
        plot_text(c, x + 30, ly + 10, 12, 0, 0, labels[i]);
    }
}

plot_rgb plot_series_color(int i)
{
    static const plot_rgb palette[] = {{0.12, 0.47, 0.71}, {0.85, 0.37, 0.01}, {0.17, 0.63, 0.17},
                                       {0.84, 0.15, 0.16}, {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29},
                                       {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50}};
    return palette[i % (int)(sizeof palette / sizeof *palette)];
}
