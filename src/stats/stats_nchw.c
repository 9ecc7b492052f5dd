/* cvg_stats_add_nets_nchw: a convolutional layer's activations as each network's (N, C, H, W)
 * float32 array, the form PyTorch's forward hooks hold them in, without the caller transposing
 * them into rows.
 *
 * Why here and not in the front end: torch's permute-and-copy of an NCHW output into (N*H*W, C)
 * rows cost the recorder about as much as the co-moment kernel (docs/python.md, Speed). Here
 * the inputs go in groups of whole images of about GROUP_ROWS rows: every value is checked
 * finite first (one flat vectorized scan, so a refused call adds nothing), then each group is
 * transposed into one (rows x K*C) buffer that stays in cache and is added like
 * cvg_stats_add_rows of those rows. The statistics are bit for bit those of
 * cvg_stats_add_rows called group by group (tests/test_stats_add_nchw.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <omp.h>

#include "core/internal.h"
#include "stats/stats_internal.h"
#include "stats/transpose16.h"

/* Values per finite-check task. */
enum { SCAN_SPAN = 1 << 16 };

/* 1 when all n values are finite: x * 0 is exactly 0 for finite x and NaN for NaN or +-Inf,
 * so the sum stays 0 (vectorizes without a branch). */
CVG_VECTOR_CLONES static int span_finite(const float *x, int64_t n)
{
    float probe = 0.0f;
#pragma omp simd reduction(+ : probe)
    for (int64_t i = 0; i < n; i++) probe += x[i] * 0.0f;
    return probe == 0.0f;
}

/* Every value of every net finite, or CVG_ERR_NONFINITE naming the first defect in row order
 * (row, then net, then unit), as cvg_stats_add_nets names it. */
static cvg_status check_finite_nchw(const cvg_stats *s, const float *const *nets, int64_t inputs,
                                    int64_t P)
{
    const int64_t C = s->units, per_net = inputs * C * P, spans = (per_net + SCAN_SPAN - 1) / SCAN_SPAN;
    int bad = 0;
    for (int k = 0; k < s->nets && !bad; k++) {
#pragma omp parallel for reduction(| : bad) schedule(static) if (spans > 1)
        for (int64_t q = 0; q < spans; q++) {
            const int64_t i0 = q * SCAN_SPAN, len = per_net - i0 < SCAN_SPAN ? per_net - i0 : SCAN_SPAN;
            bad |= !span_finite(nets[k] + i0, len);
        }
    }
    if (!bad) return CVG_OK;
    for (int64_t i = 0; i < inputs; i++)
        for (int64_t p = 0; p < P; p++)
            for (int k = 0; k < s->nets; k++)
                for (int64_t c = 0; c < C; c++)
                    if (!isfinite(nets[k][(i * C + c) * P + p]))
                        return cvg__fail(CVG_ERR_NONFINITE, "layer '%s': non-finite value at row %lld, "
                                         "unit %lld (net %d)", s->layer, (long long)(s->rows_seen + i * P + p),
                                         (long long)c, k + 1);
    return CVG_OK;
}

#define NCHW_HAVE_AVX512 CVG_HAVE_TRANSPOSE16
#if NCHW_HAVE_AVX512
/* dst[j * ld + i] = src[i * ls + j] for a 16 x 16 block: 16 whole-row loads, the transpose in
 * registers, 16 whole-row stores. */
__attribute__((target("avx512f"))) static void transpose16(const float *src, int64_t ls, float *dst,
                                                          int64_t ld)
{
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(src + i * ls);
    transpose16_regs(r);
    for (int i = 0; i < 16; i++) _mm512_storeu_ps(dst + i * ld, r[i]);
}

/* The same for the first m < 16 columns of src's 16 rows (m rows of dst): masked loads, so
 * nothing past the m values of a row is read. */
__attribute__((target("avx512f"))) static void transpose16_part(const float *src, int64_t ls, int m,
                                                               float *dst, int64_t ld)
{
    const __mmask16 mask = (__mmask16)((1u << m) - 1);
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_maskz_loadu_ps(mask, src + i * ls);
    transpose16_regs(r);
    for (int i = 0; i < m; i++) _mm512_storeu_ps(dst + i * ld, r[i]);
}
#endif

