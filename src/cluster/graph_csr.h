/* The thresholded similarity graph W stored sparse (compressed sparse rows), its connected
 * components, and the products with L = D - W that the sparse eigensolver needs
 * (docs/clustering.md, "Sparse graph"). Memory: 12 bytes per stored entry (both directions of
 * each edge) plus O(n); no n x n array. */
#ifndef CVG_GRAPH_CSR_H
#define CVG_GRAPH_CSR_H

#include <stdint.h>

#include "convergent.h"

typedef struct cvg__csr {
    int64_t n;        /* vertices */
    int64_t *start;   /* n + 1: row i's entries are [start[i], start[i+1]) */
    int32_t *col;     /* neighbour of each entry (in the order the build found them) */
    double *w;        /* weight of each entry (> 0) */
    double *degree;   /* n: row sums of W */
} cvg__csr;

/* The graph of the paper on the units u[0..m) (ascending) of the n x n row-major correlation
 * matrix corr: w_pq = (c_pq + c_qp) / 2 where that exceeds tau and p != q (cvg__edge), vertex i
 * being unit u[i]. Two passes over the upper triangle (count, fill): O(m^2) time, O(edges)
 * memory. */
cvg_status cvg__csr_build(const double *corr, int64_t n, const int64_t *u, int64_t m, double tau,
                          cvg__csr *g);

/* The sub-graph of g on the vertices keep[0..m) (ascending); degrees recomputed within it. */
cvg_status cvg__csr_subgraph(const cvg__csr *g, const int64_t *keep, int64_t m, cvg__csr *out);

void cvg__csr_free(cvg__csr *g);

/* Stored entries (twice the number of edges). */
static inline int64_t cvg__csr_entries(const cvg__csr *g) { return g->start[g->n]; }

/* Connected components by breadth-first search from the lowest unvisited vertex, so component
 * ids ascend with their lowest vertex. comp: n ids; returns the number of components, or -1 if
 * out of memory. A vertex without edges is a component of its own. */
int64_t cvg__csr_components(const cvg__csr *g, int32_t *comp);

/* Y := L X - shift X for `cols` row-major columns (X, Y: n x cols, element (i, c) at
 * [i * cols + c]), L = diag(degree) - W; optionally with the vertex scaling s (n entries, may
 * be NULL): Y := diag(s) L diag(s) X - shift X. Rows in parallel (OpenMP). */
void cvg__csr_laplacian_mul(const cvg__csr *g, const double *s, double shift, const double *X,
                            double *Y, int cols);

#endif
