/* One k-means restart (kmeans_run.c), the unit of work that kmeans.c spreads over threads. */
#ifndef CVG_KMEANS_RUN_H
#define CVG_KMEANS_RUN_H

#include <math.h>
#include <stdint.h>

/* Candidates per seeded centre of greedy k-means++: 2 + ln k (as scikit-learn). */
static inline int cvg__km_trials(int k) { return 2 + (int)log((double)k); }

/* 1 (the default): Lloyd stops at a cycle of labels with the labels max_iter would end with;
 * 0: it runs on to max_iter. Only the tests change it, to check that both give the same. */
extern int cvg__km_detect_cycles;
/* 1 (the default): k-means++ seeding skips the points at distance 0 from a centre; 0: it
 * computes every point's distances. Only the tests change it, to check both give the same. */
extern int cvg__km_skip_duplicates;
/* Cycles found so far (all threads): lets the tests check that their data does cycle. */
extern long cvg__km_cycles_found;

/* One restart's workspace, for points of up to n rows, dim columns, k clusters. */
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
    int64_t *live;   /* n: seeding: the points at a positive distance from every centre */
    double *Xl;      /* n x dim: their rows, gathered */
} km_work;

/* 1 on success; on failure what was allocated is still freed by cvg__km_work_free. */
int cvg__km_work_alloc(km_work *w, int64_t n, int dim, int k);
void cvg__km_work_free(km_work *w);

/* Restart `run` of k-means on X (n x dim, row-major; xn its n squared row norms): greedy
 * k-means++ seeding from the RNG stream (seed, run), then Lloyd iterations until no label
 * changes or max_iter (a cycle of labels ends early with the labels max_iter would give).
 * labels: n entries in [0, k). Returns the inertia of labels (sum of squared distances to the
 * means of their clusters). Depends only on its arguments, not on the thread that runs it. */
double cvg__km_restart(int64_t n, int dim, const double *X, const double *xn, int k,
                       int max_iter, uint64_t seed, int run, km_work *w, int32_t *labels);

#endif
