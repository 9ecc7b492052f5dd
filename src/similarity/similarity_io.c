/* The saved form of one pair's similarity measures (cvg_similarity_save / cvg_similarity_load):
 * one JSON object, the format of docs/similarity.md. Networks are numbered from 1 in the file
 * ("nets": [a, b]) as on the command line, from 0 in cvg_similarity_info. A measure that is
 * undefined is null in "measures" and has its reason in "undefined". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/internal.h"

static cJSON *double_array(const double *v, int64_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cvg__json_number(v[i]));
    return a;
}

static cJSON *pair(int64_t a, int64_t b)
{
    return double_array((const double[]){(double)a, (double)b}, 2);
}

/* The summary of one lasso direction: the path and its means; the per-unit r2 and nonzero
 * counts (path x q) are too large for JSON and belong in .npy files. */
static cJSON *lasso_summary(const cvg_lasso_result *r, int target_net, int predictor_net)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "target_net", target_net + 1);
    cJSON_AddNumberToObject(e, "predictor_net", predictor_net + 1);
    cJSON_AddNumberToObject(e, "live_targets", (double)r->live_q);
    cJSON_AddNumberToObject(e, "live_predictors", (double)r->live_p);
    cJSON_AddItemToObject(e, "lambda", double_array(r->lambda, r->path));
    cJSON_AddItemToObject(e, "mean_r2", double_array(r->mean_r2, r->path));
    cJSON_AddItemToObject(e, "mean_nonzero", double_array(r->mean_nnz, r->path));
    cJSON_AddNumberToObject(e, "not_converged", (double)r->not_converged);
    return e;
}

cvg_status cvg_similarity_save(const char *path, const cvg_similarity *s,
                               const cvg_similarity_info *info, const cvg_lasso_result *lasso)
{
    if (!path || !s || !info || s->ncca < 0 || (s->ncca > 0 && (!s->rho || !s->pwcca_weight)))
        return cvg__fail(CVG_ERR_ARG, "cvg_similarity_save: NULL or inconsistent argument");
    if (lasso && (lasso[0].path <= 0 || lasso[1].path <= 0))
        return cvg__fail(CVG_ERR_ARG, "cvg_similarity_save: an empty lasso path");
    for (int m = 0; m < CVG_SIM_MEASURES; m++)
        if (s->defined[m] && !isfinite(s->value[m]))
            return cvg__fail(CVG_ERR_NONFINITE, "%s: the measure %s is not finite", path,
                             cvg_measure_name((cvg_measure)m));
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "layer", info->layer);
    cJSON_AddStringToObject(j, "stats_fingerprint", info->stats_fingerprint);
    cJSON_AddItemToObject(j, "nets", cJSON_CreateIntArray((const int[]){info->net_a + 1, info->net_b + 1}, 2));
    cJSON_AddNumberToObject(j, "samples", (double)info->samples);
    if (info->conv_samples[0]) cJSON_AddStringToObject(j, "conv_samples", info->conv_samples);
    cJSON_AddItemToObject(j, "units", pair(s->units_a, s->units_b));
    cJSON_AddItemToObject(j, "live_units", pair(s->live_a, s->live_b));
    cJSON_AddItemToObject(j, "ridge", cvg__json_number(info->options.ridge));
    cJSON_AddItemToObject(j, "svcca_variance", cvg__json_number(info->options.svcca_variance));
    cJSON_AddItemToObject(j, "svcca_dims", pair(s->svcca_dims_a, s->svcca_dims_b));
    cJSON *measures = cJSON_AddObjectToObject(j, "measures");
    cJSON *why = cJSON_AddObjectToObject(j, "undefined");
    for (int m = 0; m < CVG_SIM_MEASURES; m++) {
        const char *name = cvg_measure_name((cvg_measure)m);
        if (s->defined[m]) {
            cJSON_AddItemToObject(measures, name, cvg__json_number(s->value[m]));
        } else {
            cJSON_AddNullToObject(measures, name);
            cJSON_AddStringToObject(why, name, s->why[m]);
        }
    }
    cJSON_AddItemToObject(j, "canonical_correlations", double_array(s->rho, s->ncca));
    cJSON_AddItemToObject(j, "pwcca_weights", double_array(s->pwcca_weight, s->ncca));
    if (lasso) {
        cJSON *list = cJSON_AddArrayToObject(j, "lasso");
        cJSON_AddItemToArray(list, lasso_summary(&lasso[0], info->net_b, info->net_a));
        cJSON_AddItemToArray(list, lasso_summary(&lasso[1], info->net_a, info->net_b));
    }
    return cvg__json_write(path, j, "the similarity measures");
}

/* A non-negative integer no larger than max, or -1. */
static int64_t count_item(const cJSON *item, double max)
{
    if (!cJSON_IsNumber(item)) return -1;
    const double v = item->valuedouble;
    return v >= 0 && v <= max && v == floor(v) ? (int64_t)v : -1;
}

