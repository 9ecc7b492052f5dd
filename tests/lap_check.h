/* Helpers shared by the assignment tests (header-only: tests/CMakeLists.txt builds each
 * tests/test_*.c with test_support.c only). */
#ifndef CVG_LAP_CHECK_H
#define CVG_LAP_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "test_support.h"

/* Asserts that row_to_col is a valid answer for a rows x cols problem: if rows <= cols, every
 * row has a column in range and no column is used twice; if rows > cols, every column is used
 * exactly once and the other rows hold -1. Returns the objective recomputed in long double
 * from score. */
static inline double lap_check_valid(const double *score, int64_t rows, int64_t cols,
                                     const int64_t *row_to_col)
{
    unsigned char *used = calloc((size_t)cols, 1);
    assert_non_null(used);
    int64_t matched = 0;
    long double sum = 0.0L;
    for (int64_t i = 0; i < rows; i++) {
        int64_t j = row_to_col[i];
        if (j == -1) {
            if (rows <= cols) fail_msg("row %lld unmatched (%lld x %lld)", (long long)i,
                                       (long long)rows, (long long)cols);
            continue;
        }
        if (j < 0 || j >= cols) fail_msg("row %lld -> column %lld out of range", (long long)i,
                                         (long long)j);
        if (used[j]) fail_msg("column %lld used twice", (long long)j);
        used[j] = 1;
        matched++;
        sum += score[i * cols + j];
    }
    int64_t want = rows < cols ? rows : cols;
    if (matched != want) fail_msg("%lld matched, want %lld", (long long)matched, (long long)want);
    free(used);
    return (double)sum;
}

/* |a - b| <= tol * max(1, |b|). */
static inline void lap_assert_close(double a, double b, double tol, const char *what)
{
    double scale = fabs(b) > 1.0 ? fabs(b) : 1.0;
    if (!(fabs(a - b) <= tol * scale))
        fail_msg("%s: got %.17g, want %.17g (diff %.3g)", what, a, b, a - b);
}

#endif
