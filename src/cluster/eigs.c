/* The smallest eigenpairs of a graph Laplacian L = D - W (dense, n up to ~10^4).
 *
 * Two methods:
 *  - dense: LAPACK dsyevr with an index range (tridiagonal reduction, O(n^3) but about half of
 *    it memory-bound BLAS-2 work: slow beyond a few thousand vertices);
 *  - Krylov: shift-invert. One Cholesky factorization of L + sigma*I (BLAS-3), then block
 *    Krylov subspaces [V, A V, A^2 V] with A = (L + sigma*I)^{-1}, fully reorthogonalized,
 *    Rayleigh-Ritz with L itself, restarted from the Ritz vectors until every wanted pair has
 *    ||L v - lambda v|| <= 1e-8 * ||L||. sigma is small against the spectrum, so the wanted
 *    (smallest) eigenvalues of L become the dominant ones of A, separated by ratios
 *    (lambda_i + sigma) / (lambda_j + sigma).
 * Storage: see cvg__laplacian_eigs in cluster_internal.h. Both triangles of one n x n array
 * are used: W stays in the strict upper triangle, L (or its Cholesky factor) goes into the lower
 * one, so the largest problem needs a single n x n buffer. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "core/internal.h"

enum { DENSE_BELOW = 1024 };
/* The shift, relative to the mean degree: small against the spectrum (the separation ratios stay
 * near lambda_k / lambda_j), large enough that L + sigma*I is safely positive definite and the
 * solves' rounding (eps * ||L|| / sigma) stays small. */
static const double SHIFT = 1e-2;

/* Lower triangle and diagonal of A := L + shift*I, read from W in the strict upper triangle.
 * Tiled so that the transposed read stays in cache. */
static void fill_lower(int64_t n, double *A, const double *d, double shift)
{
    const int64_t T = 64;
    for (int64_t j0 = 0; j0 < n; j0 += T) {
        int64_t j1 = j0 + T < n ? j0 + T : n;
        for (int64_t i0 = j0; i0 < n; i0 += T) {
            int64_t i1 = i0 + T < n ? i0 + T : n;
            for (int64_t j = j0; j < j1; j++)
                for (int64_t i = (i0 > j + 1 ? i0 : j + 1); i < i1; i++)
                    A[i + j * n] = -A[j + i * n];
        }
    }
    for (int64_t i = 0; i < n; i++) A[i + i * n] = d[i] + shift;
}

static void zero_diagonal(int64_t n, double *A)
{
    for (int64_t i = 0; i < n; i++) A[i + i * n] = 0.0;
}

static cvg_status eigs_dense(int64_t n, double *A, const double *d, int nev, double *vals,
                             double *vecs)
{
    fill_lower(n, A, d, 0.0);
    double *w = cvg__malloc(sizeof(double) * (size_t)n, "eigenvalues");
    lapack_int *isuppz = cvg__malloc(sizeof(lapack_int) * 2 * (size_t)n, "eigenvector supports");
    if (!w || !isuppz) {
        free(w);
        free(isuppz);
        return CVG_ERR_NOMEM;
    }
    lapack_int m = 0;
    double dummy = 0.0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, vecs ? 'V' : 'N', 'I', 'L', (lapack_int)n,
                                     A, (lapack_int)n, 0.0, 0.0, 1, nev, 0.0, &m, w,
                                     vecs ? vecs : &dummy, vecs ? (lapack_int)n : 1, isuppz);
    zero_diagonal(n, A);
    cvg_status st = CVG_OK;
    if (info != 0 || m != nev)
        st = cvg__fail(CVG_ERR_NUMERIC, "dsyevr failed on a %lld-vertex Laplacian (info %d)",
                       (long long)n, (int)info);
    else
        memcpy(vals, w, sizeof(double) * (size_t)nev);
    free(w);
    free(isuppz);
    return st;
}

/* ---- the dense shift-invert operator for cvg__block_krylov */

typedef struct dense_op {
    int64_t n;
    double *A;        /* Cholesky factor of L + sigma*I (lower) + W (strict upper) */
    const double *d;  /* degrees */
    double *fd;       /* the factor's diagonal (dsymm reads it as W's diagonal) */
} dense_op;

/* LV := L V for `cols` columns: the dsymm reads W plus the factor's diagonal fd from A. */
static void dense_apply_l(void *ctx, const double *V, double *LV, int cols)
{
    const dense_op *o = ctx;
    int64_t n = o->n;
    cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, (int)n, cols, 1.0, o->A, (int)n, V, (int)n,
                0.0, LV, (int)n);
    for (int j = 0; j < cols; j++) {
        const double *v = V + (size_t)j * n;
        double *lv = LV + (size_t)j * n;
        for (int64_t i = 0; i < n; i++) lv[i] = (o->d[i] + o->fd[i]) * v[i] - lv[i];
    }
}

