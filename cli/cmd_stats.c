/* convergent stats: the one-pass statistics of one layer, or the merge of shards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void help(void)
{
    cvg_stats_options d;
    cvg_stats_options_init(&d);
    printf("usage: convergent stats -o OUT --layer NAME A.npy B.npy [C.npy ...] [options]\n"
           "       convergent stats -o OUT --nets N1.safetensors N2.safetensors [...] [options]\n"
           "       convergent stats --merge DIR1 DIR2 [DIR3 ...] -o OUT\n"
           "       convergent stats --cross-layer --layers L1,L2,... -o OUT [--layer NAME]\n"
           "                        A_L1.npy A_L2.npy ... B_L1.npy B_L2.npy ...\n\n"
           "One streaming pass over one layer's activations of K networks (one .npy per net,\n"
           "same inputs in the same order): per-unit means and standard deviations, the joint\n"
           "co-moment and correlation matrices of [net1 | net2 | ...], a uniform reservoir of\n"
           "sample rows. Writes OUT/NAME/{meta.json, mean.npy, std.npy, comoment.npy, corr.npy,\n"
           "samples.npy, samples_rows.npy}.\n\n"
           "Files are (N, S) for fully connected layers, (N, C, H, W) for convolutional ones\n"
           "(channels are units; every image and position is a sample).\n\n"
           "options:\n"
           "  -o, --out DIR          output stats directory (required)\n"
           "  --layer NAME           layer name, the subdirectory of OUT (required)\n"
           "  --layout nchw|nhwc     axis order of 4-D files (default: nchw)\n"
           "  --reservoir R          sample rows kept for MI and plots (default: %lld; 0: none)\n"
           "  --seed S               reservoir seed (default: %llu)\n"
           "  --row-offset N         global index of this shard's first row, so that shards\n"
           "                         merge into exactly one pass's reservoir (default: 0)\n"
           "  --threads T            threads for BLAS and our loops (default: all cores)\n"
           "  --skip-nonfinite       drop rows holding NaN/Inf in any net instead of failing\n"
           "  --chunk-rows N         sample rows read per chunk; memory is about N x D x 8\n"
           "                         bytes (default: 32 MB worth, at least 256 rows)\n"
           "  --kernel K             fused|sgemm|ssyrk|dsyrk: chunk co-moment kernel (default:\n"
           "                         fused, our own float32 kernel; the others call BLAS)\n"
           "  --merge DIR...         merge stats directories computed on shards of the data\n"
           "                         (layer and cross-layer directories alike; every DIR must\n"
           "                         hold the same ones)\n"
           "  --nets                 the files are networks (convergent train): run them over\n"
           "                         a dataset split and measure every layer, keeping per unit\n"
           "                         the 9 most activating (image, position) pairs\n"
           "  --split test|train     the split --nets measures (default: test)\n"
           "  --data DIR             IDX dataset directory (default: %s)\n"
           "  --limit N              use the first N images of the split (default: all)\n"
           "  --cross-layer          co-moments between every layer of every network, for\n"
           "                         layer-by-layer similarity matrices: files are given net by\n"
           "                         net, each net's layers in --layers order; samples are the\n"
           "                         N inputs (conv layers averaged over positions). Writes\n"
           "                         OUT/NAME/{cross.json, mean.npy, comoment.npy, sqnorm_*.npy}\n"
           "                         (NAME: --layer, default: cross)\n"
           "  --layers L1,L2,...     the layer names of a --cross-layer pass\n"
           "  --checkpoint-every SEC save the pass's state to OUT/.checkpoint-NAME every SEC\n"
           "                         seconds (default: %g; 0: after every chunk)\n"
           "  --resume               go on from OUT/.checkpoint-NAME if a pass over the same\n"
           "                         files with the same options left one (it is removed once\n"
           "                         the results are written)\n"
           "  -q, --quiet            no summary\n",
           (long long)d.reservoir, (unsigned long long)d.seed, CVG_DEFAULT_DATA_DIR,
           d.checkpoint_seconds);
}

static void print_summary(const cvg_stats *s, const char *out_dir)
{
    const int K = cvg_stats_nets(s);
    const int64_t S = cvg_stats_units(s), D = K * S;
    double *corr = malloc((size_t)(D * D) * sizeof *corr);
    unsigned char *dead = malloc((size_t)D);
    if (!corr || !dead || cvg_stats_correlation(s, NULL, corr, dead) != CVG_OK) {
        free(corr);
        free(dead);
        return;
    }
    int64_t res_rows;
    cvg_stats_samples(s, &res_rows);
    printf("layer %s: %d nets x %lld units, %lld samples", cvg_stats_layer(s), K, (long long)S,
           (long long)cvg_stats_count(s));
    if (cvg_stats_skipped(s)) printf(" (%lld rows with NaN/Inf skipped)", (long long)cvg_stats_skipped(s));
    printf("\n  dead units:");
    for (int k = 0; k < K; k++) {
        int64_t n = 0;
        for (int64_t i = 0; i < S; i++) n += dead[k * S + i];
        printf(" net%d %lld%s", k + 1, (long long)n, k + 1 < K ? "," : "\n");
    }
    double within, between;
    cvg_stats_mean_abs_corr(s, corr, dead, &within, &between);
    printf("  mean |corr| within nets %.4f", within);
    if (K > 1) printf(", between nets %.4f", between);
    printf("\n  reservoir: %lld rows\n  wrote %s/%s/\n", (long long)res_rows, out_dir, cvg_stats_layer(s));
    free(corr);
    free(dead);
}

static const char *kind_name(char kind)
{
    return kind == 'c' ? "a cross-layer directory" : "a per-layer stats directory";
}

static int find_name(char **names, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* Every directory must hold the subdirectories of the first, each of the same kind. */
static int same_contents(char **dirs, int ndirs, char **names, const char *kinds, int count)
{
    int rc = 0;
    for (int d = 1; d < ndirs && rc == 0; d++) {
        char **other, *okinds;
        int n;
        if (cli_list_stats_dirs(dirs[d], &other, &okinds, &n) != 0) return 1;
        for (int i = 0; i < count && rc == 0; i++) {
            const int k = find_name(other, n, names[i]);
            if (k < 0)
                rc = cli_error("cannot merge: %s has no '%s' (%s/%s is %s)", dirs[d], names[i],
                               dirs[0], names[i], kind_name(kinds[i]));
            else if (okinds[k] != kinds[i])
                rc = cli_error("cannot merge %s/%s (%s) with %s/%s (%s)", dirs[0], names[i],
                               kind_name(kinds[i]), dirs[d], names[i], kind_name(okinds[k]));
        }
        for (int k = 0; k < n && rc == 0; k++)
            if (find_name(names, count, other[k]) < 0)
                rc = cli_error("cannot merge: %s/%s (%s) has no counterpart in %s", dirs[d],
                               other[k], kind_name(okinds[k]), dirs[0]);
        cli_free_list(other, n);
        free(okinds);
    }
    return rc;
}

