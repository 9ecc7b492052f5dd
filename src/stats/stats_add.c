/* One batch of rows into every accumulator of a layer: the moments, the HSIC sums of the
 * debiased CKA and the reservoir.
 *
 * The moments accumulator calls back once per sub-block of 128 rows, on the thread that has
 * those rows in cache; the HSIC sums of the rows are taken there, about a reference point fixed
 * for the batch (the running mean before it), each thread into its own scratch, and moved to
 * the new mean afterwards (sqnorm.h). The reservoir decides on keys alone, serially, and the
 * kept rows are copied in parallel. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "stats/stats_internal.h"

/* Parts of a filler's rows (one per net at most). */
enum { MAX_PARTS = 64 };

typedef struct batch {
    const sqnorm_sums *hsic;     /* NULL: no HSIC sums kept */
    const row_parts *rows;
    const double *ref;
    double *scratch;             /* threads x scratch_size */
    int64_t scratch_size;
    unsigned char *block_bad;    /* per sub-block: left out as non-finite */
    reservoir *res;              /* filled rows: the reservoir their kept rows go to ... */
    const int64_t *slot;         /* ... and the slot of each row of the batch (-1: not kept) */
} batch;

static void copy_claimed(reservoir *res, const row_parts *rows, int64_t count, const int64_t *slot);

static void on_block(void *user, int thread, int64_t first, int64_t k, int finite,
                     const moments_block *block)
{
    batch *b = user;
    b->block_bad[first / MOMENTS_SUB_ROWS] = !finite;
    if (finite && b->slot) { /* rows made by a filler: its kept rows while they are in cache */
        const row_parts *r = block->rows;
        const void *base[MAX_PARTS];
        for (int p = 0; p < r->count && p < MAX_PARTS; p++)
            base[p] = (const char *)r->base[p] + (size_t)(block->at * r->ld[p]) * (r->is_float ? sizeof(float) : sizeof(double));
        const row_parts here = {r->count, r->is_float, base, r->ld, r->col};
        copy_claimed(b->res, &here, k, b->slot + first);
    }
    if (!finite || !b->hsic) return;
    double *scratch = b->scratch + thread * b->scratch_size;
    if (block && block->packed)
        sqnorm_packed_about(b->hsic, block->packed, k, block->centre_f, block->centre_d, b->ref,
                            scratch);
    else
        sqnorm_rows_about(b->hsic, b->rows, first, k, b->ref, scratch);
}

/* The reference of the HSIC sums: the running mean, or for the first rows of all the mean of
 * up to 128 of them (any finite point is exact; one near the mean keeps the sums small). */
static void hsic_reference(const cvg_stats *s, const row_parts *rows, int64_t n, double *ref)
{
    const int64_t D = s->dim;
    if (cvg_moments_count(s->moments) > 0) {
        memcpy(ref, cvg_moments_mean(s->moments), (size_t)D * sizeof *ref);
        return;
    }
    const int64_t k = n < MOMENTS_SUB_ROWS ? n : MOMENTS_SUB_ROWS;
    for (int p = 0; p < rows->count; p++)
        for (int64_t j = rows->col[p]; j < rows->col[p + 1]; j++) {
            double acc = 0;
            for (int64_t r = 0; r < k; r++) {
                const int64_t at = r * rows->ld[p] + j - rows->col[p];
                acc += rows->is_float ? (double)((const float *)rows->base[p])[at]
                                      : ((const double *)rows->base[p])[at];
            }
            ref[j] = isfinite(acc) ? acc / (double)k : 0.0;
        }
}

/* Claim reservoir slots for n rows (row r: global row global_rows[r], or row0 + r): slot[r]
 * the slot row r's values go to, or -1. Rows of sub-blocks block_bad marks (NULL: none) and
 * rows that cannot enter (above the bound or, the reservoir being full, above its largest key:
 * found in parallel, hashing every row) are refused; the claims of the rest together by one
 * call (reservoir_claim_rows: keys only); then a claim a later row of the same rows took over
 * is dropped, so each slot is written once. */
static void claim_slots(reservoir *res, int64_t n, const int64_t *global_rows, int64_t row0,
                        const unsigned char *block_bad, int64_t *slot, unsigned char *taken)
{
#pragma omp parallel for schedule(static) if (n >= 1024)
    for (int64_t r = 0; r < n; r++)
        slot[r] = (block_bad && block_bad[r / MOMENTS_SUB_ROWS]) ||
                  !reservoir_may_enter(res, global_rows ? global_rows[r] : row0 + r) ? -1 : 0;
    /* 0: a row to claim for; the claims of the rows together (reservoir_claim_rows) */
    int64_t m = 0, *at = malloc((size_t)n * sizeof *at), *want = malloc((size_t)n * sizeof *want);
    int64_t *got = malloc((size_t)n * sizeof *got);
    for (int64_t r = 0; r < n && at && want && got; r++)
        if (slot[r] == 0) at[m] = r, want[m++] = global_rows ? global_rows[r] : row0 + r;
    if (at && want && got) {
        reservoir_claim_rows(res, m, want, got);
        for (int64_t i = 0; i < m; i++) slot[at[i]] = got[i];
    } else {
        for (int64_t r = 0; r < n; r++)
            if (slot[r] == 0) slot[r] = reservoir_claim(res, global_rows ? global_rows[r] : row0 + r);
    }
    free(at), free(want), free(got);
    memset(taken, 0, (size_t)res->capacity);
    for (int64_t r = n - 1; r >= 0; r--) {
        if (slot[r] < 0) continue;
        if (taken[slot[r]]) slot[r] = -1;
        else taken[slot[r]] = 1;
    }
}

