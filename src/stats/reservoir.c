#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "core/internal.h"
#include "stats/reservoir.h"

cvg_status reservoir_init(reservoir *r, int64_t capacity, int64_t width, uint64_t seed)
{
    memset(r, 0, sizeof *r);
    if (capacity < 0 || width <= 0) return cvg__fail(CVG_ERR_ARG, "reservoir: bad capacity or width");
    if (capacity > INT64_MAX / 8 / width) /* capacity * width floats must not overflow a size */
        return cvg__fail(CVG_ERR_ARG, "reservoir: %lld rows of %lld units is more than memory can hold",
                         (long long)capacity, (long long)width);
    r->capacity = capacity;
    r->width = width;
    r->seed = seed;
    r->bound = UINT64_MAX;
    if (capacity == 0) return CVG_OK;
    r->data = malloc((size_t)(capacity * width) * sizeof *r->data);
    r->rows = malloc((size_t)capacity * sizeof *r->rows);
    r->keys = malloc((size_t)capacity * sizeof *r->keys);
    r->heap = malloc((size_t)capacity * sizeof *r->heap);
    if (!r->data || !r->rows || !r->keys || !r->heap) {
        reservoir_free(r);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory for a reservoir of %lld rows x %lld units",
                         (long long)capacity, (long long)width);
    }
    return CVG_OK;
}

void reservoir_free(reservoir *r)
{
    free(r->data);
    free(r->rows);
    free(r->keys);
    free(r->heap);
    memset(r, 0, sizeof *r);
}

/* splitmix64 finalizer of (seed, row): a fixed, well-mixed function, so keys are reproducible. */
uint64_t reservoir_key(uint64_t seed, int64_t row)
{
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + (uint64_t)row * 0xD1B54A32D192ED03ull + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Ties of keys (probability 2^-64 per pair) break on the row index, so order is total. */
static int key_less(const reservoir *r, uint64_t ka, int64_t ra, int64_t slot_b)
{
    uint64_t kb = r->keys[slot_b];
    return ka < kb || (ka == kb && ra < r->rows[slot_b]);
}

static void sift_down(reservoir *r, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, big = i;
        if (l < r->size && key_less(r, r->keys[r->heap[big]], r->rows[r->heap[big]], r->heap[l])) big = l;
        if (l + 1 < r->size && key_less(r, r->keys[r->heap[big]], r->rows[r->heap[big]], r->heap[l + 1])) big = l + 1;
        if (big == i) return;
        int64_t t = r->heap[i];
        r->heap[i] = r->heap[big];
        r->heap[big] = t;
        i = big;
    }
}

static void sift_up(reservoir *r, int64_t i)
{
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        int64_t si = r->heap[i];
        if (!key_less(r, r->keys[r->heap[p]], r->rows[r->heap[p]], si)) return;
        r->heap[i] = r->heap[p];
        r->heap[p] = si;
        i = p;
    }
}

/* The heap over all slots again, after a batch selection left it unbuilt. */
static void build_heap(reservoir *r)
{
    for (int64_t s = 0; s < r->size; s++) r->heap[s] = s;
    for (int64_t s = r->size / 2 - 1; s >= 0; s--) sift_down(r, s);
    r->heap_stale = 0;
}

/* The slot a new row goes to, or -1 if the row is not kept. */
static int64_t claim_slot(reservoir *r, int64_t row, uint64_t key)
{
    if (r->capacity == 0 || key > r->bound) return -1;
    if (r->heap_stale) {
        if (!(key < r->top_key || (key == r->top_key && row < r->top_row))) return -1; /* full */
        build_heap(r);
    }
    if (r->size < r->capacity) {
        int64_t slot = r->size;
        r->keys[slot] = key;
        r->rows[slot] = row;
        r->heap[r->size++] = slot;
        sift_up(r, r->size - 1);
        return slot;
    }
    int64_t top = r->heap[0];
    if (!key_less(r, key, row, top)) return -1;
    r->keys[top] = key;
    r->rows[top] = row;
    sift_down(r, 0);
    return top;
}

/* A (key, row) pair in the reservoir's total order. */
typedef struct keyed_row {
    uint64_t key;
    int64_t row;
} keyed_row;

static int keyed_less(keyed_row a, keyed_row b) { return a.key < b.key || (a.key == b.key && a.row < b.row); }

/* The k-th smallest (0-based) of n pairs (reordered): quickselect, median of three. */
static keyed_row select_keyed(keyed_row *a, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        const keyed_row x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi];
        const keyed_row pivot = keyed_less(x, y) ? (keyed_less(y, z) ? y : (keyed_less(x, z) ? z : x))
                                                 : (keyed_less(x, z) ? x : (keyed_less(y, z) ? z : y));
        int64_t i = lo, j = hi;
        while (i <= j) { /* Hoare: [lo, j] <= pivot <= [i, hi] */
            while (keyed_less(a[i], pivot)) i++;
            while (keyed_less(pivot, a[j])) j--;
            if (i <= j) {
                const keyed_row t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k]; /* between the two parts: equal to the pivot */
    }
    return a[k];
}

