/* convergent mi: mutual information between every pair of units from the reservoir rows of a
 * stats directory (paper section 3.2), written as mi.npy beside corr.npy, and how the MI-based
 * semi-matching agrees with the correlation-based one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "distributed.h"

static const char mi_description[] =
    "Mutual information of every pair of units (within and between networks) from the\n"
    "reservoir rows of each layer of the stats directory STATS. Each unit is binned on its\n"
    "own: one bin for values <= Z (the zeros of ReLU units), then B equal-mass bins over\n"
    "the rest (the paper's footnote 6). Writes STATS/<layer>/mi.npy ((K*S) x (K*S), the\n"
    "layout of corr.npy; 'convergent match --metric mi' aligns on it) and\n"
    "STATS/<layer>/mi.json: the options and, per pair of networks, how many of the 8 best\n"
    "semi-matched pairs by correlation are also among the 8 best by MI, and the rank\n"
    "correlation of the two semi-matching values. Dead units (zero variance, listed in\n"
    "meta.json) are left out of that comparison and counted; --include-dead keeps them.";

/* The reservoir rows of a layer as float32 (rows x D). */
static cvg_status load_samples(const char *layer_dir, float **samples, int64_t *rows, int64_t *dim)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/samples.npy", layer_dir);
    cvg_npy *npy;
    cvg_status st = cvg_npy_open(path, &npy);
    if (st != CVG_OK) return st;
    *rows = cvg_npy_rows(npy);
    *dim = cvg_npy_row_size(npy);
    *samples = NULL;
    if (cvg_npy_ndim(npy) != 2 || *rows < 2) {
        cvg_npy_free(npy);
        return CVG_ERR_EMPTY;
    }
    *samples = malloc((size_t)(*rows * *dim) * sizeof **samples);
    st = *samples ? cvg_npy_read_rows_f32(npy, 0, *rows, *samples) : CVG_ERR_NOMEM;
    cvg_npy_free(npy);
    return st;
}

/* One layer of the walk: its correlation matrix is w->matrix (a pair's block read at a time); reads w->dir, writes w->out_dir (the
 * same layer in the new version of STATS). */
static int mi_layer(const cli_walk *w, const cvg_mi_options *opt, int include_dead, int quiet)
{
    char path[4200];
    const char *layer_dir = w->dir, *layer = w->layer, *out_dir = w->out_dir;
    const int K = w->nets;
    const int64_t *offset = w->offset, D = offset[K]; /* nets of different widths: S_a x S_b blocks */
    int64_t S_max = 0;
    for (int k = 0; k < K; k++)
        if (offset[k + 1] - offset[k] > S_max) S_max = offset[k + 1] - offset[k];
    int64_t rows, dim;
    float *samples = NULL;
    cvg_status st = load_samples(layer_dir, &samples, &rows, &dim);
    if (st == CVG_ERR_EMPTY || (st == CVG_OK && dim != D)) {
        free(samples);
        return cli_error("%s/samples.npy: needs a reservoir of at least 2 rows x %lld units (was "
                         "the pass run with --reservoir 0?)", layer_dir, (long long)D);
    }
    if (st != CVG_OK) {
        free(samples);
        return cli_fail(st);
    }
    double *mi = malloc((size_t)(D * D) * sizeof *mi);
    double *block_m = malloc((size_t)(S_max * S_max) * sizeof *block_m);
    int rc = 0;
    if (!mi || !block_m) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((st = cli_dist_mi_matrix(samples, rows, D, opt, mi)) != CVG_OK) {
        rc = cli_fail(st);
        goto done;
    }
    cli_progress_end();
    if (cli_dist_rank() != 0) goto done; /* under MPI rank 0 writes */
    snprintf(path, sizeof path, "%s/mi.npy", out_dir);
    const int64_t square[2] = {D, D};
    if ((st = cvg_npy_save(path, CVG_F64, 2, square, mi)) != CVG_OK) {
        rc = cli_fail(st);
        goto done;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "layer", layer);
    cJSON_AddStringToObject(j, "stats_fingerprint", w->fingerprint);
    cJSON_AddNumberToObject(j, "rows", (double)rows);
    cJSON_AddNumberToObject(j, "bins", opt->bins);
    cJSON_AddNumberToObject(j, "zero_threshold", opt->zero_threshold);
    cJSON_AddStringToObject(j, "estimator", opt->bias_correction ? "miller-madow" : "plug-in");
    cJSON_AddStringToObject(j, "unit", opt->bits ? "bits" : "nats");
    cJSON_AddBoolToObject(j, "dead_units_excluded", !include_dead);
    const unsigned char *dead = w->dead;
    const int *dead_count = w->dead_count;
    cJSON_AddItemToObject(j, "dead_units", cJSON_CreateIntArray(dead_count, K));
    cJSON *pairs = cJSON_AddArrayToObject(j, "pairs");
    for (int a = -1, b; rc == 0 && cli_walk_pair(w, &a, &b);) {
        const int64_t Sa = offset[a + 1] - offset[a], Sb = offset[b + 1] - offset[b];
        double *block_c = cli_walk_block(w, &a, 1, &b, 1); /* the pair's correlations, Sa x Sb */
        if (!block_c) {
            rc = 1;
            break;
        }
        for (int64_t i = 0; i < Sa; i++)
            memcpy(block_m + i * Sb, mi + (offset[a] + i) * D + offset[b], (size_t)Sb * sizeof *mi);
        int agree;
        double rho;
        const unsigned char *skip_a = include_dead ? NULL : dead + offset[a];
        const unsigned char *skip_b = include_dead ? NULL : dead + offset[b];
        st = cvg_compare_semi_matchings_excluding(block_c, block_m, Sa, Sb, skip_a, skip_b, 8, &agree, &rho);
        free(block_c);
        if (st != CVG_OK) {
            rc = cli_fail(st);
            break;
        }
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToObject(p, "nets", cJSON_CreateIntArray((const int[]){a + 1, b + 1}, 2));
        cJSON_AddNumberToObject(p, "top8_agree", agree);
        cJSON_AddNumberToObject(p, "semi_matching_spearman", rho);
        cJSON_AddItemToArray(pairs, p);
        if (!quiet)
            printf("%-10s nets %d-%d: %d of the 8 best semi-matched pairs by correlation are "
                   "among the 8 best by MI; Spearman of the values %.3f (dead units %s: %d + %d)\n",
                   layer, a + 1, b + 1, agree < 0 ? 0 : agree, rho,
                   include_dead ? "included" : "left out", dead_count[a], dead_count[b]);
    }
    snprintf(path, sizeof path, "%s/mi.json", out_dir);
    if (rc == 0) rc = cli_write_json(path, j);
    cJSON_Delete(j);
done:
    free(mi), free(block_m), free(samples);
    return rc;
}

