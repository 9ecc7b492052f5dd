/*
 * convergent: do different neural networks learn the same representations?
 *
 * The public API of libconvergent, in headers by audience (include convergent.h for all):
 *   convergent_core.h      status codes, errors, logging, memory, files, .npy arrays;
 *   convergent_analysis.h  the statistics pass, matching, mutual information, clustering,
 *                          similarity measures (what a front end over activations needs);
 *   convergent_nets.h      datasets, the network engine, training, activation taps;
 *   convergent_report.h    the HTML report and figures.
 * Conventions:
 *  - every name starts with cvg_; handles are opaque; functions that can fail return a
 *    cvg_status and give their results through out-parameters the caller owns;
 *  - on failure cvg_last_error() holds a sentence naming the file and the defect, for the
 *    calling thread, until that thread's next failing call;
 *  - the library never exits and never prints: messages go to the callback of cvg_set_log(),
 *    progress to the callback in the options of long calls;
 *  - one ownership rule: a handle (cvg_npy, cvg_stats, cvg_net, ...) or a result struct the
 *    library fills (cvg_match_result, cvg_similarity, cvg_dataset, ...) is released with its
 *    own *_free; an array the library allocates for the caller (cvg_npy_load,
 *    cvg_stats_load_matrix, cvg_idx_load, the name lists and kinds of cvg_stats_list_layers
 *    and cvg_stats_list_dirs) with cvg_free;
 *  - every *_options_init fills the defaults its struct documents (NULL: nothing to do);
 *  - matrices are row-major; "D" is the width of the concatenated vector of all networks'
 *    units [net1 | net2 | ...] (net-major), D = K * S for K networks of S units, and
 *    D = S_1 + ... + S_K for networks of different widths (cvg_stats_create_widths).
 */
#ifndef CONVERGENT_CORE_H
#define CONVERGENT_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the exported functions. The library is built with hidden visibility (CVG_BUILD set),
 * so libconvergent.so exports these and nothing else. */
#if defined(CVG_BUILD) && defined(__GNUC__)
#define CVG_API __attribute__((visibility("default")))
#else
#define CVG_API
#endif

/* Bounds every numeric option is checked against (CVG_ERR_ARG beyond them, whatever the
 * front end): thread counts (0 means the OpenMP default; more than this is a mistake, and tens
 * of thousands of threads exhaust the process), and global row indices (row_offset + rows of a
 * pass), which meta.json stores as JSON numbers, exact up to 2^53 - 1. */
#define CVG_MAX_THREADS 1024
#define CVG_MAX_ROW_INDEX 9007199254740991LL

/* ---------------------------------------------------------------- status, errors, logging */

typedef enum cvg_status {
    CVG_OK = 0,
    CVG_ERR_ARG,         /* an argument is invalid (NULL, out of range, inconsistent) */
    CVG_ERR_NOMEM,       /* an allocation failed */
    CVG_ERR_IO,          /* open, read, write, rename or mkdir failed */
    CVG_ERR_FORMAT,      /* a file is malformed (bad magic, header, truncated data) */
    CVG_ERR_UNSUPPORTED, /* a well-formed file uses something we do not read (a dtype) */
    CVG_ERR_SHAPE,       /* shapes disagree (between files, or with what was expected) */
    CVG_ERR_NONFINITE,   /* NaN or Inf where a finite number is required */
    CVG_ERR_EMPTY,       /* no data: zero rows, zero units */
    CVG_ERR_NUMERIC,     /* a numerical method failed to converge, or values left the range
                          * its arithmetic holds (float32 kernels, float64 squares) */
    CVG_ERR_CANCELLED,   /* a progress callback asked to stop */
    CVG_ERR_BUSY,        /* another process is writing the same output (its lock is held) */
    CVG_ERR_STALE        /* a result was computed from other statistics than those beside it */
} cvg_status;

/* A short, static description of a status code. */
CVG_API const char *cvg_strerror(cvg_status status);

/* The detailed message of the last failure on the calling thread ("" if none). */
CVG_API const char *cvg_last_error(void);

/* Release an array the library allocated for the caller (NULL is fine). */
CVG_API void cvg_free(void *ptr);

/* The library's version, "MAJOR.MINOR.PATCH". */
CVG_API const char *cvg_version(void);

typedef enum cvg_log_level {
    CVG_LOG_DEBUG = 0,
    CVG_LOG_INFO,
    CVG_LOG_WARN,
    CVG_LOG_ERROR
} cvg_log_level;

typedef void (*cvg_log_fn)(cvg_log_level level, const char *message, void *user);

/* Route the library's messages to fn (NULL: discard them, the default). Process-wide. */
CVG_API void cvg_set_log(cvg_log_fn fn, void *user);

/* Progress of a long call: done out of total units of work (rows, pairs, ...).
 * Return nonzero to cancel; the call then returns CVG_ERR_CANCELLED. */
typedef int (*cvg_progress_fn)(const char *task, uint64_t done, uint64_t total, void *user);

/* ---------------------------------------------------------------- .npy files */

#define CVG_NPY_MAX_DIMS 8

/* An open .npy file (v1, v2 or v3) for streaming reads of rows. Any numeric or bool dtype,
 * either byte order, C or Fortran order; values are converted to double. A "row" is one
 * index of axis 0: prod(shape[1:]) values in C order. */
typedef struct cvg_npy cvg_npy;

