/* Running sums for the unbiased HSIC estimator (debiased linear CKA), mergeable exactly.
 *
 * The D units of a row are cut into B blocks (block b = units [offset[b], offset[b+1]): one
 * network of a layer, or one layer of one network in a cross-layer pass). With u_r = x_r - mu
 * (mu: the mean of every row so far) and k_r^b = ||u_r^b||^2 (the squared norm of the row's
 * block b, i.e. the diagonal of block b's linear Gram matrix), the state is
 *     Q[a][b] = sum_r k_r^a k_r^b          (B x B)
 *     G[a][:] = sum_r k_r^a u_r            (B x D)
 * Q is what the estimator needs (docs/similarity.md); G is what lets Q follow the mean when rows
 * are added or shards merged. For x_r - mu' = (x_r - mu) + d, with M the co-moment about mu:
 *     G_a' = G_a + tr(M_aa) d + 2 M[:, a] d_a + n |d_a|^2 d
 *     Q_ab' = Q_ab + 2 G_a[b].d_b + 2 G_b[a].d_a + tr(M_aa)|d_b|^2 + tr(M_bb)|d_a|^2
 *             + 4 d_a^T M_ab d_b + n |d_a|^2 |d_b|^2
 * (terms linear in sum_r u_r vanish because mu is the mean). New rows are summed directly about
 * the new mean, so nothing is ever accumulated about a far-away origin. */
#ifndef CVG_SQNORM_H
#define CVG_SQNORM_H

#include <stdint.h>

#include "convergent.h"
#include "stats/moments_internal.h"

typedef struct sqnorm_sums {
    int blocks;
    int64_t dim;
    int64_t *offset;  /* blocks + 1 */
    int *column_block; /* dim: the block of each column */
    double *Q;        /* blocks x blocks */
    double *G;        /* blocks x dim */
} sqnorm_sums;

cvg_status sqnorm_init(sqnorm_sums *s, int blocks, const int64_t *offset);
void sqnorm_free(sqnorm_sums *s);
/* Fold n rows (float if is_float, else double; row-major, leading dimension ld) in. m: the
 * moments of the rows seen so far, BEFORE these rows are added to it (call this first, then
 * cvg_moments_add). */
cvg_status sqnorm_add(sqnorm_sums *s, const cvg_moments *m, const void *rows, int is_float,
                      int64_t n, int64_t ld);
/* dst += src; dm and sm are their moments BEFORE merging (call before cvg_moments_merge). */
cvg_status sqnorm_merge(sqnorm_sums *dst, const cvg_moments *dm, const sqnorm_sums *src,
                        const cvg_moments *sm);

/* The pass's way, with the moments' per-sub-block hook: every thread sums its rows about a
 * fixed reference point ref (the running mean before the rows, or the mean of the first rows
 * of all) into its own scratch (sqnorm_scratch_size doubles, zeroed), the scratch is folded into
 * the sums, and once the moments hold the rows too the sums are moved from ref to the mean.
 * The sums already in s must be about ref as well (they are about the running mean before the
 * rows). */
int64_t sqnorm_scratch_size(const sqnorm_sums *s);
void sqnorm_rows_about(const sqnorm_sums *s, const row_parts *rows, int64_t r0, int64_t n,
                       const double *ref, double *scratch);
/* The same for a sub-block of k rows that the fused kernel has packed (moments_block: y = x -
 * centre in float): with e = centre - ref, the squared norms |y + e|^2 are summed in float
 * down each packed panel (lane-wise, then the lanes in double), G's sum of k_a (x - ref) =
 * k_a (y + e) as k_a y in float down each panel plus (sum k_a) e in double. Float sums over one
 * sub-block, like the co-moments'. */
void sqnorm_packed_about(const sqnorm_sums *s, const float *packed, int64_t k,
                         const float *centre_f, const double *centre_d, const double *ref,
                         double *scratch);
void sqnorm_fold_scratch(sqnorm_sums *s, double *scratch);
/* Tests: 1 sums the packed path's lanes one row at a time even where AVX-512 is available (the
 * same sums); 0 restores the choice by CPU. Returns 1 when the AVX-512 sums are in use. */
int sqnorm__force_portable(int on);
cvg_status sqnorm_recentre(sqnorm_sums *s, const cvg_moments *m, const double *ref);

#endif
