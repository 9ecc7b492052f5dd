/* Local refinement of the top-level clusters (docs/clustering.md, "Refinement"): single-unit
 * moves that raise the ratio association
 *
 *     RA = sum_c W(c, c) / |c|,   W(c, c) = sum_{p, q in c} w_pq   (ordered pairs, w_pp = 0),
 *
 * the objective of kernel k-means with kernel W (Dhillon, Guan and Kulis, "Kernel k-means,
 * spectral clustering and normalized cuts", KDD 2004), started from the k-means labels of the
 * spectral embedding. Each accepted move raises RA, no move empties a cluster, so k stays k. */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "cluster/graph_csr.h"
#include "core/internal.h"

/* The change of S_c / n_c when S_c becomes S_c + dS and n_c becomes n_c + dn (n_c + dn >= 1). */
static inline double delta(double S, int64_t cnt, double dS, int64_t dn)
{
    double before = cnt > 0 ? S / (double)cnt : 0.0;
    return (S + dS) / (double)(cnt + dn) - before;
}

cvg_status cvg__refine_assoc(const cvg__csr *g, const int64_t *order, int k, int max_sweeps,
                             int32_t *labels, int64_t *moves)
{
    if (moves) *moves = 0;
    int64_t n = g ? g->n : 0;
    if (n < 2 || k < 2 || !order || !labels || max_sweeps < 1) return CVG_OK;
    /* T (n x k): T[i*k + c] = sum of w_ij over j in cluster c (j != i); S[c] = W(c, c) */
    double *T = cvg__calloc((size_t)n * (size_t)k, sizeof(double), "refinement table");
    double *S = cvg__calloc((size_t)k, sizeof(double), "refinement sums");
    int64_t *cnt = cvg__calloc((size_t)k, sizeof(int64_t), "refinement counts");
    if (!T || !S || !cnt) {
        free(T);
        free(S);
        free(cnt);
        return CVG_ERR_NOMEM;
    }
    double volume = 0.0; /* sum of all degrees: the scale of RA, for the tolerance */
    for (int64_t i = 0; i < n; i++) {
        double *ti = T + i * k;
        for (int64_t p = g->start[i]; p < g->start[i + 1]; p++) {
            ti[labels[g->col[p]]] += g->w[p];
            volume += g->w[p];
        }
    }
    for (int64_t i = 0; i < n; i++) {
        S[labels[i]] += T[i * k + labels[i]];
        cnt[labels[i]]++;
    }
    /* A move must gain more than rounding can fake: T and S carry errors of about 1e-16 of
     * the degrees, so a gain of 1e-12 of the total volume is real. This also bounds the number
     * of moves (RA <= volume), so the loop ends even without the sweep cap. */
    double tol = 1e-12 * volume;
    int64_t moved_total = 0;
    for (int sweep = 0; sweep < max_sweeps && volume > 0.0; sweep++) {
        int64_t moved = 0;
        for (int64_t r = 0; r < n; r++) {
            int64_t i = order[r];
            int a = labels[i];
            if (cnt[a] < 2) continue; /* never empty a cluster */
            const double *ti = T + i * k;
            double leave = delta(S[a], cnt[a], -2.0 * ti[a], -1);
            int best = -1;
            double best_gain = tol;
            for (int c = 0; c < k; c++) {
                if (c == a) continue;
                double gain = leave + delta(S[c], cnt[c], 2.0 * ti[c], 1);
                if (gain > best_gain) {
                    best_gain = gain;
                    best = c;
                }
            }
            if (best < 0) continue;
            S[a] -= 2.0 * ti[a];
            S[best] += 2.0 * ti[best];
            cnt[a]--;
            cnt[best]++;
            labels[i] = best;
            for (int64_t p = g->start[i]; p < g->start[i + 1]; p++) {
                T[(int64_t)g->col[p] * k + a] -= g->w[p];
                T[(int64_t)g->col[p] * k + best] += g->w[p];
            }
            moved++;
        }
        moved_total += moved;
        if (moved == 0) break;
    }
    if (moves) *moves = moved_total;
    free(T);
    free(S);
    free(cnt);
    return CVG_OK;
}
