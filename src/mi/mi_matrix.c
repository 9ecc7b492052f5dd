/* The MI matrix of binned units: exact joint counts (mi_count.c), then the plug-in estimate
 *   I = (sum_ab F(n_ab) - sum_a F(n_a) - sum_b F(n_b) + F(N)) / N,  F(n) = n ln n,
 * which equals sum_ab p_ab ln(p_ab / (p_a p_b)) with p = n / N, optionally with the
 * Miller-Madow correction and in bits. Only the upper triangle is counted; it is mirrored. */
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "mi/mi_internal.h"

#ifdef CVG_MI_X86
#include <emmintrin.h>
#endif

/* L: units per panel. CHUNK: rows per panel chunk, CHUNK * L bytes = 256 KiB, which stays in
 * the L2 cache while every unit of a block of BLOCK units is counted against it (the rows of
 * a group are visited in random order, so from main memory or L3 each access would be a
 * cache miss; measured 8x slower). Every block streams all later panels from memory (30 MB
 * for 512 units x 60,000 rows), so larger blocks read less: with the bit-sliced kernel 32
 * units measured 13% less CPU time than 8 (16: 11%, 64: 5%; docs/mutual-information.md). */
#ifndef CVG_MI_CHUNK
#define CVG_MI_CHUNK 4096
#endif
#ifndef CVG_MI_BLOCK
#define CVG_MI_BLOCK 32
#endif
enum { L = CVG_MI_LANES, CHUNK = CVG_MI_CHUNK, BLOCK = CVG_MI_BLOCK };
/* Bytes of joint counts (16- and 32-bit) a thread may hold for its block: 32 units of the
 * default 20 bins take 4.9 MB; with many bins the block shrinks (254 bins: one unit). */
#define CVG_MI_COUNT_BUDGET ((size_t)16 << 20)

/* hist[c] = #{r < n : code[r] = c} for c < ncodes (every code must be < ncodes). Four
 * sub-histograms: consecutive rows often share a code, and one counter would make every
 * increment wait for the previous one. */
static void histogram(const uint8_t *code, int64_t n, int ncodes, int64_t *hist)
{
    int64_t h[4][256];
    for (int k = 0; k < 4; k++)
        for (int c = 0; c < ncodes; c++) h[k][c] = 0;
    int64_t r = 0;
    for (; r + 4 <= n; r += 4) {
        h[0][code[r]]++;
        h[1][code[r + 1]]++;
        h[2][code[r + 2]]++;
        h[3][code[r + 3]]++;
    }
    for (; r < n; r++) h[0][code[r]]++;
    for (int c = 0; c < ncodes; c++) hist[c] = h[0][c] + h[1][c] + h[2][c] + h[3][c];
}

/* Marginal counts marg (dim x levels) of unit-major codes; returns 0 if a code is >= levels. */
static int marginals(const uint8_t *code, int64_t rows, int levels, int64_t *marg)
{
    int64_t hist[256];
    histogram(code, rows, 256, hist);
    int ok = 1;
    for (int c = 0; c < 256; c++) {
        if (c < levels) marg[c] = hist[c];
        else ok &= hist[c] == 0;
    }
    return ok;
}

#ifdef CVG_MI_X86
/* 16 x 16 bytes transposed in registers: x[i] byte j -> x[j] byte i. Four rounds that
 * interleave the bytes of registers i and i + 8 (each round rotates the 8 address bits,
 * register and byte, by one: four rounds swap the halves). SSE2, every x86-64 CPU. */
static inline void transpose16x16(__m128i x[16])
{
    for (int round = 0; round < 4; round++) {
        __m128i t[16];
        for (int i = 0; i < 8; i++) {
            t[2 * i] = _mm_unpacklo_epi8(x[i], x[i + 8]);
            t[2 * i + 1] = _mm_unpackhi_epi8(x[i], x[i + 8]);
        }
        for (int i = 0; i < 16; i++) x[i] = t[i];
    }
}
#endif

/* Unit-major codes -> panels of 64 units in processing order (panel p, lane l holds unit
 * order[p * L + l]; rows x 64, row-major; lanes past dim hold code 0 and are never read).
 * Blocks of 16 rows x 16 units are transposed in registers; the last rows % 16 one by one. */
