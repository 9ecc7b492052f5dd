/* Inside the moments accumulator: rows given as column parts (one array per network, read
 * straight from the files) and the per-sub-block hook through which the statistics pass does
 * its other per-row work while the rows are in cache. */
#ifndef CVG_MOMENTS_INTERNAL_H
#define CVG_MOMENTS_INTERNAL_H

#include <stdint.h>

#include "convergent.h"

/* Rows of D values split by columns over `count` arrays: columns [col[p], col[p+1]) of row r
 * start at base[p] + r * ld[p] elements (float when is_float, else double); col[0] = 0 and
 * col[count] = D. One array is the plain case. */
typedef struct row_parts {
    int count, is_float;
    const void *const *base;
    const int64_t *ld;
    const int64_t *col;
} row_parts;

/* Rows per float32 accumulation: hooks are called per sub-block of this many rows (the last
 * of a call may be shorter). */
enum { MOMENTS_SUB_ROWS = 128 };
/* Rows per chunk (one parallel region and one merge): a call's rows are cut into chunks from
 * its first row, so rows given in calls of whole chunks are summed exactly as in one call. */
enum { MOMENTS_CHUNK_ROWS = 16384 };

/* What the fused kernel made of a sub-block, for hooks that can use it: the rows centred and
 * packed (comoment_kernel.h layout) and the centre they are relative to (float rows: the
 * float centre_f; double rows: centre_d); and the rows themselves, row `at` of *rows being
 * the sub-block's first (the rows given, or those a filler made). The hook gets NULL for the
 * BLAS kernels. */
typedef struct moments_block {
    const float *packed;
    const float *centre_f;
    const double *centre_d;
    const row_parts *rows;
    int64_t at;
} moments_block;

/* Called once per sub-block, rows [first, first + k) of the rows given to moments_add_parts,
 * by thread `thread` (< moments_threads) while that sub-block is in its cache; sub-blocks of a
 * call may run on different threads at the same time. finite = 0: the sub-block holds a NaN or
 * an infinity and was left out of the moments (only CVG_KERNEL_FUSED checks; the other kernels
 * need finite rows). */
typedef void (*moments_block_fn)(void *user, int thread, int64_t first, int64_t k, int finite,
                                 const moments_block *block);

/* Add n rows. The BLAS kernels read one array: parts are joined chunk by chunk for them.
 * fn may be NULL. Returns the number of rows left out as non-finite (see above), or -1 when
 * memory to join the parts ran out (nothing added). */
int64_t moments_add_parts(cvg_moments *m, const row_parts *rows, int64_t n, moments_block_fn fn,
                          void *user);

/* Rows made sub-block by sub-block, by the thread that adds them, while they stay in its cache:
 * fill(user, thread, first, k, out) makes rows [first, first + k) of the call (k <= the
 * sub-block's rows) in a buffer of that thread's own and describes them in *out, row 0 of
 * *out being row first. Only the fused kernel split by rows takes them (moments_takes_filler);
 * the sums are those of the same rows given whole (the same sub-blocks and chunks). */
typedef struct moments_filler {
    void (*fill)(void *user, int thread, int64_t first, int64_t k, row_parts *out);
    void *user;
} moments_filler;
int moments_takes_filler(const cvg_moments *m);
/* Add n rows made by filler, as moments_add_parts; -1 when the accumulator does not take a
 * filler (nothing added). */
int64_t moments_add_filled(cvg_moments *m, int64_t n, const moments_filler *filler, moments_block_fn fn,
                           void *user);

/* Tests: the fused kernel's work split for accumulators made from now on: 1 by rows, 0 by
 * columns, -1 chosen by memory (the default). */
int moments__force_split(int by_rows);

/* The threads the accumulator runs (a hook's `thread` is below this). */
int moments_threads(const cvg_moments *m);
int moments_is_fused(const cvg_moments *m);

/* The stored upper triangle of M (dim x dim, row-major; entries below the diagonal are not
 * meaningful). */
const double *moments__upper(const cvg_moments *m);

#endif
