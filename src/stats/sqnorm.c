/* Running sums of products of block squared norms (see sqnorm.h for the algebra). */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "core/internal.h"
#include "stats/comoment_kernel.h"
#include "stats/moments_internal.h"
#include "stats/sqnorm.h"
#include "stats/transpose16.h"

cvg_status sqnorm_init(sqnorm_sums *s, int blocks, const int64_t *offset)
{
    memset(s, 0, sizeof *s);
    if (blocks < 1) return cvg__fail(CVG_ERR_ARG, "sqnorm_init: no blocks");
    s->blocks = blocks;
    s->dim = offset[blocks];
    s->offset = malloc((size_t)(blocks + 1) * sizeof *s->offset);
    s->Q = calloc((size_t)(blocks * blocks), sizeof *s->Q);
    s->G = calloc((size_t)(blocks * s->dim), sizeof *s->G);
    s->column_block = malloc((size_t)(s->dim > 0 ? s->dim : 1) * sizeof *s->column_block);
    if (!s->offset || !s->Q || !s->G || !s->column_block) {
        sqnorm_free(s);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory for the HSIC sums");
    }
    memcpy(s->offset, offset, (size_t)(blocks + 1) * sizeof *offset);
    for (int b = 0; b < blocks; b++)
        for (int64_t j = offset[b]; j < offset[b + 1]; j++) s->column_block[j] = b;
    return CVG_OK;
}

void sqnorm_free(sqnorm_sums *s)
{
    free(s->offset);
    free(s->Q);
    free(s->G);
    free(s->column_block);
    memset(s, 0, sizeof *s);
}

/* Move the sums of n rows from the point rho to rho - d (so x - (rho - d) = (x - rho) + d), where
 * either rho is the rows' mean and M their co-moment about it (from_mean = 1), or rho - d is
 * the mean and M the co-moment about that (from_mean = 0). With p_a = u_a.d_a, sum_r p_a is 0
 * in the first case and -n |d_a|^2 in the second, which changes only the weight of the last
 * term of Q (sqnorm.h has the first case). G and Q are updated in place. */
static cvg_status shift(sqnorm_sums *s, const double *M, int64_t n, const double *d, int from_mean)
{
    const int B = s->blocks;
    const int64_t D = s->dim;
    double *Dblk = calloc((size_t)(D * B), sizeof *Dblk); /* D x B: d restricted to each block */
    double *P = malloc((size_t)(D * B) * sizeof *P);      /* M Dblk: P[i][b] = (M_{:,b} d_b)_i */
    double *tr = calloc((size_t)B, sizeof *tr), *nd2 = calloc((size_t)B, sizeof *nd2);
    double *Qn = malloc((size_t)(B * B) * sizeof *Qn);
    if (!Dblk || !P || !tr || !nd2 || !Qn) {
        free(Dblk), free(P), free(tr), free(nd2), free(Qn);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory for the HSIC sums");
    }
    for (int b = 0; b < B; b++)
        for (int64_t i = s->offset[b]; i < s->offset[b + 1]; i++) {
            Dblk[i * B + b] = d[i];
            tr[b] += M[i * D + i];
            nd2[b] += d[i] * d[i];
        }
    cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, (int)D, B, 1.0, M, (int)D, Dblk, B, 0.0, P, B);
    const double nn = (double)n;
    for (int a = 0; a < B; a++)
        for (int b = 0; b < B; b++) {
            double gab = 0, gba = 0, dmd = 0;
            for (int64_t i = s->offset[b]; i < s->offset[b + 1]; i++) gab += s->G[a * D + i] * d[i];
            for (int64_t i = s->offset[a]; i < s->offset[a + 1]; i++) {
                gba += s->G[b * D + i] * d[i];
                dmd += d[i] * P[i * B + b];
            }
            Qn[a * B + b] = s->Q[a * B + b] + 2 * gab + 2 * gba + tr[a] * nd2[b] + tr[b] * nd2[a] +
                            4 * dmd + (from_mean ? 1 : 3) * nn * nd2[a] * nd2[b];
        }
    memcpy(s->Q, Qn, (size_t)(B * B) * sizeof *Qn);
    for (int a = 0; a < B; a++)
        for (int64_t i = 0; i < D; i++)
            s->G[a * D + i] += tr[a] * d[i] + 2 * P[i * B + a] + nn * nd2[a] * d[i];
    free(Dblk), free(P), free(tr), free(nd2), free(Qn);
    return CVG_OK;
}

