/* Internal helpers shared by every part of the library: error reporting, logging, files. */
#ifndef CVG_INTERNAL_H
#define CVG_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include "convergent.h"

#if defined(__GNUC__)
#define CVG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CVG_PRINTF(a, b)
#endif

/* Hot loops over rows of activations: compiled for AVX-512, AVX2 and the baseline, picked on
 * the running CPU (the build itself targets the baseline so the binary runs anywhere). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CVG_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CVG_VECTOR_CLONES
#endif

/* Record a detailed message for cvg_last_error() and return status, so a failure reads
 *   return cvg__fail(CVG_ERR_FORMAT, "%s: bad magic", path); */
cvg_status cvg__fail(cvg_status status, const char *fmt, ...) CVG_PRINTF(2, 3);

/* Prefix the current detail message with "prefix: " (adds context on the way up). */
void cvg__error_context(const char *fmt, ...) CVG_PRINTF(1, 2);

void cvg__log(cvg_log_level level, const char *fmt, ...) CVG_PRINTF(2, 3);

/* CVG_ERR_ARG naming who, unless 0 <= threads <= CVG_MAX_THREADS (limits.c). */
cvg_status cvg__check_threads(int threads, const char *who);
/* CVG_ERR_ARG naming who, unless offset >= 0, rows >= 0 and the last row index, offset + rows
 * - 1, is at most CVG_MAX_ROW_INDEX (checked without overflow). */
cvg_status cvg__check_rows(int64_t offset, int64_t rows, const char *who);

/* Allocation that records CVG_ERR_NOMEM's message on failure (returns NULL). */
void *cvg__malloc(size_t bytes, const char *what);
void *cvg__calloc(size_t count, size_t size, const char *what);

/* Files written atomically: write to a unique temporary name beside path, then rename. */
typedef struct cvg__atomic_file {
    FILE *fp;
    char *path;
    char *tmp_path;
} cvg__atomic_file;

cvg_status cvg__atomic_open(cvg__atomic_file *af, const char *path);
/* fwrite for large arrays: also starts the disk writes of what is written (Linux), so the
 * commit's fsync has less left to wait for. */
void cvg__atomic_write(cvg__atomic_file *af, const void *data, size_t bytes);
/* Close, check every write succeeded, rename into place; on failure remove the temporary. */
cvg_status cvg__atomic_commit(cvg__atomic_file *af);
void cvg__atomic_abort(cvg__atomic_file *af);

/* The one random number generator (core/rng.c): xoshiro256** seeded through splitmix64. */
typedef struct cvg__rng {
    uint64_t s[4];
} cvg__rng;

uint64_t cvg__splitmix64(uint64_t *state);
/* splitmix64's finalizer: every input bit avalanches into every output bit (also the last step
 * of the fingerprints, core/fingerprint.c). */
uint64_t cvg__mix64(uint64_t z);
static inline uint64_t cvg__rotl64(uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }
/* A well-mixed 64-bit function of (a, b): counter-based randomness (dropout masks). */
uint64_t cvg__hash64(uint64_t a, uint64_t b);
void cvg__rng_seed(cvg__rng *r, uint64_t seed);
/* Independent streams for the same seed: (seed, stream) -> state. */
void cvg__rng_seed_stream(cvg__rng *r, uint64_t seed, uint64_t stream);
uint64_t cvg__rng_next(cvg__rng *r);
double cvg__rng_uniform(cvg__rng *r); /* [0, 1), 53 bits */
double cvg__rng_normal(cvg__rng *r);  /* standard normal (Box-Muller) */

/* A double as a JSON number that reads back bit for bit (a cJSON raw item; null if not finite). */
struct cJSON;
struct cJSON *cvg__json_number(double v);
/* Print json (then delete it, whatever happens) to path atomically; what names it in errors. */
cvg_status cvg__json_write(const char *path, struct cJSON *json, const char *what);
/* rm -r of a tree we own (absent: fine); symbolic links are removed, not followed. */
cvg_status cvg__remove_tree(const char *path);
/* Read and parse path: *out is NULL when the file is not JSON (the read itself succeeded). */
cvg_status cvg__json_read(const char *path, struct cJSON **out);
/* o[key] into *v if it is a finite number: 1, else 0 (missing, not a number, not finite). */
int cvg__json_finite(const struct cJSON *o, const char *key, double *v);

/* 1 if path lies inside a result set this process is building (core/result_set.c): its
 * commit syncs every file, so the atomic writes there need not sync each file themselves. */
int cvg__inside_new_set(const char *path);

/* A 64-bit fingerprint of a stream of bytes (core/fingerprint.c): feed, then read. */
typedef struct cvg__fingerprint {
    uint64_t lane[4], total;
    unsigned char tail[32];
    size_t held;
} cvg__fingerprint;
void cvg__fp_init(cvg__fingerprint *f);
void cvg__fp_add(cvg__fingerprint *f, const void *data, size_t bytes);
void cvg__fp_add_u64(cvg__fingerprint *f, uint64_t v);
void cvg__fp_add_str(cvg__fingerprint *f, const char *s); /* length, then bytes (NULL: "") */
uint64_t cvg__fp_value(const cvg__fingerprint *f);
void cvg__fp_hex(const cvg__fingerprint *f, char out[17]); /* 16 lowercase hex digits */

/* Join two path parts with '/' into a malloc'd string (NULL on allocation failure). */
char *cvg__path_join(const char *a, const char *b);

#endif