/* Copy the count rows given their slots (slot[r] < 0: not kept) into the reservoir, in
 * parallel. */
static void copy_claimed(reservoir *res, const row_parts *rows, int64_t count, const int64_t *slot)
{
    const int64_t W = res->width;
#pragma omp parallel for schedule(static) if (count >= 1024 && !omp_in_parallel())
    for (int64_t r = 0; r < count; r++) {
        if (slot[r] < 0) continue;
        float *dst = res->data + slot[r] * W;
        for (int p = 0; p < rows->count; p++) {
            const int64_t c0 = rows->col[p], w = rows->col[p + 1] - c0;
            if (rows->is_float) {
                memcpy(dst + c0, (const float *)rows->base[p] + r * rows->ld[p], (size_t)w * sizeof(float));
            } else {
                const double *x = (const double *)rows->base[p] + r * rows->ld[p];
                for (int64_t j = 0; j < w; j++) dst[c0 + j] = (float)x[j];
            }
        }
    }
}

/* The rows of a batch: given whole (fill NULL: rows), or made group by group by fill into
 * its own buffer (rows [first, first + count) of the batch, row 0 of *out being row first;
 * float rows). */
typedef struct row_source {
    const row_parts *rows;
    int64_t group;
    void (*fill)(void *user, int64_t first, int64_t count, row_parts *out);
    void *user;
} row_source;

/* n rows from src into every accumulator. One HSIC reference and one fold and recentring of
 * the HSIC sums for the whole batch, and groups of whole moments chunks, so the sums are the
 * same bit for bit whether the rows come whole or group by group.
 *
 * The reservoir: when no sub-block can be left out (no caller's block_bad: the callers have
 * checked every value finite, and float rows, whose sub-block means in double cannot
 * overflow), the slots of the whole batch are claimed before any row is read, by one
 * selection over the reservoir and the batch's candidates; then each group only copies its
 * kept rows. Claimed group by group, a batch of 200,704 rows made 12 claims of some 3,000
 * candidates each against a full reservoir of 60,000, one heap operation apiece (a sixth of
 * the layer's time in perf, docs/python.md). The rows kept are the same (the smallest keys);
 * which slot holds which row may differ, and the outputs sort the slots by row. */
static cvg_status add_source(cvg_stats *s, const row_source *src, int64_t n, const int64_t *global_rows,
                             int64_t row0, unsigned char *block_bad)
{
    if (n == 0) return CVG_OK;
    const int64_t D = s->dim, blocks = (n + MOMENTS_SUB_ROWS - 1) / MOMENTS_SUB_ROWS;
    const int64_t group = src->fill ? src->group : n;
    const int threads = moments_threads(s->moments);
    batch b = {s->has_hsic ? &s->hsic : NULL, NULL, NULL, NULL, s->has_hsic ? sqnorm_scratch_size(&s->hsic) : 0,
               NULL, NULL, NULL};
    double *ref = malloc((size_t)D * sizeof *ref);
    double *scratch = calloc((size_t)(threads * b.scratch_size + 1), sizeof *scratch);
    const int upfront = !block_bad && (src->fill || src->rows->is_float);
    int64_t *slot = malloc((size_t)(upfront || group >= n ? n : group) * sizeof *slot);
    unsigned char *taken = malloc((size_t)(s->samples.capacity + 1));
    unsigned char *own_bad = block_bad ? NULL : malloc((size_t)blocks);
    cvg_status st = CVG_OK;
    if (!ref || !scratch || !slot || !taken || (!block_bad && !own_bad)) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory for a batch of %lld rows", (long long)n);
        goto done;
    }
    if (!block_bad) block_bad = own_bad;
    b.ref = ref;
    b.scratch = scratch;
    if (upfront && s->samples.capacity > 0) claim_slots(&s->samples, n, global_rows, row0, NULL, slot, taken);
    int64_t left_out = 0;
    for (int64_t first = 0; first < n; first += group) {
        const int64_t count = n - first < group ? n - first : group;
        row_parts made;
        const row_parts *rows = src->rows;
        if (src->fill) {
            src->fill(src->user, first, count, &made);
            rows = &made;
        }
        if (first == 0) hsic_reference(s, rows, count, ref);
        b.rows = rows;
        b.block_bad = block_bad + first / MOMENTS_SUB_ROWS;
        const int64_t out = moments_add_parts(s->moments, rows, count, on_block, &b);
        if (out < 0) {
            st = cvg__fail(CVG_ERR_NOMEM, "layer '%s': out of memory joining a chunk of rows", s->layer);
            goto done;
        }
        left_out += out;
        if (s->samples.capacity == 0) continue;
        if (upfront) {
            copy_claimed(&s->samples, rows, count, slot + first);
        } else {
            claim_slots(&s->samples, count, global_rows ? global_rows + first : NULL, row0 + first,
                        b.block_bad, slot, taken);
            copy_claimed(&s->samples, rows, count, slot);
        }
    }
    if (s->has_hsic) {
        for (int t = 0; t < threads; t++) sqnorm_fold_scratch(&s->hsic, scratch + t * b.scratch_size);
        if (cvg_moments_count(s->moments) > 0) st = sqnorm_recentre(&s->hsic, s->moments, ref);
    }
    s->samples_sorted = 0;
    if (st == CVG_OK && left_out > 0 && own_bad)
        st = cvg__fail(CVG_ERR_NONFINITE, "layer '%s': %lld rows in blocks holding NaN or Inf were "
                       "left out", s->layer, (long long)left_out);
