/* The bit-sliced AVX-512 counting kernel: the joint counts of one unit against a panel of 64
 * units (the contract of cvg__mi_count_fn, mi_internal.h) with about a third of the vector
 * instructions of the compare kernel (mi_count.c).
 *
 * For a row of the panel (64 codes, one byte per lane), `vpermb` with a 64-entry table turns
 * every code b >= 1 into a one-hot byte: for the byte group h = (b-1) / 8 the byte
 * 1 << ((b-1) % 8), for the other groups 0 (code 0 gives 0 everywhere). So each of the
 * ceil(bins / 8) groups is one 64-byte vector per row in which bit j of lane l is 1 when lane
 * l holds code 8h + j + 1, and counting the rows of a group of unit i is counting, per bit
 * position, how many of those vectors have the bit set: 512 counters per vector.
 *
 * Those 512 counters are bit-sliced: eight "planes" P_0..P_7 (zmm), bit (l, j) of P_k is bit
 * k of counter (l, j), so up to 255 rows can be added. Rows are added 16 at a time with a
 * carry-save adder tree (Harley-Seal: 15 full adders of 2 `vpternlogd` each for 16 rows, the
 * carry of weight 16 rippled into P_4..P_7), about 2.4 instructions per row and group against
 * 2 x 8 (compare + masked add) for the compare kernel. After at most 255 rows the planes are
 * turned back into byte counters by an 8 x 8 bit transpose per byte (3 stages of masked
 * swaps) and added into the 16-bit counts.
 *
 * Needs AVX-512 VBMI (vpermb) and bins <= 63 (the table index is the low 6 bits of a code);
 * mi_dispatch.c uses a compare kernel otherwise. */
#include "mi/mi_internal.h"

#ifdef CVG_MI_X86
#include <immintrin.h>

#define CVG_BITSLICE_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi")))

/* Rows per pass: the eight planes count to 255. */
enum { SEGMENT = 255 };

/* 64 zero codes (one-hot 0): the padding of a segment to a multiple of 8 rows */
static const uint8_t zero_row[64] __attribute__((aligned(64)));

typedef struct planes {
    __m512i p[8]; /* p[k]: bit k of the 512 counters (lane l, bit j) */
} planes;

/* Full adder, bitwise: *low = low ^ a ^ b (table 0x96), returns the carry maj(low, a, b)
 * (0xe8). */
CVG_BITSLICE_TARGET __attribute__((always_inline)) static inline __m512i csa(__m512i *low,
                                                                            __m512i a, __m512i b)
{
    const __m512i carry = _mm512_ternarylogic_epi32(*low, a, b, 0xe8);
    *low = _mm512_ternarylogic_epi32(*low, a, b, 0x96);
    return carry;
}

/* One-hot byte group of the panel row at row (64 codes). */
CVG_BITSLICE_TARGET __attribute__((always_inline)) static inline __m512i one_hot(
    const uint8_t *row, __m512i table)
{
    return _mm512_permutexvar_epi8(_mm512_loadu_si512((const void *)row), table);
}

/* Adds the one-hot vectors of the 16 rows row[0..15] (64 codes each) to the counters in s. */
CVG_BITSLICE_TARGET __attribute__((always_inline)) static inline void add16(
    planes *s, const uint8_t *const *row, __m512i table)
{
    __m512i twos_a, twos_b, fours_a, fours_b, eights_a, eights_b;
#define CVG_BS_X(k) one_hot(row[k], table)
    twos_a = csa(&s->p[0], CVG_BS_X(0), CVG_BS_X(1));
    twos_b = csa(&s->p[0], CVG_BS_X(2), CVG_BS_X(3));
    fours_a = csa(&s->p[1], twos_a, twos_b);
    twos_a = csa(&s->p[0], CVG_BS_X(4), CVG_BS_X(5));
    twos_b = csa(&s->p[0], CVG_BS_X(6), CVG_BS_X(7));
    fours_b = csa(&s->p[1], twos_a, twos_b);
    eights_a = csa(&s->p[2], fours_a, fours_b);
    twos_a = csa(&s->p[0], CVG_BS_X(8), CVG_BS_X(9));
    twos_b = csa(&s->p[0], CVG_BS_X(10), CVG_BS_X(11));
    fours_a = csa(&s->p[1], twos_a, twos_b);
    twos_a = csa(&s->p[0], CVG_BS_X(12), CVG_BS_X(13));
    twos_b = csa(&s->p[0], CVG_BS_X(14), CVG_BS_X(15));
    fours_b = csa(&s->p[1], twos_a, twos_b);
    eights_b = csa(&s->p[2], fours_a, fours_b);
    __m512i carry = csa(&s->p[3], eights_a, eights_b);
#undef CVG_BS_X
    /* weight 16: ripple into planes 4..7 (the segment's <= 255 rows never carry out of 7) */
    for (int k = 4; k < 8; k++) {
        const __m512i next = _mm512_and_si512(s->p[k], carry);
        s->p[k] = _mm512_xor_si512(s->p[k], carry);
        carry = next;
    }
}

