/* Jonker-Volgenant linear assignment (Computing 38, 1987), written for dense row-major double
 * matrices with nr <= nc rows.
 *
 * Minimization form: cost c(i, j) = sgn * a[i*ld + j]. Duals: column potentials v[j]; a row's
 * potential is implicit, u[i] = min_j (c(i, j) - v[j]). Invariant kept by every phase: an
 * assigned row's column attains that minimum (zero reduced cost), and when nr < nc every free
 * column has v = 0 and every v <= 0 (the LP dual of "each column used at most once"). The
 * phases:
 *   1. column reduction (square only): v[j] = min_i c(i, j), found by one row-major pass; each
 *      row that is some column's first minimum gets one such column;
 *   2. reduction transfer: a row that got exactly one column lowers that column's v by its
 *      second-smallest reduced cost, so more of the slack sits on the column side;
 *   3. augmenting row reduction, two passes: a free row takes its cheapest column, lowering
 *      that column's v until it ties the row's second-cheapest, and evicts the previous owner;
 *      the evicted row is retried at once (bounded, see below);
 *   4. shortest augmenting paths: for each row still free, a Dijkstra search over columns on
 *      reduced costs (JV's list of columns at the current minimum distance), then potentials of
 *      the settled columns are raised and the path is flipped.
 * Rectangular inputs (nr < nc) skip 1-2 (they would give the columns that stay free unequal
 * potentials) and start from v = 0. All arithmetic is double; integer-valued costs (below 2^53)
 * stay exact throughout. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "lap/lap_internal.h"

typedef struct lap {
    const double *a;
    int64_t ld;
    double sgn;
    int32_t nr, nc;
    int32_t *x;        /* nr: column of row i, -1 if free */
    int32_t *y;        /* nc: row of column j, -1 if free */
    int32_t *pred;     /* nc: row from which column j was reached in the path search */
    int32_t *col;      /* nc: columns settled by the path search, in order */
    int32_t *freerows; /* nr: list of free rows */
    double *v;         /* nc: column potentials */
    double *d;         /* nc: path search distances of unsettled columns (+inf once settled) */
    double *dset;      /* nc: distances of the settled columns, in the order of col */
    double *vset;      /* nc: potentials of the settled columns, in the order of col */
    double *cv, *cd;   /* nc: v and d of the open columns once compacted (see open_set) */
    int32_t *cpred;    /* nc: pred of the open columns once compacted */
    int32_t *cidx;     /* nc: column ids of the compacted slots */
} lap;

static inline const double *row_of(const lap *p, int32_t i) { return p->a + (int64_t)i * p->ld; }

/* Phase 1, square only: v[j] = min_i c(i, j), scanned row by row so the matrix is read in
 * memory order. imin[j] is the first row attaining it. Columns are then handed out in
 * decreasing order (as in JV): a row that is the minimum of several columns keeps the one with
 * the smallest v. matches[i] counts the columns of which row i is the minimum. */
static void column_reduction(lap *p, int32_t *imin, int32_t *matches)
{
    const int32_t n = p->nc;
    const double s = p->sgn;
    double *v = p->v;
    const double *r0 = row_of(p, 0);
    for (int32_t j = 0; j < n; j++) {
        v[j] = s * r0[j];
        imin[j] = 0;
    }
    for (int32_t i = 1; i < p->nr; i++) {
        const double *r = row_of(p, i);
        for (int32_t j = 0; j < n; j++) {
            double c = s * r[j];
            if (c < v[j]) {
                v[j] = c;
                imin[j] = i;
            }
        }
    }
    memset(matches, 0, sizeof(int32_t) * (size_t)p->nr);
    for (int32_t i = 0; i < p->nr; i++) p->x[i] = -1;
    for (int32_t j = n - 1; j >= 0; j--) {
        int32_t i = imin[j];
        if (matches[i]++ == 0) {
            p->x[i] = j;
            p->y[j] = i;
        } else if (v[j] < v[p->x[i]]) {
            p->y[p->x[i]] = -1;
            p->x[i] = j;
            p->y[j] = i;
        } else {
            p->y[j] = -1;
        }
    }
}