/* Two counts of key into a and b; 0 if missing or out of range. */
static int get_pair(const cJSON *o, const char *key, int64_t *a, int64_t *b)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 2) return 0;
    *a = count_item(cJSON_GetArrayItem(arr, 0), 1e12);
    *b = count_item(cJSON_GetArrayItem(arr, 1), 1e12);
    return *a >= 0 && *b >= 0;
}

/* n finite numbers of key into a new array; 0 if missing, of another length or not finite. */
static int get_doubles(const cJSON *o, const char *key, int64_t n, double **out)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != n) return 0;
    if (n == 0) return 1;
    double *v = malloc((size_t)n * sizeof *v);
    if (!v) return 0;
    int64_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr) {
        if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
            free(v);
            return 0;
        }
        v[i++] = item->valuedouble;
    }
    *out = v;
    return 1;
}

/* The measures and their reasons; NULL if well formed, else what is wrong. */
static const char *get_measures(const cJSON *j, cvg_similarity *s)
{
    const cJSON *measures = cJSON_GetObjectItemCaseSensitive(j, "measures");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "undefined");
    if (!cJSON_IsObject(measures)) return "\"measures\" is not an object";
    for (int m = 0; m < CVG_SIM_MEASURES; m++) {
        const char *name = cvg_measure_name((cvg_measure)m);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(measures, name);
        if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
            s->defined[m] = 1;
            s->value[m] = v->valuedouble;
        } else if (cJSON_IsNull(v)) {
            const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(why, name));
            if (!reason) return "an undefined measure has no reason in \"undefined\"";
            snprintf(s->why[m], sizeof s->why[m], "%s", reason);
        } else {
            return "a measure is missing or neither a finite number nor null";
        }
    }
    return NULL;
}

cvg_status cvg_similarity_load(const char *path, cvg_similarity *out, cvg_similarity_info *info)
{
    if (!path || !out) return cvg__fail(CVG_ERR_ARG, "cvg_similarity_load: NULL argument");
    memset(out, 0, sizeof *out);
    cJSON *j;
    cvg_status st = cvg__json_read(path, &j);
    if (st != CVG_OK) return st;
    const char *what = NULL;
    const char *layer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "layer"));
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(j, "nets");
    int64_t net_a = -1, net_b = -1;
    if (cJSON_IsArray(nets) && cJSON_GetArraySize(nets) == 2) {
        net_a = count_item(cJSON_GetArrayItem(nets, 0), 1e6);
        net_b = count_item(cJSON_GetArrayItem(nets, 1), 1e6);
    }
    double samples = 0, ridge = 0, variance = 0;
    if (!cJSON_IsObject(j)) what = "not a JSON object";
    else if (!layer || strlen(layer) >= CVG_NAME_MAX) what = "\"layer\" is missing or too long";
    else if (net_a < 1 || net_b < 1) what = "\"nets\" is not a pair of network numbers from 1";
    else if (!cvg__json_finite(j, "samples", &samples) || samples < 0 || samples != floor(samples))
        what = "\"samples\" is not a count";
    else if (!cvg__json_finite(j, "ridge", &ridge) || !cvg__json_finite(j, "svcca_variance", &variance))
        what = "\"ridge\" or \"svcca_variance\" is missing";
    else if (!get_pair(j, "units", &out->units_a, &out->units_b) ||
             !get_pair(j, "live_units", &out->live_a, &out->live_b) ||
             !get_pair(j, "svcca_dims", &out->svcca_dims_a, &out->svcca_dims_b))
        what = "\"units\", \"live_units\" or \"svcca_dims\" is not a pair of counts";
    else if (out->live_a > out->units_a || out->live_b > out->units_b)
        what = "more live units than units";
    else
        what = get_measures(j, out);
    if (!what) {
        const cJSON *rho = cJSON_GetObjectItemCaseSensitive(j, "canonical_correlations");
        out->ncca = cJSON_IsArray(rho) ? cJSON_GetArraySize(rho) : -1;
        if (out->ncca < 0 || out->ncca > (out->live_a < out->live_b ? out->live_a : out->live_b))
            what = "\"canonical_correlations\" is missing or longer than min(live units)";
        else if (!get_doubles(j, "canonical_correlations", out->ncca, &out->rho) ||
                 !get_doubles(j, "pwcca_weights", out->ncca, &out->pwcca_weight))
            what = "\"canonical_correlations\" or \"pwcca_weights\" is not one finite number "
                   "per canonical pair";
    }
    if (!what && info) {
        memset(info, 0, sizeof *info);
        strcpy(info->layer, layer);
        info->net_a = (int)net_a - 1;
        info->net_b = (int)net_b - 1;
        info->samples = (int64_t)samples;
        info->options.ridge = ridge;
        info->options.svcca_variance = variance;
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "stats_fingerprint"));
        if (fp && strlen(fp) < sizeof info->stats_fingerprint) strcpy(info->stats_fingerprint, fp);
        const char *conv = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "conv_samples"));
        if (conv && strlen(conv) < sizeof info->conv_samples) strcpy(info->conv_samples, conv);
    }
    cJSON_Delete(j);
    if (what) {
        cvg_similarity_free(out);
        return cvg__fail(CVG_ERR_FORMAT, "%s: %s", path, what);
    }
    return CVG_OK;
}
