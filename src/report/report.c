/* report.html: one self-contained page (PNG figures beside it, no server, no scripts) with a
 * summary, the paper's Table 1 for these networks (by correlation and by MI; the paper's own
 * shown once, for orientation), every figure with a caption naming the paper's figure it
 * corresponds to and saying what to look for, and links to the .npy and JSON data. It reads what the
 * analyses left in the results directory and leaves out, with a note, what is not there. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "report/cluster_section.h"
#include "report/figures.h"
#include "report/page.h"
#include "report/provenance.h"
#include "report/report_patches.h"
#include "report/cross_layer.h"
#include "report/table1.h"

static const char *const CSS =
    "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;"
    "padding:0 1em;color:#222;line-height:1.45}h1{font-size:1.7em}h2{margin-top:2em;border-bottom:"
    "1px solid #ccc}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
    "padding:.3em .7em;text-align:right}th{background:#f2f2f2}td:first-child{text-align:left}"
    "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.92em;"
    "color:#444;max-width:70em}.note{background:#fff8e0;border-left:4px solid #e0b000;padding:"
    ".5em 1em}code{background:#f4f4f4;padding:0 .2em}";

/* ---- sections (Table 1: table1.c) */

static cvg_status load_layer(report *r, const char *name, layer_data *L)
{
    memset(L, 0, sizeof *L);
    L->name = name;
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/stats/%s", r->results, name);
    /* checks header, size, shape; kept open for load_pair, so the pair comes from this version */
    cvg_status st = cvg_stats_matrix_open(dir, "corr", 0, &L->corr);
    if (st != CVG_OK) return st;
    L->K = cvg_stats_matrix_nets(L->corr), L->S = cvg_stats_matrix_units(L->corr); /* S: 0 when widths differ */
    L->offset = cvg_stats_matrix_offsets(L->corr);
    snprintf(path, sizeof path, "%s/meta.json", dir);
    cJSON *meta = read_json(path);
    L->samples = (int64_t)json_number(meta, "samples", 0);
    const char *conv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "conv_samples"));
    if (conv) snprintf(L->conv_samples, sizeof L->conv_samples, "%s", conv);
    cJSON_Delete(meta);
    int nd;
    int64_t shape[CVG_NPY_MAX_DIMS];
    snprintf(path, sizeof path, "%s/mean.npy", dir);
    st = cvg_npy_load(path, &nd, shape, &L->mean);
    /* (K, S) with equal widths, (D,) when they differ: D values either way */
    if (st == CVG_OK && (nd == 2 ? shape[0] * shape[1] : nd == 1 ? shape[0] : -1) != L->offset[L->K])
        st = cvg__fail(CVG_ERR_SHAPE, "%s: %lld values, but meta.json's nets have %lld units in all", path,
                       (long long)(nd == 2 ? shape[0] * shape[1] : shape[0]), (long long)L->offset[L->K]);
    return st;
}

/* The n x n correlations of nets 1 and 2 (n = pair_size) into L->pair (only those blocks of
 * corr.npy are read: the page draws no other pair). */
static cvg_status load_pair(layer_data *L)
{
    const int nets[2] = {0, 1};
    const int64_t n = pair_size(L);
    if (!(L->pair = malloc((size_t)(n * n) * sizeof *L->pair))) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    return cvg_stats_matrix_block(L->corr, nets, 2, nets, 2, L->pair);
}

/* Columns columns[0..n) of the reservoir rows (rows x D float32) into *out (rows x n, malloc'd),
 * reading a bounded number of rows at a time: the figure needs 8 units' values, not the whole
 * reservoir in memory. 0, or -1 (nothing drawn, as when the file cannot be read whole). */
static int read_columns(cvg_npy *npy, int64_t rows, int64_t D, const int64_t *columns, int n, float **out)
{
    enum { CHUNK_ROWS = 256 };
    float *chunk = malloc((size_t)(CHUNK_ROWS * D) * sizeof *chunk);
    *out = malloc((size_t)(rows * n) * sizeof **out);
    int rc = chunk && *out ? 0 : -1;
    for (int64_t r0 = 0; rc == 0 && r0 < rows; r0 += CHUNK_ROWS) {
        const int64_t take = rows - r0 < CHUNK_ROWS ? rows - r0 : CHUNK_ROWS;
        if (cvg_npy_read_rows_f32(npy, r0, take, chunk) != CVG_OK) rc = -1;
        for (int64_t r = 0; rc == 0 && r < take; r++)
            for (int k = 0; k < n; k++) (*out)[(r0 + r) * n + k] = chunk[r * D + columns[k]];
    }
    free(chunk);
    return rc;
}

