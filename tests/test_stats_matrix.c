/* Blocks of a layer's D x D matrix read from the file (cvg_stats_matrix_open, _block) against
 * the whole matrix loaded by cvg_stats_load_matrix: every block of every list of nets equals the
 * slice of the full load, for nets of equal and of different widths, float64 and float32, either
 * byte order, C and Fortran order (files written byte by byte here, not by our writer); a bad
 * file gives the whole loader's status and message; non-finite values are reported by their
 * flat index; a file rewritten in place while open is refused, one replaced by rename is not
 * seen (the blocks come from the version opened). */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.h"

enum { MAX_D = 16 };

/* A .npy v1.0 file of a D x D matrix m (row-major values), with the given dtype ('<f8', '>f8',
 * '<f4') and order, written byte by byte; extra bytes after the data, or `cut` bytes removed. */
static void write_npy(const char *path, const double *m, int64_t rows, int64_t cols, const char *descr,
                      int fortran, int extra, int cut)
{
    char header[256];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': %s, 'shape': (%lld, %lld), }",
                     descr, fortran ? "True" : "False", (long long)rows, (long long)cols);
    while ((10 + n + 1) % 64) header[n++] = ' ';
    header[n++] = '\n';
    const int size = descr[2] == '8' ? 8 : 4, big = descr[0] == '>';
    const size_t bytes = 10 + (size_t)n + (size_t)(rows * cols * size) + (size_t)extra;
    unsigned char *buf = calloc(bytes, 1), *p = buf;
    memcpy(p, "\x93NUMPY\x01\x00", 8);
    p[8] = (unsigned char)(n & 0xff), p[9] = (unsigned char)(n >> 8);
    memcpy(p + 10, header, (size_t)n);
    p += 10 + n;
    for (int64_t k = 0; k < rows * cols; k++) {
        const int64_t i = fortran ? k % rows : k / cols, j = fortran ? k / rows : k % cols;
        unsigned char v[8];
        if (size == 8) memcpy(v, &m[i * cols + j], 8);
        else {
            const float f = (float)m[i * cols + j];
            memcpy(v, &f, 4);
        }
        for (int b = 0; b < size; b++) p[b] = v[big ? size - 1 - b : b]; /* this host: little endian */
        p += size;
    }
    test_write_bytes(path, buf, bytes - (size_t)cut);
    free(buf);
}

/* dir/meta.json for nets of these widths ("units_per_net": a count when they are equal). */
static void write_meta(const char *dir, const int64_t *widths, int K)
{
    char text[512], *path = test_path(dir, "meta.json");
    int n = snprintf(text, sizeof text, "{\"nets\": %d, \"units_per_net\": ", K);
    int equal = 1;
    for (int k = 1; k < K; k++) equal &= widths[k] == widths[0];
    if (equal) n += snprintf(text + n, sizeof text - (size_t)n, "%lld}", (long long)widths[0]);
    else {
        for (int k = 0; k < K; k++)
            n += snprintf(text + n, sizeof text - (size_t)n, "%s%lld", k ? ", " : "[", (long long)widths[k]);
        snprintf(text + n, sizeof text - (size_t)n, "]}");
    }
    test_write_bytes(path, text, strlen(text));
    free(path);
}

static void random_matrix(double *m, int64_t D, uint64_t seed)
{
    for (int64_t i = 0; i < D * D; i++) m[i] = test_rand_normal(&seed);
}

