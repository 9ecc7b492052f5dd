/* The linear assignment core shared by the public entry points (src/lap/assignment.c). */
#ifndef CVG_LAP_INTERNAL_H
#define CVG_LAP_INTERNAL_H

#include <stdint.h>

#include "core/internal.h"

/* Minimum-cost assignment of every row to a distinct column, nr <= nc, on the cost matrix
 * cost(i, j) = sgn * a[i * ld + j] (a: nr x nc row-major with leading dimension ld >= nc;
 * sgn = +1 to minimize a, -1 to maximize it: multiplying by -1 is exact, so no copy of the
 * matrix is made). Values must be finite (the caller checks). Jonker-Volgenant: column
 * reduction and reduction transfer (square only), augmenting row reduction, shortest
 * augmenting paths with column potentials. row_to_col receives nr distinct columns.
 * Extra memory: O(nc) (about 40 bytes per column). */
cvg_status cvg__lapjv(const double *a, int64_t ld, int32_t nr, int32_t nc, double sgn,
                      int64_t *row_to_col);

#endif
