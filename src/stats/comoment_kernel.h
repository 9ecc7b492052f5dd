/* The fused co-moment kernel: the float32 product Y^T Y of one centred sub-block Y (k rows x D
 * units), its upper triangle added into a double D x D matrix, without BLAS.
 *
 * Why hand-written: the statistics pass accumulates in float32 over only 128 rows at a time
 * (the accuracy bar, docs/statistics.md), and BLAS calls that short spend about as long packing
 * their operands as multiplying. Here the centring writes each sub-block straight into the
 * layout the kernel reads (ck_pack_*), and the kernel keeps a CK_TILE_ROWS x (CK_TILE_PANELS *
 * CK_PANEL) tile of the product in registers for the whole sub-block before adding it into a
 * float staging matrix, which is added into the double matrix every few sub-blocks.
 *
 * Packed layout of a sub-block of k rows: the D columns, padded with zeros to a multiple of
 * CK_PANEL, are cut into panels of CK_PANEL columns; panel p holds its k rows one after the
 * other, so element (r, j) is at ((j / CK_PANEL) * k + r) * CK_PANEL + j % CK_PANEL. */
#ifndef CVG_COMOMENT_KERNEL_H
#define CVG_COMOMENT_KERNEL_H

#include <stdint.h>

enum {
    CK_PANEL = 16,       /* columns per panel: one AVX-512 register of floats */
    CK_TILE_ROWS = 8,    /* rows of the product per register tile */
    CK_TILE_PANELS = 3   /* panels of columns per register tile (8 x 48: 24 registers) */
};

/* D rounded up to a whole number of panels. */
int64_t ck_padded(int64_t dim);

/* The column blocks (CK_TILE_PANELS panels each, the last one narrower) and which of `threads`
 * threads computes each: block q costs about its width times the rows above its end; blocks
 * go, most costly first, to the least loaded thread. Returns a malloc'd array of
 * ck_block_count(dim) owners, or NULL. */
int64_t ck_block_count(int64_t dim);
int *ck_assign_blocks(int64_t dim, int threads);

/* Centre columns [col0, col0 + width) of k rows (leading dimension ld; rows[0] is column col0)
 * into the packed layout: float rows on the float centre c (in float arithmetic), double rows
 * on the double centre c (rounded to float once); c is indexed by the global column. */
void ck_pack_f32(const float *rows, int64_t k, int64_t ld, int64_t col0, int64_t width,
                 const float *c, float *packed);
void ck_pack_f64(const double *rows, int64_t k, int64_t ld, int64_t col0, int64_t width,
                 const double *c, float *packed);
/* Zero the padding columns [dim, ck_padded(dim)) of a packed sub-block of k rows. */
void ck_pack_pad(int64_t k, int64_t dim, float *packed);

/* The float staging matrix holds the upper triangle block by block: column block q (its
 * whole panels) for rows [0, its end rounded up to 8), row after row, so that a block's tiles
 * and its flush stream through one region. ck_staging_size(dim) elements (about dim^2 / 2). */
int64_t ck_staging_size(int64_t dim);

/* F += sum_r Y[r][i] Y[r][j] in float (F = that sum when assign is set: the first sub-block
 * after a flush), for the column blocks that thread `me` of a team of `team` owns (owner %
 * team == me, so a smaller team than planned still covers every block), for every row i up to
 * the block's end. Entries below the diagonal and in padding columns are written too and never
 * read as results. */
void ck_update(const float *packed, int64_t k, int64_t dim, const int *owner, int me, int team,
               float *F, int assign);

/* M[i][j] += F's (i, j) in double for the column blocks thread `me` owns (M: dim x dim, row
 * length dim; entries below the diagonal in diagonal blocks get F's leftovers, which must be
 * finite: zero F when it is made); the next ck_update assigns F. The pass flushes after every
 * few sub-blocks: the float sums stay short (accuracy) while the double matrix, twice F's
 * size, is touched a few times less often (on 2-core machines the traffic to it was what held
 * the kernel back). */
void ck_flush(const float *F, int64_t dim, const int *owner, int me, int team, double *M);

/* A thread's own double sums in the staging layout (ck_staging_size doubles): Mb += F over
 * every block (one contiguous stream), and block q of Mb added into M (row-major, upper
 * triangle) and zeroed. */
void ck_flush_own(const float *F, int64_t dim, double *Mb);
void ck_add_own_block(double *Mb, int64_t dim, int64_t q, double *M);

/* Tests: 1 forces the portable C kernel even where AVX-512 is available; 0 restores the choice
 * by CPU. Returns 1 when the AVX-512 kernel is in use. */
int ck_force_portable(int on);

#endif
