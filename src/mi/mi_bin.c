/* Discretization of units for mutual information: a zero bin for values <= zero_threshold
 * (the exact zeros of ReLU units), then `bins` equal-mass bins over the remaining values, with
 * edges at numpy's default ("linear") quantiles so a numpy reference reproduces them exactly. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "mi/mi_internal.h"

/* Units transposed together: 16 float32 = one 64-byte cache line of a sample row. */
enum { UNIT_BLOCK = 16 };

void cvg_mi_options_init(cvg_mi_options *opt)
{
    if (!opt) return;
    memset(opt, 0, sizeof *opt);
    opt->bins = 20;
    opt->zero_threshold = 1e-6;
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

/* LSD radix sort of n keys, three passes of 11 bits, ping-ponging between keys and tmp
 * (n entries each). Returns the buffer holding the sorted keys (tmp, after an odd number of
 * passes). */
static const uint32_t *radix_sort_u32(uint32_t *keys, uint32_t *tmp, int64_t n)
{
    uint32_t *src = keys, *dst = tmp;
    for (int shift = 0; shift < 33; shift += 11) {
        int64_t count[2048] = {0};
        for (int64_t k = 0; k < n; k++) count[(src[k] >> shift) & 2047u]++;
        int64_t sum = 0;
        for (int d = 0; d < 2048; d++) {
            int64_t c = count[d];
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

/* numpy 1.22+'s np.quantile(x, q) with method="linear" on a sorted float64 array of n >= 1
 * values, reproduced operation by operation (same rounding): virtual index (n-1)*q, gamma its
 * fractional part, then numpy's _lerp, which interpolates from the upper neighbour when
 * gamma >= 0.5. */
static double numpy_linear_quantile(const float *sorted, int64_t n, double q)
{
    double virt = (double)(n - 1) * q;
    if (virt >= (double)(n - 1)) return sorted[n - 1];
    if (virt < 0) return sorted[0];
    double prev = floor(virt);
    int64_t lo = (int64_t)prev;
    double gamma = virt - prev;
    double a = sorted[lo], b = sorted[lo + 1];
    double diff = b - a;
    if (gamma >= 0.5) return b - diff * (1.0 - gamma);
    return a + diff * gamma;
}

/* Bin one unit: col holds its rows values; keys/tmp/sorted are scratch of rows entries.
 * Writes codes[0..rows-1], edges[0..bins-2], returns the count of values above zt. */
static int64_t bin_unit(const float *col, int64_t rows, int bins, double zt, uint32_t *keys,
                        uint32_t *tmp, float *sorted, uint8_t *codes, double *edges)
{
    int64_t n = 0;
    for (int64_t r = 0; r < rows; r++)
        if ((double)col[r] > zt) keys[n++] = float_key(col[r]);
    if (n == 0) {
        for (int k = 0; k < bins - 1; k++) edges[k] = zt;
        memset(codes, 0, (size_t)rows);
        return 0;
    }
    const uint32_t *sorted_keys = radix_sort_u32(keys, tmp, n);
    for (int64_t k = 0; k < n; k++) sorted[k] = key_float(sorted_keys[k]);
    for (int k = 1; k < bins; k++)
        edges[k - 1] = numpy_linear_quantile(sorted, n, (double)k / (double)bins);
    /* code = 1 + #{edges <= v}: searchsorted side="right"; the edges are sorted, so a value
     * equal to an edge (ties) goes to the bin above it, and repeated edges leave empty bins. */
    for (int64_t r = 0; r < rows; r++) {
        double v = (double)col[r];
        if (!(v > zt)) {
            codes[r] = 0;
            continue;
        }
        int c = 1;
        for (int k = 0; k < bins - 1; k++) c += (edges[k] <= v);
        codes[r] = (uint8_t)c;
    }
    return n;
}

cvg_status cvg_mi_bin(const float *samples, int64_t rows, int64_t dim,
                      const cvg_mi_options *opt, uint8_t *codes, double *edges,
                      int64_t *nonzero)
{
    cvg_mi_options defaults;
    if (!opt) {
        cvg_mi_options_init(&defaults);
        opt = &defaults;
    }
    if (!samples || !codes) return cvg__fail(CVG_ERR_ARG, "mi bin: samples or codes is NULL");
    if (rows <= 0 || dim <= 0)
        return cvg__fail(CVG_ERR_EMPTY, "mi bin: no data (%lld rows, %lld units)",
                         (long long)rows, (long long)dim);
    if (rows > INT32_MAX)
        return cvg__fail(CVG_ERR_ARG, "mi bin: %lld rows, at most %d supported",
                         (long long)rows, INT32_MAX);
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

#pragma omp parallel num_threads(nthreads)
    {
        float *col = cvg__malloc((size_t)rows * UNIT_BLOCK * sizeof(float), "mi bin columns");
        uint32_t *keys = cvg__malloc((size_t)rows * sizeof(uint32_t), "mi bin keys");
        uint32_t *tmp = cvg__malloc((size_t)rows * sizeof(uint32_t), "mi bin keys");
        float *sorted = cvg__malloc((size_t)rows * sizeof(float), "mi bin sorted values");
        double *edge_buf = cvg__malloc((size_t)bins * sizeof(double), "mi bin edges");
        int ok = col && keys && tmp && sorted && edge_buf;
        if (!ok) {
#pragma omp critical(cvg_mi_bin_err)
            status = CVG_ERR_NOMEM;
        }
#pragma omp barrier
        if (status == CVG_OK) {
#pragma omp for schedule(dynamic, 1)
            for (int64_t blk = 0; blk < nblocks; blk++) {
                int64_t i0 = blk * UNIT_BLOCK;
                int64_t nu = dim - i0 < UNIT_BLOCK ? dim - i0 : UNIT_BLOCK;
                /* Transpose this block of units: one pass over the sample rows. */
                int64_t nonfinite_row = -1, nonfinite_unit = -1;
                for (int64_t r = 0; r < rows; r++) {
                    const float *src = samples + r * dim + i0;
                    for (int64_t k = 0; k < nu; k++) col[k * rows + r] = src[k];
                }
                for (int64_t k = 0; k < nu && nonfinite_row < 0; k++)
                    for (int64_t r = 0; r < rows; r++)
                        if (!isfinite(col[k * rows + r])) {
                            nonfinite_row = r;
                            nonfinite_unit = i0 + k;
                            break;
                        }
                if (nonfinite_row >= 0) {
#pragma omp critical(cvg_mi_bin_err)
                    if (bad_unit < 0 || nonfinite_unit < bad_unit) { /* report the first unit */
                        bad_row = nonfinite_row;
                        bad_unit = nonfinite_unit;
                    }
                    continue;
                }
                for (int64_t k = 0; k < nu; k++) {
                    int64_t i = i0 + k;
                    int64_t nz = bin_unit(col + k * rows, rows, bins, zt, keys, tmp, sorted,
                                          codes + i * rows, edge_buf);
                    if (edges)
                        memcpy(edges + i * (bins - 1), edge_buf,
                               (size_t)(bins - 1) * sizeof(double));
                    if (nonzero) nonzero[i] = nz;
                }
            }
        }
        free(col);
        free(keys);
        free(tmp);
        free(sorted);
        free(edge_buf);
    }
    if (status == CVG_ERR_NOMEM)
        return cvg__fail(CVG_ERR_NOMEM, "mi bin: out of memory for %lld rows", (long long)rows);
    if (bad_row >= 0)
        return cvg__fail(CVG_ERR_NONFINITE, "mi bin: non-finite value at row %lld, unit %lld",
                         (long long)bad_row, (long long)bad_unit);
    return CVG_OK;
}
