/* convergent stats: the one-pass statistics of one layer, or the merge of shards. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "distributed.h"

static const char stats_usage[] =
    "-o OUT --layer NAME A.npy B.npy [C.npy ...] [options]\n"
    "       convergent stats -o OUT --nets N1.safetensors N2.safetensors [...] [options]\n"
    "       convergent stats --merge DIR1 DIR2 [DIR3 ...] -o OUT\n"
    "       convergent stats --cross-layer --layers L1,L2,... -o OUT [--layer NAME]\n"
    "                        A_L1.npy A_L2.npy ... B_L1.npy B_L2.npy ...";

static const char stats_description[] =
    "One streaming pass over one layer's activations of K networks (one .npy per net,\n"
    "same inputs in the same order): per-unit means and standard deviations, the joint\n"
    "co-moment and correlation matrices of [net1 | net2 | ...], a uniform reservoir of\n"
    "sample rows. Writes OUT/NAME/{meta.json, mean.npy, std.npy, comoment.npy, corr.npy,\n"
    "samples.npy, samples_rows.npy}.\n\n"
    "Files are (N, S) for fully connected layers, (N, C, H, W) for convolutional ones\n"
    "(channels are units; every image and position is a sample, as the paper).\n"
    "--conv-samples mean: one sample per image, each channel averaged over positions;\n"
    "flatten: one sample per image, its C*H*W values the units (recorded in meta.json;\n"
    "docs/statistics.md). Also with --nets.\n\n"
    "--merge: the arguments are stats directories computed on shards of the data (layer\n"
    "and cross-layer directories alike; every DIR must hold the same ones); --row-offset\n"
    "places a shard's rows so that shards merge into exactly one pass's reservoir.\n"
    "--nets: the arguments are networks (convergent train), run over a dataset split with\n"
    "every layer measured, keeping per unit the 9 most activating (image, position) pairs.\n"
    "--cross-layer: co-moments between every layer of every network, for layer-by-layer\n"
    "similarity matrices: files are given net by net, each net's layers in --layers order;\n"
    "samples are the N inputs (conv layers averaged over positions). Writes\n"
    "OUT/NAME/{cross.json, mean.npy, comoment.npy, sqnorm_*.npy} (NAME: --layer, default\n"
    "cross). --kernel: auto and fused are our own float32 kernel; the others call BLAS.\n"
    "--resume goes on from OUT/.checkpoint-NAME if a pass over the same files with the same\n"
    "options left one (it is removed once the results are written).";

/* Names in the order of cvg_layout and cvg_kernel, so that a choice's index is the value. */
static const char *const layouts[] = {"nchw", "nhwc", NULL};
static const char *const kernels[] = {"auto", "ssyrk", "sgemm", "dsyrk", "fused", NULL};
static const char *const splits[] = {"train", "test", NULL};
static const char *const conv_modes[] = {"positions", "mean", "flatten", NULL}; /* cvg_conv_samples */

/* The summary of a published layer, read from its meta.json (dead units and mean |corr| were
 * computed when it was saved; no second D x D correlation here). */
static void print_layer_summary(const char *out_dir, const char *layer)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s/meta.json", out_dir, layer);
    cJSON *meta = cli_read_json(path);
    if (!meta) return;
