/* Heatmap PNGs with cairo: a rows x cols matrix of values with a title, axis titles, row and
 * column labels, a colour bar with ticks, the values printed in the cells when they fit, and
 * undefined cells hatched in grey. Written atomically (temporary file, then rename). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cairo.h>

#include "cli.h"
#include "core/internal.h"

static const double HALF_PI = 1.57079632679489661923;

/* A perceptually ordered dark-blue -> teal -> green -> yellow map (anchors of the viridis
 * family), linearly interpolated. */
static void colour(double t, double *r, double *g, double *b)
{
    static const double A[5][3] = {{0.267, 0.005, 0.329}, {0.229, 0.322, 0.546},
                                   {0.128, 0.567, 0.551}, {0.369, 0.789, 0.383},
                                   {0.993, 0.906, 0.144}};
    if (!(t >= 0)) t = 0;
    if (t > 1) t = 1;
    double x = t * 4;
    int i = (int)x;
    if (i >= 4) i = 3;
    double f = x - i;
    *r = A[i][0] + f * (A[i + 1][0] - A[i][0]);
    *g = A[i][1] + f * (A[i + 1][1] - A[i][1]);
    *b = A[i][2] + f * (A[i + 1][2] - A[i][2]);
}

static cairo_status_t write_chunk(void *closure, const unsigned char *data, unsigned int length)
{
    return fwrite(data, 1, length, (FILE *)closure) == length ? CAIRO_STATUS_SUCCESS
                                                              : CAIRO_STATUS_WRITE_ERROR;
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double align_x)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - align_x * e.x_advance, y);
    cairo_show_text(cr, s);
}

