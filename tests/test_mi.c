/* Mutual information: binning rules, the MI matrix against brute-force counting on small
 * cases (every counting kernel this CPU runs), properties, edge cases and errors. The numpy
 * reference comparison is in test_mi_fixtures.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mi/mi_internal.h"
#include "test_support.h"

static const char *const KERNELS[] = {"bitslice", "avx512", "avx2", "generic"};

/* rows x dim float32 ReLU-like data with special columns:
 *  0 dead (all zero), 1 constant 2.5, 2 half zero / half constant 1, 3 heavy ties,
 *  4 only five non-zero values, 5 = exp(col 6) where col 6 > 0 (a monotone transform),
 *  6 ReLU of a Gaussian, 7 a Gaussian with negative values, the rest correlated ReLUs. */
static float *make_data(int64_t rows, int64_t dim, uint64_t seed)
{
    float *x = malloc((size_t)(rows * dim) * sizeof *x);
    uint64_t st = seed;
    enum { F = 4 };
    double *w = malloc((size_t)dim * F * sizeof *w);
    for (int64_t k = 0; k < dim * F; k++) w[k] = test_rand_normal(&st);
    for (int64_t r = 0; r < rows; r++) {
        double z[F];
        for (int f = 0; f < F; f++) z[f] = test_rand_normal(&st);
        float *row = x + r * dim;
        for (int64_t i = 0; i < dim; i++) {
            double v = 0.5 * test_rand_normal(&st) - 0.3;
            for (int f = 0; f < F; f++) v += w[i * F + f] * z[f];
            row[i] = v > 0 ? (float)v : 0.0f;
        }
        static const float ties[] = {0, 0.5f, 1, 1, 1, 2};
        if (dim > 0) row[0] = 0;
        if (dim > 1) row[1] = 2.5f;
        if (dim > 2) row[2] = (r % 2) ? 1.0f : 0.0f;
        if (dim > 3) row[3] = ties[test_rand_u64(&st) % 6];
        if (dim > 4) row[4] = (r % (rows / 5 + 1) == 3) ? (float)(1 + r) : 0.0f;
        if (dim > 6) {
            double g = test_rand_normal(&st);
            row[6] = g > 0 ? (float)g : 0.0f;
            row[5] = row[6] > 0 ? expf(row[6]) : 0.0f;
        }
        if (dim > 7) row[7] = (float)(z[0] + 0.3 * test_rand_normal(&st));
    }
    free(w);
    return x;
}

/* Direct counting of one pair and the textbook formulas. */
static double brute_mi(const uint8_t *ci, const uint8_t *cj, int64_t rows, int levels, int mm,
                       int bits)
{
    int64_t *joint = calloc((size_t)levels * levels, sizeof *joint);
    int64_t *pa = calloc((size_t)levels, sizeof *pa), *pb = calloc((size_t)levels, sizeof *pb);
    for (int64_t r = 0; r < rows; r++) {
        joint[ci[r] * levels + cj[r]]++;
        pa[ci[r]]++;
        pb[cj[r]]++;
    }
    double N = (double)rows, mi = 0;
    int mxy = 0, mx = 0, my = 0;
    for (int a = 0; a < levels; a++) {
        mx += pa[a] > 0;
        my += pb[a] > 0;
        for (int b = 0; b < levels; b++) {
            int64_t n = joint[a * levels + b];
            if (!n) continue;
            mxy++;
            double p = n / N;
            mi += p * log(p / ((pa[a] / N) * (pb[b] / N)));
        }
    }
    if (mm) mi -= (mxy - mx - my + 1) / (2.0 * N);
    if (bits) mi /= log(2.0);
    free(joint);
    free(pa);
    free(pb);
    return mi;
}

