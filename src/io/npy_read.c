/* Streaming reads of .npy files: open checks the header against the file size, then any range
 * of rows is read with pread and converted to double, a bounded buffer at a time. */
#define _DEFAULT_SOURCE /* preadv */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/internal.h"
#include "io/map_guard.h"
#include "io/npy_internal.h"

/* Raw bytes converted per read: bounds the extra memory of a read whatever its size. */
enum { RAW_BUFFER_BYTES = 1 << 20 };

struct cvg_npy {
    int fd;
    char *path;
    npy_header h;
    int64_t rows, row_size;
    unsigned char *raw;     /* RAW_BUFFER_BYTES */
};

static cvg_status read_exact(int fd, void *buf, size_t bytes, int64_t offset, const char *path)
{
    unsigned char *p = buf;
    while (bytes > 0) {
        ssize_t got = pread(fd, p, bytes, (off_t)offset);
        if (got < 0) {
            if (errno == EINTR) continue;
            return cvg__fail(CVG_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        }
        if (got == 0)
            return cvg__fail(CVG_ERR_FORMAT, "%s: truncated data (file ended at byte %lld)", path,
                             (long long)offset);
        p += got;
        bytes -= (size_t)got;
        offset += got;
    }
    return CVG_OK;
}

cvg_status cvg_npy_open(const char *path, cvg_npy **out)
{
    if (!path || !out) return cvg__fail(CVG_ERR_ARG, "cvg_npy_open: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return cvg__fail(CVG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cvg__fail(CVG_ERR_IO, "%s: not a regular file", path);
    }
    cvg_status st;
    unsigned char pre[12] = {0};
    size_t have = sb.st_size < 12 ? (size_t)sb.st_size : 12;
    if (have > 0 && (st = read_exact(fd, pre, have, 0, path)) != CVG_OK) goto fail_fd;
    int64_t total = npy_header_total_size(pre, have);
    unsigned char *head = pre;
    size_t head_bytes = have;
    if (total > (int64_t)have) {
        if (total > sb.st_size) {
            st = cvg__fail(CVG_ERR_FORMAT, "%s: truncated .npy header (%lld bytes declared, file "
                           "has %lld)", path, (long long)total, (long long)sb.st_size);
            goto fail_fd;
        }
        head = malloc((size_t)total);
        if (!head) {
            st = cvg__fail(CVG_ERR_NOMEM, "%s: out of memory for the header", path);
            goto fail_fd;
        }
        head_bytes = (size_t)total;
        if ((st = read_exact(fd, head, head_bytes, 0, path)) != CVG_OK) {
            free(head);
            goto fail_fd;
        }
    }
    npy_header h;
    st = npy_header_parse(head, head_bytes, path, &h);
    if (head != pre) free(head);
    if (st != CVG_OK) goto fail_fd;

    int64_t data_bytes = (int64_t)sb.st_size - h.data_offset;
    int64_t want = h.count * h.item_size;
    if (data_bytes < want) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: truncated data: shape needs %lld bytes, the file "
                       "holds %lld", path, (long long)want, (long long)data_bytes);
        goto fail_fd;
    }
    if (data_bytes > want) {
        st = cvg__fail(CVG_ERR_FORMAT, "%s: shape inconsistent with the file size: %lld bytes "
                       "after the data", path, (long long)(data_bytes - want));
        goto fail_fd;
    }

    cvg_npy *npy = cvg__calloc(1, sizeof *npy, "a .npy reader");
    if (!npy) {
        st = CVG_ERR_NOMEM;
        goto fail_fd;
    }
    npy->fd = fd;
    npy->h = h;
    npy->path = strdup(path);
    npy->raw = malloc(RAW_BUFFER_BYTES);
    npy->rows = h.ndim == 0 ? 1 : h.shape[0];
    npy->row_size = 1;
    for (int i = 1; i < h.ndim; i++) npy->row_size *= h.shape[i];
    if (!npy->path || !npy->raw) {
        cvg_npy_free(npy);
        return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", path);
    }
    *out = npy;
    return CVG_OK;
fail_fd:
    close(fd);
    return st;
}

void cvg_npy_free(cvg_npy *npy)
{
    if (!npy) return;
    if (npy->fd >= 0) close(npy->fd);
    free(npy->path);
    free(npy->raw);
    free(npy);
}

