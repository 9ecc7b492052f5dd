/* k-means on the rows of the spectral embedding: greedy k-means++ seeding, Lloyd iterations,
 * restarts on independent RNG streams (run in parallel, chosen by lowest inertia, so the
 * result does not depend on the number of threads). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cluster/cluster_internal.h"
#include "cluster/kmeans_kernel.h"
#include "core/internal.h"

typedef struct km_work {
    double *C;       /* k x dim centres */
    double *cn;      /* k squared norms of the centres */
    double *Ct;      /* dim x ld: the centres or the candidates transposed (kmeans_kernel.h) */
    double *G;       /* n x ld inner products */
    double *dist;    /* n squared distances to the nearest centre / assigned centre */
    int ld;          /* cvg__km_padded(max(k, trials)) */
    int64_t *count;  /* k */
    int64_t *pick;   /* trials candidate indices */
    int32_t *snap;   /* n: labels at the last snapshot, for cycle detection in lloyd() */
} km_work;

static void work_free(km_work *w)
{
    free(w->C);
    free(w->cn);
    free(w->Ct);
    free(w->G);
    free(w->dist);
    free(w->count);
    free(w->pick);
    free(w->snap);
}

static int work_alloc(km_work *w, int64_t n, int dim, int k, int trials)
{
    w->ld = cvg__km_padded(k > trials ? k : trials);
    w->C = malloc(sizeof(double) * (size_t)k * dim + 8);
    w->cn = malloc(sizeof(double) * (size_t)k + 8);
    w->Ct = calloc((size_t)dim * w->ld, sizeof(double));
    w->G = malloc(sizeof(double) * (size_t)n * w->ld + 8);
    w->dist = malloc(sizeof(double) * (size_t)n + 8);
    w->count = malloc(sizeof(int64_t) * (size_t)k + 8);
    w->pick = malloc(sizeof(int64_t) * (size_t)trials + 8);
    w->snap = malloc(sizeof(int32_t) * (size_t)n + 8);
    return w->C && w->cn && w->Ct && w->G && w->dist && w->count && w->pick && w->snap;
}

/* Index i with cumulative weight just above r (weights >= 0, total > r). */
static int64_t sample_index(const double *weight, int64_t n, double r)
{
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) {
        acc += weight[i];
        if (acc > r) return i;
    }
    for (int64_t i = n - 1; i >= 0; i--) /* rounding: the last point with weight */
        if (weight[i] > 0.0) return i;
    return n - 1;
}

/* Greedy k-means++ (Arthur and Vassilvitskii; the greedy variant tries 2 + ln k candidates per
 * centre, drawn with probability proportional to the squared distance to the nearest centre
 * so far, and keeps the one that lowers the potential most). */
static void seed_centres(int64_t n, int dim, const double *X, const double *xn, int k,
                         int trials, cvg__rng *rng, km_work *w)
{
    int64_t first = (int64_t)(cvg__rng_uniform(rng) * (double)n);
    if (first >= n) first = n - 1;
    memcpy(w->C, X + first * dim, sizeof(double) * dim);
    double pot = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int c = 0; c < dim; c++) {
            double t = X[i * dim + c] - X[first * dim + c];
            s += t * t;
        }
        w->dist[i] = s;
        pot += s;
    }
    for (int c = 1; c < k; c++) {
        for (int t = 0; t < trials; t++) {
            int64_t p = pot > 0.0 ? sample_index(w->dist, n, cvg__rng_uniform(rng) * pot)
                                  : (int64_t)(cvg__rng_uniform(rng) * (double)n);
            if (p >= n) p = n - 1;
            w->pick[t] = p;
            for (int q = 0; q < dim; q++) w->Ct[(size_t)q * w->ld + t] = X[p * dim + q];
        }
        /* G (n x ld, first trials columns) = X cand^T */
        cvg__km_dots(X, n, dim, w->Ct, w->ld, trials, w->G, w->ld);
        int best = 0;
        double best_pot = INFINITY;
        for (int t = 0; t < trials; t++) {
            double pn = xn[w->pick[t]], s = 0.0;
            for (int64_t i = 0; i < n; i++) {
                double dd = xn[i] + pn - 2.0 * w->G[i * w->ld + t];
                if (dd < 0.0) dd = 0.0;
                s += dd < w->dist[i] ? dd : w->dist[i];
            }
            if (s < best_pot) {
                best_pot = s;
                best = t;
            }
        }
        double pn = xn[w->pick[best]];
        pot = 0.0;
        for (int64_t i = 0; i < n; i++) {
            double dd = xn[i] + pn - 2.0 * w->G[i * w->ld + best];
            if (dd < 0.0) dd = 0.0;
            if (dd < w->dist[i]) w->dist[i] = dd;
            pot += w->dist[i];
        }
        memcpy(w->C + (size_t)c * dim, X + w->pick[best] * dim, sizeof(double) * dim);
    }
}

