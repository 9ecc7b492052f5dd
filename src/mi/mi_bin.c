/* Discretization of units for mutual information: a zero bin for values <= zero_threshold
 * (the exact zeros of ReLU units), then `bins` equal-mass bins over the remaining values, with
 * edges at numpy's default ("linear") quantiles so a numpy reference reproduces them exactly. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "mi/mi_internal.h"

#ifdef CVG_MI_X86
#include <immintrin.h>
#endif

/* Units transposed together: 16 float32 = one 64-byte cache line of a sample row. */
enum { UNIT_BLOCK = 16 };

void cvg_mi_options_init(cvg_mi_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->bins = 20;
    opt->zero_threshold = 1e-6;
}

const cvg_mi_options *cvg__mi_options_or_defaults(const cvg_mi_options *opt,
                                                  cvg_mi_options *defaults)
{
    if (opt) return opt;
    cvg_mi_options_init(defaults);
    return defaults;
}

cvg_status cvg__mi_check(const char *what, const void *in, const void *out, int64_t rows,
                         int64_t dim)
{
    if (!in || !out) return cvg__fail(CVG_ERR_ARG, "%s: input or output is NULL", what);
    if (rows <= 0 || dim <= 0)
        return cvg__fail(CVG_ERR_EMPTY, "%s: no data (%lld rows, %lld units)", what,
                         (long long)rows, (long long)dim);
    if (rows > INT32_MAX)
        return cvg__fail(CVG_ERR_ARG, "%s: %lld rows, at most %d supported", what,
                         (long long)rows, INT32_MAX);
    return CVG_OK;
}

