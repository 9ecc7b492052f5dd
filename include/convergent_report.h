/*
 * convergent report: the HTML report of a results directory and labelled heatmap figures.
 * Part of the public API of libconvergent; the conventions are in convergent_core.h.
 */
#ifndef CONVERGENT_REPORT_H
#define CONVERGENT_REPORT_H

#include "convergent_core.h"
#include "convergent_analysis.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- the report */

/* Draw every figure the results directory allows and write one HTML page (figures in
 * figures/ beside it). The results directory holds stats/ (convergent stats, mi) and, when
 * they were run, match/ (convergent match) and the other analyses' outputs; figures whose data
 * is missing are left out with a note. */
CVG_API cvg_status cvg_report_write(const char *results_dir, const char *html_path);
/* The same, reading results_dir but naming it shown_name on the page: a report written into
 * a result set being built (docs/reliability.md) names the directory it will be published as. */
CVG_API cvg_status cvg_report_write_as(const char *results_dir, const char *html_path, const char *shown_name);

/* ---- drawing */

/* A labelled matrix as a PNG heatmap, as 'convergent similarity' draws a measure between
 * every layer of one network (rows) and every layer of another (columns): the title, axis
 * titles, row and column names (column names turned when they do not fit), a viridis colour
 * bar from vmin to vmax, the values printed in cells large enough to hold them, and cells with
 * defined[i * cols + j] == 0 hatched grey ("n/a"). Written atomically. CVG_ERR_ARG for a
 * missing matrix, name or path, or a matrix too large for one image (cells are 26 to 90 px). */
typedef struct cvg_heatmap {
    const char *title;                 /* above the matrix; may be NULL */
    const char *row_title, *col_title; /* axis titles; may be NULL */
    const char *const *row_names;      /* rows names */
    const char *const *col_names;      /* cols names */
    int rows, cols;
    const double *values;              /* rows x cols, row-major */
    const unsigned char *defined;      /* rows x cols, or NULL: every cell defined */
    double vmin, vmax;                 /* the colour scale; vmax <= vmin: vmin to vmin + 1 */
    const char *bar_label;             /* beside the colour bar; may be NULL */
} cvg_heatmap;

CVG_API cvg_status cvg_heatmap_png(const char *png, const cvg_heatmap *h);

/* The heatmap of one measure of a layer-by-layer similarity: the layers of net_a as rows,
 * those of net_b as columns, on the measure's natural scale ([0, 1] for CKA and the CCA
 * family, from 0 to the largest value for the Procrustes distance and the Gaussian MI). */
CVG_API cvg_status cvg_layer_similarity_heatmap(const char *png, const cvg_layer_similarity *s,
                                                cvg_measure m);

/* Curves (x, y) of several series in one panel, as a PNG: time or memory against size, say,
 * as bench/scale_bench.py draws them. Each series is a line through its points with a dot at
 * each; on a log axis points <= 0 are left out, and any non-finite point too (the line breaks
 * there). The axes span every drawn point (with a margin); on a log axis the ticks are at
 * 1, 2, 5 x 10^k, or at powers of ten only when the range is wide; x ticks may be given. The
 * legend of the named series is right of the panel. Written atomically. CVG_ERR_ARG for a
 * NULL path, plot or series array, n_series < 1, a series with n < 0 or without x or y, a
 * size outside [200, 4000] pixels, or no point that can be drawn. */
typedef struct cvg_series {
    const char *name;     /* legend entry; NULL: not in the legend */
    const double *x, *y;  /* n points each */
    int n;
    int color;            /* index into the palette of distinct colours (cycles after 8) */
    int dashed;           /* nonzero: a dashed line (e.g. the peer beside our solid one) */
} cvg_series;

typedef struct cvg_lines {
    const char *title;            /* above the panel; may be NULL */
    const char *x_label, *y_label;/* axis titles; may be NULL */
    int log_x, log_y;             /* nonzero: base-10 logarithmic axis */
    const cvg_series *series;
    int n_series;
    const double *x_ticks;        /* where to put the x ticks (e.g. the sizes measured); */
    int n_x_ticks;                /*   NULL or 0: chosen from the range */
    int width, height;            /* pixels; 0: 760 x 500 */
} cvg_lines;

CVG_API cvg_status cvg_lines_png(const char *png, const cvg_lines *plot);

#ifdef __cplusplus
}
#endif
#endif /* CONVERGENT_REPORT_H */