/* Adds the one-hot vectors of the 8 rows row[0..7] to the counters in s: half the adder
 * tree, the weight-8 carry rippled into planes 3..7 (a segment's last rows, when 8 or fewer
 * are left). */
CVG_BITSLICE_TARGET __attribute__((always_inline)) static inline void add8(
    planes *s, const uint8_t *const *row, __m512i table)
{
    const __m512i twos_a = csa(&s->p[0], one_hot(row[0], table), one_hot(row[1], table));
    const __m512i twos_b = csa(&s->p[0], one_hot(row[2], table), one_hot(row[3], table));
    const __m512i fours_a = csa(&s->p[1], twos_a, twos_b);
    const __m512i twos_c = csa(&s->p[0], one_hot(row[4], table), one_hot(row[5], table));
    const __m512i twos_d = csa(&s->p[0], one_hot(row[6], table), one_hot(row[7], table));
    const __m512i fours_b = csa(&s->p[1], twos_c, twos_d);
    __m512i carry = csa(&s->p[2], fours_a, fours_b);
    for (int k = 3; k < 8; k++) {
        const __m512i next = _mm512_and_si512(s->p[k], carry);
        s->p[k] = _mm512_xor_si512(s->p[k], carry);
        carry = next;
    }
}

/* Swaps the bits selected by mask m (in the lower position) of p[i] >> sh with those of p[k]:
 * one stage of the 8 x 8 bit transpose of each byte column. Shifts are 16-bit; the byte mask
 * removes what crosses a byte boundary. */
CVG_BITSLICE_TARGET __attribute__((always_inline)) static inline void swap_bits(
    __m512i *p, int i, int k, int sh, __m512i m)
{
    const __m512i t = _mm512_ternarylogic_epi32(_mm512_srli_epi16(p[i], (unsigned)sh), p[k], m,
                                                0x28); /* (a ^ b) & c */
    p[k] = _mm512_xor_si512(p[k], t);
    p[i] = _mm512_xor_si512(p[i], _mm512_slli_epi16(t, (unsigned)sh));
}

/* dst[0..63] (uint16) += the 64 byte counters of c */
CVG_BITSLICE_TARGET __attribute__((always_inline)) static inline void add_bytes(uint16_t *dst,
                                                                                __m512i c)
{
    const __m512i lo = _mm512_cvtepu8_epi16(_mm512_castsi512_si256(c));
    const __m512i hi = _mm512_cvtepu8_epi16(_mm512_extracti64x4_epi64(c, 1));
    _mm512_storeu_si512((void *)dst, _mm512_add_epi16(_mm512_loadu_si512((void *)dst), lo));
    _mm512_storeu_si512((void *)(dst + 32),
                        _mm512_add_epi16(_mm512_loadu_si512((void *)(dst + 32)), hi));
}

/* Counts of byte group h (codes 8h+1 .. 8h+8) over the n8 rows row[0..n8) (a multiple of 8,
 * <= 256, padded with zero rows), added to cnt_row (the bins x 64 counts of one code a). */
CVG_BITSLICE_TARGET __attribute__((always_inline)) static inline void count_group(
    const uint8_t *const *row, int n8, int h, int bins, __m512i table, uint16_t *cnt_row)
{
    planes s;
    for (int k = 0; k < 8; k++) s.p[k] = _mm512_setzero_si512();
    int r = 0;
    for (; r + 16 <= n8; r += 16) add16(&s, row + r, table);
    if (r < n8) add8(&s, row + r, table);
    /* planes -> byte counters: after the transpose p[j] holds in lane l the count of bit j */
    swap_bits(s.p, 0, 4, 4, _mm512_set1_epi8(0x0f));
    swap_bits(s.p, 1, 5, 4, _mm512_set1_epi8(0x0f));
    swap_bits(s.p, 2, 6, 4, _mm512_set1_epi8(0x0f));
    swap_bits(s.p, 3, 7, 4, _mm512_set1_epi8(0x0f));
    swap_bits(s.p, 0, 2, 2, _mm512_set1_epi8(0x33));
    swap_bits(s.p, 1, 3, 2, _mm512_set1_epi8(0x33));
    swap_bits(s.p, 4, 6, 2, _mm512_set1_epi8(0x33));
    swap_bits(s.p, 5, 7, 2, _mm512_set1_epi8(0x33));
    swap_bits(s.p, 0, 1, 1, _mm512_set1_epi8(0x55));
    swap_bits(s.p, 2, 3, 1, _mm512_set1_epi8(0x55));
    swap_bits(s.p, 4, 5, 1, _mm512_set1_epi8(0x55));
    swap_bits(s.p, 6, 7, 1, _mm512_set1_epi8(0x55));
    for (int j = 0; j < 8 && 8 * h + j < bins; j++)
        add_bytes(cnt_row + (int64_t)(8 * h + j) * CVG_MI_LANES, s.p[j]);
}

