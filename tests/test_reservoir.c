/* The bottom-k reservoir: uniform inclusion, independence of chunking, exact merge of shards. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "test_support.h"
#include "stats/reservoir.h"

static void fill(reservoir *r, int64_t first, int64_t count)
{
    for (int64_t row = first; row < first + count; row++) {
        const float v[2] = {(float)row, -(float)row};
        reservoir_offer_f32(r, row, v);
    }
}

/* Each of n rows is kept with probability R/n: over many seeds the inclusion counts follow a
 * binomial; check a chi-square statistic over rows against a generous bound. */
static void test_uniform_inclusion(void **state)
{
    (void)state;
    enum { ROWS = 400, CAP = 100, SEEDS = 400 };
    int counts[ROWS] = {0};
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        reservoir r;
        assert_cvg_ok(reservoir_init(&r, CAP, 2, seed));
        fill(&r, 0, ROWS);
        assert_int_equal(r.size, CAP);
        for (int64_t s = 0; s < r.size; s++) {
            counts[r.rows[s]]++;
            assert_true(r.data[s * 2] == (float)r.rows[s]); /* values travel with their row */
        }
        reservoir_free(&r);
    }
    const double p = (double)CAP / ROWS, expect = SEEDS * p, var = SEEDS * p * (1 - p);
    double chi2 = 0;
    int first_half = 0;
    for (int i = 0; i < ROWS; i++) {
        chi2 += (counts[i] - expect) * (counts[i] - expect) / var;
        if (i < ROWS / 2) first_half += counts[i];
    }
    /* chi2 has ~ROWS degrees of freedom (mean 400, sd ~28): 550 is > 5 sd away. */
    if (chi2 > 550) fail_msg("inclusion counts not uniform: chi2 = %.1f", chi2);
    /* no drift towards early or late rows */
    assert_true(fabs(first_half - SEEDS * CAP / 2.0) < 5 * sqrt(SEEDS * CAP / 4.0));
}

static void test_merge_of_shards_equals_one_pass(void **state)
{
    (void)state;
    reservoir one, a, b, c;
    assert_cvg_ok(reservoir_init(&one, 64, 2, 7));
    assert_cvg_ok(reservoir_init(&a, 64, 2, 7));
    assert_cvg_ok(reservoir_init(&b, 64, 2, 7));
    assert_cvg_ok(reservoir_init(&c, 64, 2, 7));
    fill(&one, 0, 5000);
    fill(&a, 0, 1234);
    fill(&b, 1234, 3000);
    fill(&c, 4234, 766);
    assert_cvg_ok(reservoir_merge(&a, &b));
    assert_cvg_ok(reservoir_merge(&a, &c));
    reservoir_sort_by_row(&one);
    reservoir_sort_by_row(&a);
    assert_int_equal(a.size, one.size);
    for (int64_t s = 0; s < one.size; s++) {
        assert_int_equal(a.rows[s], one.rows[s]);
        assert_true(memcmp(a.data + 2 * s, one.data + 2 * s, 2 * sizeof(float)) == 0);
        if (s) assert_true(one.rows[s] > one.rows[s - 1]);
        /* every row's values moved with it (the sort permutes in place, cycle by cycle) */
        assert_true(one.data[2 * s] == (float)one.rows[s] && one.data[2 * s + 1] == -(float)one.rows[s]);
        assert_true(one.keys[s] == reservoir_key(7, one.rows[s]));
    }
    /* a different seed selects different rows; mismatched seeds refuse to merge */
    reservoir other;
    assert_cvg_ok(reservoir_init(&other, 64, 2, 8));
    fill(&other, 0, 5000);
    reservoir_sort_by_row(&other);
    int same = 0;
    for (int64_t s = 0; s < 64; s++) same += other.rows[s] == one.rows[s];
    assert_true(same < 32);
    assert_int_equal(reservoir_merge(&one, &other), CVG_ERR_SHAPE);
    reservoir_free(&one), reservoir_free(&a), reservoir_free(&b), reservoir_free(&c), reservoir_free(&other);
}

