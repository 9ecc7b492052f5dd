/* The statistics pass end to end: numpy two-pass references on activation-like fixtures (fc and
 * conv, K = 2 and 4, NCHW and NHWC, zeros, dead and big-mean units), the stats directory on disk,
 * shards merged (library and CLI) against one pass, and every kind of bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats_internal.h"
#include "test_support.h"

typedef struct fixture {
    const char *name;
    int nets;
    cvg_layout layout;
} fixture;

static const fixture FIXTURES[] = {
    {"fc_k2", 2, CVG_LAYOUT_NCHW},
    {"conv_k4_nchw", 4, CVG_LAYOUT_NCHW},
    {"conv_k2_nhwc", 2, CVG_LAYOUT_NHWC},
};

static char *fixture_file(const char *name, const char *file)
{
    char *p = malloc(1024);
    snprintf(p, 1024, "%s/stats/%s/%s", CVG_FIXTURE_DIR, name, file);
    return p;
}

static void net_paths(const fixture *f, char **paths)
{
    for (int k = 0; k < f->nets; k++) {
        char file[32];
        snprintf(file, sizeof file, "net%d.npy", k + 1);
        paths[k] = fixture_file(f->name, file);
    }
}

static double *load_ref(const fixture *f, const char *file, int64_t *count)
{
    char *p = fixture_file(f->name, file);
    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *d;
    assert_cvg_ok(cvg_npy_load(p, &nd, sh, &d));
    *count = sh[0] * (nd > 1 ? sh[1] : 1);
    free(p);
    return d;
}

static void compare(const char *what, const double *got, const double *want, int64_t n, double tol, int relative)
{
    for (int64_t i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]);
        if (relative) err /= fmax(1.0, fabs(want[i]));
        if (!(err <= tol)) fail_msg("%s[%lld] = %.12g, reference %.12g (error %g > %g)", what,
                                    (long long)i, got[i], want[i], err, tol);
    }
}

static void check_against_reference(const fixture *f, const cvg_stats *s)
{
    int64_t D = cvg_stats_nets(s) * cvg_stats_units(s), n;
    double *corr = malloc(sizeof(double) * D * D), *sd = malloc(sizeof(double) * D);
    assert_cvg_ok(cvg_stats_correlation(s, sd, corr, NULL));
    double *ref = load_ref(f, "ref_corr.npy", &n);
    assert_int_equal(n, D * D);
    compare("corr", corr, ref, n, 1e-6, 0);
    free(ref);
    ref = load_ref(f, "ref_mean.npy", &n);
    compare("mean", cvg_stats_mean(s), ref, D, 1e-10, 1);
    free(ref);
    ref = load_ref(f, "ref_std.npy", &n);
    compare("std", sd, ref, D, 1e-6, 1);
    free(ref);
    free(corr);
    free(sd);
}

static void test_fixtures_every_kernel(void **state)
{
    (void)state;
    const cvg_kernel kernels[] = {CVG_KERNEL_AUTO, CVG_KERNEL_SGEMM, CVG_KERNEL_DSYRK, CVG_KERNEL_FUSED};
    for (size_t i = 0; i < sizeof FIXTURES / sizeof *FIXTURES; i++) {
        const fixture *f = &FIXTURES[i];
        char *paths[4];
        net_paths(f, paths);
        for (int k = 0; k < 4; k++) {
            cvg_stats_options opt;
            cvg_stats_options_init(&opt);
            opt.layout = f->layout;
            opt.kernel = kernels[k];
            opt.chunk_rows = k == 1 || k == 3 ? 777 : 0; /* chunks that cut images apart */
            cvg_stats *s;
            assert_cvg_ok(cvg_stats_compute((const char *const *)paths, f->nets, "layer", &opt, &s));
            assert_int_equal(cvg_stats_nets(s), f->nets);
            check_against_reference(f, s);
            cvg_stats_free(s);
        }
        for (int k = 0; k < f->nets; k++) free(paths[k]);
    }
}

static double *load_file(const char *dir, const char *layer, const char *name, int64_t *n)
{
    char p[2048];
    snprintf(p, sizeof p, "%s/%s/%s", dir, layer, name);
    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *d;
    assert_cvg_ok(cvg_npy_load(p, &nd, sh, &d));
    *n = 1;
    for (int i = 0; i < nd; i++) *n *= sh[i];
    return d;
}

/* The HSIC sums of the debiased CKA taken from the fused kernel's packed sub-blocks (float sums
 * over each sub-block) equal those of the float64 BLAS path
 * (every sum in double), on every fixture: mapped and copied files, 2 and 4 nets, net widths
 * that cut the kernel's 16-column panels. */
