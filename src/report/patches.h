/* Input patches: what a unit responds to, shown as the crops of its top-9 input images to the
 * receptive fields of its highest activations (the paper's Fig. 2, 4, 5 and 12), and a first
 * layer's filters as images. */
#ifndef CVG_REPORT_PATCHES_H
#define CVG_REPORT_PATCHES_H

#include <stdint.h>

#include "convergent.h"
#include "plot/plot.h"

/* The pixels of image (height x width, row-major) inside box = {y0, x0, y1, x1} (inclusive),
 * clipped to the image, into out (row-major, room for the box's pixels). clipped receives the
 * clipped box. Returns 0 when no pixel of the box lies in the image. */
int patch_crop(const float *image, int height, int width, const int64_t box[4], double *out,
               int64_t clipped[4]);

/* Everything needed to draw the units of one layer. */
typedef struct patch_layer {
    const float *images;   /* count x height x width, pixel / 255 (one channel) */
    int64_t count;
    int height, width;
    const double *top;     /* (D, CVG_TOP_K, 7): image, y, x, box y0, x0, y1, x1; -1: none */
    const double *top_value; /* (D, CVG_TOP_K) */
    int64_t D;
    int field;             /* the largest receptive-field side among the entries, pixels */
    int cell;              /* side of one patch on the canvas: an integer multiple of field */
    const float *filters;  /* filter_units x (fk * fk) weights of a first layer, or NULL */
    int64_t filter_units;  /* units [0, filter_units) have a filter */
    int fk;
} patch_layer;

/* Fill field and cell from the entries (the scale: an integer >= 2 giving cells of ~36 px).
 * Returns 0 if an entry lies outside the images (an index beyond count). */
int patch_layer_measure(patch_layer *p);

/* Side in pixels of a unit's grid of grid x grid patches (frame included). */
int patch_grid_side(const patch_layer *p, int grid);

/* Unit u's top grid*grid patches (best first, row by row) at (x, y), framed in colour. Parts of
 * a receptive field cut off by the image border are drawn pale blue, missing entries pale grey. */
void patch_draw_unit(plot_canvas *c, double x, double y, const patch_layer *p, int64_t u,
                     int grid, plot_rgb frame);

/* Unit u's filter (fk x fk, black = most negative, white = most positive weight, 0 grey) in a
 * side x side square at (x, y); nothing if u has none. */
void patch_draw_filter(plot_canvas *c, double x, double y, double side, const patch_layer *p,
                       int64_t u);

/* The colours of net 1 and net 2 frames. */
plot_rgb patch_net_color(int net);

#endif