static void check_against_brute(int64_t rows, int64_t dim, int bins, double zt, uint64_t seed)
{
    float *x = make_data(rows, dim, seed);
    uint8_t *codes = malloc((size_t)(rows * dim));
    double *out = malloc((size_t)(dim * dim) * sizeof *out);
    double *ref = malloc((size_t)(dim * dim) * sizeof *ref);
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    opt.bins = bins;
    opt.zero_threshold = zt;
    assert_cvg_ok(cvg_mi_bin(x, rows, dim, &opt, codes, NULL, NULL));
    for (int variant = 0; variant < 3; variant++) {
        opt.bias_correction = variant == 1;
        opt.bits = variant == 2;
        for (int64_t i = 0; i < dim; i++)
            for (int64_t j = 0; j < dim; j++)
                ref[i * dim + j] = brute_mi(codes + i * rows, codes + j * rows, rows, bins + 1,
                                            opt.bias_correction, opt.bits);
        /* the counts do not depend on the variant: every kernel and thread count once */
        for (size_t k = 0; k < sizeof KERNELS / sizeof KERNELS[0]; k++) {
            if (variant > 0 && k > 0) break;
            if (variant == 0 && !cvg__mi_force_kernel(KERNELS[k])) continue;
            for (int threads = 1; threads <= 2; threads++) {
                if (variant > 0 && threads > 1) break;
                opt.threads = threads;
                memset(out, 0xff, (size_t)(dim * dim) * sizeof *out);
                assert_cvg_ok(cvg_mi_matrix(x, rows, dim, &opt, out));
                for (int64_t e = 0; e < dim * dim; e++)
                    if (fabs(out[e] - ref[e]) > 1e-11)
                        fail_msg("kernel %s variant %d: MI[%lld][%lld] = %.17g, brute %.17g",
                                 cvg__mi_kernel_name(opt.bins), variant, (long long)(e / dim),
                                 (long long)(e % dim), out[e], ref[e]);
            }
        }
        cvg__mi_force_kernel(NULL);
    }
    free(x);
    free(codes);
    free(out);
    free(ref);
}

/* Three panels (70 units: a partial last panel), default bins. */
static void test_brute_force_default(void **state)
{
    (void)state;
    check_against_brute(400, 70, 20, 1e-6, 11);
}

/* Groups of more than 255 rows (byte counters flushed) spread over two row chunks, few bins,
 * another threshold. */
static void test_brute_force_long_groups(void **state)
{
    (void)state;
    check_against_brute(5000, 12, 3, 0.25, 12);
}

/* More rows than the kernels' 16-bit counts hold: with one bin, units 5 and 6 share about
 * 75,000 non-zero rows, a cell above 65535; the counts are moved into 32-bit ones in time. */
static void test_brute_force_many_rows(void **state)
{
    (void)state;
    check_against_brute(150001, 7, 1, 1e-6, 15);
}

/* Bins that need several passes of every kernel, and bins = 1. */
static void test_brute_force_bins(void **state)
{
    (void)state;
    check_against_brute(300, 33, 37, 1e-6, 13);
    check_against_brute(500, 9, 1, 1e-6, 14);
}

/* The numpy "linear" quantile, written from its definition, on a qsort'ed copy. */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The binning of every unit of x (rows x dim) against the rule written from its definition:
 * edges by numpy's "linear" quantiles of a qsort'ed copy of the values above zt, codes by
 * 1 + #{edges <= value}; with every binning code path this CPU runs (the AVX-512 one and the
 * portable one, chosen with the counting kernel). */
