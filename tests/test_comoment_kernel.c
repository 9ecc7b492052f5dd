/* The fused co-moment kernel (src/stats/comoment_kernel.c) against a brute-force double product
 * of the same float data: every width around the panel (16) and tile (8 x 48) boundaries,
 * partial sub-blocks, the AVX-512 and the portable C kernels, work split over teams of
 * threads; and the packed layout itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/comoment_kernel.h"
#include "test_support.h"

/* The packed sub-block of k random rows of width D (uniform in [-1, 1) on float grid) and the
 * raw rows (leading dimension ld) it came from, centred on c. */
static float *make_rows(int64_t k, int64_t ld, uint64_t seed)
{
    float *x = malloc(sizeof(float) * (size_t)(k * ld));
    uint64_t s = seed;
    for (int64_t i = 0; i < k * ld; i++) x[i] = (float)(test_rand_uniform(&s) * 2 - 1);
    return x;
}

static void test_pack_layout(void **state)
{
    (void)state;
    const int64_t widths[] = {1, 15, 16, 17, 40, 100};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        const int64_t D = widths[w], k = 5, ld = D + 3, Dp = ck_padded(D);
        assert_int_equal(Dp % CK_PANEL, 0);
        assert_true(Dp >= D && Dp < D + CK_PANEL);
        float *x = make_rows(k, ld, 7 + (uint64_t)w), *c = malloc(sizeof(float) * (size_t)D);
        double *cd = malloc(sizeof(double) * (size_t)D);
        for (int64_t j = 0; j < D; j++) c[j] = (float)(cd[j] = 0.25 * (double)j);
        float *p = malloc(sizeof(float) * (size_t)(k * Dp)), *q = malloc(sizeof(float) * (size_t)(k * Dp));
        double *xd = malloc(sizeof(double) * (size_t)(k * ld));
        for (int64_t i = 0; i < k * ld; i++) xd[i] = x[i];
        for (int64_t i = 0; i < k * Dp; i++) p[i] = q[i] = NAN; /* every entry must be written */
        /* in three parts split inside panels, as rows read from three files are */
        const int64_t cut[4] = {0, D / 3, 2 * D / 3, D};
        for (int part = 0; part < 3; part++) {
            ck_pack_f32(x + cut[part], k, ld, cut[part], cut[part + 1] - cut[part], c, p);
            ck_pack_f64(xd + cut[part], k, ld, cut[part], cut[part + 1] - cut[part], cd, q);
        }
        ck_pack_pad(k, D, p);
        ck_pack_pad(k, D, q);
        for (int64_t r = 0; r < k; r++)
            for (int64_t j = 0; j < Dp; j++) {
                const int64_t at = ((j / CK_PANEL) * k + r) * CK_PANEL + j % CK_PANEL;
                const float want = j < D ? x[r * ld + j] - c[j] : 0.0f;
                assert_true(p[at] == want);
                assert_true(q[at] == (j < D ? (float)((double)x[r * ld + j] - cd[j]) : 0.0f));
            }
        free(x), free(c), free(cd), free(p), free(q), free(xd);
    }
}

/* sum_r y_ri y_rj in double over the packed sub-block, for j >= i. */
static double product(const float *p, int64_t k, int64_t i, int64_t j)
{
    double s = 0;
    for (int64_t r = 0; r < k; r++)
        s += (double)p[((i / CK_PANEL) * k + r) * CK_PANEL + i % CK_PANEL] *
             (double)p[((j / CK_PANEL) * k + r) * CK_PANEL + j % CK_PANEL];
    return s;
}

static void check_update(int64_t D, int64_t k, int portable, int team)
{
    const int64_t Dp = ck_padded(D);
    float *x = make_rows(k, D, (uint64_t)(D * 131 + k)), *c = calloc((size_t)D, sizeof(float));
    float *p = aligned_alloc(64, sizeof(float) * (size_t)(k * Dp));
    ck_pack_f32(x, k, D, 0, D, c, p);
    ck_pack_pad(k, D, p);
    double *M = malloc(sizeof(double) * (size_t)(D * D));
    for (int64_t i = 0; i < D * D; i++) M[i] = 1.0; /* added into, not overwritten */
    int *owner = ck_assign_blocks(D, team);
    assert_non_null(owner);
    const int64_t staged = ck_staging_size(D);
    assert_true(staged >= D * (D + 1) / 2 && staged <= (Dp + 8) * Dp);
    float *F = malloc(sizeof(float) * (size_t)staged);
    for (int64_t i = 0; i < staged; i++) F[i] = 1e30f; /* the first update assigns */
    ck_force_portable(portable);
    for (int me = 0; me < team; me++) { /* twice: assign, then add; flushed once */
        ck_update(p, k, D, owner, me, team, F, 1);
        ck_update(p, k, D, owner, me, team, F, 0);
        ck_flush(F, D, owner, me, team, M);
    }
    ck_force_portable(0);
    for (int64_t i = 0; i < D; i++)
        for (int64_t j = i; j < D; j++) {
            const double want = 1.0 + 2 * product(p, k, i, j), got = M[i * D + j];
            /* float accumulation over k rows of values in [-1, 1] */
            if (fabs(got - want) > 2e-6 * (double)k)
                fail_msg("D=%lld k=%lld portable=%d team=%d: M[%lld][%lld] = %.9g, want %.9g",
                         (long long)D, (long long)k, portable, team, (long long)i, (long long)j, got, want);
        }
    free(x), free(c), free(p), free(M), free(owner), free(F);
}

static void test_update_matches_brute_force(void **state)
{
    (void)state;
    const int64_t widths[] = {1, 2, 7, 8, 15, 16, 17, 31, 33, 47, 48, 49, 64, 95, 96, 97, 130, 200};
    const int64_t rows[] = {1, 3, 128};
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++)
        for (size_t r = 0; r < sizeof rows / sizeof *rows; r++)
            for (int portable = 0; portable <= 1; portable++)
                check_update(widths[w], rows[r], portable, 1);
}

/* Any team size covers every block exactly once, including a team smaller than planned. */
static void test_update_split_over_threads(void **state)
{
    (void)state;
    for (int team = 2; team <= 5; team++) {
        check_update(200, 128, 0, team);
        check_update(97, 64, 1, team);
    }
    /* the blocks' costs (width x rows above their end) are shared about evenly: no thread has
     * more than one block's cost above another */
    const int64_t D = 500, width = CK_TILE_PANELS * CK_PANEL;
    int *owner = ck_assign_blocks(D, 4);
    int64_t load[4] = {0}, biggest = 0;
    for (int64_t q = 0; q < ck_block_count(D); q++) {
        assert_true(owner[q] >= 0 && owner[q] < 4);
        const int64_t j1 = (q + 1) * width < D ? (q + 1) * width : D, cost = (j1 - q * width) * j1;
        load[owner[q]] += cost;
        biggest = cost > biggest ? cost : biggest;
    }
    for (int t = 1; t < 4; t++) assert_true(llabs((long long)(load[t] - load[0])) <= biggest);
    free(owner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_layout),
        cmocka_unit_test(test_update_matches_brute_force),
        cmocka_unit_test(test_update_split_over_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