/* ", 64 units each" or, for nets of different widths, " of different widths (64, 72 units)". */
static void put_widths(report *r, const layer_data *L)
{
    if (L->S > 0) {
        put(r, ", %lld units each", (long long)L->S);
        return;
    }
    put(r, " of different widths (");
    for (int k = 0; k < L->K; k++) put(r, "%s%lld", k ? ", " : "", (long long)layer_width(L, k));
    put(r, " units)");
}

/* Fig. 1 (d): the matching's permuted block of nets 1 and 2 (S_1 x S_2, malloc'd), NULL when
 * match/ has none of this layer's shape. Equal widths: match_1_2_permuted.npy as written.
 * Different widths: its rows reordered, matched units of net1 first (fig_matched_rows_first),
 * so that the matched pairs lie on the diagonal. */
static double *permuted_block(const report *r, const layer_data *L, const cvg_match_result *m)
{
    const int64_t Sa = layer_width(L, 0), Sb = layer_width(L, 1);
    char path[4200];
    snprintf(path, sizeof path, "%s/match/%s/match_1_2_permuted.npy", r->results, L->name);
    int nd;
    int64_t shape[CVG_NPY_MAX_DIMS];
    double *permuted = NULL, *rows_first = NULL;
    if (cvg_npy_load(path, &nd, shape, &permuted) != CVG_OK || nd != 2 || shape[0] != Sa || shape[1] != Sb) {
        free(permuted);
        return NULL;
    }
    if (Sa == Sb) return permuted;
    if ((rows_first = malloc((size_t)(Sa * Sb) * sizeof *rows_first)))
        fig_matched_rows_first(permuted, m->match, Sa, Sb, rows_first, NULL);
    free(permuted);
    return rows_first;
}