static int merge_layer(char **dirs, int ndirs, const char *layer, const char *out, int quiet)
{
    cvg_stats *acc = NULL;
    int rc = 0;
    for (int d = 0; d < ndirs && rc == 0; d++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dirs[d], layer);
        cvg_stats *part;
        cvg_status st = cvg_stats_load(path, &part);
        if (st == CVG_OK && acc) {
            st = cvg_stats_merge(acc, part);
            cvg_stats_free(part);
        } else if (st == CVG_OK) {
            acc = part;
        }
        if (st != CVG_OK) rc = cli_fail(st);
    }
    if (rc == 0) {
        cvg_status st = cvg_stats_save(acc, out);
        if (st != CVG_OK) rc = cli_fail(st);
        else if (!quiet) print_summary(acc, out);
    }
    cvg_stats_free(acc);
    return rc;
}

static int merge_cross(char **dirs, int ndirs, const char *name, const char *out, int quiet)
{
    cvg_cross *acc = NULL;
    int rc = 0;
    for (int d = 0; d < ndirs && rc == 0; d++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dirs[d], name);
        cvg_cross *part;
        cvg_status st = cvg_cross_load(path, &part);
        if (st == CVG_OK && acc) {
            st = cvg_cross_merge(acc, part);
            cvg_cross_free(part);
        } else if (st == CVG_OK) {
            acc = part;
        }
        if (st != CVG_OK) rc = cli_fail(st);
    }
    if (rc == 0) {
        cvg_status st = cvg_cross_save(acc, out, name);
        if (st != CVG_OK) rc = cli_fail(st);
        else if (!quiet) printf("cross-layer statistics merged from %d directories\n  wrote %s/%s/\n", ndirs, out, name);
    }
    cvg_cross_free(acc);
    return rc;
}

