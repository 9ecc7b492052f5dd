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

enum { L = CVG_MI_LANES };

/* F(n) = n ln n, from a table for the usual reservoir sizes (exact same values every time). */
typedef struct nlogn {
    const double *table; /* n = 0 .. size-1, or NULL */
    int64_t size;
} nlogn;

static inline double F(const nlogn *f, int64_t n)
{
    if (n < f->size) return f->table[n];
    return (double)n * log((double)n);
}

/* Unit-major codes -> panels of 32 units (panel p: rows x 32, row-major; lanes past dim hold
 * code 0 and are never read), the marginal counts marg (dim x levels) and a check that every
 * code is < levels. Returns the first offending unit, or -1. */
static int64_t make_panels(const uint8_t *codes, int64_t rows, int64_t dim, int levels,
                           uint8_t *panels, int64_t *marg)
{
    const int64_t npanels = (dim + L - 1) / L;
    int64_t bad = -1;
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < npanels; p++) {
        uint8_t *panel = panels + p * rows * L;
        for (int64_t r0 = 0; r0 < rows; r0 += 256) {
            const int64_t r1 = rows - r0 < 256 ? rows : r0 + 256;
            for (int l = 0; l < L; l++) {
                const int64_t i = p * L + l;
                if (i >= dim) {
                    for (int64_t r = r0; r < r1; r++) panel[r * L + l] = 0;
                    continue;
                }
                const uint8_t *src = codes + i * rows;
                for (int64_t r = r0; r < r1; r++) panel[r * L + l] = src[r];
            }
        }
        for (int l = 0; l < L && p * L + l < dim; l++) {
            const int64_t i = p * L + l;
            int64_t hist[256] = {0};
            const uint8_t *src = codes + i * rows;
            for (int64_t r = 0; r < rows; r++) hist[src[r]]++;
            int ok = 1;
            for (int c = levels; c < 256; c++) ok &= hist[c] == 0;
            if (!ok) {
                if (bad < 0 || i < bad) bad = i;
            }
            memcpy(marg + i * levels, hist, (size_t)levels * sizeof(int64_t));
        }
    }
    return bad;
}

/* Rows of unit i with code a >= 1, grouped by a (counting sort): group a is
 * perm[goff[a-1] .. goff[a]-1]. */
static void group_rows(const uint8_t *code, int64_t rows, int levels, const int64_t *marg_i,
                       int32_t *perm, int64_t *goff)
{
    int64_t next[256];
    goff[0] = 0;
    for (int a = 1; a < levels; a++) {
        next[a] = goff[a - 1];
        goff[a] = goff[a - 1] + marg_i[a];
    }
    for (int64_t r = 0; r < rows; r++) {
        const int a = code[r];
        if (a) perm[next[a]++] = (int32_t)r;
    }
}

typedef struct shared {
    int64_t rows, dim;
    int levels;
    const uint8_t *codes, *panels;
    const int64_t *marg;
    const double *S; /* sum_a F(n_a) per unit */
    const int *m;    /* non-empty bins per unit */
    nlogn f;
    int mm;
    double scale; /* 1 or 1/ln 2 */
} shared;

static double finish(const shared *sh, double sum_f, int64_t m_xy, int64_t i, int64_t j)
{
    const double N = (double)sh->rows;
    /* A unit with a single non-empty bin (dead, constant) shares nothing: exactly 0, not the
     * rounding residue of the sums (the diagonal then is 0 too). */
    if (sh->m[i] <= 1 || sh->m[j] <= 1) return 0.0;
    double mi = (sum_f - sh->S[i] - sh->S[j] + F(&sh->f, sh->rows)) / N;
    if (mi < 0) mi = 0; /* rounding only: the plug-in MI of a table is >= 0 */
    if (sh->mm) mi -= (double)(m_xy - sh->m[i] - sh->m[j] + 1) / (2.0 * N);
    return mi * sh->scale;
}

