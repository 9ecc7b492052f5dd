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
    "agree). Prints the paper's Table 1 for these networks: networks 1 and 2 (or the\n"
    "--pair) as the paper's Net1 vs Net2, and beside it the mean [min-max] over all\n"
    "pairs. Dead units (zero variance, listed in meta.json) are left out of every mean\n"
    "and counted; --include-dead keeps them (as similarity 0 to everything).\n\n"
    "Writes OUT/<layer>/match_<i>_<j>.json (means, overlap, per unit of net i: the chosen\n"
    "unit of net j and its similarity under both methods), match_<i>_<j>_perm.npy (int64:\n"
    "the unit of net j matched to each unit of net i), match_<i>_<j>_permuted.npy (the\n"
    "between-net matrix with net j's units reordered by the matching: column c is the\n"
    "unit matched to unit c of net i, paper Fig. 1d), and OUT/table1.json.";

/* The matrices match can align on: corr.npy, or mi.npy from 'convergent mi'. */
static const char *const metrics[] = {"corr", "mi", NULL};

/* Net b's units in the columns of the permuted block: column c holds the unit matched to unit c
 * of net a. Equal widths: a unit of a without a match (dead) gets the next unit of b that no
 * unit is matched to. Different widths: the matched units of b in the order of their partners,
 * then the unmatched ones in index order (Sb columns). */
static void permuted_columns(const cvg_match_result *r, int64_t Sa, int64_t Sb, int64_t *column,
                             unsigned char *taken)
{
    if (Sa == Sb) {
        for (int64_t c = 0; c < Sb; c++)
            if (r->match[c] >= 0) column[c] = r->match[c], taken[r->match[c]] = 1;
        for (int64_t c = 0, next = 0; c < Sb; c++) {
            if (r->match[c] >= 0) continue;
            while (taken[next]) next++;
            column[c] = next, taken[next] = 1;
        }
        return;
    }
    int64_t c = 0;
    for (int64_t i = 0; i < Sa; i++)
        if (r->match[i] >= 0) column[c++] = r->match[i], taken[r->match[i]] = 1;
    for (int64_t j = 0; j < Sb; j++)
        if (!taken[j]) column[c++] = j;
}