int cvg_npy_ndim(const cvg_npy *npy) { return npy->h.ndim; }
const int64_t *cvg_npy_shape(const cvg_npy *npy) { return npy->h.shape; }
int64_t cvg_npy_rows(const cvg_npy *npy) { return npy->rows; }
int64_t cvg_npy_row_size(const cvg_npy *npy) { return npy->row_size; }
const char *cvg_npy_descr(const cvg_npy *npy) { return npy->h.descr; }
const char *cvg_npy_path(const cvg_npy *npy) { return npy->path; }
int npy_fd(const cvg_npy *npy) { return npy->fd; }

/* Read `n` consecutive elements starting at element index `first_elem` into dst, converted to
 * float (as_float) or double. */
static cvg_status read_elements(cvg_npy *npy, int64_t first_elem, int64_t n, void *dst, int as_float)
{
    const int64_t size = npy->h.item_size;
    /* Native float32 read as float, or native float64 as double: straight into dst. */
    const int direct = npy->h.kind == NPY_KIND_FLOAT && !npy->h.swap &&
                       size == (as_float ? 4 : 8);
    if (direct)
        return read_exact(npy->fd, dst, (size_t)(n * size), npy->h.data_offset + first_elem * size,
                          npy->path);
    const int64_t per_buffer = RAW_BUFFER_BYTES / size;
    while (n > 0) {
        int64_t take = n < per_buffer ? n : per_buffer;
        cvg_status st = read_exact(npy->fd, npy->raw, (size_t)(take * size),
                                   npy->h.data_offset + first_elem * size, npy->path);
        if (st != CVG_OK) return st;
        if (as_float) {
            npy_convert_to_float(&npy->h, npy->raw, take, dst);
            dst = (float *)dst + take;
        } else {
            npy_convert_to_double(&npy->h, npy->raw, take, dst);
            dst = (double *)dst + take;
        }
        first_elem += take;
        n -= take;
    }
    return CVG_OK;
}

/* Fortran order: element (i0, rest) lies at i0 + rows * f(rest), f the Fortran flattening of the
 * inner dimensions, so the requested rows of one inner index are one contiguous run. Runs are
 * gathered one inner index at a time and scattered to C order. */
static cvg_status read_rows_fortran(cvg_npy *npy, int64_t first, int64_t count, void *dst,
                                    int as_float)
{
    const npy_header *h = &npy->h;
    int64_t index[CVG_NPY_MAX_DIMS] = {0};   /* multi-index over axes 1..ndim-1 */
    int64_t c_stride[CVG_NPY_MAX_DIMS];      /* C-order strides of the inner axes */
    int64_t s = 1;
    for (int a = h->ndim - 1; a >= 1; a--) {
        c_stride[a] = s;
        s *= h->shape[a];
    }
    double *run = malloc((size_t)count * sizeof *run);
    if (!run) return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", npy->path);
    cvg_status st = CVG_OK;
    for (int64_t f = 0; f < npy->row_size; f++) {
        int64_t c = 0;
        for (int a = 1; a < h->ndim; a++) c += index[a] * c_stride[a];
        st = read_elements(npy, first + npy->rows * f, count, run, 0);
        if (st != CVG_OK) break;
        if (as_float)
            for (int64_t r = 0; r < count; r++) ((float *)dst)[r * npy->row_size + c] = (float)run[r];
        else
            for (int64_t r = 0; r < count; r++) ((double *)dst)[r * npy->row_size + c] = run[r];
        for (int a = 1; a < h->ndim; a++) { /* next Fortran multi-index: first axis fastest */
            if (++index[a] < h->shape[a]) break;
            index[a] = 0;
        }
    }
    free(run);
    return st;
}

static cvg_status read_rows(cvg_npy *npy, int64_t first, int64_t count, void *dst, int as_float)
{
    if (!npy || (!dst && count > 0) || first < 0 || count < 0 || first > npy->rows - count)
        return cvg__fail(CVG_ERR_ARG, "%s: rows [%lld, %lld) out of range (file has %lld rows)",
                         npy ? npy->path : "(null)", (long long)first,
                         (long long)(first + count), npy ? (long long)npy->rows : 0LL);
    if (count == 0 || npy->row_size == 0) return CVG_OK;
    if (npy->h.fortran_order && npy->h.ndim > 1) return read_rows_fortran(npy, first, count, dst, as_float);
    return read_elements(npy, first * npy->row_size, count * npy->row_size, dst, as_float);
}

int npy_is_native_f32(const cvg_npy *npy)
{
    return npy->h.kind == NPY_KIND_FLOAT && npy->h.item_size == 4 && !npy->h.swap &&
           (!npy->h.fortran_order || npy->h.ndim <= 1);
}

/* The mapping granularity (sysconf reads it from the process's auxiliary vector: no system
 * call, and no shared state for the threads that cut mappings into pieces). */
