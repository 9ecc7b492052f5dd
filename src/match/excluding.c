/* One-to-one alignment and the comparison of two measures with some units left out (dead
 * units, docs/matching.md): the kept rows x kept columns are copied into a smaller matrix, the
 * ordinary computation runs on it, and its answer is mapped back to the original indices. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* The indices of the kept entries of a mask (NULL: all of n) into keep; returns their count. */
static int64_t kept(const unsigned char *skip, int64_t n, int64_t *keep)
{
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (!skip || !skip[i]) keep[m++] = i;
    return m;
}

/* sub (kr x kc) = sim restricted to the kept rows and columns (sim: rows x cols). */
static void gather(const double *sim, int64_t cols, const int64_t *row, int64_t kr, const int64_t *col,
                   int64_t kc, double *sub)
{
    for (int64_t i = 0; i < kr; i++)
        for (int64_t j = 0; j < kc; j++) sub[i * kc + j] = sim[row[i] * cols + col[j]];
}

typedef struct subproblem {
    int64_t *row, *col, kr, kc;
    double *sub_a, *sub_b;
} subproblem;

static void subproblem_free(subproblem *p)
{
    free(p->row), free(p->col), free(p->sub_a), free(p->sub_b);
}

/* Index lists and the restricted copies of one or two matrices (sim_b may be NULL). */
static cvg_status subproblem_make(const double *sim_a, const double *sim_b, int64_t rows, int64_t cols,
                                  const unsigned char *skip_rows, const unsigned char *skip_cols,
                                  subproblem *p)
{
    memset(p, 0, sizeof *p);
    p->row = malloc((size_t)rows * sizeof *p->row);
    p->col = malloc((size_t)cols * sizeof *p->col);
    if (!p->row || !p->col) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    p->kr = kept(skip_rows, rows, p->row);
    p->kc = kept(skip_cols, cols, p->col);
    if (!p->kr || !p->kc) return CVG_OK;
    const size_t cells = (size_t)p->kr * (size_t)p->kc;
    p->sub_a = malloc(cells * sizeof *p->sub_a);
    if (sim_b) p->sub_b = malloc(cells * sizeof *p->sub_b);
    if (!p->sub_a || (sim_b && !p->sub_b)) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    gather(sim_a, cols, p->row, p->kr, p->col, p->kc, p->sub_a);
    if (sim_b) gather(sim_b, cols, p->row, p->kr, p->col, p->kc, p->sub_b);
    return CVG_OK;
}

cvg_status cvg_match_excluding(const double *sim, int64_t rows, int64_t cols,
                               const unsigned char *skip_rows, const unsigned char *skip_cols,
                               cvg_match_result *out)
{
    if (!out || !sim) return cvg__fail(CVG_ERR_ARG, "cvg_match_excluding: NULL argument");
    memset(out, 0, sizeof *out);
    if (rows <= 0 || cols <= 0)
        return cvg__fail(CVG_ERR_EMPTY, "empty similarity matrix (%lld x %lld)", (long long)rows,
                         (long long)cols);
    subproblem p;
    cvg_status st = subproblem_make(sim, NULL, rows, cols, skip_rows, skip_cols, &p);
    cvg_match_result sub = {0};
    if (st == CVG_OK && p.kr && p.kc) st = cvg_match(p.sub_a, p.kr, p.kc, &sub);
    if (st == CVG_OK) {
        out->rows = rows, out->cols = cols;
        out->semi = malloc((size_t)rows * sizeof *out->semi);
        out->semi_value = malloc((size_t)rows * sizeof *out->semi_value);
        out->match = malloc((size_t)rows * sizeof *out->match);
        out->match_value = malloc((size_t)rows * sizeof *out->match_value);
        if (!out->semi || !out->semi_value || !out->match || !out->match_value)
            st = cvg__fail(CVG_ERR_NOMEM, "out of memory matching %lld x %lld units", (long long)rows,
                           (long long)cols);
    }
    if (st != CVG_OK) {
        cvg_match_result_free(&sub);
        cvg_match_result_free(out);
        subproblem_free(&p);
        return st;
    }
    for (int64_t i = 0; i < rows; i++) {
        out->semi[i] = out->match[i] = -1;
        out->semi_value[i] = out->match_value[i] = NAN;
    }
    for (int64_t r = 0; r < p.kr && p.kc; r++) {
        const int64_t i = p.row[r];
        out->semi[i] = p.col[sub.semi[r]];
        out->semi_value[i] = sub.semi_value[r];
        out->match[i] = sub.match[r] < 0 ? -1 : p.col[sub.match[r]];
        out->match_value[i] = sub.match_value[r];
    }
    const int live = p.kr && p.kc;
    out->semi_mean = live ? sub.semi_mean : NAN;
    out->match_mean = live ? sub.match_mean : NAN;
    out->overlap = live ? sub.overlap : NAN;
    out->excluded_rows = rows - p.kr;
    out->excluded_cols = cols - p.kc;
    cvg_match_result_free(&sub);
    subproblem_free(&p);
    return CVG_OK;
}

cvg_status cvg_compare_semi_matchings_excluding(const double *sim_a, const double *sim_b,
                                                int64_t rows, int64_t cols,
                                                const unsigned char *skip_rows,
                                                const unsigned char *skip_cols, int top,
                                                int *agree, double *spearman)
{
    if (!sim_a || !sim_b || !agree || !spearman || rows <= 0 || cols <= 0 || top < 0)
        return cvg__fail(CVG_ERR_ARG, "cvg_compare_semi_matchings_excluding: invalid arguments");
    subproblem p;
    cvg_status st = subproblem_make(sim_a, sim_b, rows, cols, skip_rows, skip_cols, &p);
    if (st == CVG_OK && p.kr && p.kc)
        st = cvg_compare_semi_matchings(p.sub_a, p.sub_b, p.kr, p.kc, top, agree, spearman);
    else if (st == CVG_OK)
        *agree = 0, *spearman = NAN;
    subproblem_free(&p);
    return st;
}
