/* IDX files (the MNIST family's format), plain or gzip'd, read with zlib.
 *
 * Layout: bytes 0,1 = 0; byte 2 = element type (0x08 unsigned byte is the only one the image
 * datasets use and the only one we read); byte 3 = number of dimensions; then one big-endian
 * uint32 per dimension; then prod(dims) elements in C order, nothing after. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/internal.h"

/* Largest decompressed file we accept (EMNIST's biggest split is ~550 MB). */
#define IDX_MAX_BYTES ((int64_t)4 << 30)

/* The whole (decompressed) file into a malloc'd buffer. gzread passes non-gzip files through
 * unchanged, so plain IDX files read the same way. */
static cvg_status read_all(const char *path, unsigned char **out, int64_t *size)
{
    *out = NULL;
    *size = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        if (errno == ENOENT) return cvg__fail(CVG_ERR_IO, "%s: no such file", path);
        return cvg__fail(CVG_ERR_IO, "%s: cannot open: %s", path,
                         errno ? strerror(errno) : "out of memory");
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        gzclose(gz);
        return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if ((int64_t)cap >= IDX_MAX_BYTES) {
                free(buf);
                gzclose(gz);
                return cvg__fail(CVG_ERR_FORMAT, "%s: larger than %lld bytes decompressed", path,
                                 (long long)IDX_MAX_BYTES);
            }
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                gzclose(gz);
                return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", path);
            }
            buf = nb;
            cap *= 2;
        }
        size_t want = cap - len;
        if (want > (1u << 30)) want = 1u << 30;
        int got = gzread(gz, buf + len, (unsigned)want);
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            cvg_status st = cvg__fail(CVG_ERR_FORMAT, "%s: corrupt gzip data: %s", path,
                                      msg && *msg ? msg : "read error");
            free(buf);
            gzclose(gz);
            return st;
        }
        if (got == 0) break;
        len += (size_t)got;
    }
    /* A gzip stream cut short reads as a clean EOF with Z_BUF_ERROR set. */
    int zerr = Z_OK;
    const char *msg = gzerror(gz, &zerr);
    if (zerr != Z_OK) {
        cvg_status st = cvg__fail(CVG_ERR_FORMAT, "%s: truncated or corrupt gzip data: %s", path,
                                  msg && *msg ? msg : "unexpected end of file");
        free(buf);
        gzclose(gz);
        return st;
    }
    gzclose(gz);
    *out = buf;
    *size = (int64_t)len;
    return CVG_OK;
}

cvg_status cvg_idx_load(const char *path, int *ndim, int64_t dims[CVG_NPY_MAX_DIMS],
                        uint8_t **data)
{
    if (!path || !ndim || !dims || !data)
        return cvg__fail(CVG_ERR_ARG, "cvg_idx_load: NULL argument");
    *data = NULL;
    unsigned char *buf;
    int64_t size;
    cvg_status st = read_all(path, &buf, &size);
    if (st != CVG_OK) return st;
    if (size < 4) {
        free(buf);
        return cvg__fail(CVG_ERR_FORMAT, "%s: not an IDX file: %lld bytes, shorter than the "
                         "4-byte magic", path, (long long)size);
    }
    if (buf[0] != 0 || buf[1] != 0) {
        free(buf);
        return cvg__fail(CVG_ERR_FORMAT, "%s: not an IDX file: the magic number does not start "
                         "with two zero bytes", path);
    }
    if (buf[2] != 0x08) {
        unsigned type = buf[2];
        free(buf);
        if (type == 0x09 || type == 0x0B || type == 0x0C || type == 0x0D || type == 0x0E)
            return cvg__fail(CVG_ERR_UNSUPPORTED, "%s: IDX element type 0x%02X; only unsigned "
                             "bytes (0x08) are read", path, type);
        return cvg__fail(CVG_ERR_FORMAT, "%s: not an IDX file: unknown element type 0x%02X",
                         path, type);
    }
    int nd = buf[3];
    if (nd < 1 || nd > CVG_NPY_MAX_DIMS) {
        free(buf);
        return cvg__fail(CVG_ERR_FORMAT, "%s: IDX header gives %d dimensions (1 to %d allowed)",
                         path, nd, CVG_NPY_MAX_DIMS);
    }
    int64_t head = 4 + 4 * (int64_t)nd;
    if (size < head) {
        free(buf);
        return cvg__fail(CVG_ERR_FORMAT, "%s: truncated IDX header: %lld bytes, the %d "
                         "dimensions need %lld", path, (long long)size, nd, (long long)head);
    }
    int64_t count = 1;
    for (int i = 0; i < nd; i++) {
        const unsigned char *p = buf + 4 + 4 * i;
        dims[i] = ((int64_t)p[0] << 24) | ((int64_t)p[1] << 16) | ((int64_t)p[2] << 8) | p[3];
        if (dims[i] != 0 && count > IDX_MAX_BYTES / dims[i]) {
            free(buf);
            return cvg__fail(CVG_ERR_FORMAT, "%s: IDX dimensions describe more than %lld "
                             "elements", path, (long long)IDX_MAX_BYTES);
        }
        count *= dims[i];
    }
    int64_t have = size - head;
    if (have != count) {
        free(buf);
        if (have < count)
            return cvg__fail(CVG_ERR_FORMAT, "%s: truncated IDX data: the header promises %lld "
                             "bytes, the file holds %lld", path, (long long)count, (long long)have);
        return cvg__fail(CVG_ERR_FORMAT, "%s: %lld bytes after the IDX data the header "
                         "describes", path, (long long)(have - count));
    }
    memmove(buf, buf + head, (size_t)count);
    *ndim = nd;
    *data = buf;
    return CVG_OK;
}
