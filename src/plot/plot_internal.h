/* Inside src/plot: the canvas, shared by the files that draw on it. */
#ifndef CVG_PLOT_INTERNAL_H
#define CVG_PLOT_INTERNAL_H

#include <cairo.h>

#include "plot/plot.h"

struct plot_canvas {
    cairo_surface_t *surface;
    cairo_t *cr;
    plot_rgb text;
};

/* The font of every label. */
#define PLOT_FONT "DejaVu Sans"

#endif