/* Row i of the MI matrix right of the diagonal (and its mirror), panel by panel. */
static void unit_row(const shared *sh, int64_t i, int32_t *perm, int64_t *goff, uint32_t *cnt,
                     double *out)
{
    const int64_t rows = sh->rows, dim = sh->dim;
    const int levels = sh->levels, bins = levels - 1;
    const int64_t *marg_i = sh->marg + i * levels;
    group_rows(sh->codes + i * rows, rows, levels, marg_i, perm, goff);
    const int64_t nonzero_i = rows - marg_i[0];

    for (int64_t p = i / L; p * L < dim; p++) {
        memset(cnt, 0, (size_t)bins * bins * L * sizeof *cnt);
        if (nonzero_i > 0 && bins > 0)
            cvg__mi_count_panel(sh->panels + p * rows * L, perm, goff, bins, cnt);

        /* Per lane: sum of F over all cells of the joint table and the non-empty cells.
         * Cells (a>=1, b>=1) are counted; (a, 0) and (0, b) follow from the marginals. */
        double sum[L];
        int64_t m[L], col[256][L];
        for (int l = 0; l < L; l++) {
            sum[l] = 0;
            m[l] = 0;
        }
        for (int b = 1; b <= bins; b++)
            for (int l = 0; l < L; l++) col[b][l] = 0;
        for (int a = 1; a <= bins; a++) {
            int64_t rowsum[L] = {0};
            const uint32_t *c = cnt + (int64_t)(a - 1) * bins * L;
            for (int b = 1; b <= bins; b++, c += L)
                for (int l = 0; l < L; l++) {
                    const int64_t n = c[l];
                    rowsum[l] += n;
                    col[b][l] += n;
                    if (n) {
                        sum[l] += F(&sh->f, n);
                        m[l]++;
                    }
                }
            for (int l = 0; l < L; l++) {
                const int64_t n = marg_i[a] - rowsum[l]; /* cell (a, 0) */
                if (n) {
                    sum[l] += F(&sh->f, n);
                    m[l]++;
                }
            }
        }
        for (int l = 0; l < L; l++) {
            const int64_t j = p * L + l;
            if (j <= i || j >= dim) continue;
            const int64_t *marg_j = sh->marg + j * levels;
            int64_t row0 = 0;
            for (int b = 1; b <= bins; b++) {
                const int64_t n = marg_j[b] - col[b][l]; /* cell (0, b) */
                row0 += n;
                if (n) {
                    sum[l] += F(&sh->f, n);
                    m[l]++;
                }
            }
            const int64_t n00 = marg_i[0] - row0;
            if (n00) {
                sum[l] += F(&sh->f, n00);
                m[l]++;
            }
            const double v = finish(sh, sum[l], m[l], i, j);
            out[i * dim + j] = v;
            out[j * dim + i] = v;
        }
    }
    /* The diagonal: the MI of a unit with itself is its entropy (joint table = diagonal). */
    out[i * dim + i] = finish(sh, sh->S[i], sh->m[i], i, i);
}

