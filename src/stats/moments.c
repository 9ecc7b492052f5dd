/* Streaming count, mean and co-moment matrix in double, float32 products of short sub-blocks.
 *
 * Rows arrive in chunks (up to CHUNK_ROWS). A chunk is cut into sub-blocks of SUB_ROWS rows; each
 * sub-block is centred on its own mean (computed in double, shifted by its first row so that a
 * constant column centres to exact zeros; float input is centred in float on the float nearest
 * that mean), and its co-moment is formed in float32 (by our fused kernel, comoment_kernel.h,
 * or by BLAS strips, see below) and summed in double. Sub-block and chunk results are combined
 * with the pairwise formula of Chan, Golub and LeVeque:
 *     delta = mean_b - mean_a,  n = n_a + n_b
 *     M     = M_a + M_b + delta delta^T * n_a n_b / n
 *     mean  = mean_a + delta * n_b / n
 * Short float32 accumulations centred on their own mean keep the correlation error near 1e-7
 * (docs/statistics.md has the measurement). Only the upper triangle (j >= i) of M is kept;
 * cvg_moments_comoment mirrors it. CVG_KERNEL_DSYRK does the same in float64 throughout. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <omp.h>

#include "core/internal.h"
#include "stats/comoment_kernel.h"
#include "stats/moments_internal.h"

/* Rows per float32 accumulation (accuracy) and per chunk (one parallel region and one merge). */
enum { SUB_ROWS = MOMENTS_SUB_ROWS, CHUNK_ROWS = MOMENTS_CHUNK_ROWS, MAX_SUBS = CHUNK_ROWS / SUB_ROWS };

/* The upper triangle of the D x D co-moment is cut into row strips: strip s holds rows
 * [i0, i0+ni) and columns [i0, D). Per sub-block, each strip is one single-threaded BLAS call
 * (ni x (D-i0) x k) whose float result is added into M in double; each thread owns a fixed set
 * of strips and walks the sub-blocks in groups of GROUP_ROWS rows (cache reuse, no barriers). Strips of STRIP_ROWS rows waste only the lower half of each ni x ni diagonal
 * square and keep every call large enough to run near the sgemm rate (docs/statistics.md has
 * the measurements against whole-matrix ssyrk and 128 x 128 tiles). */
enum { MAX_THREADS = 64, STRIP_ROWS = 64, GROUP_ROWS = 1024 };

/* CVG_KERNEL_FUSED: sub-blocks whose float products are summed in the float staging matrix
 * before it is added into M (comoment_kernel.h; docs/statistics.md has the accuracy). */
enum { FLUSH_SUBS = 16 };
/* Columns per block when the rank-one terms of a chunk are shared out between the threads. */
enum { RANK_ONE_COLS = 64 };
/* The fused kernel splits the sub-blocks between the threads (each read and packed once) when
 * the threads' own staging and double matrices take at most this much memory together, else
 * the column blocks (one shared staging matrix, every sub-block packed by every thread). */
#define ROW_SPLIT_BYTES (512.0 * 1024 * 1024)
static int split_by_rows_forced = -1;

int moments__force_split(int by_rows)
{
    split_by_rows_forced = by_rows;
    return by_rows;
}
enum { BLOCK_FREE, BLOCK_BUSY, BLOCK_READY };

struct cvg_moments {
    int64_t dim, count;
    cvg_kernel kernel;
    double *mean;        /* dim */
    double *M;           /* dim x dim, upper triangle (below it: not meaningful) */
    double *chunk_mean;  /* dim */
    double *delta;       /* dim */
    double *offsets;     /* (MAX_SUBS + 1) x dim: scaled sub-block offsets, then the chunk's delta */
    double *rounding;    /* MAX_SUBS x dim: sub-block mean minus the float it was centred on
                          * (the BLAS kernels correct for it, see round_centre) */
    float *centre_f;     /* MAX_SUBS x dim: the float each sub-block was centred on */
    int64_t *weight;     /* MAX_SUBS: rows of each sub-block of the chunk; 0 if left out (NaN/Inf) */
    int64_t chunk_kept;  /* rows of the chunk kept; 0: the chunk adds nothing */
    atomic_int block_state[MAX_SUBS]; /* fused: whether a sub-block's mean is published */
    void *centred;       /* CHUNK_ROWS x dim, float (or double for CVG_KERNEL_DSYRK) */
    int64_t strip_rows, strip_count;
    int threads;
    int *strip_owner;            /* strip_count: the thread that computes each strip */
    float *strip_f[MAX_THREADS]; /* strip_rows x dim each: one strip's float product */
    /* CVG_KERNEL_FUSED, split by rows: per thread, a float staging matrix and a double one in
     * the same block layout (ck_staging_size elements each) for its batches; one_owner: every
     * column block to thread 0 */
    int by_rows;
    float *staging_t[MAX_THREADS];
    double *M_t[MAX_THREADS];
    int *one_owner;
    /* CVG_KERNEL_FUSED: the chunk's rank-one rows packed (MAX_SUBS + 1 rows) and a zero centre
     * to pack them on; block_owner (ck_block_count(dim)): the thread that computes each column
     * block of their product (split by rows) or of everything (split by columns) */
    float *rank_packed;
    double *zero;
    int *block_owner;
    /* CVG_KERNEL_FUSED, split by columns */
    float *staging;              /* ck_staging_size(dim): float sums of the sub-blocks since the
                                  * last flush into M */
    /* per thread: one packed sub-block (SUB_ROWS x ck_padded(dim)); split by columns, the
     * scratch for a mean computed privately (dim doubles) and its float centre (dim) */
    float *packed[MAX_THREADS];
    double *block_mean[MAX_THREADS];
    float *block_centre[MAX_THREADS];
};

