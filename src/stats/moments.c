/* Streaming count, mean and co-moment matrix in double, one BLAS rank-k update per chunk.
 *
 * A chunk of n rows is centred on its own mean (computed in double, shifted by the chunk's first
 * row so that a constant column centres to exact zeros), its co-moment C = Xc^T Xc is formed by
 * one rank-n update, and it is merged into the running (count, mean, M) with the pairwise
 * formula of Chan, Golub and LeVeque:
 *     delta = mean_b - mean_a,  n = n_a + n_b
 *     M     = M_a + M_b + delta delta^T * n_a n_b / n
 *     mean  = mean_a + delta * n_b / n
 * Only the upper triangle (j >= i) of M is maintained; cvg_moments_comoment mirrors it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/internal.h"
#include "stats/moments_internal.h"

/* Rows per rank-k update when the caller passes more: bounds the float32 accumulation length
 * (accuracy) and the scratch memory; see docs/statistics.md for the measurement. */
enum { DEFAULT_BLOCK_ROWS = 256 };

struct cvg_moments {
    int64_t dim, count;
    cvg_kernel kernel;
    int64_t block_rows;
    double *mean;      /* dim */
    double *M;         /* dim x dim, upper triangle */
    double *chunk_mean;/* dim */
    void *centred;     /* block_rows x dim, float or double by kernel */
    void *product;     /* dim x dim, float or double by kernel */
};

static int kernel_is_double(cvg_kernel k) { return k == CVG_KERNEL_DSYRK; }

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
    m->block_rows = DEFAULT_BLOCK_ROWS;
    size_t elem = kernel_is_double(m->kernel) ? sizeof(double) : sizeof(float);
    m->mean = calloc((size_t)dim, sizeof(double));
    m->chunk_mean = calloc((size_t)dim, sizeof(double));
    m->M = calloc((size_t)(dim * dim), sizeof(double));
    m->centred = malloc((size_t)(m->block_rows * dim) * elem);
    m->product = malloc((size_t)(dim * dim) * elem);
    if (!m->mean || !m->chunk_mean || !m->M || !m->centred || !m->product) {
        cvg_moments_free(m);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory for the co-moments of %lld units "
                         "(%.1f GB)", (long long)dim, (double)dim * dim * (8 + elem) / 1e9);
    }
    *out = m;
    return CVG_OK;
}

void cvg_moments_free(cvg_moments *m)
{
    if (!m) return;
    free(m->mean);
    free(m->chunk_mean);
    free(m->M);
    free(m->centred);
    free(m->product);
    free(m);
}

void moments_set_block_rows(cvg_moments *m, int64_t rows)
{
    if (rows <= 0 || rows == m->block_rows) return;
    size_t elem = kernel_is_double(m->kernel) ? sizeof(double) : sizeof(float);
    void *p = malloc((size_t)(rows * m->dim) * elem);
    if (!p) return; /* keep the old block size: still correct */
    free(m->centred);
    m->centred = p;
    m->block_rows = rows;
}

int64_t cvg_moments_dim(const cvg_moments *m) { return m->dim; }
int64_t cvg_moments_count(const cvg_moments *m) { return m->count; }
const double *cvg_moments_mean(const cvg_moments *m) { return m->mean; }

/* M += product + delta delta^T * w over the upper triangle; product is float or double. */
static void merge_upper(double *M, int64_t dim, const void *product, int product_is_double,
                        const double *delta, double w)
{
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t i = 0; i < dim; i++) {
        double *Mi = M + i * dim;
        const double wdi = w * delta[i];
        if (product_is_double) {
            const double *Pi = (const double *)product + i * dim;
            for (int64_t j = i; j < dim; j++) Mi[j] += Pi[j] + wdi * delta[j];
        } else {
            const float *Pi = (const float *)product + i * dim;
            for (int64_t j = i; j < dim; j++) Mi[j] += (double)Pi[j] + wdi * delta[j];
        }
    }
}

/* Merge a block with count nb, mean mb and co-moment product into m. */
static void merge_block(cvg_moments *m, int64_t nb, const double *mb, const void *product,
                        int product_is_double)
{
    const double na = (double)m->count, n = na + (double)nb;
    double *delta = m->chunk_mean == mb ? m->chunk_mean : NULL;
    /* delta overwrites chunk_mean in place when merging our own block (saves a buffer). */
    if (!delta) {
        delta = m->chunk_mean;
        memcpy(delta, mb, (size_t)m->dim * sizeof *delta);
    }
    for (int64_t j = 0; j < m->dim; j++) delta[j] -= m->mean[j];
    merge_upper(m->M, m->dim, product, product_is_double, delta, na * (double)nb / n);
    const double f = (double)nb / n;
    for (int64_t j = 0; j < m->dim; j++) m->mean[j] += delta[j] * f;
    m->count += nb;
}

static void add_block(cvg_moments *m, const double *rows, int64_t n, int64_t ld)
{
    const int64_t dim = m->dim;
    double *mu = m->chunk_mean;
    /* Chunk mean shifted by the first row: exact for constant columns, accurate for large means. */
    const double *first = rows;
    for (int64_t j = 0; j < dim; j++) mu[j] = 0.0;
    for (int64_t r = 1; r < n; r++) {
        const double *x = rows + r * ld;
        for (int64_t j = 0; j < dim; j++) mu[j] += x[j] - first[j];
    }
    for (int64_t j = 0; j < dim; j++) mu[j] = first[j] + mu[j] / (double)n;

    if (kernel_is_double(m->kernel)) {
        double *xc = m->centred;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < dim; j++) xc[r * dim + j] = rows[r * ld + j] - mu[j];
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)dim, (int)n, 1.0, xc, (int)dim,
                    0.0, m->product, (int)dim);
    } else {
        float *xc = m->centred;
#pragma omp parallel for schedule(static)
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < dim; j++) xc[r * dim + j] = (float)(rows[r * ld + j] - mu[j]);
        if (m->kernel == CVG_KERNEL_SGEMM)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)dim, (int)dim, (int)n, 1.0f,
                        xc, (int)dim, xc, (int)dim, 0.0f, m->product, (int)dim);
        else
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)dim, (int)n, 1.0f, xc,
                        (int)dim, 0.0f, m->product, (int)dim);
    }
    merge_block(m, n, mu, m->product, kernel_is_double(m->kernel));
}

cvg_status cvg_moments_add(cvg_moments *m, const double *rows, int64_t n, int64_t ld)
{
    if (!m || n < 0 || (n > 0 && !rows) || ld < m->dim)
        return cvg__fail(CVG_ERR_ARG, "cvg_moments_add: invalid rows, count or leading dimension");
    for (int64_t start = 0; start < n; start += m->block_rows) {
        int64_t take = n - start < m->block_rows ? n - start : m->block_rows;
        add_block(m, rows + start * ld, take, ld);
    }
    return CVG_OK;
}

cvg_status cvg_moments_merge(cvg_moments *dst, const cvg_moments *src)
{
    if (!dst || !src || dst->dim != src->dim)
        return cvg__fail(CVG_ERR_SHAPE, "cvg_moments_merge: dimensions differ (%lld vs %lld)",
                         dst ? (long long)dst->dim : 0LL, src ? (long long)src->dim : 0LL);
    if (src->count == 0) return CVG_OK;
    merge_block(dst, src->count, src->mean, src->M, 1);
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
#pragma omp parallel for schedule(dynamic, 16)
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
#pragma omp parallel for schedule(dynamic, 16)
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