done:
    free(ref), free(scratch), free(slot), free(taken), free(own_bad);
    return st;
}

cvg_status stats_add_filled(cvg_stats *s, int64_t n, const moments_filler *filler, int64_t row0)
{
    if (n == 0) return CVG_OK;
    const int64_t D = s->dim, blocks = (n + MOMENTS_SUB_ROWS - 1) / MOMENTS_SUB_ROWS;
    const int threads = moments_threads(s->moments);
    batch b = {s->has_hsic ? &s->hsic : NULL, NULL, NULL, NULL, s->has_hsic ? sqnorm_scratch_size(&s->hsic) : 0,
               NULL, NULL, NULL};
    double *ref = malloc((size_t)D * sizeof *ref);
    double *scratch = calloc((size_t)(threads * b.scratch_size + 1), sizeof *scratch);
    int64_t *slot = malloc((size_t)n * sizeof *slot);
    unsigned char *taken = malloc((size_t)(s->samples.capacity + 1));
    unsigned char *block_bad = malloc((size_t)blocks);
    cvg_status st = CVG_OK;
    if (!ref || !scratch || !slot || !taken || !block_bad) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory for a batch of %lld rows", (long long)n);
        goto done;
    }
    if (cvg_moments_count(s->moments) > 0) {
        memcpy(ref, cvg_moments_mean(s->moments), (size_t)D * sizeof *ref);
    } else { /* the first rows of all: the reference from the first sub-block (thread 0's buffer) */
        row_parts first;
        const int64_t k = n < MOMENTS_SUB_ROWS ? n : MOMENTS_SUB_ROWS;
        filler->fill(filler->user, 0, 0, k, &first);
        hsic_reference(s, &first, k, ref);
    }
    b.ref = ref;
    b.scratch = scratch;
    b.block_bad = block_bad;
    if (s->samples.capacity > 0) { /* every value is finite: the batch's claims first */
        claim_slots(&s->samples, n, NULL, row0, NULL, slot, taken);
        b.res = &s->samples;
        b.slot = slot;
    }
    const int64_t left_out = moments_add_filled(s->moments, n, filler, on_block, &b);
    if (left_out != 0) /* finite float rows are never left out; -1: no filler taken */
        st = cvg__fail(CVG_ERR_ARG, "layer '%s': rows made sub-block by sub-block were not taken "
                       "(%lld)", s->layer, (long long)left_out);
    if (st == CVG_OK && s->has_hsic) {
        for (int t = 0; t < threads; t++) sqnorm_fold_scratch(&s->hsic, scratch + t * b.scratch_size);
        if (cvg_moments_count(s->moments) > 0) st = sqnorm_recentre(&s->hsic, s->moments, ref);
    }
    s->samples_sorted = 0;
done:
    free(ref), free(scratch), free(slot), free(taken), free(block_bad);
    return st;
}

cvg_status stats_add_parts(cvg_stats *s, const row_parts *rows, int64_t n, const int64_t *global_rows,
                           int64_t row0, unsigned char *block_bad)
{
    const row_source src = {rows, n, NULL, NULL};
    return add_source(s, &src, n, global_rows, row0, block_bad);
}

cvg_status stats_add_groups(cvg_stats *s, int64_t n, int64_t group,
                            void (*fill)(void *user, int64_t first, int64_t count, row_parts *out),
                            void *user, int64_t row0)
{
    const row_source src = {NULL, group, fill, user};
    return add_source(s, &src, n, NULL, row0, NULL);
}

cvg_status stats_add(cvg_stats *s, const void *rows, int is_float, int64_t n, const int64_t *global_rows)
{
    const void *base[1] = {rows};
    const int64_t D = s->dim, ld[1] = {D}, col[2] = {0, D};
    const row_parts parts = {1, is_float, base, ld, col};
    return stats_add_parts(s, &parts, n, global_rows, 0, NULL);
}
