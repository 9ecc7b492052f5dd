/* Result sets (src/core/result_set.c) and fingerprints (src/core/fingerprint.c): a set is
 * published whole or not at all, KEEP starts from the published files, a second writer is
 * refused at once, a killed writer's leftovers are repaired or removed and nothing else is
 * touched; the fingerprint is independent of how its input is cut into pieces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "test_support.h"

static int exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &sb) == 0;
}

static void put_text(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    test_write_bytes(path, text, strlen(text));
}

static char *read_text(const char *dir, const char *name)
{
    char path[4096], *text = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (cvg_read_file(path, &text, NULL) != CVG_OK) return NULL;
    return text;
}

/* The number of entries of dir (but . and ..). */
static int entries(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq", dir);
    for (int n = 0; n < 64; n++)
        if (test_system("%s %d", cmd, n) == 0) return n;
    return -1;
}

static void test_commit_replaces_whole_set(void **state)
{
    (void)state;
    char *root = test_tmpdir("rs_commit"), *out = test_path(root, "out");
    cvg_result_set *rs;
    assert_cvg_ok(cvg_result_begin(out, CVG_RESULT_FRESH, &rs));
    assert_false(exists(root, "out")); /* nothing published before the commit */
    put_text(cvg_result_dir(rs), "a.txt", "one");
    put_text(cvg_result_dir(rs), "b.txt", "one");
    assert_cvg_ok(cvg_result_commit(rs));
    char *t = read_text(out, "a.txt");
    assert_string_equal(t, "one");
    cvg_free(t);

    /* a fresh set replaces every file; an aborted one changes nothing */
    assert_cvg_ok(cvg_result_begin(out, CVG_RESULT_FRESH, &rs));
    put_text(cvg_result_dir(rs), "a.txt", "two");
    cvg_result_abort(rs);
    t = read_text(out, "a.txt");
    assert_string_equal(t, "one");
    cvg_free(t);
    assert_cvg_ok(cvg_result_begin(out, CVG_RESULT_FRESH, &rs));
    put_text(cvg_result_dir(rs), "a.txt", "two");
    assert_cvg_ok(cvg_result_commit(rs));
    assert_false(exists(out, "b.txt"));
    /* the parent holds the set and its lock file, nothing left over */
    assert_int_equal(entries(root), 2);
    assert_true(exists(root, ".out.lock"));
    free(out), free(root);
}

