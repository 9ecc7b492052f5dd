/* An input file truncated while the statistics pass maps and reads it is an error naming the
 * file, never a SIGBUS: the pass's test hook shrinks a file after a chunk's pages are mapped
 * and populated, right before the kernel reads them (the worst moment), to a page boundary
 * (every read past it faults: the guard's case) and into the middle of a page (the page's tail
 * reads as zeros without a fault: the size check's case). The process must survive both, the
 * SIGBUS action must be the one before the pass again afterwards, and a SIGBUS outside the guarded pages
 * must still kill (checked in a child). */
#define _GNU_SOURCE /* MAP_ANONYMOUS */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

#include "io/map_guard.h"
#include "stats/stats_internal.h"

enum { ROWS = 20000, UNITS = 32, CHUNK = 2048 };

typedef struct shrink_plan {
    const char *path;   /* the file to cut */
    int64_t at_row0;    /* when the chunk starting at this file row is mapped */
    off_t new_size;     /* to this many bytes */
    int done;
} shrink_plan;

static void shrink_now(int64_t row0, void *user)
{
    shrink_plan *p = user;
    if (p->done || row0 != p->at_row0) return;
    if (truncate(p->path, p->new_size) != 0) fail_msg("truncate %s: failed", p->path);
    p->done = 1;
}

static void write_pair(const char *dir, char **pa, char **pb)
{
    float *a = malloc(sizeof(float) * ROWS * UNITS), *b = malloc(sizeof(float) * ROWS * UNITS);
    uint64_t seed = 11;
    for (int64_t i = 0; i < (int64_t)ROWS * UNITS; i++) {
        a[i] = (float)test_rand_uniform(&seed);
        b[i] = (float)(0.5 * a[i] + test_rand_uniform(&seed));
    }
    const int64_t shape[2] = {ROWS, UNITS};
    *pa = test_path(dir, "a.npy");
    *pb = test_path(dir, "b.npy");
    assert_cvg_ok(cvg_npy_save(*pa, CVG_F32, 2, shape, a));
    assert_cvg_ok(cvg_npy_save(*pb, CVG_F32, 2, shape, b));
    free(a), free(b);
}

/* The SIGBUS action now (cmocka installs its own while a test runs). */
static void *sigbus_action(void)
{
    struct sigaction now;
    assert_int_equal(sigaction(SIGBUS, NULL, &now), 0);
    return now.sa_flags & SA_SIGINFO ? (void *)now.sa_sigaction : (void *)now.sa_handler;
}

/* Cut b.npy to new_size when the chunk at file row at_row0 is mapped; the pass must fail with
 * CVG_ERR_FORMAT naming b.npy. */
static void expect_shrink_error(const char *tag, int64_t at_row0, off_t (*size_of)(off_t data_offset))
{
    char *dir = test_tmpdir(tag), *pa, *pb;
    write_pair(dir, &pa, &pb);
    struct stat sb;
    assert_int_equal(stat(pb, &sb), 0);
    const off_t data_offset = sb.st_size - (off_t)ROWS * UNITS * 4;
    shrink_plan plan = {pb, at_row0, size_of(data_offset), 0};
    stats__mapped_hook = shrink_now;
    stats__mapped_hook_user = &plan;
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.chunk_rows = CHUNK;
    const char *paths[2] = {pa, pb};
    cvg_stats *s = NULL;
    void *action_before = sigbus_action();
    cvg_status st = cvg_stats_compute(paths, 2, "fc", &opt, &s);
    stats__mapped_hook = NULL;
    assert_true(plan.done);
    if (st != CVG_ERR_FORMAT) fail_msg("%s: expected CVG_ERR_FORMAT, got %s: %s", tag, cvg_strerror(st), cvg_last_error());
    assert_null(s);
    if (!strstr(cvg_last_error(), pb) || !strstr(cvg_last_error(), "shrank"))
        fail_msg("%s: the error does not name the file and the defect: %s", tag, cvg_last_error());
    assert_ptr_equal(sigbus_action(), action_before); /* the guard's handler is gone again */
    free(pa), free(pb), free(dir);
}

/* The chunk of rows [8192, 8192 + CHUNK) is mapped; the file now ends at a page boundary
 * inside it (so every later page of the mapping faults) or right after the header; or the
 * last chunk is mapped and the file ends in the middle of its last page (no fault at all). */
static off_t cut_on_page(off_t data_offset)
{
    const off_t page = sysconf(_SC_PAGESIZE), inside = data_offset + (off_t)(8192 + 1000) * UNITS * 4;
    return inside / page * page;
}
static off_t cut_mid_page(off_t data_offset)
{
    /* (the last chunk) 100 bytes short of the file's last value: that page stays (no fault),
     * its tail reads as zeros, and no later chunk's mapping would notice */
    return data_offset + (off_t)ROWS * UNITS * 4 - 100;
}
static off_t cut_to_header(off_t data_offset) { return data_offset; }

static void test_shrink_to_a_page_boundary(void **state)
{
    (void)state;
    expect_shrink_error("shrink_page", 8192, cut_on_page);
}

static void test_shrink_mid_page(void **state)
{
    (void)state;
    expect_shrink_error("shrink_mid_page", ROWS / CHUNK * CHUNK, cut_mid_page);
}

static void test_shrink_to_nothing(void **state)
{
    (void)state;
    expect_shrink_error("shrink_all", 8192, cut_to_header);
}

/* A file left alone by the hook gives the same statistics as without it (the guard changes
 * nothing on the reads). */
static void test_untouched_pass_unchanged(void **state)
{
    (void)state;
    char *dir = test_tmpdir("shrink_none"), *pa, *pb;
    write_pair(dir, &pa, &pb);
    shrink_plan plan = {pb, -1, 0, 0};
    stats__mapped_hook = shrink_now;
    stats__mapped_hook_user = &plan;
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.chunk_rows = CHUNK;
    const char *paths[2] = {pa, pb};
    cvg_stats *s;
    void *action_before = sigbus_action();
    assert_cvg_ok(cvg_stats_compute(paths, 2, "fc", &opt, &s));
    stats__mapped_hook = NULL;
    assert_int_equal(cvg_stats_count(s), ROWS);
    cvg_stats_free(s);
    assert_ptr_equal(sigbus_action(), action_before);
    free(pa), free(pb), free(dir);
}

/* With a guard armed, a SIGBUS outside its range (a truncated mapping nobody guards) still
 * kills, as it would without the guard. */
static void test_foreign_sigbus_still_kills(void **state)
{
    (void)state;
    char *dir = test_tmpdir("shrink_foreign"), *pa, *pb;
    write_pair(dir, &pa, &pb);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        signal(SIGBUS, SIG_DFL); /* cmocka's handler would catch it */
        FILE *f = fopen(pa, "r+");
        char *p = f ? mmap(NULL, 1 << 16, PROT_READ, MAP_SHARED, fileno(f), 0) : MAP_FAILED;
        if (p == MAP_FAILED || ftruncate(fileno(f), 0) != 0) _exit(3);
        /* as if a pass were in progress: a guard armed on another range */
        void *other = mmap(NULL, 1 << 16, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (other == MAP_FAILED || map_guard_arm(other, 1 << 16) < 0) _exit(4);
        volatile char sink = p[100]; /* faults: not a guarded range */
        (void)sink;
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS);
    free(pa), free(pb), free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shrink_to_a_page_boundary),
        cmocka_unit_test(test_shrink_mid_page),
        cmocka_unit_test(test_shrink_to_nothing),
        cmocka_unit_test(test_untouched_pass_unchanged),
        cmocka_unit_test(test_foreign_sigbus_still_kills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