/* Element idx of rows given as float (is_float) or double. */
static inline double value_at(const void *rows, int is_float, int64_t idx)
{
    return is_float ? (double)((const float *)rows)[idx] : ((const double *)rows)[idx];
}

/* sum over rows [r0, r1) of (x_r - x_0), added into acc (D). */
CVG_VECTOR_CLONES
static void sum_differences(const void *rows, int is_float, int64_t r0, int64_t r1, int64_t ld,
                            int64_t D, double *acc)
{
    for (int64_t r = r0; r < r1; r++) {
        if (is_float) {
            const float *x = (const float *)rows + r * ld, *x0 = rows;
            for (int64_t i = 0; i < D; i++) acc[i] += (double)x[i] - (double)x0[i];
        } else {
            const double *x = (const double *)rows + r * ld, *x0 = rows;
            for (int64_t i = 0; i < D; i++) acc[i] += x[i] - x0[i];
        }
    }
}

/* The mean of n rows, shifted by the first row (exact for a constant column); each thread sums
 * a contiguous range of rows. */
static cvg_status rows_mean(const void *rows, int is_float, int64_t n, int64_t ld, int64_t D,
                            double *mu)
{
    const int T = n * D >= (1 << 16) ? omp_get_max_threads() : 1;
    double *part = calloc((size_t)(T * D), sizeof *part);
    if (!part) return cvg__fail(CVG_ERR_NOMEM, "out of memory for the HSIC sums");
#pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num(), team = omp_get_num_threads();
        const int64_t r0 = 1 + (n - 1) * t / team, r1 = 1 + (n - 1) * (t + 1) / team;
        sum_differences(rows, is_float, r0, r1, ld, D, part + t * D);
    }
    for (int64_t i = 0; i < D; i++) {
        double acc = 0;
        for (int t = 0; t < T; t++) acc += part[t * D + i];
        mu[i] = value_at(rows, is_float, i) + acc / (double)n;
    }
    free(part);
    return CVG_OK;
}

/* Sums of rows taken directly about mu (no shift), the rows shared out among the threads, each
 * summing into its own scratch (sqnorm_rows_about), folded in at the end. */
static cvg_status add_direct(sqnorm_sums *s, const void *rows, int is_float, int64_t n,
                             int64_t ld, const double *mu)
{
    const int T = n >= 256 ? omp_get_max_threads() : 1;
    const int64_t per = sqnorm_scratch_size(s);
    double *scratch = calloc((size_t)(T * per), sizeof *scratch);
    if (!scratch) return cvg__fail(CVG_ERR_NOMEM, "out of memory for the HSIC sums");
    const void *base[1] = {rows};
    const int64_t lds[1] = {ld}, cols[2] = {0, s->dim};
    const row_parts parts = {1, is_float, base, lds, cols};
#pragma omp parallel num_threads(T)
    {
        const int t = omp_get_thread_num(), team = omp_get_num_threads();
        const int64_t r0 = n * t / team, r1 = n * (t + 1) / team;
        sqnorm_rows_about(s, &parts, r0, r1 - r0, mu, scratch + t * per);
    }
    for (int t = 0; t < T; t++) sqnorm_fold_scratch(s, scratch + t * per);
    free(scratch);
    return CVG_OK;
}

cvg_status sqnorm_add(sqnorm_sums *s, const cvg_moments *m, const void *rows, int is_float,
                      int64_t n, int64_t ld)
{
    if (n <= 0) return CVG_OK;
    const int64_t D = s->dim, na = cvg_moments_count(m);
    if (cvg_moments_dim(m) != D) return cvg__fail(CVG_ERR_SHAPE, "sqnorm_add: dimensions differ");
    double *mu = malloc((size_t)D * sizeof *mu), *d = malloc((size_t)D * sizeof *d);
    if (!mu || !d) {
        free(mu), free(d);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory for the HSIC sums");
    }
    cvg_status st = rows_mean(rows, is_float, n, ld, D, mu);
    if (st == CVG_OK && na > 0) {
        /* the new mean, as the moments accumulator will compute it */
        const double *ma = cvg_moments_mean(m), f = (double)n / (double)(na + n);
        for (int64_t i = 0; i < D; i++) {
            mu[i] = ma[i] + (mu[i] - ma[i]) * f;
            d[i] = ma[i] - mu[i];
        }
        st = shift(s, moments__upper(m), na, d, 1);
    }
    if (st == CVG_OK) st = add_direct(s, rows, is_float, n, ld, mu);
    free(mu), free(d);
    return st;
}