static void test_fewer_rows_than_capacity_and_zero_capacity(void **state)
{
    (void)state;
    reservoir r, z;
    assert_cvg_ok(reservoir_init(&r, 100, 2, 1));
    fill(&r, 0, 10);
    assert_int_equal(r.size, 10);
    assert_cvg_ok(reservoir_init(&z, 0, 2, 1));
    fill(&z, 0, 10);
    assert_int_equal(z.size, 0);
    reservoir_free(&r);
    reservoir_free(&z);
}

/* A bound announced for the rows to come keeps exactly the rows an unbounded reservoir keeps,
 * claims only those rows (each once, in row order), and a merge after it is lifted is exact. */
static void test_bound_keeps_the_same_rows(void **state)
{
    (void)state;
    enum { CAP = 50, FIRST = 1000, COUNT = 5000 };
    reservoir plain, bounded, shard, merged;
    assert_cvg_ok(reservoir_init(&plain, CAP, 2, 3));
    assert_cvg_ok(reservoir_init(&bounded, CAP, 2, 3));
    assert_cvg_ok(reservoir_bound_rows(&bounded, FIRST, COUNT));
    fill(&plain, FIRST, COUNT);
    int64_t claims = 0;
    for (int64_t row = FIRST; row < FIRST + COUNT; row++) {
        const int may = reservoir_may_keep(&bounded, row);
        const int64_t slot = reservoir_claim(&bounded, row);
        assert_int_equal(may, slot >= 0); /* the parallel pre-check agrees with the claim */
        if (slot < 0) continue;
        assert_int_equal(slot, claims++); /* nothing is ever evicted */
        bounded.data[slot * 2] = (float)row, bounded.data[slot * 2 + 1] = -(float)row;
    }
    assert_int_equal(claims, CAP);
    reservoir_sort_by_row(&plain);
    reservoir_sort_by_row(&bounded);
    assert_int_equal(plain.size, bounded.size);
    for (int64_t s = 0; s < CAP; s++) {
        assert_int_equal(plain.rows[s], bounded.rows[s]);
        assert_true(plain.data[2 * s] == bounded.data[2 * s] && plain.data[2 * s + 1] == bounded.data[2 * s + 1]);
    }
    /* once the bound is lifted, another shard merges exactly */
    assert_cvg_ok(reservoir_init(&shard, CAP, 2, 3));
    assert_cvg_ok(reservoir_init(&merged, CAP, 2, 3));
    fill(&shard, FIRST + COUNT, COUNT);
    fill(&merged, FIRST, 2 * COUNT);
    reservoir_unbound(&bounded);
    assert_true(reservoir_may_keep(&bounded, FIRST + COUNT)); /* no bound: every row may stay */
    assert_cvg_ok(reservoir_merge(&bounded, &shard));
    reservoir_sort_by_row(&bounded);
    reservoir_sort_by_row(&merged);
    for (int64_t s = 0; s < CAP; s++) assert_int_equal(bounded.rows[s], merged.rows[s]);
    assert_true(bounded.rows[CAP - 1] >= FIRST + COUNT); /* the second shard contributed */
    /* no more rows than the capacity: no bound */
    assert_cvg_ok(reservoir_bound_rows(&shard, 0, CAP));
    assert_true(shard.bound == UINT64_MAX);
    reservoir_free(&plain), reservoir_free(&bounded), reservoir_free(&shard), reservoir_free(&merged);
}

/* reservoir_claim_rows over batches of many sizes (a first batch larger than the capacity,
 * batches of many candidates: one selection; small ones: claim by claim) keeps the rows that
 * reservoir_claim one row at a time keeps, with each kept row's values in its slot; the heap
 * stays valid for the claims after it. */