static int kernel_is_double(cvg_kernel k) { return k == CVG_KERNEL_DSYRK; }
static int kernel_is_fused(cvg_kernel k) { return k == CVG_KERNEL_FUSED; }

/* Strips narrow enough that the threads share the work, wide enough for efficient BLAS calls. */
static int64_t choose_strip_rows(int64_t dim, int threads)
{
    int64_t s = (dim + 4 * threads - 1) / (4 * threads);
    if (s > STRIP_ROWS) s = STRIP_ROWS;
    return s < 8 ? (dim < 8 ? dim : 8) : s;
}

/* Strip q costs about ni * (D - i0) multiply-adds per row; hand the strips, widest first, each
 * to the thread with the least work so far (longest-processing-time rule). */
static int *assign_strips(int64_t dim, int64_t rows, int64_t count, int threads)
{
    int *owner = malloc((size_t)count * sizeof *owner);
    int64_t load[MAX_THREADS] = {0};
    if (!owner) return NULL;
    for (int64_t q = 0; q < count; q++) {
        const int64_t i0 = q * rows, ni = dim - i0 < rows ? dim - i0 : rows;
        int best = 0;
        for (int t = 1; t < threads; t++)
            if (load[t] < load[best]) best = t;
        owner[q] = best;
        load[best] += ni * (dim - i0);
    }
    return owner;
}

