/* The counting kernel of the MI matrix: exact joint histograms of one unit against a panel of
 * 64 units.
 *
 * The rows where unit i has code a (a >= 1) are visited group by group. For each row the 64
 * codes of the panel are one 64-byte row v; for each b of a chunk of CH codes a byte counter
 * vector counts the lanes with v == b, so one compare and one add count one cell for 64
 * pairs at once, and the CH counters stay in registers for the whole group. Byte counters are
 * flushed into 16-bit counts every 255 rows (the caller moves those into 32-bit counts before
 * they can overflow). See docs/mutual-information.md for the measured alternatives.
 *
 * Three versions: AVX-512 (BW: compare into a mask register and a masked add, 20 counters
 * per pass), AVX2 (two 32-byte halves, 7 counters per pass) and a generic build (GCC vector
 * extensions on 16-byte vectors, any CPU). mi_count_bitslice.c holds a fourth kernel;
 * mi_dispatch.c chooses among those the CPU runs by timing them. */
#include <string.h>

#include "mi/mi_internal.h"

#ifdef CVG_MI_X86
#include <immintrin.h>
#endif

typedef uint8_t v64u8 __attribute__((vector_size(64), aligned(1)));
typedef uint8_t v32u8 __attribute__((vector_size(32), aligned(1)));
typedef uint8_t v16u8 __attribute__((vector_size(16), aligned(1)));

/* For each group a, for chunks of CH codes b0 .. b0+nb-1: count the group's rows into byte
 * counters held in registers, flushed into cnt every 255 rows. A panel row (32 bytes) is NV
 * vectors of type VT (NV = 1 for 32-byte vectors, 2 for 16-byte ones: without AVX, GCC
 * scalarizes comparisons of 32-byte vectors). */
#define DEFINE_KERNEL(NAME, ATTR, VT, NV, CH)                                                  \
    ATTR void NAME(const uint8_t *panel, const int32_t *perm, const int64_t *goff,      \
                          int bins, uint16_t *cnt)                                             \
    {                                                                                          \
        enum { W = CVG_MI_LANES / NV };                                                        \
        for (int a = 1; a <= bins; a++) {                                                      \
            const int32_t *g = perm + goff[a - 1];                                             \
            const int64_t s = goff[a] - goff[a - 1];                                           \
            uint16_t *cnt_row = cnt + (int64_t)(a - 1) * bins * CVG_MI_LANES;                  \
            for (int b0 = 1; b0 <= bins; b0 += CH) {                                           \
                const int nb = bins - b0 + 1 < CH ? bins - b0 + 1 : CH;                        \
                VT code[CH];                                                                   \
                for (int k = 0; k < CH; k++) {                                                 \
                    /* codes past bins are never flushed (b0 + k may wrap) */                  \
                    const uint8_t c = (uint8_t)(k < nb ? b0 + k : 255);                        \
                    code[k] = (VT){0} + c;                                                     \
                }                                                                              \
                for (int64_t start = 0; start < s; start += 255) {                             \
                    const int64_t end = s - start < 255 ? s : start + 255;                     \
                    VT acc[CH][NV];                                                            \
                    for (int k = 0; k < CH; k++)                                               \
                        for (int h = 0; h < NV; h++) acc[k][h] = (VT){0};                      \
                    for (int64_t r = start; r < end; r++) {                                    \
                        VT v[NV];                                                              \
                        memcpy(v, panel + (int64_t)g[r] * CVG_MI_LANES, CVG_MI_LANES);         \
                        _Pragma("GCC unroll 32") for (int k = 0; k < CH; k++)                  \
                            _Pragma("GCC unroll 4") for (int h = 0; h < NV; h++)               \
                                acc[k][h] -= (VT)(v[h] == code[k]);                            \
                    }                                                                          \
                    for (int k = 0; k < nb; k++) {                                             \
                        uint16_t *dst = cnt_row + (int64_t)(b0 + k - 1) * CVG_MI_LANES;        \
                        for (int h = 0; h < NV; h++)                                           \
                            for (int l = 0; l < W; l++) dst[h * W + l] += acc[k][h][l];        \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

DEFINE_KERNEL(cvg__mi_count_generic, , v16u8, 4, 3)

#ifdef CVG_MI_X86
DEFINE_KERNEL(cvg__mi_count_avx2, __attribute__((target("avx2"))), v32u8, 2, 7)
/* Lanes of v equal to the 64 bytes at *code, with the code vector read from memory (L1): the
 * 20 counters of the default bins then fit in registers with v and one, and GCC cannot hoist
 * the 20 code vectors into registers (spilling the counters). */
__attribute__((target("avx512f,avx512bw"))) static inline __mmask64 eq_mem(__m512i v,
                                                                           const __m512i *code)
{
    __mmask64 m;
    __asm__("vpcmpeqb %[c], %[v], %[m]" : [m] "=k"(m) : [v] "v"(v), [c] "m"(*code));
    return m;
}

/* AVX-512 by hand: a compare into a mask register and a masked add, 2 instructions per cell
 * for 64 pairs (GCC's lowering of the vector-extension form above takes 3); the 20 cells of a
 * row of the default bins in one pass (one load of the row and of its index). The counters
 * are 20 named variables: as an array of more than 16 vectors GCC keeps them in memory. */
#define CVG_MI_FOR20(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) \
    X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19)

/* dst[0..63] (uint16) += the 64 byte counters of acc */
__attribute__((target("avx512f,avx512bw"))) static inline void flush_bytes(uint16_t *dst,
                                                                           __m512i acc)
{
    const __m512i lo = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(acc));
    const __m512i hi = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(acc, 1));
    _mm512_storeu_si512((void *)dst, _mm512_add_epi16(_mm512_loadu_si512((void *)dst), lo));
    _mm512_storeu_si512((void *)(dst + 32),
                        _mm512_add_epi16(_mm512_loadu_si512((void *)(dst + 32)), hi));
}

/* dst[32..63] (uint16) += the byte counters of both halves of acc (each half counted the
 * panel's lanes 32..63 for one row of a pair). */
__attribute__((target("avx512f,avx512bw"))) static inline void flush_halves(uint16_t *dst,
                                                                            __m512i acc)
{
    const __m512i lo = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(acc));
    const __m512i hi = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(acc, 1));
    _mm512_storeu_si512((void *)(dst + 32), _mm512_add_epi16(
                            _mm512_loadu_si512((void *)(dst + 32)), _mm512_add_epi16(lo, hi)));
}

