/* The inner products of k-means (points against centres or seeding candidates), hand-written.
 *
 * Why not dgemm: k-means calls it once per Lloyd iteration and once per seeded centre with the
 * same n x dim points and a short operand (k or 2 + ln k columns); OpenBLAS repacks the points
 * in every call, which was half of its dgemm time in the profile of the deep splits
 * (docs/performance.md). Here the points are read in place and the short operand is stored
 * transposed, so the loop over its columns is the vector loop. */
#ifndef CVG_KMEANS_KERNEL_H
#define CVG_KMEANS_KERNEL_H

#include <stdint.h>

/* Column blocks of the transposed operand: its leading dimension is a multiple of this. */
#define CVG_KM_LANES 8

static inline int cvg__km_padded(int cols) { return (cols + CVG_KM_LANES - 1) / CVG_KM_LANES * CVG_KM_LANES; }

/* out[p * ldo + j] = sum over q = 0 .. dim-1 (in that order) of X[p * dim + q] * ct[q * ldc + j]
 * for p < np, j < cvg__km_padded(cols).
 *   X:   np x dim points, row-major;
 *   ct:  dim x ldc, the operand transposed (column j = centre j), ldc >= cvg__km_padded(cols)
 *        a multiple of CVG_KM_LANES; columns >= cols may hold anything (their out is unused);
 *   out: np x ldo, ldo >= cvg__km_padded(cols).
 * Every entry is the same sequence of roundings whichever other points or columns are computed
 * with it (blocks of four points, then one at a time), so one point's products computed alone
 * equal the same point's in a block: the bounded Lloyd iteration relies on it. */
void cvg__km_dots(const double *X, int64_t np, int dim, const double *ct, int ldc, int cols,
                  double *out, int ldo);

#endif
