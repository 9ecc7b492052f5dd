/* The smallest eigenpairs of the Laplacian of a sparse graph (cluster_internal.h,
 * cvg__sparse_laplacian_eigs; docs/clustering.md "Sparse path").
 *
 * The spectrum of L is the union of its connected components' spectra. The null space is
 * fixed (components.c); each component of m vertices then contributes its nonzero eigenpairs:
 *  - small components (m below SMALL_COMPONENT, or the Krylov basis above a quarter of m):
 *    dsyevr on the component's dense m x m Laplacian;
 *  - large ones: block Krylov (krylov.c) over a Chebyshev filter of L, with the component's
 *    null vector locked. The filter p(L) = T_d((L - c I) / e), c = (hi + lo)/2, e = (hi - lo)/2,
 *    is bounded by 1 on [lo, hi] = [the largest Ritz value of the last block, ||L|| bound] and
 *    grows like cosh(d acosh(..)) below lo, so the wanted end dominates after a few products
 *    with the sparse L. Only products with L are needed: memory O(edges + n b).
 * The pairs of all components are merged by eigenvalue (ties: component rank, then index
 * within the component). */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "cluster/graph_csr.h"
#include "core/internal.h"

/* Components below this many vertices are solved densely (measured: docs/clustering.md). */
/* FILTER_DEGREE: products with L per filter; at 2S = 8192, k = 100 (bench data) degree 3 took
 * three restarts, 5 and 8 two, 5 the least time. */
enum { SMALL_COMPONENT = 512, FILTER_DEGREE = 5 };

/* ---- the Chebyshev-filtered operator on one component */

typedef struct cheb_op {
    const cvg__csr *g;
    const double *s;   /* vertex scaling (random-walk form) or NULL */
    double lo, hi;     /* the damped interval */
    double *X, *P, *Q, *R; /* n x cap row-major work blocks */
} cheb_op;

static void to_rows(int64_t n, int cols, const double *colmajor, double *rows)
{
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < cols; c++) rows[(size_t)i * cols + c] = colmajor[i + (size_t)c * n];
}

static void to_cols(int64_t n, int cols, const double *rows, double *colmajor)
{
    for (int c = 0; c < cols; c++)
        for (int64_t i = 0; i < n; i++) colmajor[i + (size_t)c * n] = rows[(size_t)i * cols + c];
}

static void cheb_apply_l(void *ctx, const double *V, double *LV, int cols)
{
    cheb_op *o = ctx;
    to_rows(o->g->n, cols, V, o->X);
    cvg__csr_laplacian_mul(o->g, o->s, 0.0, o->X, o->P, cols);
    to_cols(o->g->n, cols, o->P, LV);
}

/* Y := T_d((L - c I) / e) Y by the three-term recurrence
 * P_0 = Y, P_1 = (L - c) Y / e, P_{j+1} = 2 (L - c) P_j / e - P_{j-1}. */
static cvg_status cheb_apply_filter(void *ctx, double *Y, int cols)
{
    cheb_op *o = ctx;
    int64_t n = o->g->n;
    size_t len = (size_t)n * cols;
    double c = 0.5 * (o->hi + o->lo), e = 0.5 * (o->hi - o->lo);
    double *prev = o->X, *cur = o->P, *next = o->Q;
    to_rows(n, cols, Y, prev);
    cvg__csr_laplacian_mul(o->g, o->s, c, prev, cur, cols);
    for (size_t t = 0; t < len; t++) cur[t] /= e;
    for (int j = 2; j <= FILTER_DEGREE; j++) {
        cvg__csr_laplacian_mul(o->g, o->s, c, cur, next, cols);
        for (size_t t = 0; t < len; t++) next[t] = 2.0 * next[t] / e - prev[t];
        double *spare = prev;
        prev = cur, cur = next, next = spare;
    }
    to_cols(n, cols, cur, Y);
    return CVG_OK;
}

/* After each restart: damp everything above the block's largest Ritz value (an upper bound on
 * the block's eigenvalues, so the wanted ones stay below it). */
static void cheb_observe(void *ctx, const double *theta, int b)
{
    cheb_op *o = ctx;
    double lo = theta[b - 1];
    if (lo > 0.95 * o->hi) lo = 0.95 * o->hi;
    if (lo < 1e-9 * o->hi) lo = 1e-9 * o->hi;
    o->lo = lo;
}

/* ---- one component */

