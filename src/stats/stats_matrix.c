/* Blocks of a layer's D x D matrix (corr.npy, mi.npy, comoment.npy; D = sum of the nets'
 * widths) read from the file on demand (convergent_analysis.h, cvg_stats_matrix_open): a reader
 * that needs the blocks of one pair of nets reads and holds those, not the whole D x D.
 *
 * Checks, as the whole-matrix loader (cvg_stats_load_matrix) makes them: the header and the
 * file size at open (cvg_npy_open: truncated data, bytes after the data), the shape (D, D)
 * against meta.json at open, every value read finite (the error names its flat index in the
 * whole matrix). The file stays open from open to free, so every block comes from the one
 * version opened (a new version of the statistics is published by rename, which leaves this
 * inode alone); a file changed in place while open (its size or modification time differ
 * from what open saw) is refused after the read that would see it. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"
#include "io/npy_internal.h"
#include "stats/stats_internal.h"

struct cvg_stats_matrix {
    char *path;          /* LAYER/<name>.npy */
    cvg_npy *npy;        /* open for block reads; NULL in whole mode */
    double *whole;       /* CVG_MATRIX_WHOLE: D x D read at open; else NULL */
    int nets;
    int64_t units;       /* S, 0 when the widths differ */
    int64_t *offset;     /* nets + 1: net k's units are [offset[k], offset[k+1]) */
    struct stat opened;  /* the file as open found it */
};

/* CVG_MATRIX_READ=whole in the environment selects CVG_MATRIX_WHOLE for every open: the
 * readers then load as before (for comparing the two paths and measuring them). */
static int whole_from_environment(void)
{
    const char *v = getenv("CVG_MATRIX_READ");
    return v && strcmp(v, "whole") == 0;
}

void cvg_stats_matrix_free(cvg_stats_matrix *m)
{
    if (!m) return;
    cvg_npy_free(m->npy);
    free(m->whole);
    free(m->offset);
    free(m->path);
    free(m);
}

cvg_status cvg_stats_matrix_open(const char *layer_dir, const char *name, int flags,
                                 cvg_stats_matrix **out)
{
    if (!layer_dir || !name || !out) return cvg__fail(CVG_ERR_ARG, "cvg_stats_matrix_open: NULL argument");
    *out = NULL;
    cvg_stats_matrix *m = cvg__calloc(1, sizeof *m, "a matrix reader");
    if (!m) return CVG_ERR_NOMEM;
    int64_t *widths = NULL;
    char file[256];
    snprintf(file, sizeof file, "%s.npy", name);
    cvg_status st = cvg_stats_load_widths(layer_dir, &m->nets, &widths);
    if (st == CVG_OK && (!(m->path = cvg__path_join(layer_dir, file)) ||
                         !(m->offset = malloc((size_t)(m->nets + 1) * sizeof *m->offset))))
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st == CVG_OK) {
        m->offset[0] = 0;
        m->units = widths[0];
        for (int k = 0; k < m->nets; k++) {
            m->offset[k + 1] = m->offset[k] + widths[k];
            if (widths[k] != widths[0]) m->units = 0;
        }
    }
    cvg_free(widths);
    const int64_t D = st == CVG_OK ? m->offset[m->nets] : 0, square[2] = {D, D};
    if (st == CVG_OK && ((flags & CVG_MATRIX_WHOLE) || whole_from_environment())) {
        st = stats_load_array(layer_dir, file, 2, square, &m->whole); /* the loader of old */
    } else if (st == CVG_OK && (st = cvg_npy_open(m->path, &m->npy)) == CVG_OK) {
        const int64_t *shape = cvg_npy_shape(m->npy);
        if (cvg_npy_ndim(m->npy) != 2 || shape[0] != D || shape[1] != D)
            st = cvg__fail(CVG_ERR_SHAPE, "%s: shape does not match the directory's manifest", m->path);
        else if (fstat(npy_fd(m->npy), &m->opened) != 0)
            st = cvg__fail(CVG_ERR_IO, "%s: cannot stat the file: %s", m->path, strerror(errno));
    }
    if (st != CVG_OK) {
        cvg_stats_matrix_free(m);
        return st;
    }
    *out = m;
    return CVG_OK;
}

