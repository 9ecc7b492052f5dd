/* The fused co-moment kernel (comoment_kernel.h): packing and the register-tiled update.
 *
 * Register tile, AVX-512: 8 rows x 3 panels of 16 columns = 24 accumulators. Per row of the
 * sub-block it loads the 3 panel vectors of the tile's columns once and broadcasts the 8 row
 * values from memory: 24 FMAs for 11 loads, within the two load ports of one core. The tile
 * stays in registers for all k rows, then is widened to double and added into M. */
#include "stats/comoment_kernel.h"

#include <stdlib.h>

#include "core/internal.h"

#if defined(__GNUC__) && defined(__x86_64__)
#define CK_HAVE_AVX512 1
#include <immintrin.h>
#else
#define CK_HAVE_AVX512 0
#endif

enum { BLOCK_COLS = CK_TILE_PANELS * CK_PANEL };

int64_t ck_padded(int64_t dim) { return (dim + CK_PANEL - 1) / CK_PANEL * CK_PANEL; }

int64_t ck_block_count(int64_t dim) { return (dim + BLOCK_COLS - 1) / BLOCK_COLS; }

int *ck_assign_blocks(int64_t dim, int threads)
{
    const int64_t count = ck_block_count(dim);
    int *owner = malloc((size_t)count * sizeof *owner);
    int64_t *load = calloc((size_t)(threads > 0 ? threads : 1), sizeof *load);
    if (!owner || !load) {
        free(owner);
        free(load);
        return NULL;
    }
    /* cost grows with q, so walking from the last block is most costly first */
    for (int64_t q = count - 1; q >= 0; q--) {
        const int64_t j0 = q * BLOCK_COLS, j1 = j0 + BLOCK_COLS < dim ? j0 + BLOCK_COLS : dim;
        int best = 0;
        for (int t = 1; t < threads; t++)
            if (load[t] < load[best]) best = t;
        owner[q] = best;
        load[best] += (j1 - j0) * j1;
    }
    free(load);
    return owner;
}

/* Whole panels are plain 16-wide loops (vectorized); a part that starts or ends inside a panel
 * does those columns one by one. */
#define DEFINE_PACK(NAME, T)                                                                  \
    CVG_VECTOR_CLONES void NAME(const T *rows, int64_t k, int64_t ld, int64_t col0,            \
                                int64_t width, const T *c, float *packed)                     \
    {                                                                                         \
        const int64_t end = col0 + width;                                                     \
        int64_t head = (col0 + CK_PANEL - 1) / CK_PANEL * CK_PANEL;                           \
        if (head > end) head = end;                                                           \
        const int64_t tail = head + (end - head) / CK_PANEL * CK_PANEL;                       \
        /* whole panels one at a time, down the rows: the writes are one contiguous stream (row \
         * by row, they would land 64 k bytes apart, all in the same cache sets) */            \
        for (int64_t j0 = head; j0 < tail; j0 += CK_PANEL) {                                  \
            float *out = packed + (j0 / CK_PANEL) * k * CK_PANEL;                             \
            const T *x = rows + (j0 - col0), *cp = c + j0;                                    \
            for (int64_t r = 0; r < k; r++) {                                                 \
                _Pragma("omp simd")                                                           \
                for (int w = 0; w < CK_PANEL; w++) out[r * CK_PANEL + w] = (float)(x[r * ld + w] - cp[w]); \
            }                                                                                 \
        }                                                                                     \
        for (int64_t r = 0; r < k; r++) {                                                     \
            const T *x = rows + r * ld - col0; /* x[j]: global column j */                    \
            for (int64_t j = col0; j < head; j++)                                             \
                packed[((j / CK_PANEL) * k + r) * CK_PANEL + j % CK_PANEL] = (float)(x[j] - c[j]); \
            for (int64_t j = tail; j < end; j++)                                              \
                packed[((j / CK_PANEL) * k + r) * CK_PANEL + j % CK_PANEL] = (float)(x[j] - c[j]); \
        }                                                                                     \
    }
DEFINE_PACK(ck_pack_f32, float)
DEFINE_PACK(ck_pack_f64, double)