/* Its nonzero eigenpairs 1..want (0 is the null vector) by dsyevr on the dense m x m form. */
static cvg_status component_dense(const cvg__csr *g, const double *s, int want, double *vals,
                                  double *vecs)
{
    int64_t m = g->n;
    double *A = cvg__calloc((size_t)m * (size_t)m, sizeof(double), "a component's Laplacian");
    double *w = cvg__malloc(sizeof(double) * (size_t)m, "eigenvalues");
    lapack_int *isuppz = cvg__malloc(sizeof(lapack_int) * 2 * (size_t)m, "eigenvector supports");
    cvg_status st = CVG_OK;
    if (!A || !w || !isuppz) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < m; i++) {
        double si = s ? s[i] : 1.0;
        A[i + i * m] = g->degree[i] * si * si;
        for (int64_t p = g->start[i]; p < g->start[i + 1]; p++)
            if (g->col[p] > i) A[g->col[p] + i * m] = -g->w[p] * si * (s ? s[g->col[p]] : 1.0);
    }
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'L', (lapack_int)m, A,
                                     (lapack_int)m, 0.0, 0.0, 2, want + 1, 0.0, &found, w, vecs,
                                     (lapack_int)m, isuppz);
    if (info != 0 || found != want)
        st = cvg__fail(CVG_ERR_NUMERIC, "dsyevr failed on a %lld-vertex component (info %d)",
                       (long long)m, (int)info);
    else
        memcpy(vals, w, sizeof(double) * (size_t)want);
done:
    free(A);
    free(w);
    free(isuppz);
    return st;
}

/* Its nonzero eigenpairs 1..want by filtered block Krylov; *converged = 0 if it did not. */
static cvg_status component_krylov(const cvg__csr *g, const double *s, const cvg__eig_request *rq,
                                   int b, double *vals, double *vecs, int *iterations,
                                   int *converged)
{
    int64_t m = g->n;
    int cap = cvg__krylov_basis(b);
    double dmax = 0.0, trace = 0.0, norm2 = 0.0;
    for (int64_t i = 0; i < m; i++) {
        double si = s ? s[i] : 1.0, di = g->degree[i] * si * si;
        if (g->degree[i] > dmax) dmax = g->degree[i];
        trace += di;
    }
    cheb_op o = {.g = g, .s = s};
    /* ||L|| <= 2 max degree (Gershgorin); the random-walk form's spectrum lies in [0, 2] */
    o.hi = s ? 2.0 : 2.0 * dmax;
    o.lo = trace / (double)m; /* the mean eigenvalue: damp the upper part first */
    double *lock = cvg__malloc(sizeof(double) * (size_t)m, "Krylov workspace");
    o.X = cvg__malloc(sizeof(double) * (size_t)m * cap, "Krylov workspace");
    o.P = cvg__malloc(sizeof(double) * (size_t)m * cap, "Krylov workspace");
    o.Q = cvg__malloc(sizeof(double) * (size_t)m * cap, "Krylov workspace");
    cvg_status st = CVG_ERR_NOMEM;
    if (lock && o.X && o.P && o.Q) {
        /* the null vector: 1 (or D^{1/2} 1 for the random-walk form), normalized */
        for (int64_t i = 0; i < m; i++) {
            lock[i] = s ? sqrt(g->degree[i]) : 1.0;
            norm2 += lock[i] * lock[i];
        }
        for (int64_t i = 0; i < m; i++) lock[i] /= sqrt(norm2);
        cvg__krylov_op op = {.n = m, .norm_l = o.hi, .lock = lock, .nlock = 1, .ctx = &o,
                             .apply_l = cheb_apply_l, .apply_op = cheb_apply_filter,
                             .observe = cheb_observe};
        st = cvg__block_krylov(&op, rq, b, vals, vecs, iterations, converged);
    }
    free(lock);
    free(o.X);
    free(o.P);
    free(o.Q);
    return st;
}

/* ---- all components, merged */

/* What one component's Krylov run must converge, given that z null vectors come first: its
 * pairs 1..want stand for the global pairs z+1..z+want at most, so the global rule (the first
 * nvec vectors accurate, or as many as the eigen-gap rule over [gap_lo, gap_hi] picks) is
 * shifted by z. Exact for one component (plus isolated units, already removed); with several
 * large ones each converges as many as the global rule could take from it. */
static cvg__eig_request component_request(const cvg__eig_request *rq, int z, int want)
{
    cvg__eig_request r = *rq;
    r.nev = want;
    if (rq->nvec > 0) {
        r.nvec = rq->nvec - z;
        if (r.nvec < 1) r.nvec = 1;
        if (r.nvec > want) r.nvec = want;
    } else {
        r.gap_lo = rq->gap_lo - z > 1 ? rq->gap_lo - z : 1;
        r.gap_hi = rq->gap_hi - z < want - 1 ? rq->gap_hi - z : want - 1;
        if (r.gap_hi < r.gap_lo) r.nvec = want; /* nothing to choose from: converge all */
    }
    return r;
}

typedef struct pair_ref {
    double val;
    int32_t rank;  /* the component's position in null-space order */
    int32_t index; /* within the component's pairs */
} pair_ref;

