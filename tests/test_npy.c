/* .npy reader and writer: every dtype, byte order, memory order and format version numpy
 * writes (fixtures from make_stats_fixtures.py), streaming reads of row ranges, atomic writes,
 * and the corpus of malformed files, each refused with the expected status and message. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, madvise */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/npy_internal.h"
#include "test_support.h"

static double *load(const char *name, int *ndim, int64_t *shape)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/npy/%s", CVG_FIXTURE_DIR, name);
    double *data = NULL;
    assert_cvg_ok(cvg_npy_load(path, ndim, shape, &data));
    return data;
}

static void expect_same(const char *file, const char *reference)
{
    int nd, nr;
    int64_t sh[CVG_NPY_MAX_DIMS], shr[CVG_NPY_MAX_DIMS];
    double *a = load(file, &nd, sh), *r = load(reference, &nr, shr);
    assert_int_equal(nd, nr);
    int64_t n = 1;
    for (int i = 0; i < nd; i++) {
        assert_int_equal(sh[i], shr[i]);
        n *= sh[i];
    }
    for (int64_t i = 0; i < n; i++)
        if (a[i] != r[i]) fail_msg("%s[%lld] = %g, expected %g", file, (long long)i, a[i], r[i]);
    free(a);
    free(r);
}

static void test_float_dtypes(void **state)
{
    (void)state;
    const char *files[] = {"float_le_f2.npy", "float_be_f2.npy", "float_le_f4.npy",
                           "float_be_f4.npy", "float_le_f8.npy", "float_be_f8.npy",
                           "version2.npy", "version3.npy", "fortran_2d.npy"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) expect_same(files[i], "values.npy");
}

static void test_integer_and_bool_dtypes(void **state)
{
    (void)state;
    const char *ints[] = {"int_le_i1.npy", "int_le_i2.npy", "int_be_i2.npy", "int_le_i4.npy",
                          "int_be_i4.npy", "int_le_i8.npy", "int_be_i8.npy"};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) expect_same(ints[i], "int_values.npy");
    const char *uints[] = {"uint_le_u1.npy", "uint_le_u2.npy", "uint_be_u2.npy", "uint_le_u4.npy",
                           "uint_be_u4.npy", "uint_le_u8.npy", "uint_be_u8.npy"};
    for (size_t i = 0; i < sizeof uints / sizeof *uints; i++) expect_same(uints[i], "uint_values.npy");
    expect_same("bool.npy", "bool_values.npy");
}

/* A Fortran-order 4-D float32 file read in row ranges equals the C-order float64 file. */
static void test_fortran_order_row_ranges(void **state)
{
    (void)state;
    char fpath[1024], cpath[1024];
    snprintf(fpath, sizeof fpath, "%s/npy/fortran_4d.npy", CVG_FIXTURE_DIR);
    snprintf(cpath, sizeof cpath, "%s/npy/c_order_4d.npy", CVG_FIXTURE_DIR);
    cvg_npy *f, *c;
    assert_cvg_ok(cvg_npy_open(fpath, &f));
    assert_cvg_ok(cvg_npy_open(cpath, &c));
    assert_int_equal(cvg_npy_ndim(f), 4);
    assert_int_equal(cvg_npy_rows(f), 3);
    assert_int_equal(cvg_npy_row_size(f), 2 * 4 * 5);
    assert_string_equal(cvg_npy_descr(f), "<f4");
    double a[120], b[120];
    for (int64_t first = 0; first < 3; first++)
        for (int64_t count = 1; first + count <= 3; count++) {
            assert_cvg_ok(cvg_npy_read_rows(f, first, count, a));
            assert_cvg_ok(cvg_npy_read_rows(c, first, count, b));
            for (int64_t i = 0; i < count * 40; i++) assert_true(a[i] == b[i]);
        }
    assert_int_equal(cvg_npy_read_rows(f, 2, 2, a), CVG_ERR_ARG);
    cvg_npy_free(f);
    cvg_npy_free(c);
}

