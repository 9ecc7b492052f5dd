/* Linear similarity measures between two blocks of units, from their co-moment blocks.
 *
 * With C = M / n the covariances (Cxx: p x p, Cyy: q x q, Cxy: p x q):
 *   CKA        = ||Cxy||_F^2 / (||Cxx||_F ||Cyy||_F)
 *   debiased   = h(x,y) / sqrt(h(x,x) h(y,y)),  h(x,y) = ||Cxy||_F^2 - Q_xy / (n (n-2))
 *                + tr(Cxx) tr(Cyy) / ((n-1)(n-2))     (unbiased HSIC, Song et al. 2012, / n^2)
 *   CCA        = singular values of  Lx^-1/2 Vx^T Cxy Vy Ly^-1/2  (Cxx = Vx Lx Vx^T, eigenvalues
 *                clamped at 0 and increased by the ridge), over the live units only
 *   SVCCA      = the same restricted to the leading eigen-directions holding svcca_variance
 *   PWCCA      = sum_i a_i rho_i, a_i ~ sum_j |<h_i, x_j>| / ||h_i|| (h_i: canonical variate of
 *                the side with fewer live units, x_j: its centred units)
 *   Procrustes = 2 - 2 ||Cxy||_* / sqrt(tr Cxx tr Cyy)
 *   Gaussian MI = -1/2 sum_i log(1 - rho_i^2)
 * docs/similarity.md has the derivations and the choices. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>

#include "core/internal.h"

static const char *const MEASURE_NAMES[CVG_SIM_MEASURES] = {
    "cka", "cka_debiased", "cca_mean_rho", "cca_mean_rho2", "svcca", "pwcca", "procrustes",
    "gaussian_mi"};

const char *cvg_measure_name(cvg_measure m)
{
    return m >= 0 && m < CVG_SIM_MEASURES ? MEASURE_NAMES[m] : "unknown";
}

void cvg_similarity_options_init(cvg_similarity_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->ridge = 1e-6;
    opt->svcca_variance = 0.99;
}

void cvg_similarity_free(cvg_similarity *s)
{
    if (!s) return;
    free(s->rho);
    free(s->pwcca_weight);
    s->rho = s->pwcca_weight = NULL;
}

static void set_value(cvg_similarity *s, cvg_measure m, double v)
{
    s->value[m] = v;
    s->defined[m] = 1;
    s->why[m][0] = '\0';
}

static void CVG_PRINTF(3, 4) undefined(cvg_similarity *s, cvg_measure m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->why[m], sizeof s->why[m], fmt, ap);
    va_end(ap);
    s->value[m] = 0.0;
    s->defined[m] = 0;
}

/* Symmetric eigen-decomposition of the n x n matrix A (row-major, overwritten): eigenvalues w
 * descending, eigenvectors as the columns of V (n x n). */
static cvg_status eig_desc(double *A, int64_t n, double *w, double *V)
{
    if (n == 0) return CVG_OK;
    double *asc = malloc((size_t)n * sizeof *asc);
    if (!asc) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)n, A, (lapack_int)n, asc);
    if (info != 0) {
        free(asc);
        return cvg__fail(CVG_ERR_NUMERIC, "symmetric eigen-decomposition of a %lld x %lld "
                         "covariance failed (LAPACK dsyevd info %d)", (long long)n, (long long)n, (int)info);
    }
    for (int64_t k = 0; k < n; k++) {
        w[k] = asc[n - 1 - k];
        for (int64_t i = 0; i < n; i++) V[i * n + k] = A[i * n + (n - 1 - k)];
    }
    free(asc);
    return CVG_OK;
}

/* Singular values (descending) of the m x n matrix A (overwritten); optionally U (m x k) and
 * Vt (k x n), k = min(m, n). */
static cvg_status svd(double *A, int64_t m, int64_t n, double *s, double *U, double *Vt)
{
    if (m == 0 || n == 0) return CVG_OK;
    const int64_t k = m < n ? m : n;
    lapack_int info;
    if (U) {
        info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', (lapack_int)m, (lapack_int)n, A, (lapack_int)n,
                              s, U, (lapack_int)k, Vt, (lapack_int)n);
    } else {
        double dummy[1] = {0}; /* not referenced; LAPACKE still checks ldvt >= n */
        info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', (lapack_int)m, (lapack_int)n, A, (lapack_int)n,
                              s, dummy, 1, dummy, (lapack_int)n);
    }
    if (info != 0)
        return cvg__fail(CVG_ERR_NUMERIC, "singular value decomposition of a %lld x %lld matrix "
                         "failed (LAPACK dgesdd info %d)", (long long)m, (long long)n, (int)info);
    return CVG_OK;
}