cvg_status cvg_moments_create(int64_t dim, cvg_kernel kernel, cvg_moments **out)
{
    if (!out || dim <= 0) return cvg__fail(CVG_ERR_ARG, "cvg_moments_create: dimension must be > 0");
    if (kernel < CVG_KERNEL_AUTO || kernel > CVG_KERNEL_FUSED)
        return cvg__fail(CVG_ERR_ARG, "cvg_moments_create: unknown kernel %d", (int)kernel);
    *out = NULL;
    cvg_moments *m = cvg__calloc(1, sizeof *m, "moments");
    if (!m) return CVG_ERR_NOMEM;
    m->dim = dim;
    m->kernel = kernel == CVG_KERNEL_AUTO ? CVG_KERNEL_FUSED : kernel;
    m->threads = omp_get_max_threads();
    if (m->threads > MAX_THREADS) m->threads = MAX_THREADS;
    const size_t elem = kernel_is_double(m->kernel) ? sizeof(double) : sizeof(float);
    m->mean = calloc((size_t)dim, sizeof(double));
    m->chunk_mean = calloc((size_t)dim, sizeof(double));
    m->delta = calloc((size_t)dim, sizeof(double));
    m->offsets = calloc((size_t)((MAX_SUBS + 1) * dim), sizeof(double));
    m->rounding = calloc((size_t)(MAX_SUBS * dim), sizeof(double));
    m->centre_f = calloc((size_t)(MAX_SUBS * dim), sizeof(float));
    m->weight = calloc(MAX_SUBS, sizeof *m->weight);
    m->M = calloc((size_t)(dim * dim), sizeof(double));
    int ok = m->mean && m->chunk_mean && m->delta && m->offsets && m->rounding && m->centre_f && m->weight && m->M;
    if (kernel_is_fused(m->kernel)) {
        const size_t packed_bytes = (size_t)(SUB_ROWS * ck_padded(dim)) * sizeof(float);
        const size_t staging_bytes = (size_t)ck_staging_size(dim) * sizeof(float);
        const size_t own_bytes = (size_t)ck_staging_size(dim) * sizeof(double);
        m->by_rows = split_by_rows_forced >= 0 ? split_by_rows_forced
                     : (double)m->threads * (double)(staging_bytes + own_bytes) <= ROW_SPLIT_BYTES;
        ok = ok && (m->block_owner = ck_assign_blocks(dim, m->threads)) != NULL &&
             (m->rank_packed = aligned_alloc(64, (size_t)((MAX_SUBS + 1) * ck_padded(dim)) * sizeof(float))) &&
             (m->zero = calloc((size_t)dim, sizeof(double)));
        if (m->by_rows) {
            ok = ok && (m->one_owner = calloc((size_t)ck_block_count(dim), sizeof(int))) != NULL;
            for (int t = 0; ok && t < m->threads; t++)
                if ((ok = (m->staging_t[t] = aligned_alloc(64, staging_bytes)) && (m->M_t[t] = calloc(1, own_bytes))))
                    memset(m->staging_t[t], 0, staging_bytes);
        } else {
            ok = ok && (m->staging = aligned_alloc(64, staging_bytes)) != NULL;
            if (ok) memset(m->staging, 0, staging_bytes);
            for (int t = 0; ok && t < m->threads; t++)
                ok = (m->block_mean[t] = malloc((size_t)dim * sizeof(double))) &&
                     (m->block_centre[t] = malloc((size_t)dim * sizeof(float)));
        }
        for (int t = 0; ok && t < m->threads; t++)
            ok = (m->packed[t] = aligned_alloc(64, packed_bytes)) != NULL;
    } else {
        m->strip_rows = choose_strip_rows(dim, m->threads);
        m->strip_count = (dim + m->strip_rows - 1) / m->strip_rows;
        ok = ok && (m->strip_owner = assign_strips(dim, m->strip_rows, m->strip_count, m->threads)) != NULL;
        ok = ok && (m->centred = malloc((size_t)(CHUNK_ROWS * dim) * elem)) != NULL;
        for (int t = 0; ok && !kernel_is_double(m->kernel) && t < m->threads; t++)
            ok = (m->strip_f[t] = malloc((size_t)(m->strip_rows * dim) * sizeof(float))) != NULL;
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
    free(m->offsets);
    free(m->rounding);
    free(m->centre_f);
    free(m->weight);
    free(m->strip_owner);
    free(m->M);
    free(m->centred);
    free(m->block_owner);
    free(m->rank_packed);
    free(m->zero);
    free(m->staging);
    free(m->one_owner);
    for (int t = 0; t < MAX_THREADS; t++) {
        free(m->strip_f[t]);
        free(m->packed[t]);
        free(m->staging_t[t]);
        free(m->M_t[t]);
        free(m->block_mean[t]);
        free(m->block_centre[t]);
    }
    free(m);
}

int64_t cvg_moments_dim(const cvg_moments *m) { return m->dim; }
int64_t cvg_moments_count(const cvg_moments *m) { return m->count; }
const double *cvg_moments_mean(const cvg_moments *m) { return m->mean; }

/* The mean mb of one sub-block of k rows (input type T, leading dimension ld), in double,
 * shifted by the first row: exact for a constant column (its centred values are exact zeros, so
 * a dead unit has exactly zero variance) and accurate for a large mean. Columns go in groups of
 * MEAN_COLS (then 8, then one by one) whose sums stay in registers down all k rows: with a
 * narrow layer (16 units a net) a sum kept in memory waited on its own store every row. Each
 * column's sum is the same sequence of additions either way. */
enum { MEAN_COLS = 32 };
#define DEFINE_MEAN_COLS(NAME, T, COLS)                                                        \
    static inline void NAME(const T *rows, int64_t k, int64_t ld, double *mb)                  \
    {                                                                                         \
        double acc[COLS] = {0};                                                               \
        for (int64_t r = 1; r < k; r++) {                                                     \
            const T *x = rows + r * ld;                                                       \
            _Pragma("omp simd") for (int j = 0; j < COLS; j++) acc[j] += (double)x[j] - (double)rows[j]; \
        }                                                                                     \
        for (int j = 0; j < COLS; j++) mb[j] = (double)rows[j] + acc[j] / (double)k;          \
    }
#define DEFINE_BLOCK_MEAN(NAME, T)                                                             \
    DEFINE_MEAN_COLS(NAME##_wide, T, MEAN_COLS)                                               \
    DEFINE_MEAN_COLS(NAME##_8, T, 8)                                                          \
    CVG_VECTOR_CLONES static void NAME(const T *rows, int64_t k, int64_t ld, int64_t D, double *mb) \
    {                                                                                         \
        int64_t j0 = 0;                                                                       \
        for (; j0 + MEAN_COLS <= D; j0 += MEAN_COLS) NAME##_wide(rows + j0, k, ld, mb + j0);   \
        for (; j0 + 8 <= D; j0 += 8) NAME##_8(rows + j0, k, ld, mb + j0);                      \
        for (; j0 < D; j0++) {                                                                \
            double acc = 0;                                                                   \
            for (int64_t r = 1; r < k; r++) acc += (double)rows[r * ld + j0] - (double)rows[j0]; \
            mb[j0] = (double)rows[j0] + acc / (double)k;                                      \
        }                                                                                     \
    }
DEFINE_BLOCK_MEAN(block_mean_f64, double)
DEFINE_BLOCK_MEAN(block_mean_f32, float)

/* Float rows are centred in float on the float c nearest the sub-block mean mb (one rounding,
 * no conversions per element). With e = mb - c, sum (x-mb)(x-mb)^T = sum (x-c)(x-c)^T - k e e^T
 * exactly, because sum (x - mb) = 0; e goes to err (when not NULL) for that correction. A
 * constant column has c = x exactly. */
static void round_centre(int64_t D, const double *mb, float *c, double *err)
{
    for (int64_t j = 0; j < D; j++) {
        c[j] = (float)mb[j];
        if (err) err[j] = mb[j] - (double)c[j];
    }
}

/* Centre one sub-block (rows of type T) on mb into out (float or double, row length D). */
#define DEFINE_CENTRE_BLOCK(NAME, T)                                                           \
    CVG_VECTOR_CLONES static void NAME(const T *rows, int64_t k, int64_t ld, int64_t D,          \
                                       const double *mb, void *out, int out_double)          \
    {                                                                                         \
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

CVG_VECTOR_CLONES
static void centre_block_f32_float(const float *rows, int64_t k, int64_t ld, int64_t D,
                                   const float *c, float *out)
{
    for (int64_t r = 0; r < k; r++) {
        const float *x = rows + r * ld;
        float *xc = out + r * D;
        for (int64_t j = 0; j < D; j++) xc[j] = x[j] - c[j];
    }
}

/* m->chunk_mean = the mean of the sub-block means in m->offsets weighted by m->weight, shifted
 * by the first kept one (exact for constants); then each kept offset becomes its sub-block's
 * mean minus the chunk mean, the others 0. Returns the rows kept. */
static int64_t chunk_mean_from_blocks(cvg_moments *m, int64_t subs)
{
    const int64_t D = m->dim;
    double *off = m->offsets, *mu = m->chunk_mean;
    int64_t kept = 0, first = -1;
    for (int64_t b = 0; b < subs; b++) {
        kept += m->weight[b];
        if (first < 0 && m->weight[b] > 0) first = b;
    }
    if (kept == 0) return 0;
    for (int64_t j = 0; j < D; j++) mu[j] = 0; /* first the weighted sum, sub-block by sub-block */
    for (int64_t b = first + 1; b < subs; b++)
        if (m->weight[b] > 0)
            for (int64_t j = 0; j < D; j++) mu[j] += (double)m->weight[b] * (off[b * D + j] - off[first * D + j]);
    for (int64_t j = 0; j < D; j++) mu[j] = off[first * D + j] + mu[j] / (double)kept;
    for (int64_t b = 0; b < subs; b++)
        for (int64_t j = 0; j < D; j++) off[b * D + j] = m->weight[b] > 0 ? off[b * D + j] - mu[j] : 0.0;
    return kept;
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

/* The chunk's co-moment about the new running mean, added into M:
 *     sum_b [ C_b + k_b o_b o_b^T ] + w delta delta^T
 * (C_b: sub-block b's product about its own mean, o_b: its mean minus the chunk mean). The C_b
 * go in by the kernel; the rank-one terms go in together as products of stacked rows, column
 * block by column block on every thread (add_rank_one_cols). Once the sub-block means are
 * known: merge the chunk mean into the running mean and stack the rows sqrt(k_b) o_b and
 * sqrt(w) delta in m->offsets (added), and for rows centred on a rounded float the rows
 * sqrt(k_b) e_b in m->rounding (subtracted, see round_centre). Sets m->chunk_kept. */
static void stack_rank_one(cvg_moments *m, int64_t subs, int float_centred)
{
    const int64_t D = m->dim;
    m->chunk_kept = chunk_mean_from_blocks(m, subs);
    if (m->chunk_kept == 0) return;
    const double w = merge_mean(m, m->chunk_kept, m->chunk_mean);
    double *o = m->offsets, *e = m->rounding;
    for (int64_t b = 0; b < subs; b++) {
        const double r = sqrt((double)m->weight[b]);
        for (int64_t j = 0; j < D; j++) o[b * D + j] *= r;
        if (float_centred)
            for (int64_t j = 0; j < D; j++) e[b * D + j] = r > 0 ? e[b * D + j] * r : 0.0;
    }
    const double rw = sqrt(w);
    for (int64_t j = 0; j < D; j++) o[subs * D + j] = rw * m->delta[j];
}

/* Columns [j0, j1) of the upper triangle of M += the rank-one terms stack_rank_one stacked for
 * subs sub-blocks (a single-threaded dgemm inside a parallel region; the diagonal square's
 * entries below the diagonal are written too and never read). */
static void add_rank_one_cols(cvg_moments *m, int64_t subs, int float_centred, int64_t j0, int64_t j1)
{
    const int64_t D = m->dim;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)j1, (int)(j1 - j0), (int)(subs + 1),
                1.0, m->offsets, (int)D, m->offsets + j0, (int)D, 1.0, m->M + j0, (int)D);
    if (float_centred)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)j1, (int)(j1 - j0), (int)subs,
                    -1.0, m->rounding, (int)D, m->rounding + j0, (int)D, 1.0, m->M + j0, (int)D);
}

/* CVG_KERNEL_FUSED: the rank-one terms of stack_rank_one (sqrt(k_b) o_b and sqrt(w) delta, in
 * m->offsets) packed as a sub-block of subs + 1 rows, so that the fused kernel adds their
 * product in float like a sub-block's (about 1/128 of the work; the offsets are about the
 * chunk mean, so nothing cancels). The rounding corrections k_b e_b e_b^T are left out: with
 * |e_b| <= ulp(mean)/2 they change a variance by at most (2^-24 |mean| / std)^2 of itself, far
 * below the float products' own error (docs/statistics.md). Sets m->chunk_kept. */
static void pack_rank_one(cvg_moments *m, int64_t subs)
{
    stack_rank_one(m, subs, 0);
    if (m->chunk_kept == 0) return;
    ck_pack_f64(m->offsets, subs + 1, m->dim, 0, m->dim, m->zero, m->rank_packed);
    ck_pack_pad(subs + 1, m->dim, m->rank_packed);
}

/* The BLAS kernels: centre every sub-block of the chunk (one array, float if is_float, else
 * double) on its own mean into m->centred; sub-block means to m->offsets, weights to m->weight. */
static void centre_chunk(cvg_moments *m, const void *rows, int is_float, int64_t n, int64_t ld)
{
    const int64_t D = m->dim, subs = (n + SUB_ROWS - 1) / SUB_ROWS;
    const size_t elem = kernel_is_double(m->kernel) ? sizeof(double) : sizeof(float);
    double *off = m->offsets;
#pragma omp parallel for schedule(static) if (n * D >= (1 << 18))
    for (int64_t b = 0; b < subs; b++) {
        const int64_t r0 = b * SUB_ROWS, k = n - r0 < SUB_ROWS ? n - r0 : SUB_ROWS;
        void *out = (char *)m->centred + (size_t)(r0 * D) * elem;
        m->weight[b] = k;
        if (is_float) {
            const float *x = (const float *)rows + r0 * ld;
            block_mean_f32(x, k, ld, D, off + b * D);
            if (kernel_is_double(m->kernel)) {
                centre_block_f32(x, k, ld, D, off + b * D, out, 1);
            } else {
                round_centre(D, off + b * D, m->centre_f + b * D, m->rounding + b * D);
                centre_block_f32_float(x, k, ld, D, m->centre_f + b * D, out);
            }
        } else {
            const double *x = (const double *)rows + r0 * ld;
            block_mean_f64(x, k, ld, D, off + b * D);
            centre_block_f64(x, k, ld, D, off + b * D, out, kernel_is_double(m->kernel));
        }
    }
}

/* M[i][j] += F[i][j] for the ni x nj float block F (row length nj) on and above the diagonal;
 * M has row length ldm. */
CVG_VECTOR_CLONES
static void add_upper_into(int64_t ni, int64_t nj, const float *F, double *M, int64_t ldm)
{
    for (int64_t i = 0; i < ni; i++) {
        const float *fi = F + i * nj;
        double *mi = M + i * ldm;
        for (int64_t j = i; j < nj; j++) mi[j] += (double)fi[j];
    }
}

/* One sub-block's product about its own mean (rows [s, s+k) of m->centred), rows [i0, i0+ni)
 * and columns [i0, D) of it, added into M. tf: ni x (D - i0) floats of scratch. */
static void add_strip(cvg_moments *m, int64_t s, int64_t k, int64_t i0, int64_t ni, float *tf)
{
    const int64_t D = m->dim, nj = D - i0;
    double *Mi0 = m->M + i0 * D + i0;
    if (kernel_is_double(m->kernel)) {
        const double *a = (const double *)m->centred + s * D + i0;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ni, (int)nj, (int)k, 1.0, a,
                    (int)D, a, (int)D, 1.0, Mi0, (int)D);
        return;
    }
    const float *a = (const float *)m->centred + s * D + i0;
    if (m->kernel == CVG_KERNEL_SSYRK) { /* the ni x ni square by syrk, the rest by gemm */
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)ni, (int)k, 1.0f, a, (int)D,
                    0.0f, tf, (int)nj);
        if (nj > ni)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ni, (int)(nj - ni), (int)k,
                        1.0f, a, (int)D, a + ni, (int)D, 0.0f, tf + ni, (int)nj);
    } else {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ni, (int)nj, (int)k, 1.0f, a,
                    (int)D, a, (int)D, 0.0f, tf, (int)nj);
    }
    add_upper_into(ni, nj, tf, Mi0, D);
}