#define META_NUMBER(key) cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(meta, key))
    const int K = (int)META_NUMBER("nets");
    const double skipped = META_NUMBER("skipped_nonfinite_rows");
    const cJSON *widths = cJSON_GetObjectItemCaseSensitive(meta, "units_per_net");
    if (cJSON_IsArray(widths)) { /* networks of different widths */
        printf("layer %s: %d nets of", layer, K);
        for (int k = 0; k < K; k++)
            printf("%s%.0f", k ? ", " : " ", cJSON_GetNumberValue(cJSON_GetArrayItem(widths, k)));
        printf(" units, %.0f samples", META_NUMBER("samples"));
    } else {
        printf("layer %s: %d nets x %.0f units, %.0f samples", layer, K, META_NUMBER("units_per_net"),
               META_NUMBER("samples"));
    }
    if (skipped > 0) printf(" (%.0f rows with NaN/Inf skipped)", skipped);
    printf("\n  dead units:");
    const cJSON *dead = cJSON_GetObjectItemCaseSensitive(meta, "dead_units");
    for (int k = 0; k < K; k++)
        printf(" net%d %lld%s", k + 1, (long long)cJSON_GetNumberValue(cJSON_GetArrayItem(dead, k)),
               k + 1 < K ? "," : "\n");
    printf("  mean |corr| within nets %.4f", META_NUMBER("mean_abs_corr_within"));
    if (K > 1) printf(", between nets %.4f", META_NUMBER("mean_abs_corr_between"));
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(meta, "reservoir");
    printf("\n  reservoir: %.0f rows\n  wrote %s/%s/\n",
           cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(res, "rows")), out_dir, layer);
#undef META_NUMBER
    cJSON_Delete(meta);
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
        cvg_free(other);
        cvg_free(okinds);
    }
    return rc;
}

/* Shards must cover disjoint rows: [row_offset, row_offset + rows_seen) of each meta.json. */
static int disjoint_rows(char **dirs, int ndirs, const char *layer)
{
    int64_t *range = calloc((size_t)ndirs * 2, sizeof *range);
    int rc = range ? 0 : cli_error("out of memory");
    for (int d = 0; d < ndirs && rc == 0; d++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s/meta.json", dirs[d], layer);
        cJSON *meta = cli_read_json(path);
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(meta, "row_offset");
        const cJSON *seen = cJSON_GetObjectItemCaseSensitive(meta, "rows_seen");
        if (!cJSON_IsNumber(off) || !cJSON_IsNumber(seen))
            rc = cli_error("%s: no row_offset or rows_seen: cannot tell which rows the shard holds", path);
        else {
            range[2 * d] = (int64_t)off->valuedouble;
            range[2 * d + 1] = range[2 * d] + (int64_t)seen->valuedouble;
        }
        cJSON_Delete(meta);
        for (int e = 0; e < d && rc == 0; e++)
            if (range[2 * d] < range[2 * e + 1] && range[2 * e] < range[2 * d + 1] &&
                range[2 * d] < range[2 * d + 1] && range[2 * e] < range[2 * e + 1])
                rc = cli_error("cannot merge: %s/%s holds rows [%lld, %lld) and %s/%s rows [%lld, %lld): "
                               "shards must hold different rows (give each pass its --row-offset)",
                               dirs[e], layer, (long long)range[2 * e], (long long)range[2 * e + 1], dirs[d],
                               layer, (long long)range[2 * d], (long long)range[2 * d + 1]);
    }
    free(range);
    return rc;
}

static int merge_layer(char **dirs, int ndirs, const char *layer, const char *out)
{
    cvg_stats *acc = NULL;
    int rc = disjoint_rows(dirs, ndirs, layer);
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
    }
    cvg_stats_free(acc);
    return rc;
}

/* --merge -o OUT where OUT is one of the inputs would merge a directory into itself. */
static int output_not_input(char **dirs, int ndirs, const char *out)
{
    struct stat so, si;
    if (stat(out, &so) != 0) return 0;
    for (int d = 0; d < ndirs; d++)
        if (stat(dirs[d], &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
            return cli_error("--merge: the output %s is the input %s; write the merge to a new directory", out,
                             dirs[d]);
    return 0;
}

static int merge_cross(char **dirs, int ndirs, const char *name, const char *out)
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
    }
    cvg_cross_free(acc);
    return rc;
}

/* --merge: every layer and cross-layer directory of the first directory, merged with its
 * namesakes in the others. */
