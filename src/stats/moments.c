/* Streaming count, mean and co-moment matrix in double, BLAS rank-k updates in float32.
 *
 * Rows arrive in chunks (up to CHUNK_ROWS). A chunk is cut into sub-blocks of SUB_ROWS rows; each
 * sub-block is centred on its own mean (computed in double, shifted by its first row so that a
 * constant column centres to exact zeros) and rounded to float32, and its co-moment is formed by
 * float32 rank-k updates (tile by tile, see below) and summed in double. Sub-block and chunk
 * results are combined with the pairwise formula of Chan, Golub and LeVeque:
 *     delta = mean_b - mean_a,  n = n_a + n_b
 *     M     = M_a + M_b + delta delta^T * n_a n_b / n
 *     mean  = mean_a + delta * n_b / n
 * Short float32 accumulations centred on their own mean keep the correlation error near 1e-7
 * (docs/statistics.md has the measurement). Only the upper triangle (j >= i) of M is kept;
 * cvg_moments_comoment mirrors it. CVG_KERNEL_DSYRK does the same in float64 throughout. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "core/internal.h"

/* Rows per float32 accumulation (accuracy) and per chunk (one parallel region and one merge). */
enum { SUB_ROWS = 128, CHUNK_ROWS = 8192, MAX_SUBS = CHUNK_ROWS / SUB_ROWS };

/* The upper triangle of the D x D co-moment is cut into T x T tiles computed independently, one
 * thread each, with single-threaded BLAS calls: the float partial products of a tile stay in
 * cache while they are summed in double, and each chunk costs one parallel region. */
enum { MAX_THREADS = 64 };

typedef struct tile {
    int64_t i0, j0, ni, nj; /* rows [i0, i0+ni), columns [j0, j0+nj) of the co-moment */
} tile;

struct cvg_moments {
    int64_t dim, count;
    cvg_kernel kernel;
    double *mean;        /* dim */
    double *M;           /* dim x dim, upper triangle */
    double *chunk_mean;  /* dim */
    double *delta;       /* dim */
    double *sub_offset;  /* MAX_SUBS x dim: each sub-block's mean minus the chunk mean */
    void *centred;       /* CHUNK_ROWS x dim, float (or double for CVG_KERNEL_DSYRK) */
    int64_t tile_size, tile_count;
    tile *tiles;
    int threads;
    float *tile_f[MAX_THREADS];   /* tile_size^2 each: one sub-block's float product */
    double *tile_d[MAX_THREADS];  /* tile_size^2 each: the chunk's product in double */
};

static int kernel_is_double(cvg_kernel k) { return k == CVG_KERNEL_DSYRK; }

static int64_t choose_tile_size(int64_t dim)
{
    if (dim >= 2048) return 256;
    if (dim >= 256) return 128;
    return dim; /* one tile: BLAS threads itself */
}

static cvg_status make_tiles(cvg_moments *m)
{
    const int64_t T = m->tile_size, nt = (m->dim + T - 1) / T;
    m->tile_count = nt * (nt + 1) / 2;
    m->tiles = malloc((size_t)m->tile_count * sizeof *m->tiles);
    if (!m->tiles) return CVG_ERR_NOMEM;
    int64_t k = 0;
    /* off-diagonal tiles (twice the work) first, so dynamic scheduling balances the tail */
    for (int pass = 0; pass < 2; pass++)
        for (int64_t a = 0; a < nt; a++)
            for (int64_t b = a; b < nt; b++) {
                if ((a == b) != (pass == 1)) continue;
                int64_t i0 = a * T, j0 = b * T;
                m->tiles[k++] = (tile){i0, j0, m->dim - i0 < T ? m->dim - i0 : T,
                                       m->dim - j0 < T ? m->dim - j0 : T};
            }
    return CVG_OK;
}

