/* One-to-one alignment of two networks' units (paper section 3.1): semi-matching (each unit of
 * A takes its most similar unit of B), matching (the one-to-one assignment of maximum total
 * similarity, by the exact solver of src/lap), and their overlap. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

static cvg_status alloc_result(int64_t rows, int64_t cols, cvg_match_result *out)
{
    memset(out, 0, sizeof *out);
    if (rows <= 0 || cols <= 0)
        return cvg__fail(CVG_ERR_EMPTY, "empty similarity matrix (%lld x %lld)", (long long)rows,
                         (long long)cols);
    out->rows = rows;
    out->cols = cols;
    out->semi = malloc((size_t)rows * sizeof *out->semi);
    out->semi_value = malloc((size_t)rows * sizeof *out->semi_value);
    out->match = malloc((size_t)rows * sizeof *out->match);
    out->match_value = malloc((size_t)rows * sizeof *out->match_value);
    if (!out->semi || !out->semi_value || !out->match || !out->match_value) {
        cvg_match_result_free(out);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory matching %lld x %lld units",
                         (long long)rows, (long long)cols);
    }
    return CVG_OK;
}

/* Semi-matching: row-wise maximum of the signed similarity; ties go to the lowest column. */
static cvg_status semi_match(const double *sim, cvg_match_result *out)
{
    double sum = 0;
    for (int64_t i = 0; i < out->rows; i++) {
        const double *row = sim + i * out->cols;
        int64_t best = 0;
        for (int64_t j = 0; j < out->cols; j++) {
            if (!isfinite(row[j]))
                return cvg__fail(CVG_ERR_NONFINITE, "similarity matrix: non-finite value at row "
                                 "%lld, column %lld", (long long)i, (long long)j);
            if (row[j] > row[best]) best = j;
        }
        out->semi[i] = best;
        out->semi_value[i] = row[best];
        sum += row[best];
    }
    out->semi_mean = sum / (double)out->rows;
    return CVG_OK;
}

cvg_status cvg_semi_match(const double *sim, int64_t rows, int64_t cols, cvg_match_result *out)
{
    if (!out || !sim) return cvg__fail(CVG_ERR_ARG, "cvg_semi_match: NULL argument");
    cvg_status st = alloc_result(rows, cols, out);
    if (st == CVG_OK) st = semi_match(sim, out);
    if (st != CVG_OK) {
        cvg_match_result_free(out);
        return st;
    }
    for (int64_t i = 0; i < rows; i++) out->match[i] = -1, out->match_value[i] = 0.0;
    return CVG_OK;
}

cvg_status cvg_match(const double *sim, int64_t rows, int64_t cols, cvg_match_result *out)
{
    if (!out || !sim) return cvg__fail(CVG_ERR_ARG, "cvg_match: NULL argument");
    cvg_status st = alloc_result(rows, cols, out);
    if (st == CVG_OK) st = semi_match(sim, out);
    double total;
    if (st == CVG_OK) st = cvg_assignment_max(sim, rows, cols, out->match, &total);
    if (st != CVG_OK) {
        cvg_match_result_free(out);
        return st;
    }
    double match_sum = 0;
    int64_t matched = 0, same = 0;
    for (int64_t i = 0; i < rows; i++) {
        if (out->match[i] < 0) {
            out->match_value[i] = 0.0;
            continue;
        }
        out->match_value[i] = sim[i * cols + out->match[i]];
        match_sum += out->match_value[i];
        matched++;
        same += out->match[i] == out->semi[i];
    }
    out->match_mean = matched ? match_sum / (double)matched : 0.0;
    /* over the matched rows: all of them when rows <= cols (the paper's square case), the cols
     * matched ones when rows > cols (networks of different widths; docs/matching.md) */
    out->overlap = matched ? (double)same / (double)matched : 0.0;
    return CVG_OK;
}

void cvg_match_result_free(cvg_match_result *r)
{
    if (!r) return;
    free(r->semi);
    free(r->semi_value);
    free(r->match);
    free(r->match_value);
    memset(r, 0, sizeof *r);
}