static void test_hsic_sums_fused_match_double(void **state)
{
    (void)state;
    char *dir = test_tmpdir("stats_hsic_fused");
    for (size_t i = 0; i < sizeof FIXTURES / sizeof *FIXTURES; i++) {
        const fixture *f = &FIXTURES[i];
        char *paths[4];
        net_paths(f, paths);
        const cvg_kernel kernels[2] = {CVG_KERNEL_FUSED, CVG_KERNEL_DSYRK};
        const char *outs[2] = {"fused", "dsyrk"};
        for (int k = 0; k < 2; k++) {
            cvg_stats_options opt;
            cvg_stats_options_init(&opt);
            opt.layout = f->layout;
            opt.kernel = kernels[k];
            opt.chunk_rows = 1000; /* several batches: the sums move from mean to mean */
            cvg_stats *s;
            assert_cvg_ok(cvg_stats_compute((const char *const *)paths, f->nets, "layer", &opt, &s));
            char *out = test_path(dir, outs[k]);
            assert_cvg_ok(cvg_stats_save(s, out));
            cvg_stats_free(s);
            free(out);
        }
        char *fused = test_path(dir, "fused"), *exact = test_path(dir, "dsyrk");
        const char *names[2] = {"sqnorm_q.npy", "sqnorm_g.npy"};
        for (int a = 0; a < 2; a++) {
            int64_t n1, n2;
            double *got = load_file(fused, "layer", names[a], &n1), *want = load_file(exact, "layer", names[a], &n2);
            assert_int_equal(n1, n2);
            double scale = 0;
            for (int64_t j = 0; j < n2; j++) scale = fmax(scale, fabs(want[j]));
            for (int64_t j = 0; j < n2; j++)
                if (fabs(got[j] - want[j]) > 1e-6 * scale)
                    fail_msg("%s %s[%lld]: %.10g vs %.10g (scale %g)", f->name, names[a], (long long)j,
                             got[j], want[j], scale);
            free(got), free(want);
        }
        free(fused), free(exact);
        for (int k = 0; k < f->nets; k++) free(paths[k]);
    }
    free(dir);
}

/* Write rows [first, first+count) of every net of a fixture as new files (shards of the data). */
static void write_shard(const fixture *f, int64_t first, int64_t count, const char *dir, char **out)
{
    char *paths[4];
    net_paths(f, paths);
    for (int k = 0; k < f->nets; k++) {
        cvg_npy *in;
        assert_cvg_ok(cvg_npy_open(paths[k], &in));
        int64_t shape[CVG_NPY_MAX_DIMS];
        memcpy(shape, cvg_npy_shape(in), sizeof shape);
        shape[0] = count;
        int64_t rs = cvg_npy_row_size(in);
        double *buf = malloc(sizeof(double) * count * rs);
        assert_cvg_ok(cvg_npy_read_rows(in, first, count, buf));
        char name[64];
        snprintf(name, sizeof name, "shard%lld+%lld_net%d.npy", (long long)first, (long long)count, k + 1);
        out[k] = test_path(dir, name);
        assert_cvg_ok(cvg_npy_save(out[k], CVG_F64, cvg_npy_ndim(in), shape, buf));
        free(buf);
        cvg_npy_free(in);
        free(paths[k]);
    }
}

