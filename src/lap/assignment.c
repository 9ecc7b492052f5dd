/* Public entry points of the linear assignment solver: argument checks, the orientation of
 * rectangular inputs, and the objective. The solver itself is in lapjv.c. */
#include <math.h>
#include <stdlib.h>

#include "lap/lap_internal.h"

/* Fails with CVG_ERR_NONFINITE naming the first (row-major) NaN or Inf. The common, all-finite
 * case is one branch-free pass: x - x is 0 for finite x and NaN otherwise. */
static cvg_status check_finite(const double *a, int64_t rows, int64_t cols)
{
    for (int64_t i = 0; i < rows; i++) {
        const double *r = a + i * cols;
        double acc = 0.0;
        for (int64_t j = 0; j < cols; j++) acc += r[j] - r[j];
        if (acc == 0.0) continue;
        for (int64_t j = 0; j < cols; j++)
            if (!isfinite(r[j]))
                return cvg__fail(CVG_ERR_NONFINITE,
                                 "assignment: score[%lld][%lld] is %s (row %lld, column %lld)",
                                 (long long)i, (long long)j, isnan(r[j]) ? "NaN" : "infinite",
                                 (long long)i, (long long)j);
    }
    return CVG_OK;
}

/* dst (cols x rows) = src (rows x cols) transposed, in 32 x 32 tiles. */
static void transpose(const double *src, int64_t rows, int64_t cols, double *dst)
{
    enum { T = 32 };
    for (int64_t i0 = 0; i0 < rows; i0 += T) {
        int64_t i1 = i0 + T < rows ? i0 + T : rows;
        for (int64_t j0 = 0; j0 < cols; j0 += T) {
            int64_t j1 = j0 + T < cols ? j0 + T : cols;
            for (int64_t i = i0; i < i1; i++)
                for (int64_t j = j0; j < j1; j++) dst[j * rows + i] = src[i * cols + j];
        }
    }
}

static cvg_status solve(const double *score, int64_t rows, int64_t cols, int64_t *row_to_col,
                        double *total, double sgn)
{
    if (!score || !row_to_col) return cvg__fail(CVG_ERR_ARG, "assignment: NULL argument");
    if (rows < 0 || cols < 0)
        return cvg__fail(CVG_ERR_ARG, "assignment: negative shape %lld x %lld",
                         (long long)rows, (long long)cols);
    if (rows == 0 || cols == 0)
        return cvg__fail(CVG_ERR_EMPTY, "assignment: empty score matrix (%lld x %lld)",
                         (long long)rows, (long long)cols);
    if (rows >= INT32_MAX || cols >= INT32_MAX || (uint64_t)rows > SIZE_MAX / sizeof(double) / (uint64_t)cols)
        return cvg__fail(CVG_ERR_ARG, "assignment: shape %lld x %lld too large",
                         (long long)rows, (long long)cols);
    cvg_status st = check_finite(score, rows, cols);
    if (st != CVG_OK) return st;

    if (rows <= cols) {
        st = cvg__lapjv(score, cols, (int32_t)rows, (int32_t)cols, sgn, row_to_col);
    } else {
        /* Tall: solve the transpose (cols rows, each matched), so that the search always runs
         * along contiguous rows; costs one rows x cols copy. */
        double *t = cvg__malloc(sizeof(double) * (size_t)rows * (size_t)cols,
                                "transposed score matrix");
        int64_t *col_to_row = cvg__malloc(sizeof(int64_t) * (size_t)cols, "assignment");
        if (!t || !col_to_row) {
            free(t);
            free(col_to_row);
            return CVG_ERR_NOMEM;
        }
        transpose(score, rows, cols, t);
        st = cvg__lapjv(t, rows, (int32_t)cols, (int32_t)rows, sgn, col_to_row);
        free(t);
        if (st == CVG_OK) {
            for (int64_t i = 0; i < rows; i++) row_to_col[i] = -1;
            for (int64_t j = 0; j < cols; j++) row_to_col[col_to_row[j]] = j;
        }
        free(col_to_row);
    }
    if (st != CVG_OK) return st;

    if (total) {
        /* Neumaier-compensated sum of the matched scores. */
        double sum = 0.0, comp = 0.0;
        for (int64_t i = 0; i < rows; i++) {
            if (row_to_col[i] < 0) continue;
            double x = score[i * cols + row_to_col[i]];
            double t = sum + x;
            comp += fabs(sum) >= fabs(x) ? (sum - t) + x : (x - t) + sum;
            sum = t;
        }
        *total = sum + comp;
    }
    return CVG_OK;
}

cvg_status cvg_assignment_max(const double *score, int64_t rows, int64_t cols,
                              int64_t *row_to_col, double *total)
{
    return solve(score, rows, cols, row_to_col, total, -1.0);
}

cvg_status cvg_assignment_min(const double *cost, int64_t rows, int64_t cols,
                              int64_t *row_to_col, double *total)
{
    return solve(cost, rows, cols, row_to_col, total, 1.0);
}