/* One k-means run from seeded centres; returns the exact inertia of labels.
 *
 * Cycles. From the second iteration on, an iteration's labels are a function of the previous
 * iteration's labels alone (centres = their means, then assignment and the empty-cluster rule),
 * so once the labels repeat (L_t = L_s, s < t) they repeat with period p = t - s until
 * max_iter, and the labels the loop would end with, L_{max_iter - 1}, are L_{t + (max_iter - 1
 * - t) mod p}: the loop stops there instead of running to max_iter, with the same result. Such
 * cycles are not rare: where fewer distinct points than clusters remain (the units of many
 * small graph components share the origin of the embedding), every iteration empties the same
 * clusters and the empty-cluster rule refills them with the same points (period 1: measured at
 * 2S = 4096, every restart of the deep splits ran all 300 iterations). Detection is Brent's:
 * a snapshot of the labels at iterations 1, 2, 4, 8, ..., compared after every iteration. */
static double lloyd(int64_t n, int dim, const double *X, const double *xn, int k, int max_iter,
                    km_work *w, int32_t *labels)
{
    for (int64_t i = 0; i < n; i++) labels[i] = -1;
    int snap_iter = -1, next_snap = 1, stop_at = max_iter - 1;
    for (int iter = 0; iter < max_iter; iter++) {
        for (int j = 0; j < k; j++) {
            double s = 0.0;
            for (int c = 0; c < dim; c++) s += w->C[(size_t)j * dim + c] * w->C[(size_t)j * dim + c];
            w->cn[j] = s;
            for (int c = 0; c < dim; c++) w->Ct[(size_t)c * w->ld + j] = w->C[(size_t)j * dim + c];
        }
        cvg__km_dots(X, n, dim, w->Ct, w->ld, k, w->G, w->ld);
        int64_t changed = 0;
        memset(w->count, 0, sizeof(int64_t) * (size_t)k);
        for (int64_t i = 0; i < n; i++) {
            const double *g = w->G + i * w->ld;
            int best = 0;
            double bd = w->cn[0] - 2.0 * g[0];
            for (int j = 1; j < k; j++) {
                double dd = w->cn[j] - 2.0 * g[j];
                if (dd < bd) {
                    bd = dd;
                    best = j;
                }
            }
            double dist = xn[i] + bd;
            w->dist[i] = dist > 0.0 ? dist : 0.0;
            if (labels[i] != best) changed++;
            labels[i] = best;
            w->count[best]++;
        }
        /* Empty clusters: each takes the point farthest from its centre among clusters that
         * keep at least one point. */
        for (int j = 0; j < k; j++) {
            if (w->count[j] > 0) continue;
            int64_t far = -1;
            for (int64_t i = 0; i < n; i++)
                if (w->count[labels[i]] > 1 && (far < 0 || w->dist[i] > w->dist[far])) far = i;
            if (far < 0) break; /* k > n: cannot happen, we require k <= n */
            w->count[labels[far]]--;
            labels[far] = j;
            w->count[j] = 1;
            w->dist[far] = 0.0;
            changed++;
        }
        if (changed == 0 || iter == stop_at) break;
        if (stop_at == max_iter - 1 && snap_iter >= 1 &&
            memcmp(labels, w->snap, sizeof(int32_t) * (size_t)n) == 0) {
            int period = iter - snap_iter;
            stop_at = iter + (max_iter - 1 - iter) % period;
            if (stop_at == iter) break;
        }
        if (iter == next_snap) {
            memcpy(w->snap, labels, sizeof(int32_t) * (size_t)n);
            snap_iter = iter;
            next_snap *= 2;
        }
        memset(w->C, 0, sizeof(double) * (size_t)k * dim);
        for (int64_t i = 0; i < n; i++) {
            double *c = w->C + (size_t)labels[i] * dim;
            for (int q = 0; q < dim; q++) c[q] += X[i * dim + q];
        }
        for (int j = 0; j < k; j++)
            for (int q = 0; q < dim; q++) w->C[(size_t)j * dim + q] /= (double)w->count[j];
    }
    /* Exact inertia against the centres of the final labels. */
    memset(w->C, 0, sizeof(double) * (size_t)k * dim);
    memset(w->count, 0, sizeof(int64_t) * (size_t)k);
    for (int64_t i = 0; i < n; i++) {
        double *c = w->C + (size_t)labels[i] * dim;
        for (int q = 0; q < dim; q++) c[q] += X[i * dim + q];
        w->count[labels[i]]++;
    }
    for (int j = 0; j < k; j++)
        for (int q = 0; q < dim; q++)
            if (w->count[j]) w->C[(size_t)j * dim + q] /= (double)w->count[j];
    double inertia = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double *c = w->C + (size_t)labels[i] * dim;
        for (int q = 0; q < dim; q++) {
            double t = X[i * dim + q] - c[q];
            inertia += t * t;
        }
    }
    return inertia;
}