/* Fig. 1, 3 and 7 of one layer for nets 1 and 2 (S_1 x S_2 blocks, equal widths or not). */
static cvg_status section_layer(report *r, const layer_data *L)
{
    char path[4096], file[512], caption[1400];
    cvg_status st = CVG_OK;
    put(r, "<h2>Layer ");
    put_escaped(r, L->name);
    put(r, "</h2>\n<p>%d networks", L->K);
    put_widths(r, L);
    put(r, ", %lld samples", (long long)L->samples);
    if (strcmp(L->conv_samples, "positions") == 0)
        put(r, " (conv samples: positions, every image and position, the paper's)");
    else if (strcmp(L->conv_samples, "mean") == 0)
        put(r, " (conv samples: mean, one per image, each channel averaged over positions)");
    else if (strcmp(L->conv_samples, "flatten") == 0)
        put(r, " (conv samples: flatten, one per image, its C*H*W values the units)");
    put(r, ". Data: ");
    snprintf(path, sizeof path, "stats/%s/corr.npy", L->name);
    put_link(r, path, "corr.npy");
    put(r, ", ");
    snprintf(path, sizeof path, "stats/%s/meta.json", L->name);
    put_link(r, path, "meta.json");
    put(r, "</p>\n");
    if (L->K < 2) return CVG_OK;
    const int64_t Sa = layer_width(L, 0), Sb = layer_width(L, 1), D = L->offset[L->K];
    const int differ = Sa != Sb;

    /* the pair 1-2 matching, if computed */
    snprintf(path, sizeof path, "%s/match/%s/match_1_2.json", r->results, L->name);
    cvg_match_result m = {0};
    double *permuted = NULL, *semi = NULL, *match = NULL;
    if (cvg_match_load(path, &m, NULL) == CVG_OK && m.rows == Sa && m.cols == Sb) {
        semi = m.semi_value;
        match = m.match_value;
        permuted = permuted_block(r, L, &m);
    }
    if (semi && !isnan(m.semi_mean)) { /* this run's numbers for this layer, not the paper's */
        put(r, "<p>Nets 1 and 2 in this layer: mean semi-matching correlation %.3f, mean matching "
               "correlation %.3f, overlap %.1f%%", m.semi_mean, m.match_mean, 100 * m.overlap);
        if (m.excluded_rows || m.excluded_cols)
            put(r, " (dead units left out: %lld of net1, %lld of net2)", (long long)m.excluded_rows,
                (long long)m.excluded_cols);
        if (differ)
            put(r, "; with %lld and %lld units, %lld units of net%d have no partner under matching, and "
                   "the matching mean and overlap are over the matched units of net1",
                (long long)Sa, (long long)Sb, (long long)(Sa > Sb ? Sa - Sb : Sb - Sa), Sa > Sb ? 1 : 2);
        put(r, ".</p>\n");
    }
    snprintf(file, sizeof file, "fig1_%s.png", L->name);
    char *png = fig_path(r, file);
    const int64_t pair_offset[3] = {0, Sa, Sa + Sb}; /* nets 1 and 2 in L->pair */
    st = fig_correlation_matrices(png, L->name, L->pair, Sa + Sb, pair_offset, 0, 1, permuted);
    free(png);
    if (st != CVG_OK) goto done;
    snprintf(caption, sizeof caption,
             "Fig. 1 (%s; the paper's Fig. 1, there conv1 of AlexNet). (a, b) Within-net correlation "
             "of net1 and net2; (c) between-net correlation of net1 (rows) and net2 (columns)%s. "
             "Look for bright entries in (c): units of net2 that track a unit of net1%s.%s",
             L->name, permuted ? "; (d) the same with net2's units reordered by the matching" : "",
             permuted ? ", and for a bright diagonal in (d), where the alignment succeeds" : "",
             !differ ? "" : permuted ? " The networks have different widths: every panel is drawn on one "
                                       "scale, so the between-net blocks are rectangles (net1's units "
                                       "down, net2's across); in (d) the matched units of net1 come "
                                       "first, each beside its partner on the diagonal of the "
                                       "min(S1, S2) square, then the units the matching leaves out: "
                                       "net1's below, net2's to the right."
                                     : " The networks have different widths: every panel is drawn on "
                                       "one scale, so the between-net block is a rectangle.");
    put_figure(r, file, caption);

    if (semi && match) {
        /* the units of net1 with a partner: dead units left out by match, and the units of a
           wider net1 the matching leaves out, have none (-1) */
        double *live_semi = malloc((size_t)Sa * sizeof *live_semi), *live_match = malloc((size_t)Sa * sizeof *live_match);
        int64_t live = 0;
        for (int64_t i = 0; live_semi && live_match && i < Sa; i++)
            if (m.semi[i] >= 0 && m.match[i] >= 0) live_semi[live] = semi[i], live_match[live++] = match[i];
        snprintf(file, sizeof file, "fig3_%s.png", L->name);
        png = fig_path(r, file);
        st = !live_semi || !live_match ? cvg__fail(CVG_ERR_NOMEM, "out of memory")
             : live > 0 ? fig_matching_curve(png, L->name, "corr", live_semi, live_match, live, 0, 1) : CVG_OK;
        free(png), free(live_semi), free(live_match);
        if (st != CVG_OK) goto done;
        snprintf(caption, sizeof caption,
                 "Fig. 3 (%s; the paper's Fig. 3 for conv1 and Fig. 8-11 for conv2-conv5). For each "
                 "unit of net1%s, the correlation of its partner in net2 under semi-matching and under "
                 "matching, units sorted by decreasing semi-matching value. Where the curves coincide "
                 "the one-to-one assignment is as good as the greedy one; where matching falls far "
                 "below, net2 spans that unit's subspace with a different number of units (the "
                 "paper's section 3.1).%s", L->name,
                 live < Sa ? " with a partner (dead units and units left unmatched are not drawn)" : "",
                 !differ ? "" : Sa > Sb ? " Net1 is the wider network: the matching pairs only as many of its "
                                          "units as net2 has, so the rest are not drawn."
                                        : " Net2 is the wider network: every live unit of net1 is matched, "
                                          "and net2's units left over have no partner in net1.");
        if (live > 0) put_figure(r, file, caption);
    }

    /* Fig. 7: joint distributions of the two most and two least correlated semi-matched pairs */
    char samples_path[4200];
    snprintf(samples_path, sizeof samples_path, "%s/stats/%s/samples.npy", r->results, L->name);
    cvg_npy *npy = NULL;
    if (semi && cvg_npy_open(samples_path, &npy) == CVG_OK && cvg_npy_rows(npy) > 1 &&
        cvg_npy_row_size(npy) == D) {
        const int64_t rows = cvg_npy_rows(npy);
        float *samples = NULL; /* rows x 2n: pair k's two units at 2k, 2k + 1 */
        {
            int64_t best[2] = {-1, -1}, worst[2] = {-1, -1};
            for (int64_t i = 0; i < Sa; i++) {
                if (m.semi[i] < 0 || !(semi[i] != 0.0)) continue; /* a dead unit: nothing to show */
                if (best[0] < 0 || semi[i] > semi[best[0]]) best[1] = best[0], best[0] = i;
                else if (best[1] < 0 || semi[i] > semi[best[1]]) best[1] = i;
                if (worst[0] < 0 || semi[i] < semi[worst[0]]) worst[1] = worst[0], worst[0] = i;
                else if (worst[1] < 0 || semi[i] < semi[worst[1]]) worst[1] = i;
            }
            fig_pair pairs[4];
            int n = 0;
            const int64_t pick[4] = {best[0], best[1], worst[1], worst[0]};
            for (int k = 0; k < 4; k++)
                if (pick[k] >= 0)
                    pairs[n++] = (fig_pair){pick[k], m.semi[pick[k]], semi[pick[k]]};
            int64_t columns[8];
            for (int k = 0; k < n; k++) columns[2 * k] = L->offset[0] + pairs[k].unit_a, columns[2 * k + 1] = L->offset[1] + pairs[k].unit_b;
            const int read = n > 0 ? read_columns(npy, rows, D, columns, 2 * n, &samples) : -1;
            snprintf(file, sizeof file, "fig7_%s.png", L->name);
            png = read == 0 ? fig_path(r, file) : NULL;
            if (read == 0) st = fig_joint_distributions(png, L->name, samples, rows, 0, 1, pairs, n);
            free(png);
            if (read == 0 && st == CVG_OK) {
                snprintf(caption, sizeof caption,
                         "Fig. 7 (%s; the paper's Fig. 7, there conv1 and conv2). Joint distribution "
                         "of activations (reservoir rows) for the two "
                         "best (left) and two worst (right) semi-matched unit pairs of net1 and net2. A "
                         "simple, near-linear shape at high correlation is what makes correlation an "
                         "adequate similarity.", L->name);
                put_figure(r, file, caption);
            }
        }
        free(samples);
    }
    cvg_npy_free(npy);

    /* Mutual information comparison, if computed */
    snprintf(path, sizeof path, "%s/stats/%s/mi.json", r->results, L->name);
    cJSON *mi = read_json(path);
    if (mi) {
        const cJSON *dead_flag = cJSON_GetObjectItemCaseSensitive(mi, "dead_units_excluded");
        put(r, "<p>Mutual information (paper section 3.2, %s, %s): of the 8 best semi-matched "
               "pairs by correlation, how many are among the 8 best by MI, and the Spearman "
               "correlation of the two semi-matching values%s:</p>\n<table><tr><th>nets</th>"
               "<th>top 8 in common</th><th>Spearman</th></tr>\n",
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(mi, "estimator")) ?: "plug-in",
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(mi, "unit")) ?: "nats",
            !cJSON_IsBool(dead_flag) ? "" : cJSON_IsTrue(dead_flag) ? " (dead units left out)"
                                                                   : " (dead units included)");
        const cJSON *p;
        int head_agree = -1;
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(mi, "pairs")) {
            const cJSON *nets = cJSON_GetObjectItemCaseSensitive(p, "nets");
            const int a = cJSON_GetArrayItem(nets, 0)->valueint, b = cJSON_GetArrayItem(nets, 1)->valueint;
            if (a == 1 && b == 2) head_agree = (int)json_number(p, "top8_agree", 0);
            put(r, "<tr><td>%d&ndash;%d</td><td>%d of 8</td><td>%.3f</td></tr>\n", a, b,
                (int)json_number(p, "top8_agree", 0), json_number(p, "semi_matching_spearman", NAN));
        }
        put(r, "</table>\n<p>");
        if (head_agree >= 0) {
            put(r, "In this layer, of the 8 best pairs of nets 1 and 2 by correlation, %d %s also among "
                   "the 8 best by MI: ", head_agree, head_agree == 1 ? "is" : "are");
            put(r, head_agree >= 6 ? "the two measures agree on the best-aligned units, as the paper "
                                     "found for AlexNet's conv1 (7 of 8). "
                                   : "the two measures rank the best-aligned units differently here. ");
        }
        put(r, "Data: ");
        snprintf(path, sizeof path, "stats/%s/mi.npy", L->name);
        put_link(r, path, "mi.npy");
        put(r, "</p>\n");
        cJSON_Delete(mi);
    }
