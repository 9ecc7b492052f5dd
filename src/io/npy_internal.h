/* The parsed header of a .npy file (format versions 1.0, 2.0, 3.0). */
#ifndef CVG_NPY_INTERNAL_H
#define CVG_NPY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "convergent.h"

typedef enum npy_kind { NPY_KIND_FLOAT, NPY_KIND_INT, NPY_KIND_UINT, NPY_KIND_BOOL } npy_kind;

typedef struct npy_header {
    int major, minor;          /* format version */
    char descr[16];            /* as written, e.g. "<f4" */
    npy_kind kind;
    int item_size;             /* bytes per element: 1, 2, 4 or 8 */
    int swap;                  /* 1 when the file's byte order differs from this machine's */
    int fortran_order;
    int ndim;
    int64_t shape[CVG_NPY_MAX_DIMS];
    int64_t count;             /* prod(shape) */
    int64_t data_offset;       /* bytes from the start of the file to the data */
} npy_header;

/* Parse the first `available` bytes of a file (at least the whole header must be there; 10 bytes
 * are enough to learn the header length, see npy_header_total_size). On failure the detail
 * message names `path`. Never reads past `available`. */
cvg_status npy_header_parse(const unsigned char *bytes, size_t available, const char *path,
                            npy_header *out);

/* From the first 12 bytes: the size of the preamble + header (where the data starts), or -1 if
 * the magic or version is wrong (then npy_header_parse explains). */
int64_t npy_header_total_size(const unsigned char *bytes, size_t available);

/* Convert n raw elements (as in the file) to double. */
void npy_convert_to_double(const npy_header *h, const unsigned char *raw, int64_t n,
                           double *dst);

/* The same to float32 (rounding), and whether that conversion is exact for this dtype. */
void npy_convert_to_float(const npy_header *h, const unsigned char *raw, int64_t n, float *dst);
int npy_exact_in_float(const npy_header *h);

/* Whether the file holds native-endian float32 in C order (then its rows can be read into
 * place with no conversion), and such a read: `runs` runs of `width` consecutive values starting
 * at value index first_value, run r going to dst + r * ld. One preadv per IOV_MAX runs. */
int npy_is_native_f32(const cvg_npy *npy);
cvg_status npy_read_runs_f32(cvg_npy *npy, int64_t first_value, int64_t runs, int64_t width,
                             float *dst, int64_t ld);

/* Values [first_value, first_value + count) of a native float32 file mapped read-only (the
 * page cache's pages, no copy). A file that has shrunk below them since it was opened is
 * refused (CVG_ERR_FORMAT); one truncated by someone else while the pages are read would fault,
 * which is why only the statistics pass maps, a chunk at a time, for its own reads. */
typedef struct npy_mapping {
    void *map;
    size_t bytes;
    const float *values;  /* value first_value */
    int64_t end;          /* the file's size this mapping needs (bytes) */
    int guard;            /* map_guard.h slot, or -1 */
} npy_mapping;
cvg_status npy_map_f32(const cvg_npy *npy, int64_t first_value, int64_t count, npy_mapping *out);
void npy_unmap(npy_mapping *m);
/* After the reads of a mapping: CVG_ERR_FORMAT naming the file if it shrank below the mapped
 * values meanwhile (a read of a page past the new end was turned into zeros by the guard, or
 * the new end cuts the last page, whose tail then reads as zeros without a fault), else CVG_OK.
 * Call it before the values read are used for anything that lasts. */
cvg_status npy_mapping_verify(const cvg_npy *npy, const npy_mapping *m);
/* Piece `part` of `parts` (whole pages) of a mapping: populate maps its pages in one call, so
 * that the reads that follow fault no more (kernels before 5.14 ignore it), and release unmaps
 * them, so that npy_unmap has nothing left to tear down. Both cost per page, which is why the
 * pass has each thread do its own piece instead of one thread all of them. populate returns 0,
 * or -1 when the piece reaches past the end of the file (it shrank after it was mapped; reading
 * those pages would have raised SIGBUS): the caller reports it. */
int npy_mapping_populate(const npy_mapping *m, int part, int parts);
void npy_mapping_release(const npy_mapping *m, int part, int parts);

/* The file descriptor of an open file (for fstat: has it changed since open?). */
int npy_fd(const cvg_npy *npy);

/* The host is little endian? */
int npy_host_little_endian(void);

#endif
