/* The MI counting kernels: every kernel this CPU runs (and its lanes-32..63 form where it
 * has one) gives exactly the joint counts of a scalar count (random panels, group sizes across the kernels' segment and block lengths,
 * bins across the bit-sliced kernel's byte groups and its limit of 63), the MI matrix is
 * bit-identical whichever kernel counted, and the kernel chosen by timing is one of them. */
#include <stdlib.h>
#include <string.h>

#include "mi/mi_internal.h"
#include "test_support.h"

static const char *const KERNELS[] = {"bitslice", "avx512", "avx2", "generic"};
enum { NKERNELS = sizeof KERNELS / sizeof KERNELS[0], L = CVG_MI_LANES };

/* Code in 0..bins: 0 with probability zero_pct %, else uniform over 1..bins. */
static uint8_t random_code(uint64_t *st, int bins, int zero_pct)
{
    if ((int)(test_rand_u64(st) % 100) < zero_pct) return 0;
    return (uint8_t)(1 + test_rand_u64(st) % (uint64_t)bins);
}

/* One kernel call against a scalar count: rows x 64 panel, one unit's rows grouped by code in
 * random order. */
static void check_counts(int bins, int64_t rows, int zero_pct, uint64_t seed)
{
    uint64_t st = seed;
    uint8_t *panel = malloc((size_t)rows * L), *unit = malloc((size_t)rows);
    int32_t *perm = malloc((size_t)rows * sizeof *perm);
    int64_t *goff = calloc((size_t)bins + 1, sizeof *goff);
    const size_t ncnt = (size_t)bins * bins * L;
    uint16_t *ref = calloc(ncnt, sizeof *ref), *cnt = malloc(ncnt * sizeof *cnt);
    for (int64_t e = 0; e < rows * L; e++) panel[e] = random_code(&st, bins, zero_pct);
    for (int64_t r = 0; r < rows; r++) unit[r] = random_code(&st, bins, zero_pct);
    /* groups: rows of code a in a random order (the kernels read them in any order) */
    int64_t n = 0;
    for (int a = 1; a <= bins; a++) {
        const int64_t first = n;
        for (int64_t r = 0; r < rows; r++)
            if (unit[r] == a) perm[n++] = (int32_t)r;
        for (int64_t k = n - 1; k > first; k--) {
            const int64_t j = first + (int64_t)(test_rand_u64(&st) % (uint64_t)(k - first + 1));
            const int32_t t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
        }
        goff[a] = n;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int l = 0; l < L; l++) {
            const int a = unit[r], b = panel[r * L + l];
            if (a && b) ref[((a - 1) * bins + (b - 1)) * L + l]++;
        }
    for (int k = 0; k < NKERNELS; k++) {
        if (!cvg__mi_force_kernel(KERNELS[k])) continue;
        cvg__mi_count_fn upper;
        const cvg__mi_count_fn count = cvg__mi_kernel(bins, &upper);
        /* the kernels add to what is there */
        for (size_t e = 0; e < ncnt; e++) cnt[e] = (uint16_t)(e % 7);
        count(panel, perm, goff, bins, cnt);
        for (size_t e = 0; e < ncnt; e++)
            if (cnt[e] != (uint16_t)(ref[e] + e % 7))
                fail_msg("kernel %s (%s), bins %d, rows %lld: cell (%d, %d) lane %d = %d, "
                         "scalar count %d", KERNELS[k], cvg__mi_kernel_name(bins), bins,
                         (long long)rows, (int)(e / L / bins) + 1, (int)(e / L % bins) + 1,
                         (int)(e % L), cnt[e] - (int)(e % 7), ref[e]);
        if (!upper) continue;
        /* the lanes-32..63 form (avx512): those lanes counted, lanes 0..31 left as they are */
        for (size_t e = 0; e < ncnt; e++) cnt[e] = (uint16_t)(e % 7);
        upper(panel, perm, goff, bins, cnt);
        for (size_t e = 0; e < ncnt; e++) {
            const uint16_t want = (uint16_t)((e % L >= 32 ? ref[e] : 0) + e % 7);
            if (cnt[e] != want)
                fail_msg("upper kernel of %s, bins %d, rows %lld: cell (%d, %d) lane %d = %d, "
                         "want %d", cvg__mi_kernel_name(bins), bins, (long long)rows,
                         (int)(e / L / bins) + 1, (int)(e / L % bins) + 1, (int)(e % L),
                         cnt[e] - (int)(e % 7), want - (int)(e % 7));
        }
    }
    cvg__mi_force_kernel(NULL);
    free(panel);
    free(unit);
    free(perm);
    free(goff);
    free(ref);
    free(cnt);
}