/* The live units (nonzero variance) of block [off, off + p). Returns their number. */
static int64_t live_units(const double *M, int64_t dim, int64_t off, int64_t p, int64_t *idx)
{
    int64_t k = 0;
    for (int64_t i = 0; i < p; i++)
        if (M[(off + i) * dim + off + i] > 0.0) idx[k++] = off + i;
    return k;
}

/* out (len_r x len_c) = M[rows, cols] / n. */
static void gather(const double *M, int64_t dim, const int64_t *rows, int64_t nr,
                   const int64_t *cols, int64_t nc, double n, double *out)
{
    for (int64_t i = 0; i < nr; i++)
        for (int64_t j = 0; j < nc; j++) out[i * nc + j] = M[rows[i] * dim + cols[j]] / n;
}

/* Inverse square roots of the regularized eigenvalues: 1/sqrt(max(l, 0) + r); 0 where that is
 * 0 (only possible without a ridge). */
static void inv_sqrt(const double *l, int64_t n, double r, double *out)
{
    for (int64_t i = 0; i < n; i++) {
        double v = (l[i] > 0 ? l[i] : 0) + r;
        out[i] = v > 0 ? 1.0 / sqrt(v) : 0.0;
    }
}

/* The smallest k whose leading eigenvalues hold fraction f of the (clamped) total. */
static int64_t dims_for_variance(const double *l, int64_t n, double f)
{
    double total = 0, acc = 0;
    for (int64_t i = 0; i < n; i++) total += l[i] > 0 ? l[i] : 0;
    if (!(total > 0)) return 0;
    for (int64_t k = 0; k < n; k++) {
        acc += l[k] > 0 ? l[k] : 0;
        if (acc >= f * total * (1 - 1e-12)) return k + 1;
    }
    return n;
}

typedef struct side {
    int64_t live;
    int64_t *idx;
    double *C;     /* live x live covariance */
    double *V;     /* eigenvectors (columns) */
    double *l;     /* eigenvalues, descending */
    double *is;    /* regularized inverse square roots */
    double ridge;  /* absolute ridge added to the eigenvalues */
    int singular;  /* without a ridge: numerically singular */
} side;

static void side_free(side *s)
{
    free(s->idx), free(s->C), free(s->V), free(s->l), free(s->is);
}

static cvg_status side_prepare(side *s, const double *M, int64_t dim, double n, int64_t off,
                               int64_t p, double ridge)
{
    memset(s, 0, sizeof *s);
    s->idx = malloc((size_t)(p ? p : 1) * sizeof *s->idx);
    if (!s->idx) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    s->live = live_units(M, dim, off, p, s->idx);
    const int64_t m = s->live ? s->live : 1;
    s->C = malloc((size_t)(m * m) * sizeof *s->C);
    double *A = malloc((size_t)(m * m) * sizeof *A);
    s->V = malloc((size_t)(m * m) * sizeof *s->V);
    s->l = malloc((size_t)m * sizeof *s->l);
    s->is = malloc((size_t)m * sizeof *s->is);
    if (!s->C || !A || !s->V || !s->l || !s->is) {
        free(A);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory for a %lld x %lld covariance",
                         (long long)s->live, (long long)s->live);
    }
    if (s->live == 0) {
        free(A);
        return CVG_OK;
    }
    gather(M, dim, s->idx, s->live, s->idx, s->live, n, s->C);
    memcpy(A, s->C, (size_t)(s->live * s->live) * sizeof *A);
    double trace = 0;
    for (int64_t i = 0; i < s->live; i++) trace += s->C[i * s->live + i];
    cvg_status st = eig_desc(A, s->live, s->l, s->V);
    free(A);
    if (st != CVG_OK) return st;
    s->ridge = ridge * trace / (double)s->live;
    s->singular = ridge == 0 && !(s->l[s->live - 1] > 1e-12 * s->l[0]);
    inv_sqrt(s->l, s->live, s->ridge, s->is);
    return CVG_OK;
}

/* T = diag(isx) Vx^T Cxy Vy diag(isy)  (px x qy, restricted to the leading kx, ky directions
 * when kx < px or ky < qy: that is SVCCA's matrix). */