/* Every block of lists of nets (singles, pairs both ways, all) equals the slice of the full load. */
static void check_every_block(const char *dir, const char *name, int flags)
{
    int K;
    int64_t S;
    double *full;
    assert_cvg_ok(cvg_stats_load_matrix(dir, name, &K, &S, &full));
    cvg_stats_matrix *m;
    assert_cvg_ok(cvg_stats_matrix_open(dir, name, flags, &m));
    assert_int_equal(cvg_stats_matrix_nets(m), K);
    assert_int_equal(cvg_stats_matrix_units(m), S);
    const int64_t *off = cvg_stats_matrix_offsets(m), D = off[K];
    int lists[][4] = {{0}, {1}, {2}, {0, 1}, {1, 0}, {0, 2}, {2, 1}, {0, 1, 2}, {2, 0, 1}, {1, 1}};
    const int lens[] = {1, 1, 1, 2, 2, 2, 2, 3, 3, 2};
    const int nlists = (int)(sizeof lens / sizeof *lens);
    double *block = malloc((size_t)(4 * D * D) * sizeof *block);
    for (int r = 0; r < nlists; r++)
        for (int c = 0; c < nlists; c++) {
            assert_cvg_ok(cvg_stats_matrix_block(m, lists[r], lens[r], lists[c], lens[c], block));
            int64_t width = 0;
            for (int j = 0; j < lens[c]; j++) width += off[lists[c][j] + 1] - off[lists[c][j]];
            int64_t row = 0;
            for (int i = 0; i < lens[r]; i++) {
                const int a = lists[r][i];
                for (int64_t u = off[a]; u < off[a + 1]; u++, row++) {
                    int64_t col = 0;
                    for (int j = 0; j < lens[c]; j++) {
                        const int b = lists[c][j];
                        for (int64_t v = off[b]; v < off[b + 1]; v++, col++)
                            if (memcmp(&block[row * width + col], &full[u * D + v], sizeof(double)) != 0)
                                fail_msg("%s: block list %d x list %d, (%lld, %lld): %.17g, the full load "
                                         "%.17g", dir, r, c, (long long)row, (long long)col,
                                         block[row * width + col], full[u * D + v]);
                    }
                }
            }
        }
    free(block);
    free(full);
    cvg_stats_matrix_free(m);
}

static void test_blocks_equal_slices(void **state)
{
    (void)state;
    const int64_t widths[2][3] = {{4, 4, 4}, {3, 5, 4}}; /* equal; different (rectangular blocks) */
    const char *descrs[] = {"<f8", ">f8", "<f4"};
    for (int w = 0; w < 2; w++)
        for (int d = 0; d < 3; d++)
            for (int fortran = 0; fortran < 2; fortran++) {
                char tag[64];
                snprintf(tag, sizeof tag, "stats_matrix_%d_%d_%d", w, d, fortran);
                char *dir = test_tmpdir(tag), *path = test_path(dir, "corr.npy");
                const int64_t D = widths[w][0] + widths[w][1] + widths[w][2];
                double m[MAX_D * MAX_D];
                random_matrix(m, D, 11 + (uint64_t)(w * 6 + d * 2 + fortran));
                write_meta(dir, widths[w], 3);
                write_npy(path, m, D, D, descrs[d], fortran, 0, 0);
                check_every_block(dir, "corr", 0);
                check_every_block(dir, "corr", CVG_MATRIX_WHOLE);
                free(path);
                free(dir);
            }
}

/* A broken file: the block reader's open fails as the whole loader does, same status, same
 * message (naming the file and the defect). */
