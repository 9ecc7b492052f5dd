/* The report's provenance check (docs/reliability.md): before a line of the page is written,
 * every result the sections will show (match/table1.json, match/<layer>/match_1_2.json,
 * stats/<layer>/mi.json, cluster/<layer>/cluster_1_2.json, similarity/similarity.json) is read
 * and compared with the fingerprint of the statistics it was computed from. A missing result
 * is left out of the page with a note, as before (but match/ without table1.json,
 * similarity/ without similarity.json or mi.npy without mi.json is an incomplete result); one
 * that is broken or stale stops the report with an error naming the file and the command that
 * refreshes it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report/provenance.h"

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The layer's fingerprint, or NULL when the layer is not one of the report's. */
static const char *layer_fingerprint(const report_provenance *p, const char *layer)
{
    for (int l = 0; l < p->nlayers; l++)
        if (strcmp(p->layers[l], layer) == 0) return p->fingerprint[l];
    return NULL;
}

static cvg_status stale(const report *r, const char *rel, const char *layer, const char *recorded,
                        const char *current, const char *refresh)
{
    return cvg__fail(CVG_ERR_STALE, "%s/%s is stale: it was computed from the statistics of layer %s with "
                     "fingerprint %s, but %s/stats/%s/meta.json now has %s; refresh it with '%s'",
                     r->results, rel, layer, recorded && *recorded ? recorded : "(none recorded)", r->results,
                     layer, current, refresh);
}

/* recorded (may be NULL) against the layer's current fingerprint ("" : not recorded, older
 * statistics: nothing to compare with). */
static cvg_status check(const report *r, const report_provenance *p, const char *rel, const char *layer,
                        const char *recorded, const char *refresh)
{
    const char *current = layer_fingerprint(p, layer);
    if (!current || !*current || (recorded && strcmp(recorded, current) == 0)) return CVG_OK;
    return stale(r, rel, layer, recorded, current, refresh);
}

/* A JSON result: *out NULL when the file is missing; an error when it is there but not JSON. */
static cvg_status read_result(const report *r, const char *rel, cJSON **out)
{
    *out = NULL;
    char *path = cvg__path_join(r->results, rel);
    if (!path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    cvg_status st = CVG_OK;
    if (exists(path)) {
        st = cvg__json_read(path, out);
        if (st == CVG_OK && !*out) st = cvg__fail(CVG_ERR_FORMAT, "%s: not JSON (a broken result file)", path);
    }
    free(path);
    return st;
}

/* rel is missing though its companion (a directory, or a file written with it) is there: an
 * incomplete result, which no convergent command leaves (docs/reliability.md). */
static cvg_status require_with(const report *r, const char *rel, const char *companion, const char *refresh)
{
    char *path = cvg__path_join(r->results, rel), *with = cvg__path_join(r->results, companion);
    cvg_status st = CVG_OK;
    if (!path || !with) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
    else if (!exists(path) && exists(with))
        st = cvg__fail(CVG_ERR_FORMAT, "%s is missing though %s is there (an incomplete result); refresh it "
                       "with '%s'", path, with, refresh);
    free(path);
    free(with);
    return st;
}

/* A JSON list of rows {"layer": L, "stats_fingerprint": F, ...} under key; the file is
 * required when the directory holding it exists. */
static cvg_status check_rows(const report *r, const report_provenance *p, const char *rel, const char *key,
                             const char *refresh)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", rel);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    cJSON *j;
    cvg_status st = require_with(r, rel, dir, refresh);
    if (st == CVG_OK) st = read_result(r, rel, &j);
    if (st != CVG_OK || !j) return st;
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, key), *row;
    if (!cJSON_IsArray(rows)) st = cvg__fail(CVG_ERR_FORMAT, "%s/%s: no \"%s\" list", r->results, rel, key);
    cJSON_ArrayForEach(row, rows) {
        const char *layer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "layer"));
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(row, "stats_fingerprint"));
        if (st == CVG_OK && layer) st = check(r, p, rel, layer, fp, refresh);
    }
    cJSON_Delete(j);
    return st;
}