int cmd_mi(int argc, char **argv)
{
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    int quiet = 0, npos;
    cli_walk w;
    cli_walk_init(&w, "mi", 0, NULL);
    int include_dead = 0;
    const cli_option own[] = {
        /* 254 bins above the zero bin keep a unit's bin index within a byte */
        {.name = "bins", .type = CLI_INT, .dest = &opt.bins, .min = 1, .max = 254,
            .metavar = "B", .help = "equal-mass bins above the zero bin"},
        {.name = "zero-threshold", .type = CLI_DOUBLE, .dest = &opt.zero_threshold,
            .min = -HUGE_VAL, .max = HUGE_VAL, .metavar = "Z",
            .help = "values <= Z go to the zero bin"},
        {.name = "bias-correction", .type = CLI_FLAG, .dest = &opt.bias_correction,
            .help = "add the Miller-Madow correction", .default_text = "plug-in estimate"},
        {.name = "bits", .type = CLI_FLAG, .dest = &opt.bits,
            .help = "log base 2", .default_text = "natural log, nats"},
        {.name = "threads", .type = CLI_INT, .dest = &opt.threads, .min = 0, .max = CVG_MAX_THREADS,
            .metavar = "T", .help = "threads, 0: all cores"},
        {.name = "include-dead", .type = CLI_FLAG, .dest = &include_dead,
            .help = "keep dead units (zero variance) in the comparison",
            .default_text = "left out, counted"},
        {.name = "quiet", .short_name = 'q', .type = CLI_FLAG, .dest = &quiet,
            .help = "no summary"},
    };
    cli_option rows[CLI_WALK_MAX_ROWS + CLI_COUNT(own)];
    int n = cli_walk_rows(&w, rows, own, CLI_COUNT(own));
    const cli_spec spec = {"mi", "STATS [options]", mi_description, "stats directory", 1, rows, n};
    int rc = cli_parse(&spec, argc, argv, &w.stats, &npos);
    if (rc == CLI_HELP_SHOWN) return 0;
    if (rc == 0) rc = cli_walk_check_options(&w);
    return rc != 0 ? rc : cli_mi(&w, &opt, include_dead, quiet);
}

int cli_mi(cli_walk *w, cvg_mi_options *opt, int include_dead, int quiet)
{
    int rc = 0;
    cli_install_log(quiet);
    opt->progress = cli_progress;
    /* mi.npy and mi.json join STATS: a new version of it, the published files linked in (under
     * MPI rank 0's: the others only compute their share of the pairs) */
    cvg_result_set *rs = NULL;
    if (cli_dist_rank() == 0) {
        if (cli_output_begin(w->stats, 1, &rs) != 0) return 1;
        w->out = cvg_result_dir(rs);
    }
    if (cli_walk_start(w) != 0) rc = 1;
    while (rc == 0 && cli_walk_next(w, &rc)) rc = mi_layer(w, opt, include_dead, quiet);
    cli_walk_end(w);
    w->out = NULL;
    return cli_output_finish(rs, rc);
}