/* Phase 2: for a row i matched to exactly one column j1, v[j1] -= min_{j != j1} c(i,j) - v[j].
 * That minimum is >= 0 after phase 1, and row i's reduced cost on j1 becomes that minimum, so
 * j1 still attains the row's minimum. Returns the number of free rows written to freerows;
 * transfer = 0 only lists them. */
static int32_t reduction_transfer(lap *p, const int32_t *matches, int transfer)
{
    const int32_t n = p->nc;
    const double s = p->sgn;
    const double *v = p->v;
    int32_t nfree = 0;
    for (int32_t i = 0; i < p->nr; i++) {
        if (matches[i] == 0) {
            p->freerows[nfree++] = i;
            continue;
        }
        if (matches[i] != 1 || !transfer) continue;
        const double *r = row_of(p, i);
        int32_t j1 = p->x[i];
        double m = INFINITY;
        for (int32_t j = 0; j < j1; j++) {
            double h = s * r[j] - v[j];
            m = h < m ? h : m;
        }
        for (int32_t j = j1 + 1; j < n; j++) {
            double h = s * r[j] - v[j];
            m = h < m ? h : m;
        }
        if (m < INFINITY) p->v[j1] -= m;
    }
    return nfree;
}

/* Smallest and second-smallest reduced cost of row i (first occurrences). nc >= 2. */
static void two_smallest(const lap *p, int32_t i, double *u1, int32_t *j1, double *u2,
                         int32_t *j2)
{
    const double *r = row_of(p, i);
    const double *v = p->v;
    const double s = p->sgn;
    double m1 = s * r[0] - v[0], m2 = INFINITY;
    int32_t k1 = 0, k2 = -1;
    for (int32_t j = 1; j < p->nc; j++) {
        double h = s * r[j] - v[j];
        if (h < m2) {
            if (h >= m1) {
                m2 = h;
                k2 = j;
            } else {
                m2 = m1;
                k2 = k1;
                m1 = h;
                k1 = j;
            }
        }
    }
    *u1 = m1;
    *j1 = k1;
    *u2 = m2;
    *j2 = k2;
}

/* Phase 3: augmenting row reduction over the free rows, two passes. Returns the number of rows
 * still free (in freerows). An evicted row is retried at once when its eviction lowered a
 * potential (u1 < u2); in floating point such chains can run long on tiny decrements, so each
 * pass allows at most a budget of immediate retries, after which evicted rows wait for the next
 * pass (or for phase 4). Stopping early is always safe: the invariant holds after every step. */
static int32_t augmenting_row_reduction(lap *p, int32_t nfree)
{
    int32_t *fr = p->freerows;
    for (int pass = 0; pass < 2 && nfree > 0; pass++) {
        int64_t budget = 2 * (int64_t)p->nr + 64; /* immediate retries allowed in this pass */
        int32_t k = 0, prev = nfree;
        nfree = 0;
        while (k < prev) {
            int32_t i = fr[k++];
            double u1, u2;
            int32_t j1, j2;
            two_smallest(p, i, &u1, &j1, &u2, &j2);
            int32_t i0 = p->y[j1];
            if (u1 < u2) {
                p->v[j1] -= u2 - u1;
            } else if (i0 >= 0) {
                /* Tie: take the second-cheapest column instead, it may be free. */
                j1 = j2;
                i0 = p->y[j1];
            }
            if (i0 >= 0) {
                p->x[i0] = -1;
                if (u1 < u2 && budget > 0) {
                    budget--;
                    fr[--k] = i0; /* k >= 1 here: row i was just read from fr[k-1] */
                } else {
                    fr[nfree++] = i0; /* nfree < k: writes never overtake reads */
                }
            }
            p->x[i] = j1;
            p->y[j1] = i;
        }
    }
    return nfree;
}

/* Phase 4 works on the columns not yet settled by the current search, held either in place
 * (the arrays v, d, pred indexed by column) or, once most columns are settled, compacted into
 * the work arrays of struct lap (column ids in cidx): a long search then costs in proportion to
 * the columns still open instead of n per row scanned. A settled column keeps its slot until the
 * next compaction, with v = -inf and d = +inf, so every loop below runs over all slots without
 * testing their state: h = c - v - u1 is +inf there and never improves d. */