cvg_status cvg_moments_create(int64_t dim, cvg_kernel kernel, cvg_moments **out)
{
    if (!out || dim <= 0) return cvg__fail(CVG_ERR_ARG, "cvg_moments_create: dimension must be > 0");
    if (kernel < CVG_KERNEL_AUTO || kernel > CVG_KERNEL_DSYRK)
        return cvg__fail(CVG_ERR_ARG, "cvg_moments_create: unknown kernel %d", (int)kernel);
    *out = NULL;
    cvg_moments *m = cvg__calloc(1, sizeof *m, "moments");
    if (!m) return CVG_ERR_NOMEM;
    m->dim = dim;
    m->kernel = kernel == CVG_KERNEL_AUTO ? CVG_KERNEL_SSYRK : kernel;
    m->tile_size = choose_tile_size(dim);
    m->threads = omp_get_max_threads();
    if (m->threads > MAX_THREADS) m->threads = MAX_THREADS;
    const size_t elem = kernel_is_double(m->kernel) ? sizeof(double) : sizeof(float);
    const size_t tt = (size_t)(m->tile_size * m->tile_size);
    int ok = make_tiles(m) == CVG_OK;
    m->mean = calloc((size_t)dim, sizeof(double));
    m->chunk_mean = calloc((size_t)dim, sizeof(double));
    m->delta = calloc((size_t)dim, sizeof(double));
    m->sub_offset = calloc((size_t)(MAX_SUBS * dim), sizeof(double));
    m->M = calloc((size_t)(dim * dim), sizeof(double));
    m->centred = malloc((size_t)(CHUNK_ROWS * dim) * elem);
    ok = ok && m->mean && m->chunk_mean && m->delta && m->sub_offset && m->M && m->centred;
    for (int t = 0; ok && t < m->threads; t++) {
        m->tile_f[t] = calloc(tt, sizeof(float)); /* zeroed: a syrk leaves the lower part alone */
        m->tile_d[t] = malloc(tt * sizeof(double));
        ok = m->tile_f[t] && m->tile_d[t];
    }
    if (!ok) {
        cvg_moments_free(m);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory for the co-moments of %lld units "
                         "(%.1f GB)", (long long)dim, (double)dim * dim * 8 / 1e9);
    }
    *out = m;
    return CVG_OK;
}

void cvg_moments_free(cvg_moments *m)
{
    if (!m) return;
    free(m->mean);
    free(m->chunk_mean);
    free(m->delta);
    free(m->sub_offset);
    free(m->M);
    free(m->centred);
    free(m->tiles);
    for (int t = 0; t < MAX_THREADS; t++) {
        free(m->tile_f[t]);
        free(m->tile_d[t]);
    }
    free(m);
}

int64_t cvg_moments_dim(const cvg_moments *m) { return m->dim; }
int64_t cvg_moments_count(const cvg_moments *m) { return m->count; }
const double *cvg_moments_mean(const cvg_moments *m) { return m->mean; }

/* Centre one sub-block of k rows (input type T, leading dimension ld) on its own mean into
 * out (float or double, leading dimension D); the mean goes to mb. The mean is shifted by the
 * first row: exact for a constant column (its centred values are exact zeros, so a dead unit has
 * exactly zero variance) and accurate for a large mean. */
#define DEFINE_CENTRE_BLOCK(NAME, T)                                                           \
    static void NAME(const T *rows, int64_t k, int64_t ld, int64_t D, double *mb, void *out,  \
                     int out_double)                                                          \
    {                                                                                         \
        for (int64_t j0 = 0; j0 < D; j0 += 64) {                                              \
            const int64_t j1 = j0 + 64 < D ? j0 + 64 : D;                                     \
            double acc[64] = {0};                                                             \
            for (int64_t r = 1; r < k; r++) {                                                 \
                const T *x = rows + r * ld;                                                   \
                for (int64_t j = j0; j < j1; j++) acc[j - j0] += (double)x[j] - (double)rows[j]; \
            }                                                                                 \
            for (int64_t j = j0; j < j1; j++) mb[j] = (double)rows[j] + acc[j - j0] / (double)k; \
        }                                                                                     \
        for (int64_t r = 0; r < k; r++) {                                                     \
            const T *x = rows + r * ld;                                                       \
            if (out_double) {                                                                 \
                double *xc = (double *)out + r * D;                                           \
                for (int64_t j = 0; j < D; j++) xc[j] = (double)x[j] - mb[j];                 \
            } else {                                                                          \
                float *xc = (float *)out + r * D;                                             \
                for (int64_t j = 0; j < D; j++) xc[j] = (float)((double)x[j] - mb[j]);        \
            }                                                                                 \
        }                                                                                     \
    }
DEFINE_CENTRE_BLOCK(centre_block_f64, double)
DEFINE_CENTRE_BLOCK(centre_block_f32, float)

/* Centre every sub-block of the chunk (rows: float if is_float, else double) on its own mean
 * into m->centred; set m->chunk_mean and m->sub_offset (sub-block mean minus chunk mean). */
