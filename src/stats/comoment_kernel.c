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

/* Full panels vectorize as plain 16-wide loops; the last, partial panel is zero-filled. */
#define DEFINE_PACK(NAME, T)                                                                  \
    CVG_VECTOR_CLONES void NAME(const T *rows, int64_t k, int64_t ld, int64_t dim, const T *c, \
                                float *packed)                                                \
    {                                                                                         \
        const int64_t full = dim / CK_PANEL, tail = dim - full * CK_PANEL;                    \
        for (int64_t r = 0; r < k; r++) {                                                     \
            const T *x = rows + r * ld;                                                       \
            for (int64_t p = 0; p < full; p++) {                                              \
                float *out = packed + (p * k + r) * CK_PANEL;                                 \
                const T *xp = x + p * CK_PANEL, *cp = c + p * CK_PANEL;                       \
                for (int w = 0; w < CK_PANEL; w++) out[w] = (float)(xp[w] - cp[w]);           \
            }                                                                                 \
            if (tail) {                                                                       \
                float *out = packed + (full * k + r) * CK_PANEL;                              \
                const T *xp = x + full * CK_PANEL, *cp = c + full * CK_PANEL;                 \
                for (int w = 0; w < CK_PANEL; w++) out[w] = w < tail ? (float)(xp[w] - cp[w]) : 0.0f; \
            }                                                                                 \
        }                                                                                     \
    }
DEFINE_PACK(ck_pack_f32, float)
DEFINE_PACK(ck_pack_f64, double)

/* One tile in portable C: rows [i, i+rows) (rows <= 8) against the nb panels at b. a points at
 * the tile's first row inside its panel (row r of the sub-block at a[r * CK_PANEL + ii]). */
static void tile_portable(int nb, int64_t k, const float *a, const float *b, int64_t pstride,
                          double *M, int64_t ldm, int rows, int64_t cols)
{
    float acc[CK_TILE_ROWS][BLOCK_COLS] = {{0}};
    for (int64_t r = 0; r < k; r++)
        for (int ii = 0; ii < CK_TILE_ROWS; ii++) {
            const float av = a[r * CK_PANEL + ii];
            for (int v = 0; v < nb; v++)
                for (int w = 0; w < CK_PANEL; w++)
                    acc[ii][v * CK_PANEL + w] += av * b[v * pstride + r * CK_PANEL + w];
        }
    for (int ii = 0; ii < rows; ii++)
        for (int64_t j = 0; j < cols; j++) M[ii * ldm + j] += (double)acc[ii][j];
}

#if CK_HAVE_AVX512
/* M[0..8) x [c0, c0+16) += x widened to double, masked to the first `cols` columns of the tile. */
__attribute__((target("avx512f"), always_inline)) static inline void
flush_vector(__m512 x, double *m, int64_t c0, int64_t cols)
{
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
    if (c0 + CK_PANEL <= cols) {
        _mm512_storeu_pd(m + c0, _mm512_add_pd(_mm512_loadu_pd(m + c0), lo));
        _mm512_storeu_pd(m + c0 + 8, _mm512_add_pd(_mm512_loadu_pd(m + c0 + 8), hi));
        return;
    }
    const int64_t left = cols - c0; /* 1..15 */
    const __mmask8 mlo = (__mmask8)(left >= 8 ? 0xff : (1u << left) - 1);
    const __mmask8 mhi = (__mmask8)(left > 8 ? (1u << (left - 8)) - 1 : 0);
    _mm512_mask_storeu_pd(m + c0, mlo, _mm512_add_pd(_mm512_maskz_loadu_pd(mlo, m + c0), lo));
    if (mhi)
        _mm512_mask_storeu_pd(m + c0 + 8, mhi, _mm512_add_pd(_mm512_maskz_loadu_pd(mhi, m + c0 + 8), hi));
}

__attribute__((target("avx512f"), always_inline)) static inline void
tile_avx512(const int nb, int64_t k, const float *a, const float *b, int64_t pstride, double *M,
            int64_t ldm, int rows, int64_t cols)
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
    for (int ii = 0; ii < rows; ii++)
#pragma GCC unroll 3
        for (int v = 0; v < nb; v++) flush_vector(acc[ii][v], M + ii * ldm, (int64_t)v * CK_PANEL, cols);
}

__attribute__((target("avx512f"))) static void tile_avx512_any(int nb, int64_t k, const float *a,
                                                               const float *b, int64_t pstride,
                                                               double *M, int64_t ldm, int rows,
                                                               int64_t cols)
{
    switch (nb) { /* constant panel counts: the tile lives in registers */
    case 3: tile_avx512(3, k, a, b, pstride, M, ldm, rows, cols); break;
    case 2: tile_avx512(2, k, a, b, pstride, M, ldm, rows, cols); break;
    default: tile_avx512(1, k, a, b, pstride, M, ldm, rows, cols); break;
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

typedef void (*tile_fn)(int, int64_t, const float *, const float *, int64_t, double *, int64_t, int, int64_t);

void ck_update(const float *packed, int64_t k, int64_t dim, const int *owner, int me, int team,
               double *M, const ck_prefetch *next)
{
    tile_fn tile = tile_portable;
#if CK_HAVE_AVX512
    if (!forced_portable && __builtin_cpu_supports("avx512f")) tile = tile_avx512_any;
#endif
    const int64_t panels = ck_padded(dim) / CK_PANEL, pstride = k * CK_PANEL;
    /* the prefetches are spread over this thread's tiles, about one line per 8 rows of tile */
    const char *pf = next ? next->start : NULL, *pf_end = next ? next->start + next->bytes : NULL;
    const int64_t pf_step = 64 * (k / 8 + 1);
    for (int64_t q = 0; q < ck_block_count(dim); q++) {
        if (owner[q] % team != me) continue;
        const int64_t j0 = q * BLOCK_COLS, p0 = j0 / CK_PANEL;
        const int nb = (int)(panels - p0 < CK_TILE_PANELS ? panels - p0 : CK_TILE_PANELS);
        const int64_t j1 = j0 + BLOCK_COLS < dim ? j0 + BLOCK_COLS : dim;
        for (int64_t i = 0; i < j1; i += CK_TILE_ROWS) {
            /* tiles on the diagonal start at the panel holding column i: the panels left of it
             * are below the diagonal */
            const int64_t pi = i / CK_PANEL > p0 ? i / CK_PANEL : p0, ji = pi * CK_PANEL;
            const float *a = packed + (i / CK_PANEL) * pstride + i % CK_PANEL;
            const int rows = (int)(dim - i < CK_TILE_ROWS ? dim - i : CK_TILE_ROWS);
            for (const char *stop = pf + pf_step; pf < pf_end && pf < stop; pf += 64)
                __builtin_prefetch(pf, 0, 2);
            tile(nb - (int)(pi - p0), k, a, packed + pi * pstride, pstride, M + i * dim + ji, dim,
                 rows, j1 - ji);
        }
    }
}