void ck_pack_pad(int64_t k, int64_t dim, float *packed)
{
    for (int64_t j = dim; j < ck_padded(dim); j++)
        for (int64_t r = 0; r < k; r++) packed[((j / CK_PANEL) * k + r) * CK_PANEL + j % CK_PANEL] = 0.0f;
}

/* One tile in portable C: rows [i, i+8) against the nb panels at b, added into the float
 * staging matrix F (row length ldf, padded: every tile fits). a points at the tile's first row
 * inside its panel (row r of the sub-block at a[r * CK_PANEL + ii]). */
static void tile_portable(int nb, int64_t k, const float *a, const float *b, int64_t pstride,
                          float *F, int64_t ldf, int assign)
{
    float acc[CK_TILE_ROWS][BLOCK_COLS] = {{0}};
    for (int64_t r = 0; r < k; r++)
        for (int ii = 0; ii < CK_TILE_ROWS; ii++) {
            const float av = a[r * CK_PANEL + ii];
            for (int v = 0; v < nb; v++)
                for (int w = 0; w < CK_PANEL; w++)
                    acc[ii][v * CK_PANEL + w] += av * b[v * pstride + r * CK_PANEL + w];
        }
    for (int ii = 0; ii < CK_TILE_ROWS; ii++)
        for (int j = 0; j < nb * CK_PANEL; j++) F[ii * ldf + j] = acc[ii][j] + (assign ? 0.0f : F[ii * ldf + j]);
}

#if CK_HAVE_AVX512
__attribute__((target("avx512f"), always_inline)) static inline void
tile_avx512(const int nb, int64_t k, const float *a, const float *b, int64_t pstride, float *F,
            int64_t ldf, int assign)
{
    __m512 acc[CK_TILE_ROWS][CK_TILE_PANELS];
#pragma GCC unroll 8
    for (int ii = 0; ii < CK_TILE_ROWS; ii++)
#pragma GCC unroll 3
        for (int v = 0; v < nb; v++) acc[ii][v] = _mm512_setzero_ps();
    for (int64_t r = 0; r < k; r++) {
        __m512 bv[CK_TILE_PANELS];
#pragma GCC unroll 3
        for (int v = 0; v < nb; v++) bv[v] = _mm512_load_ps(b + v * pstride + r * CK_PANEL);
        const float *ar = a + r * CK_PANEL;
#pragma GCC unroll 8
        for (int ii = 0; ii < CK_TILE_ROWS; ii++) {
            const __m512 av = _mm512_set1_ps(ar[ii]);
#pragma GCC unroll 3
            for (int v = 0; v < nb; v++) acc[ii][v] = _mm512_fmadd_ps(av, bv[v], acc[ii][v]);
        }
    }
#pragma GCC unroll 8
    for (int ii = 0; ii < CK_TILE_ROWS; ii++)
#pragma GCC unroll 3
        for (int v = 0; v < nb; v++) {
            float *f = F + ii * ldf + v * CK_PANEL;
            _mm512_storeu_ps(f, assign ? acc[ii][v] : _mm512_add_ps(_mm512_loadu_ps(f), acc[ii][v]));
        }
}

__attribute__((target("avx512f"))) static void tile_avx512_any(int nb, int64_t k, const float *a,
                                                               const float *b, int64_t pstride,
                                                               float *F, int64_t ldf, int assign)
{
    switch (nb) { /* constant panel counts: the tile lives in registers */
    case 3: tile_avx512(3, k, a, b, pstride, F, ldf, assign); break;
    case 2: tile_avx512(2, k, a, b, pstride, F, ldf, assign); break;
    default: tile_avx512(1, k, a, b, pstride, F, ldf, assign); break;
    }
}
#endif

static int forced_portable;