static int cmp_pair(const void *a, const void *b)
{
    const pair_ref *x = a, *y = b;
    if (x->val != y->val) return x->val < y->val ? -1 : 1;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

typedef struct comp_result {
    int64_t *vertices; /* m, ascending */
    int want;
    double *vals, *vecs; /* want, m x want */
} comp_result;

cvg_status cvg__sparse_laplacian_eigs(const cvg__csr *g, const double *s,
                                      const cvg__components *comps, const cvg__eig_request *rq,
                                      double *vals, double *vecs, int *iterations)
{
    int64_t n = g->n, C = comps->count;
    int nev = rq->nev;
    if (iterations) *iterations = 0;
    double *weight = NULL;
    if (s) { /* the random-walk form's null vectors are D^{1/2} 1_C: weight d = 1 / s^2 */
        weight = cvg__malloc(sizeof(double) * (size_t)n, "degrees");
        if (!weight) return CVG_ERR_NOMEM;
        for (int64_t i = 0; i < n; i++) weight[i] = g->degree[i];
    }
    cvg__null_space(n, comps, weight, nev, vals, vecs);
    free(weight);
    int z = C < nev ? (int)C : nev, rest = nev - z;
    if (rest == 0) return CVG_OK;

    cvg_status st = CVG_OK;
    comp_result *res = cvg__calloc((size_t)C, sizeof(comp_result), "component spectra");
    int64_t *cursor = cvg__calloc((size_t)C, sizeof(int64_t), "component spectra");
    pair_ref *pairs = NULL;
    if (!res || !cursor) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    for (int64_t j = 0; j < C; j++) {
        res[j].vertices = cvg__malloc(sizeof(int64_t) * (size_t)comps->size[j], "component");
        if (!res[j].vertices) {
            st = CVG_ERR_NOMEM;
            goto done;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t id = comps->comp[i];
        res[id].vertices[cursor[id]++] = i;
    }
    int64_t total = 0;
    for (int64_t r = 0; r < C; r++) {
        int32_t id = comps->rank[r];
        int64_t m = comps->size[id];
        int want = m - 1 < rest ? (int)(m - 1) : rest;
        if (want < 1) continue;
        cvg__csr sub;
        double *ss = NULL;
        if ((st = cvg__csr_subgraph(g, res[id].vertices, m, &sub)) != CVG_OK) goto done;
        if (s) {
            ss = cvg__malloc(sizeof(double) * (size_t)m, "degrees");
            if (!ss) {
                cvg__csr_free(&sub);
                st = CVG_ERR_NOMEM;
                goto done;
            }
            for (int64_t i = 0; i < m; i++) ss[i] = s[res[id].vertices[i]];
        }
        res[id].want = want;
        res[id].vals = cvg__malloc(sizeof(double) * (size_t)want, "eigenvalues");
        res[id].vecs = cvg__malloc(sizeof(double) * (size_t)m * want, "eigenvectors");
        if (!res[id].vals || !res[id].vecs) st = CVG_ERR_NOMEM;
        int b = want + (want / 4 > 8 ? want / 4 : 8);
        int converged = 0, iters = 0;
        int64_t basis = cvg__krylov_basis(b);
        int krylov = rq->krylov_from > 0 ? m >= rq->krylov_from && 2 * basis <= m
                                         : m >= SMALL_COMPONENT && 4 * basis <= m;
        if (st == CVG_OK && krylov) {
            cvg__eig_request creq = component_request(rq, z, want);
            st = component_krylov(&sub, ss, &creq, b, res[id].vals, res[id].vecs, &iters,
                                  &converged);
            if (st == CVG_OK && !converged)
                cvg__log(CVG_LOG_WARN, "cluster: filtered Krylov did not converge on a "
                         "%lld-vertex component; using dsyevr", (long long)m);
            if (iterations && iters > *iterations) *iterations = iters;
        }
        if (st == CVG_OK && !converged) st = component_dense(&sub, ss, want, res[id].vals, res[id].vecs);
        cvg__csr_free(&sub);
        free(ss);
        if (st != CVG_OK) goto done;
        total += want;
    }
    pairs = cvg__malloc(sizeof(pair_ref) * (size_t)(total + 1), "component spectra");
    if (!pairs) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    int64_t np = 0;
    for (int64_t r = 0; r < C; r++) {
        int32_t id = comps->rank[r];
        for (int t = 0; t < res[id].want; t++) pairs[np++] = (pair_ref){res[id].vals[t], (int32_t)r, t};
    }
    qsort(pairs, (size_t)np, sizeof(pair_ref), cmp_pair);
    for (int t = 0; t < rest; t++) { /* np >= rest: components hold n - C >= nev - C pairs */
        const comp_result *cr = &res[comps->rank[pairs[t].rank]];
        double *v = vecs + (size_t)(z + t) * n;
        memset(v, 0, sizeof(double) * (size_t)n);
        int64_t m = comps->size[comps->rank[pairs[t].rank]];
        for (int64_t i = 0; i < m; i++) v[cr->vertices[i]] = cr->vecs[i + (size_t)pairs[t].index * m];
        vals[z + t] = pairs[t].val;
    }
done:
    if (res)
        for (int64_t j = 0; j < C; j++) {
            free(res[j].vertices);
            free(res[j].vals);
            free(res[j].vecs);
        }
    free(res);
    free(cursor);
    free(pairs);
    return st;
}