/* Candidates per slot below which a batch's claims go one heap operation each (about log2 of
 * the capacity random accesses each) rather than by one selection over the whole reservoir. */
enum { SELECT_BELOW = 16 };

int64_t reservoir_claim_rows(reservoir *r, int64_t m, const int64_t *rows, int64_t *slot)
{
    const int64_t cap = r->capacity;
    if (cap == 0) {
        for (int64_t i = 0; i < m; i++) slot[i] = -1;
        return 0;
    }
    /* rows that cannot enter a full reservoir are refused at once */
    const int full = r->size == cap;
    const keyed_row top = !full ? (keyed_row){0, 0}
                          : r->heap_stale ? (keyed_row){r->top_key, r->top_row}
                                          : (keyed_row){r->keys[r->heap[0]], r->rows[r->heap[0]]};
    int64_t live = 0;
    for (int64_t i = 0; i < m; i++) {
        const uint64_t key = reservoir_key(r->seed, rows[i]);
        slot[i] = key > r->bound || (full && !keyed_less((keyed_row){key, rows[i]}, top)) ? -1 : 0;
        live += slot[i] == 0;
    }
    if (live == 0) return 0;
    keyed_row *all = NULL;
    if (r->size + live > cap && live * SELECT_BELOW >= cap)
        all = calloc((size_t)(r->size + live), sizeof *all);
    if (!all) { /* few candidates, room for all, or no memory: one claim each */
        for (int64_t i = 0; i < m; i++)
            if (slot[i] == 0) slot[i] = claim_slot(r, rows[i], reservoir_key(r->seed, rows[i]));
        return live;
    }
    /* The kept set is the cap smallest of the reservoir and the candidates together (what the
     * claims one by one keep too): select the cap-th, empty the slots holding larger ones and
     * give them to the candidates at or below it, in row order. The selected (key, row) is the
     * largest kept: the heap is built only when a claim one by one needs it. */
    int64_t total = 0;
    for (int64_t s = 0; s < r->size; s++) all[total++] = (keyed_row){r->keys[s], r->rows[s]};
    for (int64_t i = 0; i < m; i++)
        if (slot[i] == 0) all[total++] = (keyed_row){reservoir_key(r->seed, rows[i]), rows[i]};
    const keyed_row bound = select_keyed(all, total, cap - 1);
    int64_t free_count = 0; /* all[] reused as the list of free slots (in .row) */
    for (int64_t s = 0; s < r->size; s++)
        if (keyed_less(bound, (keyed_row){r->keys[s], r->rows[s]})) all[free_count++].row = s;
    for (int64_t s = r->size; s < cap; s++) all[free_count++].row = s;
    int64_t next = 0;
    for (int64_t i = 0; i < m; i++) {
        if (slot[i] < 0) continue;
        const keyed_row c = {reservoir_key(r->seed, rows[i]), rows[i]};
        if (keyed_less(bound, c)) {
            slot[i] = -1;
            continue;
        }
        if (next == free_count) { /* only if a row was offered twice */
            slot[i] = -1;
            continue;
        }
        const int64_t s = all[next++].row;
        r->keys[s] = c.key;
        r->rows[s] = c.row;
        slot[i] = s;
    }
    r->size = cap;
    r->heap_stale = 1; /* built when a claim one by one needs it */
    r->top_key = bound.key;
    r->top_row = bound.row;
    free(all);
    return live;
}

/* Max-heap of plain keys, for the bound. */
static void key_sift_down(uint64_t *h, int64_t n, int64_t i)
{
    for (;;) {
        int64_t l = 2 * i + 1, big = i;
        if (l < n && h[l] > h[big]) big = l;
        if (l + 1 < n && h[l + 1] > h[big]) big = l + 1;
        if (big == i) return;
        const uint64_t t = h[i];
        h[i] = h[big];
        h[big] = t;
        i = big;
    }
}

/* The cap-th smallest key of rows [first, first + count) by one heap of cap keys. */
static cvg_status bound_by_heap(reservoir *r, int64_t first, int64_t count)
{
    const int64_t cap = r->capacity;
    uint64_t *h = malloc((size_t)cap * sizeof *h);
    if (!h) return cvg__fail(CVG_ERR_NOMEM, "out of memory for the reservoir's bound");
    for (int64_t i = 0; i < cap; i++) h[i] = reservoir_key(r->seed, first + i);
    for (int64_t i = cap / 2 - 1; i >= 0; i--) key_sift_down(h, cap, i);
    for (int64_t row = first + cap; row < first + count; row++) {
        const uint64_t key = reservoir_key(r->seed, row);
        if (key >= h[0]) continue;
        h[0] = key;
        key_sift_down(h, cap, 0);
    }
    r->bound = h[0];
    free(h);
    return CVG_OK;
}