/* The BLAS kernels: each thread owns a fixed set of strips (balanced by cost when the
 * accumulator is made) and walks the centred sub-blocks in order, so a sub-block is read from
 * memory once per thread and then stays in that core's cache for all of its strips; the
 * region's end is the only barrier (a barrier per sub-block costs a lot when the cores are
 * shared). */
static void strip_products(cvg_moments *m, int64_t n)
{
    const int64_t D = m->dim;
#pragma omp parallel num_threads(m->threads) if (m->strip_count > 1)
    {
        const int me = omp_get_thread_num(), team = omp_get_num_threads();
        for (int64_t g = 0; g < n; g += GROUP_ROWS)
            for (int64_t q = 0; q < m->strip_count; q++) {
                if (m->strip_owner[q] % team != me) continue;
                const int64_t i0 = q * m->strip_rows, ni = D - i0 < m->strip_rows ? D - i0 : m->strip_rows;
                for (int64_t s = g; s < n && s < g + GROUP_ROWS; s += SUB_ROWS)
                    add_strip(m, s, n - s < SUB_ROWS ? n - s : SUB_ROWS, i0, ni, m->strip_f[me]);
            }
    }
}

/* Row r of part p (element offsets in elements of the parts' type). */
static const char *part_row(const row_parts *rows, int p, int64_t r)
{
    const size_t elem = rows->is_float ? sizeof(float) : sizeof(double);
    return (const char *)rows->base[p] + (size_t)(r * rows->ld[p]) * elem;
}