done:
    cvg_match_result_free(&m);
    free(permuted);
    return st;
}

/* Beyond the paper: the linear similarity measures of convergent similarity, one row per
 * layer and pair of networks, read from similarity/<layer>/similarity_<i>_<j>.json. A pair
 * without a file was not computed (convergent similarity --pair) and has no row; a file that
 * does not load is an error naming it. */
static cvg_status section_similarity(report *r, const layer_data *Ls, int nlayers)
{
    static const cvg_measure shown[] = {CVG_SIM_CKA, CVG_SIM_CKA_DEBIASED, CVG_SIM_CCA_RHO,
                                        CVG_SIM_SVCCA, CVG_SIM_PWCCA, CVG_SIM_PROCRUSTES};
    static const char *const names[] = {"CKA", "debiased CKA", "CCA mean &rho;", "SVCCA", "PWCCA", "Procrustes distance"};
    enum { SHOWN = sizeof shown / sizeof *shown };
    char path[4400], rel[600];
    snprintf(path, sizeof path, "%s/similarity", r->results);
    if (access(path, F_OK) != 0) return CVG_OK; /* similarity not run: no section */
    int rows = 0;
    for (int l = 0; l < nlayers; l++)
        for (int a = 0; a < Ls[l].K; a++)
            for (int b = a + 1; b < Ls[l].K; b++) {
                snprintf(rel, sizeof rel, "similarity/%s/similarity_%d_%d.json", Ls[l].name, a + 1, b + 1);
                snprintf(path, sizeof path, "%s/%s", r->results, rel);
                if (access(path, F_OK) != 0) continue;
                cvg_similarity s;
                cvg_similarity_info info;
                cvg_status st = cvg_similarity_load(path, &s, &info);
                if (st != CVG_OK) return st;
                if (rows++ == 0) {
                    put(r, "<h2>Beyond the paper: linear similarity of whole layers</h2>\n<p>From "
                           "the same statistics (no second pass over the data): linear CKA and its "
                           "debiased form, the mean canonical correlation, SVCCA, PWCCA (1 = "
                           "identical up to a linear map) and the orthogonal Procrustes distance "
                           "(0 = identical up to a rotation). n/a: undefined, the reason is in the "
                           "data file of the row. Samples: what a sample of a conv layer was "
                           "(positions: every image and position, the paper's; mean: one per image, "
                           "channels averaged over positions; flatten: one per image, C*H*W "
                           "units; convergent stats --conv-samples); the measures differ widely "
                           "between them.</p>\n<table><tr><th>layer</th><th>nets</th><th>samples</th>");
                    for (int k = 0; k < SHOWN; k++) put(r, "<th>%s</th>", names[k]);
                    put(r, "<th>data</th></tr>\n");
                }
                put(r, "<tr><td>");
                put_escaped(r, Ls[l].name);
                put(r, "</td><td>%d&ndash;%d</td><td>", a + 1, b + 1);
                put_escaped(r, info.conv_samples[0] ? info.conv_samples : "-");
                put(r, "</td>");
                for (int k = 0; k < SHOWN; k++) {
                    if (s.defined[shown[k]]) put(r, "<td>%.3f</td>", s.value[shown[k]]);
                    else put(r, "<td>n/a</td>");
                }
                put(r, "<td>");
                put_link(r, rel, "json");
                put(r, "</td></tr>\n");
                cvg_similarity_free(&s);
            }
    if (rows > 0) put(r, "</table>\n");
    return CVG_OK;
}