static void test_save_round_trip(void **state)
{
    (void)state;
    char *dir = test_tmpdir("npy_save");
    char *path = test_path(dir, "x.npy");
    const int64_t shape[3] = {4, 3, 2};
    double d[24];
    float f[24];
    int32_t i32[24];
    int64_t i64[24];
    for (int i = 0; i < 24; i++) {
        d[i] = i * 0.1 - 1;
        f[i] = (float)d[i];
        i32[i] = -i * 1000;
        i64[i] = (int64_t)i << 40;
    }
    const void *data[4] = {f, d, i32, i64};
    for (int t = CVG_F32; t <= CVG_I64; t++) {
        assert_cvg_ok(cvg_npy_save(path, (cvg_dtype)t, 3, shape, data[t]));
        int nd;
        int64_t sh[CVG_NPY_MAX_DIMS];
        double *back;
        assert_cvg_ok(cvg_npy_load(path, &nd, sh, &back));
        assert_int_equal(nd, 3);
        assert_int_equal(sh[0], 4);
        assert_int_equal(sh[2], 2);
        for (int i = 0; i < 24; i++) {
            double want = t == CVG_F32 ? f[i] : t == CVG_F64 ? d[i] : t == CVG_I32 ? i32[i] : (double)i64[i];
            assert_true(back[i] == want);
        }
        free(back);
    }
    /* numpy reads what we write (when python3-numpy is there, as in CI). */
    if (test_system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0)
        assert_int_equal(test_system("/usr/bin/python3 -c \"import numpy as np; a=np.load('%s'); "
                                     "assert a.shape==(4,3,2) and a.dtype=='<i8' and a[2,1,0]==%lld\"",
                                     path, (long long)i64[14]), 0);
    /* A failed write leaves no file behind and names the path. */
    assert_int_equal(cvg_npy_save("/nonexistent-dir/x.npy", CVG_F64, 3, shape, d), CVG_ERR_IO);
    assert_non_null(strstr(cvg_last_error(), "/nonexistent-dir/x.npy"));
    assert_int_equal(test_system("ls '%s' | grep -c tmp", dir), 1); /* grep finds no temp file */
    free(path);
    free(dir);
}

/* An array larger than the writer's pieces (16 MB, each handed to the disk once written) comes
 * back whole, with the last partial piece. */
static void test_save_in_pieces(void **state)
{
    (void)state;
    char *dir = test_tmpdir("npy_save_pieces");
    char *path = test_path(dir, "big.npy");
    const int64_t shape[2] = {(int64_t)5 << 20, 1}; /* 40 MB of float64: 2.5 pieces */
    double *x = malloc((size_t)shape[0] * sizeof *x);
    assert_non_null(x);
    for (int64_t i = 0; i < shape[0]; i++) x[i] = (double)i * 0.5;
    assert_cvg_ok(cvg_npy_save(path, CVG_F64, 2, shape, x));
    cvg_npy *f;
    assert_cvg_ok(cvg_npy_open(path, &f));
    double row[1];
    const int64_t probes[4] = {0, (16 << 20) / 8 - 9, (int64_t)(32 << 20) / 8 + 3, shape[0] - 1};
    for (int p = 0; p < 4; p++) {
        assert_cvg_ok(cvg_npy_read_rows(f, probes[p], 1, row));
        assert_true(row[0] == x[probes[p]]);
    }
    cvg_npy_free(f);
    assert_int_equal(test_system("test $(stat -c %%s '%s') -eq %lld", path, 128LL + (long long)shape[0] * 8), 0);
    free(x), free(path), free(dir);
}

static cvg_status status_named(const char *name)
{
    static const struct { const char *name; cvg_status st; } table[] = {
        {"FORMAT", CVG_ERR_FORMAT}, {"UNSUPPORTED", CVG_ERR_UNSUPPORTED}, {"SHAPE", CVG_ERR_SHAPE},
        {"EMPTY", CVG_ERR_EMPTY}, {"IO", CVG_ERR_IO}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(table[i].name, name) == 0) return table[i].st;
    fail_msg("unknown status %s in expected.txt", name);
    return CVG_OK;
}