static void centre_chunk(cvg_moments *m, const void *rows, int is_float, int64_t n, int64_t ld)
{
    const int64_t D = m->dim, subs = (n + SUB_ROWS - 1) / SUB_ROWS;
    const size_t elem = kernel_is_double(m->kernel) ? sizeof(double) : sizeof(float);
    double *off = m->sub_offset, *mu = m->chunk_mean;
#pragma omp parallel for schedule(static) if (n * D >= (1 << 18))
    for (int64_t b = 0; b < subs; b++) {
        const int64_t r0 = b * SUB_ROWS, k = n - r0 < SUB_ROWS ? n - r0 : SUB_ROWS;
        void *out = (char *)m->centred + (size_t)(r0 * D) * elem;
        if (is_float)
            centre_block_f32((const float *)rows + r0 * ld, k, ld, D, off + b * D, out, kernel_is_double(m->kernel));
        else
            centre_block_f64((const double *)rows + r0 * ld, k, ld, D, off + b * D, out, kernel_is_double(m->kernel));
    }
    /* chunk mean = weighted mean of the sub-block means, shifted by the first (exact for constants) */
    for (int64_t j = 0; j < D; j++) {
        double acc = 0;
        for (int64_t b = 1; b < subs; b++) {
            const int64_t k = n - b * SUB_ROWS < SUB_ROWS ? n - b * SUB_ROWS : SUB_ROWS;
            acc += (double)k * (off[b * D + j] - off[j]);
        }
        mu[j] = off[j] + acc / (double)n;
    }
    for (int64_t b = 0; b < subs; b++)
        for (int64_t j = 0; j < D; j++) off[b * D + j] -= mu[j];
}

/* The chunk's co-moment about its mean, one tile of it: per sub-block the product about the
 * sub-block's mean plus k * off_i * off_j, summed in double; then merged into M with the chunk's
 * Chan-Golub-LeVeque correction w * delta_i * delta_j. */
static void process_tile(const cvg_moments *m, const tile *t, int64_t n, float *tf, double *td,
                         double w)
{
    const int64_t D = m->dim, T = m->tile_size, ni = t->ni, nj = t->nj;
    const int diagonal = t->i0 == t->j0, is_double = kernel_is_double(m->kernel);
    for (int64_t i = 0; i < ni; i++)
        for (int64_t j = 0; j < nj; j++) td[i * T + j] = 0.0;
    for (int64_t s = 0, b = 0; s < n; s += SUB_ROWS, b++) {
        const int64_t k = n - s < SUB_ROWS ? n - s : SUB_ROWS;
        if (is_double) {
            const double *a = (const double *)m->centred + s * D + t->i0;
            const double *c = (const double *)m->centred + s * D + t->j0;
            if (diagonal)
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)ni, (int)k, 1.0, a,
                            (int)D, 1.0, td, (int)T);
            else
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ni, (int)nj, (int)k,
                            1.0, a, (int)D, c, (int)D, 1.0, td, (int)T);
        } else {
            const float *a = (const float *)m->centred + s * D + t->i0;
            const float *c = (const float *)m->centred + s * D + t->j0;
            if (diagonal && m->kernel == CVG_KERNEL_SSYRK)
                cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)ni, (int)k, 1.0f, a,
                            (int)D, 0.0f, tf, (int)T);
            else
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ni, (int)nj, (int)k,
                            1.0f, a, (int)D, c, (int)D, 0.0f, tf, (int)T);
        }
        const double *oi = m->sub_offset + b * D + t->i0, *oj = m->sub_offset + b * D + t->j0;
        for (int64_t i = 0; i < ni; i++) {
            const float *fi = tf + i * T;
            double *di = td + i * T;
            const double koi = (double)k * oi[i];
            if (is_double)
                for (int64_t j = diagonal ? i : 0; j < nj; j++) di[j] += koi * oj[j];
            else
                for (int64_t j = diagonal ? i : 0; j < nj; j++) di[j] += (double)fi[j] + koi * oj[j];
        }
    }
    const double *delta = m->delta;
    for (int64_t i = 0; i < ni; i++) {
        const int64_t gi = t->i0 + i;
        double *Mi = m->M + gi * D + t->j0;
        const double *di = td + i * T;
        const double wdi = w * delta[gi];
        for (int64_t j = diagonal ? i : 0; j < nj; j++) Mi[j] += di[j] + wdi * delta[t->j0 + j];
    }
}

/* Merge count nb and mean mb into the running mean; sets m->delta and returns the weight of
 * the delta delta^T correction. */
static double merge_mean(cvg_moments *m, int64_t nb, const double *mb)
{
    const double na = (double)m->count, n = na + (double)nb, f = (double)nb / n;
    for (int64_t j = 0; j < m->dim; j++) {
        m->delta[j] = mb[j] - m->mean[j];
        m->mean[j] += m->delta[j] * f;
    }
    m->count += nb;
    return na * (double)nb / n;
}