/* Shards with their row offsets, merged, equal one pass: moments and the exact reservoir. */
static void test_shards_merge_to_one_pass(void **state)
{
    (void)state;
    const fixture *f = &FIXTURES[1]; /* conv, 60 images x 36 positions */
    char *dir = test_tmpdir("stats_shards");
    char *a[4], *b[4], *all[4];
    write_shard(f, 0, 23, dir, a);
    write_shard(f, 23, 37, dir, b);
    write_shard(f, 0, 60, dir, all);
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.kernel = CVG_KERNEL_DSYRK;
    opt.reservoir = 300;
    opt.seed = 99;
    cvg_stats *one, *sa, *sb;
    assert_cvg_ok(cvg_stats_compute((const char *const *)all, 4, "conv", &opt, &one));
    assert_cvg_ok(cvg_stats_compute((const char *const *)a, 4, "conv", &opt, &sa));
    opt.row_offset = 23 * 36;
    assert_cvg_ok(cvg_stats_compute((const char *const *)b, 4, "conv", &opt, &sb));
    /* through the disk, as --merge does */
    char *da = test_path(dir, "a"), *db = test_path(dir, "b");
    assert_cvg_ok(cvg_stats_save(sa, da));
    assert_cvg_ok(cvg_stats_save(sb, db));
    cvg_stats_free(sa);
    cvg_stats_free(sb);
    char *la = test_path(da, "conv"), *lb = test_path(db, "conv");
    assert_cvg_ok(cvg_stats_load(la, &sa));
    assert_cvg_ok(cvg_stats_load(lb, &sb));
    assert_cvg_ok(cvg_stats_merge(sa, sb));
    assert_int_equal(cvg_stats_count(sa), cvg_stats_count(one));
    int64_t D = 4 * cvg_stats_units(one);
    double *c1 = malloc(sizeof(double) * D * D), *c2 = malloc(sizeof(double) * D * D);
    assert_cvg_ok(cvg_stats_correlation(one, NULL, c1, NULL));
    assert_cvg_ok(cvg_stats_correlation(sa, NULL, c2, NULL));
    compare("merged corr", c2, c1, D * D, 1e-12, 0);
    compare("merged mean", cvg_stats_mean(sa), cvg_stats_mean(one), D, 1e-12, 1);
    /* the reservoir of the merge is the reservoir of one pass, row for row */
    char *done = test_path(dir, "one"), *dm = test_path(dir, "merged");
    assert_cvg_ok(cvg_stats_save(one, done));
    assert_cvg_ok(cvg_stats_save(sa, dm));
    int64_t n1, n2;
    double *r1 = load_file(done, "conv", "samples_rows.npy", &n1), *r2 = load_file(dm, "conv", "samples_rows.npy", &n2);
    assert_int_equal(n1, 300);
    assert_int_equal(n2, 300);
    compare("reservoir rows", r2, r1, n1, 0, 0);
    free(r1), free(r2);
    r1 = load_file(done, "conv", "samples.npy", &n1);
    r2 = load_file(dm, "conv", "samples.npy", &n2);
    assert_int_equal(n1, 300 * D);
    compare("reservoir values", r2, r1, n1, 0, 0);
    free(r1), free(r2);

    /* The CLI's --merge gives the same files. */
    char *dc = test_path(dir, "cli");
    assert_int_equal(test_system("%s stats -q --merge %s %s -o %s", CVG_CLI, da, db, dc), 0);
    r1 = load_file(done, "conv", "corr.npy", &n1);
    r2 = load_file(dc, "conv", "corr.npy", &n2);
    compare("CLI merged corr.npy", r2, r1, n1, 1e-12, 0);
    free(r1), free(r2);
    /* shards with different reservoir seeds refuse to merge */
    opt.seed = 5;
    cvg_stats *sc;
    assert_cvg_ok(cvg_stats_compute((const char *const *)b, 4, "conv", &opt, &sc));
    assert_int_equal(cvg_stats_merge(sa, sc), CVG_ERR_ARG);
    assert_non_null(strstr(cvg_last_error(), "--seed"));
    cvg_stats_free(sc);

    for (int k = 0; k < 4; k++) free(a[k]), free(b[k]), free(all[k]);
    cvg_stats_free(one), cvg_stats_free(sa), cvg_stats_free(sb);
    free(c1), free(c2), free(da), free(db), free(la), free(lb), free(done), free(dm), free(dc), free(dir);
}

/* Every file of a layer directory byte for byte equal in another (meta.json included). */
static void same_directory(const char *a, const char *b)
{
    if (test_system("diff -r %s %s > /dev/null", a, b) != 0) {
        test_system("diff -r %s %s | head -5", a, b);
        fail_msg("%s and %s differ", a, b);
    }
}

/* Parts of the same files read with first_input/input_count, packed, unpacked and merged (as
 * MPI ranks do), equal one pass: moments to 1e-12, the reservoir row for row, counts and
 * sources exactly. Packing loses nothing: pack + unpack saves the same files. Damaged bytes
 * are refused. */