int ck_force_portable(int on)
{
    forced_portable = on;
#if CK_HAVE_AVX512
    return !on && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

typedef void (*tile_fn)(int, int64_t, const float *, const float *, int64_t, float *, int64_t, int);

/* Column block q of the staging layout: columns [j0, j0 + width) (whole panels), rows
 * [0, rows), row after row, starting at element offset. Every block but the last is 48 wide
 * and ends at column 48 (q + 1), so the blocks before q take 48 * 48 (1 + ... + q) elements. */
typedef struct staging_block {
    int64_t j0, j1, width, rows, offset;
} staging_block;

static staging_block block_shape(int64_t dim, int64_t q)
{
    const int64_t panels = ck_padded(dim) / CK_PANEL, p0 = q * CK_TILE_PANELS;
    const int64_t nb = panels - p0 < CK_TILE_PANELS ? panels - p0 : CK_TILE_PANELS;
    const int64_t j0 = q * BLOCK_COLS, j1 = j0 + BLOCK_COLS < dim ? j0 + BLOCK_COLS : dim;
    return (staging_block){j0, j1, nb * CK_PANEL, (j1 + CK_TILE_ROWS - 1) / CK_TILE_ROWS * CK_TILE_ROWS,
                           (int64_t)BLOCK_COLS * BLOCK_COLS * q * (q + 1) / 2};
}

int64_t ck_staging_size(int64_t dim)
{
    const staging_block last = block_shape(dim, ck_block_count(dim) - 1);
    return last.offset + last.rows * last.width;
}

void ck_update(const float *packed, int64_t k, int64_t dim, const int *owner, int me, int team,
               float *F, int assign)
{
    tile_fn tile = tile_portable;
#if CK_HAVE_AVX512
    if (!forced_portable && __builtin_cpu_supports("avx512f")) tile = tile_avx512_any;
#endif
    const int64_t pstride = k * CK_PANEL;
    for (int64_t q = 0; q < ck_block_count(dim); q++) {
        if (owner[q] % team != me) continue;
        const staging_block blk = block_shape(dim, q);
        float *Fq = F + blk.offset;
        const int64_t p0 = blk.j0 / CK_PANEL;
        const int nb = (int)(blk.width / CK_PANEL);
        for (int64_t i = 0; i < blk.j1; i += CK_TILE_ROWS) {
            /* tiles on the diagonal start at the panel holding column i: the panels left of it
             * are below the diagonal */
            const int64_t pi = i / CK_PANEL > p0 ? i / CK_PANEL : p0;
            const float *a = packed + (i / CK_PANEL) * pstride + i % CK_PANEL;
            tile(nb - (int)(pi - p0), k, a, packed + pi * pstride, pstride,
                 Fq + i * blk.width + (pi - p0) * CK_PANEL, blk.width, assign);
        }
    }
}

CVG_VECTOR_CLONES
void ck_flush(const float *F, int64_t dim, const int *owner, int me, int team, double *M)
{
    for (int64_t q = 0; q < ck_block_count(dim); q++) {
        if (owner[q] % team != me) continue;
        const staging_block blk = block_shape(dim, q);
        /* whole block rows, the diagonal block's part below the diagonal too (M's lower
         * triangle is not meaningful): fixed-length loops, no ragged starts */
        for (int64_t i = 0; i < blk.j1; i++) {
            const float *f = F + blk.offset + i * blk.width;
            double *m = M + i * dim + blk.j0;
            if (blk.j1 - blk.j0 == BLOCK_COLS)
                for (int j = 0; j < BLOCK_COLS; j++) m[j] += (double)f[j];
            else
                for (int64_t j = 0; j < blk.j1 - blk.j0; j++) m[j] += (double)f[j];
        }
    }
}

CVG_VECTOR_CLONES
void ck_flush_own(const float *F, int64_t dim, double *Mb)
{
    const int64_t size = ck_staging_size(dim);
    for (int64_t i = 0; i < size; i++) Mb[i] += (double)F[i];
}

CVG_VECTOR_CLONES
void ck_add_own_block(double *Mb, int64_t dim, int64_t q, double *M)
{
    const staging_block blk = block_shape(dim, q);
    double *Mq = Mb + blk.offset;
    for (int64_t i = 0; i < blk.j1; i++) {
        const double *mb = Mq + i * blk.width;
        double *m = M + i * dim + blk.j0;
        for (int64_t j = i > blk.j0 ? i - blk.j0 : 0; j < blk.j1 - blk.j0; j++) m[j] += mb[j];
    }
    for (int64_t i = 0; i < blk.rows * blk.width; i++) Mq[i] = 0.0;
}
