/* The range check of a layer's statistics: no inf, NaN or float32 underflow may reach an
 * output (stats_range.c has the bounds and why). */
#ifndef CVG_STATS_RANGE_H
#define CVG_STATS_RANGE_H

#include <stdint.h>

#include "convergent.h"
#include "stats/sqnorm.h"

typedef enum range_verdict {
    RANGE_OK,
    RANGE_FLOAT_OVERFLOW,  /* a float32 kernel overflowed: a float64 pass would be right */
    RANGE_FLOAT_UNDERFLOW, /* a float32 kernel's products were subnormal: likewise */
    RANGE_DOUBLE,          /* beyond float64 too: the layer is refused */
    RANGE_SAMPLES          /* a value beyond float32 in the reservoir (float64 input) */
} range_verdict;

/* The first unit (0 .. D-1) whose mean (*in_mean = 1), co-moment row (M: D x D row-major, the
 * upper triangle read) or HSIC sums (h may be NULL) hold a NaN or an infinity, or -1. */
int64_t stats_first_nonfinite_unit(const double *mean, const double *M, int64_t D, const sqnorm_sums *h,
                                   int *in_mean);
/* The verdict on s and the first unit (0 .. D-1, net-major) it concerns. */
range_verdict stats_range_check(const cvg_stats *s, int64_t *unit);
/* CVG_OK for RANGE_OK, else CVG_ERR_NUMERIC with the layer, the unit, its net and file. */
cvg_status stats_range_error(const cvg_stats *s, range_verdict v, int64_t unit);
/* The warning logged before a float64 pass replaces a float32 one (the default kernel). */
void stats_range_log_retry(const cvg_stats *s, range_verdict v, int64_t unit);
/* Both: what every writer of a stats directory calls first. */
cvg_status stats_check_range(const cvg_stats *s);

#endif
