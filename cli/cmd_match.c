/* convergent match: one-to-one alignment of every pair of networks on every layer (paper 3.1,
 * Table 1): semi-matching, exact max-weight matching, overlap ratio. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char match_description[] =
    "Aligns the units of every pair of networks (i < j, numbered from 1) on every layer of\n"
    "the stats directory STATS: semi-matching (each unit of net i takes the unit of net j\n"
    "it is most similar to), matching (the one-to-one assignment of maximum total\n"
    "similarity, solved exactly) and the overlap ratio (the fraction of units where both\n"
    "agree). Prints the paper's Table 1 for these networks (mean over pairs, min-max\n"
    "when there are more than two networks).\n\n"
    "Writes OUT/<layer>/match_<i>_<j>.json (means, overlap, per unit of net i: the chosen\n"
    "unit of net j and its similarity under both methods), match_<i>_<j>_perm.npy (int64:\n"
    "the unit of net j matched to each unit of net i), match_<i>_<j>_permuted.npy (the\n"
    "between-net matrix with net j's units reordered by the matching: column c is the\n"
    "unit matched to unit c of net i, paper Fig. 1d), and OUT/table1.json.";

/* The matrices match can align on: corr.npy, or mi.npy from 'convergent mi'. */
static const char *const metrics[] = {"corr", "mi", NULL};

/* The S x S block of networks (a, b) of the (K*S) x (K*S) matrix. */
static void between_block(const double *m, int64_t S, int K, int a, int b, double *out)
{
    const int64_t D = (int64_t)K * S;
    for (int64_t i = 0; i < S; i++)
        memcpy(out + i * S, m + (a * S + i) * D + b * S, (size_t)S * sizeof *out);
}

typedef struct layer_summary {
    double semi[3], match[3], overlap[3]; /* mean, min, max over pairs */
    int pairs;
} layer_summary;

static void accumulate(double *acc, double v, int first)
{
    if (first) {
        acc[0] = acc[1] = acc[2] = v;
        return;
    }
    acc[0] += v;
    acc[1] = fmin(acc[1], v);
    acc[2] = fmax(acc[2], v);
}

/* mi.npy must come from the statistics beside it: mi.json records their fingerprint. */
static int mi_is_current(const cli_walk *w)
{
    char path[4200], refresh[4300];
    snprintf(path, sizeof path, "%s/mi.json", w->dir);
    snprintf(refresh, sizeof refresh, "convergent mi %s --layer %s", w->stats, w->layer);
    cJSON *j = cli_read_json(path);
    const char *recorded = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "stats_fingerprint"));
    int rc = j ? cli_stale_check(path, recorded ? recorded : "", w->dir, w->fingerprint, refresh)
               : cli_error("%s: missing or not JSON, so %s/mi.npy cannot be trusted; run '%s'", path, w->dir, refresh);
    cJSON_Delete(j);
    return rc;
}

static int match_pair(const char *out_layer, const char *layer, const char *metric, const char *fingerprint,
                      const double *m, int K, int64_t S, int a, int b, layer_summary *sum)
{
    double *block = calloc((size_t)(S * S), sizeof *block);
    double *permuted = malloc((size_t)(S * S) * sizeof *permuted);
    if (!block || !permuted) {
        free(block);
        free(permuted);
        return cli_error("out of memory");
    }
    between_block(m, S, K, a, b, block);
    cvg_match_result r;
    cvg_status st = cvg_match(block, S, S, &r);
    int rc = 0;
    if (st != CVG_OK) {
        rc = cli_fail(st);
        goto done;
    }
    for (int64_t i = 0; i < S; i++)
        for (int64_t c = 0; c < S; c++) permuted[i * S + c] = block[i * S + r.match[c]];
    char path[4096];
    const int64_t perm_shape[1] = {S}, square[2] = {S, S};
    snprintf(path, sizeof path, "%s/match_%d_%d_perm.npy", out_layer, a + 1, b + 1);
    if ((st = cvg_npy_save(path, CVG_I64, 1, perm_shape, r.match)) != CVG_OK) {
        rc = cli_fail(st);
        goto done;
    }
    snprintf(path, sizeof path, "%s/match_%d_%d_permuted.npy", out_layer, a + 1, b + 1);
    if ((st = cvg_npy_save(path, CVG_F64, 2, square, permuted)) != CVG_OK) {
        rc = cli_fail(st);
        goto done;
    }
    cvg_match_info info = {.net_a = a, .net_b = b};
    snprintf(info.layer, sizeof info.layer, "%s", layer);
    snprintf(info.metric, sizeof info.metric, "%s", metric);
    snprintf(info.stats_fingerprint, sizeof info.stats_fingerprint, "%s", fingerprint);
    snprintf(path, sizeof path, "%s/match_%d_%d.json", out_layer, a + 1, b + 1);
    if ((st = cvg_match_save(path, &r, &info)) != CVG_OK) rc = cli_fail(st);
    int first = sum->pairs == 0;
    accumulate(sum->semi, r.semi_mean, first);
    accumulate(sum->match, r.match_mean, first);
    accumulate(sum->overlap, r.overlap, first);
    sum->pairs++;
done:
    cvg_match_result_free(&r);
    free(block);
    free(permuted);
    return rc;
}

