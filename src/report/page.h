/* The report page under construction, and the HTML and JSON helpers its sections share. */
#ifndef CVG_REPORT_PAGE_H
#define CVG_REPORT_PAGE_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "core/internal.h"

typedef struct patch_cache patch_cache;

typedef struct report {
    const char *results;
    const char *shown;  /* the results directory's name on the page */
    char *fig_dir;      /* where PNGs go */
    char *link_root;    /* prefix of links from the page to results files */
    FILE *html;
    int figures;
    patch_cache *patches; /* the input images of the patch figures, loaded when first needed */
    int patches_missing;  /* layers whose patch figures could not be drawn */
} report;

/* One layer's statistics as the sections use them. Net k's units are columns
 * [offset[k], offset[k + 1]) of the D = offset[K] columns of corr.npy (D x D), mean (D,) and the
 * reservoir; with equal widths offset[k] = k * S. */
typedef struct layer_data {
    const char *name;
    int K;
    int64_t S, samples;    /* S: units per net, 0 when the nets' widths differ */
    cvg_stats_matrix *corr; /* corr.npy, open from load_layer until the page is written */
    const int64_t *offset; /* K + 1 entries (corr's): net k's units are [offset[k], offset[k + 1]) of D */
    double *pair; /* K >= 2: the n x n correlations of nets 1 and 2, n = S_1 + S_2 (pair_size;
                     [net1 | net2] rows and columns, corr.npy's blocks of the pair), read while
                     the layer is drawn */
    double *mean;
    char conv_samples[16]; /* meta.json's "conv_samples" ("" for a fc layer) */
} layer_data;

/* Units of net k (0-based) of the layer. */
static inline int64_t layer_width(const layer_data *L, int k) { return L->offset[k + 1] - L->offset[k]; }
/* The side of L->pair: nets 1 and 2's units, net 2's starting at layer_width(L, 0). */
static inline int64_t pair_size(const layer_data *L) { return layer_width(L, 0) + layer_width(L, 1); }

void put(report *r, const char *fmt, ...) CVG_PRINTF(2, 3);
void put_escaped(report *r, const char *s);
/* An <img> with a caption; the figure file name is relative to the page's figures/. */
void put_figure(report *r, const char *file, const char *caption);
/* A link to rel, a path relative to the results directory. */
void put_link(report *r, const char *rel, const char *text);
/* fig_dir/name, malloc'd. */
char *fig_path(report *r, const char *name);

/* NULL if the file is missing or not JSON. */
cJSON *read_json(const char *path);
double json_number(const cJSON *o, const char *key, double fallback);

#endif