static int merge_dirs(char **dirs, int ndirs, const char *out, int quiet)
{
    char **names, *kinds;
    cvg_result_set *rs = NULL;
    int count, rc = output_not_input(dirs, ndirs, out);
    if (rc == 0) rc = cli_output_begin(out, 1, &rs);
    if (rc != 0) return rc;
    if ((rc = cli_list_stats_dirs(dirs[0], &names, &kinds, &count)) != 0) return cli_output_finish(rs, rc);
    rc = same_contents(dirs, ndirs, names, kinds, count);
    for (int i = 0; i < count && rc == 0; i++) {
        rc = cli_output_drop(rs, names[i]);
        if (rc == 0)
            rc = kinds[i] == 'c' ? merge_cross(dirs, ndirs, names[i], cvg_result_dir(rs))
                                 : merge_layer(dirs, ndirs, names[i], cvg_result_dir(rs));
    }
    rc = cli_output_finish(rs, rc);
    for (int i = 0; i < count && rc == 0 && !quiet; i++)
        if (kinds[i] == 'c') printf("cross-layer statistics merged from %d directories\n  wrote %s/%s/\n", ndirs, out, names[i]);
        else print_layer_summary(out, names[i]);
    cvg_free(names);
    cvg_free(kinds);
    return rc;
}

int cli_measure_nets(char **checkpoints, int K, const char *data_dir, const char *split,
                     int64_t limit, const cvg_stats_options *stats_opt, const char *out, int quiet)
{
    /* the writer's lock first, so that a second writer is refused before the pass, not after
     * (under MPI rank 0's: it alone writes) */
    const int writer = cli_dist_rank() == 0;
    cvg_status st = writer ? cvg_result_lock(out) : CVG_OK;
    if (st != CVG_OK) return cli_fail(st);
    cvg_net **nets = calloc((size_t)K, sizeof *nets);
    cvg_dataset ds = {0};
    cvg_stats **layers = NULL;
    int nlayers = 0, rc = 0;
    st = nets ? CVG_OK : CVG_ERR_NOMEM;
    for (int k = 0; k < K && st == CVG_OK; k++) st = cvg_net_load(checkpoints[k], &nets[k]);
    if (st == CVG_OK) st = cvg_dataset_load(data_dir, split, limit, &ds);
    if (st == CVG_OK) {
        cvg_taps_options mo;
        cvg_taps_options_init(&mo);
        mo.stats = *stats_opt;
        mo.progress = cli_dist_rank() == 0 ? cli_progress : NULL;
        /* Under MPI: this rank's whole batches of images (a network's output for a batch
         * depends, in its last bits, on the batch), merged on rank 0 below. */
        int64_t first, count;
        cli_dist_part((ds.count + mo.batch - 1) / mo.batch, &first, &count);
        mo.first_image = first * mo.batch;
        mo.limit = (first + count) * mo.batch < ds.count ? (first + count) * mo.batch : ds.count;
        if (count > 0) {
            st = cvg_taps_run(nets, K, &ds, &mo, &layers, &nlayers);
        } else { /* more ranks than batches: nothing to add to the merge */
            nlayers = cvg_net_layers(nets[0]);
            if (!(layers = calloc((size_t)nlayers, sizeof *layers))) st = CVG_ERR_NOMEM;
        }
        cli_progress_end();
    }
    /* under MPI every layer is merged on rank 0, which alone writes */
    for (int l = 0; l < nlayers && st == CVG_OK; l++) st = cli_dist_reduce(&layers[l]);
    cvg_result_set *rs = NULL;
    if (st != CVG_OK) rc = cli_fail(st);
    else if (cli_dist_rank() == 0) rc = cli_output_begin(out, 1, &rs);
    for (int l = 0; l < nlayers && rc == 0 && rs; l++) {
        st = cvg_stats_set_images(layers[l], data_dir ? data_dir : CVG_DEFAULT_DATA_DIR, split);
        for (int k = 0; k < K && st == CVG_OK; k++) st = cvg_stats_add_source(layers[l], checkpoints[k]);
        if (st == CVG_OK && (rc = cli_output_drop(rs, cvg_stats_layer(layers[l]))) != 0) break;
        if (st == CVG_OK) st = cvg_stats_save(layers[l], cvg_result_dir(rs));
        if (st != CVG_OK) rc = cli_fail(st);
    }
    if (rs) rc = cli_output_finish(rs, rc);
    for (int l = 0; l < nlayers && rc == 0 && rs && !quiet; l++) print_layer_summary(out, cvg_stats_layer(layers[l]));
    for (int l = 0; l < nlayers; l++) cvg_stats_free(layers[l]);
    free(layers);
    for (int k = 0; k < K && nets; k++) cvg_net_free(nets[k]);
    free(nets);
    cvg_dataset_free(&ds);
    if (writer) cvg_result_unlock(out);
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
        cvg_result_set *rs = NULL;
        rc = cli_output_begin(out, 1, &rs);
        cvg_status st = rc ? CVG_OK : cvg_cross_compute((const char *const *)files, nfiles / L, L,
                                                        (const char *const *)names, opt, &c);
        cli_progress_end();
        if (rc == 0 && st == CVG_OK) rc = cli_output_drop(rs, name);
        if (rc == 0 && st == CVG_OK) st = cvg_cross_save(c, cvg_result_dir(rs), name);
        if (rc == 0 && st != CVG_OK) rc = cli_fail(st);
        rc = cli_output_finish(rs, rc);
        if (rc == 0 && !quiet)
            printf("cross-layer statistics: %d nets x %d layers\n  wrote %s/%s/\n", nfiles / L, L,
                   out, name);
        cvg_cross_free(c);
    }
    free(names);
    free(copy);
    return rc;
}