static void test_errors_as_whole_loader(void **state)
{
    (void)state;
    const int64_t widths[3] = {3, 5, 4}, D = 12;
    double m[MAX_D * MAX_D];
    random_matrix(m, D, 3);
    struct {
        const char *what, *descr, *expect;
        int64_t rows, cols;
        int extra, cut;
    } cases[] = {
        {"truncated", "<f8", "truncated data", D, D, 0, 8},
        {"bytes after the data", "<f8", "inconsistent with the file size", D, D, 16, 0},
        {"not square", "<f8", "does not match the directory's manifest", D, D - 1, 0, 0},
        {"another D", "<f8", "does not match the directory's manifest", D + 1, D + 1, 0, 0},
        {"a string dtype", "<U8", "", D, D, 0, 0},
        {"header only", "<f8", "truncated", D, D, 0, (int)(D * D * 8)},
    };
    char *dir = test_tmpdir("stats_matrix_errors"), *path = test_path(dir, "corr.npy");
    write_meta(dir, widths, 3);
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        double big[(MAX_D + 1) * (MAX_D + 1)];
        random_matrix(big, cases[c].rows > cases[c].cols ? cases[c].rows : cases[c].cols, 5);
        write_npy(path, big, cases[c].rows, cases[c].cols, cases[c].descr, 0, cases[c].extra, cases[c].cut);
        int K;
        int64_t S;
        double *full = NULL;
        const cvg_status whole = cvg_stats_load_matrix(dir, "corr", &K, &S, &full);
        char whole_msg[1024];
        snprintf(whole_msg, sizeof whole_msg, "%s", cvg_last_error());
        cvg_stats_matrix *mf = NULL;
        const cvg_status blocks = cvg_stats_matrix_open(dir, "corr", 0, &mf);
        if (whole == CVG_OK || blocks != whole || strcmp(cvg_last_error(), whole_msg) != 0)
            fail_msg("%s: the whole loader says %s (%s), the block reader %s (%s)", cases[c].what,
                     cvg_strerror(whole), whole_msg, cvg_strerror(blocks), cvg_last_error());
        if (!strstr(whole_msg, path) || !strstr(whole_msg, cases[c].expect))
            fail_msg("%s: the message does not name %s and '%s': %s", cases[c].what, path, cases[c].expect,
                     whole_msg);
        assert_null(mf);
        free(full);
    }
    /* a missing file, a missing meta.json */
    unlink(path);
    cvg_stats_matrix *mf = NULL;
    assert_int_equal(cvg_stats_matrix_open(dir, "corr", 0, &mf), CVG_ERR_IO);
    assert_non_null(strstr(cvg_last_error(), "corr.npy"));
    char *meta = test_path(dir, "meta.json");
    unlink(meta);
    assert_int_not_equal(cvg_stats_matrix_open(dir, "corr", 0, &mf), CVG_OK);
    assert_non_null(strstr(cvg_last_error(), "meta.json"));
    free(meta), free(path), free(dir);
}

/* A NaN is reported by its flat index when a block holding it is read, as the whole loader
 * reports it at load; a block without it reads fine. */
static void test_nonfinite(void **state)
{
    (void)state;
    const int64_t widths[3] = {3, 5, 4}, D = 12;
    double m[MAX_D * MAX_D];
    random_matrix(m, D, 9);
    m[1 * D + 7] = NAN; /* row 1 (net 1), column 7 (net 2) */
    char *dir = test_tmpdir("stats_matrix_nan"), *path = test_path(dir, "corr.npy");
    write_meta(dir, widths, 3);
    write_npy(path, m, D, D, "<f8", 0, 0, 0);
    cvg_stats_matrix *mf;
    assert_cvg_ok(cvg_stats_matrix_open(dir, "corr", 0, &mf));
    double block[MAX_D * MAX_D];
    const int a = 0, b = 1, c = 2;
    assert_cvg_ok(cvg_stats_matrix_block(mf, &c, 1, &c, 1, block));
    assert_cvg_ok(cvg_stats_matrix_block(mf, &b, 1, &a, 1, block));
    assert_int_equal(cvg_stats_matrix_block(mf, &a, 1, &b, 1, block), CVG_ERR_NONFINITE);
    assert_non_null(strstr(cvg_last_error(), "corr.npy: non-finite value at flat index 19"));
    cvg_stats_matrix_free(mf);
    int K;
    int64_t S;
    double *full = NULL;
    assert_int_equal(cvg_stats_load_matrix(dir, "corr", &K, &S, &full), CVG_ERR_NONFINITE);
    assert_non_null(strstr(cvg_last_error(), "corr.npy: non-finite value at flat index 19"));
    free(path), free(dir);
}

/* Rewritten in place while open: refused. Replaced by rename (how convergent publishes): the
 * blocks still come from the version opened, whole and unmixed. */
