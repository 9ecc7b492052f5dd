/* Figures drawn with cairo: a canvas, panels with axes and ticks, heatmaps with a colour bar,
 * lines and points, legends. Internal to libconvergent (the report and the analyses use it).
 * Coordinates are pixels from the top-left corner of the canvas. */
#ifndef CVG_PLOT_H
#define CVG_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "convergent.h"

typedef struct plot_canvas plot_canvas;

typedef enum plot_colormap {
    PLOT_GRAY,     /* black (min) to white (max), as the paper's Fig. 1 */
    PLOT_VIRIDIS,  /* perceptually ordered dark blue -> green -> yellow */
    PLOT_DIVERGING /* blue (min) - white (centre) - red (max), for signed values */
} plot_colormap;

/* A data rectangle on the canvas: pixel box and the data range it shows. */
typedef struct plot_panel {
    double x, y, w, h;
    double xmin, xmax, ymin, ymax;
} plot_panel;

typedef struct plot_rgb {
    double r, g, b;
} plot_rgb;

plot_canvas *plot_open(int width, int height);  /* white background; NULL on failure */
void plot_close(plot_canvas *c);
/* Write the canvas as PNG, atomically (temporary name, then rename). */
cvg_status plot_save_png(plot_canvas *c, const char *path);

/* Text: anchor 0 = left, 0.5 = centre, 1 = right of x; y is the baseline. */
void plot_text(plot_canvas *c, double x, double y, double size, double anchor, int bold,
               const char *text);
/* The colour of later text (default near-black). */
void plot_text_color(plot_canvas *c, plot_rgb color);
void plot_text_vertical(plot_canvas *c, double x, double y, double size, const char *text);

/* Frame, ticks with labels (about `ticks` of them, at round values) and axis labels. */
void plot_axes(plot_canvas *c, const plot_panel *p, const char *xlabel, const char *ylabel,
               int ticks);
/* Matrix (rows x cols, row-major) as cells filling the panel, row 0 at the top. */
void plot_heatmap(plot_canvas *c, const plot_panel *p, const double *m, int64_t rows,
                  int64_t cols, double vmin, double vmax, plot_colormap map);
/* A vertical colour bar at (x, y, w, h) with ticks and a label. */
void plot_colorbar(plot_canvas *c, double x, double y, double w, double h, double vmin,
                   double vmax, plot_colormap map, const char *label);
void plot_line(plot_canvas *c, const plot_panel *p, const double *xs, const double *ys,
               int64_t n, plot_rgb color, double width);
void plot_points(plot_canvas *c, const plot_panel *p, const double *xs, const double *ys,
                 int64_t n, plot_rgb color, double radius);
/* A filled rectangle with a thin white border (for tree and bar diagrams). */
void plot_box(plot_canvas *c, double x, double y, double w, double h, plot_rgb fill);
/* A filled rectangle, no border. */
void plot_fill(plot_canvas *c, double x, double y, double w, double h, plot_rgb fill);
/* A legend box with coloured line samples, top-left at (x, y). */
void plot_legend(plot_canvas *c, double x, double y, const char *const *labels,
                 const plot_rgb *colors, int n);

/* Categorical axes (names on bands rather than numbers on a scale). */
typedef enum plot_label_rotation {
    PLOT_LABELS_AUTO = 0,    /* x labels turned when the widest is wider than a column - 6 px */
    PLOT_LABELS_HORIZONTAL,
    PLOT_LABELS_VERTICAL     /* x labels turned 90 degrees, reading downwards */
} plot_label_rotation;

/* Width in pixels (advance) of text at font size `size`; c may be NULL (measured apart, for
 * laying out a canvas before it is opened). */
double plot_text_width(plot_canvas *c, double size, int bold, const char *text);
/* The widest of n labels (0 for none). */
double plot_labels_width(const char *const *names, int n, double size);
/* Whether plot_category_axes turns x labels on columns `band` pixels wide. */
int plot_labels_rotated(const char *const *names, int n, double size, double band,
                        plot_label_rotation rotation);

/* Frame and categorical labels of a panel cut into nx equal columns and ny equal rows (the
 * cells of plot_heatmap): xnames[j] centred under column j, ynames[i] right-aligned left of
 * row i (row 0 at the top), a short tick at each, font size `size`. Either side may be left
 * out (names NULL, count 0). *depth (may be NULL) receives how far below the panel the x
 * labels reach, in pixels, for placing an axis title beneath. CVG_ERR_ARG for a NULL canvas
 * or panel, a panel of no area, negative counts, a count without names or a NULL name, or a
 * size that is not positive. */
cvg_status plot_category_axes(plot_canvas *c, const plot_panel *p, const char *const *xnames,
                              int nx, const char *const *ynames, int ny, double size,
                              plot_label_rotation rotation, double *depth);

/* Over a heatmap drawn on panel p: cells with defined[i*cols+j] == 0 (defined may be NULL:
 * all defined) hatched grey; and when size > 0, every cell's value ("%.2f", "%.0f" from 100,
 * "n/a" when undefined) printed at its centre in black or white, whichever reads on the
 * cell's colour under map from vmin to vmax. */
void plot_heatmap_annotate(plot_canvas *c, const plot_panel *p, const double *m,
                           const unsigned char *defined, int64_t rows, int64_t cols, double vmin,
                           double vmax, plot_colormap map, double size);

/* A round tick step for [lo, hi] with about `ticks` ticks: 1, 2 or 5 times a power of ten. */
double plot_tick_step(double lo, double hi, int ticks);
/* A tick's label with as many decimals as the step needs ("0.25", "40"). */
void plot_format_tick(double v, double step, char *buf, size_t cap);

plot_rgb plot_colormap_value(plot_colormap map, double t); /* t in [0, 1] */
/* Distinct colours for series i = 0, 1, ... */
plot_rgb plot_series_color(int i);

#endif