static void make_panels(const uint8_t *codes, int64_t rows, int64_t dim, const int64_t *order,
                        uint8_t *panels)
{
    static const uint8_t zeros[16] = {0};
    const int64_t npanels = (dim + L - 1) / L;
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < npanels; p++) {
        uint8_t *panel = panels + p * rows * L;
        const uint8_t *src[L]; /* the lanes' codes; past dim: zeros (read as 16 at a time) */
        for (int l = 0; l < L; l++) {
            const int64_t q = p * L + l;
            src[l] = q < dim ? codes + order[q] * rows : NULL;
        }
        int64_t r0 = 0;
#ifdef CVG_MI_X86
        for (; r0 + 16 <= rows; r0 += 16)
            for (int l0 = 0; l0 < L; l0 += 16) {
                __m128i x[16];
                for (int i = 0; i < 16; i++)
                    x[i] = _mm_loadu_si128(
                        (const __m128i *)(src[l0 + i] ? src[l0 + i] + r0 : zeros));
                transpose16x16(x);
                for (int j = 0; j < 16; j++)
                    _mm_storeu_si128((__m128i *)(panel + (r0 + j) * L + l0), x[j]);
            }
#endif
        for (int64_t r = r0; r < rows; r++)
            for (int l = 0; l < L; l++) panel[r * L + l] = src[l] ? src[l][r] : 0;
    }
}

/* Processing order: units by increasing count of non-zero codes (ties by index). A pair
 * (i, j) is counted over the non-zero rows of whichever comes first, so the work of a pair is
 * min(nonzero_i, nonzero_j) rows, and dead units cost nothing. */
typedef struct keyed {
    int64_t nonzero, unit;
} keyed;

static int cmp_keyed(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->nonzero != b->nonzero) return a->nonzero < b->nonzero ? -1 : 1;
    return (a->unit > b->unit) - (a->unit < b->unit);
}

/* Rows of unit i with code a >= 1, chunk by chunk of CHUNK rows and within a chunk grouped by
 * a (a counting sort): group a of chunk c is perm[goff[c * levels + a - 1] ..
 * goff[c * levels + a] - 1]. The rows r with r % 4 = k are sorted as a stream of their own
 * (group a holds stream 0's rows, then stream 1's, ...; the kernels count a group in any
 * order): consecutive rows often share a code (half are zeros), and with one write position
 * per code each row would wait for the previous one's. */
static void group_rows(const uint8_t *code, int64_t rows, int levels, int32_t *perm,
                       int64_t *goff)
{
    enum { S = 4 };
    int64_t pos = 0;
    for (int64_t c = 0, r0 = 0; r0 < rows; c++, r0 += CHUNK) {
        const int64_t r1 = rows - r0 < CHUNK ? rows : r0 + CHUNK;
        const int64_t r4 = r0 + ((r1 - r0) & ~(int64_t)(S - 1));
        int32_t hist[S][256], next[S][256];
        for (int k = 0; k < S; k++)
            for (int a = 0; a < levels; a++) hist[k][a] = 0;
        /* codes were checked by marginals: all < levels */
        for (int64_t r = r0; r < r4; r += S)
            for (int k = 0; k < S; k++) hist[k][code[r + k]]++;
        for (int64_t r = r4; r < r1; r++) hist[0][code[r]]++;
        int64_t *g = goff + c * levels;
        g[0] = pos;
        for (int a = 1; a < levels; a++) {
            int32_t start = (int32_t)g[a - 1];
            for (int k = 0; k < S; k++) {
                next[k][a] = start;
                start += hist[k][a];
            }
            g[a] = start;
        }
        pos = g[levels - 1];
        /* rows with code 0 are written past the end, then overwritten */
        for (int k = 0; k < S; k++) next[k][0] = (int32_t)pos;
        for (int64_t r = r0; r < r4; r += S)
            for (int k = 0; k < S; k++) {
                const int a = code[r + k];
                perm[next[k][a]] = (int32_t)(r + k);
                next[k][a] += a != 0;
            }
        for (int64_t r = r4; r < r1; r++) {
            const int a = code[r];
            perm[next[0][a]] = (int32_t)r;
            next[0][a] += a != 0;
        }
    }
}

typedef struct shared {
    int64_t rows, dim;
    int levels;
    const uint8_t *codes, *panels;
    const int64_t *order; /* processing position -> unit */
    const int64_t *marg;
    const int32_t *margp; /* per panel, levels x L: the marginals of its lanes' units */
    const double *S;      /* sum_a F(n_a) per unit */
    const int *m;         /* non-empty bins per unit */
    const double *F;      /* F(n) = n ln n for n = 0 .. rows: every count is one of these */
    int mm;
    double scale;                /* 1 or 1/ln 2 */
    cvg__mi_count_fn count;      /* the counting kernel (mi_dispatch.c) */
    cvg__mi_count_fn count_upper; /* its lanes-32..63 form, or NULL */
} shared;