typedef struct open_set {
    double *v, *d;
    int32_t *pred;
    const int32_t *idx; /* column of each slot; NULL: slot k is column k */
    int32_t len;        /* slots */
    int32_t closed;     /* slots settled since the last compaction */
} open_set;

#if defined(__SSE2__)
#define LAP_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define LAP_ALWAYS_INLINE inline
#endif

/* One Dijkstra step: relax every open slot through row i (entries r), whose settled column has
 * reduced cost u1 + its distance, so h = c(i, j) - v[j] - u1 is the distance of column j
 * through row i. Returns the smallest tentative distance among open slots (+inf if none).
 * Improvements (h < d) get rare after the first few rows of a search, so the SSE2 loop
 * compares 4 slots at a time and writes d and pred only when one of them improved: the pass
 * streams r, v and d and is bound by reading the row from memory. gather: slots are columns
 * idx[k] (then r is read indirectly; v, d, pred stay contiguous). */
static LAP_ALWAYS_INLINE double relax_core(const double *restrict r, const open_set *o, double s,
                                           double u1, int32_t i, int gather)
{
    const double *restrict v = o->v;
    double *restrict d = o->d;
    int32_t *restrict pred = o->pred;
    const int32_t *restrict idx = o->idx;
    const int32_t n = o->len;
    double m = INFINITY;
    int32_t k = 0;
#if defined(__SSE2__)
    const __m128d vs = _mm_set1_pd(s), vu = _mm_set1_pd(u1);
    const __m128i vi = _mm_set1_epi32(i);
    __m128d m0 = _mm_set1_pd(INFINITY), m1 = m0;
    for (; k + 4 <= n; k += 4) {
        __m128d r0, r1;
        if (gather) {
            r0 = _mm_set_pd(r[idx[k + 1]], r[idx[k]]);
            r1 = _mm_set_pd(r[idx[k + 3]], r[idx[k + 2]]);
        } else {
            r0 = _mm_loadu_pd(r + k);
            r1 = _mm_loadu_pd(r + k + 2);
        }
        __m128d h0 = _mm_sub_pd(_mm_sub_pd(_mm_mul_pd(vs, r0), _mm_loadu_pd(v + k)), vu);
        __m128d h1 = _mm_sub_pd(_mm_sub_pd(_mm_mul_pd(vs, r1), _mm_loadu_pd(v + k + 2)), vu);
        __m128d d0 = _mm_loadu_pd(d + k), d1 = _mm_loadu_pd(d + k + 2);
        __m128d n0 = _mm_min_pd(h0, d0), n1 = _mm_min_pd(h1, d1);
        m0 = _mm_min_pd(m0, n0);
        m1 = _mm_min_pd(m1, n1);
        _mm_storeu_pd(d + k, n0);
        _mm_storeu_pd(d + k + 2, n1);
        /* the low halves of the two 64-bit masks h < d make the 4 x 32-bit mask for pred */
        __m128i lt = _mm_castps_si128(_mm_shuffle_ps(_mm_castpd_ps(_mm_cmplt_pd(h0, d0)),
                                                     _mm_castpd_ps(_mm_cmplt_pd(h1, d1)),
                                                     _MM_SHUFFLE(2, 0, 2, 0)));
        __m128i pv = _mm_loadu_si128((const __m128i *)(pred + k));
        pv = _mm_or_si128(_mm_andnot_si128(lt, pv), _mm_and_si128(lt, vi));
        _mm_storeu_si128((__m128i *)(pred + k), pv);
    }
    double mm[2];
    _mm_storeu_pd(mm, _mm_min_pd(m0, m1));
    m = mm[0] < mm[1] ? mm[0] : mm[1];
#endif
    for (; k < n; k++) {
        double h = s * r[gather ? idx[k] : k] - v[k] - u1;
        if (h < d[k]) {
            d[k] = h;
            pred[k] = i;
        }
        m = d[k] < m ? d[k] : m;
    }
    return m;
}