cvg_status reservoir_bound_rows(reservoir *r, int64_t first, int64_t count)
{
    const int64_t cap = r->capacity;
    r->bound = UINT64_MAX;
    if (cap == 0 || count <= cap) return CVG_OK;
    /* The keys are uniform on [0, 2^64), so about cap + 8 sqrt(cap) of them fall below
     * 2^64 (cap + 8 sqrt(cap) + 64) / count, and fewer than cap only with probability ~1e-15.
     * The threads collect the keys below that threshold (hashing is most of the work, and
     * parallel), and the cap-th smallest of them is the bound. Should fewer than cap, or more
     * than the buffer holds, fall below it, one heap of cap keys over every row decides. */
    const double spread = 8.0 * sqrt((double)cap) + 64.0;
    const double p = ((double)cap + spread) / (double)count;
    if (p >= 0.5) return bound_by_heap(r, first, count); /* most rows are candidates anyway */
    const uint64_t threshold = (uint64_t)(p * 18446744073709551616.0);
    const int64_t room = cap + 2 * (int64_t)spread;
    keyed_row *kept = malloc((size_t)room * sizeof *kept);
    if (!kept) return cvg__fail(CVG_ERR_NOMEM, "out of memory for the reservoir's bound");
    int64_t found = 0;
#pragma omp parallel for schedule(static)
    for (int64_t row = first; row < first + count; row++) {
        const uint64_t key = reservoir_key(r->seed, row);
        if (key >= threshold) continue;
        int64_t at;
#pragma omp atomic capture
        at = found++;
        if (at < room) kept[at] = (keyed_row){key, row};
    }
    /* a row whose key ties with the bound is still offered: the heap orders by row as well */
    cvg_status st = CVG_OK;
    if (found >= cap && found <= room) r->bound = select_keyed(kept, found, cap - 1).key;
    else st = bound_by_heap(r, first, count);
    free(kept);
    return st;
}

void reservoir_unbound(reservoir *r) { r->bound = UINT64_MAX; }

int reservoir_may_keep(const reservoir *r, int64_t row)
{
    return r->capacity > 0 && (r->bound == UINT64_MAX || reservoir_key(r->seed, row) <= r->bound);
}

int reservoir_may_enter(const reservoir *r, int64_t row)
{
    if (r->capacity == 0) return 0;
    const uint64_t key = reservoir_key(r->seed, row);
    if (key > r->bound) return 0;
    if (r->size < r->capacity) return 1;
    const uint64_t top_key = r->heap_stale ? r->top_key : r->keys[r->heap[0]];
    const int64_t top_row = r->heap_stale ? r->top_row : r->rows[r->heap[0]];
    return key < top_key || (key == top_key && row < top_row);
}

int64_t reservoir_claim(reservoir *r, int64_t row)
{
    return claim_slot(r, row, reservoir_key(r->seed, row));
}

void reservoir_offer_f32(reservoir *r, int64_t row, const float *values)
{
    int64_t slot = claim_slot(r, row, reservoir_key(r->seed, row));
    if (slot < 0) return;
    memcpy(r->data + slot * r->width, values, (size_t)r->width * sizeof *values);
}

cvg_status reservoir_merge(reservoir *dst, const reservoir *src)
{
    if (dst->width != src->width || dst->seed != src->seed || dst->capacity != src->capacity)
        return cvg__fail(CVG_ERR_SHAPE, "reservoirs differ in width, seed or capacity");
    for (int64_t s = 0; s < src->size; s++)
        reservoir_offer_f32(dst, src->rows[s], src->data + s * src->width);
    return CVG_OK;
}

typedef struct row_slot {
    int64_t row, slot;
} row_slot;

static int compare_row_slots(const void *a, const void *b)
{
    int64_t ra = ((const row_slot *)a)->row, rb = ((const row_slot *)b)->row;
    return (ra > rb) - (ra < rb);
}

void reservoir_sort_by_row(reservoir *r)
{
    if (r->size < 2) return;
    const int64_t W = r->width;
    row_slot *order = malloc((size_t)r->size * sizeof *order);
    float *hold = malloc((size_t)W * sizeof *hold);
    if (!order || !hold) goto done; /* unsorted is still correct */
    for (int64_t i = 0; i < r->size; i++) order[i] = (row_slot){r->rows[i], i};
    qsort(order, (size_t)r->size, sizeof *order, compare_row_slots);
    /* Position i takes slot order[i].slot: follow each cycle of that permutation, moving every
     * row once with one row held aside (no copy of the whole reservoir). order[i].slot = -1
     * marks a position done. */
    for (int64_t i = 0; i < r->size; i++) {
        if (order[i].slot < 0 || order[i].slot == i) {
            order[i].slot = -1;
            continue;
        }
        memcpy(hold, r->data + i * W, (size_t)W * sizeof *hold);
        const int64_t row_i = r->rows[i];
        const uint64_t key_i = r->keys[i];
        int64_t at = i;
        while (order[at].slot != i) {
            const int64_t from = order[at].slot;
            memcpy(r->data + at * W, r->data + from * W, (size_t)W * sizeof *hold);
            r->rows[at] = r->rows[from];
            r->keys[at] = r->keys[from];
            order[at].slot = -1;
            at = from;
        }
        memcpy(r->data + at * W, hold, (size_t)W * sizeof *hold);
        r->rows[at] = row_i;
        r->keys[at] = key_i;
        order[at].slot = -1;
    }
    build_heap(r);
done:
    free(order);
    free(hold);
}