static double finish(const shared *sh, double sum_f, int64_t m_xy, int64_t i, int64_t j)
{
    const double N = (double)sh->rows;
    /* A unit with a single non-empty bin (dead, constant) shares nothing: exactly 0, not the
     * rounding residue of the sums (the diagonal then is 0 too). */
    if (sh->m[i] <= 1 || sh->m[j] <= 1) return 0.0;
    double mi = (sum_f - sh->S[i] - sh->S[j] + sh->F[sh->rows]) / N;
    if (mi < 0) mi = 0; /* rounding only: the plug-in MI of a table is >= 0 */
    if (sh->mm) mi -= (double)(m_xy - sh->m[i] - sh->m[j] + 1) / (2.0 * N);
    return mi * sh->scale;
}

/* Per lane l of a panel, against unit i (marginals marg_i): the sum of F over all cells of
 * the joint table and the number of non-empty cells. cnt holds the cells (a >= 1, b >= 1);
 * (a, 0) and (0, b) follow from the marginals (margp: levels x L, those of the lanes' units),
 * (0, 0) from N. Every lane is computed (fixed trip counts, vectorized with table gathers):
 * lanes without a unit have zero counts and marginals, so every index is a count in
 * 0..rows. Each lane sums in the same order whatever the vector width. */
#define DEFINE_PANEL_SUMS(NAME, T)                                                             \
CVG_VECTOR_CLONES static void NAME(const T *restrict cnt, int bins,                            \
                                         const int64_t *restrict marg_i,                       \
                                         const int32_t *restrict margp,                        \
                                         const double *restrict F, double *restrict sum_out,   \
                                         int32_t *restrict nonempty_out)                       \
{                                                                                              \
    /* local accumulators: no aliasing with the inputs, so the lane loops vectorize */         \
    double sum[L];                                                                             \
    int32_t col[256][L], row0[L], ne[L];                                                       \
    for (int l = 0; l < L; l++) {                                                              \
        sum[l] = 0;                                                                            \
        ne[l] = 0;                                                                             \
        row0[l] = 0;                                                                           \
    }                                                                                          \
    for (int b = 1; b <= bins; b++)                                                            \
        for (int l = 0; l < L; l++) col[b][l] = 0;                                             \
    for (int a = 1; a <= bins; a++) {                                                          \
        int32_t rowsum[L];                                                                     \
        for (int l = 0; l < L; l++) rowsum[l] = 0;                                             \
        const T *c = cnt + (int64_t)(a - 1) * bins * L;                                        \
        for (int b = 1; b <= bins; b++, c += L)                                                \
            for (int l = 0; l < L; l++) {                                                      \
                const int32_t n = (int32_t)c[l];                                               \
                rowsum[l] += n;                                                                \
                col[b][l] += n;                                                                \
                sum[l] += F[n];                                                                \
                ne[l] += n != 0;                                                               \
            }                                                                                  \
        const int32_t na = (int32_t)marg_i[a];                                                 \
        for (int l = 0; l < L; l++) { /* cell (a, 0) */                                        \
            const int32_t n = na - rowsum[l];                                                  \
            sum[l] += F[n];                                                                    \
            ne[l] += n != 0;                                                                   \
        }                                                                                      \
    }                                                                                          \
    for (int b = 1; b <= bins; b++)                                                            \
        for (int l = 0; l < L; l++) { /* cell (0, b) */                                        \
            /* >= 0 for every lane counted; lanes below a unit's own position may be left      \
             * uncounted (upper-half kernel): clamped so they still index the table */         \
            const int32_t d = margp[b * L + l] - col[b][l], n = d > 0 ? d : 0;                 \
            row0[l] += n;                                                                      \
            sum[l] += F[n];                                                                    \
            ne[l] += n != 0;                                                                   \
        }                                                                                      \
    const int32_t n0 = (int32_t)marg_i[0];                                                     \
    for (int l = 0; l < L; l++) { /* cell (0, 0) */                                            \
        const int32_t d = n0 - row0[l], n = d > 0 ? d : 0;                                     \
        sum_out[l] = sum[l] + F[n];                                                            \
        nonempty_out[l] = ne[l] + (n != 0);                                                    \
    }                                                                                          \
}