static void test_input_ranges_pack_merge(void **state)
{
    (void)state;
    const fixture *f = &FIXTURES[1]; /* conv, 60 images x 36 positions, 4 nets */
    char *paths[4], *dir = test_tmpdir("stats_pack");
    net_paths(f, paths);
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    opt.reservoir = 300;
    opt.seed = 7;
    opt.chunk_rows = 100;
    opt.kernel = CVG_KERNEL_DSYRK; /* float64 sums: equal whatever the chunking (the float
                                      kernels differ from one chunking to another near 1e-9) */
    cvg_stats *one, *part[3];
    assert_cvg_ok(cvg_stats_compute((const char *const *)paths, 4, "conv", &opt, &one));
    const int64_t first[3] = {0, 17, 41}, count[3] = {17, 24, 19};
    for (int p = 0; p < 3; p++) {
        opt.first_input = first[p];
        opt.input_count = count[p];
        assert_cvg_ok(cvg_stats_compute((const char *const *)paths, 4, "conv", &opt, &part[p]));
        assert_int_equal(cvg_stats_count(part[p]), count[p] * 36);
    }
    /* through bytes, as between ranks: a tree (2 into 1, then 1 into 0) */
    for (int p = 2; p >= 1; p--) {
        void *bytes;
        size_t size;
        cvg_stats *got;
        assert_cvg_ok(cvg_stats_pack(part[p], &bytes, &size));
        assert_cvg_ok(cvg_stats_unpack(bytes, size, &got));
        cvg_free(bytes);
        assert_cvg_ok(cvg_stats_merge(part[p - 1], got));
        cvg_stats_free(got);
        cvg_stats_free(part[p]);
    }
    cvg_stats *merged = part[0];
    assert_int_equal(cvg_stats_count(merged), cvg_stats_count(one));
    const int64_t D = 4 * cvg_stats_units(one);
    double *c1 = malloc(sizeof(double) * D * D), *c2 = malloc(sizeof(double) * D * D);
    assert_cvg_ok(cvg_stats_comoment(one, c1));
    assert_cvg_ok(cvg_stats_comoment(merged, c2));
    compare("comoment of the parts", c2, c1, D * D, 1e-12, 1);
    compare("mean of the parts", cvg_stats_mean(merged), cvg_stats_mean(one), D, 1e-12, 1);
    char *d1 = test_path(dir, "one"), *dm = test_path(dir, "merged");
    one->position = 0; /* as taps record it: meta.json's layer_index and first_layer */
    assert_cvg_ok(cvg_stats_save(one, d1));
    assert_cvg_ok(cvg_stats_save(merged, dm));
    int64_t n1, n2;
    double *r1 = load_file(d1, "conv", "samples_rows.npy", &n1), *r2 = load_file(dm, "conv", "samples_rows.npy", &n2);
    assert_int_equal(n1, 300);
    assert_int_equal(n2, 300);
    compare("reservoir rows", r2, r1, n1, 0, 0);
    free(r1), free(r2);
    assert_int_equal(test_system("cmp -s %s/conv/samples.npy %s/conv/samples.npy", d1, dm), 0);
    /* the same inputs, rows and sources are recorded */
    assert_int_equal(test_system("grep -h '\"inputs\"\\|\"rows_seen\"\\|\"sources\"' %s/conv/meta.json > %s/a && "
                                 "grep -h '\"inputs\"\\|\"rows_seen\"\\|\"sources\"' %s/conv/meta.json > %s/b && "
                                 "cmp -s %s/a %s/b", d1, dir, dm, dir, dir, dir), 0);

    /* pack + unpack loses nothing (the layer's place in its network, set above, included) */
    void *bytes;
    size_t size;
    cvg_stats *back;
    assert_cvg_ok(cvg_stats_pack(one, &bytes, &size));
    assert_cvg_ok(cvg_stats_unpack(bytes, size, &back));
    char *db = test_path(dir, "back");
    assert_cvg_ok(cvg_stats_save(back, db));
    char *l1 = test_path(d1, "conv"), *lb = test_path(db, "conv");
    same_directory(l1, lb);
    cvg_stats_free(back);
    /* damaged bytes: short, long, another magic */
    assert_int_equal(cvg_stats_unpack(bytes, size - 1, &back), CVG_ERR_FORMAT);
    assert_null(back);
    unsigned char *longer = malloc(size + 1);
    memcpy(longer, bytes, size);
    longer[size] = 0;
    assert_int_equal(cvg_stats_unpack(longer, size + 1, &back), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "left over"));
    longer[0] = 'X';
    assert_int_equal(cvg_stats_unpack(longer, size, &back), CVG_ERR_FORMAT);
    free(longer);
    cvg_free(bytes);
    /* cvg_stats_split_inputs: contiguous ranges of whole chunks (100 rows / 36 positions = 2
     * inputs), covering every input, one empty when there are more parts than chunks; with the
     * default (float) kernel the merged parts equal one pass to the kernel's accuracy */
    int64_t pf[4], pc[4];
    cvg_stats_options fopt;
    cvg_stats_options_init(&fopt);
    fopt.chunk_rows = 100;
    fopt.reservoir = 0;
    assert_cvg_ok(cvg_stats_split_inputs((const char *const *)paths, 4, &fopt, 3, pf, pc));
    assert_int_equal(pf[0], 0);
    for (int p = 0; p < 3; p++) {
        assert_int_equal(pf[p] % 2, 0);
        if (p > 0) assert_int_equal(pf[p], pf[p - 1] + pc[p - 1]);
    }
    assert_int_equal(pf[2] + pc[2], 60);
    assert_int_equal(pc[1], 20);
    cvg_stats *fone, *facc = NULL;
    assert_cvg_ok(cvg_stats_compute((const char *const *)paths, 4, "conv", &fopt, &fone));
    for (int p = 0; p < 3; p++) {
        cvg_stats *fp;
        fopt.first_input = pf[p];
        fopt.input_count = pc[p];
        assert_cvg_ok(cvg_stats_compute((const char *const *)paths, 4, "conv", &fopt, &fp));
        if (!facc) {
            facc = fp;
            continue;
        }
        assert_cvg_ok(cvg_stats_merge(facc, fp));
        cvg_stats_free(fp);
    }
    assert_cvg_ok(cvg_stats_correlation(fone, NULL, c1, NULL));
    assert_cvg_ok(cvg_stats_correlation(facc, NULL, c2, NULL));
    compare("float-kernel correlation of the parts", c2, c1, D * D, 1e-7, 0);
    cvg_stats_free(fone), cvg_stats_free(facc);
    fopt.chunk_rows = 36 * 30; /* 30 inputs a chunk: 2 chunks for 3 parts */
    assert_cvg_ok(cvg_stats_split_inputs((const char *const *)paths, 4, &fopt, 3, pf, pc));
    assert_int_equal(pc[0] + pc[1] + pc[2], 60);
    assert_true(pc[0] == 0 || pc[1] == 0 || pc[2] == 0);

    /* a range past the end of the files */
    opt.first_input = 50;
    opt.input_count = 11;
    assert_int_equal(cvg_stats_compute((const char *const *)paths, 4, "conv", &opt, &back), CVG_ERR_ARG);
    assert_non_null(strstr(cvg_last_error(), "inputs [50, 61)"));

    for (int k = 0; k < 4; k++) free(paths[k]);
    cvg_stats_free(one), cvg_stats_free(merged);
    free(c1), free(c2), free(d1), free(dm), free(db), free(l1), free(lb), free(dir);
}

