/* Helpers shared by the unit tests: temporary directories, small .npy writers, RNG. */
#ifndef CVG_TEST_SUPPORT_H
#define CVG_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "convergent.h"

/* A fresh empty directory under the build tree's tests/tmp, named after tag. Caller frees. */
char *test_tmpdir(const char *tag);
/* path = dir/name, caller frees. */
char *test_path(const char *dir, const char *name);
/* Write raw bytes to a file (not atomically: tests make deliberately broken files). */
void test_write_bytes(const char *path, const void *data, size_t bytes);
/* Run a shell command, return its exit status. */
int test_system(const char *fmt, ...);

/* The whole file as a NUL-terminated string (malloc'd); fails the test when it cannot be read. */
char *test_read_text(const char *path);
/* Parse a JSON file (fails the test if it cannot). Free with cJSON_Delete. */
struct cJSON;
struct cJSON *test_read_json(const char *path);

/* Learnable synthetic 28x28 images: class k is a bright bar at row 2 + 2k (plus noise), so the
 * training tests need no installed dataset. Free with cvg_dataset_free. */
void test_synthetic_images(cvg_dataset *ds, int n, uint64_t seed);
/* Write ds as dir/<prefix>-images-idx3-ubyte and dir/<prefix>-labels-idx1-ubyte (plain IDX,
 * pixels round(v * 255)), the layout `--data DIR` reads; prefix "train" or "t10k". */
void test_write_idx(const char *dir, const char *prefix, const cvg_dataset *ds);
/* A whole `--data DIR` dataset of synthetic images: `train` training and `test` test images
 * (test_synthetic_images with seeds seed and seed + 1). */
void test_write_synthetic_dataset(const char *dir, int train, int test, uint64_t seed);

/* Deterministic test RNG (splitmix64). */
uint64_t test_rand_u64(uint64_t *state);
double test_rand_uniform(uint64_t *state);  /* [0, 1) */
double test_rand_normal(uint64_t *state);

/* Assert a cvg call succeeded, printing cvg_last_error() if not. */
#define assert_cvg_ok(call)                                                                   \
    do {                                                                                      \
        cvg_status st_ = (call);                                                              \
        if (st_ != CVG_OK) fail_msg("%s -> %s: %s", #call, cvg_strerror(st_), cvg_last_error()); \
    } while (0)

#endif