static void test_keep_links_and_remove(void **state)
{
    (void)state;
    char *root = test_tmpdir("rs_keep"), *out = test_path(root, "out");
    cvg_result_set *rs;
    assert_cvg_ok(cvg_result_begin(out, CVG_RESULT_FRESH, &rs));
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/layer", cvg_result_dir(rs));
    assert_cvg_ok(cvg_mkdirs(sub));
    put_text(sub, "corr.npy", "c1");
    put_text(sub, "mi.npy", "m1");
    put_text(cvg_result_dir(rs), "top.json", "t1");
    assert_cvg_ok(cvg_result_commit(rs));

    struct stat before, after;
    snprintf(sub, sizeof sub, "%s/layer/corr.npy", out);
    assert_int_equal(stat(sub, &before), 0);
    assert_cvg_ok(cvg_result_begin(out, CVG_RESULT_KEEP, &rs));
    assert_cvg_ok(cvg_result_remove(rs, "layer/mi.npy"));
    assert_int_equal(cvg_result_remove(rs, "../escape"), CVG_ERR_ARG);
    put_text(cvg_result_dir(rs), "top.json", "t2");
    assert_cvg_ok(cvg_result_commit(rs));
    assert_int_equal(stat(sub, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino); /* linked, not copied */
    snprintf(sub, sizeof sub, "%s/layer", out);
    assert_false(exists(sub, "mi.npy"));
    char *t = read_text(out, "top.json");
    assert_string_equal(t, "t2");
    cvg_free(t);
    free(out), free(root);
}

/* A second process is refused at once with CVG_ERR_BUSY, naming the directory. */
static void test_second_writer_busy(void **state)
{
    (void)state;
    char *root = test_tmpdir("rs_busy"), *out = test_path(root, "out");
    cvg_result_set *rs;
    assert_cvg_ok(cvg_result_begin(out, CVG_RESULT_FRESH, &rs));
    pid_t child = fork();
    if (child == 0) {
        cvg_result_set *other;
        cvg_status st = cvg_result_begin(out, CVG_RESULT_FRESH, &other);
        _exit(st == CVG_ERR_BUSY && strstr(cvg_last_error(), "another convergent process") ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* within this process the lock is shared (run, then its steps) */
    assert_cvg_ok(cvg_result_lock(out));
    cvg_result_unlock(out);
    assert_cvg_ok(cvg_result_commit(rs));
    /* once released, another process may write */
    child = fork();
    if (child == 0) {
        cvg_result_set *other;
        cvg_status st = cvg_result_begin(out, CVG_RESULT_FRESH, &other);
        if (st == CVG_OK) st = cvg_result_commit(other);
        if (st != CVG_OK) fprintf(stderr, "child: %s\n", cvg_last_error());
        _exit(st == CVG_OK ? 0 : 1);
    }
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(out), free(root);
}

/* What killed writers leave: a staging directory (removed), a publication cut between its two
 * renames (the new set put in place); other names beside it are never touched. */
static void test_leftovers_repaired(void **state)
{
    (void)state;
    char *root = test_tmpdir("rs_leftovers"), *out = test_path(root, "out");
    char path[4200];
    snprintf(path, sizeof path, "%s/.out.new-999999", root);
    assert_cvg_ok(cvg_mkdirs(path));
    put_text(path, "half.npy", "x");
    snprintf(path, sizeof path, "%s/.out.old-777777", root);
    assert_cvg_ok(cvg_mkdirs(path));
    put_text(path, "a.txt", "old");
    snprintf(path, sizeof path, "%s/.out.new-777777", root);
    assert_cvg_ok(cvg_mkdirs(path));
    put_text(path, "a.txt", "new");
    put_text(root, ".out.new-notapid", "keep");
    put_text(root, ".other.new-123", "keep");
    put_text(root, "out.new-123", "keep");

    assert_cvg_ok(cvg_result_recover(out)); /* what a reader does */
    char *t = read_text(out, "a.txt");
    assert_string_equal(t, "new");
    cvg_free(t);
    assert_false(exists(root, ".out.new-999999"));
    assert_false(exists(root, ".out.old-777777"));
    assert_false(exists(root, ".out.new-777777"));
    assert_true(exists(root, ".out.new-notapid"));
    assert_true(exists(root, ".other.new-123"));
    assert_true(exists(root, "out.new-123"));

    /* cut before the new set was synced and renamed: the old one goes back */
    assert_int_equal(rename(out, path), 0); /* path: .out.new-777777 reused as an "old" name */
    snprintf(path, sizeof path, "%s/.out.old-555", root);
    char from[4200];
    snprintf(from, sizeof from, "%s/.out.new-777777", root);
    assert_int_equal(rename(from, path), 0);
    cvg_result_set *rs;
    assert_cvg_ok(cvg_result_begin(out, CVG_RESULT_KEEP, &rs));
    t = read_text(cvg_result_dir(rs), "a.txt");
    assert_string_equal(t, "new");
    cvg_free(t);
    cvg_result_abort(rs);
    assert_true(exists(root, "out"));
    free(out), free(root);
}

static void test_names_refused(void **state)
{
    (void)state;
    cvg_result_set *rs;
    assert_int_equal(cvg_result_begin(".", CVG_RESULT_FRESH, &rs), CVG_ERR_ARG);
    assert_int_equal(cvg_result_begin("/", CVG_RESULT_FRESH, &rs), CVG_ERR_ARG);
    assert_int_equal(cvg_result_begin("a/..", CVG_RESULT_FRESH, &rs), CVG_ERR_ARG);
    char *root = test_tmpdir("rs_names");
    put_text(root, "file", "x");
    char *file = test_path(root, "file");
    assert_int_equal(cvg_result_begin(file, CVG_RESULT_KEEP, &rs), CVG_ERR_IO);
    assert_non_null(strstr(cvg_last_error(), "not a directory"));
    /* a link to the output: the directory it points to is the set, the link stays a link */
    char *target = test_path(root, "target"), *alias = test_path(root, "alias");
    assert_cvg_ok(cvg_mkdirs(target));
    assert_int_equal(symlink("target", alias), 0);
    assert_cvg_ok(cvg_result_begin(alias, CVG_RESULT_FRESH, &rs));
    put_text(cvg_result_dir(rs), "x.txt", "x");
    assert_cvg_ok(cvg_result_commit(rs));
    struct stat sb;
    assert_int_equal(lstat(alias, &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    assert_true(exists(target, "x.txt"));
    free(target), free(alias);
    free(file), free(root);
}

static void test_fingerprint_properties(void **state)
{
    (void)state;
    unsigned char data[1000];
    uint64_t seed = 5;
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)test_rand_u64(&seed);
    cvg__fingerprint whole, parts;
    cvg__fp_init(&whole);
    cvg__fp_add(&whole, data, sizeof data);
    const uint64_t ref = cvg__fp_value(&whole);
    /* any cut into pieces gives the same value */
    for (int trial = 0; trial < 50; trial++) {
        cvg__fp_init(&parts);
        for (size_t done = 0; done < sizeof data;) {
            size_t n = 1 + test_rand_u64(&seed) % 70;
            if (n > sizeof data - done) n = sizeof data - done;
            cvg__fp_add(&parts, data + done, n);
            done += n;
        }
        assert_true(cvg__fp_value(&parts) == ref);
    }
    /* one flipped bit anywhere, or one byte fewer, changes it; about half the bits change */
    int changed_bits = 0;
    for (size_t i = 0; i < sizeof data; i += 37) {
        data[i] ^= 1;
        cvg__fp_init(&parts);
        cvg__fp_add(&parts, data, sizeof data);
        const uint64_t v = cvg__fp_value(&parts);
        assert_true(v != ref);
        changed_bits += __builtin_popcountll(v ^ ref);
        data[i] ^= 1;
    }
    const int flips = (int)((sizeof data + 36) / 37);
    assert_true(changed_bits > 24 * flips && changed_bits < 40 * flips);
    cvg__fp_init(&parts);
    cvg__fp_add(&parts, data, sizeof data - 1);
    assert_true(cvg__fp_value(&parts) != ref);
    /* strings carry their length */
    cvg__fingerprint a, b;
    cvg__fp_init(&a), cvg__fp_init(&b);
    cvg__fp_add_str(&a, "ab"), cvg__fp_add_str(&a, "c");
    cvg__fp_add_str(&b, "a"), cvg__fp_add_str(&b, "bc");
    assert_true(cvg__fp_value(&a) != cvg__fp_value(&b));
    char hex[17];
    cvg__fp_hex(&a, hex);
    assert_int_equal(strlen(hex), 16);
    assert_int_equal(strspn(hex, "0123456789abcdef"), 16);
}

/* A single file's temporary left by a killed writer (dead pid) is removed by the next write of
 * that file; one of a running process, and other names, are not. */
static void test_dead_temporaries_removed(void **state)
{
    (void)state;
    char *root = test_tmpdir("rs_tmp");
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0); /* child's pid: dead */
    char name[64];
    snprintf(name, sizeof name, "a.bin.tmp.%ld", (long)child);
    put_text(root, name, "half");
    char live[64];
    snprintf(live, sizeof live, "a.bin.tmp.%ld", (long)getppid());
    put_text(root, live, "busy");
    put_text(root, "a.bin.tmp.x1", "other");
    put_text(root, "b.bin.tmp.1", "other");
    char *path = test_path(root, "a.bin");
    assert_cvg_ok(cvg_write_file_atomic(path, "x", 1));
    assert_false(exists(root, name));
    assert_true(exists(root, live));
    assert_true(exists(root, "a.bin.tmp.x1"));
    assert_true(exists(root, "b.bin.tmp.1"));
    free(path), free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_replaces_whole_set), cmocka_unit_test(test_keep_links_and_remove),
        cmocka_unit_test(test_second_writer_busy),        cmocka_unit_test(test_leftovers_repaired),
        cmocka_unit_test(test_names_refused),             cmocka_unit_test(test_fingerprint_properties),
        cmocka_unit_test(test_dead_temporaries_removed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