/* on 32-bit counts, and on the kernels' 16-bit counts when every count fits them (rows <=
 * CHUNKS16 x CHUNK): no copy into 32-bit counts, half the bytes read */
DEFINE_PANEL_SUMS(panel_sums32, uint32_t)
DEFINE_PANEL_SUMS(panel_sums16, uint16_t)

/* MI of unit i (processing position q) with the units j > i of panel p, from its counts:
 * cnt (32-bit) or, if cnt is NULL, cnt16. */
static void finish_panel(const shared *sh, int64_t q, int64_t p, const uint32_t *cnt,
                         const uint16_t *cnt16, double *out)
{
    const int64_t dim = sh->dim, i = sh->order[q];
    /* lanes l0 .. l1-1: the units after position q that exist */
    const int l0 = q + 1 > p * L ? (int)(q + 1 - p * L) : 0;
    const int l1 = dim - p * L < L ? (int)(dim - p * L) : L;
    if (l0 >= l1) return;
    double sum[L];
    int32_t nonempty[L];
    if (cnt)
        panel_sums32(cnt, sh->levels - 1, sh->marg + i * sh->levels,
                     sh->margp + p * sh->levels * L, sh->F, sum, nonempty);
    else
        panel_sums16(cnt16, sh->levels - 1, sh->marg + i * sh->levels,
                     sh->margp + p * sh->levels * L, sh->F, sum, nonempty);
    for (int l = l0; l < l1; l++) {
        const int64_t j = sh->order[p * L + l];
        const double v = finish(sh, sum[l], nonempty[l], i, j);
        out[i * dim + j] = v;
        out[j * dim + i] = v;
    }
}

/* Scratch of one thread for a block of up to BLOCK units. */
typedef struct scratch {
    int32_t *perm;   /* block x rows */
    int64_t *goff;   /* block x chunks x levels */
    uint16_t *cnt16; /* block x bins x bins x L: the kernel's counts (half the cache lines) */
    uint32_t *cnt;   /* the same, all rows */
} scratch;

/* Chunks whose counts fit the kernel's 16-bit counters: at most CHUNK per chunk and cell. */
enum { CHUNKS16 = 65535 / CHUNK };

/* cnt = cnt16 (first) or cnt += cnt16, then cnt16 = 0 if more is to be counted (n entries). */
CVG_VECTOR_CLONES static void empty_counts(uint16_t *restrict cnt16, uint32_t *restrict cnt,
                                           size_t n, int first, int more)
{
    if (first)
        for (size_t e = 0; e < n; e++) cnt[e] = cnt16[e];
    else
        for (size_t e = 0; e < n; e++) cnt[e] += cnt16[e];
    if (more) memset(cnt16, 0, n * sizeof *cnt16);
}

/* Bring a panel chunk into the cache in address order (the hardware prefetcher streams it)
 * before it is read in random row order. */
static void touch(const uint8_t *p, int64_t bytes)
{
    for (int64_t k = 0; k < bytes; k += 64) __builtin_prefetch(p + k, 0, 3);
}

/* The units at positions i0 .. i0+ni-1 against all units at later positions. */
static void unit_block(const shared *sh, int64_t i0, int64_t ni, const scratch *ws, double *out)
{
    const int64_t rows = sh->rows, dim = sh->dim;
    const int levels = sh->levels, bins = levels - 1;
    const int64_t nchunks = (rows + CHUNK - 1) / CHUNK;
    const size_t cnt_size = (size_t)bins * bins * L;
    const int fit16 = nchunks <= CHUNKS16; /* every count fits the kernels' 16 bits */
    for (int64_t k = 0; k < ni; k++)
        group_rows(sh->codes + sh->order[i0 + k] * rows, rows, levels, ws->perm + k * rows,
                   ws->goff + k * nchunks * levels);

    for (int64_t p = i0 / L; p * L < dim; p++) {
        const uint8_t *panel = sh->panels + p * rows * L;
        memset(ws->cnt16, 0, (size_t)ni * cnt_size * sizeof *ws->cnt16);
        for (int64_t c = 0; c < nchunks && bins > 0; c++) {
            const int64_t r0 = c * CHUNK, r1 = rows - r0 < CHUNK ? rows : r0 + CHUNK;
            touch(panel + r0 * L, (r1 - r0) * L);
            for (int64_t k = 0; k < ni; k++) {
                const int64_t *g = ws->goff + (k * nchunks + c) * levels;
                if (g[bins] == g[0]) continue;
                /* in its own panel, a unit at lane >= 31 needs the lanes 32..63 only */
                const int upper = i0 + k - p * L >= L / 2 - 1;
                const cvg__mi_count_fn count =
                    upper && sh->count_upper ? sh->count_upper : sh->count;
                count(panel, ws->perm + k * rows, g, bins, ws->cnt16 + k * cnt_size);
            }
            if (!fit16 && ((c + 1) % CHUNKS16 == 0 || c == nchunks - 1))
                empty_counts(ws->cnt16, ws->cnt, (size_t)ni * cnt_size, c < CHUNKS16,
                             c < nchunks - 1);
        }
        for (int64_t k = 0; k < ni; k++)
            finish_panel(sh, i0 + k, p, fit16 ? NULL : ws->cnt + k * cnt_size,
                         ws->cnt16 + k * cnt_size, out);
    }
    for (int64_t k = 0; k < ni; k++) {
        /* The diagonal: the MI of a unit with itself is its entropy (joint table diagonal). */
        const int64_t i = sh->order[i0 + k];
        out[i * dim + i] = finish(sh, sh->S[i], sh->m[i], i, i);
    }
}