/* The CLI writes the stats directory of DESIGN.md; corr.npy on disk equals the reference. */
static void test_cli_stats_directory(void **state)
{
    (void)state;
    const fixture *f = &FIXTURES[2];
    char *dir = test_tmpdir("stats_cli");
    char *paths[4];
    net_paths(f, paths);
    assert_int_equal(test_system("%s stats -q -o %s --layer conv3 --layout nhwc --reservoir 100 %s %s",
                                 CVG_CLI, dir, paths[0], paths[1]), 0);
    const char *files[] = {"meta.json", "mean.npy", "std.npy", "comoment.npy", "corr.npy",
                           "samples.npy", "samples_rows.npy"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        assert_int_equal(test_system("test -s %s/conv3/%s", dir, files[i]), 0);
    assert_int_equal(test_system("ls %s/conv3 | grep -q tmp", dir), 1); /* no temporaries left */
    int64_t n, nr;
    double *corr = load_file(dir, "conv3", "corr.npy", &n), *ref = load_ref(f, "ref_corr.npy", &nr);
    assert_int_equal(n, nr);
    compare("corr.npy", corr, ref, n, 1e-6, 0);
    free(corr), free(ref);
    double *samples = load_file(dir, "conv3", "samples.npy", &n);
    assert_int_equal(n, 100 * 20);
    free(samples);
    /* meta.json reports the dead units and sample count (cJSON parse through the loader) */
    char *layer_dir = test_path(dir, "conv3");
    cvg_stats *s;
    assert_cvg_ok(cvg_stats_load(layer_dir, &s));
    assert_int_equal(cvg_stats_count(s), 40 * 7 * 5);
    assert_int_equal(cvg_stats_units(s), 10);
    cvg_stats_free(s);
    /* --help shows every default */
    assert_int_equal(test_system("%s stats --help | grep -q 'default: 60000'", CVG_CLI), 0);
    free(layer_dir);
    for (int k = 0; k < 2; k++) free(paths[k]);
    free(dir);
}

static void expect_failure(const char *const *paths, int nets, const cvg_stats_options *opt,
                           cvg_status want, const char *needle1, const char *needle2)
{
    cvg_stats *s = (cvg_stats *)0x1;
    cvg_status st = cvg_stats_compute(paths, nets, "layer", opt, &s);
    if (st != want) fail_msg("got %s (%s), expected %s", cvg_strerror(st), cvg_last_error(), cvg_strerror(want));
    assert_null(s);
    if (needle1 && !strstr(cvg_last_error(), needle1)) fail_msg("'%s' lacks '%s'", cvg_last_error(), needle1);
    if (needle2 && !strstr(cvg_last_error(), needle2)) fail_msg("'%s' lacks '%s'", cvg_last_error(), needle2);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    char *dir = test_tmpdir("stats_bad");
    const fixture *f = &FIXTURES[0];
    char *paths[4];
    net_paths(f, paths);
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);

    /* a net with fewer inputs */
    char *short_paths[4];
    write_shard(f, 0, 2999, dir, short_paths);
    const char *mismatch[2] = {paths[0], short_paths[1]};
    expect_failure(mismatch, 2, &opt, CVG_ERR_SHAPE, short_paths[1], "number of inputs N");

    /* NaN and Inf: the error names file, row and unit; skipping drops exactly those rows */
    int64_t rs = 24;
    double *rows = malloc(sizeof(double) * 3000 * rs);
    cvg_npy *in;
    assert_cvg_ok(cvg_npy_open(paths[1], &in));
    assert_cvg_ok(cvg_npy_read_rows(in, 0, 3000, rows));
    cvg_npy_free(in);
    rows[1234 * rs + 17] = NAN;
    rows[2000 * rs + 3] = INFINITY;
    char *nan_path = test_path(dir, "nan.npy");
    const int64_t shape[2] = {3000, 24};
    assert_cvg_ok(cvg_npy_save(nan_path, CVG_F64, 2, shape, rows));
    const char *with_nan[2] = {paths[0], nan_path};
    expect_failure(with_nan, 2, &opt, CVG_ERR_NONFINITE, "nan.npy: NaN at row 1234, unit 17", NULL);
    opt.skip_nonfinite = 1;
    cvg_stats *s;
    assert_cvg_ok(cvg_stats_compute(with_nan, 2, "layer", &opt, &s));
    assert_int_equal(cvg_stats_skipped(s), 2);
    assert_int_equal(cvg_stats_count(s), 2998);
    int64_t D = 48;
    double *corr = malloc(sizeof(double) * D * D);
    assert_cvg_ok(cvg_stats_correlation(s, NULL, corr, NULL));
    for (int64_t i = 0; i < D * D; i++) assert_true(isfinite(corr[i]));
    cvg_stats_free(s);
    free(corr);
    opt.skip_nonfinite = 0;

    /* conv NaN names image, position and channel */
    const fixture *cf = &FIXTURES[1];
    char *cpaths[4];
    net_paths(cf, cpaths);
    double *img = malloc(sizeof(double) * 60 * 12 * 36);
    assert_cvg_ok(cvg_npy_open(cpaths[2], &in));
    assert_cvg_ok(cvg_npy_read_rows(in, 0, 60, img));
    cvg_npy_free(in);
    img[7 * 432 + 5 * 36 + 2 * 6 + 4] = -INFINITY; /* image 7, channel 5, y 2, x 4 */
    char *cnan = test_path(dir, "conv_inf.npy");
    const int64_t cshape[4] = {60, 12, 6, 6};
    float *imgf = malloc(sizeof(float) * 60 * 12 * 36); /* float32 like its peers: the float path */
    for (int i = 0; i < 60 * 12 * 36; i++) imgf[i] = (float)img[i];
    assert_cvg_ok(cvg_npy_save(cnan, CVG_F32, 4, cshape, imgf));
    free(imgf);
    const char *conv_with_inf[4] = {cpaths[0], cpaths[1], cnan, cpaths[3]};
    expect_failure(conv_with_inf, 4, &opt, CVG_ERR_NONFINITE,
                   "conv_inf.npy: -Inf at image 7, position (y=2, x=4), channel 5", NULL);
    free(img);

    /* truncated file, zero rows, 3-D, missing file, mixed fc/conv */
    char *trunc = test_path(dir, "trunc.npy");
    assert_int_equal(test_system("head -c 5000 %s > %s", paths[1], trunc), 0);
    const char *t[2] = {paths[0], trunc};
    expect_failure(t, 2, &opt, CVG_ERR_FORMAT, "trunc.npy", "truncated data");
    char zero[1024], three[1024];
    snprintf(zero, sizeof zero, "%s/npy/bad/zero_rows.npy", CVG_FIXTURE_DIR);
    snprintf(three, sizeof three, "%s/npy/bad/three_d.npy", CVG_FIXTURE_DIR);
    const char *z[1] = {zero}, *th[1] = {three};
    expect_failure(z, 1, &opt, CVG_ERR_EMPTY, "zero_rows.npy", "zero rows");
    expect_failure(th, 1, &opt, CVG_ERR_SHAPE, "three_d.npy", "2-D");
    const char *missing[2] = {paths[0], "/no/such.npy"};
    expect_failure(missing, 2, &opt, CVG_ERR_IO, "/no/such.npy", NULL);
    const char *mixed[2] = {paths[0], cpaths[0]};
    expect_failure(mixed, 2, &opt, CVG_ERR_SHAPE, cpaths[0], "dimensions");

    /* all rows non-finite with skipping: nothing left is an error, not a NaN */
    double *bad = malloc(sizeof(double) * 10 * 3);
    for (int i = 0; i < 30; i++) bad[i] = i % 3 == 1 ? NAN : 1.0;
    char *all_nan = test_path(dir, "all_nan.npy");
    const int64_t bshape[2] = {10, 3};
    assert_cvg_ok(cvg_npy_save(all_nan, CVG_F64, 2, bshape, bad));
    const char *an[1] = {all_nan};
    opt.skip_nonfinite = 1;
    expect_failure(an, 1, &opt, CVG_ERR_EMPTY, "non-finite", NULL);
    free(bad);

    /* the CLI reports the file and exits non-zero; nothing is written */
    char *out = test_path(dir, "out");
    assert_int_equal(test_system("%s stats -o %s --layer x %s %s 2>%s/err.txt", CVG_CLI, out, paths[0], nan_path, dir), 1);
    assert_int_equal(test_system("grep -q 'nan.npy: NaN at row 1234, unit 17' %s/err.txt", dir), 0);
    assert_int_equal(test_system("test -e %s/x", out), 1);
    assert_int_equal(test_system("%s stats -o %s --layer x --reservoir -3 %s 2>/dev/null", CVG_CLI, out, paths[0]), 2);
    /* a layer name the library refuses (CVG_ERR_ARG) is a usage error too */
    assert_int_equal(test_system("%s stats -o %s --layer a/b %s 2>/dev/null", CVG_CLI, out, paths[0]), 2);

    for (int k = 0; k < 2; k++) free(paths[k]), free(short_paths[k]);
    for (int k = 0; k < 4; k++) free(cpaths[k]);
    free(rows), free(nan_path), free(cnan), free(trunc), free(all_nan), free(out), free(dir);
}