static void test_batch_claims_keep_the_same_rows(void **state)
{
    (void)state;
    enum { CAP = 300, ROWS = 20000 };
    const int64_t sizes[] = {700, 1, 50, 3000, 20, 5000, 250, 9, 10000};
    reservoir one, batch;
    assert_cvg_ok(reservoir_init(&one, CAP, 1, 9));
    assert_cvg_ok(reservoir_init(&batch, CAP, 1, 9));
    int64_t *rows = malloc(ROWS * sizeof *rows), *slot = malloc(ROWS * sizeof *slot);
    int64_t first = 0;
    for (size_t b = 0; first < ROWS; b++) {
        const int64_t n = b < sizeof sizes / sizeof *sizes && first + sizes[b] < ROWS ? sizes[b] : ROWS - first;
        for (int64_t i = 0; i < n; i++) {
            rows[i] = first + 2 * i; /* increasing, not consecutive */
            const int64_t s = reservoir_claim(&one, rows[i]);
            if (s >= 0) one.data[s] = (float)rows[i];
        }
        reservoir_claim_rows(&batch, n, rows, slot);
        unsigned char *given = calloc(CAP, 1);
        for (int64_t i = n - 1; i >= 0; i--) /* a slot given twice holds the later row */
            if (slot[i] >= 0 && !given[slot[i]]) given[slot[i]] = 1, batch.data[slot[i]] = (float)rows[i];
        free(given);
        first += 2 * n;
        assert_int_equal(one.size, batch.size); /* the same rows, in any slots */
        for (int64_t x = 0; x < one.size; x++) {
            int found = 0;
            for (int64_t y = 0; y < batch.size && !found; y++) found = one.rows[x] == batch.rows[y];
            assert_true(found);
            assert_true(one.data[x] == (float)one.rows[x]);
        }
        for (int64_t y = 0; y < batch.size; y++) assert_true(batch.data[y] == (float)batch.rows[y]);
    }
    reservoir_free(&one), reservoir_free(&batch);
    free(rows), free(slot);
}

static int compare_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The bound is the capacity-th smallest key of the announced rows, from one row more than the
 * capacity to many rows per slot (one heap over every key for the few, the keys below a
 * threshold and a quickselect for the many), at several first rows, with 1 to 5 threads. */
static void test_bound_is_the_capacity_th_key(void **state)
{
    (void)state;
    const int64_t cases[][3] = {{50, 5000, 0}, {50, 120, 7}, {1000, 1001, 3}, {3, 100000, 11},
                                {64, 200, -5}, {7, 23, 100}, {999, 3000, 1}, {1, 10, 2}};
    const int threads_before = omp_get_max_threads();
    for (int threads = 1; threads <= 5; threads++) {
        omp_set_num_threads(threads);
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            const int64_t cap = cases[c][0], count = cases[c][1], first = cases[c][2] + 1000;
            uint64_t *keys = malloc((size_t)count * sizeof *keys);
            for (int64_t i = 0; i < count; i++) keys[i] = reservoir_key(9, first + i);
            qsort(keys, (size_t)count, sizeof *keys, compare_u64);
            reservoir r;
            assert_cvg_ok(reservoir_init(&r, cap, 1, 9));
            assert_cvg_ok(reservoir_bound_rows(&r, first, count));
            if (r.bound != keys[cap - 1])
                fail_msg("capacity %lld, %lld rows, %d threads: bound %llu, want %llu", (long long)cap,
                         (long long)count, threads, (unsigned long long)r.bound, (unsigned long long)keys[cap - 1]);
            reservoir_free(&r);
            free(keys);
        }
    }
    omp_set_num_threads(threads_before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform_inclusion),
        cmocka_unit_test(test_merge_of_shards_equals_one_pass),
        cmocka_unit_test(test_fewer_rows_than_capacity_and_zero_capacity),
        cmocka_unit_test(test_bound_keeps_the_same_rows),
        cmocka_unit_test(test_bound_is_the_capacity_th_key),
        cmocka_unit_test(test_batch_claims_keep_the_same_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