CVG_API cvg_status cvg_npy_open(const char *path, cvg_npy **out);
CVG_API void cvg_npy_free(cvg_npy *npy);
CVG_API int cvg_npy_ndim(const cvg_npy *npy);
CVG_API const int64_t *cvg_npy_shape(const cvg_npy *npy);    /* ndim entries */
CVG_API int64_t cvg_npy_rows(const cvg_npy *npy);            /* shape[0] (1 for a 0-d array) */
CVG_API int64_t cvg_npy_row_size(const cvg_npy *npy);        /* prod(shape[1:]) */
CVG_API const char *cvg_npy_descr(const cvg_npy *npy);       /* the dtype string, e.g. "<f4" */
CVG_API const char *cvg_npy_path(const cvg_npy *npy);

/* Read rows [first, first + count) into dst (count * row_size doubles, C order). */
CVG_API cvg_status cvg_npy_read_rows(cvg_npy *npy, int64_t first, int64_t count, double *dst);

/* Read the block rows [row0, row0 + rows) x columns [col0, col0 + cols) of a 2-D array into
 * dst (row r, column c at dst[r * ld + c], ld >= cols), converted to double: only those values
 * are read (one pread per row in C order, per column in Fortran order). */
CVG_API cvg_status cvg_npy_read_block(cvg_npy *npy, int64_t row0, int64_t rows, int64_t col0,
                                      int64_t cols, double *dst, int64_t ld);

/* The same converted to float32 (exact for float16/32, 8/16-bit integers and bool). */
CVG_API cvg_status cvg_npy_read_rows_f32(cvg_npy *npy, int64_t first, int64_t count, float *dst);
/* 1 if every value of the file's dtype converts to float32 exactly. */
CVG_API int cvg_npy_exact_in_f32(const cvg_npy *npy);

/* Load a whole (small) array as double; *data is the caller's (cvg_free). */
CVG_API cvg_status cvg_npy_load(const char *path, int *ndim, int64_t shape[CVG_NPY_MAX_DIMS],
                                double **data);

/* Write an array atomically: to "path.tmp.<pid>", then rename onto path. */
typedef enum cvg_dtype { CVG_F32, CVG_F64, CVG_I32, CVG_I64 } cvg_dtype;
CVG_API cvg_status cvg_npy_save(const char *path, cvg_dtype dtype, int ndim, const int64_t *shape,
                                const void *data);

/* ---------------------------------------------------------------- files */

/* mkdir -p: create dir and any missing parents (existing directories are fine). */
CVG_API cvg_status cvg_mkdirs(const char *dir);
/* Read a whole file: *data is NUL-terminated and the caller's (cvg_free); bytes (may be NULL)
 * receives its length without the NUL. */
CVG_API cvg_status cvg_read_file(const char *path, char **data, size_t *bytes);
/* Write bytes to path atomically: a unique temporary name beside it, fsync, rename. */
CVG_API cvg_status cvg_write_file_atomic(const char *path, const void *data, size_t bytes);

/* ---------------------------------------------------------------- result sets */

/* A directory of results published as one unit (docs/reliability.md): a reader sees the old
 * complete set or the new one, never a mix, whatever stops the writer. Use:
 *     cvg_result_set *rs;
 *     st = cvg_result_begin("out/stats", CVG_RESULT_KEEP, &rs);  (CVG_ERR_BUSY: another writer)
 *     ...write files under cvg_result_dir(rs)...
 *     st = ok ? cvg_result_commit(rs) : (cvg_result_abort(rs), st);
 * The new set is built in a hidden sibling, ".NAME.new-<pid>", and swapped with NAME in one
 * rename after every file and directory is synced; the writer holds the advisory lock
 * ".NAME.lock" beside NAME meanwhile (never removed: it is the lock). Leftovers of a writer
 * that was killed are repaired or removed by the next one (only those hidden siblings, and
 * only under the lock). DIR must be named (not ".", "..", "/"); its parent is created. */
typedef struct cvg_result_set cvg_result_set;
enum {
    CVG_RESULT_FRESH = 0, /* the new set starts empty */
    CVG_RESULT_KEEP = 1   /* it starts as the published set (files hard-linked, not copied) */
};
CVG_API cvg_status cvg_result_begin(const char *dir, int flags, cvg_result_set **out);
/* Where to write the new set (the hidden sibling), and the directory it will replace. */
CVG_API const char *cvg_result_dir(const cvg_result_set *rs);
CVG_API const char *cvg_result_target(const cvg_result_set *rs);
/* Remove a file or a whole subdirectory (relative to the set) from the new set. */
CVG_API cvg_status cvg_result_remove(const cvg_result_set *rs, const char *relative);
/* Sync, publish, remove the old set, unlock; rs is freed whatever the outcome. */
CVG_API cvg_status cvg_result_commit(cvg_result_set *rs);
/* Drop the new set and unlock (NULL is fine). */
CVG_API void cvg_result_abort(cvg_result_set *rs);
/* Hold dir's writer lock (and repair what a killed writer left) across several steps, such
 * as training into DIR before publishing DIR: cvg_result_begin on dir in this process then
 * shares the lock. Counted: each cvg_result_lock needs one cvg_result_unlock. */
CVG_API cvg_status cvg_result_lock(const char *dir);
CVG_API void cvg_result_unlock(const char *dir);
/* For readers: if dir is missing because its writer was killed while publishing it, put the
 * published set back in place (nothing is done while a writer holds the lock). */
CVG_API cvg_status cvg_result_recover(const char *dir);

#ifdef __cplusplus
}
#endif
#endif /* CONVERGENT_CORE_H */