/* Rows [r0, r1) of one image of one net, (C, P) channel-major, into their columns of rows of
 * length D: dst[(p - r0) * D + c] = src[c * P + p]. With AVX-512, blocks of 16 channels x 16
 * positions are transposed in registers (whole cache lines read and written: element by
 * element, every load or store touched another line and the pass cost about twice the
 * co-moment kernel), the positions left over of those channels by masked loads; the channels
 * left over (and other CPUs) element by element, channel by channel (each channel's run read in
 * order). */
static void transpose_rows(const float *restrict src, int64_t C, int64_t P, int64_t r0, int64_t r1,
                           int64_t D, int wide, float *restrict dst)
{
    int64_t c16 = 0, p16 = r0;
#if NCHW_HAVE_AVX512
    if (wide) {
        c16 = C - C % 16;
        p16 = r0 + (r1 - r0) - (r1 - r0) % 16;
        for (int64_t c0 = 0; c0 < c16; c0 += 16) {
            for (int64_t p0 = r0; p0 < p16; p0 += 16)
                transpose16(src + c0 * P + p0, P, dst + (p0 - r0) * D + c0, D);
            if (p16 < r1) transpose16_part(src + c0 * P + p16, P, (int)(r1 - p16), dst + (p16 - r0) * D + c0, D);
        }
        p16 = r1; /* the positions left over too, in the blocks of 16 channels */
    }
#endif
    for (int64_t c = 0; c < C; c++) {
        const float *x = src + c * P;
        for (int64_t p = c < c16 ? p16 : r0; p < r1; p++) dst[(p - r0) * D + c] = x[p];
    }
}

static int force_portable, force_groups;

int stats__nchw_force_groups(int on)
{
    force_groups = on;
    return on;
}

