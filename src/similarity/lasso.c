/* Sparse prediction of every unit of Y from all units of X: a lasso path per target, solved by
 * coordinate descent in covariance form on the correlation matrix, so the data are never read
 * again. With R = corr(X) (live units; R_kk = 1), r = corr(X, y) and the standardized problem
 *     f(w) = 1/2 (1 - 2 r^T w + w^T R w) + lambda ||w||_1,
 * the gradient of the smooth part is -g with g = r - R w, and the coordinate update is
 *     w_k <- soft(g_k + w_k, lambda),   g <- g - (w_k' - w_k) R[:, k].
 * R^2 (the fraction of var(y) explained) is 1 - 2 f_smooth = 2 r^T w - w^T R w = r^T w + w^T g.
 * KKT at the solution: g_k = lambda sign(w_k) where w_k != 0, |g_k| <= lambda elsewhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"

void cvg_lasso_options_init(cvg_lasso_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->path = 30;
    opt->min_ratio = 1e-2;
    opt->tol = 1e-7;
    opt->max_sweeps = 100000;
}

void cvg_lasso_result_free(cvg_lasso_result *r)
{
    if (!r) return;
    free(r->lambda), free(r->r2), free(r->nnz), free(r->mean_r2), free(r->mean_nnz), free(r->weights);
    memset(r, 0, sizeof *r);
}

static double soft(double z, double t) { return z > t ? z - t : (z < -t ? z + t : 0.0); }

/* One sweep over the coordinates in idx[0..m); returns the largest weight change. */
static double sweep(const double *R, int64_t P, const int64_t *idx, int64_t m, double lambda,
                    double *w, double *g)
{
    double biggest = 0;
    for (int64_t t = 0; t < m; t++) {
        const int64_t k = idx[t];
        const double old = w[k], nw = soft(g[k] + old, lambda);
        if (nw == old) continue;
        const double delta = nw - old;
        const double *Rk = R + k * P; /* R is symmetric: row k = column k */
        for (int64_t i = 0; i < P; i++) g[i] -= delta * Rk[i];
        w[k] = nw;
        if (fabs(delta) > biggest) biggest = fabs(delta);
    }
    return biggest;
}

/* Solve at one lambda from the warm start in w (g consistent with w). Returns 0 if it hit the
 * sweep limit. Full sweeps alternate with sweeps over the active set until a full sweep moves
 * nothing more than tol. */
static int solve(const double *R, int64_t P, double lambda, const cvg_lasso_options *opt,
                 double *w, double *g, int64_t *all, int64_t *active)
{
    for (int sweeps = 0; sweeps < opt->max_sweeps;) {
        double change = sweep(R, P, all, P, lambda, w, g);
        sweeps++;
        if (change <= opt->tol) return 1;
        int64_t m = 0;
        for (int64_t k = 0; k < P; k++)
            if (w[k] != 0) active[m++] = k;
        while (sweeps < opt->max_sweeps) {
            change = sweep(R, P, active, m, lambda, w, g);
            sweeps++;
            if (change <= opt->tol) break;
        }
    }
    return 0;
}