int cvg_stats_matrix_nets(const cvg_stats_matrix *m) { return m->nets; }
int64_t cvg_stats_matrix_units(const cvg_stats_matrix *m) { return m->units; }
const int64_t *cvg_stats_matrix_offsets(const cvg_stats_matrix *m) { return m->offset; }

/* The file as open found it? (size and modification time: a rewrite in place changes one) */
static cvg_status unchanged(const cvg_stats_matrix *m)
{
    struct stat now;
    if (fstat(npy_fd(m->npy), &now) != 0)
        return cvg__fail(CVG_ERR_IO, "%s: cannot stat the file: %s", m->path, strerror(errno));
    if (now.st_size != m->opened.st_size || now.st_mtim.tv_sec != m->opened.st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != m->opened.st_mtim.tv_nsec)
        return cvg__fail(CVG_ERR_FORMAT, "%s: the file was rewritten while being read; run the "
                         "command again", m->path);
    return CVG_OK;
}

/* Rows of net r, columns of net c, into dst (leading dimension ld), checked finite. */
static cvg_status read_one(cvg_stats_matrix *m, int r, int c, double *dst, int64_t ld)
{
    const int64_t D = m->offset[m->nets], r0 = m->offset[r], c0 = m->offset[c];
    const int64_t rows = m->offset[r + 1] - r0, cols = m->offset[c + 1] - c0;
    if (m->whole) {
        for (int64_t i = 0; i < rows; i++)
            memcpy(dst + i * ld, m->whole + (r0 + i) * D + c0, (size_t)cols * sizeof *dst);
        return CVG_OK; /* every value was checked at open */
    }
    cvg_status st = cvg_npy_read_block(m->npy, r0, rows, c0, cols, dst, ld);
    for (int64_t i = 0; st == CVG_OK && i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            if (!isfinite(dst[i * ld + j]))
                return cvg__fail(CVG_ERR_NONFINITE, "%s: non-finite value at flat index %lld", m->path,
                                 (long long)((r0 + i) * D + c0 + j));
    return st;
}

cvg_status cvg_stats_matrix_block(cvg_stats_matrix *m, const int *row_nets, int nrow,
                                  const int *col_nets, int ncol, double *dst)
{
    if (!m || !row_nets || !col_nets || nrow < 1 || ncol < 1 || !dst)
        return cvg__fail(CVG_ERR_ARG, "cvg_stats_matrix_block: NULL or empty argument");
    for (int i = 0; i < nrow + ncol; i++) {
        const int k = i < nrow ? row_nets[i] : col_nets[i - nrow];
        if (k < 0 || k >= m->nets)
            return cvg__fail(CVG_ERR_ARG, "%s: network %d asked for, the layer has %d", m->path, k + 1, m->nets);
    }
    int64_t ld = 0; /* the block's columns: the widths of col_nets */
    for (int j = 0; j < ncol; j++) ld += m->offset[col_nets[j] + 1] - m->offset[col_nets[j]];
    cvg_status st = CVG_OK;
    int64_t row = 0;
    for (int i = 0; i < nrow && st == CVG_OK; i++) {
        int64_t col = 0;
        for (int j = 0; j < ncol && st == CVG_OK; j++) {
            st = read_one(m, row_nets[i], col_nets[j], dst + row * ld + col, ld);
            col += m->offset[col_nets[j] + 1] - m->offset[col_nets[j]];
        }
        row += m->offset[row_nets[i] + 1] - m->offset[row_nets[i]];
    }
    if (st == CVG_OK && m->npy) st = unchanged(m);
    return st;
}

cvg_status cvg_stats_matrix_diagonal(cvg_stats_matrix *m, double *dst)
{
    if (!m || !dst) return cvg__fail(CVG_ERR_ARG, "cvg_stats_matrix_diagonal: NULL argument");
    const int64_t D = m->offset[m->nets];
    cvg_status st = CVG_OK;
    for (int64_t i = 0; i < D && st == CVG_OK; i++) {
        if (m->whole) dst[i] = m->whole[i * D + i];
        else st = cvg_npy_read_block(m->npy, i, 1, i, 1, dst + i, 1);
        if (st == CVG_OK && !isfinite(dst[i]))
            st = cvg__fail(CVG_ERR_NONFINITE, "%s: non-finite value at flat index %lld", m->path,
                           (long long)(i * D + i));
    }
    if (st == CVG_OK && m->npy) st = unchanged(m);
    return st;
}