/* 1 when every value is finite (x * 0 is 0 exactly for finite x; vectorizes). */
CVG_VECTOR_CLONES static int all_finite(const double *x, int64_t n)
{
    double probe = 0;
#pragma omp simd reduction(+ : probe)
    for (int64_t i = 0; i < n; i++) probe += x[i] * 0.0;
    return probe == 0;
}

/* The fused kernel's steps for the k rows from row r0 of the parts: their mean in double ... */
static void sub_block_mean(const row_parts *rows, int64_t r0, int64_t k, double *mb)
{
    for (int p = 0; p < rows->count; p++) {
        const int64_t c0 = rows->col[p], w = rows->col[p + 1] - c0;
        if (rows->is_float) block_mean_f32((const float *)part_row(rows, p, r0), k, rows->ld[p], w, mb + c0);
        else block_mean_f64((const double *)part_row(rows, p, r0), k, rows->ld[p], w, mb + c0);
    }
}

/* ... and the rows centred (float rows on the float c, double rows on mb) into the packed
 * layout. */
static void sub_block_pack(const row_parts *rows, int64_t r0, int64_t k, int64_t D, const float *c,
                           const double *mb, float *packed)
{
    for (int p = 0; p < rows->count; p++) {
        const int64_t c0 = rows->col[p], w = rows->col[p + 1] - c0;
        if (rows->is_float) ck_pack_f32((const float *)part_row(rows, p, r0), k, rows->ld[p], c0, w, c, packed);
        else ck_pack_f64((const double *)part_row(rows, p, r0), k, rows->ld[p], c0, w, mb, packed);
    }
    ck_pack_pad(k, D, packed);
}

