/* A uniform sample of up to `capacity` rows of a stream, mergeable exactly.
 *
 * Every row gets a pseudo-random key hash(seed, global row index); the reservoir keeps the rows
 * with the smallest keys ("bottom-k" sampling). That is a uniform sample without replacement,
 * independent of how the stream was chunked or split into shards: merging the reservoirs of
 * shards (given their row offsets) keeps exactly the rows one pass would have kept. */
#ifndef CVG_RESERVOIR_H
#define CVG_RESERVOIR_H

#include <stdint.h>

#include "convergent.h"

typedef struct reservoir {
    int64_t capacity, width, size;
    uint64_t seed;
    float *data;       /* capacity x width, slot-major */
    int64_t *rows;     /* capacity: global row index of each slot */
    uint64_t *keys;    /* capacity */
    int64_t *heap;     /* size: slots ordered as a max-heap on key (when !heap_stale) */
    int heap_stale;    /* a batch selection left the heap unbuilt: built when a claim needs it */
    uint64_t top_key;  /* with heap_stale: the largest (key, row) kept */
    int64_t top_row;
    uint64_t bound;    /* rows with a larger key are refused at once (reservoir_bound_rows) */
} reservoir;

cvg_status reservoir_init(reservoir *r, int64_t capacity, int64_t width, uint64_t seed);
void reservoir_free(reservoir *r);
uint64_t reservoir_key(uint64_t seed, int64_t row);
/* Offer a row of width values. */
void reservoir_offer_f32(reservoir *r, int64_t row, const float *values);
/* Decide about a row without its values: the slot (width floats at data + slot * width) its
 * values must be written to, or -1 when it is not kept. A later claim in the same batch may
 * take the same slot again: the last claim's row is the one to write. */
int64_t reservoir_claim(reservoir *r, int64_t row);
/* Claims for m rows of a batch (rows[i]: global indices, increasing), with the result of
 * reservoir_claim for each in turn: by one selection over the reservoir and the candidates
 * when many rows may enter (each slot given once, to a row that stays), else claim by claim (a
 * slot given twice: the later row's). The rows kept are the same either way; which slot holds
 * which row may differ. Returns the candidates left after the bound and the reservoir's
 * largest key. */
int64_t reservoir_claim_rows(reservoir *r, int64_t m, const int64_t *rows, int64_t *slot);
/* 0 when the row's key is above the bound, so a claim would refuse it; a pure function of
 * the row (any thread may ask while another claims). */
int reservoir_may_keep(const reservoir *r, int64_t row);
/* 0 when a claim made now would refuse the row: its key is above the bound or, the reservoir
 * being full, not below its largest (key, row). Claims only lower that largest, so a row
 * refused here before a batch's claims is refused by them too; a pure function of the row and
 * the reservoir (any thread may ask while none claims). */
int reservoir_may_enter(const reservoir *r, int64_t row);
/* Announce that rows [first, first + count) will all be offered (none dropped): claims of rows
 * whose key is above the capacity-th smallest of theirs are refused at once, because such a
 * row can never stay. Every kept row is then written once instead of about ln(count/capacity)
 * times as many rows passing through. Scans the keys only (memory: about capacity keys). The
 * kept rows are the same as without it; reservoir_unbound() lifts it, before rows from
 * elsewhere (a merge) come in. */
cvg_status reservoir_bound_rows(reservoir *r, int64_t first, int64_t count);
void reservoir_unbound(reservoir *r);
/* Add every row of src (same width and seed). */
cvg_status reservoir_merge(reservoir *dst, const reservoir *src);
/* Reorder the slots by global row index (for output); keeps the heap valid. */
void reservoir_sort_by_row(reservoir *r);

#endif