static int64_t page_size(void) { return (int64_t)sysconf(_SC_PAGESIZE); }

cvg_status npy_map_f32(const cvg_npy *npy, int64_t first_value, int64_t count, npy_mapping *out)
{
    memset(out, 0, sizeof *out);
    out->guard = -1;
    if (!npy_is_native_f32(npy) || first_value < 0 || count < 0 || first_value + count > npy->h.count)
        return cvg__fail(CVG_ERR_ARG, "%s: only values of native float32 files are mapped", npy->path);
    if (count == 0) return CVG_OK;
    const int64_t page = page_size();
    const int64_t start = npy->h.data_offset + first_value * 4, aligned = start / page * page;
    const size_t bytes = (size_t)(start - aligned + count * 4);
    /* reading a mapped page past the end of a file faults: refuse a file that has shrunk since
     * it was opened (what shrinks it while these pages are read cannot be caught here) */
    struct stat st;
    if (fstat(npy->fd, &st) != 0)
        return cvg__fail(CVG_ERR_IO, "%s: cannot stat the file: %s", npy->path, strerror(errno));
    if ((int64_t)st.st_size < start + count * 4)
        return cvg__fail(CVG_ERR_FORMAT, "%s: truncated data (the file shrank to %lld bytes while "
                         "being read)", npy->path, (long long)st.st_size);
    void *map = mmap(NULL, bytes, PROT_READ, MAP_SHARED, npy->fd, (off_t)aligned);
    if (map == MAP_FAILED)
        return cvg__fail(CVG_ERR_IO, "%s: cannot map the file: %s", npy->path, strerror(errno));
    out->map = map;
    out->bytes = bytes;
    out->values = (const float *)((const char *)map + (start - aligned));
    out->end = start + count * 4;
    out->guard = map_guard_arm(map, bytes);
    return CVG_OK;
}

