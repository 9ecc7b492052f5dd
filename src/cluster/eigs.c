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

enum { DENSE_BELOW = 1024, KRYLOV_DEPTH = 2, KRYLOV_MAX_RESTARTS = 25 };
/* Converged: ||L v - theta v|| <= VEC_TOL * ||L|| for the wanted eigenvectors. When their
 * number is given, the further eigenvalues (for the eigen-gap suggestion only) are the Ritz
 * values at that point: upper bounds, often in a dense bulk where they converge slowly. When the
 * eigen-gap rule picks the number, it must pick the same twice in a row and the eigenvalues
 * beyond it must have moved by at most VAL_TOL * ||L|| in the last restart. */
static const double VEC_TOL = 1e-8;
static const double VAL_TOL = 1e-3;
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

/* ---- Krylov */

typedef struct krylov {
    int64_t n;
    int b, m;          /* block size, subspace size (KRYLOV_DEPTH + 1) * b */
    double *A, *fd;    /* factor (lower) + W (strict upper); the factor's diagonal */
    const double *d;
    double *V, *LV;    /* n x m */
    double *T, *S;     /* m x m, m x b */
    double *theta;     /* m */
    double *U, *LU;    /* n x b */
    double *C;         /* m x b projections */
    double *tau;       /* b Householder scalars */
    unsigned char *flag; /* b */
    cvg__rng rng;
} krylov;

/* Y -= V[:, :start] (V[:, :start]^T Y) for the block Y at column `start`. */
static void project_out(krylov *K, int start, double *Y)
{
    if (start == 0) return;
    int n = (int)K->n, b = K->b;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, start, b, n, 1.0, K->V, n, Y, n, 0.0,
                K->C, start);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, b, start, -1.0, K->V, n, K->C,
                start, 1.0, Y, n);
}

/* Householder QR of Y in place (Y := Q); flag[j] = 1 where |R_jj| <= tol (a column that was
 * numerically in the span of the others). Returns the number flagged, or -1 on failure. */
static int qr_in_place(krylov *K, double *Y, double tol, unsigned char *flag)
{
    int n = (int)K->n, b = K->b, bad = 0;
    if (LAPACKE_dgeqrf(LAPACK_COL_MAJOR, n, b, Y, n, K->tau) != 0) return -1;
    for (int j = 0; j < b; j++) {
        flag[j] = !(fabs(Y[j + (size_t)j * n]) > tol);
        bad += flag[j];
    }
    if (LAPACKE_dorgqr(LAPACK_COL_MAJOR, n, b, b, Y, n, K->tau) != 0) return -1;
    return bad;
}

/* The block Y at column `start` of V := an orthonormal basis of Y with the first `start`
 * columns of V projected out: project, QR, project, QR (block Gram-Schmidt twice; the second
 * pass repairs what the first QR's R^{-1} amplified when Y was nearly rank-deficient, which
 * happens as the Krylov space converges). Columns that vanish are replaced by random
 * directions. */
static cvg_status orth_block(krylov *K, int start)
{
    int64_t n = K->n;
    int b = K->b;
    double *Y = K->V + (size_t)start * n;
    unsigned char *flag = K->flag;
    for (int attempt = 0; attempt < 4; attempt++) {
        double ref = 0.0;
        for (int j = 0; j < b; j++) {
            double s = cblas_dnrm2((int)n, Y + (size_t)j * n, 1);
            if (s > ref) ref = s;
        }
        project_out(K, start, Y);
        int bad = qr_in_place(K, Y, 1e-13 * ref, flag);
        if (bad < 0) return cvg__fail(CVG_ERR_NUMERIC, "Householder QR failed");
        for (int j = 0; j < b; j++)
            if (flag[j] || ref == 0.0)
                for (int64_t i = 0; i < n; i++) Y[i + (size_t)j * n] = cvg__rng_normal(&K->rng);
        project_out(K, start, Y);
        bad = qr_in_place(K, Y, 1e-8, flag); /* unit columns: R_jj near 1 unless lost */
        if (bad < 0) return cvg__fail(CVG_ERR_NUMERIC, "Householder QR failed");
        if (bad == 0) return CVG_OK;
        for (int j = 0; j < b; j++)
            if (flag[j])
                for (int64_t i = 0; i < n; i++) Y[i + (size_t)j * n] = cvg__rng_normal(&K->rng);
    }
    return cvg__fail(CVG_ERR_NUMERIC, "cannot orthonormalize a Krylov block");
}