static cvg_status whitened_cross(const side *x, const side *y, const double *Cxy, double *T)
{
    const int64_t p = x->live, q = y->live;
    double *tmp = malloc((size_t)(p * q) * sizeof *tmp);
    if (!tmp) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)p, (int)q, (int)p, 1.0, x->V, (int)p,
                Cxy, (int)q, 0.0, tmp, (int)q);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p, (int)q, (int)q, 1.0, tmp, (int)q,
                y->V, (int)q, 0.0, T, (int)q);
    for (int64_t i = 0; i < p; i++)
        for (int64_t j = 0; j < q; j++) T[i * q + j] *= x->is[i] * y->is[j];
    free(tmp);
    return CVG_OK;
}

/* PWCCA weights for the canonical directions of side s: w_i = V diag(is) u_i (u_i: column i of
 * Uc, s->live x k, leading dimension ldu), weight_i = ||C w_i||_1 / sqrt(w_i^T C w_i). */
static cvg_status pwcca_weights(const side *s, const double *Uc, int64_t k, int64_t ldu,
                                int transposed, double *weight)
{
    const int64_t p = s->live;
    double *W = malloc((size_t)(p * k) * sizeof *W), *CW = malloc((size_t)(p * k) * sizeof *CW);
    double *S = malloc((size_t)(p * k) * sizeof *S);
    if (!W || !CW || !S) {
        free(W), free(CW), free(S);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    /* S = diag(is) U (p x k) */
    for (int64_t i = 0; i < p; i++)
        for (int64_t c = 0; c < k; c++)
            S[i * k + c] = s->is[i] * (transposed ? Uc[c * ldu + i] : Uc[i * ldu + c]);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p, (int)k, (int)p, 1.0, s->V, (int)p,
                S, (int)k, 0.0, W, (int)k);
    cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, (int)p, (int)k, 1.0, s->C, (int)p, W, (int)k,
                0.0, CW, (int)k);
    double total = 0;
    for (int64_t c = 0; c < k; c++) {
        double l1 = 0, quad = 0;
        for (int64_t i = 0; i < p; i++) {
            l1 += fabs(CW[i * k + c]);
            quad += W[i * k + c] * CW[i * k + c];
        }
        weight[c] = quad > 0 ? l1 / sqrt(quad) : 0.0;
        total += weight[c];
    }
    for (int64_t c = 0; c < k; c++) weight[c] = total > 0 ? weight[c] / total : 1.0 / (double)k;
    free(W), free(CW), free(S);
    return CVG_OK;
}

static double sq(double v) { return v * v; }

static void cka_measures(const double *M, int64_t dim, double n, int64_t oa, int64_t p, int64_t ob,
                         int64_t q, const double sqnorm[3], cvg_similarity *out)
{
    /* Frobenius norms and traces of the covariance blocks; dead units contribute zeros */
    double xx = 0, yy = 0, xy = 0, tx = 0, ty = 0;
    for (int64_t i = 0; i < p; i++) {
        tx += M[(oa + i) * dim + oa + i] / n;
        for (int64_t j = 0; j < p; j++) xx += sq(M[(oa + i) * dim + oa + j] / n);
        for (int64_t j = 0; j < q; j++) xy += sq(M[(oa + i) * dim + ob + j] / n);
    }
    for (int64_t i = 0; i < q; i++) {
        ty += M[(ob + i) * dim + ob + i] / n;
        for (int64_t j = 0; j < q; j++) yy += sq(M[(ob + i) * dim + ob + j] / n);
    }
    if (!(xx > 0) || !(yy > 0)) {
        const char *which = !(xx > 0) ? "X" : "Y";
        undefined(out, CVG_SIM_CKA, "every unit of %s is constant: CKA is 0/0", which);
        undefined(out, CVG_SIM_CKA_DEBIASED, "every unit of %s is constant: CKA is 0/0", which);
        undefined(out, CVG_SIM_PROCRUSTES, "every unit of %s is constant: the normalized data "
                  "are undefined", which);
        return;
    }
    double v = xy / sqrt(xx * yy);
    set_value(out, CVG_SIM_CKA, v > 1 ? 1 : v);

    if (!sqnorm) {
        undefined(out, CVG_SIM_CKA_DEBIASED, "the statistics have no HSIC sums (sqnorm_q.npy): "
                  "they were written by an older version; recompute them with 'convergent "
                  "stats' to get the debiased CKA");
    } else if (n < 4) {
        undefined(out, CVG_SIM_CKA_DEBIASED, "the unbiased HSIC estimator needs at least 4 "
                  "samples (n = %.0f)", n);
    } else {
        const double c1 = 1.0 / (n * (n - 2)), c2 = 1.0 / ((n - 1) * (n - 2));
        double hxx = xx - sqnorm[0] * c1 + tx * tx * c2;
        double hxy = xy - sqnorm[1] * c1 + tx * ty * c2;
        double hyy = yy - sqnorm[2] * c1 + ty * ty * c2;
        if (!(hxx > 0) || !(hyy > 0))
            undefined(out, CVG_SIM_CKA_DEBIASED, "the unbiased HSIC of %s with itself is not "
                      "positive (%.3g): too few samples for the debiased estimator",
                      !(hxx > 0) ? "X" : "Y", !(hxx > 0) ? hxx : hyy);
        else
            set_value(out, CVG_SIM_CKA_DEBIASED, hxy / sqrt(hxx * hyy));
    }
}