cvg_status sqnorm_merge(sqnorm_sums *dst, const cvg_moments *dm, const sqnorm_sums *src,
                        const cvg_moments *sm)
{
    if (dst->blocks != src->blocks || dst->dim != src->dim ||
        memcmp(dst->offset, src->offset, (size_t)(dst->blocks + 1) * sizeof *dst->offset) != 0)
        return cvg__fail(CVG_ERR_SHAPE, "cannot merge HSIC sums over different blocks");
    const int64_t D = dst->dim, na = cvg_moments_count(dm), nb = cvg_moments_count(sm);
    if (nb == 0) return CVG_OK;
    sqnorm_sums tmp;
    cvg_status st = sqnorm_init(&tmp, src->blocks, src->offset);
    double *d = calloc((size_t)D, sizeof *d), *mu = malloc((size_t)D * sizeof *mu);
    if (st != CVG_OK || !d || !mu) {
        free(d), free(mu), sqnorm_free(&tmp);
        return st != CVG_OK ? st : cvg__fail(CVG_ERR_NOMEM, "out of memory for the HSIC sums");
    }
    memcpy(tmp.Q, src->Q, (size_t)(src->blocks * src->blocks) * sizeof *tmp.Q);
    memcpy(tmp.G, src->G, (size_t)(src->blocks * D) * sizeof *tmp.G);
    const double *ma = cvg_moments_mean(dm), *mb = cvg_moments_mean(sm);
    const double f = (double)nb / (double)(na + nb);
    for (int64_t i = 0; i < D; i++) mu[i] = ma[i] + (mb[i] - ma[i]) * f;
    if (na > 0) {
        for (int64_t i = 0; i < D; i++) d[i] = ma[i] - mu[i];
        st = shift(dst, moments__upper(dm), na, d, 1);
    }
    for (int64_t i = 0; i < D && st == CVG_OK; i++) d[i] = mb[i] - mu[i];
    if (st == CVG_OK) st = shift(&tmp, moments__upper(sm), nb, d, 1);
    if (st == CVG_OK) {
        for (int64_t i = 0; i < (int64_t)dst->blocks * dst->blocks; i++) dst->Q[i] += tmp.Q[i];
        for (int64_t i = 0; i < (int64_t)dst->blocks * D; i++) dst->G[i] += tmp.G[i];
    }
    free(d), free(mu), sqnorm_free(&tmp);
    return st;
}

/* Rows about the reference are summed four at a time: G's row of D is read and written once
 * per four rows. */
enum { ROWS_AT_ONCE = 4 };

/* Per-thread scratch, in doubles: the row path's u (ROWS_AT_ONCE x D) and k (ROWS_AT_ONCE x
 * B), or the packed path's k per row (MOMENTS_SUB_ROWS x B, in double and in float) and
 * ef (ck_padded(D) floats); then Q (B x B) and G (B x D);
 * then the packed path's e (D) and sums of k (B). */
static int64_t front_size(const sqnorm_sums *s)
{
    const int64_t rows_path = ROWS_AT_ONCE * (s->dim + s->blocks);
    /* k in double, k in float and ef (floats: two per double) */
    const int64_t packed_path = MOMENTS_SUB_ROWS * (int64_t)s->blocks +
                                (MOMENTS_SUB_ROWS * (int64_t)s->blocks + ck_padded(s->dim) + 1) / 2;
    return rows_path > packed_path ? rows_path : packed_path;
}

int64_t sqnorm_scratch_size(const sqnorm_sums *s)
{
    return front_size(s) + (int64_t)s->blocks * s->blocks + (int64_t)s->blocks * s->dim + s->dim + s->blocks;
}

/* Rows r .. r + nr - 1 (nr <= ROWS_AT_ONCE) of the parts: u_q = x - ref (D each, double
 * scratch), k_q[b] = |u_q^b|^2, then Q += k_q k_q^T and G[a] += sum_q k_q[a] u_q. */