/* LV := L V for `cols` columns: the dsymm reads W plus the factor's diagonal fd from A. */
static void apply_laplacian(krylov *K, const double *V, double *LV, int cols)
{
    int64_t n = K->n;
    cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, (int)n, cols, 1.0, K->A, (int)n, V, (int)n,
                0.0, LV, (int)n);
    for (int j = 0; j < cols; j++) {
        const double *v = V + (size_t)j * n;
        double *lv = LV + (size_t)j * n;
        for (int64_t i = 0; i < n; i++) lv[i] = (K->d[i] + K->fd[i]) * v[i] - lv[i];
    }
}

/* Returns CVG_OK with *converged set; fails only on allocation, LAPACK or cancellation. */
static cvg_status eigs_krylov(int64_t n, double *A, const double *d, const cvg__eig_request *rq,
                              int b, double *vals, double *vecs, int *iterations, int *converged)
{
    int nev = rq->nev;
    *converged = 0;
    double dsum = 0.0, dmax = 0.0;
    for (int64_t i = 0; i < n; i++) {
        dsum += d[i];
        if (d[i] > dmax) dmax = d[i];
    }
    if (dmax <= 0.0) return CVG_OK; /* the empty graph: let the dense method say 0s */
    double norm_l = 2.0 * dmax;     /* Gershgorin bound on ||L|| */
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

    krylov K = {.n = n, .b = b, .m = (KRYLOV_DEPTH + 1) * b, .A = A, .d = d};
    int m = K.m;
    cvg__rng_seed_stream(&K.rng, rq->seed, 0x6569677300000000ull);
    double *prev = cvg__malloc(sizeof(double) * (size_t)nev, "Krylov workspace");
    int prev_choice = -1;
    K.fd = cvg__malloc(sizeof(double) * (size_t)n, "Krylov workspace");
    K.V = cvg__malloc(sizeof(double) * (size_t)n * m, "Krylov basis");
    K.LV = cvg__malloc(sizeof(double) * (size_t)n * m, "Krylov basis");
    K.T = cvg__malloc(sizeof(double) * (size_t)m * m, "Krylov workspace");
    K.S = cvg__malloc(sizeof(double) * (size_t)m * b, "Krylov workspace");
    K.theta = cvg__malloc(sizeof(double) * (size_t)m, "Krylov workspace");
    K.U = cvg__malloc(sizeof(double) * (size_t)n * b, "Krylov workspace");
    K.LU = cvg__malloc(sizeof(double) * (size_t)n * b, "Krylov workspace");
    K.C = cvg__malloc(sizeof(double) * (size_t)m * b + 64, "Krylov workspace");
    K.tau = cvg__malloc(sizeof(double) * (size_t)b, "Krylov workspace");
    K.flag = cvg__malloc((size_t)b, "Krylov workspace");
    lapack_int *isuppz = cvg__malloc(sizeof(lapack_int) * 2 * (size_t)m, "Krylov workspace");
    cvg_status st = CVG_OK;
    if (!prev || !K.fd || !K.V || !K.LV || !K.T || !K.S || !K.theta || !K.U || !K.LU || !K.C || !K.tau || !K.flag ||
        !isuppz) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < n; i++) K.fd[i] = A[i + i * n];
    for (size_t i = 0; i < (size_t)n * b; i++) K.V[i] = cvg__rng_normal(&K.rng);

    int it;
    for (it = 0; it < KRYLOV_MAX_RESTARTS; it++) {
        /* A restart begins from the Ritz vectors, orthonormal already, with L V_0 known. */
        if (it == 0 && (st = orth_block(&K, 0)) != CVG_OK) goto done;
        for (int j = 1; j <= KRYLOV_DEPTH; j++) {
            double *Y = K.V + (size_t)j * b * n;
            memcpy(Y, K.V + (size_t)(j - 1) * b * n, sizeof(double) * (size_t)n * b);
            info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', (lapack_int)n, b, A, (lapack_int)n, Y,
                                  (lapack_int)n);
            if (info != 0) {
                st = cvg__fail(CVG_ERR_NUMERIC, "dpotrs failed (info %d)", (int)info);
                goto done;
            }
            if ((st = orth_block(&K, j * b)) != CVG_OK) goto done;
        }
        /* Rayleigh-Ritz with L on span(V). */
        if (it == 0)
            apply_laplacian(&K, K.V, K.LV, m);
        else
            apply_laplacian(&K, K.V + (size_t)b * n, K.LV + (size_t)b * n, m - b);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, m, m, (int)n, 1.0, K.V, (int)n, K.LV,
                    (int)n, 0.0, K.T, m);
        for (int j = 0; j < m; j++)
            for (int i = 0; i < j; i++) {
                double s = 0.5 * (K.T[i + (size_t)j * m] + K.T[j + (size_t)i * m]);
                K.T[i + (size_t)j * m] = K.T[j + (size_t)i * m] = s;
            }
        lapack_int found = 0;
        info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', m, K.T, m, 0.0, 0.0, 1, b, 0.0,
                              &found, K.theta, K.S, m, isuppz);
        if (info != 0 || found != b) {
            st = cvg__fail(CVG_ERR_NUMERIC, "dsyevr on the Ritz matrix failed (info %d)",
                           (int)info);
            goto done;
        }
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, b, m, 1.0, K.V, (int)n,
                    K.S, m, 0.0, K.U, (int)n);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, b, m, 1.0, K.LV, (int)n,
                    K.S, m, 0.0, K.LU, (int)n);
        int want = rq->nvec > 0 ? rq->nvec
                                : cvg__eigengap_k(K.theta, nev, rq->gap_lo, rq->gap_hi);
        double worst = 0.0, moved = 0.0;
        for (int j = 0; j < want; j++) {
            const double *u = K.U + (size_t)j * n, *lu = K.LU + (size_t)j * n;
            double s = 0.0;
            for (int64_t i = 0; i < n; i++) {
                double r = lu[i] - K.theta[j] * u[i];
                s += r * r;
            }
            if (sqrt(s) > worst) worst = sqrt(s);
        }
        for (int j = want; j < nev; j++) {
            double dv = it ? fabs(K.theta[j] - prev[j]) : INFINITY;
            if (dv > moved) moved = dv;
        }
        memcpy(prev, K.theta, sizeof(double) * (size_t)nev);
        if (rq->progress && rq->progress("cluster: eigenvectors", (uint64_t)it + 1,
                                         KRYLOV_MAX_RESTARTS, rq->progress_user)) {
            st = cvg__fail(CVG_ERR_CANCELLED, "cluster: cancelled while computing eigenvectors");
            goto done;
        }
        int choice = rq->nvec > 0 ? 0 : cvg__eigengap_k(K.theta, nev, rq->gap_lo, rq->gap_hi);
        int settled = rq->nvec > 0 || (moved <= VAL_TOL * norm_l && choice == prev_choice);
        if (worst <= VEC_TOL * norm_l && settled) {
            *converged = 1;
            break;
        }
        prev_choice = choice;
        memcpy(K.V, K.U, sizeof(double) * (size_t)n * b);
        memcpy(K.LV, K.LU, sizeof(double) * (size_t)n * b);
    }
    if (*converged) {
        memcpy(vals, K.theta, sizeof(double) * (size_t)nev);
        if (vecs) memcpy(vecs, K.U, sizeof(double) * (size_t)n * nev);
    }
    if (iterations) *iterations = it + (*converged ? 1 : 0);
