/* Writing .npy files (version 1.0, or 2.0 when the header needs it), atomically. */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/npy_internal.h"

static const char *dtype_descr(cvg_dtype t, size_t *size)
{
    switch (t) {
    case CVG_F32: *size = 4; return "<f4";
    case CVG_F64: *size = 8; return "<f8";
    case CVG_I32: *size = 4; return "<i4";
    case CVG_I64: *size = 8; return "<i8";
    }
    *size = 0;
    return NULL;
}

cvg_status cvg_npy_save(const char *path, cvg_dtype dtype, int ndim, const int64_t *shape,
                        const void *data)
{
    size_t item = 0;
    const char *descr = dtype_descr(dtype, &item);
    if (!path || !descr || ndim < 0 || ndim > CVG_NPY_MAX_DIMS || (ndim > 0 && !shape))
        return cvg__fail(CVG_ERR_ARG, "cvg_npy_save(%s): invalid dtype, ndim or shape",
                         path ? path : "(null)");
    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                       descr);
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return cvg__fail(CVG_ERR_ARG, "cvg_npy_save(%s): negative dimension", path);
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld%s", (long long)shape[i],
                        ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
        count *= shape[i];
    }
    len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");
    if (count > 0 && !data) return cvg__fail(CVG_ERR_ARG, "cvg_npy_save(%s): NULL data", path);

    /* Pad with spaces and a final newline so that the data starts 64-byte aligned. */
    size_t preamble = 10;
    size_t header_len = (size_t)len + 1;
    header_len += (64 - (preamble + header_len) % 64) % 64;
    unsigned char head[16 + 512 + 64];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char)(header_len & 0xff);
    head[9] = (unsigned char)(header_len >> 8);
    memset(head + preamble, ' ', header_len);
    memcpy(head + preamble, dict, (size_t)len);
    head[preamble + header_len - 1] = '\n';

    cvg__atomic_file af;
    cvg_status st = cvg__atomic_open(&af, path);
    if (st != CVG_OK) return st;
    fwrite(head, 1, preamble + header_len, af.fp);
    if (npy_host_little_endian()) {
        if (count > 0) cvg__atomic_write(&af, data, item * (size_t)count);
    } else {
        const unsigned char *p = data;
        for (int64_t i = 0; i < count; i++)
            for (size_t b = 0; b < item; b++) fputc(p[i * (int64_t)item + (int64_t)(item - 1 - b)], af.fp);
    }
    return cvg__atomic_commit(&af);
}