cvg_status cvg_similarity_compute(const double *M, int64_t dim, int64_t count, int64_t oa,
                                  int64_t p, int64_t ob, int64_t q, const double sqnorm[3],
                                  const cvg_similarity_options *options, cvg_similarity *out)
{
    if (!out) return cvg__fail(CVG_ERR_ARG, "cvg_similarity_compute: NULL output");
    memset(out, 0, sizeof *out);
    if (!M || dim <= 0 || p <= 0 || q <= 0 || oa < 0 || ob < 0 || oa + p > dim || ob + q > dim)
        return cvg__fail(CVG_ERR_ARG, "cvg_similarity_compute: blocks [%lld, +%lld) and [%lld, "
                         "+%lld) do not fit in %lld units", (long long)oa, (long long)p,
                         (long long)ob, (long long)q, (long long)dim);
    if (count < 2) return cvg__fail(CVG_ERR_EMPTY, "similarity needs at least 2 samples (got %lld)",
                                    (long long)count);
    cvg_similarity_options defaults;
    cvg_similarity_options_init(&defaults);
    const cvg_similarity_options *opt = options ? options : &defaults;
    if (!(opt->ridge >= 0) || !(opt->svcca_variance > 0 && opt->svcca_variance <= 1))
        return cvg__fail(CVG_ERR_ARG, "similarity options: ridge must be >= 0 and the SVCCA "
                         "variance in (0, 1] (got %g and %g)", opt->ridge, opt->svcca_variance);
    const double n = (double)count;
    out->units_a = p;
    out->units_b = q;
    cka_measures(M, dim, n, oa, p, ob, q, sqnorm, out);

    side x, y;
    double *Cxy = NULL, *T = NULL, *T2 = NULL, *U = NULL, *Vt = NULL, *sv = NULL;
    cvg_status st = side_prepare(&x, M, dim, n, oa, p, opt->ridge);
    cvg_status st2 = side_prepare(&y, M, dim, n, ob, q, opt->ridge);
    if (st == CVG_OK) st = st2;
    if (st != CVG_OK) goto done;
    const int64_t P = x.live, Q = y.live, K = P < Q ? P : Q;
    out->live_a = P;
    out->live_b = Q;
    out->ncca = K;
    if (K == 0) {
        const char *why = "every unit of %s is constant: there are no canonical correlations";
        const char *which = P == 0 ? "X" : "Y";
        for (int m = CVG_SIM_CCA_RHO; m <= CVG_SIM_GAUSSIAN_MI; m++)
            if (m != CVG_SIM_PROCRUSTES) undefined(out, (cvg_measure)m, why, which);
        goto done;
    }
    Cxy = malloc((size_t)(P * Q) * sizeof *Cxy);
    T = malloc((size_t)(P * Q) * sizeof *T);
    T2 = malloc((size_t)(P * Q) * sizeof *T2);
    U = malloc((size_t)(P * K) * sizeof *U);
    Vt = malloc((size_t)(K * Q) * sizeof *Vt);
    sv = malloc((size_t)K * sizeof *sv);
    out->rho = calloc((size_t)K, sizeof *out->rho);
    out->pwcca_weight = calloc((size_t)K, sizeof *out->pwcca_weight);
    if (!Cxy || !T || !T2 || !U || !Vt || !sv || !out->rho || !out->pwcca_weight) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory for CCA of %lld x %lld units", (long long)P,
                       (long long)Q);
        goto done;
    }
    gather(M, dim, x.idx, P, y.idx, Q, n, Cxy);

    /* Procrustes: nuclear norm of Cxy (dead units add nothing) */
    if (out->defined[CVG_SIM_CKA]) {
        memcpy(T, Cxy, (size_t)(P * Q) * sizeof *T);
        if ((st = svd(T, P, Q, sv, NULL, NULL)) != CVG_OK) goto done;
        double nuc = 0, tx = 0, ty = 0;
        for (int64_t i = 0; i < K; i++) nuc += sv[i];
        for (int64_t i = 0; i < P; i++) tx += x.C[i * P + i];
        for (int64_t i = 0; i < Q; i++) ty += y.C[i * Q + i];
        double d = 2.0 - 2.0 * nuc / sqrt(tx * ty);
        set_value(out, CVG_SIM_PROCRUSTES, d < 0 ? 0 : (d > 2 ? 2 : d));
    }

    if ((st = whitened_cross(&x, &y, Cxy, T)) != CVG_OK) goto done;

    /* SVCCA: the leading block of T */
    out->svcca_dims_a = dims_for_variance(x.l, P, opt->svcca_variance);
    out->svcca_dims_b = dims_for_variance(y.l, Q, opt->svcca_variance);
    {
        const int64_t ka = out->svcca_dims_a, kb = out->svcca_dims_b, kk = ka < kb ? ka : kb;
        for (int64_t i = 0; i < ka; i++) memcpy(T2 + i * kb, T + i * Q, (size_t)kb * sizeof *T2);
        if ((st = svd(T2, ka, kb, sv, NULL, NULL)) != CVG_OK) goto done;
        double acc = 0;
        for (int64_t i = 0; i < kk; i++) acc += sv[i] > 1 ? 1 : sv[i];
        set_value(out, CVG_SIM_SVCCA, acc / (double)kk);
    }

    if (x.singular || y.singular) {
        const side *s = x.singular ? &x : &y;
        int64_t rank = 0;
        for (int64_t i = 0; i < s->live; i++) rank += s->l[i] > 1e-12 * s->l[0];
        for (int m = CVG_SIM_CCA_RHO; m <= CVG_SIM_GAUSSIAN_MI; m++)
            if (m != CVG_SIM_PROCRUSTES && m != CVG_SIM_SVCCA)
                undefined(out, (cvg_measure)m, "the covariance of the live units of %s is "
                          "singular (numerical rank %lld of %lld, %lld samples): CCA is "
                          "undefined without a ridge (use a ridge > 0)", x.singular ? "X" : "Y",
                          (long long)rank, (long long)s->live, (long long)count);
        goto done;
    }

    memcpy(T2, T, (size_t)(P * Q) * sizeof *T2);
    if ((st = svd(T2, P, Q, sv, U, Vt)) != CVG_OK) goto done;
    double sum = 0, sum2 = 0, mi = 0;
    int64_t ones = 0;
    for (int64_t i = 0; i < K; i++) {
        double r = sv[i] > 1 ? 1 : (sv[i] < 0 ? 0 : sv[i]);
        out->rho[i] = r;
        sum += r;
        sum2 += r * r;
        if (1 - r * r <= 1e-15) ones++;
        else mi += -0.5 * log1p(-r * r);
    }
    set_value(out, CVG_SIM_CCA_RHO, sum / (double)K);
    set_value(out, CVG_SIM_CCA_RHO2, sum2 / (double)K);
    if (ones)
        undefined(out, CVG_SIM_GAUSSIAN_MI, "%lld canonical correlation(s) equal 1 (an exact "
                  "linear relation between the blocks): the Gaussian mutual information is "
                  "infinite (a ridge > 0 keeps it finite)", (long long)ones);
    else
        set_value(out, CVG_SIM_GAUSSIAN_MI, mi);

    /* PWCCA on the side with fewer live units (X on a tie), as Morcos et al. */
    if (P <= Q) st = pwcca_weights(&x, U, K, K, 0, out->pwcca_weight);
    else st = pwcca_weights(&y, Vt, K, Q, 1, out->pwcca_weight);
    if (st != CVG_OK) goto done;
    double pw = 0;
    for (int64_t i = 0; i < K; i++) pw += out->pwcca_weight[i] * out->rho[i];
    set_value(out, CVG_SIM_PWCCA, pw > 1 ? 1 : pw);

done:
    side_free(&x);
    side_free(&y);
    free(Cxy), free(T), free(T2), free(U), free(Vt), free(sv);
    if (st != CVG_OK) cvg_similarity_free(out);
    return st;
}