static void check_binning(const float *x, int64_t rows, int64_t dim, int bins, double zt)
{
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    opt.bins = bins;
    opt.zero_threshold = zt;
    const int B = bins;
    uint8_t *codes = malloc((size_t)(rows * dim));
    double *edges = malloc((size_t)(dim * (B > 1 ? B - 1 : 1)) * sizeof *edges);
    int64_t *nonzero = malloc((size_t)dim * sizeof *nonzero);
    double *v = malloc((size_t)rows * sizeof *v);
    for (size_t kern = 0; kern < sizeof KERNELS / sizeof KERNELS[0]; kern++) {
        if (!cvg__mi_force_kernel(KERNELS[kern])) continue;
        memset(codes, 0xee, (size_t)(rows * dim));
        assert_cvg_ok(cvg_mi_bin(x, rows, dim, &opt, codes, edges, nonzero));
        for (int64_t i = 0; i < dim; i++) {
            int64_t n = 0;
            for (int64_t r = 0; r < rows; r++)
                if (x[r * dim + i] > zt) v[n++] = x[r * dim + i];
            assert_int_equal(nonzero[i], n);
            qsort(v, (size_t)n, sizeof *v, cmp_double);
            const double *e = edges + i * (B - 1);
            for (int k = 1; k < B; k++) {
                double want = zt;
                if (n > 0) {
                    double q = (double)k / B, virt = (n - 1) * q, lo = floor(virt),
                           g = virt - lo;
                    double a = v[(int64_t)lo],
                           b = v[(int64_t)lo + 1 < n ? (int64_t)lo + 1 : n - 1];
                    want = g >= 0.5 ? b - (b - a) * (1 - g) : a + (b - a) * g;
                }
                if (e[k - 1] != want)
                    fail_msg("%s: unit %lld edge %d = %.17g, want %.17g", KERNELS[kern],
                             (long long)i, k, e[k - 1], want);
                if (k > 1) assert_true(e[k - 2] <= e[k - 1]);
            }
            for (int64_t r = 0; r < rows; r++) {
                double val = x[r * dim + i];
                int want = 0;
                if (val > zt) {
                    want = 1;
                    for (int k = 0; k < B - 1; k++) want += e[k] <= val;
                }
                if (codes[i * rows + r] != want)
                    fail_msg("%s: unit %lld row %lld code %d, want %d", KERNELS[kern],
                             (long long)i, (long long)r, codes[i * rows + r], want);
            }
        }
    }
    cvg__mi_force_kernel(NULL);
    free(v);
    free(nonzero);
    free(edges);
    free(codes);
}

static void test_bin_rules(void **state)
{
    (void)state;
    const int64_t rows = 3001, dim = 12;
    float *x = make_data(rows, dim, 21);
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    assert_int_equal(opt.bins, 20);
    assert_true(opt.zero_threshold == 1e-6);
    assert_int_equal(opt.bias_correction, 0);
    assert_int_equal(opt.bits, 0);
    check_binning(x, rows, dim, 20, 1e-6);
    const int B = opt.bins;
    uint8_t *codes = malloc((size_t)(rows * dim));
    assert_cvg_ok(cvg_mi_bin(x, rows, dim, &opt, codes, NULL, NULL));
    /* Special units: dead and constant units are one bin; ties go to the bin above an edge. */
    for (int64_t r = 0; r < rows; r++) {
        assert_int_equal(codes[0 * rows + r], 0);
        assert_int_equal(codes[1 * rows + r], B); /* all edges = 2.5 <= 2.5 */
        assert_int_equal(codes[2 * rows + r], (r % 2) ? B : 0);
    }
    free(codes);
    free(x);
}

/* The edges are order statistics chosen by partitioning (not a full sort): orders and value
 * patterns that are hard for partition-based selection (sorted, reversed, organ pipe, few
 * distinct values, one distinct value with outliers), long enough for many partition levels,
 * with the bin counts of the vector assignment (<= 31 bins), the general one (37) and 1, 2. */
static void test_bin_orders(void **state)
{
    (void)state;
    const int64_t rows = 10007, dim = 19; /* two unit blocks, rows not a multiple of 16 */
    float *x = malloc((size_t)(rows * dim) * sizeof *x);
    uint64_t st = 99;
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * dim;
        const double u = test_rand_uniform(&st);
        row[0] = (float)(r + 1);                                      /* ascending */
        row[1] = (float)(rows - r);                                   /* descending */
        row[2] = (float)(r < rows / 2 ? r : rows - r);                /* organ pipe */
        row[3] = (float)(1 + test_rand_u64(&st) % 3);                 /* three values */
        row[4] = r % 1000 == 7 ? (float)r : 2.0f;                     /* one value + outliers */
        row[5] = (float)u;                                            /* uniform */
        row[6] = u < 0.5 ? 0.0f : (float)(r % 7);                     /* zeros, sawtooth */
        row[7] = (float)((r * 7919) % 101);                           /* many duplicates */
        row[8] = r % 2 ? 0.0f : (float)((r / 2) % 64);                /* period */
        row[9] = (float)(test_rand_normal(&st));                      /* negatives too */
        row[10] = u < 0.999 ? 0.0f : (float)u;                        /* ~10 non-zero */
        row[11] = r % 2000 == 0 ? 1.0f : 0.0f;                        /* 6 equal values */
        for (int64_t i = 12; i < dim; i++) row[i] = (float)test_rand_normal(&st) * (float)i;
    }
    static const int bins[] = {20, 31, 37, 2, 1};
    for (size_t b = 0; b < sizeof bins / sizeof bins[0]; b++)
        check_binning(x, rows, dim, bins[b], 1e-6);
    check_binning(x, rows, dim, 20, -INFINITY); /* no zero bin: negatives binned */
    check_binning(x, rows, dim, 7, 0.5);
    free(x);
}