cvg_status cvg_mi_from_codes(const uint8_t *codes, int64_t rows, int64_t dim, int levels,
                             const cvg_mi_options *opt, double *out)
{
    cvg_mi_options defaults;
    opt = cvg__mi_options_or_defaults(opt, &defaults);
    cvg_status st = cvg__mi_check("mi", codes, out, rows, dim);
    if (st != CVG_OK) return st;
    if ((st = cvg__check_threads(opt->threads, "mi")) != CVG_OK) return st;
    if (levels < 1 || levels > 255)
        return cvg__fail(CVG_ERR_ARG, "mi: levels must be in 1..255, got %d", levels);
    const int parts = opt->parts > 1 ? opt->parts : 1, part = opt->part;
    if (part < 0 || part >= parts)
        return cvg__fail(CVG_ERR_ARG, "mi: part %d of %d parts", part, parts);
    if (parts > 1) memset(out, 0, (size_t)(dim * dim) * sizeof *out); /* the others' pairs */

    const int bins = levels - 1;
    const int64_t npanels = (dim + L - 1) / L;
    /* units per block: BLOCK, fewer when their counts would pass the budget */
    const size_t unit_counts = (size_t)bins * bins * L * (sizeof(uint16_t) + sizeof(uint32_t));
    int64_t block = unit_counts ? (int64_t)(CVG_MI_COUNT_BUDGET / unit_counts) : BLOCK;
    if (block > BLOCK) block = BLOCK;
    if (block < 1) block = 1;
    const int nthreads = opt->threads > 0 ? opt->threads : omp_get_max_threads();

    uint8_t *panels = cvg__malloc((size_t)(npanels * rows * L), "mi panels");
    int64_t *marg = cvg__malloc((size_t)(dim * levels) * sizeof(int64_t), "mi marginals");
    int32_t *margp = cvg__malloc((size_t)(npanels * levels * L) * sizeof(int32_t), "mi marginals");
    double *S = cvg__malloc((size_t)dim * sizeof(double), "mi entropies");
    keyed *keys = cvg__malloc((size_t)dim * sizeof(keyed), "mi unit order");
    int64_t *order = cvg__malloc((size_t)dim * sizeof(int64_t), "mi unit order");
    int *m = cvg__malloc((size_t)dim * sizeof(int), "mi bin counts");
    /* n ln n for every possible count n = 0 .. rows (8 bytes per row: less than the codes of
     * 8 units) */
    double *table = cvg__malloc((size_t)(rows + 1) * sizeof(double), "mi n log n table");
    int64_t bad_unit = -1;
    int nomem = !panels || !marg || !margp || !S || !m || !table || !keys || !order;
    atomic_int cancel = 0;
    atomic_int_fast64_t done = 0;
    shared sh = {.rows = rows, .dim = dim, .levels = levels, .codes = codes, .panels = panels,
                 .order = order, .marg = marg, .margp = margp, .S = S, .m = m, .F = table,
                 .mm = opt->bias_correction != 0, .scale = opt->bits ? 1.0 / log(2.0) : 1.0};
    sh.count = cvg__mi_kernel(bins, &sh.count_upper);

#pragma omp parallel num_threads(nthreads) if (!nomem)
    if (!nomem) {
#pragma omp for
        for (int64_t n = 0; n <= rows; n++) table[n] = n ? (double)n * log((double)n) : 0.0;
#pragma omp for
        for (int64_t i = 0; i < dim; i++) {
            if (!marginals(codes + i * rows, rows, levels, marg + i * levels)) {
#pragma omp critical(cvg_mi_bad_code)
                if (bad_unit < 0 || i < bad_unit) bad_unit = i;
            }
            keys[i] = (keyed){rows - marg[i * levels], i};
        }
        /* implicit barrier: the table and the marginals complete */
#pragma omp for
        for (int64_t i = 0; i < dim; i++) {
            double s = 0;
            int nz = 0;
            for (int a = 0; a < levels; a++) {
                const int64_t n = marg[i * levels + a];
                s += table[n];
                nz += n != 0;
            }
            S[i] = s;
            m[i] = nz;
        }
#pragma omp single
        {
            qsort(keys, (size_t)dim, sizeof *keys, cmp_keyed);
            for (int64_t q = 0; q < dim; q++) order[q] = keys[q].unit;
            for (int64_t p = 0; p < npanels; p++)
                for (int b = 0; b < levels; b++)
                    for (int l = 0; l < L; l++) {
                        const int64_t q = p * L + l;
                        margp[(p * levels + b) * L + l] =
                            q < dim ? (int32_t)marg[order[q] * levels + b] : 0;
                    }
        }
        make_panels(codes, rows, dim, order, panels);
        /* implicit barrier: panels, marginals and S complete */
        const int64_t nchunks = (rows + CHUNK - 1) / CHUNK;
        scratch ws = {
            cvg__malloc((size_t)block * rows * sizeof(int32_t), "mi row groups"),
            cvg__malloc((size_t)(block * nchunks * levels) * sizeof(int64_t), "mi row groups"),
            cvg__malloc((size_t)block * bins * bins * L * sizeof(uint16_t), "mi joint counts"),
            /* 32-bit counts only when 16 bits may not hold them */
            nchunks > CHUNKS16
                ? cvg__malloc((size_t)block * bins * bins * L * sizeof(uint32_t), "mi joint counts")
                : NULL};
        if (!ws.perm || !ws.goff || !ws.cnt16 || (!ws.cnt && nchunks > CHUNKS16)) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp barrier
        const int run = !nomem && bad_unit < 0;
        const int64_t nblocks = (dim + block - 1) / block;
#pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < nblocks; blk++) {
            if (!run || atomic_load(&cancel) || blk % parts != part) continue;
            const int64_t i0 = blk * block, ni = dim - i0 < block ? dim - i0 : block;
            unit_block(&sh, i0, ni, &ws, out);
            int64_t d = atomic_fetch_add(&done, ni) + ni;
            if (opt->progress && omp_get_thread_num() == 0 &&
                opt->progress("mi", (uint64_t)d, (uint64_t)dim, opt->progress_user))
                atomic_store(&cancel, 1);
        }
        free(ws.perm);
        free(ws.goff);
        free(ws.cnt16);
        free(ws.cnt);
    }
    free(keys);
    free(order);
    free(panels);
    free(marg);
    free(margp);
    free(S);
    free(m);
    free(table);
    if (nomem) return cvg__fail(CVG_ERR_NOMEM, "mi: out of memory for %lld rows x %lld units",
                                (long long)rows, (long long)dim);
    if (bad_unit >= 0)
        return cvg__fail(CVG_ERR_ARG, "mi: unit %lld has a code >= levels (%d)",
                         (long long)bad_unit, levels);
    if (atomic_load(&cancel)) return cvg__fail(CVG_ERR_CANCELLED, "mi: cancelled");
    if (opt->progress) (void)opt->progress("mi", (uint64_t)dim, (uint64_t)dim, opt->progress_user);
    return CVG_OK;
}

cvg_status cvg_mi_matrix(const float *samples, int64_t rows, int64_t dim,
                         const cvg_mi_options *opt, double *out)
{
    cvg_mi_options defaults;
    opt = cvg__mi_options_or_defaults(opt, &defaults);
    cvg_status st = cvg__mi_check("mi", samples, out, rows, dim);
    if (st != CVG_OK) return st;
    uint8_t *codes = cvg__malloc((size_t)(rows * dim), "mi codes");
    if (!codes) return CVG_ERR_NOMEM;
    st = cvg_mi_bin(samples, rows, dim, opt, codes, NULL, NULL);
    if (st == CVG_OK) st = cvg_mi_from_codes(codes, rows, dim, opt->bins + 1, opt, out);
    free(codes);
    return st;
}