static cvg_status check_layer(const report *r, const report_provenance *p, const char *layer)
{
    char rel[4200], refresh[4600];
    cvg_status st = CVG_OK;
    /* match/<layer>/match_1_2.json */
    snprintf(rel, sizeof rel, "match/%s/match_1_2.json", layer);
    char *path = cvg__path_join(r->results, rel);
    if (!path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (exists(path)) {
        cvg_match_result m = {0};
        cvg_match_info info;
        st = cvg_match_load(path, &m, &info);
        snprintf(refresh, sizeof refresh, "convergent match %s/stats -o %s/match", r->results, r->results);
        if (st == CVG_OK) st = check(r, p, rel, layer, info.stats_fingerprint, refresh);
        cvg_match_result_free(&m);
    }
    free(path);
    /* cluster/<layer>/cluster_1_2.json */
    snprintf(rel, sizeof rel, "cluster/%s/cluster_1_2.json", layer);
    path = cvg__path_join(r->results, rel);
    if (!path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st == CVG_OK && exists(path)) {
        cvg_clustering *c = NULL;
        cvg_cluster_info info;
        st = cvg_clustering_load(path, &c, &info);
        snprintf(refresh, sizeof refresh, "convergent cluster %s/stats -o %s/cluster --pair 1,2", r->results,
                 r->results);
        if (st == CVG_OK) st = check(r, p, rel, layer, info.stats_fingerprint, refresh);
        cvg_clustering_free(c);
    }
    free(path);
    /* stats/<layer>/mi.json (required beside mi.npy) */
    snprintf(rel, sizeof rel, "stats/%s/mi.json", layer);
    snprintf(refresh, sizeof refresh, "convergent mi %s/stats --layer %s", r->results, layer);
    char npy[4200];
    snprintf(npy, sizeof npy, "stats/%s/mi.npy", layer);
    cJSON *mi = NULL;
    if (st == CVG_OK) st = require_with(r, rel, npy, refresh);
    if (st == CVG_OK) st = read_result(r, rel, &mi);
    if (st == CVG_OK && mi) {
        st = check(r, p, rel, layer,
                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(mi, "stats_fingerprint")), refresh);
    }
    cJSON_Delete(mi);
    return st;
}

cvg_status report_provenance_check(const report *r, char **layers, int nlayers, report_provenance *p)
{
    memset(p, 0, sizeof *p);
    p->layers = layers;
    p->nlayers = nlayers;
    p->fingerprint = calloc((size_t)(nlayers ? nlayers : 1), sizeof *p->fingerprint);
    if (!p->fingerprint) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    cvg_status st = CVG_OK;
    for (int l = 0; l < nlayers && st == CVG_OK; l++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/stats/%s", r->results, layers[l]);
        st = cvg_stats_fingerprint(dir, p->fingerprint[l]);
    }
    char refresh[4600];
    snprintf(refresh, sizeof refresh, "convergent match %s/stats -o %s/match", r->results, r->results);
    if (st == CVG_OK) st = check_rows(r, p, "match/table1.json", "layers", refresh);
    snprintf(refresh, sizeof refresh, "convergent similarity %s/stats -o %s/similarity", r->results, r->results);
    if (st == CVG_OK) st = check_rows(r, p, "similarity/similarity.json", "results", refresh);
    for (int l = 0; l < nlayers && st == CVG_OK; l++) st = check_layer(r, p, layers[l]);
    if (st != CVG_OK) cvg__error_context("report");
    return st;
}

void report_put_provenance(report *r, const report_provenance *p)
{
    put(r, "<h2>Provenance</h2>\n<p>Every result on this page was computed from the statistics with "
           "these fingerprints (<code>meta.json</code>), and checked against them when the page was "
           "written:</p>\n<table><tr><th>layer</th><th>statistics fingerprint</th></tr>\n");
    for (int l = 0; l < p->nlayers; l++) {
        put(r, "<tr><td>");
        put_escaped(r, p->layers[l]);
        put(r, "</td><td><code>%s</code></td></tr>\n", p->fingerprint[l][0] ? p->fingerprint[l] : "not recorded");
    }
    put(r, "</table>\n");
}

void report_provenance_free(report_provenance *p)
{
    free(p->fingerprint);
    p->fingerprint = NULL;
}

cvg_status report_provenance_unchanged(const report *r, const report_provenance *p)
{
    for (int l = 0; l < p->nlayers; l++) {
        char dir[4200], now[CVG_FINGERPRINT_SIZE];
        snprintf(dir, sizeof dir, "%s/stats/%s", r->results, p->layers[l]);
        cvg_status st = cvg_stats_fingerprint(dir, now);
        if (st != CVG_OK) return st;
        if (strcmp(now, p->fingerprint[l]) != 0)
            return cvg__fail(CVG_ERR_STALE, "%s: the statistics were rewritten while the report was written; "
                             "run the report again", dir);
    }
    return CVG_OK;
}