CVG_VECTOR_CLONES
static void add_part_rows(const sqnorm_sums *s, const row_parts *rows, int64_t r, int nr,
                          const double *ref, double *u, double *k, double *Q, double *G)
{
    const int B = s->blocks;
    const int64_t D = s->dim;
    for (int q = 0; q < nr; q++) {
        double *uq = u + q * D;
        for (int p = 0; p < rows->count; p++) {
            const int64_t c0 = rows->col[p], w = rows->col[p + 1] - c0;
            if (rows->is_float) {
                const float *x = (const float *)rows->base[p] + (r + q) * rows->ld[p];
                for (int64_t i = 0; i < w; i++) uq[c0 + i] = (double)x[i] - ref[c0 + i];
            } else {
                const double *x = (const double *)rows->base[p] + (r + q) * rows->ld[p];
                for (int64_t i = 0; i < w; i++) uq[c0 + i] = x[i] - ref[c0 + i];
            }
        }
        for (int b = 0; b < B; b++) {
            double acc = 0;
#pragma omp simd reduction(+ : acc)
            for (int64_t i = s->offset[b]; i < s->offset[b + 1]; i++) acc += uq[i] * uq[i];
            k[q * B + b] = acc;
        }
        for (int a = 0; a < B; a++)
            for (int b = 0; b < B; b++) Q[a * B + b] += k[q * B + a] * k[q * B + b];
    }
    for (int a = 0; a < B; a++) {
        double *g = G + a * D;
        if (nr == ROWS_AT_ONCE) {
            const double k0 = k[a], k1 = k[B + a], k2 = k[2 * B + a], k3 = k[3 * B + a];
            const double *u0 = u, *u1 = u + D, *u2 = u + 2 * D, *u3 = u + 3 * D;
            for (int64_t i = 0; i < D; i++) g[i] += k0 * u0[i] + k1 * u1[i] + k2 * u2[i] + k3 * u3[i];
        } else {
            for (int q = 0; q < nr; q++)
                for (int64_t i = 0; i < D; i++) g[i] += k[q * B + a] * u[q * D + i];
        }
    }
}

void sqnorm_rows_about(const sqnorm_sums *s, const row_parts *rows, int64_t r0, int64_t n,
                       const double *ref, double *scratch)
{
    const int B = s->blocks;
    double *u = scratch, *k = u + ROWS_AT_ONCE * s->dim, *Q = scratch + front_size(s), *G = Q + B * B;
    for (int64_t r = r0; r < r0 + n; r += ROWS_AT_ONCE) {
        const int nr = (int)(r0 + n - r < ROWS_AT_ONCE ? r0 + n - r : ROWS_AT_ONCE);
        add_part_rows(s, rows, r, nr, ref, u, k, Q, G);
    }
}

void sqnorm_fold_scratch(sqnorm_sums *s, double *scratch)
{
    const int B = s->blocks;
    double *Q = scratch + front_size(s), *G = Q + B * B;
    for (int64_t i = 0; i < (int64_t)B * B; i++) s->Q[i] += Q[i], Q[i] = 0;
    for (int64_t i = 0; i < (int64_t)B * s->dim; i++) s->G[i] += G[i], G[i] = 0;
}

cvg_status sqnorm_recentre(sqnorm_sums *s, const cvg_moments *m, const double *ref)
{
    const int64_t D = s->dim;
    double *d = malloc((size_t)D * sizeof *d);
    if (!d) return cvg__fail(CVG_ERR_NOMEM, "out of memory for the HSIC sums");
    for (int64_t i = 0; i < D; i++) d[i] = ref[i] - cvg_moments_mean(m)[i];
    cvg_status st = shift(s, moments__upper(m), cvg_moments_count(m), d, 0);
    free(d);
    return st;
}

/* The packed path's squared norms: k_b(r) = |x_r - ref|^2 over block b for the k rows of a
 * packed sub-block, with x - ref = y + e (y: the packed float rows, e: their centre minus ref,
 * as float ef). z^2 = (y + e)^2 is summed in float lane by lane across the block's whole
 * panels, NORM_ROWS rows at a time in registers (their lanes of a panel are contiguous), then
 * each row's 16 lanes and the columns of panels the block shares with another in double.
 * kr: k x B. */