static cvg_status section_means(report *r, layer_data *Ls, int n)
{
    if (n == 0) return CVG_OK;
    const char **names = malloc((size_t)n * sizeof *names);
    const double **means = malloc((size_t)n * sizeof *means);
    const int64_t **offsets = malloc((size_t)n * sizeof *offsets);
    double *close = malloc((size_t)n * sizeof *close);
    cvg_status st = CVG_OK;
    if (!names || !means || !offsets || !close) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        goto done;
    }
    int K = Ls[0].K, used = 0;
    for (int l = 0; l < n; l++) {
        if (Ls[l].K != K) continue;
        names[used] = Ls[l].name;
        means[used] = Ls[l].mean;
        offsets[used] = Ls[l].offset;
        used++;
    }
    char *png = fig_path(r, "mean_activations.png");
    st = fig_mean_activations(png, names, used, means, K, offsets, close);
    free(png);
    if (st != CVG_OK) goto done;
    put(r, "<h2>Mean activations</h2>\n");
    put_figure(r, "mean_activations.png",
               "The mean activation of every unit, sorted, one line per network (the paper's "
               "third finding, stated in its abstract, with no figure of its own): within a "
               "network the means vary widely, yet across networks their distributions converge, so the sorted curves lie on top of each other. The number "
               "beside each layer is the "
               "Kolmogorov-Smirnov distance between two networks' distributions of unit means, "
               "averaged over pairs (0: identical distributions, 1: disjoint). For a layer whose "
               "networks have different widths each curve runs over its own net's units, the x "
               "axis their rank as a fraction of them (0 to 1): the curves are the quantile "
               "functions of the unit means, and the KS distance compares the distributions "
               "whatever their sizes.");
    put(r, "<table><tr><th>layer</th><th>KS distance of unit-mean distributions</th></tr>\n");
    for (int l = 0; l < used; l++) {
        put(r, "<tr><td>");
        put_escaped(r, names[l]);
        put(r, "</td><td>%.3f</td></tr>\n", close[l]);
    }
    put(r, "</table>\n");