static void test_malformed_corpus(void **state)
{
    (void)state;
    char manifest[1024];
    snprintf(manifest, sizeof manifest, "%s/npy/bad/expected.txt", CVG_FIXTURE_DIR);
    FILE *fp = fopen(manifest, "r");
    assert_non_null(fp);
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, fp)) {
        if (line[0] == '#') continue;
        char *name = strtok(line, "\t"), *status = strtok(NULL, "\t"), *needle = strtok(NULL, "\t\n");
        assert_non_null(needle);
        char path[1024];
        snprintf(path, sizeof path, "%s/npy/bad/%s", CVG_FIXTURE_DIR, name);
        cvg_npy *npy = NULL;
        cvg_status st = cvg_npy_open(path, &npy);
        if (st != status_named(status))
            fail_msg("%s: got %s (%s), expected %s", name, cvg_strerror(st), cvg_last_error(), status);
        assert_null(npy);
        if (!strstr(cvg_last_error(), needle) || !strstr(cvg_last_error(), name))
            fail_msg("%s: message '%s' lacks '%s' or the file name", name, cvg_last_error(), needle);
        cases++;
    }
    fclose(fp);
    assert_true(cases >= 15);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

/* Whether this kernel has MADV_POPULATE_READ. */
static int have_populate_read(void)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 0;
    const int ok = madvise(p, page, MADV_POPULATE_READ) == 0;
    munmap(p, page);
    return ok;
}

/* The statistics pass maps float32 files a chunk at a time: the values are the file's, and a
 * file that shrank after it was opened is refused by name instead of faulting. */
static void test_mapped_reads(void **state)
{
    (void)state;
    char *dir = test_tmpdir("npy_map");
    char *path = test_path(dir, "m.npy");
    enum { ROWS = 3000, COLS = 7 };
    float *x = malloc(sizeof(float) * ROWS * COLS);
    for (int i = 0; i < ROWS * COLS; i++) x[i] = (float)i * 0.5f;
    const int64_t shape[2] = {ROWS, COLS};
    assert_cvg_ok(cvg_npy_save(path, CVG_F32, 2, shape, x));
    cvg_npy *f;
    assert_cvg_ok(cvg_npy_open(path, &f));
    assert_true(npy_is_native_f32(f));
    npy_mapping m;
    const int64_t first = 1234 * COLS + 3, count = 1500 * COLS; /* not page aligned */
    assert_cvg_ok(npy_map_f32(f, first, count, &m));
    assert_true(memcmp(m.values, x + first, sizeof(float) * count) == 0);
    npy_unmap(&m);
    assert_int_equal(npy_map_f32(f, first, ROWS * COLS, &m), CVG_ERR_ARG); /* past the end */
    /* shrinking under a mapping: populating its pages says so (where the kernel has
     * MADV_POPULATE_READ) instead of a read raising SIGBUS; the part still there populates */
    assert_cvg_ok(npy_map_f32(f, 0, ROWS * COLS, &m));
    assert_int_equal(test_system("truncate -s 20000 %s", path), 0);
    assert_int_equal(npy_mapping_populate(&m, 0, 4), 0);
    if (have_populate_read()) assert_int_equal(npy_mapping_populate(&m, 3, 4), -1);
    npy_mapping_release(&m, 0, 4);
    npy_unmap(&m);
    assert_int_equal(npy_map_f32(f, first, count, &m), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "m.npy"));
    assert_non_null(strstr(cvg_last_error(), "shrank"));
    assert_cvg_ok(npy_map_f32(f, 0, 1000, &m)); /* what is still there maps */
    assert_true(memcmp(m.values, x, sizeof(float) * 1000) == 0);
    npy_unmap(&m);
    cvg_npy_free(f);
    free(x), free(path), free(dir);
}

static void test_missing_file(void **state)
{
    (void)state;
    cvg_npy *npy;
    assert_int_equal(cvg_npy_open("/no/such/file.npy", &npy), CVG_ERR_IO);
    assert_non_null(strstr(cvg_last_error(), "/no/such/file.npy"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_dtypes),
        cmocka_unit_test(test_integer_and_bool_dtypes),
        cmocka_unit_test(test_fortran_order_row_ranges),
        cmocka_unit_test(test_save_round_trip),
        cmocka_unit_test(test_save_in_pieces),
        cmocka_unit_test(test_malformed_corpus),
        cmocka_unit_test(test_mapped_reads),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
