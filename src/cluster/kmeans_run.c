/* One k-means restart (kmeans_run.h): greedy k-means++ seeding, then Lloyd iterations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "cluster/kmeans_kernel.h"
#include "cluster/kmeans_run.h"
#include "core/internal.h"

int cvg__km_detect_cycles = 1;
int cvg__km_skip_duplicates = 1;
long cvg__km_cycles_found = 0;

void cvg__km_work_free(km_work *w)
{
    free(w->C);
    free(w->cn);
    free(w->Ct);
    free(w->G);
    free(w->dist);
    free(w->count);
    free(w->pick);
    free(w->snap);
    free(w->live);
    free(w->Xl);
}

int cvg__km_work_alloc(km_work *w, int64_t n, int dim, int k)
{
    int trials = cvg__km_trials(k);
    w->ld = cvg__km_padded(k > trials ? k : trials);
    w->C = malloc(sizeof(double) * (size_t)k * dim + 8);
    w->cn = malloc(sizeof(double) * (size_t)k + 8);
    w->Ct = calloc((size_t)dim * w->ld, sizeof(double));
    w->G = malloc(sizeof(double) * (size_t)n * w->ld + 8);
    w->dist = malloc(sizeof(double) * (size_t)n + 8);
    w->count = malloc(sizeof(int64_t) * (size_t)k + 8);
    w->pick = malloc(sizeof(int64_t) * (size_t)trials + 8);
    w->snap = malloc(sizeof(int32_t) * (size_t)n + 8);
    w->live = malloc(sizeof(int64_t) * (size_t)n + 8);
    w->Xl = malloc(sizeof(double) * (size_t)n * dim + 8);
    return w->C && w->cn && w->Ct && w->G && w->dist && w->count && w->pick && w->snap &&
           w->live && w->Xl;
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

/* The points at a positive distance from every centre so far (w->live, ascending) and their
 * rows (w->Xl); returns how many. */
static int64_t gather_live(int64_t n, int dim, const double *X, km_work *w)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (w->dist[i] > 0.0 || !cvg__km_skip_duplicates) w->live[m++] = i;
    if (m < n)
        for (int64_t a = 0; a < m; a++)
            memcpy(w->Xl + a * dim, X + w->live[a] * dim, sizeof(double) * dim);
    return m;
}

/* Greedy k-means++ (Arthur and Vassilvitskii; the greedy variant tries 2 + ln k candidates per
 * centre, drawn with probability proportional to the squared distance to the nearest centre
 * so far, and keeps the one that lowers the potential most).
 *
 * Points at distance 0 from a centre (duplicates of a chosen point: in the deep splits, often
 * most of the node, the units sharing the origin of the embedding) add min(d, 0) = +0.0 to
 * every candidate's potential and can never get closer, so only the others' distances are
 * computed and summed (in the same order): the same sums bit for bit, since s + 0.0 == s and
 * the kernel gives a point the same products in any block. */
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
    int64_t m = gather_live(n, dim, X, w);
    for (int c = 1; c < k; c++) {
        for (int t = 0; t < trials; t++) {
            int64_t p = pot > 0.0 ? sample_index(w->dist, n, cvg__rng_uniform(rng) * pot)
                                  : (int64_t)(cvg__rng_uniform(rng) * (double)n);
            if (p >= n) p = n - 1;
            w->pick[t] = p;
            for (int q = 0; q < dim; q++) w->Ct[(size_t)q * w->ld + t] = X[p * dim + q];
        }
        /* G (m x ld, first trials columns) = X_live cand^T */
        cvg__km_dots(m < n ? w->Xl : X, m, dim, w->Ct, w->ld, trials, w->G, w->ld);
        int best = 0;
        double best_pot = INFINITY;
        for (int t = 0; t < trials; t++) {
            double pn = xn[w->pick[t]], s = 0.0;
            for (int64_t a = 0; a < m; a++) {
                int64_t i = w->live[a];
                double dd = xn[i] + pn - 2.0 * w->G[a * w->ld + t];
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
        for (int64_t a = 0; a < m; a++) {
            int64_t i = w->live[a];
            double dd = xn[i] + pn - 2.0 * w->G[a * w->ld + best];
            if (dd < 0.0) dd = 0.0;
            if (dd < w->dist[i]) w->dist[i] = dd;
            pot += w->dist[i];
        }
        memcpy(w->C + (size_t)c * dim, X + w->pick[best] * dim, sizeof(double) * dim);
        if (c + 1 < k) m = gather_live(n, dim, X, w);
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
        if (cvg__km_detect_cycles && stop_at == max_iter - 1 && snap_iter >= 1 &&
            memcmp(labels, w->snap, sizeof(int32_t) * (size_t)n) == 0) {
            int period = iter - snap_iter;
#pragma omp atomic
            cvg__km_cycles_found++;
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

double cvg__km_restart(int64_t n, int dim, const double *X, const double *xn, int k,
                       int max_iter, uint64_t seed, int run, km_work *w, int32_t *labels)
{
    cvg__rng rng;
    cvg__rng_seed_stream(&rng, seed, (uint64_t)run);
    seed_centres(n, dim, X, xn, k, cvg__km_trials(k), &rng, w);
    return lloyd(n, dim, X, xn, k, max_iter, w, labels);
}
