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

#include "lap/lap_internal.h"

typedef struct lap {
    const double *a;
    int64_t ld;
    double sgn;
    int32_t nr, nc;
    int32_t *x;        /* nr: column of row i, -1 if free */
    int32_t *y;        /* nc: row of column j, -1 if free */
    int32_t *pred;     /* nc: row from which column j was reached in the path search */
    int32_t *col;      /* nc: column order of the path search (settled | at minimum | rest) */
    int32_t *freerows; /* nr: list of free rows */
    double *v;         /* nc: column potentials */
    double *d;         /* nc: path search distances */
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
 * j1 still attains the row's minimum. Returns the number of free rows written to freerows. */
static int32_t reduction_transfer(lap *p, const int32_t *matches)
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
        if (matches[i] != 1) continue;
        const double *r = row_of(p, i);
        int32_t j1 = p->x[i];
        double m = INFINITY;
        for (int32_t j = 0; j < j1; j++) m = fmin(m, s * r[j] - v[j]);
        for (int32_t j = j1 + 1; j < n; j++) m = fmin(m, s * r[j] - v[j]);
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

/* Phase 4: one shortest augmenting path from free row f, then the potential update and the
 * flip of the path. Returns 0, or -1 if no free column was reachable (impossible for
 * nr <= nc; kept as a guard). */
static int augment(lap *p, int32_t f)
{
    const int32_t n = p->nc;
    const double s = p->sgn;
    double *v = p->v, *d = p->d;
    int32_t *col = p->col, *pred = p->pred, *y = p->y;
    {
        const double *r = row_of(p, f);
        for (int32_t j = 0; j < n; j++) {
            d[j] = s * r[j] - v[j];
            pred[j] = f;
            col[j] = j;
        }
    }
    /* col[0, low): settled; col[low, up): at distance dmin, not yet scanned; col[up, n): rest. */
    int32_t low = 0, up = 0, last = -1, end = -1;
    double dmin = 0.0;
    while (end < 0) {
        if (up == low) {
            if (low == n) return -1;
            last = low - 1;
            dmin = d[col[up++]];
            for (int32_t k = up; k < n; k++) {
                int32_t j = col[k];
                double h = d[j];
                if (h <= dmin) {
                    if (h < dmin) {
                        up = low;
                        dmin = h;
                    }
                    col[k] = col[up];
                    col[up++] = j;
                }
            }
            for (int32_t k = low; k < up; k++) {
                if (y[col[k]] < 0) {
                    end = col[k];
                    break;
                }
            }
            if (end >= 0) break;
        }
        /* Scan one column at the minimum distance through its row. */
        int32_t j1 = col[low++];
        int32_t i = y[j1];
        const double *r = row_of(p, i);
        double u1 = s * r[j1] - v[j1] - dmin;
        for (int32_t k = up; k < n; k++) {
            int32_t j = col[k];
            double h = s * r[j] - v[j] - u1;
            if (h < d[j]) {
                d[j] = h;
                pred[j] = i;
                if (h <= dmin) { /* == dmin; "<" only by rounding */
                    if (y[j] < 0) {
                        end = j;
                        break;
                    }
                    col[k] = col[up];
                    col[up++] = j;
                }
            }
        }
    }
    /* Settled columns move their potential by how much closer than the sink they were. */
    for (int32_t k = 0; k <= last; k++) {
        int32_t j = col[k];
        v[j] += d[j] - dmin;
    }
    /* Flip the path from the sink back to f. */
    int32_t j = end;
    for (;;) {
        int32_t i = pred[j];
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
    /* One block: x, freerows, scratch (nr each); y, pred, col (nc each); v, d (nc doubles). */
    size_t bytes = sizeof(double) * 2 * nj + sizeof(int32_t) * (3 * ni + 3 * nj);
    void *block = cvg__malloc(bytes, "assignment workspace");
    if (!block) return CVG_ERR_NOMEM;
    p.v = block;
    p.d = p.v + nj;
    p.y = (int32_t *)(p.d + nj);
    p.pred = p.y + nj;
    p.col = p.pred + nj;
    p.x = p.col + nj;
    p.freerows = p.x + ni;
    int32_t *matches = p.freerows + ni;

    int32_t nfree;
    if (nr == nc) {
        /* imin (nc entries) borrows pred, which phase 4 overwrites before reading. */
        column_reduction(&p, p.pred, matches);
        nfree = reduction_transfer(&p, matches);
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