cvg_status cvg__kmeans(int64_t n, int dim, const double *X, int k, int restarts, int max_iter,
                       uint64_t seed, int32_t *labels, double *inertia)
{
    if (n < 1 || dim < 1 || k < 1 || k > n || restarts < 1 || max_iter < 1 || !X || !labels)
        return cvg__fail(CVG_ERR_ARG, "k-means: bad arguments (n %lld, dim %d, k %d)",
                         (long long)n, dim, k);
    int trials = 2 + (int)log((double)k);
    double *xn = cvg__malloc(sizeof(double) * (size_t)n, "k-means norms");
    int32_t *all = cvg__malloc(sizeof(int32_t) * (size_t)n * restarts, "k-means labels");
    double *score = cvg__malloc(sizeof(double) * (size_t)restarts, "k-means inertia");
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    if (threads > restarts) threads = restarts;
    /* Small problems: a parallel region costs more than it saves (and on a loaded machine
     * its barriers can stall for whole time slices). The result does not depend on it. */
    if ((double)n * k * dim * restarts < 2e7) threads = 1;
    km_work *work = cvg__calloc((size_t)threads, sizeof(km_work), "k-means workspace");
    cvg_status st = CVG_OK;
    if (!xn || !all || !score || !work) {
        st = CVG_ERR_NOMEM;
        goto done;
    }
    for (int t = 0; t < threads; t++)
        if (!work_alloc(&work[t], n, dim, k, trials)) {
            st = cvg__fail(CVG_ERR_NOMEM, "out of memory for k-means workspace");
            goto done;
        }
    for (int64_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int c = 0; c < dim; c++) s += X[i * dim + c] * X[i * dim + c];
        xn[i] = s;
    }
    /* Each restart depends only on (seed, r): the thread that runs it does not matter. BLAS
     * calls inside the parallel region run single-threaded (OpenBLAS, OpenMP build). */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int r = 0; r < restarts; r++) {
        int t = 0;
#ifdef _OPENMP
        t = omp_get_thread_num();
#endif
        cvg__rng rng;
        cvg__rng_seed_stream(&rng, seed, (uint64_t)r);
        seed_centres(n, dim, X, xn, k, trials, &rng, &work[t]);
        score[r] = lloyd(n, dim, X, xn, k, max_iter, &work[t], all + (size_t)r * n);
    }
    /* Inertias within 1e-9 of each other are a tie (the earlier run wins): a tied optimum
     * (e.g. six equidistant points split in two) must not be decided by the last bits of the
     * embedding, which differ between eigensolvers (docs/clustering.md, "Sparse path"). */
    int best = 0;
    for (int r = 1; r < restarts; r++)
        if (score[r] < score[best] - 1e-9 * score[best]) best = r;
    memcpy(labels, all + (size_t)best * n, sizeof(int32_t) * (size_t)n);
    if (inertia) *inertia = score[best];
done:
    if (work)
        for (int t = 0; t < threads; t++) work_free(&work[t]);
    free(work);
    free(xn);
    free(all);
    free(score);
    return st;
}
