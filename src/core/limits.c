/* The library's own checks of numeric options against the bounds of convergent_core.h: a front
 * end may bound them too (the CLI's option table does), but the library never relies on it. */
#include <stdint.h>

#include "core/internal.h"

cvg_status cvg__check_threads(int threads, const char *who)
{
    if (threads < 0 || threads > CVG_MAX_THREADS)
        return cvg__fail(CVG_ERR_ARG, "%s: threads must be in 0..%d (0: the OpenMP default), got %d",
                         who, CVG_MAX_THREADS, threads);
    return CVG_OK;
}

cvg_status cvg__check_rows(int64_t offset, int64_t rows, const char *who)
{
    if (offset < 0 || rows < 0 || offset > CVG_MAX_ROW_INDEX || rows > CVG_MAX_ROW_INDEX + 1 - offset)
        return cvg__fail(CVG_ERR_ARG, "%s: row offset %lld plus %lld rows goes past row index %lld "
                         "(2^53 - 1, the largest meta.json holds exactly)", who, (long long)offset,
                         (long long)rows, (long long)CVG_MAX_ROW_INDEX);
    return CVG_OK;
}
