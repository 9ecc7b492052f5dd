/* The paper's figures for the networks at hand, each one PNG (drawn with src/plot). */
#ifndef CVG_FIGURES_H
#define CVG_FIGURES_H

#include <stdint.h>

#include "convergent.h"
#include "plot/plot.h"
#include "report/patches.h"

/* Save the canvas as png and close it (also on failure). */
cvg_status fig_finish(plot_canvas *c, const char *png);

/* Fig. 1: within-net correlation of nets a and b, between-net, and between-net permuted by
 * the matching (permuted: S_a x S_b, NULL to leave that panel out). corr is D x D, net k's units
 * at [offset[k], offset[k + 1]). Every panel on one scale (the wider net's units span 230 px), so
 * blocks of nets of different widths are drawn as rectangles. Black = min. */
cvg_status fig_correlation_matrices(const char *png, const char *layer, const double *corr,
                                    int64_t D, const int64_t *offset, int a, int b, const double *permuted);

/* Fig. 1 (d) for nets of different widths: the rows of permuted (S_a x S_b, match_<a>_<b>_
 * permuted.npy, whose columns hold the matched units of net b in the order of their partners,
 * then the unmatched ones) reordered so that the matched rows (match[i] >= 0) come first, in
 * index order, then the others: matched pairs lie on the diagonal of the min(S_a, S_b) square.
 * row_unit (S_a, or NULL) receives the unit of net a of each row. */
void fig_matched_rows_first(const double *permuted, const int64_t *match, int64_t Sa, int64_t Sb,
                            double *out, int64_t *row_unit);

/* Fig. 3 / 8-11: per unit of net a, its semi-matching and matching similarity, units sorted by
 * decreasing semi-matching value. */
cvg_status fig_matching_curve(const char *png, const char *layer, const char *metric,
                              const double *semi, const double *match, int64_t S, int a, int b);

/* Fig. 7: 2-D histograms of reservoir activations for unit pairs (unit of net a, unit of net
 * b): n pairs, with their correlation, shown side by side. samples: rows x 2n, the reservoir's
 * values of pair k's unit of net a in column 2k and of its unit of net b in column 2k + 1. */
typedef struct fig_pair {
    int64_t unit_a, unit_b;
    double corr;
} fig_pair;
cvg_status fig_joint_distributions(const char *png, const char *layer, const float *samples,
                                   int64_t rows, int a, int b, const fig_pair *pairs, int n);

/* Mean activations: per layer the units' means sorted, one line per network. means[l] holds
 * offsets[l][K] values, net k's at [offsets[l][k], offsets[l][k + 1]); where the widths differ
 * the x axis is each unit's rank as a fraction of its net's units. closeness[l] receives the mean over pairs of networks of the Kolmogorov-Smirnov
 * distance between their distributions of unit means (0: identical). */
cvg_status fig_mean_activations(const char *png, const char *const *layers, int nlayers,
                                const double *const *means, int K, const int64_t *const *offsets,
                                double *closeness);

/* Fig. 13: the combined n x n correlation matrix of nets a and b (n = 2S, or S_a + S_b for
 * networks of different widths) with units ordered by cluster (order: n indices, net a's units
 * first in the original indexing); leaf boundaries (bounds: n_bounds offsets into order) drawn
 * as lines. */
cvg_status fig_cluster_matrix(const char *png, const char *layer, const double *w, int64_t n,
                              const int64_t *order, const int64_t *bounds, int n_bounds, int a, int b);

/* Fig. 14: between-net and within-net similarity of every leaf cluster, clusters sorted by
 * decreasing between-net similarity. */
cvg_status fig_cluster_similarity(const char *png, const char *layer, const double *between,
                                  const double *within, int n, int a, int b);

/* Fig. 6: the top levels of the cluster tree as an icicle: one row per depth, each node a box
 * as wide as its share of the units, coloured by between-net similarity, labelled with its
 * size (units of net a + units of net b) where it fits. */
typedef struct fig_tree_node {
    int depth;
    int64_t offset, size, size_a, size_b;
    double between;
} fig_tree_node;
cvg_status fig_cluster_tree(const char *png, const char *layer, const fig_tree_node *nodes,
                            int n, int64_t units, int max_depth, int a, int b);

/* Fig. 2 / 4: the best and worst semi-matched units of net a = 1 (unit_a) with their partners
 * in net b = 2 (unit_b), each shown by its top-9 input patches, with the value (corr: the
 * similarity; metric "corr" or "mi" names it) and, where p has them, the filters. offset: the
 * index in p of unit 0 of net 1 and of net 2. */
cvg_status fig_matched_patches(const char *png, const char *layer, const char *metric,
                               const patch_layer *p, const int64_t offset[2], const fig_pair *best, int nbest,
                               const fig_pair *worst, int nworst);

/* Fig. 5 / 12: clusters of net1 + net2 units, one per row, each unit by its top input patches
 * (3 x 3, or 2 x 2 or the top one where many units must fit; units that still do not fit are
 * counted, "+n"). label: the figure's name ("Fig. 5"). */
typedef struct fig_cluster {
    const int64_t *units_a, *units_b; /* unit indices within net1, net2 */
    int na, nb;
    double between;
    int rank;                         /* 1 = highest between-net similarity */
} fig_cluster;
cvg_status fig_cluster_patches(const char *png, const char *layer, const char *label,
                               const patch_layer *p, const int64_t offset[2], const fig_cluster *cl, int n);

/* The Kolmogorov-Smirnov distance between two samples (sup |F_x - F_y|). */
double ks_distance(const double *x, int64_t nx, const double *y, int64_t ny);

#endif