/* Row indices, seeds and counts of rows are stored in meta.json as JSON numbers: 2^53 - 1
 * keeps them exact in a double (and a row offset plus a pass's rows far from overflow). */
#define JSON_EXACT 9007199254740991.0

/* Remove from the set being written the checkpoints of a pass over `layer`: the single
 * process's .checkpoint-<layer> and MPI ranks' .checkpoint-<layer>.rank<r>-of-<P>, linked in
 * from the published OUT. */
static int drop_checkpoints(cvg_result_set *rs, const char *layer)
{
    char name[4096];
    const int n = snprintf(name, sizeof name, ".checkpoint-%s", layer);
    int rc = cli_output_drop(rs, name);
    DIR *d = rc == 0 ? opendir(cvg_result_dir(rs)) : NULL;
    for (struct dirent *e; d && rc == 0 && (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, name, (size_t)n) == 0 && strncmp(e->d_name + n, ".rank", 5) == 0)
            rc = cli_output_drop(rs, e->d_name);
    if (d) closedir(d);
    return rc;
}

int cmd_stats(int argc, char **argv)
{
    cvg_stats_options opt;
    cvg_stats_options_init(&opt);
    const char *out = NULL, *layer = NULL, *data = NULL, *layer_list = NULL;
    int quiet = 0, merge = 0, from_nets = 0, cross = 0, nfiles = 0, split = 1;
    int layout = (int)opt.layout, kernel = (int)opt.kernel, conv_samples = (int)opt.conv_samples;
    int64_t limit = 0;
    const char **files = calloc((size_t)argc, sizeof *files);
    const cli_option rows[] = {
        {.name = "out", .short_name = 'o', .type = CLI_STRING, .dest = &out, .metavar = "DIR",
         .help = "output stats directory (required)"},
        {.name = "layer", .type = CLI_STRING, .dest = &layer, .metavar = "NAME",
         .help = "layer name, the subdirectory of OUT (required but with --nets, --merge)"},
        {.name = "layout", .type = CLI_CHOICE, .dest = &layout, .choices = layouts, .metavar = "L",
         .help = "axis order of 4-D files"},
        {.name = "conv-samples", .type = CLI_CHOICE, .dest = &conv_samples, .choices = conv_modes,
         .metavar = "M", .help = "a conv layer's samples: positions (the paper's), mean, flatten"},
        {.name = "reservoir", .type = CLI_INT64, .dest = &opt.reservoir, .min = 0, .max = JSON_EXACT,
         .metavar = "R", .help = "sample rows kept for MI and plots, 0: none"},
        {.name = "seed", .type = CLI_UINT64, .dest = &opt.seed, .min = 0, .max = JSON_EXACT, .metavar = "S",
         .help = "reservoir seed"},
        {.name = "row-offset", .type = CLI_INT64, .dest = &opt.row_offset, .min = 0, .max = JSON_EXACT,
         .metavar = "N", .help = "global index of this shard's first row"},
        {.name = "threads", .type = CLI_INT, .dest = &opt.threads, .min = 0, .max = CVG_MAX_THREADS, .metavar = "T",
         .help = "threads for BLAS and our loops, 0: all cores"},
        {.name = "skip-nonfinite", .type = CLI_FLAG, .dest = &opt.skip_nonfinite,
         .help = "drop rows holding NaN/Inf in any net instead of failing"},
        {.name = "chunk-rows", .type = CLI_INT64, .dest = &opt.chunk_rows, .min = 1, .max = JSON_EXACT,
         .metavar = "N", .help = "sample rows read per chunk; memory is about N x D x 8 bytes",
         .default_text = "32 MB worth, at least 256 rows"},
        {.name = "kernel", .type = CLI_CHOICE, .dest = &kernel, .choices = kernels, .metavar = "K",
         .help = "chunk co-moment kernel; auto: fused, and dsyrk again for a layer beyond float32's range"},
        {.name = "merge", .type = CLI_FLAG, .dest = &merge, .help = "merge stats directories of shards"},
        {.name = "nets", .type = CLI_FLAG, .dest = &from_nets, .help = "the files are networks"},
        {.name = "split", .type = CLI_CHOICE, .dest = &split, .choices = splits, .metavar = "S",
         .help = "the split --nets measures"},
        {.name = "data", .type = CLI_STRING, .dest = &data, .metavar = "DIR", .help = "IDX dataset directory",
         .default_text = CVG_DEFAULT_DATA_DIR},
        {.name = "limit", .type = CLI_INT64, .dest = &limit, .min = 0, .max = CLI_NO_MAX, .metavar = "N",
         .help = "use the first N images of the split, 0: all"},
        {.name = "cross-layer", .type = CLI_FLAG, .dest = &cross,
         .help = "co-moments between every layer of every network"},
        {.name = "layers", .type = CLI_STRING, .dest = &layer_list, .metavar = "L1,L2,...",
         .help = "the layer names of a --cross-layer pass"},
        {.name = "checkpoint-every", .type = CLI_DOUBLE, .dest = &opt.checkpoint_seconds, .min = 0,
         .max = HUGE_VAL, .metavar = "SEC",
         .help = "save the pass's state to OUT/.checkpoint-NAME every SEC seconds, 0: every chunk"},
        {.name = "resume", .type = CLI_FLAG, .dest = &opt.resume, .help = "go on from OUT/.checkpoint-NAME"},
        {.name = "quiet", .short_name = 'q', .type = CLI_FLAG, .dest = &quiet, .help = "no summary"},
    };
    const cli_spec spec = {"stats", stats_usage, stats_description, "file", argc, rows, CLI_COUNT(rows)};
    int rc = cli_parse(&spec, argc, argv, files, &nfiles);
    if (rc == CLI_HELP_SHOWN) {
        free((void *)files);
        return 0;
    }
    opt.layout = (cvg_layout)layout;
    opt.kernel = (cvg_kernel)kernel;
    opt.conv_samples = (cvg_conv_samples)conv_samples;
    if (rc == 0 && cross && opt.conv_samples == CVG_CONV_FLATTEN)
        rc = cli_usage_error("stats", "--cross-layer averages conv layers over positions (its samples "
                             "are the inputs); --conv-samples flatten does not apply");
    if (rc == 0 && !out) rc = cli_usage_error("stats", "missing -o OUT");
    if (rc == 0 && merge && nfiles < 1) rc = cli_usage_error("stats", "--merge needs stats directories");
    if (rc == 0 && merge && from_nets) rc = cli_usage_error("stats", "--merge and --nets do not go together");
    if (rc == 0 && from_nets && nfiles < 1) rc = cli_usage_error("stats", "--nets needs checkpoints");
    if (rc == 0 && cross && merge) rc = cli_usage_error("stats", "--cross-layer and --merge do not go together");
    if (rc == 0 && cross && !layer_list) rc = cli_usage_error("stats", "--cross-layer needs --layers L1,L2,...");
    if (rc == 0 && !cross && layer_list) rc = cli_usage_error("stats", "--layers is for --cross-layer");
    if (rc == 0 && cross && nfiles > 0 && cli_dist_size() > 1)
        rc = cli_error("stats --cross-layer runs in one process: run it without mpirun");
    if (rc == 0 && cross && nfiles > 0) {
        cli_install_log(quiet);
        rc = cross_layer((char **)files, nfiles, layer_list, layer ? layer : "cross", out, &opt, quiet);
        free((void *)files);
        return rc;
    }
    if (rc == 0 && !merge && !from_nets && !layer) rc = cli_usage_error("stats", "missing --layer NAME");
    if (rc == 0 && !merge && nfiles < 1) rc = cli_usage_error("stats", "no activation files given");
    if (rc != 0) {
        free((void *)files);
        return rc;
    }
    cli_install_log(quiet);
    if (merge && cli_dist_size() > 1) {
        free((void *)files);
        return cli_error("stats --merge runs in one process: run it without mpirun");
    }
    if (merge || from_nets) {
        rc = merge ? merge_dirs((char **)files, nfiles, out, quiet)
                   : cli_measure_nets((char **)files, nfiles, data, splits[split], limit, &opt, out, quiet);
        free((void *)files);
        return rc;
    }
    opt.progress = cli_progress;
    /* The pass checkpoints into the published OUT (under the set's lock), so that a pass that
     * was stopped can resume; the new set drops the layer and the checkpoint it linked. */
    char checkpoint[4096];
    snprintf(checkpoint, sizeof checkpoint, "%s/.checkpoint-%s", out, layer);
    opt.checkpoint = checkpoint;
    cvg_stats *s = NULL; /* under MPI: the merged pass on rank 0, NULL on the others */
    cvg_result_set *rs = NULL; /* rank 0's */
    if (cli_dist_rank() == 0 && (rc = cli_output_begin(out, 1, &rs)) != 0) {
        free((void *)files);
        return rc;
    }
    cvg_status st = cli_dist_stats((const char *const *)files, nfiles, layer, &opt, checkpoint, &s);
    cli_progress_end();
    /* what the library refuses as an argument for these files (a --row-offset whose last row
     * would pass 2^53 - 1, a layer name that cannot be a directory) is a usage error, like the
     * option table's own bounds */
    const int usage = st == CVG_ERR_ARG;
    if (st == CVG_OK && rs && (rc = cli_output_drop(rs, layer)) == 0 && (rc = drop_checkpoints(rs, layer)) == 0)
        st = cvg_stats_save(s, cvg_result_dir(rs));
    if (rc == 0 && st != CVG_OK) {
        cli_fail(st);
        rc = usage ? 2 : 1;
    }
    /* the published OUT, with the checkpoints of the pass (every rank's), replaced */
    if (rs) rc = cli_output_finish(rs, rc);
    if (rc == 0 && rs && !quiet) print_layer_summary(out, layer);
    cvg_stats_free(s);
    free((void *)files);
    return rc;
}