static double relax_row(const double *r, const open_set *o, double s, double u1, int32_t i)
{
    return o->idx ? relax_core(r, o, s, u1, i, 1) : relax_core(r, o, s, u1, i, 0);
}

/* The first slot in [k, n) with d[k] <= t, or n. */
static int32_t next_at_most(const double *d, int32_t k, int32_t n, double t)
{
#if defined(__SSE2__)
    const __m128d vt = _mm_set1_pd(t);
    for (; k + 4 <= n; k += 4) {
        int mask = _mm_movemask_pd(_mm_cmple_pd(_mm_loadu_pd(d + k), vt)) |
                   (_mm_movemask_pd(_mm_cmple_pd(_mm_loadu_pd(d + k + 2), vt)) << 2);
        if (mask) return k + __builtin_ctz((unsigned)mask);
    }
#endif
    for (; k < n; k++)
        if (d[k] <= t) return k;
    return n;
}

/* Drop the settled slots: copy the open ones, in order, into the work arrays (in place when
 * already there). */
static void compact(lap *p, open_set *o)
{
    int32_t m = 0;
    for (int32_t k = 0; k < o->len; k++) {
        if (o->d[k] == INFINITY) continue; /* settled: open distances are finite */
        p->cidx[m] = o->idx ? o->idx[k] : k;
        p->cv[m] = o->v[k];
        p->cd[m] = o->d[k];
        p->cpred[m] = o->pred[k];
        m++;
    }
    o->v = p->cv;
    o->d = p->cd;
    o->pred = p->cpred;
    o->idx = p->cidx;
    o->len = m;
    o->closed = 0;
}

/* Phase 4: one shortest augmenting path from free row f, then the potential update and the
 * flip of the path. Dijkstra over columns: d is the tentative distance of a column (reduced
 * cost of the cheapest alternating path from f ending there), pred the row it came from.
 * Columns are settled a whole level at a time (every column at the current minimum distance,
 * as JV's SCAN list), a free one among them ending the search. Settled columns are listed in
 * col[0, nset) with their distances in dset, their potentials in vset; their pred is written to
 * p->pred by column. Returns 0, or -1 if no free column was reachable (impossible for
 * nr <= nc; kept as a guard). */
static int augment(lap *p, int32_t f)
{
    const int32_t n = p->nc;
    const double s = p->sgn;
    double *v = p->v, *dset = p->dset, *vset = p->vset;
    int32_t *col = p->col, *y = p->y;
    double dmin = INFINITY;
    {
        const double *r = row_of(p, f);
        for (int32_t j = 0; j < n; j++) {
            p->d[j] = s * r[j] - v[j];
            p->pred[j] = f;
            dmin = p->d[j] < dmin ? p->d[j] : dmin;
        }
    }
    open_set o = {.v = v, .d = p->d, .pred = p->pred, .idx = NULL, .len = n, .closed = 0};
    int32_t nset = 0, scanned = 0, end = -1, ok = 1;
    for (;;) {
        /* Settle every open column at distance <= dmin ("<" only by rounding); a free one ends
         * the search (settling the others first does no harm: their potentials move by
         * d - dmin = 0). */
        int32_t before = nset;
        for (int32_t k = next_at_most(o.d, 0, o.len, dmin); k < o.len;
             k = next_at_most(o.d, k + 1, o.len, dmin)) {
            int32_t j = o.idx ? o.idx[k] : k;
            p->pred[j] = o.pred[k];
            if (y[j] < 0) {
                end = j;
                break;
            }
            col[nset] = j;
            dset[nset] = o.d[k];
            vset[nset++] = o.v[k];
            o.d[k] = INFINITY;
            o.v[k] = -INFINITY;
            o.closed++;
        }
        if (end >= 0) break;
        if (nset == before) { /* nothing to settle: cannot happen (guard) */
            ok = 0;
            break;
        }
        if (o.len >= 64 && 2 * o.closed >= o.len) compact(p, &o);
        /* Scan the settled columns' rows. If a relaxation brings a column down to dmin (a
         * tie), go back and settle it at this level; otherwise the last scan's minimum is the
         * next level. */
        double m = INFINITY;
        while (scanned < nset) {
            int32_t j1 = col[scanned];
            const double *r = row_of(p, y[j1]);
            double u1 = s * r[j1] - vset[scanned] - dset[scanned];
            m = relax_row(r, &o, s, u1, y[j1]);
            scanned++;
            if (m <= dmin) break;
        }
        if (m > dmin) {
            if (m == INFINITY) { /* every column settled: cannot happen (guard) */
                ok = 0;
                break;
            }
            dmin = m;
        }
    }
    /* Settled columns move their potential by how much closer than the sink they were; the
     * open ones keep theirs (v itself, never parked, once compacted). */
    for (int32_t k = 0; k < nset; k++) v[col[k]] = vset[k] + (ok ? dset[k] - dmin : 0.0);
    if (!ok) return -1;
    /* Flip the path from the sink back to f. */
    int32_t j = end;
    for (;;) {
        int32_t i = p->pred[j];
        y[j] = i;
        int32_t next = p->x[i];
        p->x[i] = j;
        if (i == f) break;
        j = next;
    }
    return 0;
}

