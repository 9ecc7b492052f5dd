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

#ifdef __cplusplus
}
#endif
#endif /* CONVERGENT_REPORT_H */