/* CVG_KERNEL_FUSED, split by rows (the default when the memory allows): rows [r_base, r_base +
 * n) of the parts, in batches of FLUSH_SUBS sub-blocks, contiguous runs of batches per thread
 * (static: the sums do not depend on timing). A thread means, centres and packs its sub-blocks
 * (each sub-block is read and packed once), runs the hook, adds their products over the whole
 * upper triangle into its own float staging matrix, and after each batch adds that into its
 * own double matrix; at the end of the chunk the threads' matrices are added into M in thread
 * order, and the chunk's rank-one terms (pack_rank_one) by column blocks. A sub-block holding
 * NaN or Inf has a non-finite mean and is left out. */
static void fused_products_by_rows(cvg_moments *m, const row_parts *rows, int64_t r_base,
                                   int64_t n, moments_block_fn fn, void *user,
                                   const moments_filler *filler)
{
    const int64_t D = m->dim, subs = (n + SUB_ROWS - 1) / SUB_ROWS;
    const int64_t batches = (subs + FLUSH_SUBS - 1) / FLUSH_SUBS;
#pragma omp parallel num_threads(m->threads) if (subs > 1)
    {
        const int me = omp_get_thread_num(), team = omp_get_num_threads();
#pragma omp for schedule(static)
        for (int64_t q = 0; q < batches; q++) {
            int staged = 0;
            for (int64_t b = q * FLUSH_SUBS; b < subs && b < (q + 1) * FLUSH_SUBS; b++) {
                const int64_t r0 = r_base + b * SUB_ROWS, k = n - b * SUB_ROWS < SUB_ROWS ? n - b * SUB_ROWS : SUB_ROWS;
                double *mb = m->offsets + b * D;
                float *c = m->centre_f + b * D;
                /* the sub-block's rows: row `at` of *src is row r0 */
                row_parts made;
                const row_parts *src = rows;
                int64_t at = r0;
                if (filler) {
                    filler->fill(filler->user, me, r0, k, &made);
                    src = &made;
                    at = 0;
                }
                sub_block_mean(src, at, k, mb);
                const int finite = all_finite(mb, D);
                m->weight[b] = finite ? k : 0;
                if (!finite) {
                    if (fn) fn(user, me, r0, k, 0, NULL);
                    continue;
                }
                if (src->is_float) round_centre(D, mb, c, NULL);
                sub_block_pack(src, at, k, D, c, mb, m->packed[me]);
                if (fn) {
                    const moments_block blk = {m->packed[me], src->is_float ? c : NULL, src->is_float ? NULL : mb,
                                               src, at};
                    fn(user, me, r0, k, 1, &blk);
                }
                ck_update(m->packed[me], k, D, m->one_owner, 0, 1, m->staging_t[me], staged++ == 0);
            }
            if (staged) ck_flush_own(m->staging_t[me], D, m->M_t[me]);
        }
#pragma omp single
        pack_rank_one(m, subs);
        /* the rank-one product of the column blocks this thread owns into its staging matrix
         * (free after the batches) while M += the threads' sums, block by block in thread order
         * (they start again from 0); then the rank-one blocks into M */
        if (m->chunk_kept > 0)
            ck_update(m->rank_packed, subs + 1, D, m->block_owner, me, team, m->staging_t[me], 1);
#pragma omp for schedule(dynamic, 1)
        for (int64_t q = ck_block_count(D) - 1; q >= 0; q--) /* the widest first */
            for (int t = 0; t < team; t++) ck_add_own_block(m->M_t[t], D, q, m->M);
        if (m->chunk_kept > 0) ck_flush(m->staging_t[me], D, m->block_owner, me, team, m->M);
    }
}