static void print_table(char **layers, const layer_summary *sums, int nlayers, const char *metric)
{
    int ranges = 0;
    for (int l = 0; l < nlayers; l++) ranges |= sums[l].pairs > 1;
    printf("\nTable 1 (%s): mean similarity of units paired by semi-matching and by matching,\n"
           "and the fraction of units where the two agree%s\n\n", metric,
           ranges ? "; mean over pairs of networks [min-max]" : "");
    printf("%-10s %-22s %-22s %-22s\n", "layer", "semi-matching", "matching", "overlap ratio");
    for (int l = 0; l < nlayers; l++) {
        const layer_summary *s = &sums[l];
        if (!s->pairs) continue;
        double n = s->pairs;
        char c1[64], c2[64], c3[64];
        if (s->pairs > 1) {
            snprintf(c1, sizeof c1, "%.3f [%.3f-%.3f]", s->semi[0] / n, s->semi[1], s->semi[2]);
            snprintf(c2, sizeof c2, "%.3f [%.3f-%.3f]", s->match[0] / n, s->match[1], s->match[2]);
            snprintf(c3, sizeof c3, "%.1f%% [%.1f-%.1f]", 100 * s->overlap[0] / n, 100 * s->overlap[1], 100 * s->overlap[2]);
        } else {
            snprintf(c1, sizeof c1, "%.3f", s->semi[0]);
            snprintf(c2, sizeof c2, "%.3f", s->match[0]);
            snprintf(c3, sizeof c3, "%.1f%%", 100 * s->overlap[0]);
        }
        printf("%-10s %-22s %-22s %-22s\n", layers[l], c1, c2, c3);
    }
}

int cmd_match(int argc, char **argv)
{
    int metric_index = 0, quiet = 0, npos;
    cli_walk w;
    cli_walk_init(&w, "match", CLI_WALK_OUT | CLI_WALK_PAIR, NULL); /* cli_match sets its purpose */
    cli_option opts[CLI_WALK_MAX_ROWS + 2];
    int n = cli_walk_rows(&w, opts);
    opts[n++] = (cli_option){.name = "metric", .type = CLI_CHOICE, .dest = &metric_index, .choices = metrics,
                             .metavar = "M", .help = "similarity: corr.npy, or mi.npy from 'convergent mi'"};
    opts[n++] = (cli_option){.name = "quiet", .short_name = 'q', .type = CLI_FLAG, .dest = &quiet,
                             .help = "no table"};
    const cli_spec spec = {"match", "STATS -o OUT [options]", match_description, "stats directory", 1, opts, n};
    int rc = cli_parse(&spec, argc, argv, &w.stats, &npos);
    if (rc == CLI_HELP_SHOWN) return 0;
    if (rc == 0) rc = cli_walk_check_options(&w);
    if (rc != 0) return rc;
    return cli_match(&w, metrics[metric_index], quiet);
}

int cli_match(cli_walk *w_, const char *metric, int quiet)
{
    cli_walk w = *w_; /* the walk's state lives here; the caller's settings are left as given */
    int rc = 0;
    w.purpose = "matching";
    cli_install_log(quiet);
    w.matrix = metric;
    /* OUT is one result set: a new version (every layer, or with --layer the others kept) */
    cvg_result_set *rs = NULL;
    if (cli_output_begin(w_->out, w.only != NULL, &rs) != 0) return 1;
    w.out = cvg_result_dir(rs);
    if (cli_walk_start(&w) != 0 || (w.only && cli_output_drop(rs, w.only) != 0)) {
        cli_walk_end(&w);
        return cli_output_finish(rs, 1);
    }
    layer_summary *sums = calloc((size_t)w.count, sizeof *sums);
    cJSON *table = cJSON_CreateObject();
    cJSON_AddStringToObject(table, "metric", metric);
    cJSON *rows = cJSON_AddArrayToObject(table, "layers");
    while (rc == 0 && cli_walk_next(&w, &rc)) {
        layer_summary *s = &sums[w.index];
        if (strcmp(metric, "mi") == 0) rc = mi_is_current(&w);
        for (int a = -1, b; rc == 0 && cli_walk_pair(&w, &a, &b);)
            rc = match_pair(w.out_dir, w.layer, metric, w.fingerprint, w.m, w.nets, w.units, a, b, s);
        if (rc == 0) {
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "layer", w.layer);
            cJSON_AddStringToObject(row, "stats_fingerprint", w.fingerprint);
            cJSON_AddNumberToObject(row, "pairs", s->pairs);
            const char *names[3] = {"semi_matching", "matching", "overlap_ratio"};
            const double *vals[3] = {s->semi, s->match, s->overlap};
            for (int c = 0; c < 3; c++) {
                cJSON *cell = cJSON_AddObjectToObject(row, names[c]);
                cJSON_AddNumberToObject(cell, "mean", vals[c][0] / s->pairs);
                cJSON_AddNumberToObject(cell, "min", vals[c][1]);
                cJSON_AddNumberToObject(cell, "max", vals[c][2]);
            }
            cJSON_AddItemToArray(rows, row);
        }
    }
    if (rc == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/table1.json", w.out);
        rc = cli_write_json(path, table);
    }
    rc = cli_output_finish(rs, rc);
    if (rc == 0 && !quiet) print_table(w.names, sums, w.count, metric);
    cJSON_Delete(table);
    free(sums);
    cli_walk_end(&w);
    return rc;
}
