/* How two similarity measures agree on the semi-matching (paper section 3.2: "seven out of
 * eight highest matched pairs in the conv1 layer stay the same"). */
#include <math.h>
#include <stdlib.h>

#include "core/internal.h"

typedef struct ranked {
    double value;
    int64_t index;
} ranked;

/* Descending by value, ties by ascending index: a total, reproducible order. */
static int by_value_desc(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->value != b->value) return a->value < b->value ? 1 : -1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Ranks 1..n of values, ties sharing their average rank. */
static void average_ranks(const double *v, int64_t n, ranked *scratch, double *rank)
{
    for (int64_t i = 0; i < n; i++) scratch[i] = (ranked){v[i], i};
    qsort(scratch, (size_t)n, sizeof *scratch, by_value_desc);
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && scratch[j + 1].value == scratch[i].value) j++;
        double r = 0.5 * (double)(i + j) + 1;
        for (int64_t k = i; k <= j; k++) rank[scratch[k].index] = r;
        i = j + 1;
    }
}

static double pearson(const double *x, const double *y, int64_t n)
{
    double mx = 0, my = 0;
    for (int64_t i = 0; i < n; i++) mx += x[i], my += y[i];
    mx /= (double)n, my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int64_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0.0;
}

cvg_status cvg_compare_semi_matchings(const double *sim_a, const double *sim_b, int64_t rows,
                                      int64_t cols, int top, int *agree, double *spearman)
{
    if (!sim_a || !sim_b || !agree || !spearman || rows <= 0 || cols <= 0 || top < 0)
        return cvg__fail(CVG_ERR_ARG, "cvg_compare_semi_matchings: invalid arguments");
    cvg_match_result ra, rb;
    cvg_status st = cvg_semi_match(sim_a, rows, cols, &ra);
    if (st != CVG_OK) return st;
    if ((st = cvg_semi_match(sim_b, rows, cols, &rb)) != CVG_OK) {
        cvg_match_result_free(&ra);
        return st;
    }
    ranked *order_a = malloc((size_t)rows * sizeof *order_a);
    ranked *order_b = malloc((size_t)rows * sizeof *order_b);
    double *rank_a = malloc((size_t)rows * sizeof *rank_a), *rank_b = malloc((size_t)rows * sizeof *rank_b);
    if (!order_a || !order_b || !rank_a || !rank_b) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* The best `top` pairs (a, semi(a)) under each measure; count the pairs in both. */
    for (int64_t i = 0; i < rows; i++) {
        order_a[i] = (ranked){ra.semi_value[i], i};
        order_b[i] = (ranked){rb.semi_value[i], i};
    }
    qsort(order_a, (size_t)rows, sizeof *order_a, by_value_desc);
    qsort(order_b, (size_t)rows, sizeof *order_b, by_value_desc);
    const int64_t k = top < rows ? top : rows;
    int count = 0;
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < k; j++) {
            int64_t ua = order_a[i].index, ub = order_b[j].index;
            if (ua == ub && ra.semi[ua] == rb.semi[ub]) count++;
        }
    *agree = count;
    /* Spearman: Pearson correlation of the average ranks of the two semi-matching values. */
    average_ranks(ra.semi_value, rows, order_a, rank_a);
    average_ranks(rb.semi_value, rows, order_b, rank_b);
    *spearman = pearson(rank_a, rank_b, rows);
done:
    free(order_a);
    free(order_b);
    free(rank_a);
    free(rank_b);
    cvg_match_result_free(&ra);
    cvg_match_result_free(&rb);
    return st;
}