/* CVG_KERNEL_FUSED, split by columns (when the threads' own matrices would take too much
 * memory): rows [r_base, r_base + n) of the parts; every thread centres each sub-block
 * itself, straight into the packed layout in its own cache, and adds the products of the
 * column blocks it owns (comoment_kernel.h). Centring costs about 1/D of the product, so doing
 * it once per thread is cheaper than sharing it across a barrier. A sub-block's mean (and float
 * centre) goes to m->offsets from the first thread to claim it; a thread that finds it in
 * progress computes its own copy, identical, so every thread sees a NaN or infinity (a
 * non-finite mean) and leaves that sub-block out. The thread with b % team == me sets the
 * sub-block's weight and calls the hook. The chunk's rank-one terms go in the same way. */
static void fused_products_by_columns(cvg_moments *m, const row_parts *rows, int64_t r_base, int64_t n,
                           moments_block_fn fn, void *user)
{
    const int64_t D = m->dim, subs = (n + SUB_ROWS - 1) / SUB_ROWS;
    for (int64_t b = 0; b < subs; b++) atomic_init(&m->block_state[b], BLOCK_FREE);
#pragma omp parallel num_threads(m->threads) if (ck_block_count(D) > 1)
    {
        const int me = omp_get_thread_num(), team = omp_get_num_threads();
        int staged = 0;
        for (int64_t b = 0; b < subs; b++) {
            const int64_t r0 = r_base + b * SUB_ROWS, k = n - b * SUB_ROWS < SUB_ROWS ? n - b * SUB_ROWS : SUB_ROWS;
            const int mine = b % team == me;
            /* The sub-block's mean and float centre: published by the first thread to claim
             * them; a thread that finds them being computed computes its own (no waiting). */
            double *mb = m->offsets + b * D;
            float *c = m->centre_f + b * D;
            int state = atomic_load_explicit(&m->block_state[b], memory_order_acquire), claimed = 0;
            if (state != BLOCK_READY) {
                int free_state = BLOCK_FREE;
                claimed = atomic_compare_exchange_strong(&m->block_state[b], &free_state, BLOCK_BUSY);
                if (!claimed) mb = m->block_mean[me], c = m->block_centre[me];
                sub_block_mean(rows, r0, k, mb);
                if (rows->is_float) round_centre(D, mb, c, NULL);
                if (claimed) atomic_store_explicit(&m->block_state[b], BLOCK_READY, memory_order_release);
            }
            const int finite = all_finite(mb, D);
            if (mine) m->weight[b] = finite ? k : 0;
            if (!finite) {
                if (mine && fn) fn(user, me, r0, k, 0, NULL);
                continue;
            }
            sub_block_pack(rows, r0, k, D, c, mb, m->packed[me]);
            if (mine && fn) {
                const moments_block blk = {m->packed[me], rows->is_float ? c : NULL, rows->is_float ? NULL : mb,
                                           rows, r0};
                fn(user, me, r0, k, 1, &blk);
            }
            ck_update(m->packed[me], k, D, m->block_owner, me, team, m->staging, staged == 0);
            if (++staged == FLUSH_SUBS) {
                ck_flush(m->staging, D, m->block_owner, me, team, m->M);
                staged = 0;
            }
        }
        if (staged) ck_flush(m->staging, D, m->block_owner, me, team, m->M);
#pragma omp barrier
#pragma omp single
        pack_rank_one(m, subs);
        if (m->chunk_kept > 0) {
            ck_update(m->rank_packed, subs + 1, D, m->block_owner, me, team, m->staging, 1);
            ck_flush(m->staging, D, m->block_owner, me, team, m->M);
        }
    }
}