int cli_heatmap_png(const char *path, const char *title, const char *row_title,
                    const char *col_title, char **row_names, int rows, char **col_names, int cols,
                    const double *v, const unsigned char *defined, double vmin, double vmax,
                    const char *bar_label)
{
    if (!(vmax > vmin)) vmax = vmin + 1;
    double cell = 480.0 / (rows > cols ? rows : cols);
    if (cell > 90) cell = 90;
    if (cell < 26) cell = 26;
    /* measure labels with a scratch surface */
    cairo_surface_t *probe = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 8, 8);
    cairo_t *pc = cairo_create(probe);
    cairo_select_font_face(pc, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(pc, 13);
    double row_w = 0, col_w = 0;
    for (int i = 0; i < rows; i++) row_w = fmax(row_w, text_width(pc, row_names[i]));
    for (int j = 0; j < cols; j++) col_w = fmax(col_w, text_width(pc, col_names[j]));
    cairo_select_font_face(pc, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(pc, 16);
    double title_w = text_width(pc, title);
    cairo_destroy(pc);
    cairo_surface_destroy(probe);

    const int rotate = col_w > cell - 6;
    const double left = 40 + row_w + 12, top = 64;
    const double grid_w = cell * cols, grid_h = cell * rows;
    const double bottom = (rotate ? col_w + 16 : 26) + 40;
    double width = left + grid_w + 130;
    if (width < title_w + 40) width = title_w + 40;
    const double height = top + grid_h + bottom;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(width), (int)ceil(height));
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 16);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, width / 2, 30, title, 0.5);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);

    /* cells */
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            const double x = left + j * cell, y = top + i * cell, val = v[i * cols + j];
            const int ok = !defined || defined[i * cols + j];
            double r = 0.85, g = 0.85, b = 0.85;
            if (ok) colour((val - vmin) / (vmax - vmin), &r, &g, &b);
            cairo_set_source_rgb(cr, r, g, b);
            cairo_rectangle(cr, x, y, cell, cell);
            cairo_fill(cr);
            if (!ok) { /* hatch */
                cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
                cairo_set_line_width(cr, 1);
                for (double o = 0; o < 2 * cell; o += 8) {
                    cairo_move_to(cr, x + fmin(o, cell), y + (o < cell ? 0 : o - cell));
                    cairo_line_to(cr, x + (o < cell ? 0 : o - cell), y + fmin(o, cell));
                }
                cairo_stroke(cr);
            }
            if (cell >= 40) {
                char txt[32];
                if (ok) snprintf(txt, sizeof txt, fabs(val) >= 100 ? "%.0f" : "%.2f", val);
                else snprintf(txt, sizeof txt, "n/a");
                const double lum = 0.299 * r + 0.587 * g + 0.114 * b;
                cairo_set_source_rgb(cr, lum > 0.5 ? 0 : 1, lum > 0.5 ? 0 : 1, lum > 0.5 ? 0 : 1);
                cairo_set_font_size(cr, cell >= 60 ? 13 : 11);
                text_at(cr, x + cell / 2, y + cell / 2 + 4, txt, 0.5);
            }
        }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, left, top, grid_w, grid_h);
    cairo_stroke(cr);

    /* labels */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 13);
    for (int i = 0; i < rows; i++) text_at(cr, left - 8, top + i * cell + cell / 2 + 4, row_names[i], 1.0);
    for (int j = 0; j < cols; j++) {
        const double x = left + j * cell + cell / 2;
        if (rotate) {
            cairo_save(cr);
            cairo_move_to(cr, x + 4, top + grid_h + 8);
            cairo_rotate(cr, HALF_PI);
            cairo_show_text(cr, col_names[j]);
            cairo_restore(cr);
        } else {
            text_at(cr, x, top + grid_h + 20, col_names[j], 0.5);
        }
    }
    cairo_set_font_size(cr, 14);
    text_at(cr, left + grid_w / 2, height - 14, col_title, 0.5);
    cairo_save(cr);
    cairo_move_to(cr, 22, top + grid_h / 2 + text_width(cr, row_title) / 2);
    cairo_rotate(cr, -HALF_PI);
    cairo_show_text(cr, row_title);
    cairo_restore(cr);

    /* colour bar */
    const double bx = left + grid_w + 24, bw = 18, bh = grid_h < 160 ? 160 : grid_h;
    for (int k = 0; k < (int)bh; k++) {
        double r, g, b;
        colour(1.0 - (k + 0.5) / bh, &r, &g, &b);
        cairo_set_source_rgb(cr, r, g, b);
        cairo_rectangle(cr, bx, top + k, bw, 1.2);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, bx, top, bw, bh);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 12);
    for (int t = 0; t <= 4; t++) {
        const double val = vmin + (vmax - vmin) * t / 4.0, y = top + bh - bh * t / 4.0;
        char txt[32];
        snprintf(txt, sizeof txt, fabs(vmax - vmin) >= 10 ? "%.0f" : "%.2f", val);
        cairo_move_to(cr, bx + bw, y);
        cairo_line_to(cr, bx + bw + 4, y);
        cairo_stroke(cr);
        text_at(cr, bx + bw + 7, y + 4, txt, 0.0);
    }
    if (bar_label) {
        cairo_save(cr);
        cairo_move_to(cr, bx + bw + 58, top + bh / 2 + text_width(cr, bar_label) / 2);
        cairo_rotate(cr, -HALF_PI);
        cairo_show_text(cr, bar_label);
        cairo_restore(cr);
    }
    cairo_destroy(cr);

    int rc = 0;
    cvg__atomic_file af;
    cvg_status st = cvg__atomic_open(&af, path);
    if (st != CVG_OK) {
        rc = cli_fail(st);
    } else if (cairo_surface_write_to_png_stream(surf, write_chunk, af.fp) != CAIRO_STATUS_SUCCESS) {
        cvg__atomic_abort(&af);
        rc = cli_error("%s: cannot write the PNG", path);
    } else if ((st = cvg__atomic_commit(&af)) != CVG_OK) {
        rc = cli_fail(st);
    }
    cairo_surface_destroy(surf);
    return rc;
}