/* n = 20m + 1 distinct non-zero values: the edges are data values, and bins 1..19 hold exactly
 * m values each, bin 20 holds m + 1 (equal mass); the zeros are all in bin 0. */
static void test_equal_mass(void **state)
{
    (void)state;
    const int64_t m = 50, n = 20 * m + 1, zeros = 300, rows = n + zeros;
    float *x = malloc((size_t)rows * sizeof *x);
    uint64_t st = 5;
    for (int64_t r = 0; r < rows; r++) x[r] = r < n ? (float)(r + 1) * 0.25f : 0.0f;
    for (int64_t r = rows - 1; r > 0; r--) { /* shuffle */
        int64_t k = (int64_t)(test_rand_u64(&st) % (uint64_t)(r + 1));
        float t = x[r];
        x[r] = x[k];
        x[k] = t;
    }
    uint8_t *codes = malloc((size_t)rows);
    assert_cvg_ok(cvg_mi_bin(x, rows, 1, NULL, codes, NULL, NULL));
    int64_t hist[21] = {0};
    for (int64_t r = 0; r < rows; r++) hist[codes[r]]++;
    assert_int_equal(hist[0], zeros);
    for (int b = 1; b < 20; b++) assert_int_equal(hist[b], m);
    assert_int_equal(hist[20], m + 1);
    /* entropy: the diagonal of the MI matrix */
    double h;
    assert_cvg_ok(cvg_mi_matrix(x, rows, 1, NULL, &h));
    double want = 0;
    for (int b = 0; b <= 20; b++) want -= (double)hist[b] / rows * log((double)hist[b] / rows);
    assert_true(fabs(h - want) < 1e-12);
    free(codes);
    free(x);
}

/* Parts of the matrix (MPI ranks) summed are the whole matrix, bit for bit: every entry is
 * computed by exactly one part, the others hold 0. */
static void test_parts_sum_to_the_whole(void **state)
{
    (void)state;
    const int64_t rows = 1500, dim = 150; /* several blocks of units */
    float *x = make_data(rows, dim, 7);
    double *whole = malloc((size_t)(dim * dim) * sizeof *whole);
    double *sum = calloc((size_t)(dim * dim), sizeof *sum);
    double *part = malloc((size_t)(dim * dim) * sizeof *part);
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    assert_cvg_ok(cvg_mi_matrix(x, rows, dim, &opt, whole));
    opt.parts = 3;
    int64_t nonzero[3] = {0, 0, 0};
    for (opt.part = 0; opt.part < 3; opt.part++) {
        for (int64_t i = 0; i < dim * dim; i++) part[i] = NAN; /* every entry is written */
        assert_cvg_ok(cvg_mi_matrix(x, rows, dim, &opt, part));
        for (int64_t i = 0; i < dim * dim; i++) {
            assert_false(isnan(part[i]));
            if (part[i] != 0) {
                assert_true(sum[i] == 0); /* no entry from two parts */
                nonzero[opt.part]++;
            }
            sum[i] += part[i];
        }
    }
    assert_memory_equal(sum, whole, (size_t)(dim * dim) * sizeof *sum);
    for (int p = 0; p < 3; p++) assert_true(nonzero[p] > dim * dim / 6); /* shared out fairly */
    opt.part = 3;
    assert_int_equal(cvg_mi_matrix(x, rows, dim, &opt, part), CVG_ERR_ARG);
    free(x), free(whole), free(sum), free(part);
}