cvg_status cvg_mi_from_codes(const uint8_t *codes, int64_t rows, int64_t dim, int levels,
                             const cvg_mi_options *opt, double *out)
{
    cvg_mi_options defaults;
    if (!opt) {
        cvg_mi_options_init(&defaults);
        opt = &defaults;
    }
    if (!codes || !out) return cvg__fail(CVG_ERR_ARG, "mi: codes or out is NULL");
    if (rows <= 0 || dim <= 0)
        return cvg__fail(CVG_ERR_EMPTY, "mi: no data (%lld rows, %lld units)", (long long)rows,
                         (long long)dim);
    if (rows > INT32_MAX)
        return cvg__fail(CVG_ERR_ARG, "mi: %lld rows, at most %d supported", (long long)rows,
                         INT32_MAX);
    if (levels < 1 || levels > 255)
        return cvg__fail(CVG_ERR_ARG, "mi: levels must be in 1..255, got %d", levels);

    const int bins = levels - 1;
    const int64_t npanels = (dim + L - 1) / L;
    const int nthreads = opt->threads > 0 ? opt->threads : omp_get_max_threads();
    const int64_t table_size = rows < (1 << 22) ? rows + 1 : 0;

    uint8_t *panels = cvg__malloc((size_t)(npanels * rows * L), "mi panels");
    int64_t *marg = cvg__malloc((size_t)(dim * levels) * sizeof(int64_t), "mi marginals");
    double *S = cvg__malloc((size_t)dim * sizeof(double), "mi entropies");
    int *m = cvg__malloc((size_t)dim * sizeof(int), "mi bin counts");
    double *table = cvg__malloc((size_t)(table_size > 0 ? table_size : 1) * sizeof(double),
                                "mi n log n table");
    if (!panels || !marg || !S || !m || !table) {
        free(panels);
        free(marg);
        free(S);
        free(m);
        free(table);
        return CVG_ERR_NOMEM;
    }
    table[0] = 0;
    for (int64_t n = 1; n < table_size; n++) table[n] = (double)n * log((double)n);

    shared sh = {.rows = rows, .dim = dim, .levels = levels, .codes = codes, .panels = panels,
                 .marg = marg, .S = S, .m = m, .f = {table_size ? table : NULL, table_size},
                 .mm = opt->bias_correction != 0, .scale = opt->bits ? 1.0 / log(2.0) : 1.0};

    int64_t bad_unit = -1;
    int nomem = 0;
    atomic_int cancel = 0;
    atomic_int_fast64_t done = 0;

#pragma omp parallel num_threads(nthreads)
    {
        int64_t bad = make_panels(codes, rows, dim, levels, panels, marg);
#pragma omp critical(cvg_mi_bad_code)
        if (bad >= 0 && (bad_unit < 0 || bad < bad_unit)) bad_unit = bad;
#pragma omp for
        for (int64_t i = 0; i < dim; i++) {
            double s = 0;
            int nz = 0;
            for (int a = 0; a < levels; a++) {
                s += F(&sh.f, marg[i * levels + a]);
                nz += marg[i * levels + a] != 0;
            }
            S[i] = s;
            m[i] = nz;
        }
        /* implicit barrier: panels, marginals and S complete */
        int32_t *perm = cvg__malloc((size_t)rows * sizeof(int32_t), "mi row groups");
        int64_t *goff = cvg__malloc(256 * sizeof(int64_t), "mi row groups");
        uint32_t *cnt =
            cvg__malloc((size_t)bins * bins * L * sizeof(uint32_t), "mi joint counts");
        if (!perm || !goff || !cnt) {
#pragma omp atomic write
            nomem = 1;
        }
#pragma omp barrier
        const int run = !nomem && bad_unit < 0;
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < dim; i++) {
            if (!run || atomic_load(&cancel)) continue;
            unit_row(&sh, i, perm, goff, cnt, out);
            int64_t d = atomic_fetch_add(&done, 1) + 1;
            if (opt->progress && omp_get_thread_num() == 0 &&
                opt->progress("mi", (uint64_t)d, (uint64_t)dim, opt->progress_user))
                atomic_store(&cancel, 1);
        }
        free(perm);
        free(goff);
        free(cnt);
    }
    free(panels);
    free(marg);
    free(S);
    free(m);
    free(table);
    if (nomem) return cvg__fail(CVG_ERR_NOMEM, "mi: out of memory for the joint counts");
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
    if (!opt) {
        cvg_mi_options_init(&defaults);
        opt = &defaults;
    }
    if (!samples || !out) return cvg__fail(CVG_ERR_ARG, "mi: samples or out is NULL");
    if (rows <= 0 || dim <= 0)
        return cvg__fail(CVG_ERR_EMPTY, "mi: no data (%lld rows, %lld units)", (long long)rows,
                         (long long)dim);
    uint8_t *codes = cvg__malloc((size_t)(rows * dim), "mi codes");
    if (!codes) return CVG_ERR_NOMEM;
    cvg_status st = cvg_mi_bin(samples, rows, dim, opt, codes, NULL, NULL);
    if (st == CVG_OK) st = cvg_mi_from_codes(codes, rows, dim, opt->bins + 1, opt, out);
    free(codes);
    return st;
}
