/* Table 1 of the report (report/table1.h). Each cell is the headline pair (nets 1-2, the
 * paper's Net1 vs Net2) and, after a bar, the mean [min-max] over all pairs of networks, as
 * `convergent match` prints it; the MI-based table sits beside the correlation one. The
 * paper's numbers are never put beside a layer of the same name: the networks, the data and
 * the layer widths differ, so only this run's numbers are compared with each other. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/table1.h"

/* The paper's Table 1: two AlexNet-like networks trained on ImageNet (Li et al., section 3.1). */
static const struct {
    const char *layer;
    double semi, match, overlap;
} PAPER_TABLE1[] = {{"conv1", 0.703, 0.663, 0.729}, {"conv2", 0.577, 0.527, 0.586},
                    {"conv3", 0.483, 0.445, 0.612}, {"conv4", 0.374, 0.348, 0.547},
                    {"conv5", 0.577, 0.527, 0.684}};

static const char *const COLUMNS[3] = {"semi_matching", "matching", "overlap_ratio"};

/* The row of table t for layer, or NULL. */
static const cJSON *find_row(const cJSON *t, const char *layer)
{
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(t, "layers")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "layer"));
        if (name && strcmp(name, layer) == 0) return row;
    }
    return NULL;
}

/* One cell: "headline | mean [min-max]" (files before the headline: the mean [min-max]). */
static void put_cell(report *r, const cJSON *row, int column)
{
    const cJSON *cell = cJSON_GetObjectItemCaseSensitive(row, COLUMNS[column]);
    if (!cell) {
        put(r, "<td>&ndash;</td>");
        return;
    }
    const double f = column == 2 ? 100.0 : 1.0;
    const char *pct = column == 2 ? "%" : "";
    const int pairs = (int)json_number(row, "pairs", 1);
    const double head = json_number(cell, "headline", NAN), mean = json_number(cell, "mean", NAN);
    put(r, "<td>");
    if (!isnan(head)) put(r, column == 2 ? "%.1f%s" : "%.3f%s", f * head, pct);
    if (pairs > 1 || isnan(head))
        put(r, column == 2 ? " <small>%s%.1f%s [%.1f&ndash;%.1f]</small>" : " <small>%s%.3f%s [%.3f&ndash;%.3f]</small>",
            isnan(head) ? "" : "| ", f * mean, pct, f * json_number(cell, "min", NAN), f * json_number(cell, "max", NAN));
    put(r, "</td>");
}

/* "1,0,3": dead units per network, or a dash for files written before they were counted. */
static void put_dead(report *r, const cJSON *row)
{
    const cJSON *dead = cJSON_GetObjectItemCaseSensitive(row, "dead_units"), *d;
    if (!cJSON_IsArray(dead)) {
        put(r, "<td>&ndash;</td>");
        return;
    }
    put(r, "<td>");
    int first = 1;
    cJSON_ArrayForEach(d, dead) {
        put(r, first ? "%d" : ",%d", d->valueint);
        first = 0;
    }
    put(r, "</td>");
}

/* This run's layers with the highest and lowest matching value of the headline pair. */
static void put_run_statement(report *r, const cJSON *t)
{
    const char *best = NULL, *worst = NULL;
    double hi = -INFINITY, lo = INFINITY;
    int layers = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(t, "layers")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "layer"));
        const cJSON *cell = cJSON_GetObjectItemCaseSensitive(row, "matching");
        double v = json_number(cell, "headline", json_number(cell, "mean", NAN));
        if (!name || isnan(v)) continue;
        layers++;
        if (v > hi) hi = v, best = name;
        if (v < lo) lo = v, worst = name;
    }
    if (layers < 2) return;
    put(r, "<p>In this run, matched units of nets 1 and 2 are most alike in ");
    put_escaped(r, best);
    put(r, " (mean matching correlation %.3f) and least alike in ", hi);
    put_escaped(r, worst);
    put(r, " (%.3f).</p>\n", lo);
}

