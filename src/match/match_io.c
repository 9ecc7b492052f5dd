/* The saved form of a one-to-one alignment (cvg_match_save / cvg_match_load): one JSON object,
 * the format of docs/matching.md. Indices are 0-based units; networks are numbered from 1 in the
 * file ("nets": [a, b]) as on the command line, from 0 in cvg_match_info. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/internal.h"

static cJSON *int_array(const int64_t *v, int64_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}

/* Values of left-out units (semi == -1: dead units, NAN) are written as null. */
static cJSON *double_array(const double *v, const int64_t *semi, int64_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, semi[i] < 0 ? cJSON_CreateNull() : cvg__json_number(v[i]));
    return a;
}

static int all_finite(const double *v, const int64_t *semi, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (semi[i] >= 0 && !isfinite(v[i])) return 0;
    return 1;
}

/* A mean, or null when every unit was left out (NAN). */
static cJSON *mean_json(double v)
{
    return isnan(v) ? cJSON_CreateNull() : cvg__json_number(v);
}

cvg_status cvg_match_save(const char *path, const cvg_match_result *r, const cvg_match_info *info)
{
    if (!path || !r || !info || r->rows <= 0 || r->cols <= 0 || !r->semi || !r->match)
        return cvg__fail(CVG_ERR_ARG, "cvg_match_save: NULL or empty argument");
    const int none_kept = r->excluded_rows >= r->rows || r->excluded_cols >= r->cols;
    if (!all_finite(r->semi_value, r->semi, r->rows) || !all_finite(r->match_value, r->semi, r->rows) ||
        (!none_kept && (!isfinite(r->semi_mean) || !isfinite(r->match_mean) || !isfinite(r->overlap))))
        return cvg__fail(CVG_ERR_NONFINITE, "%s: the matching holds a NaN or infinite value", path);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "layer", info->layer);
    cJSON_AddStringToObject(j, "metric", info->metric);
    cJSON_AddItemToObject(j, "nets", cJSON_CreateIntArray((const int[]){info->net_a + 1, info->net_b + 1}, 2));
    if (info->stats_fingerprint[0]) cJSON_AddStringToObject(j, "stats_fingerprint", info->stats_fingerprint);
    cJSON_AddNumberToObject(j, "units", (double)r->rows);
    cJSON_AddNumberToObject(j, "units_b", (double)r->cols);
    cJSON_AddItemToObject(j, "excluded_units", int_array((const int64_t[]){r->excluded_rows, r->excluded_cols}, 2));
    cJSON_AddItemToObject(j, "semi_matching_mean", mean_json(r->semi_mean));
    cJSON_AddItemToObject(j, "matching_mean", mean_json(r->match_mean));
    cJSON_AddItemToObject(j, "overlap_ratio", mean_json(r->overlap));
    cJSON_AddItemToObject(j, "semi_matching_unit", int_array(r->semi, r->rows));
    cJSON_AddItemToObject(j, "semi_matching_value", double_array(r->semi_value, r->semi, r->rows));
    cJSON_AddItemToObject(j, "matching_unit", int_array(r->match, r->rows));
    /* null for a unit without a match: left out (dead), or beyond min(rows, cols) when the
     * networks' widths differ (unmatched, value 0 in memory) */
    cJSON_AddItemToObject(j, "matching_value", double_array(r->match_value, r->match, r->rows));
    return cvg__json_write(path, j, "the matching");
}

/* A mean: a finite number, or null (NAN) where allowed. */
static int get_mean(const cJSON *o, const char *key, int null_ok, double *v)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);
    if (null_ok && cJSON_IsNull(item)) {
        *v = NAN;
        return 1;
    }
    return cvg__json_finite(o, key, v);
}

/* n numbers of key into v (as doubles); 0 if the array is missing, short, long or not numeric.
 * With nulls (may be NULL): entry i must be null (read as NAN) exactly where nulls[i] < 0. */
static int get_doubles(const cJSON *o, const char *key, int64_t n, const int64_t *nulls, double *v)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) return 0;
    int64_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, a) {
        if (nulls && nulls[i] < 0) {
            if (!cJSON_IsNull(item)) return 0;
            v[i++] = NAN;
            continue;
        }
        if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) return 0;
        v[i++] = item->valuedouble;
    }
    return 1;
}

/* Unit indices in [lowest, cols): 0 if any is out of range or not an integer. */
static int get_units(const cJSON *o, const char *key, int64_t n, int64_t lowest, int64_t cols,
                     double *scratch, int64_t *v)
{
    if (!get_doubles(o, key, n, NULL, scratch)) return 0;
    for (int64_t i = 0; i < n; i++) {
        if (scratch[i] != floor(scratch[i]) || scratch[i] < (double)lowest || scratch[i] >= (double)cols)
            return 0;
        v[i] = (int64_t)scratch[i];
    }
    return 1;
}