enum { NORM_ROWS = 8 };
CVG_VECTOR_CLONES
static void norm_rows(const float *restrict y0, int64_t pstride, int64_t panels,
                      const float *restrict e0, float t[restrict NORM_ROWS][CK_PANEL])
{
    float acc[NORM_ROWS][CK_PANEL] = {{0}};
    for (int64_t p = 0; p < panels; p++) {
        const float *y = y0 + p * pstride, *e = e0 + p * CK_PANEL;
        for (int i = 0; i < NORM_ROWS; i++)
#pragma omp simd
            for (int w = 0; w < CK_PANEL; w++) {
                const float z = y[i * CK_PANEL + w] + e[w];
                acc[i][w] += z * z;
            }
    }
    memcpy(t, acc, sizeof acc);
}

static int lanes_portable;

int sqnorm__force_portable(int on)
{
    lanes_portable = on;
#if CVG_HAVE_TRANSPOSE16
    return !on && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

_Static_assert(2 * NORM_ROWS == 16 && CK_PANEL == 16, "lane_sums16 takes two groups of rows, 16 lanes");

#if CVG_HAVE_TRANSPOSE16
/* out[i * B] = sum over w of (double)t[i][w], w = 0, 1, ..., 15 in that order, for 16 rows:
 * the scalar loop's additions exactly, but 8 rows to a register (t transposed in registers, so
 * a row's lanes lie across 16 registers). One row at a time the 16 dependent double additions
 * per row and block were a sixth of the layer's HSIC time. */
__attribute__((target("avx512f"))) static void lane_sums16(const float t[16][CK_PANEL], double *out,
                                                          int B)
{
    __m512 r[16];
    for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(t[i]);
    transpose16_regs(r); /* r[w]: lane i = t[i][w] */
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (int w = 0; w < CK_PANEL; w++) {
        lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(r[w])));
        hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(r[w]), 1))));
    }
    double sums[16];
    _mm512_storeu_pd(sums, lo);
    _mm512_storeu_pd(sums + 8, hi);
    for (int i = 0; i < 16; i++) out[i * B] = sums[i];
}
#endif

static void packed_norms(const sqnorm_sums *s, const float *packed, int64_t k, const float *ef,
                         double *kr)
{
    const int B = s->blocks;
    const int64_t pstride = k * CK_PANEL;
    int wide = 0;
#if CVG_HAVE_TRANSPOSE16
    wide = !lanes_portable && __builtin_cpu_supports("avx512f");
#endif
    for (int b = 0; b < B; b++) {
        const int64_t j0 = s->offset[b], j1 = s->offset[b + 1];
        const int64_t pa = (j0 + CK_PANEL - 1) / CK_PANEL, pb = j1 / CK_PANEL; /* whole panels */
        for (int64_t r = 0; r < k; r++) kr[r * B + b] = 0;
        int64_t r0 = 0;
#if CVG_HAVE_TRANSPOSE16
        /* two groups of NORM_ROWS at once, their lane sums together (the same sums) */
        for (; wide && pb > pa && r0 + 2 * NORM_ROWS <= k; r0 += 2 * NORM_ROWS) {
            float t[2 * NORM_ROWS][CK_PANEL];
            norm_rows(packed + pa * pstride + r0 * CK_PANEL, pstride, pb - pa, ef + pa * CK_PANEL, t);
            norm_rows(packed + pa * pstride + (r0 + NORM_ROWS) * CK_PANEL, pstride, pb - pa,
                      ef + pa * CK_PANEL, t + NORM_ROWS);
            lane_sums16((const float(*)[CK_PANEL])t, kr + r0 * B + b, B);
        }
#endif
        for (; pb > pa && r0 + NORM_ROWS <= k; r0 += NORM_ROWS) {
            float t[NORM_ROWS][CK_PANEL];
            norm_rows(packed + pa * pstride + r0 * CK_PANEL, pstride, pb - pa, ef + pa * CK_PANEL, t);
            for (int i = 0; i < NORM_ROWS; i++) {
                double sum = 0;
                for (int w = 0; w < CK_PANEL; w++) sum += (double)t[i][w];
                kr[(r0 + i) * B + b] = sum;
            }
        }
        /* the rest: rows past the last group of NORM_ROWS, columns in shared panels */
        for (int64_t j = j0; j < j1; j++) {
            const int64_t p = j / CK_PANEL;
            const float *y = packed + p * pstride + j % CK_PANEL;
            for (int64_t r = (p >= pa && p < pb) ? r0 : 0; r < k; r++) {
                const float z = y[r * CK_PANEL] + ef[j];
                kr[r * B + b] += (double)(z * z);
            }
        }
    }
}

