/* The result object of cvg_cluster and the steps that fill it after the tree is built. */
#ifndef CVG_CLUSTERING_H
#define CVG_CLUSTERING_H

#include "convergent.h"

struct cvg_clustering {
    int64_t n;                /* vertices: S_a + S_b */
    int64_t S_a, S_b;         /* units of net A (vertices 0 .. S_a - 1) and of net B (the rest) */
    int k, suggested_k;       /* top level */
    int n_eigs;
    double *eigs;             /* n_eigs smallest eigenvalues of the top-level Laplacian */
    int64_t isolated;
    int64_t components;       /* connected components of the graph without its isolated units */
    cvg_eigensolver eigensolver; /* the path that computed the eigenpairs (AUTO: none ran) */
    int n_nodes, n_leaves;
    cvg_cluster_node *nodes;
    int32_t *labels;          /* n */
    int64_t *order;           /* n */
    int32_t *leaf_node;       /* n_leaves */
    int32_t *ranking;         /* n_leaves */
};

/* Given nodes (parent/children/size filled, children contiguous) and each leaf's sorted units
 * (leaf_units[node], NULL for inner nodes), fill leaf indices, offsets, order, labels,
 * leaf_node, the appendix 6.6 metrics and the ranking. */
cvg_status cvg__clustering_finish(cvg_clustering *c, const double *corr, int64_t **leaf_units);

#endif