static void test_changed_while_open(void **state)
{
    (void)state;
    const int64_t widths[2] = {4, 4}, D = 8;
    double m[MAX_D * MAX_D], m2[MAX_D * MAX_D];
    random_matrix(m, D, 21);
    random_matrix(m2, D, 22);
    char *dir = test_tmpdir("stats_matrix_changed"), *path = test_path(dir, "corr.npy");
    char *other = test_path(dir, "other.npy");
    write_meta(dir, widths, 2);
    write_npy(path, m, D, D, "<f8", 0, 0, 0);
    cvg_stats_matrix *mf;
    assert_cvg_ok(cvg_stats_matrix_open(dir, "corr", 0, &mf));
    double block[MAX_D * MAX_D];
    const int a = 0, b = 1;
    write_npy(other, m2, D, D, "<f8", 0, 0, 0);
    assert_int_equal(rename(other, path), 0);
    assert_cvg_ok(cvg_stats_matrix_block(mf, &a, 1, &b, 1, block));
    for (int64_t i = 0; i < 4; i++)
        for (int64_t j = 0; j < 4; j++) assert_true(block[i * 4 + j] == m[i * D + 4 + j]);
    cvg_stats_matrix_free(mf);

    /* in place: the same size, new bytes, a new modification time */
    assert_cvg_ok(cvg_stats_matrix_open(dir, "corr", 0, &mf));
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    const double v = 0.5;
    assert_int_equal(pwrite(fd, &v, sizeof v, 128), (ssize_t)sizeof v);
    const struct timespec later[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
    assert_int_equal(futimens(fd, later), 0);
    close(fd);
    assert_int_equal(cvg_stats_matrix_block(mf, &a, 1, &b, 1, block), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "rewritten while being read"));
    cvg_stats_matrix_free(mf);

    /* truncated while open: the read reports it */
    assert_cvg_ok(cvg_stats_matrix_open(dir, "corr", 0, &mf));
    assert_int_equal(truncate(path, 128 + 8 * D), 0);
    assert_int_equal(cvg_stats_matrix_block(mf, &b, 1, &b, 1, block), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "corr.npy"));
    cvg_stats_matrix_free(mf);
    free(other), free(path), free(dir);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    const int64_t widths[2] = {2, 3}, D = 5;
    double m[MAX_D * MAX_D], block[MAX_D * MAX_D];
    random_matrix(m, D, 1);
    char *dir = test_tmpdir("stats_matrix_args"), *path = test_path(dir, "corr.npy");
    write_meta(dir, widths, 2);
    write_npy(path, m, D, D, "<f8", 0, 0, 0);
    cvg_stats_matrix *mf;
    assert_cvg_ok(cvg_stats_matrix_open(dir, "corr", 0, &mf));
    const int a = 0, bad = 2, neg = -1;
    assert_int_equal(cvg_stats_matrix_block(mf, &a, 1, &bad, 1, block), CVG_ERR_ARG);
    assert_int_equal(cvg_stats_matrix_block(mf, &neg, 1, &a, 1, block), CVG_ERR_ARG);
    assert_int_equal(cvg_stats_matrix_block(mf, &a, 0, &a, 1, block), CVG_ERR_ARG);
    assert_int_equal(cvg_stats_matrix_block(mf, &a, 1, &a, 1, NULL), CVG_ERR_ARG);
    cvg_stats_matrix_free(mf);
    assert_int_equal(cvg_stats_matrix_open(NULL, "corr", 0, &mf), CVG_ERR_ARG);
    /* cvg_npy_read_block's own bounds */
    cvg_npy *npy;
    assert_cvg_ok(cvg_npy_open(path, &npy));
    assert_int_equal(cvg_npy_read_block(npy, 3, 3, 0, 1, block, 1), CVG_ERR_ARG);
    assert_int_equal(cvg_npy_read_block(npy, 0, 1, 0, 2, block, 1), CVG_ERR_ARG);
    assert_cvg_ok(cvg_npy_read_block(npy, 4, 1, 1, 4, block, 4));
    for (int j = 0; j < 4; j++) assert_true(block[j] == m[4 * D + 1 + j]);
    cvg_npy_free(npy);
    free(path), free(dir);
}

/* cvg_blocks_pair: a pair's blocks, read from the file (cvg_blocks_open) or copied from the
 * whole load (cvg_blocks_load), equal the slices of the whole co-moment matrix, and every
 * similarity measure of blocks (0, 1) of the pair equals, bit for bit, that of blocks (i, j)
 * of the whole: nets of widths 6, 9, 7 written by the CLI's stats pass. */