done:
    free(names), free(means), free(offsets), free(close);
    return st;
}

static const char *const NOT_DRAWN =
    "Not drawn here, for the layers whose notes say so: the figures that show what units "
    "respond to (Fig. 2 and 4, the top-9 input patches of the best and worst matched units, "
    "and Fig. 5 and 12, the patches of matched clusters) need the input images, which "
    "activations given as .npy files do not carry. They are drawn for networks that "
    "convergent measures itself (<code>convergent stats --nets</code>, <code>convergent "
    "run</code>), whose statistics name the images and keep each unit's top-9 entries. "
    "<code>convergent stats --nets</code> measures networks of one architecture only, so a "
    "layer whose networks have different widths (measured from .npy files) has no patch "
    "figures; every other figure is drawn for it, on its S1 x S2 blocks.";

static cvg_status write_page(report *r, char **layers, int nlayers, const report_provenance *prov)
{
    put(r, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<title>convergent report</title><style>%s</style></head><body>\n", CSS);
    put(r, "<h1>Do these networks learn the same representations?</h1>\n"
           "<p>A report of <code>convergent</code> %s after Li, Yosinski, Clune, Lipson and "
           "Hopcroft, <i>Convergent Learning</i>. Results directory: <code>", cvg_version());
    put_escaped(r, r->shown);
    put(r, "</code>.</p>\n");
    layer_data *Ls = calloc((size_t)nlayers, sizeof *Ls);
    if (!Ls) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    cvg_status st = CVG_OK;
    int loaded = 0;
    for (int l = 0; l < nlayers && st == CVG_OK; l++, loaded++) st = load_layer(r, layers[l], &Ls[l]);
    if (st == CVG_OK) {
        put(r, "<h2>Summary</h2>\n<table><tr><th>layer</th><th>networks</th><th>units per "
               "network</th><th>samples</th></tr>\n");
        for (int l = 0; l < nlayers; l++) {
            put(r, "<tr><td>");
            put_escaped(r, Ls[l].name);
            put(r, "</td><td>%d</td><td>", Ls[l].K);
            for (int k = 0; k < Ls[l].K && (k == 0 || Ls[l].S == 0); k++) /* "64" or "64, 72" */
                put(r, "%s%lld", k ? ", " : "", (long long)layer_width(&Ls[l], k));
            put(r, "</td><td>%lld</td></tr>\n", (long long)Ls[l].samples);
        }
        put(r, "</table>\n");
        section_table1(r);
        st = section_similarity(r, Ls, nlayers);
        if (st == CVG_OK) st = section_cross_layer(r);
        if (st == CVG_OK) st = section_means(r, Ls, nlayers);
    }
    for (int l = 0; l < nlayers && st == CVG_OK; l++) {
        layer_patches lp;
        if (Ls[l].K >= 2 && (st = load_pair(&Ls[l])) != CVG_OK) break;
        layer_patches_open(r, &Ls[l], l == 0, &lp);
        st = section_layer(r, &Ls[l]);
        if (st == CVG_OK) st = section_matched_patches(r, &Ls[l], &lp);
        if (st == CVG_OK) st = section_cluster(r, &Ls[l], &lp, l == 0);
        layer_patches_close(&lp);
        free(Ls[l].pair);
        Ls[l].pair = NULL;
    }
    if (st == CVG_OK && r->patches_missing) put(r, "<h2>Notes</h2>\n<p class=\"note\">%s</p>\n", NOT_DRAWN);
    if (st == CVG_OK) report_put_provenance(r, prov);
    if (st == CVG_OK) put(r, "</body></html>\n");
    for (int l = 0; l < loaded; l++) free(Ls[l].pair), free(Ls[l].mean), cvg_stats_matrix_free(Ls[l].corr);
    free(Ls);
    return st;
}

cvg_status cvg_report_write(const char *results_dir, const char *html_path)
{
    return cvg_report_write_as(results_dir, html_path, results_dir);
}

cvg_status cvg_report_write_as(const char *results_dir, const char *html_path, const char *shown_name)
{
    if (!results_dir || !html_path || !shown_name) return cvg__fail(CVG_ERR_ARG, "cvg_report_write: NULL argument");
    char **layers = NULL;
    int nlayers = 0;
    char *stats_dir = cvg__path_join(results_dir, "stats");
    if (!stats_dir) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    cvg_status st = cvg_stats_list_layers(stats_dir, &layers, &nlayers);
    free(stats_dir);
    if (st != CVG_OK) return st;

    report r = {.results = results_dir, .shown = shown_name};
    char html_dir[PATH_MAX], results_real[PATH_MAX], html_real[PATH_MAX];
    snprintf(html_dir, sizeof html_dir, "%s", html_path);
    char *slash = strrchr(html_dir, '/');
    if (slash) *slash = '\0';
    else snprintf(html_dir, sizeof html_dir, ".");
    r.fig_dir = cvg__path_join(html_dir, "figures");
    /* Links from the page to the data: relative when the page sits in the results directory. */
    if (realpath(results_dir, results_real) && realpath(html_dir, html_real))
        r.link_root = strdup(strcmp(results_real, html_real) == 0 ? "." : results_real);
    else
        r.link_root = strdup(results_dir);
    cvg__atomic_file af = {0};
    report_provenance prov = {0};
    if (!r.fig_dir || !r.link_root) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st == CVG_OK) st = report_provenance_check(&r, layers, nlayers, &prov);
    if (st == CVG_OK) st = cvg_mkdirs(r.fig_dir);
    if (st == CVG_OK) st = cvg__atomic_open(&af, html_path);
    if (st == CVG_OK) {
        r.html = af.fp;
        st = write_page(&r, layers, nlayers, &prov);
        if (st == CVG_OK) st = report_provenance_unchanged(&r, &prov);
        if (st == CVG_OK) st = cvg__atomic_commit(&af);
        else cvg__atomic_abort(&af);
    }
    cvg__log(CVG_LOG_INFO, "report: %d figures, %s", r.figures, html_path);
    report_provenance_free(&prov);
    free(r.fig_dir);
    free(r.link_root);
    patch_cache_free(r.patches);
    cvg_free(layers);
    return st;
}