/* A stats directory with a damaged file is refused with the file's name. */
/* Float32 files in row order are read straight from their mappings and the fused kernel
 * leaves out a sub-block holding NaN/Inf: the pass must still name the first bad value, and
 * skipping must equal a pass over the files without those rows. The bad values sit inside a
 * sub-block, on the first row of one (the row each sub-block mean is shifted by) and in the
 * last, partial one. */
static void test_nonfinite_in_mapped_float_files(void **state)
{
    (void)state;
    char *dir = test_tmpdir("stats_mapped_nan");
    enum { ROWS = 3000, UNITS = 24 };
    float *a = malloc(sizeof(float) * ROWS * UNITS), *b = malloc(sizeof(float) * ROWS * UNITS);
    uint64_t seed = 5;
    for (int i = 0; i < ROWS * UNITS; i++) {
        a[i] = (float)test_rand_normal(&seed);
        b[i] = (float)(0.5 * a[i] + test_rand_normal(&seed));
    }
    const int bad_rows[3] = {1234, 2048, ROWS - 1};
    b[1234 * UNITS + 17] = NAN;
    b[2048 * UNITS + 3] = INFINITY;
    b[(ROWS - 1) * UNITS + 0] = -INFINITY;
    const int64_t shape[2] = {ROWS, UNITS};
    char *pa = test_path(dir, "a.npy"), *pb = test_path(dir, "nan.npy");
    assert_cvg_ok(cvg_npy_save(pa, CVG_F32, 2, shape, a));
    assert_cvg_ok(cvg_npy_save(pb, CVG_F32, 2, shape, b));
    const char *with_bad[2] = {pa, pb};
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    expect_failure(with_bad, 2, &opt, CVG_ERR_NONFINITE, "nan.npy: NaN at row 1234, unit 17", NULL);

    /* the same files without the three rows */
    float *ca = malloc(sizeof(float) * ROWS * UNITS), *cb = malloc(sizeof(float) * ROWS * UNITS);
    int64_t kept = 0;
    for (int r = 0; r < ROWS; r++) {
        if (r == bad_rows[0] || r == bad_rows[1] || r == bad_rows[2]) continue;
        memcpy(ca + kept * UNITS, a + r * UNITS, sizeof(float) * UNITS);
        memcpy(cb + kept * UNITS, b + r * UNITS, sizeof(float) * UNITS);
        kept++;
    }
    const int64_t clean_shape[2] = {kept, UNITS};
    char *qa = test_path(dir, "clean_a.npy"), *qb = test_path(dir, "clean_b.npy");
    assert_cvg_ok(cvg_npy_save(qa, CVG_F32, 2, clean_shape, ca));
    assert_cvg_ok(cvg_npy_save(qb, CVG_F32, 2, clean_shape, cb));
    const char *clean[2] = {qa, qb};

    opt.skip_nonfinite = 1;
    cvg_stats *s, *ref;
    assert_cvg_ok(cvg_stats_compute(with_bad, 2, "layer", &opt, &s));
    assert_cvg_ok(cvg_stats_compute(clean, 2, "layer", &opt, &ref));
    assert_int_equal(cvg_stats_skipped(s), 3);
    assert_int_equal(cvg_stats_count(s), kept);
    const int64_t D = 2 * UNITS;
    double *c1 = malloc(sizeof(double) * D * D), *c2 = malloc(sizeof(double) * D * D);
    assert_cvg_ok(cvg_stats_correlation(s, NULL, c1, NULL));
    assert_cvg_ok(cvg_stats_correlation(ref, NULL, c2, NULL));
    compare("corr without the bad rows", c1, c2, D * D, 1e-6, 0);
    cvg_stats_free(s);
    cvg_stats_free(ref);
    free(a), free(b), free(ca), free(cb), free(c1), free(c2), free(pa), free(pb), free(qa), free(qb);
    free(dir);
}

