/* convergent mi: mutual information between every pair of units from the reservoir rows of a
 * stats directory (paper section 3.2), written as mi.npy beside corr.npy, and how the MI-based
 * semi-matching agrees with the correlation-based one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static void help(void)
{
    cvg_mi_options d;
    cvg_mi_options_init(&d);
    printf("usage: convergent mi STATS [--layer L] [--bins B] [--zero-threshold Z]\n"
           "                     [--bias-correction] [--bits] [--threads T]\n\n"
           "Mutual information of every pair of units (within and between networks) from the\n"
           "reservoir rows of each layer of the stats directory STATS. Each unit is binned on its\n"
           "own: one bin for values <= Z (the zeros of ReLU units), then B equal-mass bins over\n"
           "the rest (the paper's footnote 6). Writes STATS/<layer>/mi.npy ((K*S) x (K*S), the\n"
           "layout of corr.npy; 'convergent match --metric mi' aligns on it) and\n"
           "STATS/<layer>/mi.json: the options and, per pair of networks, how many of the 8 best\n"
           "semi-matched pairs by correlation are also among the 8 best by MI, and the rank\n"
           "correlation of the two semi-matching values.\n\n"
           "options:\n"
           "  --layer L            only this layer (default: every layer)\n"
           "  --bins B             equal-mass bins above the zero bin (default: %d)\n"
           "  --zero-threshold Z   values <= Z go to the zero bin (default: %g)\n"
           "  --bias-correction    add the Miller-Madow correction (default: plug-in estimate)\n"
           "  --bits               log base 2 (default: natural log, nats)\n"
           "  --threads T          threads (default: all cores)\n"
           "  -q, --quiet          no summary\n",
           d.bins, d.zero_threshold);
}

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
        cvg_npy_close(npy);
        return CVG_ERR_EMPTY;
    }
    *samples = malloc((size_t)(*rows * *dim) * sizeof **samples);
    st = *samples ? cvg_npy_read_rows_f32(npy, 0, *rows, *samples) : CVG_ERR_NOMEM;
    cvg_npy_close(npy);
    return st;
}

/* One layer of the walk: its correlation matrix is w->m. */
static int mi_layer(const cli_walk *w, const cvg_mi_options *opt, int quiet)
{
    char path[4200];
    const char *layer_dir = w->dir, *layer = w->layer;
    const int K = w->nets;
    const int64_t S = w->units;
    const double *corr = w->m;
    int64_t rows, dim;
    float *samples = NULL;
    cvg_status st = load_samples(layer_dir, &samples, &rows, &dim);
    if (st == CVG_ERR_EMPTY || (st == CVG_OK && dim != K * S)) {
        free(samples);
        return cli_error("%s/samples.npy: needs a reservoir of at least 2 rows x %lld units (was "
                         "the pass run with --reservoir 0?)", layer_dir, (long long)(K * S));
    }
    if (st != CVG_OK) {
        free(samples);
        return cli_fail(st);
    }
    const int64_t D = K * S;
    double *mi = malloc((size_t)(D * D) * sizeof *mi);
    double *block_c = malloc((size_t)(S * S) * sizeof *block_c), *block_m = malloc((size_t)(S * S) * sizeof *block_m);
    int rc = 0;
    if (!mi || !block_c || !block_m) {
        rc = cli_error("out of memory");
        goto done;
    }
    if ((st = cvg_mi_matrix(samples, rows, D, opt, mi)) != CVG_OK) {
        rc = cli_fail(st);
        goto done;
    }
    cli_progress_end();
    snprintf(path, sizeof path, "%s/mi.npy", layer_dir);
    const int64_t square[2] = {D, D};
    if ((st = cvg_npy_save(path, CVG_F64, 2, square, mi)) != CVG_OK) {
        rc = cli_fail(st);
        goto done;
    }
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "layer", layer);
    cJSON_AddNumberToObject(j, "rows", (double)rows);
    cJSON_AddNumberToObject(j, "bins", opt->bins);
    cJSON_AddNumberToObject(j, "zero_threshold", opt->zero_threshold);
    cJSON_AddStringToObject(j, "estimator", opt->bias_correction ? "miller-madow" : "plug-in");
    cJSON_AddStringToObject(j, "unit", opt->bits ? "bits" : "nats");
    cJSON *pairs = cJSON_AddArrayToObject(j, "pairs");
    for (int a = -1, b; rc == 0 && cli_walk_pair(w, &a, &b);) {
        for (int64_t i = 0; i < S; i++) {
            memcpy(block_c + i * S, corr + (a * S + i) * D + b * S, (size_t)S * sizeof *corr);
            memcpy(block_m + i * S, mi + (a * S + i) * D + b * S, (size_t)S * sizeof *mi);
        }
        int agree;
        double rho;
        if ((st = cvg_compare_semi_matchings(block_c, block_m, S, S, 8, &agree, &rho)) != CVG_OK) {
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
                   "among the 8 best by MI; Spearman of the values %.3f\n", layer, a + 1, b + 1,
                   agree < 0 ? 0 : agree, rho);
    }
    snprintf(path, sizeof path, "%s/mi.json", layer_dir);
    if (rc == 0) rc = cli_write_json(path, j);
    cJSON_Delete(j);
done:
    free(mi), free(block_c), free(block_m), free(samples);
    return rc;
}

int cmd_mi(int argc, char **argv)
{
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    const char *v;
    int quiet = 0, rc = 0;
    cli_walk w;
    cli_walk_init(&w, "mi", 0, NULL);
    int64_t n;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help();
            return 0;
        } else if (cli_walk_option(&w, argc, argv, &i, &rc)) {
            continue;
        } else if (strcmp(a, "--bins") == 0) {
            rc = !(v = cli_option_value("mi", argc, argv, &i)) ? 2 : cli_parse_int64("mi", a, v, 1, &n);
            if (rc == 0 && n > 254) rc = cli_usage_error("mi", "--bins must be at most 254");
            opt.bins = (int)n;
        } else if (strcmp(a, "--zero-threshold") == 0) {
            rc = !(v = cli_option_value("mi", argc, argv, &i)) ? 2 : cli_parse_double("mi", a, v, &opt.zero_threshold);
            if (rc == 0 && !isfinite(opt.zero_threshold)) rc = cli_usage_error("mi", "--zero-threshold must be finite");
        } else if (strcmp(a, "--bias-correction") == 0) {
            opt.bias_correction = 1;
        } else if (strcmp(a, "--bits") == 0) {
            opt.bits = 1;
        } else if (strcmp(a, "--threads") == 0) {
            rc = !(v = cli_option_value("mi", argc, argv, &i)) ? 2 : cli_parse_int64("mi", a, v, 1, &n);
            opt.threads = (int)n;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else {
            rc = cli_usage_error("mi", "unknown option '%s'", a);
        }
    }
    if (rc == 0) rc = cli_walk_check_options(&w);
    if (rc != 0) return rc;
    cli_install_log(quiet);
    opt.progress = cli_progress;
    if (cli_walk_start(&w) != 0) rc = 1;
    while (rc == 0 && cli_walk_next(&w, &rc)) rc = mi_layer(&w, &opt, quiet);
    cli_walk_end(&w);
    return rc;
}