/* bins around the byte groups (8, 16, 24) and the bit-sliced kernel's limit (63, then the
 * compare kernel); rows so that groups are shorter than 16, around 255 and several times 255 */
static void test_counts_exact(void **state)
{
    (void)state;
    static const int bins[] = {1, 2, 7, 8, 9, 15, 16, 17, 20, 23, 24, 25, 40, 63, 64, 100, 254};
    for (size_t b = 0; b < sizeof bins / sizeof bins[0]; b++) {
        check_counts(bins[b], 37, 50, 1 + b);
        /* many bins: fewer rows (the compare kernels take bins^2 passes) */
        check_counts(bins[b], bins[b] <= 64 ? 1500 : 400, 30, 100 + b);
    }
    /* long groups: one bin holds ~3000 rows (12 segments of 255 in the bit-sliced kernel) */
    check_counts(1, 4096, 25, 7);
    check_counts(20, 4096, 50, 8);
    check_counts(3, 5000, 0, 9);
}

/* The whole matrix, bit for bit against the generic kernel: several chunks of rows, a partial
 * last panel, the default bins and bins past the bit-sliced kernel's limit. */
static void check_matrix_identical(int64_t rows, int64_t dim, int bins, uint64_t seed)
{
    uint64_t st = seed;
    uint8_t *codes = malloc((size_t)(rows * dim));
    for (int64_t i = 0; i < dim; i++) {
        const int zero_pct = (int)(i % 5) * 20; /* 0 .. 80 % zeros: units of every density */
        for (int64_t r = 0; r < rows; r++) {
            /* depend on unit 0 for half the units, so the MI is not all near 0 */
            uint8_t c = random_code(&st, bins, zero_pct);
            if (i % 2 && test_rand_u64(&st) % 2) c = codes[r];
            codes[i * rows + r] = c;
        }
    }
    double *ref = malloc((size_t)(dim * dim) * sizeof *ref);
    double *out = malloc((size_t)(dim * dim) * sizeof *out);
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    opt.bins = bins;
    assert_true(cvg__mi_force_kernel("generic"));
    assert_cvg_ok(cvg_mi_from_codes(codes, rows, dim, bins + 1, &opt, ref));
    for (int k = 0; k < NKERNELS; k++) {
        if (!cvg__mi_force_kernel(KERNELS[k])) continue;
        for (int threads = 1; threads <= 2; threads++) {
            opt.threads = threads;
            memset(out, 0xff, (size_t)(dim * dim) * sizeof *out);
            assert_cvg_ok(cvg_mi_from_codes(codes, rows, dim, bins + 1, &opt, out));
            if (memcmp(out, ref, (size_t)(dim * dim) * sizeof *out) != 0)
                fail_msg("kernel %s, %d threads, bins %d: MI differs from the generic kernel's",
                         cvg__mi_kernel_name(bins), threads, bins);
        }
    }
    /* and the kernel chosen by timing */
    cvg__mi_force_kernel(NULL);
    opt.threads = 2;
    assert_cvg_ok(cvg_mi_from_codes(codes, rows, dim, bins + 1, &opt, out));
    assert_memory_equal(out, ref, (size_t)(dim * dim) * sizeof *out);
    free(codes);
    free(ref);
    free(out);
}

static void test_matrix_bit_identical(void **state)
{
    (void)state;
    check_matrix_identical(5000, 70, 20, 11);
    check_matrix_identical(1500, 20, 70, 12);
    check_matrix_identical(3000, 20, 1, 13);
}

/* The choice by timing names a kernel this CPU runs, and timing lists them all. */
static void test_choice(void **state)
{
    (void)state;
    const char *names[8];
    double seconds[8];
    const int n = cvg__mi_time_kernels(20, 2, names, seconds);
    assert_true(n >= 1);
    const char *chosen = cvg__mi_kernel_name(20);
    int found = 0;
    for (int k = 0; k < n; k++) {
        assert_true(seconds[k] > 0 && seconds[k] < 1);
        found |= !strcmp(names[k], chosen);
    }
    assert_true(found);
    assert_false(cvg__mi_force_kernel("no such kernel"));
    assert_string_equal(cvg__mi_kernel_name(20), chosen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_exact),
        cmocka_unit_test(test_matrix_bit_identical),
        cmocka_unit_test(test_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