int stats__nchw_force_portable(int on)
{
    force_portable = on;
#if NCHW_HAVE_AVX512
    return !on && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

typedef struct nchw_batch {
    const float *const *nets;
    int nets_count;
    int64_t C, P, D;
    int wide;               /* AVX-512 available */
    float *rows;            /* group x D */
    const void *base[1];
    int64_t ld[1], col[2];
} nchw_batch;

/* stats_add_groups' fill: rows [first, first + count) of the batch, (image, position) pieces
 * of every net transposed in parallel. */
static void fill_rows(void *user, int64_t first, int64_t count, row_parts *out)
{
    nchw_batch *b = user;
    const int64_t P = b->P, C = b->C, i0 = first / P, i1 = (first + count + P - 1) / P;
    const int64_t tasks = (i1 - i0) * b->nets_count;
#pragma omp parallel for schedule(static) if (count * b->D >= 65536)
    for (int64_t t = 0; t < tasks; t++) {
        const int64_t i = i0 + t / b->nets_count;
        const int k = (int)(t % b->nets_count);
        const int64_t r0 = i * P < first ? first - i * P : 0;
        const int64_t r1 = (i + 1) * P > first + count ? first + count - i * P : P;
        transpose_rows(b->nets[k] + i * C * P, C, P, r0, r1, b->D, b->wide, b->rows + (i * P + r0 - first) * b->D + k * C);
    }
    b->base[0] = b->rows;
    *out = (row_parts){1, 1, b->base, b->ld, b->col};
}

/* Rows made sub-block by sub-block (stats_add_filled): each thread transposes the rows it is
 * about to add into its own buffer of MOMENTS_SUB_ROWS rows, which stays in its cache for the
 * sub-block's mean, packing, HSIC norms and reservoir copy (a group of 16,384 rows, 4 MB for
 * conv1, went out to the shared cache or memory and was read back). */
enum { MAX_FILL_THREADS = 64 };
typedef struct nchw_filler {
    const float *const *nets;
    int nets_count;
    int64_t C, P, D;
    int wide;
    float *buf[MAX_FILL_THREADS];  /* MOMENTS_SUB_ROWS x D each */
    const void *base[MAX_FILL_THREADS][1];
    int64_t ld[1], col[2];
} nchw_filler;

static void fill_block(void *user, int thread, int64_t first, int64_t k, row_parts *out)
{
    nchw_filler *f = user;
    const int64_t P = f->P, C = f->C, i0 = first / P, i1 = (first + k + P - 1) / P;
    for (int64_t i = i0; i < i1; i++) {
        const int64_t r0 = i * P < first ? first - i * P : 0;
        const int64_t r1 = (i + 1) * P > first + k ? first + k - i * P : P;
        for (int net = 0; net < f->nets_count; net++)
            transpose_rows(f->nets[net] + i * C * P, C, P, r0, r1, f->D, f->wide,
                           f->buf[thread] + (i * P + r0 - first) * f->D + net * C);
    }
    f->base[thread][0] = f->buf[thread];
    *out = (row_parts){1, 1, f->base[thread], f->ld, f->col};
}

static cvg_status add_filled(cvg_stats *s, const float *const *nets, int64_t n, int64_t C, int64_t P)
{
    const int threads = moments_threads(s->moments);
    nchw_filler f = {nets, s->nets, C, P, s->dim, 0, {NULL}, {{NULL}}, {s->dim}, {0, s->dim}};
#if NCHW_HAVE_AVX512
    f.wide = !force_portable && __builtin_cpu_supports("avx512f");
#endif
    cvg_status st = CVG_OK;
    for (int t = 0; t < threads && t < MAX_FILL_THREADS && st == CVG_OK; t++)
        if (!(f.buf[t] = cvg__malloc((size_t)(MOMENTS_SUB_ROWS * s->dim) * sizeof(float), "a sub-block of rows")))
            st = CVG_ERR_NOMEM;
    const moments_filler filler = {fill_block, &f};
    if (st == CVG_OK) st = stats_add_filled(s, n, &filler, s->row_offset + s->rows_seen);
    for (int t = 0; t < MAX_FILL_THREADS; t++) free(f.buf[t]);
    return st;
}

cvg_status cvg_stats_add_nets_nchw(cvg_stats *s, const float *const *nets, int64_t inputs,
                                   int64_t height, int64_t width)
{
    if (!s || inputs < 0 || (inputs > 0 && !nets) || height < 0 || width < 0 || (height == 0) != (width == 0))
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_add_nets_nchw: invalid arguments");
    if (height == 0) return cvg_stats_add_nets(s, nets, inputs, inputs); /* (N, S): rows */
    for (int k = 0; k < s->nets && inputs > 0; k++)
        if (!nets[k]) return cvg__fail(CVG_ERR_ARG, "cvg_stats_add_nets_nchw: no activations for net %d", k + 1);
    if (inputs == 0) return CVG_OK;
    if (s->units == 0) /* one channel count C for every net below */
        return cvg__fail(CVG_ERR_SHAPE, "layer '%s': cvg_stats_add_nets_nchw needs nets of one width; "
                         "give networks of different widths as rows (cvg_stats_add_nets)", s->layer);
    const int64_t C = s->units, P = height * width, D = (int64_t)s->nets * C, n = inputs * P;
    char who[80];
    snprintf(who, sizeof who, "layer '%.64s'", s->layer);
    cvg_status st = cvg__check_rows(s->row_offset, s->rows_seen + n, who);
    if (st == CVG_OK) st = check_finite_nchw(s, nets, inputs, P);
    if (st != CVG_OK) return st;
    if (moments_takes_filler(s->moments) && moments_threads(s->moments) <= MAX_FILL_THREADS && !force_groups) {
        st = add_filled(s, nets, n, C, P);
        if (st == CVG_OK) {
            s->rows_seen += n;
            s->images += inputs;
        }
        return st;
    }
    const int64_t group = n < MOMENTS_CHUNK_ROWS ? n : MOMENTS_CHUNK_ROWS;
    nchw_batch b = {nets, s->nets, C, P, D, 0, NULL, {NULL}, {D}, {0, D}};
#if NCHW_HAVE_AVX512
    b.wide = !force_portable && __builtin_cpu_supports("avx512f");
#endif
    if (!(b.rows = cvg__malloc((size_t)(group * D) * sizeof *b.rows, "a group of transposed rows")))
        return CVG_ERR_NOMEM;
    st = stats_add_groups(s, n, group, fill_rows, &b, s->row_offset + s->rows_seen);
    if (st == CVG_OK) {
        s->rows_seen += n;
        s->images += inputs;
    }
    free(b.rows);
    return st;
}
