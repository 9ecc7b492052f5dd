/* Status codes, the per-thread error detail, the log callback. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

#ifndef CVG_VERSION
#define CVG_VERSION "0.0.0"
#endif

enum { ERROR_DETAIL_SIZE = 2048 };
static _Thread_local char error_detail[ERROR_DETAIL_SIZE];

static cvg_log_fn log_fn;
static void *log_user;

const char *cvg_version(void) { return CVG_VERSION; }

const char *cvg_strerror(cvg_status status)
{
    switch (status) {
    case CVG_OK: return "success";
    case CVG_ERR_ARG: return "invalid argument";
    case CVG_ERR_NOMEM: return "out of memory";
    case CVG_ERR_IO: return "input/output error";
    case CVG_ERR_FORMAT: return "malformed file";
    case CVG_ERR_UNSUPPORTED: return "unsupported data";
    case CVG_ERR_SHAPE: return "inconsistent shapes";
    case CVG_ERR_NONFINITE: return "NaN or infinite value";
    case CVG_ERR_EMPTY: return "no data";
    case CVG_ERR_NUMERIC: return "numerical failure";
    case CVG_ERR_CANCELLED: return "cancelled";
    case CVG_ERR_BUSY: return "output in use by another writer";
    case CVG_ERR_STALE: return "stale result";
    }
    return "unknown status";
}

const char *cvg_last_error(void) { return error_detail; }

cvg_status cvg__fail(cvg_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_detail, sizeof error_detail, fmt, ap);
    va_end(ap);
    return status;
}

void cvg__error_context(const char *fmt, ...)
{
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[ERROR_DETAIL_SIZE];
    memcpy(old, error_detail, sizeof old);
    snprintf(error_detail, sizeof error_detail, "%s: %s", prefix, old);
}

void cvg_set_log(cvg_log_fn fn, void *user)
{
    log_fn = fn;
    log_user = user;
}

void cvg__log(cvg_log_level level, const char *fmt, ...)
{
    if (!log_fn) return;
    char message[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    log_fn(level, message, log_user);
}

void *cvg__malloc(size_t bytes, const char *what)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) cvg__fail(CVG_ERR_NOMEM, "out of memory allocating %zu bytes for %s", bytes, what);
    return p;
}

void *cvg__calloc(size_t count, size_t size, const char *what)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        cvg__fail(CVG_ERR_NOMEM, "out of memory allocating %zu x %zu bytes for %s", count, size,
                  what);
    return p;
}

void cvg_free(void *p) { free(p); }