/* --merge: every layer and cross-layer directory of the first directory, merged with its
 * namesakes in the others. */
static int merge_dirs(char **dirs, int ndirs, const char *out, int quiet)
{
    char **names, *kinds;
    int count, rc = cli_list_stats_dirs(dirs[0], &names, &kinds, &count);
    if (rc != 0) return rc;
    rc = same_contents(dirs, ndirs, names, kinds, count);
    for (int i = 0; i < count && rc == 0; i++)
        rc = kinds[i] == 'c' ? merge_cross(dirs, ndirs, names[i], out, quiet)
                             : merge_layer(dirs, ndirs, names[i], out, quiet);
    cli_free_list(names, count);
    free(kinds);
    return rc;
}

int cli_measure_nets(char **checkpoints, int K, const char *data_dir, const char *split,
                     int64_t limit, const cvg_stats_options *stats_opt, const char *out, int quiet)
{
    cvg_net **nets = calloc((size_t)K, sizeof *nets);
    cvg_dataset ds = {0};
    cvg_stats **layers = NULL;
    int nlayers = 0, rc = 0;
    cvg_status st = nets ? CVG_OK : CVG_ERR_NOMEM;
    for (int k = 0; k < K && st == CVG_OK; k++) st = cvg_net_load(checkpoints[k], &nets[k]);
    if (st == CVG_OK) st = cvg_dataset_load(data_dir, split, limit, &ds);
    if (st == CVG_OK) {
        cvg_taps_options mo;
        cvg_taps_options_init(&mo);
        mo.stats = *stats_opt;
        mo.progress = cli_progress;
        st = cvg_taps_run(nets, K, &ds, &mo, &layers, &nlayers);
        cli_progress_end();
    }
    for (int l = 0; l < nlayers && st == CVG_OK; l++) {
        st = cvg_stats_set_images(layers[l], data_dir ? data_dir : CVG_DEFAULT_DATA_DIR, split);
        for (int k = 0; k < K && st == CVG_OK; k++) st = cvg_stats_add_source(layers[l], checkpoints[k]);
        if (st == CVG_OK) st = cvg_stats_save(layers[l], out);
        if (st == CVG_OK && !quiet) print_summary(layers[l], out);
    }
    if (st != CVG_OK) rc = cli_fail(st);
    for (int l = 0; l < nlayers; l++) cvg_stats_free(layers[l]);
    free(layers);
    for (int k = 0; k < K && nets; k++) cvg_net_free(nets[k]);
    free(nets);
    cvg_dataset_free(&ds);
    return rc;
}