/* The AVX-512 kernel; upper (a constant in each caller): count the panel's lanes 32..63 only
 * (a unit whose later units in its own panel are all in the upper half), two rows per
 * vector: the upper 32 codes of one row in the lower half and those of the next row in the
 * upper half, so each compare + add counts 32 lanes for two rows, half the work. Lanes 0..31
 * of cnt are then not written. */
__attribute__((target("avx512f,avx512bw"), always_inline)) static inline void count_avx512_body(
    const uint8_t *panel, const int32_t *perm, const int64_t *goff, int bins, uint16_t *cnt,
    const int upper)
{
    enum { CH = 20 };
    const __m512i one = _mm512_set1_epi8(1);
    const __mmask64 high = (__mmask64)0xffffffff00000000ull;
    const int64_t per_flush = upper ? 510 : 255; /* each byte counter: <= 255 rows */
    for (int a = 1; a <= bins; a++) {
        const int32_t *g = perm + goff[a - 1];
        const int64_t s = goff[a] - goff[a - 1];
        uint16_t *cnt_row = cnt + (int64_t)(a - 1) * bins * CVG_MI_LANES;
        for (int b0 = 1; b0 <= bins; b0 += CH) {
            const int nb = bins - b0 + 1 < CH ? bins - b0 + 1 : CH;
            __m512i code[CH]; /* compared from memory (eq_mem) */
            for (int k = 0; k < CH; k++)
                code[k] = _mm512_set1_epi8((char)(k < nb ? b0 + k : 255));
            for (int64_t start = 0; start < s; start += per_flush) {
                const int64_t end = s - start < per_flush ? s : start + per_flush;
#define CVG_MI_ZERO(k) __m512i acc##k = _mm512_setzero_si512();
                CVG_MI_FOR20(CVG_MI_ZERO)
                for (int64_t r = start; r < end; r += 1 + upper) {
                    const uint8_t *row = panel + (int64_t)g[r] * CVG_MI_LANES;
                    __m512i v;
                    if (!upper) {
                        v = _mm512_loadu_si512((const void *)row);
                    } else { /* a 32-byte broadcast (a load), then the next row's upper half,
                              * or 0 (never counted) */
                        v = _mm512_broadcast_i64x4(_mm256_loadu_si256((const void *)(row + 32)));
                        v = r + 1 < end
                                ? _mm512_mask_loadu_epi8(
                                      v, high, panel + (int64_t)g[r + 1] * CVG_MI_LANES)
                                : _mm512_maskz_mov_epi8(~high, v);
                    }
#define CVG_MI_COUNT(k) acc##k = _mm512_mask_add_epi8(acc##k, eq_mem(v, &code[k]), acc##k, one);
                    CVG_MI_FOR20(CVG_MI_COUNT)
                }
#define CVG_MI_FLUSH(k)                                                                    \
    if (k < nb) {                                                                          \
        uint16_t *dst = cnt_row + (int64_t)(b0 + k - 1) * CVG_MI_LANES;                    \
        if (upper) flush_halves(dst, acc##k);                                              \
        else flush_bytes(dst, acc##k);                                                     \
    }
                CVG_MI_FOR20(CVG_MI_FLUSH)
            }
        }
    }
}

__attribute__((target("avx512f,avx512bw"))) void cvg__mi_count_avx512(
    const uint8_t *panel, const int32_t *perm, const int64_t *goff, int bins, uint16_t *cnt)
{
    count_avx512_body(panel, perm, goff, bins, cnt, 0);
}

__attribute__((target("avx512f,avx512bw"))) void cvg__mi_count_upper_avx512(
    const uint8_t *panel, const int32_t *perm, const int64_t *goff, int bins, uint16_t *cnt)
{
    count_avx512_body(panel, perm, goff, bins, cnt, 1);
}
#endif