/* Rows [r_base, r_base + n) of the parts into M; returns the rows left out as non-finite. */
static int64_t add_chunk(cvg_moments *m, const row_parts *rows, int64_t r_base, int64_t n,
                         moments_block_fn fn, void *user, void *joined, const moments_filler *filler)
{
    const int64_t D = m->dim, subs = (n + SUB_ROWS - 1) / SUB_ROWS;
    if (kernel_is_fused(m->kernel)) { /* with the rank-one terms */
        if (m->by_rows) fused_products_by_rows(m, rows, r_base, n, fn, user, filler);
        else fused_products_by_columns(m, rows, r_base, n, fn, user);
        return n - m->chunk_kept;
    }
    const int float_centred = rows->is_float && !kernel_is_double(m->kernel);
    /* The BLAS kernels centre one array: rows given in parts (one per net) are put side by
     * side first, the chunk's n x D values in `joined` (room for CHUNK_ROWS rows). */
    const void *whole = part_row(rows, 0, r_base);
    int64_t ld = rows->ld[0];
    if (rows->count > 1) {
        const size_t elem = rows->is_float ? sizeof(float) : sizeof(double);
        for (int64_t r = 0; r < n; r++)
            for (int p = 0; p < rows->count; p++)
                memcpy((char *)joined + (size_t)(r * D + rows->col[p]) * elem, part_row(rows, p, r_base + r),
                       (size_t)(rows->col[p + 1] - rows->col[p]) * elem);
        whole = joined, ld = D;
    }
    centre_chunk(m, whole, rows->is_float, n, ld);
    strip_products(m, n);
    if (fn) {
#pragma omp parallel for schedule(static) num_threads(m->threads)
        for (int64_t b = 0; b < subs; b++)
            fn(user, omp_get_thread_num(), r_base + b * SUB_ROWS,
               n - b * SUB_ROWS < SUB_ROWS ? n - b * SUB_ROWS : SUB_ROWS, 1, NULL);
    }
    stack_rank_one(m, subs, float_centred);
    if (m->chunk_kept > 0) {
        const int64_t width = RANK_ONE_COLS, blocks = (D + width - 1) / width;
#pragma omp parallel for schedule(dynamic, 1) num_threads(m->threads) if (blocks > 1)
        for (int64_t q = blocks - 1; q >= 0; q--) /* the widest first */
            add_rank_one_cols(m, subs, float_centred, q * width, (q + 1) * width < D ? (q + 1) * width : D);
    }
    return n - m->chunk_kept;
}

int64_t moments_add_parts(cvg_moments *m, const row_parts *rows, int64_t n, moments_block_fn fn,
                          void *user)
{
    void *joined = NULL; /* the BLAS kernels' side-by-side copy of parts, one chunk at a time */
    if (rows->count > 1 && !kernel_is_fused(m->kernel) && n > 0) {
        const size_t elem = rows->is_float ? sizeof(float) : sizeof(double);
        if (!(joined = malloc((size_t)((n < CHUNK_ROWS ? n : CHUNK_ROWS) * m->dim) * elem))) return -1;
    }
    int64_t left_out = 0;
    for (int64_t start = 0; start < n; start += CHUNK_ROWS)
        left_out += add_chunk(m, rows, start, n - start < CHUNK_ROWS ? n - start : CHUNK_ROWS, fn, user,
                              joined, NULL);
    free(joined);
    return left_out;
}

int moments_takes_filler(const cvg_moments *m) { return kernel_is_fused(m->kernel) && m->by_rows; }

int64_t moments_add_filled(cvg_moments *m, int64_t n, const moments_filler *filler, moments_block_fn fn,
                           void *user)
{
    if (!moments_takes_filler(m)) return -1;
    int64_t left_out = 0;
    for (int64_t start = 0; start < n; start += CHUNK_ROWS)
        left_out += add_chunk(m, NULL, start, n - start < CHUNK_ROWS ? n - start : CHUNK_ROWS, fn, user,
                              NULL, filler);
    return left_out;
}

int moments_threads(const cvg_moments *m) { return m->threads; }
int moments_is_fused(const cvg_moments *m) { return kernel_is_fused(m->kernel); }

static cvg_status add_rows(cvg_moments *m, const void *rows, int is_float, int64_t n, int64_t ld)
{
    if (!m || n < 0 || (n > 0 && !rows) || ld < m->dim)
        return cvg__fail(CVG_ERR_ARG, "cvg_moments_add: invalid rows, count or leading dimension");
    const void *base[1] = {rows};
    const int64_t lds[1] = {ld}, cols[2] = {0, m->dim};
    const row_parts parts = {1, is_float, base, lds, cols};
    const int64_t left_out = moments_add_parts(m, &parts, n, NULL, NULL);
    if (left_out < 0) return cvg__fail(CVG_ERR_NOMEM, "cvg_moments_add: out of memory");
    if (left_out > 0)
        return cvg__fail(CVG_ERR_NONFINITE, "cvg_moments_add: %lld rows in blocks of %d holding "
                         "NaN or Inf were left out", (long long)left_out, SUB_ROWS);
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