/* --cross-layer: files net-major, each net's layers in the order of --layers. */
static int cross_layer(char **files, int nfiles, const char *layer_list, const char *name,
                       const char *out, cvg_stats_options *opt, int quiet)
{
    char *copy = strdup(layer_list);
    char **names = calloc((size_t)nfiles + 1, sizeof *names);
    int L = 0, rc = 0;
    for (char *tok = strtok(copy, ","); tok && L <= nfiles; tok = strtok(NULL, ",")) names[L++] = tok;
    if (L == 0 || L > nfiles || nfiles % L != 0) {
        rc = cli_usage_error("stats", "--cross-layer: %d files for %d layers; give every layer of "
                             "every network (a multiple of the number of layers)", nfiles, L);
    } else {
        opt->progress = cli_progress;
        cvg_cross *c = NULL;
        cvg_status st = cvg_cross_compute((const char *const *)files, nfiles / L, L,
                                          (const char *const *)names, opt, &c);
        cli_progress_end();
        if (st == CVG_OK) st = cvg_cross_save(c, out, name);
        if (st != CVG_OK) rc = cli_fail(st);
        else if (!quiet)
            printf("cross-layer statistics: %d nets x %d layers\n  wrote %s/%s/\n", nfiles / L, L,
                   out, name);
        cvg_cross_free(c);
    }
    free(names);
    free(copy);
    return rc;
}

