/* Cropping input images to receptive fields and drawing a unit's patches as a grid. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "report/patches.h"

int patch_crop(const float *image, int height, int width, const int64_t box[4], double *out,
               int64_t clipped[4])
{
    const int64_t y0 = box[0] < 0 ? 0 : box[0], x0 = box[1] < 0 ? 0 : box[1];
    const int64_t y1 = box[2] >= height ? height - 1 : box[2], x1 = box[3] >= width ? width - 1 : box[3];
    clipped[0] = y0, clipped[1] = x0, clipped[2] = y1, clipped[3] = x1;
    if (y1 < y0 || x1 < x0) return 0;
    const int64_t w = x1 - x0 + 1;
    for (int64_t y = y0; y <= y1; y++)
        for (int64_t x = x0; x <= x1; x++) out[(y - y0) * w + (x - x0)] = image[y * width + x];
    return 1;
}

static const double *entry(const patch_layer *p, int64_t u, int e)
{
    return p->top + (u * CVG_TOP_K + e) * 7;
}

int patch_layer_measure(patch_layer *p)
{
    int field = 1;
    for (int64_t u = 0; u < p->D; u++)
        for (int e = 0; e < CVG_TOP_K; e++) {
            const double *t = entry(p, u, e);
            if (t[0] < 0) continue;
            if (t[0] >= (double)p->count) return 0;
            const int h = (int)(fmin(t[5], p->height - 1) - fmax(t[3], 0)) + 1;
            const int w = (int)(fmin(t[6], p->width - 1) - fmax(t[4], 0)) + 1;
            if (h > field) field = h;
            if (w > field) field = w;
        }
    int scale = (int)lround(36.0 / field);
    p->field = field;
    p->cell = field * (scale < 2 ? 2 : scale);
    return 1;
}

int patch_grid_side(const patch_layer *p, int grid)
{
    return grid * p->cell + (grid - 1) + 4; /* 1 px between cells, a 2 px frame */
}

/* One patch: the cropped box scaled into a cell, placed where the cut-off part would be. */
static void draw_patch(plot_canvas *c, double x, double y, const patch_layer *p, const double *t,
                       double *buf)
{
    const double s = (double)p->cell / p->field;
    const int64_t box[4] = {(int64_t)t[3], (int64_t)t[4], (int64_t)t[5], (int64_t)t[6]};
    int64_t cl[4];
    plot_fill(c, x, y, p->cell, p->cell, (plot_rgb){0.78, 0.85, 0.95});
    if (!patch_crop(p->images + (int64_t)t[0] * p->height * p->width, p->height, p->width, box, buf, cl)) return;
    const int64_t h = cl[2] - cl[0] + 1, w = cl[3] - cl[1] + 1;
    /* a field cut at the top (left) border keeps its lower (right) part: align to the bottom */
    const double dy = cl[0] == 0 && cl[2] < p->height - 1 ? (double)(p->field - h) : 0;
    const double dx = cl[1] == 0 && cl[3] < p->width - 1 ? (double)(p->field - w) : 0;
    plot_panel pan = {x + dx * s, y + dy * s, (double)w * s, (double)h * s, 0, 1, 0, 1};
    plot_heatmap(c, &pan, buf, h, w, 0, 1, PLOT_GRAY);
}

void patch_draw_unit(plot_canvas *c, double x, double y, const patch_layer *p, int64_t u,
                     int grid, plot_rgb frame)
{
    const int side = patch_grid_side(p, grid);
    plot_fill(c, x, y, side, side, frame);
    double *buf = malloc((size_t)p->height * (size_t)p->width * sizeof *buf);
    for (int e = 0; e < grid * grid; e++) {
        const double cx = x + 2 + (e % grid) * (p->cell + 1), cy = y + 2 + (e / grid) * (p->cell + 1);
        const double *t = entry(p, u, e);
        if (e >= CVG_TOP_K || t[0] < 0 || !buf) plot_fill(c, cx, cy, p->cell, p->cell, (plot_rgb){0.93, 0.93, 0.93});
        else draw_patch(c, cx, cy, p, t, buf);
    }
    free(buf);
}

void patch_draw_filter(plot_canvas *c, double x, double y, double side, const patch_layer *p,
                       int64_t u)
{
    if (!p->filters || u < 0 || u >= p->filter_units) return;
    const int n = p->fk * p->fk;
    const float *f = p->filters + u * n;
    double m = 0, *v = malloc((size_t)n * sizeof *v);
    if (!v) return;
    for (int i = 0; i < n; i++) m = fmax(m, fabs(f[i]));
    for (int i = 0; i < n; i++) v[i] = f[i];
    if (!(m > 0)) m = 1;
    plot_panel pan = {x, y, side, side, 0, 1, 0, 1};
    plot_heatmap(c, &pan, v, p->fk, p->fk, -m, m, PLOT_GRAY);
    plot_axes(c, &pan, NULL, NULL, 0);
    free(v);
}

plot_rgb patch_net_color(int net)
{
    return net == 0 ? (plot_rgb){0.12, 0.47, 0.71} : (plot_rgb){0.90, 0.45, 0.05};
}