cvg_status cvg_match_load(const char *path, cvg_match_result *out, cvg_match_info *info)
{
    if (!path || !out) return cvg__fail(CVG_ERR_ARG, "cvg_match_load: NULL argument");
    memset(out, 0, sizeof *out);
    cJSON *j;
    cvg_status st = cvg__json_read(path, &j);
    if (st != CVG_OK) return st;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return cvg__fail(CVG_ERR_FORMAT, "%s: not a JSON object", path);
    }
    const char *what = NULL;
    double rows, cols, *scratch = NULL;
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(j, "nets");
    const char *layer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "layer"));
    const char *metric = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "metric"));
    if (!cvg__json_finite(j, "units", &rows) || rows < 1 || rows != floor(rows) || rows > 1e9)
        what = "\"units\" is not a positive integer";
    else if (!cJSON_GetObjectItemCaseSensitive(j, "units_b")) cols = rows; /* files before units_b */
    else if (!cvg__json_finite(j, "units_b", &cols) || cols < 1 || cols != floor(cols) || cols > 1e9)
        what = "\"units_b\" is not a positive integer";
    if (!what && (!layer || !metric)) what = "\"layer\" or \"metric\" is missing";
    if (!what && (!cJSON_IsArray(nets) || cJSON_GetArraySize(nets) != 2 ||
                  !cJSON_IsNumber(cJSON_GetArrayItem(nets, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(nets, 1))))
        what = "\"nets\" is not a pair of network numbers";
    if (!what) {
        out->rows = (int64_t)rows;
        out->cols = (int64_t)cols;
        out->semi = malloc((size_t)out->rows * sizeof *out->semi);
        out->semi_value = malloc((size_t)out->rows * sizeof *out->semi_value);
        out->match = malloc((size_t)out->rows * sizeof *out->match);
        out->match_value = malloc((size_t)out->rows * sizeof *out->match_value);
        scratch = malloc((size_t)out->rows * sizeof *scratch);
        if (!out->semi || !out->semi_value || !out->match || !out->match_value || !scratch) {
            free(scratch);
            cvg_match_result_free(out);
            cJSON_Delete(j);
            return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", path);
        }
    }
    /* left-out (dead) units: semi-matching -1, values null; files before them have none */
    double excluded[2] = {0, 0};
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "excluded_units");
    if (!what && ex && (!get_doubles(j, "excluded_units", 2, NULL, excluded) || excluded[0] < 0 ||
                        excluded[1] < 0 || excluded[0] > rows || excluded[1] > cols ||
                        excluded[0] != floor(excluded[0]) || excluded[1] != floor(excluded[1])))
        what = "\"excluded_units\" is not two counts of units";
    if (!what) out->excluded_rows = (int64_t)excluded[0], out->excluded_cols = (int64_t)excluded[1];
    if (!what && !get_units(j, "semi_matching_unit", out->rows, ex ? -1 : 0, out->cols, scratch, out->semi))
        what = "\"semi_matching_unit\" is not one unit of the second network per unit of the first";
    int64_t left_out = 0;
    for (int64_t i = 0; !what && i < out->rows; i++) left_out += out->semi[i] < 0;
    if (!what && out->excluded_cols < out->cols && left_out != out->excluded_rows)
        what = "\"semi_matching_unit\" has -1 (a left-out unit) for other units than \"excluded_units\" counts";
    if (!what && !get_units(j, "matching_unit", out->rows, -1, out->cols, scratch, out->match))
        what = "\"matching_unit\" is not one unit (or -1) per unit of the first network";
    for (int64_t i = 0; !what && i < out->rows; i++)
        if (out->semi[i] < 0 && out->match[i] >= 0)
            what = "\"matching_unit\" matches a left-out unit";
    if (!what && (!get_doubles(j, "semi_matching_value", out->rows, out->semi, out->semi_value) ||
                  !get_doubles(j, "matching_value", out->rows, out->match, out->match_value)))
        what = "\"semi_matching_value\" or \"matching_value\" is not one finite number per unit "
               "(null for left-out units)";
    for (int64_t i = 0; !what && i < out->rows; i++)
        if (out->semi[i] >= 0 && out->match[i] < 0) out->match_value[i] = 0.0; /* unmatched: as cvg_match */
    const int none_kept = out->excluded_rows >= out->rows || out->excluded_cols >= out->cols;
    if (!what && (!get_mean(j, "semi_matching_mean", none_kept, &out->semi_mean) ||
                  !get_mean(j, "matching_mean", none_kept, &out->match_mean) ||
                  !get_mean(j, "overlap_ratio", none_kept, &out->overlap)))
        what = "a mean or the overlap ratio is missing or not finite";
    if (!what && info) {
        memset(info, 0, sizeof *info);
        if (strlen(layer) >= sizeof info->layer || strlen(metric) >= sizeof info->metric)
            what = "\"layer\" or \"metric\" is too long";
        else {
            strcpy(info->layer, layer);
            strcpy(info->metric, metric);
            info->net_a = cJSON_GetArrayItem(nets, 0)->valueint - 1;
            info->net_b = cJSON_GetArrayItem(nets, 1)->valueint - 1;
            const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "stats_fingerprint"));
            if (fp && strlen(fp) < sizeof info->stats_fingerprint) strcpy(info->stats_fingerprint, fp);
        }
    }
    free(scratch);
    cJSON_Delete(j);
    if (what) {
        cvg_match_result_free(out);
        return cvg__fail(CVG_ERR_FORMAT, "%s: not a saved matching: %s", path, what);
    }
    return CVG_OK;
}