CVG_BITSLICE_TARGET void cvg__mi_count_bitslice(const uint8_t *panel, const int32_t *perm,
                                               const int64_t *goff, int bins, uint16_t *cnt)
{
    const int groups = (bins + 7) / 8; /* <= 8 */
    /* table[h][c] = the one-hot byte of code c in group h */
    uint8_t t[8][64] __attribute__((aligned(64))) = {{0}};
    for (int b = 1; b <= bins; b++) t[(b - 1) / 8][b] = (uint8_t)(1u << ((b - 1) % 8));
    const uint8_t *row[SEGMENT + 8]; /* a segment's rows, padded with zero rows */
    for (int a = 1; a <= bins; a++) {
        const int32_t *g = perm + goff[a - 1];
        const int64_t s = goff[a] - goff[a - 1];
        uint16_t *cnt_row = cnt + (int64_t)(a - 1) * bins * CVG_MI_LANES;
        for (int64_t start = 0; start < s; start += SEGMENT) {
            const int n = s - start < SEGMENT ? (int)(s - start) : SEGMENT;
            const int n8 = (n + 7) & ~7; /* blocks of 16, the last one of 8 if it can */
            for (int r = 0; r < n; r++) row[r] = panel + (int64_t)g[start + r] * CVG_MI_LANES;
            for (int r = n; r < n8; r++) row[r] = zero_row;
            /* the groups of a segment one after the other: its rows (<= 16 KiB) stay in L1 */
            for (int h = 0; h < groups; h++)
                count_group(row, n8, h, bins, _mm512_load_si512((const void *)t[h]), cnt_row);
        }
    }
}

/* cvg__mi_count_bitslice for the panel's lanes 32..63 only (a unit whose later units in its
 * own panel are all there): the upper halves of two rows make one 64-byte "virtual row"
 * (row r's lanes 32..63 in bytes 0..31, row r+1's in bytes 32..63), counted by count_group
 * into scratch counts whose two halves are then summed into lanes 32..63 of cnt; lanes 0..31
 * of cnt are left as they are. Half the rows to count, for the copy of the halves. */
CVG_BITSLICE_TARGET void cvg__mi_count_upper_bitslice(const uint8_t *panel,
                                                     const int32_t *perm, const int64_t *goff,
                                                     int bins, uint16_t *cnt)
{
    enum { PAIRS = (SEGMENT + 1) / 2 };
    const int groups = (bins + 7) / 8;
    uint8_t t[8][64] __attribute__((aligned(64))) = {{0}};
    for (int b = 1; b <= bins; b++) t[(b - 1) / 8][b] = (uint8_t)(1u << ((b - 1) % 8));
    uint8_t vrow[PAIRS][64] __attribute__((aligned(64)));
    uint16_t tmp[63 * CVG_MI_LANES] __attribute__((aligned(64))); /* bins x 64 */
    const uint8_t *row[PAIRS + 8];
    for (int a = 1; a <= bins; a++) {
        const int32_t *g = perm + goff[a - 1];
        const int64_t s = goff[a] - goff[a - 1];
        uint16_t *cnt_row = cnt + (int64_t)(a - 1) * bins * CVG_MI_LANES;
        for (int64_t start = 0; start < s; start += SEGMENT) {
            const int n = s - start < SEGMENT ? (int)(s - start) : SEGMENT;
            const int nv = (n + 1) / 2, nv8 = (nv + 7) & ~7;
            for (int v = 0; v < nv; v++) {
                const __m256i lo = _mm256_loadu_si256(
                    (const void *)(panel + (int64_t)g[start + 2 * v] * CVG_MI_LANES + 32));
                const __m256i hi =
                    2 * v + 1 < n ? _mm256_loadu_si256((const void *)(
                                        panel + (int64_t)g[start + 2 * v + 1] * CVG_MI_LANES + 32))
                                  : _mm256_setzero_si256();
                _mm512_store_si512((void *)vrow[v],
                                   _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
                row[v] = vrow[v];
            }
            for (int v = nv; v < nv8; v++) row[v] = zero_row;
            for (int e = 0; e < bins * CVG_MI_LANES; e++) tmp[e] = 0;
            for (int h = 0; h < groups; h++)
                count_group(row, nv8, h, bins, _mm512_load_si512((const void *)t[h]), tmp);
            for (int b = 0; b < bins; b++)
                for (int l = 0; l < 32; l++)
                    cnt_row[b * CVG_MI_LANES + 32 + l] +=
                        (uint16_t)(tmp[b * CVG_MI_LANES + l] + tmp[b * CVG_MI_LANES + 32 + l]);
        }
    }
}
#endif
