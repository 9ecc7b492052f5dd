/* Heatmap cells annotated: undefined cells hatched, values printed in the cells. */
#include <math.h>
#include <stdio.h>

#include "plot/plot_internal.h"

/* Cap height of the font as a fraction of its size: half of it centres a label on a point. */
static const double HALF_CAP = 0.36;

void plot_heatmap_annotate(plot_canvas *c, const plot_panel *p, const double *m,
                           const unsigned char *defined, int64_t rows, int64_t cols, double vmin,
                           double vmax, plot_colormap map, double size)
{
    if (!c || !p || !m || rows <= 0 || cols <= 0) return;
    cairo_t *cr = c->cr;
    const double cw = p->w / (double)cols, ch = p->h / (double)rows;
    const double span = vmax > vmin ? vmax - vmin : 1;
    const plot_rgb saved = c->text;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            const double x = p->x + j * cw, y = p->y + i * ch, v = m[i * cols + j];
            const int ok = !defined || defined[i * cols + j];
            plot_rgb fill = {0.85, 0.85, 0.85};
            if (ok) {
                fill = plot_colormap_value(map, (v - vmin) / span);
            } else {
                plot_fill(c, x, y, cw, ch, fill);
                cairo_save(cr);
                cairo_rectangle(cr, x, y, cw, ch);
                cairo_clip(cr);
                cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
                cairo_set_line_width(cr, 1);
                for (double o = 0; o < cw + ch; o += 8) { /* lines x + y = o, corner to corner */
                    cairo_move_to(cr, x + o, y);
                    cairo_line_to(cr, x, y + o);
                }
                cairo_stroke(cr);
                cairo_restore(cr);
            }
            if (size > 0) {
                char text[32];
                if (!ok) snprintf(text, sizeof text, "n/a");
                else snprintf(text, sizeof text, fabs(v) >= 100 ? "%.0f" : "%.2f", v);
                const double lum = 0.299 * fill.r + 0.587 * fill.g + 0.114 * fill.b;
                c->text = lum > 0.5 ? (plot_rgb){0, 0, 0} : (plot_rgb){1, 1, 1};
                plot_text(c, x + cw / 2, y + ch / 2 + HALF_CAP * size, size, 0.5, 0, text);
            }
        }
    c->text = saved;
}
