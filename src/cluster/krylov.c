/* Restarted block Krylov for the smallest eigenpairs of a Laplacian L, over an operator given
 * by callbacks (cluster_internal.h, cvg__krylov_op): block Krylov subspaces [V, f V, f^2 V]
 * where f = f(L) is large on the wanted (smallest) end of the spectrum and small elsewhere,
 * fully reorthogonalized, Rayleigh-Ritz with L itself, restarted from the b lowest Ritz
 * vectors until every wanted pair has ||L v - lambda v|| <= 1e-8 * ||L||.
 *   dense graph (eigs.c):  f = (L + sigma I)^{-1} by a dense Cholesky factorization;
 *   sparse graph (eigs_sparse.c): f = a Chebyshev polynomial of L damping [a, ||L||].
 * Vectors known to be eigenvectors (the null space of a connected component) can be locked:
 * projected out of every block, so the iteration finds the pairs after them. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "core/internal.h"

enum { KRYLOV_DEPTH = 2, KRYLOV_MAX_RESTARTS = 25 };
/* Converged: ||L v - theta v|| <= VEC_TOL * ||L|| for the wanted eigenvectors. When their
 * number is given, the further eigenvalues (for the eigen-gap suggestion only) are the Ritz
 * values at that point: upper bounds, often in a dense bulk where they converge slowly. When the
 * eigen-gap rule picks the number, it must pick the same twice in a row and the eigenvalues
 * beyond it must have moved by at most VAL_TOL * ||L|| in the last restart. */
static const double VEC_TOL = 1e-8;
static const double VAL_TOL = 1e-3;

int cvg__krylov_basis(int b) { return (KRYLOV_DEPTH + 1) * b; }

typedef struct krylov {
    const cvg__krylov_op *op;
    int64_t n;
    int b, m;          /* block size, subspace size (KRYLOV_DEPTH + 1) * b */
    double *V, *LV;    /* n x m */
    double *T, *S;     /* m x m, m x b */
    double *theta;     /* m */
    double *U, *LU;    /* n x b */
    double *C;         /* max(m, nlock) x b projections */
    double *tau;       /* b Householder scalars */
    unsigned char *flag; /* b */
    cvg__rng rng;
} krylov;

/* Y -= Q (Q^T Y) for the n x b block Y and the n x cols orthonormal Q. */
static void project(krylov *K, const double *Q, int cols, double *Y)
{
    if (cols == 0) return;
    int n = (int)K->n, b = K->b;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, cols, b, n, 1.0, Q, n, Y, n, 0.0, K->C,
                cols);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, b, cols, -1.0, Q, n, K->C, cols,
                1.0, Y, n);
}

/* Y := Y with the locked vectors and the first `start` columns of V projected out. */
static void project_out(krylov *K, int start, double *Y)
{
    project(K, K->op->lock, K->op->nlock, Y);
    project(K, K->V, start, Y);
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

static void krylov_free(krylov *K)
{
    free(K->V);
    free(K->LV);
    free(K->T);
    free(K->S);
    free(K->theta);
    free(K->U);
    free(K->LU);
    free(K->C);
    free(K->tau);
    free(K->flag);
}

cvg_status cvg__block_krylov(const cvg__krylov_op *op, const cvg__eig_request *rq, int b,
                             double *vals, double *vecs, int *iterations, int *converged)
{
    int nev = rq->nev;
    int64_t n = op->n;
    *converged = 0;
    krylov K = {.op = op, .n = n, .b = b, .m = (KRYLOV_DEPTH + 1) * b};
    int m = K.m, cw = m > op->nlock ? m : op->nlock;
    cvg__rng_seed_stream(&K.rng, rq->seed, 0x6569677300000000ull);
    double *prev = cvg__malloc(sizeof(double) * (size_t)nev, "Krylov workspace");
    int prev_choice = -1;
    K.V = cvg__malloc(sizeof(double) * (size_t)n * m, "Krylov basis");
    K.LV = cvg__malloc(sizeof(double) * (size_t)n * m, "Krylov basis");
    K.T = cvg__malloc(sizeof(double) * (size_t)m * m, "Krylov workspace");
    K.S = cvg__malloc(sizeof(double) * (size_t)m * b, "Krylov workspace");
    K.theta = cvg__malloc(sizeof(double) * (size_t)m, "Krylov workspace");
    K.U = cvg__malloc(sizeof(double) * (size_t)n * b, "Krylov workspace");
    K.LU = cvg__malloc(sizeof(double) * (size_t)n * b, "Krylov workspace");
    K.C = cvg__malloc(sizeof(double) * (size_t)cw * b + 64, "Krylov workspace");
    K.tau = cvg__malloc(sizeof(double) * (size_t)b, "Krylov workspace");
    K.flag = cvg__malloc((size_t)b, "Krylov workspace");
    lapack_int *isuppz = cvg__malloc(sizeof(lapack_int) * 2 * (size_t)m, "Krylov workspace");
    cvg_status st = CVG_OK;
    if (!prev || !K.V || !K.LV || !K.T || !K.S || !K.theta || !K.U || !K.LU || !K.C || !K.tau ||
        !K.flag || !isuppz) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < (size_t)n * b; i++) K.V[i] = cvg__rng_normal(&K.rng);

    int it;
    for (it = 0; it < KRYLOV_MAX_RESTARTS; it++) {
        /* A restart begins from the Ritz vectors, orthonormal already, with L V_0 known. */
        if (it == 0 && (st = orth_block(&K, 0)) != CVG_OK) goto done;
        for (int j = 1; j <= KRYLOV_DEPTH; j++) {
            double *Y = K.V + (size_t)j * b * n;
            memcpy(Y, K.V + (size_t)(j - 1) * b * n, sizeof(double) * (size_t)n * b);
            if ((st = op->apply_op(op->ctx, Y, b)) != CVG_OK) goto done;
            if ((st = orth_block(&K, j * b)) != CVG_OK) goto done;
        }
        /* Rayleigh-Ritz with L on span(V). */
        if (it == 0)
            op->apply_l(op->ctx, K.V, K.LV, m);
        else
            op->apply_l(op->ctx, K.V + (size_t)b * n, K.LV + (size_t)b * n, m - b);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, m, m, (int)n, 1.0, K.V, (int)n, K.LV,
                    (int)n, 0.0, K.T, m);
        for (int j = 0; j < m; j++)
            for (int i = 0; i < j; i++) {
                double s = 0.5 * (K.T[i + (size_t)j * m] + K.T[j + (size_t)i * m]);
                K.T[i + (size_t)j * m] = K.T[j + (size_t)i * m] = s;
            }
        lapack_int found = 0;
        lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', m, K.T, m, 0.0, 0.0, 1,
                                         b, 0.0, &found, K.theta, K.S, m, isuppz);
        if (info != 0 || found != b) {
            st = cvg__fail(CVG_ERR_NUMERIC, "dsyevr on the Ritz matrix failed (info %d)",
                           (int)info);
            goto done;
        }
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, b, m, 1.0, K.V, (int)n,
                    K.S, m, 0.0, K.U, (int)n);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, b, m, 1.0, K.LV, (int)n,
                    K.S, m, 0.0, K.LU, (int)n);
        if (op->observe) op->observe(op->ctx, K.theta, b);
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
        int settled = rq->nvec > 0 || (moved <= VAL_TOL * op->norm_l && choice == prev_choice);
        if (worst <= VEC_TOL * op->norm_l && settled) {
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
    free(prev);
    free(isuppz);
    krylov_free(&K);
    return st;
}
