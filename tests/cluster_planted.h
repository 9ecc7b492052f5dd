/* Planted groups shared by two networks, for the clustering tests: unit u of either net
 * belongs to group g(u); its activation is the group's latent factor, plus a weaker second
 * factor of another group, plus noise. Correlations are computed here from the samples. */
#ifndef CVG_TEST_CLUSTER_PLANTED_H
#define CVG_TEST_CLUSTER_PLANTED_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

/* corr: 2S x 2S (caller frees), truth: 2S group labels (caller frees). */
static inline void planted_corr(int64_t S, int groups, int samples, double mix, double noise,
                         uint64_t seed, double **corr_out, int32_t **truth_out)
{
    int64_t n = 2 * S;
    uint64_t st = seed;
    double *Z = malloc(sizeof(double) * (size_t)samples * groups);
    double *X = malloc(sizeof(double) * (size_t)samples * n);
    int32_t *g = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *g2 = malloc(sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; i < (int64_t)samples * groups; i++) Z[i] = test_rand_normal(&st);
    for (int64_t u = 0; u < n; u++) {
        /* every group gets units of both nets: round-robin, then shuffled by the RNG below */
        g[u] = (int32_t)((u % S) % groups);
        g2[u] = (int32_t)(test_rand_u64(&st) % (uint64_t)groups);
    }
    for (int64_t net = 0; net < 2; net++) /* shuffle each net's assignment */
        for (int64_t i = S - 1; i > 0; i--) {
            int64_t j = (int64_t)(test_rand_u64(&st) % (uint64_t)(i + 1));
            int32_t t = g[net * S + i];
            g[net * S + i] = g[net * S + j];
            g[net * S + j] = t;
        }
    for (int s = 0; s < samples; s++)
        for (int64_t u = 0; u < n; u++)
            X[(size_t)s * n + u] = Z[(size_t)s * groups + g[u]] +
                                   mix * Z[(size_t)s * groups + g2[u]] +
                                   noise * test_rand_normal(&st);
    double *mean = calloc((size_t)n, sizeof(double)), *sd = calloc((size_t)n, sizeof(double));
    for (int s = 0; s < samples; s++)
        for (int64_t u = 0; u < n; u++) mean[u] += X[(size_t)s * n + u] / samples;
    for (int s = 0; s < samples; s++)
        for (int64_t u = 0; u < n; u++) {
            X[(size_t)s * n + u] -= mean[u];
            sd[u] += X[(size_t)s * n + u] * X[(size_t)s * n + u];
        }
    for (int64_t u = 0; u < n; u++) sd[u] = sqrt(sd[u]);
    double *C = calloc((size_t)n * n, sizeof(double));
    for (int s = 0; s < samples; s++) {
        const double *x = X + (size_t)s * n;
        for (int64_t p = 0; p < n; p++) {
            double xp = x[p];
            double *row = C + p * n;
            for (int64_t q = p; q < n; q++) row[q] += xp * x[q];
        }
    }
    for (int64_t p = 0; p < n; p++)
        for (int64_t q = p; q < n; q++) {
            double c = C[p * n + q] / (sd[p] * sd[q]);
            C[p * n + q] = C[q * n + p] = c;
        }
    free(Z);
    free(X);
    free(g2);
    free(mean);
    free(sd);
    *corr_out = C;
    *truth_out = g;
}

/* Adjusted Rand index (Hubert and Arabie) of two labelings of n items. */
static inline double adjusted_rand(const int32_t *a, const int32_t *b, int64_t n)
{
    int32_t ka = 0, kb = 0;
    for (int64_t i = 0; i < n; i++) {
        if (a[i] + 1 > ka) ka = a[i] + 1;
        if (b[i] + 1 > kb) kb = b[i] + 1;
    }
    double *t = calloc((size_t)ka * kb, sizeof(double));
    double *ra = calloc((size_t)ka, sizeof(double)), *rb = calloc((size_t)kb, sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        t[(size_t)a[i] * kb + b[i]] += 1;
        ra[a[i]] += 1;
        rb[b[i]] += 1;
    }
#define C2(x) ((x) * ((x)-1.0) / 2.0)
    double sij = 0, sa = 0, sb = 0;
    for (size_t i = 0; i < (size_t)ka * kb; i++) sij += C2(t[i]);
    for (int i = 0; i < ka; i++) sa += C2(ra[i]);
    for (int j = 0; j < kb; j++) sb += C2(rb[j]);
    double expected = sa * sb / C2((double)n);
    double maxi = 0.5 * (sa + sb);
#undef C2
    free(t);
    free(ra);
    free(rb);
    if (maxi == expected) return 1.0;
    return (sij - expected) / (maxi - expected);
}

/* 1 if labels a and b are the same partition (equal up to renaming). */
static inline int same_partition(const int32_t *a, const int32_t *b, int64_t n)
{
    int32_t ka = 0, kb = 0;
    for (int64_t i = 0; i < n; i++) {
        if (a[i] + 1 > ka) ka = a[i] + 1;
        if (b[i] + 1 > kb) kb = b[i] + 1;
    }
    if (ka != kb) return 0;
    int32_t *ab = malloc(sizeof(int32_t) * (size_t)ka), *ba = malloc(sizeof(int32_t) * (size_t)kb);
    for (int i = 0; i < ka; i++) ab[i] = ba[i] = -1;
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++) {
        if (ab[a[i]] < 0 && ba[b[i]] < 0) {
            ab[a[i]] = b[i];
            ba[b[i]] = a[i];
        } else if (ab[a[i]] != b[i] || ba[b[i]] != a[i]) {
            ok = 0;
        }
    }
    free(ab);
    free(ba);
    return ok;
}

#endif