cvg_status cvg__lapjv(const double *a, int64_t ld, int32_t nr, int32_t nc, double sgn,
                      int64_t *row_to_col)
{
    if (nr <= 0 || nc < nr || ld < nc)
        return cvg__fail(CVG_ERR_ARG, "assignment: bad shape %d x %d (ld %lld)", (int)nr,
                         (int)nc, (long long)ld);
    if (nc == 1) { /* then nr == 1 */
        row_to_col[0] = 0;
        return CVG_OK;
    }
    lap p = {.a = a, .ld = ld, .sgn = sgn, .nr = nr, .nc = nc};
    size_t ni = (size_t)nr, nj = (size_t)nc;
    /* One block: v, d, dset, vset, cv, cd (double) for the columns, then y, col, pred, cpred,
     * cidx (int32) for the columns and x, freerows, matches (int32) for the rows. */
    size_t bytes = sizeof(double) * 6 * nj + sizeof(int32_t) * (5 * nj + 3 * ni);
    void *block = cvg__malloc(bytes, "assignment workspace");
    if (!block) return CVG_ERR_NOMEM;
    p.v = block;
    p.d = p.v + nj;
    p.dset = p.d + nj;
    p.vset = p.dset + nj;
    p.cv = p.vset + nj;
    p.cd = p.cv + nj;
    p.y = (int32_t *)(p.cd + nj);
    p.col = p.y + nj;
    p.pred = p.col + nj;
    p.cpred = p.pred + nj;
    p.cidx = p.cpred + nj;
    p.x = p.cidx + nj;
    p.freerows = p.x + ni;
    int32_t *matches = p.freerows + ni;

    int32_t nfree;
    if (nr == nc) {
        /* imin (nc entries) borrows col, which phase 4 overwrites before reading. */
        column_reduction(&p, p.col, matches);
        /* With no row left free, phase 1 is already optimal (all reduced costs >= 0, zero on
         * the assignment): skip the transfer pass over the matrix. */
        int any_free = 0;
        for (int32_t i = 0; i < nr && !any_free; i++) any_free = matches[i] == 0;
        nfree = reduction_transfer(&p, matches, any_free);
    } else {
        for (int32_t j = 0; j < nc; j++) {
            p.v[j] = 0.0;
            p.y[j] = -1;
        }
        for (int32_t i = 0; i < nr; i++) {
            p.x[i] = -1;
            p.freerows[i] = i;
        }
        nfree = nr;
    }
    nfree = augmenting_row_reduction(&p, nfree);
    cvg_status st = CVG_OK;
    for (int32_t k = 0; k < nfree; k++) {
        if (augment(&p, p.freerows[k]) != 0) {
            st = cvg__fail(CVG_ERR_NUMERIC, "assignment: no augmenting path (internal error)");
            break;
        }
    }
    if (st == CVG_OK)
        for (int32_t i = 0; i < nr; i++) row_to_col[i] = p.x[i];
    free(block);
    return st;
}