static void add_chunk(cvg_moments *m, const void *rows, int is_float, int64_t n, int64_t ld)
{
    centre_chunk(m, rows, is_float, n, ld);
    const double w = merge_mean(m, n, m->chunk_mean);
    if (m->tile_count >= 2 * (int64_t)m->threads) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(m->threads)
        for (int64_t t = 0; t < m->tile_count; t++) {
            const int me = omp_get_thread_num() < MAX_THREADS ? omp_get_thread_num() : 0;
            process_tile(m, &m->tiles[t], n, m->tile_f[me], m->tile_d[me], w);
        }
    } else {
        for (int64_t t = 0; t < m->tile_count; t++) /* BLAS uses every thread itself */
            process_tile(m, &m->tiles[t], n, m->tile_f[0], m->tile_d[0], w);
    }
}

static cvg_status add_rows(cvg_moments *m, const void *rows, int is_float, int64_t n, int64_t ld)
{
    if (!m || n < 0 || (n > 0 && !rows) || ld < m->dim)
        return cvg__fail(CVG_ERR_ARG, "cvg_moments_add: invalid rows, count or leading dimension");
    const size_t elem = is_float ? sizeof(float) : sizeof(double);
    for (int64_t start = 0; start < n; start += CHUNK_ROWS) {
        int64_t take = n - start < CHUNK_ROWS ? n - start : CHUNK_ROWS;
        add_chunk(m, (const char *)rows + (size_t)(start * ld) * elem, is_float, take, ld);
    }
    return CVG_OK;
}

cvg_status cvg_moments_add(cvg_moments *m, const double *rows, int64_t n, int64_t ld)
{
    return add_rows(m, rows, 0, n, ld);
}

cvg_status cvg_moments_add_f32(cvg_moments *m, const float *rows, int64_t n, int64_t ld)
{
    return add_rows(m, rows, 1, n, ld);
}

cvg_status cvg_moments_merge(cvg_moments *dst, const cvg_moments *src)
{
    if (!dst || !src || dst->dim != src->dim)
        return cvg__fail(CVG_ERR_SHAPE, "cvg_moments_merge: dimensions differ (%lld vs %lld)",
                         dst ? (long long)dst->dim : 0LL, src ? (long long)src->dim : 0LL);
    if (src->count == 0) return CVG_OK;
    const int64_t D = dst->dim;
    const double w = merge_mean(dst, src->count, src->mean);
    const double *delta = dst->delta;
#pragma omp parallel for schedule(dynamic, 16) if (D * D >= (1 << 20))
    for (int64_t i = 0; i < D; i++)
        for (int64_t j = i; j < D; j++) dst->M[i * D + j] += src->M[i * D + j] + w * delta[i] * delta[j];
    return CVG_OK;
}

cvg_status cvg_moments_set(cvg_moments *m, int64_t count, const double *mean,
                           const double *comoment)
{
    if (!m || count < 0 || !mean || !comoment)
        return cvg__fail(CVG_ERR_ARG, "cvg_moments_set: invalid arguments");
    m->count = count;
    memcpy(m->mean, mean, (size_t)m->dim * sizeof *mean);
    memcpy(m->M, comoment, (size_t)(m->dim * m->dim) * sizeof *comoment);
    return CVG_OK;
}

void cvg_moments_comoment(const cvg_moments *m, double *out)
{
    const int64_t d = m->dim;
#pragma omp parallel for schedule(dynamic, 16) if (d * d >= (1 << 20))
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = 0; j < d; j++)
            out[i * d + j] = j >= i ? m->M[i * d + j] : m->M[j * d + i];
}

cvg_status cvg_correlation_from_comoment(int64_t dim, int64_t count, const double *M, double *std,
                                   double *corr, unsigned char *dead)
{
    double *scale = cvg__malloc((size_t)dim * sizeof *scale, "correlation scales");
    if (!scale) return CVG_ERR_NOMEM;
    for (int64_t i = 0; i < dim; i++) {
        double v = M[i * dim + i];
        int is_dead = !(v > 0.0) || count <= 0;
        double s = is_dead ? 0.0 : sqrt(v / (double)count);
        if (std) std[i] = s;
        if (dead) dead[i] = (unsigned char)is_dead;
        scale[i] = is_dead ? 0.0 : 1.0 / sqrt(v);
    }
    if (corr) {
#pragma omp parallel for schedule(dynamic, 16) if (dim * dim >= (1 << 20))
        for (int64_t i = 0; i < dim; i++)
            for (int64_t j = 0; j < dim; j++) {
                /* always from the upper triangle, in one order: exactly symmetric */
                const int64_t a = i < j ? i : j, b = i < j ? j : i;
                double c = i == j ? 1.0 : M[a * dim + b] * scale[a] * scale[b];
                corr[i * dim + j] = c > 1.0 ? 1.0 : (c < -1.0 ? -1.0 : c);
            }
    }
    free(scale);
    return CVG_OK;
}

const double *moments__upper(const cvg_moments *m) { return m->M; }