static void test_properties(void **state)
{
    (void)state;
    const int64_t rows = 2000, dim = 45;
    float *x = make_data(rows, dim, 31);
    double *nats = malloc((size_t)(dim * dim) * sizeof *nats);
    double *bits = malloc((size_t)(dim * dim) * sizeof *bits);
    double *perm_out = malloc((size_t)(dim * dim) * sizeof *perm_out);
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    assert_cvg_ok(cvg_mi_matrix(x, rows, dim, &opt, nats));
    opt.bits = 1;
    assert_cvg_ok(cvg_mi_matrix(x, rows, dim, &opt, bits));
    opt.bits = 0;
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = 0; j < dim; j++) {
            double v = nats[i * dim + j];
            assert_true(v == nats[j * dim + i]);                          /* symmetric */
            assert_true(v >= 0);                                          /* plug-in >= 0 */
            assert_true(v <= fmin(nats[i * dim + i], nats[j * dim + j]) + 1e-12);
            assert_true(fabs(bits[i * dim + j] - v / log(2.0)) <= 1e-12); /* bits */
        }
    /* Dead and constant units: zero entropy, zero MI. Half zero / half constant: ln 2. */
    for (int64_t j = 0; j < dim; j++) {
        assert_true(nats[0 * dim + j] == 0.0);
        assert_true(nats[1 * dim + j] == 0.0);
    }
    assert_true(fabs(nats[2 * dim + 2] - log(2.0)) < 1e-12);
    /* A monotone transform of a unit carries all its information: MI = entropy. */
    assert_true(fabs(nats[5 * dim + 6] - nats[6 * dim + 6]) < 1e-12);
    assert_true(nats[5 * dim + 5] == nats[6 * dim + 6]);
    assert_true(nats[6 * dim + 6] > 2.0);

    /* Invariance to a permutation of the columns. */
    int64_t *pi = malloc((size_t)dim * sizeof *pi);
    for (int64_t i = 0; i < dim; i++) pi[i] = i;
    uint64_t st = 77;
    for (int64_t i = dim - 1; i > 0; i--) {
        int64_t k = (int64_t)(test_rand_u64(&st) % (uint64_t)(i + 1)), t = pi[i];
        pi[i] = pi[k];
        pi[k] = t;
    }
    float *y = malloc((size_t)(rows * dim) * sizeof *y);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < dim; i++) y[r * dim + pi[i]] = x[r * dim + i];
    assert_cvg_ok(cvg_mi_matrix(y, rows, dim, &opt, perm_out));
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = 0; j < dim; j++)
            assert_true(fabs(perm_out[pi[i] * dim + pi[j]] - nats[i * dim + j]) < 1e-12);

    /* Miller-Madow: the diagonal is the corrected entropy H + (m - 1) / (2N). */
    double *mm = perm_out;
    opt.bias_correction = 1;
    assert_cvg_ok(cvg_mi_matrix(x, rows, dim, &opt, mm));
    uint8_t *codes = malloc((size_t)(rows * dim));
    assert_cvg_ok(cvg_mi_bin(x, rows, dim, &opt, codes, NULL, NULL));
    for (int64_t i = 0; i < dim; i++) {
        int seen[256] = {0}, m = 0;
        for (int64_t r = 0; r < rows; r++) seen[codes[i * rows + r]] = 1;
        for (int c = 0; c < 256; c++) m += seen[c];
        assert_true(fabs(mm[i * dim + i] - (nats[i * dim + i] + (m - 1) / (2.0 * rows))) <
                    1e-12);
    }
    free(codes);
    free(y);
    free(pi);
    free(x);
    free(nats);
    free(bits);
    free(perm_out);
}

/* Tiny shapes: one row, one unit, fewer non-zero values than bins. */
static void test_small_shapes(void **state)
{
    (void)state;
    float one = 3.0f;
    double out;
    assert_cvg_ok(cvg_mi_matrix(&one, 1, 1, NULL, &out));
    assert_true(out == 0.0);
    float x[6] = {0, 1, 0, 2, 0, 3}; /* 2 units x 3 rows: unit 0 = 0,0,0; unit 1 = 1,2,3 */
    double m[4];
    uint8_t codes[6];
    double edges[2 * 19];
    assert_cvg_ok(cvg_mi_bin(x, 3, 2, NULL, codes, edges, NULL));
    /* unit 1: 3 values, 20 bins: edges between them, each value its own bin */
    assert_int_equal(codes[3], 1);
    assert_int_equal(codes[4] > codes[3] && codes[5] > codes[4], 1);
    assert_cvg_ok(cvg_mi_matrix(x, 3, 2, NULL, m));
    assert_true(m[0] == 0.0 && m[1] == 0.0 && m[2] == 0.0);
    assert_true(fabs(m[3] - log(3.0)) < 1e-15);
}

