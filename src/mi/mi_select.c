/* Order statistics for the bin edges: the few ranks that numpy's quantiles read (two per
 * edge, 38 for 20 bins) out of the n non-zero values of a unit, without sorting all n.
 *
 * Multi-selection by three-way partitioning (values < pivot, == pivot, > pivot), each step
 * keeping only the parts that still hold a wanted rank: about n (log2(ranks) + 2) element
 * moves instead of a full sort. The partition runs on order-preserving uint32 keys of the
 * float values (so equal keys are bit-identical values and the result is exact, ties
 * included). With AVX-512 a partition step moves 16 keys with two compresses; elsewhere it is
 * a branch-free scalar loop. Pivots are ninthers (median of three medians of three of nine
 * evenly spaced keys); a segment still unresolved after 64 levels (adversarial orders) is
 * radix sorted, which bounds the worst case. */
#include <string.h>

#include "mi/mi_internal.h"

#ifdef CVG_MI_X86
#include <immintrin.h>
#endif

/* LSD radix sort of n keys, three passes of 11 bits, ping-ponging between keys and tmp.
 * Returns the buffer holding the sorted keys (tmp: three passes). */
static uint32_t *radix_sort(uint32_t *keys, uint32_t *tmp, int64_t n)
{
    uint32_t *src = keys, *dst = tmp;
    for (int shift = 0; shift < 33; shift += 11) {
        int64_t count[2048] = {0};
        for (int64_t k = 0; k < n; k++) count[(src[k] >> shift) & 2047u]++;
        int64_t sum = 0;
        for (int d = 0; d < 2048; d++) {
            const int64_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (int64_t k = 0; k < n; k++) dst[count[(src[k] >> shift) & 2047u]++] = src[k];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

static void insertion_sort(uint32_t *a, int64_t n)
{
    for (int64_t k = 1; k < n; k++) {
        const uint32_t x = a[k];
        int64_t j = k;
        for (; j > 0 && a[j - 1] > x; j--) a[j] = a[j - 1];
        a[j] = x;
    }
}

static inline uint32_t median3(uint32_t a, uint32_t b, uint32_t c)
{
    if (a > b) {
        const uint32_t t = a;
        a = b;
        b = t;
    }
    /* a <= b */
    return c <= a ? a : (c >= b ? b : c);
}

static uint32_t ninther(const uint32_t *a, int64_t n)
{
    uint32_t s[9];
    for (int k = 0; k < 9; k++) s[k] = a[(n - 1) * k / 8];
    return median3(median3(s[0], s[1], s[2]), median3(s[3], s[4], s[5]),
                   median3(s[6], s[7], s[8]));
}

/* src[0..n) -> dst: the keys < p to dst[0..*nless), the keys > p to dst[n-*ngreater..n), in
 * any order; the middle is left for the caller (it holds p). */
typedef void (*partition_fn)(const uint32_t *src, uint32_t *dst, int64_t n, uint32_t p,
                             int64_t *nless, int64_t *ngreater);

static void partition_scalar(const uint32_t *src, uint32_t *dst, int64_t n, uint32_t p,
                             int64_t *nless, int64_t *ngreater)
{
    /* Every key is written to both ends and kept where its comparison says. A slot written
     * but not kept is reused by the next key; it can only coincide with a kept slot for the
     * last key, which then writes itself twice. */
    int64_t nl = 0, ng = 0;
    for (int64_t k = 0; k < n; k++) {
        const uint32_t x = src[k];
        dst[nl] = x;
        nl += x < p;
        dst[n - 1 - ng] = x;
        ng += x > p;
    }
    *nless = nl;
    *ngreater = ng;
}

#ifdef CVG_MI_X86
/* 16 keys per step: compare into two masks, compress each side into the low lanes, masked
 * stores of exactly the kept lanes (the register form of vpcompressd: its memory form is
 * slow on Skylake-X). */
__attribute__((target("avx512f"))) static void partition_avx512(const uint32_t *src,
                                                                uint32_t *dst, int64_t n,
                                                                uint32_t p, int64_t *nless,
                                                                int64_t *ngreater)
{
    const __m512i pv = _mm512_set1_epi32((int)p);
    int64_t nl = 0, ng = 0;
    for (int64_t k = 0; k < n; k += 16) {
        const __mmask16 valid = n - k >= 16 ? (__mmask16)0xffff
                                            : (__mmask16)((1u << (n - k)) - 1u);
        const __m512i x = _mm512_maskz_loadu_epi32(valid, src + k);
        const __mmask16 lt = _mm512_mask_cmplt_epu32_mask(valid, x, pv);
        const __mmask16 gt = _mm512_mask_cmpgt_epu32_mask(valid, x, pv);
        const int cl = __builtin_popcount(lt), cg = __builtin_popcount(gt);
        _mm512_mask_storeu_epi32(dst + nl, (__mmask16)((1u << cl) - 1u),
                                 _mm512_maskz_compress_epi32(lt, x));
        nl += cl;
        ng += cg;
        _mm512_mask_storeu_epi32(dst + n - ng, (__mmask16)((1u << cg) - 1u),
                                 _mm512_maskz_compress_epi32(gt, x));
    }
    *nless = nl;
    *ngreater = ng;
}
#endif

/* The keys of the wanted ranks rank[0..nr) (ascending) among the n keys of src, a segment
 * that starts at rank `base` of the whole array; dst is scratch of n keys. out[k] = the key
 * of rank rank[k]. Recurses below the pivot, iterates above it. */
static void select_ranks(uint32_t *src, uint32_t *dst, int64_t n, int64_t base,
                         const int64_t *rank, int nr, uint32_t *out, int depth,
                         partition_fn part)
{
    while (nr > 0) {
        if (n <= 32 || depth == 0) {
            const uint32_t *sorted = src;
            if (n <= 32) insertion_sort(src, n);
            else sorted = radix_sort(src, dst, n);
            for (int k = 0; k < nr; k++) out[k] = sorted[rank[k] - base];
            return;
        }
        const uint32_t p = ninther(src, n);
        int64_t nl, ng;
        part(src, dst, n, p, &nl, &ng);
        const int64_t ne = n - nl - ng; /* >= 1: p is one of the keys */
        int a = 0, b;
        while (a < nr && rank[a] < base + nl) a++;
        for (b = a; b < nr && rank[b] < base + nl + ne; b++) out[b] = p;
        if (a > 0) select_ranks(dst, src, nl, base, rank, a, out, depth - 1, part);
        /* continue with the keys above the pivot, at the end of dst */
        uint32_t *const old_src = src;
        src = dst + nl + ne;
        dst = old_src + nl + ne;
        base += nl + ne;
        n = ng;
        rank += b;
        out += b;
        nr -= b;
        depth--;
    }
}

void cvg__mi_select(uint32_t *keys, uint32_t *tmp, int64_t n, const int64_t *rank, int nr,
                    uint32_t *out)
{
    partition_fn part = partition_scalar;
#ifdef CVG_MI_X86
    if (cvg__mi_avx512()) part = partition_avx512;
#endif
    select_ranks(keys, tmp, n, 0, rank, nr, out, 64, part);
}