cvg_status cvg_lasso_path(const double *M, int64_t dim, int64_t ox, int64_t p, int64_t oy,
                          int64_t q, const cvg_lasso_options *options, cvg_lasso_result *out)
{
    if (!out) return cvg__fail(CVG_ERR_ARG, "cvg_lasso_path: NULL output");
    memset(out, 0, sizeof *out);
    if (!M || p <= 0 || q <= 0 || ox < 0 || oy < 0 || ox + p > dim || oy + q > dim)
        return cvg__fail(CVG_ERR_ARG, "cvg_lasso_path: blocks do not fit in %lld units", (long long)dim);
    cvg_lasso_options defaults;
    cvg_lasso_options_init(&defaults);
    const cvg_lasso_options *opt = options ? options : &defaults;
    if (opt->path < 1 || !(opt->min_ratio > 0 && opt->min_ratio <= 1) || !(opt->tol > 0) ||
        opt->max_sweeps < 1)
        return cvg__fail(CVG_ERR_ARG, "lasso options: need path >= 1, min_ratio in (0, 1], tol > 0 "
                         "and max_sweeps >= 1 (got %d, %g, %g, %d)", opt->path, opt->min_ratio,
                         opt->tol, opt->max_sweeps);
    const int L = opt->path;
    out->path = L;
    out->p = p;
    out->q = q;
    int64_t *xi = malloc((size_t)p * sizeof *xi), *yi = malloc((size_t)q * sizeof *yi);
    double *R = NULL, *r = NULL, *sx = NULL, *sy = NULL;
    cvg_status st = CVG_OK;
    out->lambda = malloc((size_t)L * sizeof *out->lambda);
    out->r2 = calloc((size_t)(L * q), sizeof *out->r2);
    out->nnz = calloc((size_t)(L * q), sizeof *out->nnz);
    out->mean_r2 = calloc((size_t)L, sizeof *out->mean_r2);
    out->mean_nnz = calloc((size_t)L, sizeof *out->mean_nnz);
    if (opt->keep_weights) out->weights = calloc((size_t)(L * q * p), sizeof *out->weights);
    if (!xi || !yi || !out->lambda || !out->r2 || !out->nnz || !out->mean_r2 || !out->mean_nnz ||
        (opt->keep_weights && !out->weights)) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory for a lasso path (%d x %lld x %lld)", L,
                       (long long)q, (long long)p);
        goto done;
    }
    int64_t P = 0, Q = 0;
    for (int64_t i = 0; i < p; i++)
        if (M[(ox + i) * dim + ox + i] > 0) xi[P++] = i;
    for (int64_t j = 0; j < q; j++)
        if (M[(oy + j) * dim + oy + j] > 0) yi[Q++] = j;
    out->live_p = P;
    out->live_q = Q;
    if (P == 0 || Q == 0) {
        st = cvg__fail(CVG_ERR_EMPTY, "lasso: every unit of the %s is constant; there is nothing "
                       "to %s", P == 0 ? "predictors" : "targets", P == 0 ? "predict from" : "predict");
        goto done;
    }
    R = malloc((size_t)(P * P) * sizeof *R);
    r = malloc((size_t)(Q * P) * sizeof *r);
    sx = malloc((size_t)P * sizeof *sx);
    sy = malloc((size_t)Q * sizeof *sy);
    if (!R || !r || !sx || !sy) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory for a lasso path over %lld x %lld units",
                       (long long)P, (long long)Q);
        goto done;
    }
    for (int64_t i = 0; i < P; i++) sx[i] = 1.0 / sqrt(M[(ox + xi[i]) * dim + ox + xi[i]]);
    for (int64_t j = 0; j < Q; j++) sy[j] = 1.0 / sqrt(M[(oy + yi[j]) * dim + oy + yi[j]]);
    for (int64_t i = 0; i < P; i++) {
        for (int64_t k = 0; k < P; k++) {
            double c = M[(ox + xi[i]) * dim + ox + xi[k]] * sx[i] * sx[k];
            R[i * P + k] = i == k ? 1.0 : (c > 1 ? 1 : (c < -1 ? -1 : c));
        }
    }
    double lmax = 0;
    for (int64_t j = 0; j < Q; j++)
        for (int64_t i = 0; i < P; i++) {
            double c = M[(oy + yi[j]) * dim + ox + xi[i]] * sy[j] * sx[i];
            c = c > 1 ? 1 : (c < -1 ? -1 : c);
            r[j * P + i] = c;
            if (fabs(c) > lmax) lmax = fabs(c);
        }
    if (!(lmax > 0)) lmax = 1; /* every correlation 0: any lambda gives w = 0 */
    for (int l = 0; l < L; l++) {
        out->lambda[l] = L == 1 ? lmax : lmax * pow(opt->min_ratio, (double)l / (double)(L - 1));
        if (opt->lambdas) out->lambda[l] = opt->lambdas[l];
        if (!(out->lambda[l] > 0)) {
            st = cvg__fail(CVG_ERR_ARG, "lasso: lambda %d is %g; every lambda must be > 0", l,
                           out->lambda[l]);
            goto done;
        }
    }

    int64_t not_converged = 0;
    int failed = 0;
    /* lambdas need not decrease, but warm starts are best along a decreasing path */
#pragma omp parallel reduction(+ : not_converged)
    {
        double *w = malloc((size_t)P * sizeof *w), *g = malloc((size_t)P * sizeof *g);
        int64_t *all = malloc((size_t)P * sizeof *all), *active = malloc((size_t)P * sizeof *active);
        if (!w || !g || !all || !active) {
#pragma omp atomic write
            failed = 1;
        } else {
            for (int64_t k = 0; k < P; k++) all[k] = k;
#pragma omp for schedule(dynamic, 1)
            for (int64_t j = 0; j < Q; j++) {
                const double *rj = r + j * P;
                memset(w, 0, (size_t)P * sizeof *w);
                memcpy(g, rj, (size_t)P * sizeof *g);
                for (int l = 0; l < L; l++) {
                    if (!solve(R, P, out->lambda[l], opt, w, g, all, active)) not_converged++;
                    double r2 = 0;
                    int64_t nz = 0;
                    for (int64_t k = 0; k < P; k++) {
                        r2 += w[k] * (rj[k] + g[k]);
                        nz += w[k] != 0;
                    }
                    const int64_t cell = (int64_t)l * q + yi[j];
                    out->r2[cell] = r2 < 0 ? 0 : (r2 > 1 ? 1 : r2);
                    out->nnz[cell] = nz;
                    if (out->weights)
                        for (int64_t k = 0; k < P; k++) out->weights[cell * p + xi[k]] = w[k];
                }
            }
        }
        free(w), free(g), free(all), free(active);
    }
    if (failed) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory for the lasso work space");
        goto done;
    }
    out->not_converged = not_converged;
    for (int l = 0; l < L; l++) {
        double a = 0, b = 0;
        for (int64_t j = 0; j < Q; j++) {
            a += out->r2[(int64_t)l * q + yi[j]];
            b += (double)out->nnz[(int64_t)l * q + yi[j]];
        }
        out->mean_r2[l] = a / (double)Q;
        out->mean_nnz[l] = b / (double)Q;
    }
done:
    free(xi), free(yi), free(R), free(r), free(sx), free(sy);
    if (st != CVG_OK) cvg_lasso_result_free(out);
    return st;
}
