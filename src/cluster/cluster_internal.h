/* Internal pieces of the spectral clustering (src/cluster): seeded RNG, Laplacian
 * eigensolvers, k-means. Shared with the tests, which check each piece on its own. */
#ifndef CVG_CLUSTER_INTERNAL_H
#define CVG_CLUSTER_INTERNAL_H

#include <stdint.h>

#include "convergent.h"
#include "core/internal.h"

/* The edge weight of the paper's graph from a correlation matrix (row-major, n x n):
 * w = (c_pq + c_qp) / 2 when that exceeds tau and p != q, else 0. */
static inline double cvg__edge(const double *corr, int64_t n, int64_t p, int64_t q, double tau)
{
    if (p == q) return 0.0;
    double c = 0.5 * (corr[p * n + q] + corr[q * n + p]);
    return c > tau ? c : 0.0;
}

/* What cvg__laplacian_eigs computes. */
typedef struct cvg__eig_request {
    int nev;                /* the nev smallest eigenvalues (and their Ritz vectors) */
    int nvec;               /* leading eigenvectors wanted to full accuracy (<= nev); 0: as
                               many as the eigen-gap rule over [gap_lo, gap_hi] picks */
    int gap_lo, gap_hi;
    cvg_eigensolver method; /* CVG_EIG_AUTO: dense for small problems */
    uint64_t seed;          /* the Krylov start block */
    cvg_progress_fn progress;
    void *progress_user;
} cvg__eig_request;

/* The smallest eigenpairs of L = diag(d) - W for an n-vertex graph.
 *   A: n x n, column-major (element (i, j) at A[i + j*n]); on entry its strict upper triangle
 *      (i < j) holds W; the rest is workspace. On return the strict upper triangle still holds
 *      W, the diagonal is zero, the strict lower triangle is garbage. So afterwards
 *      dsymm(Upper, A) multiplies by W.
 *   d: the n degrees (row sums of W).
 *   vals: nev eigenvalues ascending; vecs: n x nev column-major, orthonormal (may be NULL).
 * Dense (dsyevr): all exact. Krylov: the wanted eigenvectors have ||L v - lambda v|| <=
 * 1e-9 ||L||, the eigenvalues beyond them are Ritz values that stopped moving (1e-6 ||L||); it
 * falls back to dense if it does not converge. iterations (may be NULL): Krylov restarts used
 * (0 for dense). */
cvg_status cvg__laplacian_eigs(int64_t n, double *A, const double *d,
                               const cvg__eig_request *rq, double *vals, double *vecs,
                               int *iterations);

/* k-means on the rows of X (n x dim, row-major): greedy k-means++ seeding (2 + ln k trials per
 * centre), Lloyd iterations until no label changes (or max_iter), an emptied cluster takes
 * the point farthest from its centre; `restarts` runs on independent RNG streams of seed, the
 * lowest inertia wins (ties: the earlier run). labels: n entries in [0, k). Requires
 * 1 <= k <= n. inertia (may be NULL): sum of squared distances to the assigned centres. */
cvg_status cvg__kmeans(int64_t n, int dim, const double *X, int k, int restarts, int max_iter,
                       uint64_t seed, int32_t *labels, double *inertia);

/* Local refinement after k-means (refine.c): single-unit moves, visiting units in `order`
 * (a permutation of 0..n-1), each to the cluster that raises the ratio association
 * sum_c W(c,c)/|c| most, until a sweep moves nothing (or max_sweeps). W: w_ij = A[min + max*n]
 * (the strict upper triangle of A, n x n column-major) times scale[i] scale[j] (scale may be
 * NULL). labels (n entries in [0, k), every cluster non-empty) are updated in place; no cluster
 * is emptied. moves (may be NULL): units moved. */
cvg_status cvg__refine_assoc(int64_t n, const double *A, const double *scale,
                             const int64_t *order, int k, int max_sweeps, int32_t *labels,
                             int64_t *moves);

/* The eigen-gap rule: the i in [lo, hi] (1-based) maximizing vals[i] - vals[i-1], i.e.
 * lambda_{i+1} - lambda_i; needs count >= hi + 1. Ties: the smallest i. */
int cvg__eigengap_k(const double *vals, int count, int lo, int hi);

#endif