/* Order-preserving map float32 -> uint32 (for finite values; -0 sorts just before +0). */
static inline uint32_t float_key(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline float key_float(uint32_t k)
{
    uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Where numpy 1.22+'s np.quantile(x, q, method="linear") reads a sorted array of n >= 1
 * values, computed as numpy does: virtual index (n-1)*q, the neighbours lo and lo + 1 and the
 * fraction gamma; *lo = n - 1 with gamma < 0 when it reads the last value alone. */
static void quantile_at(int64_t n, double q, int64_t *lo, double *gamma)
{
    const double virt = (double)(n - 1) * q;
    if (virt >= (double)(n - 1)) {
        *lo = n - 1;
        *gamma = -1;
        return;
    }
    const double prev = floor(virt);
    *lo = (int64_t)prev;
    *gamma = virt - prev;
}

/* numpy's _lerp, operation by operation (same rounding): from the upper neighbour when
 * gamma >= 0.5. */
static double numpy_lerp(double a, double b, double gamma)
{
    const double diff = b - a;
    if (gamma >= 0.5) return b - diff * (1.0 - gamma);
    return a + diff * gamma;
}

/* The smallest float >= e. For a float v, (double)v >= e <=> v >= float_at_or_above(e), so
 * the assignment compares in float (vectorized) and decides exactly as in double. */
static float float_at_or_above(double e)
{
    float f = (float)e;
    if ((double)f < e) f = nextafterf(f, INFINITY);
    return f;
}

/* The smallest float > e: (double)v > e <=> v >= float_above(e). */
static float float_above(double e)
{
    float f = (float)e;
    if ((double)f <= e) f = nextafterf(f, INFINITY);
    return f;
}

/* The bins - 1 edges of a unit from its n >= 1 keys (values above the threshold; reordered):
 * only the order statistics the quantiles read are selected (cvg__mi_select). */
static void unit_edges(uint32_t *keys, uint32_t *tmp, int64_t n, int bins, double *edges)
{
    int64_t rank[512], lo[256];
    double gamma[256];
    uint32_t key[512];
    int nr = 0;
    for (int k = 1; k < bins; k++) {
        quantile_at(n, (double)k / (double)bins, &lo[k], &gamma[k]);
        /* ranks come in nondecreasing order of k: lo, lo + 1, lo', lo' + 1, ... with
         * lo' >= lo; skip those already listed */
        for (int64_t r = lo[k]; r <= lo[k] + (gamma[k] >= 0); r++)
            if (nr == 0 || r > rank[nr - 1]) rank[nr++] = r;
    }
    if (nr == 0) return;
    cvg__mi_select(keys, tmp, n, rank, nr, key);
    int at = 0; /* position of lo[k] in rank[] */
    for (int k = 1; k < bins; k++) {
        while (rank[at] < lo[k]) at++;
        const double a = key_float(key[at]);
        edges[k - 1] = gamma[k] < 0 ? a : numpy_lerp(a, key_float(key[at + 1]), gamma[k]);
    }
}

/* code = 1 + #{edges <= v} for v above the threshold: np.searchsorted(side="right"); the
 * edges are sorted, so a value equal to an edge (ties) goes to the bin above it, and repeated
 * edges leave empty bins. t[0] is the threshold z (the smallest float above zero_threshold),
 * t[1..nt-1] the edges as floats: every edge is >= the smallest value above the threshold,
 * so for a value below z the count is 0: code 0. code = #{k : t[k] <= v}. */
enum { ASSIGN_BLOCK = 512 };

CVG_VECTOR_CLONES static void assign_linear(const float *col, int64_t rows, const float *t,
                                            int nt, uint8_t *codes)
{
    for (int64_t r0 = 0; r0 < rows; r0 += ASSIGN_BLOCK) {
        const int64_t nr = rows - r0 < ASSIGN_BLOCK ? rows - r0 : ASSIGN_BLOCK;
        const float *v = col + r0;
        int32_t c[ASSIGN_BLOCK]; /* int32: the same width as the float comparisons */
        for (int64_t r = 0; r < nr; r++) c[r] = 0;
        for (int k = 0; k < nt; k++) {
            const float tk = t[k];
            for (int64_t r = 0; r < nr; r++) c[r] += v[r] >= tk;
        }
        for (int64_t r = 0; r < nr; r++) codes[r0 + r] = (uint8_t)c[r];
    }
}

/* Transpose units i0 .. i0+nu-1 (all rows) into col (nu x rows) and collect, per unit k, the
 * keys of its values >= z in keys[k * rows ...], their count in nkeys[k]. Returns 0 if a value
 * is not finite (the caller finds it in col). */
static int gather_scalar(const float *samples, int64_t rows, int64_t dim, int64_t i0, int nu,
                         float z, float *col, uint32_t *keys, int64_t *nkeys)
{
    for (int64_t r = 0; r < rows; r++) {
        /* rows are dim * 4 bytes apart: too far for the hardware prefetcher */
        if (r + 16 < rows) __builtin_prefetch(samples + (r + 16) * dim + i0);
        const float *src = samples + r * dim + i0;
        for (int k = 0; k < nu; k++) col[k * rows + r] = src[k];
    }
    int finite = 1;
    for (int64_t e = 0; e < nu * rows; e++) finite &= fabsf(col[e]) <= FLT_MAX;
    for (int k = 0; k < nu; k++) {
        const float *v = col + k * rows;
        uint32_t *key = keys + k * rows;
        int64_t n = 0;
        for (int64_t r = 0; r < rows; r++) { /* branch-free: half the values may be zeros */
            key[n] = float_key(v[r]);
            n += v[r] >= z;
        }
        nkeys[k] = n;
    }
    return finite;
}

#ifdef CVG_MI_X86
#define AVX512 __attribute__((target("avx512f")))

/* Transpose 16 x 16 floats in registers: r[j] lane k -> r[k] lane j. Four stages, each
 * exchanging blocks of d = 8, 4, 2, 1 lanes between registers i and i + d. */
AVX512 static inline void transpose16(__m512 r[16])
{
    static const int32_t idx[4][2][16] = {
        {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
         {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}},
        {{0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
         {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31}},
        {{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
         {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31}},
        {{0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},
         {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}}};
    for (int s = 0; s < 4; s++) {
        const int d = 8 >> s;
        const __m512i lo = _mm512_loadu_si512(idx[s][0]), hi = _mm512_loadu_si512(idx[s][1]);
        for (int i = 0; i < 16; i++)
            if (!(i & d)) {
                const __m512 a = r[i], b = r[i + d];
                r[i] = _mm512_permutex2var_ps(a, lo, b);
                r[i + d] = _mm512_permutex2var_ps(a, hi, b);
            }
    }
}

/* gather_scalar with AVX-512: 16 rows at a time are loaded (masked to the nu units) and
 * transposed in registers; the keys of the values >= z are compressed into place. The rows
 * are prefetched into L2 (not L1: with dim a power of two the rows of a block fall into few
 * L1 sets). */
AVX512 static int gather_avx512(const float *samples, int64_t rows, int64_t dim, int64_t i0,
                                int nu, float z, float *col, uint32_t *keys, int64_t *nkeys)
{
    const __mmask16 units = (__mmask16)((1u << nu) - 1u);
    const __m512 zv = _mm512_set1_ps(z), big = _mm512_set1_ps(FLT_MAX);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    __mmask16 finite = 0xffff;
    for (int k = 0; k < nu; k++) nkeys[k] = 0;
    const int64_t rows16 = rows & ~(int64_t)15;
    /* The columns (16 x rows floats, 3.8 MB at 60,000 rows) do not stay in the caches until
     * they are read back: written around them (no read for ownership), when every row block
     * is a whole aligned line: binning CPU time -4% (1 thread) and -6% (2 threads) measured in
     * alternating runs at 60,000 rows. */
    const int stream = ((uintptr_t)col & 63) == 0 && rows % 16 == 0;
    for (int64_t r0 = 0; r0 < rows16; r0 += 16) {
        if (r0 + 48 <= rows)
            for (int j = 0; j < 16; j++)
                __builtin_prefetch(samples + (r0 + 32 + j) * dim + i0, 0, 2);
        __m512 x[16];
        for (int j = 0; j < 16; j++)
            x[j] = _mm512_maskz_loadu_ps(units, samples + (r0 + j) * dim + i0);
        transpose16(x);
        for (int k = 0; k < nu; k++) {
            if (stream) _mm512_stream_ps(col + k * rows + r0, x[k]);
            else _mm512_storeu_ps(col + k * rows + r0, x[k]);
            finite &= _mm512_cmp_ps_mask(_mm512_abs_ps(x[k]), big, _CMP_LE_OQ);
            /* key: negative values bit-inverted, others with the sign bit set */
            const __m512i u = _mm512_castps_si512(x[k]);
            const __m512i key =
                _mm512_xor_si512(u, _mm512_or_si512(_mm512_srai_epi32(u, 31), sign));
            const __mmask16 m = _mm512_cmp_ps_mask(x[k], zv, _CMP_GE_OQ);
            const int c = __builtin_popcount(m);
            _mm512_mask_storeu_epi32(keys + k * rows + nkeys[k], (__mmask16)((1u << c) - 1u),
                                     _mm512_maskz_compress_epi32(m, key));
            nkeys[k] += c;
        }
    }
    _mm_sfence(); /* the streamed columns before anything that reads them */
    int ok = finite == 0xffff;
    for (int64_t r = rows16; r < rows; r++) /* the last rows % 16 */
        for (int k = 0; k < nu; k++) {
            const float v = samples[r * dim + i0 + k];
            col[k * rows + r] = v;
            ok &= fabsf(v) <= FLT_MAX;
            keys[k * rows + nkeys[k]] = float_key(v);
            nkeys[k] += v >= z;
        }
    return ok;
}

/* The assignment for nt <= 31 thresholds: a branch-free binary search over t padded with
 * +inf to 32 entries (two registers, vpermt2ps), 5 steps instead of nt compares. */
AVX512 static void assign_avx512(const float *col, int64_t rows, const float *t, int nt,
                                 uint8_t *codes)
{
    float pad[32];
    for (int k = 0; k < 32; k++) pad[k] = k < nt ? t[k] : INFINITY;
    const __m512 lo = _mm512_loadu_ps(pad), hi = _mm512_loadu_ps(pad + 16);
    for (int64_t r = 0; r < rows; r += 16) {
        const __mmask16 valid = rows - r >= 16 ? (__mmask16)0xffff
                                               : (__mmask16)((1u << (rows - r)) - 1u);
        const __m512 x = _mm512_maskz_loadu_ps(valid, col + r);
        __m512i pos = _mm512_setzero_si512();
        for (int step = 16; step >= 1; step /= 2) {
            const __m512i idx = _mm512_add_epi32(pos, _mm512_set1_epi32(step - 1));
            const __m512 tv = _mm512_permutex2var_ps(lo, idx, hi);
            const __mmask16 le = _mm512_cmp_ps_mask(tv, x, _CMP_LE_OQ);
            pos = _mm512_mask_add_epi32(pos, le, pos, _mm512_set1_epi32(step));
        }
        _mm512_mask_cvtepi32_storeu_epi8(codes + r, valid, pos);
    }
}
#endif

/* Bin units i0 .. i0+nu-1. col: nu x rows floats, keys: nu x rows, tmp: rows of scratch.
 * Returns 0 (and the first non-finite value's row and unit) if a value is not finite. */
static int bin_block(const float *samples, int64_t rows, int64_t dim, int64_t i0, int nu,
                     int bins, double zt, int avx512, float *col, uint32_t *keys,
                     uint32_t *tmp, uint8_t *codes, double *edges, int64_t *nonzero,
                     int64_t *bad_row, int64_t *bad_unit)
{
    const float z = float_above(zt);
    int64_t nkeys[UNIT_BLOCK];
    int finite;
#ifdef CVG_MI_X86
    if (avx512)
        finite = gather_avx512(samples, rows, dim, i0, nu, z, col, keys, nkeys);
    else
#endif
        finite = gather_scalar(samples, rows, dim, i0, nu, z, col, keys, nkeys);
    if (!finite) {
        for (int k = 0; k < nu; k++)
            for (int64_t r = 0; r < rows; r++)
                if (!isfinite(col[k * rows + r])) {
                    *bad_row = r;
                    *bad_unit = i0 + k;
                    return 0;
                }
    }
    for (int k = 0; k < nu; k++) {
        const int64_t i = i0 + k, n = nkeys[k];
        double e[256];
        float t[256];
        for (int b = 0; b < bins - 1; b++) e[b] = zt; /* dead unit */
        if (n > 0) unit_edges(keys + k * rows, tmp, n, bins, e);
        if (edges) memcpy(edges + i * (bins - 1), e, (size_t)(bins - 1) * sizeof *e);
        if (nonzero) nonzero[i] = n;
        uint8_t *c = codes + i * rows;
        if (n == 0) {
            memset(c, 0, (size_t)rows);
            continue;
        }
        t[0] = z;
        for (int b = 0; b < bins - 1; b++) t[b + 1] = float_at_or_above(e[b]);
#ifdef CVG_MI_X86
        if (avx512 && bins <= 31) {
            assign_avx512(col + k * rows, rows, t, bins, c);
            continue;
        }
#endif
        assign_linear(col + k * rows, rows, t, bins, c);
    }
    return 1;
}

cvg_status cvg_mi_bin(const float *samples, int64_t rows, int64_t dim,
                      const cvg_mi_options *opt, uint8_t *codes, double *edges,
                      int64_t *nonzero)
{
    cvg_mi_options defaults;
    opt = cvg__mi_options_or_defaults(opt, &defaults);
    cvg_status st = cvg__mi_check("mi bin", samples, codes, rows, dim);
    if (st != CVG_OK) return st;
    if ((st = cvg__check_threads(opt->threads, "mi bin")) != CVG_OK) return st;
    if (opt->bins < 1 || opt->bins > 254)
        return cvg__fail(CVG_ERR_ARG, "mi bin: bins must be in 1..254, got %d", opt->bins);
    if (isnan(opt->zero_threshold))
        return cvg__fail(CVG_ERR_ARG, "mi bin: zero_threshold is NaN");

    const int bins = opt->bins;
    const double zt = opt->zero_threshold;
    const int64_t nblocks = (dim + UNIT_BLOCK - 1) / UNIT_BLOCK;
    int nthreads = opt->threads > 0 ? opt->threads : omp_get_max_threads();
    if (nthreads > nblocks) nthreads = (int)nblocks;

    cvg_status status = CVG_OK;
    int64_t bad_row = -1, bad_unit = -1;

    const int avx512 = cvg__mi_avx512();
#pragma omp parallel num_threads(nthreads)
    {
        /* columns aligned to 64 bytes: whole-line vector stores when rows % 16 == 0 */
        void *col_mem = cvg__malloc((size_t)rows * UNIT_BLOCK * sizeof(float) + 64,
                                    "mi bin columns");
        float *col = (float *)(((uintptr_t)col_mem + 63) & ~(uintptr_t)63);
        uint32_t *keys = cvg__malloc((size_t)rows * UNIT_BLOCK * sizeof(uint32_t), "mi bin keys");
        uint32_t *tmp = cvg__malloc((size_t)rows * sizeof(uint32_t), "mi bin keys");
        if (!col_mem || !keys || !tmp) {
#pragma omp critical(cvg_mi_bin_err)
            status = CVG_ERR_NOMEM;
        }
#pragma omp barrier
        if (status == CVG_OK) {
#pragma omp for schedule(dynamic, 1)
            for (int64_t blk = 0; blk < nblocks; blk++) {
                const int64_t i0 = blk * UNIT_BLOCK;
                const int nu = dim - i0 < UNIT_BLOCK ? (int)(dim - i0) : UNIT_BLOCK;
                int64_t row = -1, unit = -1;
                if (!bin_block(samples, rows, dim, i0, nu, bins, zt, avx512, col, keys, tmp,
                               codes, edges, nonzero, &row, &unit)) {
#pragma omp critical(cvg_mi_bin_err)
                    if (bad_unit < 0 || unit < bad_unit) { /* report the first unit */
                        bad_row = row;
                        bad_unit = unit;
                    }
                }
            }
        }
        free(col_mem);
        free(keys);
        free(tmp);
    }
    if (status == CVG_ERR_NOMEM)
        return cvg__fail(CVG_ERR_NOMEM, "mi bin: out of memory for %lld rows", (long long)rows);
    if (bad_row >= 0)
        return cvg__fail(CVG_ERR_NONFINITE, "mi bin: non-finite value at row %lld, unit %lld",
                         (long long)bad_row, (long long)bad_unit);
    return CVG_OK;
}