/* G_a's float sums down G_PANELS panels of the sub-block at once (one chain of dependent adds
 * per panel would wait on the add's latency every row): sum[i] += k_a(r) y_r over the rows,
 * for panels p0 .. p0 + G_PANELS - 1. */
enum { G_PANELS = 4 };
CVG_VECTOR_CLONES
static void g_panels(const float *restrict packed, int64_t k, const float *restrict ka, int64_t p0,
                     float sum[restrict G_PANELS][CK_PANEL])
{
    float acc[G_PANELS][CK_PANEL] = {{0}};
    for (int64_t r = 0; r < k; r++)
        for (int i = 0; i < G_PANELS; i++) {
            const float *y = packed + ((p0 + i) * k + r) * CK_PANEL;
#pragma omp simd
            for (int w = 0; w < CK_PANEL; w++) acc[i][w] += ka[r] * y[w];
        }
    memcpy(sum, acc, sizeof acc);
}

/* The same for one panel (the panels left over after groups of G_PANELS: all of them when a
 * layer has fewer than G_PANELS * CK_PANEL units), vectorized the same way; the sums are the
 * same, in the same order, as the G_PANELS version's. */
static void g_panel(const float *restrict packed, int64_t k, const float *restrict ka, int64_t p,
                    float sum[restrict CK_PANEL])
{
    float acc[CK_PANEL] = {0};
    for (int64_t r = 0; r < k; r++) {
        const float *y = packed + (p * k + r) * CK_PANEL;
#pragma omp simd
        for (int w = 0; w < CK_PANEL; w++) acc[w] += ka[r] * y[w];
    }
    memcpy(sum, acc, sizeof acc);
}

CVG_VECTOR_CLONES
void sqnorm_packed_about(const sqnorm_sums *s, const float *packed, int64_t k,
                         const float *centre_f, const double *centre_d, const double *ref,
                         double *scratch)
{
    const int B = s->blocks;
    const int64_t D = s->dim, Dp = ck_padded(D), panels = Dp / CK_PANEL;
    /* scratch: the front (k per row in double, B x k in float, ef), then Q, G, e, sums of k */
    double *kr = scratch, *Q = scratch + front_size(s), *G = Q + B * B;
    double *e = G + (int64_t)B * D, *ksum = e + D;
    float *kf = (float *)(kr + MOMENTS_SUB_ROWS * B), *ef = kf + MOMENTS_SUB_ROWS * B;
    for (int64_t j = 0; j < D; j++) e[j] = (centre_f ? (double)centre_f[j] : centre_d[j]) - ref[j];
    for (int64_t j = 0; j < Dp; j++) ef[j] = j < D ? (float)e[j] : 0.0f;
    packed_norms(s, packed, k, ef, kr);
    for (int b = 0; b < B; b++) ksum[b] = 0;
    for (int64_t r = 0; r < k; r++) {
        const double *kq = kr + r * B;
        for (int a = 0; a < B; a++) {
            ksum[a] += kq[a];
            kf[a * k + r] = (float)kq[a];
            for (int b = 0; b < B; b++) Q[a * B + b] += kq[a] * kq[b];
        }
    }
    /* G_a += sum_r k_a (y_r + e): the y part down the packed panels in float over the sub-block
     * (a last group of fewer than G_PANELS panels one panel at a time), plus (sum_r k_a) e in
     * double */
    for (int a = 0; a < B; a++)
        for (int64_t p0 = 0; p0 < panels; p0 += G_PANELS) {
            float sum[G_PANELS][CK_PANEL] = {{0}};
            const int np = panels - p0 < G_PANELS ? (int)(panels - p0) : G_PANELS;
            if (np == G_PANELS) {
                g_panels(packed, k, kf + a * k, p0, sum);
            } else {
                for (int i = 0; i < np; i++) g_panel(packed, k, kf + a * k, p0 + i, sum[i]);
            }
            for (int i = 0; i < np; i++) {
                double *g = G + (int64_t)a * D + (p0 + i) * CK_PANEL;
                for (int w = 0; w < CK_PANEL && (p0 + i) * CK_PANEL + w < D; w++)
                    g[w] += (double)sum[i][w] + ksum[a] * e[(p0 + i) * CK_PANEL + w];
            }
        }
}