static int cancel_progress(const char *task, uint64_t done, uint64_t total, void *user)
{
    (void)task;
    (void)done;
    (void)total;
    ++*(int *)user;
    return 1;
}

static void test_errors(void **state)
{
    (void)state;
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    double out[16];
    uint8_t codes[8];
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    assert_int_equal(cvg_mi_matrix(NULL, 4, 2, &opt, out), CVG_ERR_ARG);
    assert_int_equal(cvg_mi_matrix(x, 0, 2, &opt, out), CVG_ERR_EMPTY);
    assert_int_equal(cvg_mi_matrix(x, 4, 0, &opt, out), CVG_ERR_EMPTY);
    opt.bins = 0;
    assert_int_equal(cvg_mi_matrix(x, 4, 2, &opt, out), CVG_ERR_ARG);
    opt.bins = 255;
    assert_int_equal(cvg_mi_matrix(x, 4, 2, &opt, out), CVG_ERR_ARG);
    opt.bins = 20;
    opt.zero_threshold = NAN;
    assert_int_equal(cvg_mi_bin(x, 4, 2, &opt, codes, NULL, NULL), CVG_ERR_ARG);
    opt.zero_threshold = 1e-6;
    x[5] = NAN;
    assert_int_equal(cvg_mi_matrix(x, 4, 2, &opt, out), CVG_ERR_NONFINITE);
    assert_non_null(strstr(cvg_last_error(), "row 2, unit 1"));
    x[5] = INFINITY;
    assert_int_equal(cvg_mi_bin(x, 4, 2, &opt, codes, NULL, NULL), CVG_ERR_NONFINITE);
    x[5] = 6;
    /* Non-finite values inside the vectorized part (16-row steps, two unit blocks): the first
     * unit with one is named, with every binning path. */
    {
        enum { R = 40, D = 20 };
        float *y = calloc(R * D, sizeof *y);
        uint8_t *yc = malloc(R * D);
        y[21 * D + 17] = NAN;
        y[30 * D + 18] = -INFINITY;
        y[33 * D + 3] = INFINITY;
        for (size_t k = 0; k < sizeof KERNELS / sizeof KERNELS[0]; k++) {
            if (!cvg__mi_force_kernel(KERNELS[k])) continue;
            assert_int_equal(cvg_mi_bin(y, R, D, &opt, yc, NULL, NULL), CVG_ERR_NONFINITE);
            assert_non_null(strstr(cvg_last_error(), "row 33, unit 3"));
            y[33 * D + 3] = 0;
            assert_int_equal(cvg_mi_bin(y, R, D, &opt, yc, NULL, NULL), CVG_ERR_NONFINITE);
            assert_non_null(strstr(cvg_last_error(), "row 21, unit 17"));
            y[33 * D + 3] = INFINITY;
        }
        cvg__mi_force_kernel(NULL);
        free(y);
        free(yc);
    }
    uint8_t bad[8] = {0, 1, 2, 3, 0, 1, 2, 9};
    assert_int_equal(cvg_mi_from_codes(bad, 4, 2, 4, &opt, out), CVG_ERR_ARG);
    assert_non_null(strstr(cvg_last_error(), "unit 1"));
    assert_int_equal(cvg_mi_from_codes(bad, 4, 2, 256, &opt, out), CVG_ERR_ARG);
    assert_cvg_ok(cvg_mi_from_codes(bad, 4, 2, 10, &opt, out));
    int calls = 0;
    opt.progress = cancel_progress;
    opt.progress_user = &calls;
    opt.threads = 1;
    assert_int_equal(cvg_mi_matrix(x, 4, 2, &opt, out), CVG_ERR_CANCELLED);
    assert_int_equal(calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bin_rules),
        cmocka_unit_test(test_bin_orders),
        cmocka_unit_test(test_equal_mass),
        cmocka_unit_test(test_small_shapes),
        cmocka_unit_test(test_brute_force_default),
        cmocka_unit_test(test_brute_force_long_groups),
        cmocka_unit_test(test_brute_force_many_rows),
        cmocka_unit_test(test_brute_force_bins),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_parts_sum_to_the_whole),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