static void put_paper_table(report *r)
{
    put(r, "<h3>For orientation: the paper's Table 1 (AlexNet on ImageNet)</h3>\n<p>Li et al. "
           "aligned two AlexNet-like networks trained on ImageNet (96 units in conv1, 256&ndash;384 "
           "in conv2&ndash;conv5). Their numbers describe those networks, not the ones above: "
           "other data, other widths, other training, so a layer here is not compared with the "
           "paper's layer of the same name. By mutual information they found 7 of the 8 best "
           "semi-matched conv1 pairs the same as by correlation (section 3.2).</p>\n"
           "<table><tr><th>AlexNet layer</th><th>semi-matching</th><th>matching</th>"
           "<th>overlap</th></tr>\n");
    for (size_t p = 0; p < sizeof PAPER_TABLE1 / sizeof *PAPER_TABLE1; p++)
        put(r, "<tr><td>%s</td><td>%.3f</td><td>%.3f</td><td>%.1f%%</td></tr>\n", PAPER_TABLE1[p].layer,
            PAPER_TABLE1[p].semi, PAPER_TABLE1[p].match, 100 * PAPER_TABLE1[p].overlap);
    put(r, "</table>\n");
}

void section_table1(report *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/match/table1.json", r->results);
    cJSON *t = read_json(path);
    snprintf(path, sizeof path, "%s/match_mi/table1.json", r->results);
    cJSON *mi = read_json(path);
    put(r, "<h2>Table 1: one-to-one alignment of these networks</h2>\n");
    if (!t) {
        put(r, "<p class=\"note\">No matching results (<code>match/table1.json</code>): run "
               "<code>convergent match</code>.</p>\n");
        put_paper_table(r);
        cJSON_Delete(mi);
        return;
    }
    const cJSON *dead_flag = cJSON_GetObjectItemCaseSensitive(t, "dead_units_excluded");
    put(r, "<p>As the paper's Table 1: the mean similarity of units paired by semi-matching (each "
           "unit of one network takes its most similar unit of the other) and by matching (the "
           "best one-to-one assignment), and the fraction of units where the two agree. Each "
           "cell: networks 1 and 2 (the paper's Net1 vs Net2), then after the bar the mean over "
           "all pairs of networks [min&ndash;max]. Left: by correlation; right: by mutual "
           "information (nats)%s. %s</p>\n",
        mi ? "" : ", not computed (<code>convergent match --metric mi</code>)",
        !cJSON_IsBool(dead_flag) ? "" :
        cJSON_IsTrue(dead_flag) ? "Dead units (zero variance) are left out of the means; the last "
                                  "column counts them per network."
                                : "Dead units (zero variance) are included, with similarity 0 to "
                                  "every unit (<code>--include-dead</code>).");
    put(r, "<table><tr><th rowspan=\"2\">layer</th><th colspan=\"3\">by correlation</th>"
           "<th colspan=\"3\">by mutual information</th><th rowspan=\"2\">dead units per "
           "network</th></tr>\n<tr><th>semi-matching</th><th>matching</th><th>overlap</th>"
           "<th>semi-matching</th><th>matching</th><th>overlap</th></tr>\n");
    const cJSON *row;
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(t, "layers")) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "layer"));
        if (!name) continue;
        const cJSON *mrow = mi ? find_row(mi, name) : NULL;
        put(r, "<tr><td>");
        put_escaped(r, name);
        put(r, "</td>");
        for (int c = 0; c < 3; c++) put_cell(r, row, c);
        for (int c = 0; c < 3; c++) {
            if (mrow) put_cell(r, mrow, c);
            else put(r, "<td>&ndash;</td>");
        }
        put_dead(r, row);
        put(r, "</tr>\n");
    }
    put(r, "</table>\n<p>Data: ");
    put_link(r, "match/table1.json", "table1.json");
    if (mi) {
        put(r, ", ");
        put_link(r, "match_mi/table1.json", "match_mi/table1.json");
    }
    put(r, "</p>\n");
    put_run_statement(r, t);
    put_paper_table(r);
    cJSON_Delete(t);
    cJSON_Delete(mi);
}