typedef struct layer_summary {
    double semi[3], match[3], overlap[3]; /* sum (then mean), min, max over pairs */
    double reverse_semi; /* different widths: the headline pair's semi-matching mean of net b
                            onto net a (the other way) */
    int different_widths; /* some pair of this layer has different widths */
    int pairs;
    double head[3];      /* the headline pair (the first treated: nets 1-2, or --pair) */
    int head_a, head_b;  /* its networks, 0-based */
    int *dead;           /* per network: dead units (left out unless --include-dead) */
    int nets;
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

/* A different-widths pair: the semi-matching the other way (each unit of net b to the unit of
 * net a it is most similar to), as match_<i>_<j>_semi_reverse.npy (int64, -1 for a dead unit
 * left out) and its mean (dead units of a never chosen). */
static int reverse_semi(const char *out_layer, const double *block, int64_t Sa, int64_t Sb,
                        const unsigned char *dead_a, const unsigned char *dead_b, int a, int b, double *mean)
{
    double *t = malloc((size_t)(Sa * Sb) * sizeof *t);
    if (!t) return cli_error("out of memory");
    for (int64_t i = 0; i < Sa; i++)
        for (int64_t j = 0; j < Sb; j++) t[j * Sa + i] = block[i * Sb + j];
    cvg_match_result r;
    cvg_status st = cvg_match_excluding(t, Sb, Sa, dead_b, dead_a, &r);
    free(t);
    if (st != CVG_OK) return cli_fail(st);
    char path[4096];
    const int64_t shape[1] = {Sb};
    snprintf(path, sizeof path, "%s/match_%d_%d_semi_reverse.npy", out_layer, a + 1, b + 1);
    st = cvg_npy_save(path, CVG_I64, 1, shape, r.semi);
    *mean = r.semi_mean;
    cvg_match_result_free(&r);
    return st == CVG_OK ? 0 : cli_fail(st);
}

/* Nets a and b of the walk's layer: their S_a x S_b block of the matrix, read alone. */
static int match_pair(const cli_walk *w, const char *metric, int a, int b, const unsigned char *dead,
                      layer_summary *sum)
{
    const char *out_layer = w->out_dir, *layer = w->layer, *fingerprint = w->fingerprint;
    const int64_t *offset = w->offset;
    const int64_t Sa = offset[a + 1] - offset[a], Sb = offset[b + 1] - offset[b];
    double *block = cli_walk_block(w, &a, 1, &b, 1);
    if (!block) return 1;
    double *permuted = malloc((size_t)(Sa * Sb) * sizeof *permuted);
    if (!permuted) {
        free(block);
        return cli_error("out of memory");
    }
    cvg_match_result r;
    /* dead: D flags, or NULL with --include-dead. A rectangular block (different widths):
       min(Sa, Sb) units matched, the rest -1 (cvg_assignment_max) */
    cvg_status st = cvg_match_excluding(block, Sa, Sb, dead ? dead + offset[a] : NULL,
                                        dead ? dead + offset[b] : NULL, &r);
    int rc = 0;
    if (st != CVG_OK) {
        rc = cli_fail(st);
        goto done;
    }
    int64_t *column = malloc((size_t)Sb * sizeof *column);
    unsigned char *taken = calloc((size_t)Sb, 1);
    if (!column || !taken) {
        free(column), free(taken);
        rc = cli_error("out of memory");
        goto done;
    }
    permuted_columns(&r, Sa, Sb, column, taken);
    for (int64_t i = 0; i < Sa; i++)
        for (int64_t c = 0; c < Sb; c++) permuted[i * Sb + c] = block[i * Sb + column[c]];
    char path[4096];
    /* perm: per unit of net a, its column (equal widths) or its matched unit, -1 for none */
    const int64_t perm_shape[1] = {Sa}, square[2] = {Sa, Sb};
    snprintf(path, sizeof path, "%s/match_%d_%d_perm.npy", out_layer, a + 1, b + 1);
    st = cvg_npy_save(path, CVG_I64, 1, perm_shape, Sa == Sb ? column : r.match);
    free(column), free(taken);
    double reverse = NAN;
    if (st == CVG_OK && Sa != Sb &&
        (rc = reverse_semi(out_layer, block, Sa, Sb, dead ? dead + offset[a] : NULL,
                           dead ? dead + offset[b] : NULL, a, b, &reverse)) != 0)
        goto done;
    if (sum->pairs == 0 && Sa != Sb) sum->different_widths = 1, sum->reverse_semi = reverse;
    if (st != CVG_OK) {
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
    if (first) {
        sum->head[0] = r.semi_mean, sum->head[1] = r.match_mean, sum->head[2] = r.overlap;
        sum->head_a = a, sum->head_b = b;
    }
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

/* "0.513 | 0.520 [0.467-0.552]": the headline pair, then the mean [min-max] over pairs. */
static void cell(char *out, size_t size, const double *over_pairs, double head, int pairs, int percent)
{
    const double f = percent ? 100.0 : 1.0;
    const char *unit = percent ? "%" : "";
    if (pairs > 1)
        snprintf(out, size, percent ? "%.1f%s | %.1f%s [%.1f-%.1f]" : "%.3f%s | %.3f%s [%.3f-%.3f]",
                 f * head, unit, f * over_pairs[0] / pairs, unit, f * over_pairs[1], f * over_pairs[2]);
    else
        snprintf(out, size, percent ? "%.1f%s" : "%.3f%s", f * head, unit);
}

static void print_table(char **layers, const layer_summary *sums, int nlayers, const char *metric,
                        int include_dead)
{
    int ranges = 0, a = 0, b = 1;
    for (int l = 0; l < nlayers; l++)
        if (sums[l].pairs) {
            ranges |= sums[l].pairs > 1;
            a = sums[l].head_a, b = sums[l].head_b;
        }
    printf("\nTable 1 (%s), as the paper's: mean similarity of units paired by semi-matching and\n"
           "by matching, and the fraction of units where the two agree, for networks %d and %d\n"
           "(the paper's Net1 vs Net2)%s.\n%s\n\n", metric, a + 1, b + 1,
           ranges ? "; after the bar, the mean over all pairs of networks [min-max]" : "",
           include_dead ? "Dead units (zero variance) included (--include-dead): similarity 0 to "
                          "every unit."
                        : "Dead units (zero variance) are left out of the means and counted in the "
                          "last column\n(--include-dead keeps them).");
    const int w = ranges ? 30 : 14;
    char h1[64], h2[64], h3[64];
    snprintf(h1, sizeof h1, ranges ? "semi-matching %d-%d | all" : "semi-matching", a + 1, b + 1);
    snprintf(h2, sizeof h2, ranges ? "matching %d-%d | all" : "matching", a + 1, b + 1);
    snprintf(h3, sizeof h3, ranges ? "overlap %d-%d | all" : "overlap", a + 1, b + 1);
    printf("%-10s %-*s %-*s %-*s %s\n", "layer", w, h1, w, h2, w, h3, "dead units per net");
    for (int l = 0; l < nlayers; l++) {
        const layer_summary *s = &sums[l];
        if (!s->pairs) continue;
        char c1[96], c2[96], c3[96], dead[256] = "";
        cell(c1, sizeof c1, s->semi, s->head[0], s->pairs, 0);
        cell(c2, sizeof c2, s->match, s->head[1], s->pairs, 0);
        cell(c3, sizeof c3, s->overlap, s->head[2], s->pairs, 1);
        for (int k = 0, len = 0; k < s->nets && len < (int)sizeof dead - 16; k++)
            len += snprintf(dead + len, sizeof dead - (size_t)len, k ? ",%d" : "%d", s->dead[k]);
        printf("%-10s %-*s %-*s %-*s %s\n", layers[l], w, c1, w, c2, w, c3, dead);
        if (s->different_widths)
            printf("%-10s networks of different widths: semi-matching over net %d's units (%.3f the "
                   "other way), matching and overlap over the min(S_a, S_b) matched units\n", "",
                   s->head_a + 1, s->reverse_semi);
    }
}

int cmd_match(int argc, char **argv)
{
    int metric_index = 0, quiet = 0, npos;
    cli_walk w;
    cli_walk_init(&w, "match", CLI_WALK_OUT | CLI_WALK_PAIR, NULL); /* cli_match sets its purpose */
    int include_dead = 0;
    const cli_option own[] = {
        {.name = "metric", .type = CLI_CHOICE, .dest = &metric_index, .choices = metrics,
            .metavar = "M", .help = "similarity: corr.npy, or mi.npy from 'convergent mi'"},
        {.name = "include-dead", .type = CLI_FLAG, .dest = &include_dead,
            .help = "keep dead units (zero variance) in the means",
            .default_text = "left out, counted"},
        {.name = "quiet", .short_name = 'q', .type = CLI_FLAG, .dest = &quiet,
            .help = "no table"},
    };
    cli_option opts[CLI_WALK_MAX_ROWS + CLI_COUNT(own)];
    int n = cli_walk_rows(&w, opts, own, CLI_COUNT(own));
    const cli_spec spec = {"match", "STATS -o OUT [options]", match_description, "stats directory", 1, opts, n};
    int rc = cli_parse(&spec, argc, argv, &w.stats, &npos);
    if (rc == CLI_HELP_SHOWN) return 0;
    if (rc == 0) rc = cli_walk_check_options(&w);
    if (rc != 0) return rc;
    return cli_match(&w, metrics[metric_index], include_dead, quiet);
}

/* One cell of table1.json: the headline pair's value and the mean, min, max over pairs. */
static void add_cell(cJSON *row, const char *name, const double *over_pairs, double head, int pairs)
{
    cJSON *cell = cJSON_AddObjectToObject(row, name);
    cJSON_AddNumberToObject(cell, "headline", head);
    cJSON_AddNumberToObject(cell, "mean", over_pairs[0] / pairs);
    cJSON_AddNumberToObject(cell, "min", over_pairs[1]);
    cJSON_AddNumberToObject(cell, "max", over_pairs[2]);
}

int cli_match(cli_walk *w_, const char *metric, int include_dead, int quiet)
{
    cli_walk w = *w_; /* the walk's state lives here; the caller's settings are left as given */
    int rc = 0;
    w.purpose = "matching";
    cli_install_log(quiet);
    w.matrix_name = metric;
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
    cJSON_AddBoolToObject(table, "dead_units_excluded", !include_dead);
    cJSON *rows = cJSON_AddArrayToObject(table, "layers");
    while (rc == 0 && cli_walk_next(&w, &rc)) {
        layer_summary *s = &sums[w.index];
        s->nets = w.nets;
        if (!(s->dead = malloc((size_t)w.nets * sizeof *s->dead))) rc = cli_error("out of memory");
        else memcpy(s->dead, w.dead_count, (size_t)w.nets * sizeof *s->dead);
        if (rc == 0 && strcmp(metric, "mi") == 0) rc = mi_is_current(&w);
        for (int a = -1, b; rc == 0 && cli_walk_pair(&w, &a, &b);)
            rc = match_pair(&w, metric, a, b, include_dead ? NULL : w.dead, s);
        if (rc == 0) {
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "layer", w.layer);
            cJSON_AddStringToObject(row, "stats_fingerprint", w.fingerprint);
            cJSON_AddNumberToObject(row, "pairs", s->pairs);
            cJSON_AddItemToObject(row, "headline_nets", cJSON_CreateIntArray((const int[]){s->head_a + 1, s->head_b + 1}, 2));
            add_cell(row, "semi_matching", s->semi, s->head[0], s->pairs);
            add_cell(row, "matching", s->match, s->head[1], s->pairs);
            add_cell(row, "overlap_ratio", s->overlap, s->head[2], s->pairs);
            cJSON_AddItemToObject(row, "dead_units", cJSON_CreateIntArray(s->dead, s->nets));
            if (s->different_widths) { /* only then: equal-width files as before */
                cJSON *widths = cJSON_AddArrayToObject(row, "units_per_net");
                for (int k = 0; k < w.nets; k++)
                    cJSON_AddItemToArray(widths, cJSON_CreateNumber((double)(w.offset[k + 1] - w.offset[k])));
                cJSON_AddItemToObject(row, "semi_matching_reverse_headline",
                                      isnan(s->reverse_semi) ? cJSON_CreateNull() : cJSON_CreateNumber(s->reverse_semi));
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
    if (rc == 0 && !quiet) print_table(w.names, sums, w.count, metric, include_dead);
    cJSON_Delete(table);
    for (int l = 0; sums && l < w.count; l++) free(sums[l].dead);
    free(sums);
    cli_walk_end(&w);
    return rc;
}
