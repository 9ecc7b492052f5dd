/* One-to-one alignment of two networks' units (paper section 3.1): semi-matching (each unit of
 * A takes its most similar unit of B), matching (the one-to-one assignment of maximum total
 * similarity, by the exact solver of src/lap), and their overlap. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

cvg_status cvg_match(const double *sim, int64_t rows, int64_t cols, cvg_match_result *out)
{
    if (!out) return cvg__fail(CVG_ERR_ARG, "cvg_match: NULL result");
    memset(out, 0, sizeof *out);
    if (!sim) return cvg__fail(CVG_ERR_ARG, "cvg_match: NULL similarity matrix");
    if (rows <= 0 || cols <= 0)
        return cvg__fail(CVG_ERR_EMPTY, "cvg_match: empty similarity matrix (%lld x %lld)",
                         (long long)rows, (long long)cols);
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
    /* Semi-matching: row-wise maximum of the signed similarity; ties go to the lowest column. */
    for (int64_t i = 0; i < rows; i++) {
        const double *row = sim + i * cols;
        int64_t best = 0;
        for (int64_t j = 1; j < cols; j++)
            if (row[j] > row[best]) best = j;
        out->semi[i] = best;
        out->semi_value[i] = row[best];
    }
    double total;
    cvg_status st = cvg_assignment_max(sim, rows, cols, out->match, &total);
    if (st != CVG_OK) {
        cvg_match_result_free(out);
        return st;
    }
    double semi_sum = 0, match_sum = 0;
    int64_t matched = 0, same = 0;
    for (int64_t i = 0; i < rows; i++) {
        semi_sum += out->semi_value[i];
        if (out->match[i] < 0) {
            out->match_value[i] = 0.0;
            continue;
        }
        out->match_value[i] = sim[i * cols + out->match[i]];
        match_sum += out->match_value[i];
        matched++;
        same += out->match[i] == out->semi[i];
    }
    out->semi_mean = semi_sum / (double)rows;
    out->match_mean = matched ? match_sum / (double)matched : 0.0;
    out->overlap = (double)same / (double)rows;
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