done:
    zero_diagonal(n, A);
    free(prev);
    free(K.fd);
    free(K.V);
    free(K.LV);
    free(K.T);
    free(K.S);
    free(K.theta);
    free(K.U);
    free(K.LU);
    free(K.C);
    free(K.tau);
    free(K.flag);
    free(isuppz);
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
    int64_t m = (int64_t)(KRYLOV_DEPTH + 1) * b;
    /* Measured (docs/clustering.md): the Krylov method wins from about 1000 vertices when its
     * basis is small against n; with a basis above n/4 the dense method is faster. */
    int krylov_fits = 4 * m <= n, krylov_possible = 2 * m <= n;
    cvg_eigensolver method = rq->method;
    if (method == CVG_EIG_AUTO) method = (n >= DENSE_BELOW && krylov_fits) ? CVG_EIG_KRYLOV
                                                                          : CVG_EIG_DENSE;
    if (method == CVG_EIG_KRYLOV && krylov_possible) {
        int converged = 0;
        cvg_status st = eigs_krylov(n, A, d, rq, b, vals, vecs, iterations, &converged);
        if (st != CVG_OK || converged) return st;
        cvg__log(CVG_LOG_WARN,
                 "cluster: block Krylov did not converge on %lld vertices; using dsyevr",
                 (long long)n);
    }
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