static void test_load_rejects_damaged_directory(void **state)
{
    (void)state;
    const fixture *f = &FIXTURES[0];
    char *dir = test_tmpdir("stats_damaged");
    char *paths[4];
    net_paths(f, paths);
    assert_int_equal(test_system("%s stats -q -o %s --layer fc %s %s", CVG_CLI, dir, paths[0], paths[1]), 0);
    char *layer = test_path(dir, "fc");
    cvg_stats *s;
    assert_int_equal(test_system("truncate -s 1000 %s/comoment.npy", layer), 0);
    assert_int_equal(cvg_stats_load(layer, &s), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "comoment.npy"));
    assert_int_equal(test_system("echo '{\"layer\": 3}' > %s/meta.json", layer), 0);
    assert_int_equal(cvg_stats_load(layer, &s), CVG_ERR_FORMAT);
    assert_non_null(strstr(cvg_last_error(), "meta.json"));
    free(layer), free(dir), free(paths[0]), free(paths[1]);
}

/* Shards of networks of different widths refuse to merge with a message that names each
 * shard's widths (not "0 units", the scalar width of mixed networks). */
static void test_merge_mismatch_names_widths(void **state)
{
    (void)state;
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    const int64_t w35[2] = {3, 5}, w34[2] = {3, 4};
    cvg_stats *a, *b;
    assert_cvg_ok(cvg_stats_create_widths("fc", 2, w35, 1, 1, &opt, &a));
    assert_cvg_ok(cvg_stats_create_widths("fc", 2, w34, 1, 1, &opt, &b));
    assert_int_equal(cvg_stats_merge(a, b), CVG_ERR_SHAPE);
    assert_non_null(strstr(cvg_last_error(), "2 nets of 3,5 units"));
    assert_non_null(strstr(cvg_last_error(), "2 nets of 3,4 units"));
    cvg_stats_free(b);
    assert_cvg_ok(cvg_stats_create("fc", 2, 4, 1, 1, &opt, &b));
    assert_int_equal(cvg_stats_merge(a, b), CVG_ERR_SHAPE);
    assert_non_null(strstr(cvg_last_error(), "2 nets of 4 units"));
    cvg_stats_free(a), cvg_stats_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_every_kernel),
        cmocka_unit_test(test_shards_merge_to_one_pass),
        cmocka_unit_test(test_input_ranges_pack_merge),
        cmocka_unit_test(test_cli_stats_directory),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_nonfinite_in_mapped_float_files),
        cmocka_unit_test(test_hsic_sums_fused_match_double),
        cmocka_unit_test(test_load_rejects_damaged_directory),
        cmocka_unit_test(test_merge_mismatch_names_widths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