static void test_blocks_pair(void **state)
{
    (void)state;
    char *dir = test_tmpdir("stats_matrix_pair");
    const int64_t widths[3] = {6, 9, 7}, N = 400;
    uint64_t seed = 17;
    double f[400 * 3];
    for (int64_t i = 0; i < N * 3; i++) f[i] = test_rand_normal(&seed);
    for (int k = 0; k < 3; k++) { /* units driven by 3 shared factors, plus noise */
        float x[400 * 9];
        for (int64_t r = 0; r < N; r++)
            for (int64_t u = 0; u < widths[k]; u++)
                x[r * widths[k] + u] = (float)(f[r * 3 + u % 3] * (1 + 0.1 * (double)u) + 0.5 * test_rand_normal(&seed));
        char name[32];
        snprintf(name, sizeof name, "net%d.npy", k + 1);
        char *path = test_path(dir, name);
        const int64_t shape[2] = {N, widths[k]};
        assert_cvg_ok(cvg_npy_save(path, CVG_F32, 2, shape, x));
        free(path);
    }
    assert_int_equal(test_system("%s stats -q -o %s/stats --layer fc %s/net1.npy %s/net2.npy %s/net3.npy",
                                 CVG_CLI, dir, dir, dir, dir), 0);
    char layer[2048];
    snprintf(layer, sizeof layer, "%s/stats/fc", dir);
    cvg_blocks whole, opened;
    cvg_stats_matrix *mf;
    assert_cvg_ok(cvg_blocks_load(layer, &whole));
    assert_cvg_ok(cvg_blocks_open(layer, &opened, &mf));
    assert_null(opened.comoment);
    assert_int_equal(opened.dim, whole.dim);
    cvg_similarity_options opt;
    cvg_similarity_options_init(&opt);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            cvg_blocks from_file, from_memory;
            assert_cvg_ok(cvg_blocks_pair(&opened, mf, i, j, &from_file));
            assert_cvg_ok(cvg_blocks_pair(&whole, NULL, i, j, &from_memory));
            const int n = i == j ? 1 : 2, pick[2] = {i, j};
            assert_int_equal(from_file.count, n);
            assert_int_equal(from_file.dim, from_memory.dim);
            const int64_t dim = from_file.dim;
            assert_memory_equal(from_file.comoment, from_memory.comoment, (size_t)(dim * dim) * sizeof(double));
            for (int r = 0; r < n; r++) /* the slices of the whole */
                for (int c = 0; c < n; c++)
                    for (int64_t u = 0; u < widths[pick[r]]; u++)
                        for (int64_t v = 0; v < widths[pick[c]]; v++)
                            assert_true(from_file.comoment[(from_file.offset[r] + u) * dim + from_file.offset[c] + v] ==
                                        whole.comoment[(whole.offset[pick[r]] + u) * whole.dim + whole.offset[pick[c]] + v]);
            assert_int_equal(from_file.net[n - 1], j);
            if (i != j) {
                cvg_similarity a, b;
                assert_cvg_ok(cvg_blocks_similarity(&whole, i, j, &opt, &a));
                assert_cvg_ok(cvg_blocks_similarity(&from_file, 0, 1, &opt, &b));
                assert_memory_equal(a.value, b.value, sizeof a.value);
                assert_memory_equal(a.defined, b.defined, sizeof a.defined);
                assert_int_equal(a.ncca, b.ncca);
                if (a.ncca > 0) assert_memory_equal(a.rho, b.rho, (size_t)a.ncca * sizeof *a.rho);
                cvg_similarity_free(&a);
                cvg_similarity_free(&b);
            }
            cvg_blocks_free(&from_file);
            cvg_blocks_free(&from_memory);
        }
    cvg_stats_matrix_free(mf);
    cvg_blocks_free(&whole);
    cvg_blocks_free(&opened);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_equal_slices),
        cmocka_unit_test(test_errors_as_whole_loader),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_changed_while_open),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_blocks_pair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
