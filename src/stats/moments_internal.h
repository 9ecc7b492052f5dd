#ifndef CVG_MOMENTS_INTERNAL_H
#define CVG_MOMENTS_INTERNAL_H
#include "convergent.h"
/* Rows per BLAS update (accuracy/speed trade-off measured in bench/). */
void moments_set_block_rows(cvg_moments *m, int64_t rows);
#endif
