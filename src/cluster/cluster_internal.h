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
    cvg_eigensolver *used;  /* may be NULL: receives the method that produced the result */
    int64_t krylov_from;    /* sparse path: components of at least this many vertices use the
                               filtered Krylov when its basis fits in half of them; 0: the
                               default (512 vertices, basis at most a quarter). For tests. */
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

/* An operator for cvg__block_krylov (krylov.c), on column-major n x cols blocks. */
typedef struct cvg__krylov_op {
    int64_t n;
    double norm_l;        /* an upper bound on ||L||: tolerances are relative to it */
    const double *lock;   /* n x nlock orthonormal eigenvectors of L kept out of the basis */
    int nlock;
    void *ctx;
    void (*apply_l)(void *ctx, const double *V, double *LV, int cols);  /* LV := L V */
    cvg_status (*apply_op)(void *ctx, double *Y, int cols); /* Y := f(L) Y in place, f large
                                                                on the wanted (lowest) end */
    void (*observe)(void *ctx, const double *theta, int b); /* may be NULL: the b lowest Ritz
                                                                values after each restart */
} cvg__krylov_op;

/* Restarted block Krylov with block size b (basis cvg__krylov_basis(b) columns, which must be
 * at most n - nlock): the rq->nev lowest eigenpairs of L outside the locked vectors, the
 * rq->nvec first (or as the eigen-gap rule picks, nvec = 0) with ||L v - lambda v|| <= 1e-8
 * ||L||. Returns CVG_OK with *converged = 0 if 25 restarts did not converge (vals, vecs then
 * untouched); fails only on allocation, LAPACK or cancellation. */
cvg_status cvg__block_krylov(const cvg__krylov_op *op, const cvg__eig_request *rq, int b,
                             double *vals, double *vecs, int *iterations, int *converged);
int cvg__krylov_basis(int b);

/* The connected components of a graph and the order in which their null vectors come first
 * in the spectrum (docs/clustering.md, "Components and the null space"): by size, largest
 * first, ties by the lowest vertex. */
struct cvg__csr;
typedef struct cvg__components {
    int64_t count;
    int32_t *comp;   /* n: each vertex's component (ids ascend with their lowest vertex) */
    int64_t *size;   /* count */
    int32_t *rank;   /* count: the components in null-space order */
} cvg__components;

cvg_status cvg__components_find(const struct cvg__csr *g, cvg__components *c);
void cvg__components_free(cvg__components *c);

/* Columns 0 .. min(count, nev) - 1 of vecs (n x nev, column-major) := the normalized indicator
 * vectors of the components in rank order, weighted by sqrt(weight) when weight is not NULL
 * (the random-walk form's null space is D^{1/2} 1_C), and those vals := 0. Any solver's null
 * space is some rotation of these; fixing them makes every path give the same embedding. */
void cvg__null_space(int64_t n, const cvg__components *c, const double *weight, int nev,
                     double *vals, double *vecs);

/* Columns first .. nev-1 of vecs: an eigenvector of a nonzero eigenvalue of a graph with
 * several components lies on one component unless components share that eigenvalue; a dense
 * solver leaves rounding noise (~1e-17) on the others, which the sparse path (one component
 * at a time) does not have. Where all but 1e-10 of a vector's squared mass is on one
 * component, the rest is set to 0 and the vector renormalized, so units whose rows would be
 * identical are identical on every path (k-means ties then break the same way). */
void cvg__localize(int64_t n, const cvg__components *c, int first, int nev, double *vecs);

/* The smallest eigenpairs of L = D - W (or of diag(s) L diag(s) when s is not NULL: the
 * random-walk form with s = D^{-1/2}) on the sparse graph g, in O(edges + n nev) memory: the
 * null space from cvg__null_space, then each component's nonzero eigenpairs (dense dsyevr on
 * small components, Chebyshev-filtered block Krylov with the component's null vector locked on
 * large ones), merged in ascending order (ties: component rank, then index). vals: rq->nev,
 * vecs: n x nev column-major; every returned pair to the Krylov tolerance (rq->nvec is not
 * used). iterations (may be NULL): the most Krylov restarts any component took. */
cvg_status cvg__sparse_laplacian_eigs(const struct cvg__csr *g, const double *s,
                                      const cvg__components *comps, const cvg__eig_request *rq,
                                      double *vals, double *vecs, int *iterations);

/* k-means on the rows of X (n x dim, row-major): greedy k-means++ seeding (2 + ln k trials per
 * centre), Lloyd iterations until no label changes (or max_iter), an emptied cluster takes
 * the point farthest from its centre; `restarts` runs on independent RNG streams of seed, the
 * lowest inertia wins (ties: the earlier run). labels: n entries in [0, k). Requires
 * 1 <= k <= n. inertia (may be NULL): sum of squared distances to the assigned centres. */
cvg_status cvg__kmeans(int64_t n, int dim, const double *X, int k, int restarts, int max_iter,
                       uint64_t seed, int32_t *labels, double *inertia);

/* Several independent k-means (each as cvg__kmeans, with the same restarts and max_iter) in
 * one parallel loop over all their restarts: the same labels as one cvg__kmeans call per job,
 * whatever the number of threads. */
typedef struct cvg__kmeans_job {
    int64_t n;
    int dim;
    const double *X; /* n x dim, row-major */
    int k;
    uint64_t seed;
    int32_t *labels; /* out: n */
    double inertia;  /* out */
} cvg__kmeans_job;
cvg_status cvg__kmeans_batch(cvg__kmeans_job *jobs, int count, int restarts, int max_iter);

/* Local refinement after k-means (refine.c): single-unit moves, visiting units in `order`
 * (a permutation of 0..n-1), each to the cluster that raises the ratio association
 * sum_c W(c,c)/|c| most, until a sweep moves nothing (or max_sweeps). W: the sparse graph g
 * (n = g->n vertices). labels (n entries in [0, k), every cluster non-empty) are updated in
 * place; no cluster is emptied. moves (may be NULL): units moved. */
struct cvg__csr;
cvg_status cvg__refine_assoc(const struct cvg__csr *g, const int64_t *order, int k,
                             int max_sweeps, int32_t *labels, int64_t *moves);

/* The eigen-gap rule: the i in [lo, hi] (1-based) maximizing vals[i] - vals[i-1], i.e.
 * lambda_{i+1} - lambda_i; needs count >= hi + 1. Ties: the smallest i. */
int cvg__eigengap_k(const double *vals, int count, int lo, int hi);

#endif