cvg_status npy_mapping_verify(const cvg_npy *npy, const npy_mapping *m)
{
    if (!m->map) return CVG_OK;
    struct stat st;
    const int faulted = map_guard_faulted(m->guard);
    if (faulted || (fstat(npy->fd, &st) == 0 && (int64_t)st.st_size < m->end))
        return cvg__fail(CVG_ERR_FORMAT, "%s: truncated data (the file shrank while being read%s)",
                         npy->path, faulted ? "; its mapped pages past the new end were replaced by zeros" : "");
    return CVG_OK;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/* Bytes [*at, *at + *len) of piece part of parts of the mapping, cut on page boundaries. */
static int mapping_piece(const npy_mapping *m, int part, int parts, char **at, size_t *len)
{
    if (!m->map || parts < 1 || part < 0 || part >= parts) return 0;
    const size_t page = (size_t)page_size(), pages = (m->bytes + page - 1) / page;
    const size_t p0 = pages * (size_t)part / (size_t)parts, p1 = pages * (size_t)(part + 1) / (size_t)parts;
    *at = (char *)m->map + p0 * page;
    *len = (p1 * page < m->bytes ? p1 * page : m->bytes) - p0 * page;
    return p1 > p0;
}

int npy_mapping_populate(const npy_mapping *m, int part, int parts)
{
    char *at;
    size_t len;
    if (!mapping_piece(m, part, parts, &at, &len)) return 0;
    /* EFAULT: a page past the end of the file; any other failure (EINVAL before Linux 5.14)
     * only means the pages are faulted in as they are read */
    return madvise(at, len, MADV_POPULATE_READ) != 0 && errno == EFAULT ? -1 : 0;
}

void npy_mapping_release(const npy_mapping *m, int part, int parts)
{
    char *at;
    size_t len;
    if (mapping_piece(m, part, parts, &at, &len)) (void)madvise(at, len, MADV_DONTNEED);
}

void npy_unmap(npy_mapping *m)
{
    if (m && m->map) {
        map_guard_disarm(m->guard); /* before the range can be mapped again by anyone */
        munmap(m->map, m->bytes);
    }
    if (m) memset(m, 0, sizeof *m);
}

cvg_status npy_read_runs_f32(cvg_npy *npy, int64_t first_value, int64_t runs, int64_t width,
                             float *dst, int64_t ld)
{
    if (!npy_is_native_f32(npy) || first_value < 0 || runs < 0 || width < 0 || ld < width ||
        first_value + runs * width > npy->h.count)
        return cvg__fail(CVG_ERR_ARG, "%s: invalid run read", npy ? npy->path : "(null)");
    enum { BATCH = 512 }; /* <= IOV_MAX (1024 on Linux) */
    struct iovec iov[BATCH];
    const size_t run_bytes = (size_t)width * sizeof(float);
    for (int64_t r0 = 0; r0 < runs; r0 += BATCH) {
        const int64_t n = runs - r0 < BATCH ? runs - r0 : BATCH;
        for (int64_t i = 0; i < n; i++)
            iov[i] = (struct iovec){dst + (r0 + i) * ld, run_bytes};
        const off_t at = (off_t)(npy->h.data_offset + (first_value + r0 * width) * 4);
        ssize_t got = preadv(npy->fd, iov, (int)n, at);
        if (got == (ssize_t)(run_bytes * (size_t)n)) continue;
        /* short read or error: finish run by run, which reports what went wrong */
        for (int64_t i = got > 0 ? got / (ssize_t)run_bytes : 0; i < n; i++) {
            cvg_status st = read_exact(npy->fd, dst + (r0 + i) * ld, run_bytes,
                                       npy->h.data_offset + (first_value + (r0 + i) * width) * 4,
                                       npy->path);
            if (st != CVG_OK) return st;
        }
    }
    return CVG_OK;
}

/* A C-order file: row r of the block is one run of cols values from element (row0 + r, col0).
 * Fortran order: column c is one run of rows values from element (row0, col0 + c), gathered
 * into a buffer and scattered into dst's column. */
cvg_status cvg_npy_read_block(cvg_npy *npy, int64_t row0, int64_t rows, int64_t col0, int64_t cols,
                              double *dst, int64_t ld)
{
    if (!npy || npy->h.ndim != 2)
        return cvg__fail(CVG_ERR_ARG, "%s: a block read needs a 2-D array", npy ? npy->path : "(null)");
    const int64_t R = npy->h.shape[0], C = npy->h.shape[1];
    if ((!dst && rows * cols > 0) || row0 < 0 || rows < 0 || col0 < 0 || cols < 0 || row0 > R - rows ||
        col0 > C - cols || ld < cols)
        return cvg__fail(CVG_ERR_ARG, "%s: block rows [%lld, %lld) x columns [%lld, %lld) out of range "
                         "(the array is %lld x %lld)", npy->path, (long long)row0, (long long)(row0 + rows),
                         (long long)col0, (long long)(col0 + cols), (long long)R, (long long)C);
    if (rows == 0 || cols == 0) return CVG_OK;
    if (!npy->h.fortran_order) {
        for (int64_t r = 0; r < rows; r++) {
            cvg_status st = read_elements(npy, (row0 + r) * C + col0, cols, dst + r * ld, 0);
            if (st != CVG_OK) return st;
        }
        return CVG_OK;
    }
    double *run = malloc((size_t)rows * sizeof *run);
    if (!run) return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", npy->path);
    cvg_status st = CVG_OK;
    for (int64_t c = 0; c < cols && st == CVG_OK; c++) {
        st = read_elements(npy, (col0 + c) * R + row0, rows, run, 0);
        for (int64_t r = 0; st == CVG_OK && r < rows; r++) dst[r * ld + c] = run[r];
    }
    free(run);
    return st;
}

cvg_status cvg_npy_read_rows(cvg_npy *npy, int64_t first, int64_t count, double *dst)
{
    return read_rows(npy, first, count, dst, 0);
}

cvg_status cvg_npy_read_rows_f32(cvg_npy *npy, int64_t first, int64_t count, float *dst)
{
    return read_rows(npy, first, count, dst, 1);
}

int cvg_npy_exact_in_f32(const cvg_npy *npy) { return npy_exact_in_float(&npy->h); }

cvg_status cvg_npy_load(const char *path, int *ndim, int64_t shape[CVG_NPY_MAX_DIMS],
                        double **data)
{
    if (!path || !ndim || !shape || !data) return cvg__fail(CVG_ERR_ARG, "cvg_npy_load: NULL argument");
    *data = NULL;
    cvg_npy *npy;
    cvg_status st = cvg_npy_open(path, &npy);
    if (st != CVG_OK) return st;
    int64_t n = npy->h.count;
    double *buf = malloc((size_t)(n ? n : 1) * sizeof *buf);
    if (!buf) {
        cvg_npy_free(npy);
        return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory for %lld values", path, (long long)n);
    }
    st = cvg_npy_read_rows(npy, 0, npy->rows, buf);
    if (st == CVG_OK) {
        *ndim = npy->h.ndim;
        memcpy(shape, npy->h.shape, sizeof(int64_t) * CVG_NPY_MAX_DIMS);
        *data = buf;
    } else {
        free(buf);
    }
    cvg_npy_free(npy);
    return st;
}