static int parse_kernel(const char *text, cvg_kernel *k)
{
    if (strcmp(text, "fused") == 0) *k = CVG_KERNEL_FUSED;
    else if (strcmp(text, "ssyrk") == 0) *k = CVG_KERNEL_SSYRK;
    else if (strcmp(text, "sgemm") == 0) *k = CVG_KERNEL_SGEMM;
    else if (strcmp(text, "dsyrk") == 0) *k = CVG_KERNEL_DSYRK;
    else return cli_usage_error("stats", "--kernel expects fused, sgemm, ssyrk or dsyrk, got '%s'", text);
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    const char *out = NULL, *layer = NULL, *v, *split = "test", *data = NULL, *layer_list = NULL;
    int quiet = 0, merge = 0, from_nets = 0, cross = 0, nfiles = 0, rc = 0;
    int64_t limit = 0;
    char **files = calloc((size_t)argc, sizeof *files);
    int64_t n;
    uint64_t u;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help();
            free(files);
            return 0;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
            rc = !(out = cli_option_value("stats", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--layer") == 0) {
            rc = !(layer = cli_option_value("stats", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--layout") == 0) {
            if (!(v = cli_option_value("stats", argc, argv, &i))) rc = 2;
            else if (strcmp(v, "nchw") == 0) opt.layout = CVG_LAYOUT_NCHW;
            else if (strcmp(v, "nhwc") == 0) opt.layout = CVG_LAYOUT_NHWC;
            else rc = cli_usage_error("stats", "--layout expects nchw or nhwc, got '%s'", v);
        } else if (strcmp(a, "--reservoir") == 0) {
            rc = !(v = cli_option_value("stats", argc, argv, &i)) ? 2 : cli_parse_int64("stats", a, v, 0, &opt.reservoir);
        } else if (strcmp(a, "--seed") == 0) {
            /* seeds are stored in meta.json as JSON numbers: keep them exact in a double */
            rc = !(v = cli_option_value("stats", argc, argv, &i)) ? 2 : cli_parse_uint64("stats", a, v, (1ull << 53) - 1, &u);
            opt.seed = u;
        } else if (strcmp(a, "--row-offset") == 0) {
            rc = !(v = cli_option_value("stats", argc, argv, &i)) ? 2 : cli_parse_int64("stats", a, v, 0, &opt.row_offset);
        } else if (strcmp(a, "--threads") == 0) {
            rc = !(v = cli_option_value("stats", argc, argv, &i)) ? 2 : cli_parse_int64("stats", a, v, 1, &n);
            opt.threads = (int)n;
        } else if (strcmp(a, "--chunk-rows") == 0) {
            rc = !(v = cli_option_value("stats", argc, argv, &i)) ? 2 : cli_parse_int64("stats", a, v, 1, &opt.chunk_rows);
        } else if (strcmp(a, "--kernel") == 0) {
            rc = !(v = cli_option_value("stats", argc, argv, &i)) ? 2 : parse_kernel(v, &opt.kernel);
        } else if (strcmp(a, "--skip-nonfinite") == 0) {
            opt.skip_nonfinite = 1;
        } else if (strcmp(a, "--merge") == 0) {
            merge = 1;
        } else if (strcmp(a, "--nets") == 0) {
            from_nets = 1;
        } else if (strcmp(a, "--split") == 0) {
            if (!(split = cli_option_value("stats", argc, argv, &i))) rc = 2;
            else if (strcmp(split, "test") != 0 && strcmp(split, "train") != 0)
                rc = cli_usage_error("stats", "--split expects test or train, got '%s'", split);
        } else if (strcmp(a, "--data") == 0) {
            rc = !(data = cli_option_value("stats", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--limit") == 0) {
            rc = !(v = cli_option_value("stats", argc, argv, &i)) ? 2 : cli_parse_int64("stats", a, v, 0, &limit);
        } else if (strcmp(a, "--cross-layer") == 0) {
            cross = 1;
        } else if (strcmp(a, "--layers") == 0) {
            rc = !(layer_list = cli_option_value("stats", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--checkpoint-every") == 0) {
            rc = !(v = cli_option_value("stats", argc, argv, &i)) ? 2 : cli_parse_double("stats", a, v, &opt.checkpoint_seconds);
            if (rc == 0 && !(opt.checkpoint_seconds >= 0))
                rc = cli_usage_error("stats", "--checkpoint-every expects seconds >= 0, got '%s'", v);
        } else if (strcmp(a, "--resume") == 0) {
            opt.resume = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            rc = cli_usage_error("stats", "unknown option '%s'", a);
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (rc == 0 && !out) rc = cli_usage_error("stats", "missing -o OUT");
    if (rc == 0 && merge && nfiles < 1) rc = cli_usage_error("stats", "--merge needs stats directories");
    if (rc == 0 && merge && from_nets) rc = cli_usage_error("stats", "--merge and --nets do not go together");
    if (rc == 0 && from_nets && nfiles < 1) rc = cli_usage_error("stats", "--nets needs checkpoints");
    if (rc == 0 && cross && merge) rc = cli_usage_error("stats", "--cross-layer and --merge do not go together");
    if (rc == 0 && cross && !layer_list) rc = cli_usage_error("stats", "--cross-layer needs --layers L1,L2,...");
    if (rc == 0 && !cross && layer_list) rc = cli_usage_error("stats", "--layers is for --cross-layer");
    if (rc == 0 && cross && nfiles > 0) {
        cli_install_log(quiet);
        rc = cross_layer(files, nfiles, layer_list, layer ? layer : "cross", out, &opt, quiet);
        free(files);
        return rc;
    }
    if (rc == 0 && !merge && !from_nets && !layer) rc = cli_usage_error("stats", "missing --layer NAME");
    if (rc == 0 && !merge && nfiles < 1) rc = cli_usage_error("stats", "no activation files given");
    if (rc != 0) {
        free(files);
        return rc;
    }
    cli_install_log(quiet);
    if (merge || from_nets) {
        rc = merge ? merge_dirs(files, nfiles, out, quiet)
                   : cli_measure_nets(files, nfiles, data, split, limit, &opt, out, quiet);
        free(files);
        return rc;
    }
    opt.progress = cli_progress;
    char checkpoint[4096];
    snprintf(checkpoint, sizeof checkpoint, "%s/.checkpoint-%s", out, layer);
    opt.checkpoint = checkpoint;
    cvg_stats *s = NULL;
    cvg_status st = cvg_stats_compute((const char *const *)files, nfiles, layer, &opt, &s);
    cli_progress_end();
    if (st == CVG_OK) st = cvg_stats_save(s, out);
    if (st == CVG_OK) st = cvg_stats_checkpoint_remove(checkpoint);
    if (st != CVG_OK) rc = cli_fail(st);
    else if (!quiet) print_summary(s, out);
    cvg_stats_free(s);
    free(files);
    return rc;
}