/* Y := (L + sigma I)^{-1} Y by the factor. */
static cvg_status dense_apply_inverse(void *ctx, double *Y, int cols)
{
    const dense_op *o = ctx;
    lapack_int info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (lapack_int)o->n, cols, o->A,
                                     (lapack_int)o->n, Y, (lapack_int)o->n);
    if (info != 0) return cvg__fail(CVG_ERR_NUMERIC, "dpotrs failed (info %d)", (int)info);
    return CVG_OK;
}

/* Returns CVG_OK with *converged set; fails only on allocation, LAPACK or cancellation. */
static cvg_status eigs_krylov(int64_t n, double *A, const double *d, const cvg__eig_request *rq,
                              int b, double *vals, double *vecs, int *iterations, int *converged)
{
    *converged = 0;
    double dsum = 0.0, dmax = 0.0;
    for (int64_t i = 0; i < n; i++) {
        dsum += d[i];
        if (d[i] > dmax) dmax = d[i];
    }
    if (dmax <= 0.0) return CVG_OK; /* the empty graph: let the dense method say 0s */
    double sigma = SHIFT * dsum / (double)n;

    lapack_int info = 1;
    for (int attempt = 0; attempt < 3 && info != 0; attempt++, sigma *= 100.0) {
        fill_lower(n, A, d, sigma);
        info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)n, A, (lapack_int)n);
    }
    if (info != 0) {
        cvg__log(CVG_LOG_WARN, "cluster: Cholesky of L + sigma*I failed (info %d)", (int)info);
        zero_diagonal(n, A);
        return CVG_OK;
    }
    dense_op o = {.n = n, .A = A, .d = d};
    o.fd = cvg__malloc(sizeof(double) * (size_t)n, "Krylov workspace");
    cvg_status st = CVG_ERR_NOMEM;
    if (o.fd) {
        for (int64_t i = 0; i < n; i++) o.fd[i] = A[i + i * n];
        cvg__krylov_op op = {.n = n, .norm_l = 2.0 * dmax, /* Gershgorin bound on ||L|| */
                             .ctx = &o, .apply_l = dense_apply_l,
                             .apply_op = dense_apply_inverse};
        st = cvg__block_krylov(&op, rq, b, vals, vecs, iterations, converged);
    }
    free(o.fd);
    zero_diagonal(n, A);
    return st;
}

cvg_status cvg__laplacian_eigs(int64_t n, double *A, const double *d,
                               const cvg__eig_request *rq, double *vals, double *vecs,
                               int *iterations)
{
    int nev = rq ? rq->nev : 0;
    if (!rq || n < 1 || nev < 1 || nev > n || rq->nvec < 0 || rq->nvec > nev || !A || !d || !vals)
        return cvg__fail(CVG_ERR_ARG, "laplacian eigenpairs: bad arguments (n %lld, nev %d)",
                         (long long)n, nev);
    if (iterations) *iterations = 0;
    /* Block: the wanted pairs plus a margin, so the boundary pairs converge at the rate of
     * lambda_nev / lambda_{b+1} rather than lambda_nev / lambda_{nev+1}. */
    int b = nev + (nev / 4 > 8 ? nev / 4 : 8);
    int64_t m = cvg__krylov_basis(b);
    /* Measured (docs/clustering.md): the Krylov method wins from about 1000 vertices when its
     * basis is small against n; with a basis above n/4 the dense method is faster. */
    int krylov_fits = 4 * m <= n, krylov_possible = 2 * m <= n;
    cvg_eigensolver method = rq->method;
    if (method == CVG_EIG_AUTO || method == CVG_EIG_SPARSE) method = (n >= DENSE_BELOW && krylov_fits) ? CVG_EIG_KRYLOV
                                                                          : CVG_EIG_DENSE;
    if (method == CVG_EIG_KRYLOV && krylov_possible) {
        int converged = 0;
        cvg_status st = eigs_krylov(n, A, d, rq, b, vals, vecs, iterations, &converged);
        if (st == CVG_OK && converged && rq->used) *rq->used = CVG_EIG_KRYLOV;
        if (st != CVG_OK || converged) return st;
        cvg__log(CVG_LOG_WARN,
                 "cluster: block Krylov did not converge on %lld vertices; using dsyevr",
                 (long long)n);
    }
    if (rq->used) *rq->used = CVG_EIG_DENSE;
    return eigs_dense(n, A, d, nev, vals, vecs);
}

int cvg__eigengap_k(const double *vals, int count, int lo, int hi)
{
    if (lo < 1) lo = 1; /* gap i needs lambda_i: vals[i - 1] */
    if (hi > count - 1) hi = count - 1;
    if (hi < lo) return lo;
    int best = lo;
    double best_gap = -1.0;
    for (int i = lo; i <= hi; i++) {
        double gap = vals[i] - vals[i - 1];
        if (gap > best_gap) {
            best_gap = gap;
            best = i;
        }
    }
    return best;
}
