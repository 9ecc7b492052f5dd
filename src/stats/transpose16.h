/* A 16 x 16 float block transposed in AVX-512 registers: r[i] holds row i on entry, column i
 * (lane j = row j's element i) on return. Pairs of rows interleaved, then pairs of pairs, then
 * 128- and 256-bit lanes: 64 shuffles, no memory traffic. Used where a block must be read
 * across its rows: the NCHW activations into rows (stats_nchw.c) and the HSIC row norms'
 * lane sums (sqnorm.c). Include only where the caller has checked the CPU for AVX-512. */
#ifndef CVG_TRANSPOSE16_H
#define CVG_TRANSPOSE16_H

#if defined(__GNUC__) && defined(__x86_64__)
#define CVG_HAVE_TRANSPOSE16 1
#include <immintrin.h>

__attribute__((target("avx512f"), always_inline)) static inline void transpose16_regs(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    }
}
#else
#define CVG_HAVE_TRANSPOSE16 0
#endif

#endif
