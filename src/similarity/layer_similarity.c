/* Layer-by-layer similarity of two networks from cross-layer statistics: every measure between
 * every layer of net a and every layer of net b (cvg_layer_similarity), its saved form
 * cross_<i>_<j>.json and its heatmap. Shapes: CVG_SIM_MEASURES x L x L, measure-major, rows the
 * layers of net a. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/internal.h"

static cvg_status alloc_result(int L, cvg_layer_similarity *out)
{
    const size_t cells = (size_t)CVG_SIM_MEASURES * (size_t)L * (size_t)L;
    out->layers = L;
    out->layer = calloc((size_t)L, sizeof *out->layer);
    out->value = calloc(cells, sizeof *out->value);
    out->defined = calloc(cells, 1);
    out->why = calloc(cells, sizeof *out->why);
    if (!out->layer || !out->value || !out->defined || !out->why) {
        cvg_layer_similarity_free(out);
        return cvg__fail(CVG_ERR_NOMEM, "out of memory for %d x %d layer pairs", L, L);
    }
    return CVG_OK;
}

void cvg_layer_similarity_free(cvg_layer_similarity *s)
{
    if (!s) return;
    free(s->layer), free(s->value), free(s->defined), free(s->why);
    s->layer = NULL, s->value = NULL, s->defined = NULL, s->why = NULL;
}

cvg_status cvg_layer_similarity_compute(const cvg_blocks *b, int net_a, int net_b,
                                        const cvg_similarity_options *opt, cvg_layer_similarity *out)
{
    if (!b || !out) return cvg__fail(CVG_ERR_ARG, "cvg_layer_similarity_compute: NULL argument");
    memset(out, 0, sizeof *out);
    if (!b->cross || net_a < 0 || net_b < 0 || net_a >= b->nets || net_b >= b->nets)
        return cvg__fail(CVG_ERR_ARG, "cvg_layer_similarity_compute: needs cross-layer blocks and "
                         "two of their %d networks (got %d, %d)", b->nets, net_a + 1, net_b + 1);
    const int L = b->layers;
    cvg_status st = alloc_result(L, out);
    if (st != CVG_OK) return st;
    out->net_a = net_a, out->net_b = net_b, out->samples = b->samples;
    cvg_similarity_options_init(&out->options);
    if (opt) out->options = *opt;
    for (int l = 0; l < L; l++) snprintf(out->layer[l], sizeof out->layer[l], "%s", b->layer[l]);
    for (int la = 0; la < L && st == CVG_OK; la++)
        for (int lb = 0; lb < L && st == CVG_OK; lb++) {
            cvg_similarity s;
            st = cvg_blocks_similarity(b, net_a * L + la, net_b * L + lb, &out->options, &s);
            for (int m = 0; m < CVG_SIM_MEASURES && st == CVG_OK; m++) {
                const size_t at = ((size_t)m * L + la) * L + lb;
                out->value[at] = s.value[m];
                out->defined[at] = (unsigned char)s.defined[m];
                if (!s.defined[m]) memcpy(out->why[at], s.why[m], sizeof out->why[at]);
            }
            if (st == CVG_OK) cvg_similarity_free(&s);
        }
    if (st != CVG_OK) cvg_layer_similarity_free(out);
    return st;
}

static const char *const PRETTY[CVG_SIM_MEASURES] = {
    "linear CKA", "debiased linear CKA", "mean canonical correlation",
    "mean squared canonical correlation", "SVCCA", "PWCCA", "Procrustes distance",
    "Gaussian mutual information (nats)"};

/* The colour scale of a measure: its natural range where it has one ([0, 1] for CKA and the
 * CCA family), [0, max] for the unbounded ones. */
static void colour_range(cvg_measure m, const double *v, const unsigned char *ok, int n,
                         double *lo, double *hi)
{
    double mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (ok[i]) mn = fmin(mn, v[i]), mx = fmax(mx, v[i]);
    if (!(mx >= mn)) mn = 0, mx = 1;
    switch (m) {
    case CVG_SIM_PROCRUSTES:
    case CVG_SIM_GAUSSIAN_MI: *lo = 0, *hi = fmax(mx, 1e-9); break;
    case CVG_SIM_CKA_DEBIASED: *lo = fmin(0, mn), *hi = 1; break;
    default: *lo = 0, *hi = 1;
    }
}

cvg_status cvg_layer_similarity_heatmap(const char *png, const cvg_layer_similarity *s, cvg_measure m)
{
    if (!png || !s || !s->layer || (int)m < 0 || m >= CVG_SIM_MEASURES)
        return cvg__fail(CVG_ERR_ARG, "cvg_layer_similarity_heatmap: NULL argument or no such measure");
    const int L = s->layers;
    const double *v = s->value + (size_t)m * L * L;
    const unsigned char *ok = s->defined + (size_t)m * L * L;
    const char **names = malloc((size_t)L * sizeof *names);
    if (!names) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    for (int l = 0; l < L; l++) names[l] = s->layer[l];
    char title[256], row_title[64], col_title[64];
    snprintf(title, sizeof title, "%s, net %d vs net %d (%lld inputs)", PRETTY[m], s->net_a + 1,
             s->net_b + 1, (long long)s->samples);
    snprintf(row_title, sizeof row_title, "net %d layer", s->net_a + 1);
    snprintf(col_title, sizeof col_title, "net %d layer", s->net_b + 1);
    double lo, hi;
    colour_range(m, v, ok, L * L, &lo, &hi);
    const cvg_heatmap fig = {title, row_title, col_title, names, names, L, L, v, ok, lo, hi,
                             cvg_measure_name(m)};
    cvg_status st = cvg_heatmap_png(png, &fig);
    free(names);
    return st;
}

cvg_status cvg_layer_similarity_save(const char *path, const cvg_layer_similarity *s)
{
    if (!path || !s || !s->layer || s->layers < 1)
        return cvg__fail(CVG_ERR_ARG, "cvg_layer_similarity_save: NULL or empty argument");
    const int L = s->layers;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "stats_fingerprint", s->stats_fingerprint);
    cJSON_AddItemToObject(j, "nets", cJSON_CreateIntArray((const int[]){s->net_a + 1, s->net_b + 1}, 2));
    cJSON_AddNumberToObject(j, "samples", (double)s->samples);
    cJSON_AddItemToObject(j, "ridge", cvg__json_number(s->options.ridge));
    cJSON_AddItemToObject(j, "svcca_variance", cvg__json_number(s->options.svcca_variance));
    cJSON_AddStringToObject(j, "rows", "layers of the first net");
    cJSON_AddStringToObject(j, "columns", "layers of the second net");
    cJSON *names = cJSON_AddArrayToObject(j, "layers");
    for (int l = 0; l < L; l++) cJSON_AddItemToArray(names, cJSON_CreateString(s->layer[l]));
    cJSON *undefined = cJSON_AddArrayToObject(j, "undefined");
    cJSON *mats = cJSON_AddObjectToObject(j, "matrices");
    for (int m = 0; m < CVG_SIM_MEASURES; m++) {
        cJSON *mat = cJSON_AddArrayToObject(mats, cvg_measure_name((cvg_measure)m));
        for (int la = 0; la < L; la++) {
            cJSON *row = cJSON_CreateArray();
            for (int lb = 0; lb < L; lb++) {
                const size_t at = ((size_t)m * L + la) * L + lb;
                if (s->defined[at]) {
                    cJSON_AddItemToArray(row, cvg__json_number(s->value[at]));
                    continue;
                }
                cJSON_AddItemToArray(row, cJSON_CreateNull());
                cJSON *u = cJSON_CreateObject();
                cJSON_AddStringToObject(u, "measure", cvg_measure_name((cvg_measure)m));
                cJSON_AddStringToObject(u, "row_layer", s->layer[la]);
                cJSON_AddStringToObject(u, "column_layer", s->layer[lb]);
                cJSON_AddStringToObject(u, "reason", s->why[at]);
                cJSON_AddItemToArray(undefined, u);
            }
            cJSON_AddItemToArray(mat, row);
        }
    }
    return cvg__json_write(path, j, "the layer-by-layer similarity");
}

static int layer_index(const cvg_layer_similarity *s, const char *name)
{
    for (int l = 0; name && l < s->layers; l++)
        if (strcmp(s->layer[l], name) == 0) return l;
    return -1;
}

/* The reasons of the undefined cells; NULL if well formed, else what is wrong. */
static const char *get_reasons(const cJSON *j, cvg_layer_similarity *s)
{
    const cJSON *u;
    cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(j, "undefined")) {
        const char *measure = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "measure"));
        const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "reason"));
        int m = 0;
        while (m < CVG_SIM_MEASURES && (!measure || strcmp(measure, cvg_measure_name((cvg_measure)m)) != 0)) m++;
        const int la = layer_index(s, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "row_layer")));
        const int lb = layer_index(s, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(u, "column_layer")));
        if (m == CVG_SIM_MEASURES || la < 0 || lb < 0 || !reason)
            return "an entry of \"undefined\" names no measure, layer pair or reason";
        snprintf(s->why[((size_t)m * s->layers + la) * s->layers + lb], CVG_SIM_REASON, "%s", reason);
    }
    for (size_t at = 0; at < (size_t)CVG_SIM_MEASURES * s->layers * s->layers; at++)
        if (!s->defined[at] && !s->why[at][0]) return "an undefined cell has no reason in \"undefined\"";
    return NULL;
}

cvg_status cvg_layer_similarity_load(const char *path, cvg_layer_similarity *out)
{
    if (!path || !out) return cvg__fail(CVG_ERR_ARG, "cvg_layer_similarity_load: NULL argument");
    memset(out, 0, sizeof *out);
    cJSON *j;
    cvg_status st = cvg__json_read(path, &j);
    if (st != CVG_OK) return st;
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(j, "nets");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(j, "layers");
    const cJSON *mats = cJSON_GetObjectItemCaseSensitive(j, "matrices");
    const cJSON *samples = cJSON_GetObjectItemCaseSensitive(j, "samples");
    const cJSON *ridge = cJSON_GetObjectItemCaseSensitive(j, "ridge");
    const cJSON *variance = cJSON_GetObjectItemCaseSensitive(j, "svcca_variance");
    const int L = cJSON_GetArraySize(names);
    const char *what = NULL;
    if (!cJSON_IsArray(nets) || cJSON_GetArraySize(nets) != 2 ||
        !cJSON_IsNumber(cJSON_GetArrayItem(nets, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(nets, 1)) ||
        cJSON_GetArrayItem(nets, 0)->valueint < 1 || cJSON_GetArrayItem(nets, 1)->valueint < 1)
        what = "\"nets\" is not a pair of network numbers from 1";
    else if (!cJSON_IsNumber(samples) || samples->valuedouble < 0 || !cJSON_IsNumber(ridge) ||
             !cJSON_IsNumber(variance))
        what = "\"samples\", \"ridge\" or \"svcca_variance\" is missing";
    else if (!cJSON_IsArray(names) || L < 1 || L > 100000) what = "\"layers\" is not a list of layer names";
    else if (!cJSON_IsObject(mats)) what = "\"matrices\" is missing";
    else if ((st = alloc_result(L, out)) != CVG_OK) {
        cJSON_Delete(j);
        return st;
    }
    for (int l = 0; !what && l < L; l++) {
        const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(names, l));
        if (!name || strlen(name) >= CVG_NAME_MAX) what = "a layer name is missing or too long";
        else strcpy(out->layer[l], name);
    }
    for (int m = 0; !what && m < CVG_SIM_MEASURES; m++) {
        const cJSON *mat = cJSON_GetObjectItemCaseSensitive(mats, cvg_measure_name((cvg_measure)m));
        if (!cJSON_IsArray(mat) || cJSON_GetArraySize(mat) != L) what = "a measure's matrix is not L x L";
        for (int la = 0; !what && la < L; la++) {
            const cJSON *row = cJSON_GetArrayItem(mat, la);
            if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != L) what = "a measure's matrix is not L x L";
            for (int lb = 0; !what && lb < L; lb++) {
                const cJSON *v = cJSON_GetArrayItem(row, lb);
                const size_t at = ((size_t)m * L + la) * L + lb;
                if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
                    out->value[at] = v->valuedouble;
                    out->defined[at] = 1;
                } else if (!cJSON_IsNull(v)) {
                    what = "a cell is neither a finite number nor null";
                }
            }
        }
    }
    if (!what) what = get_reasons(j, out);
    if (!what) {
        out->net_a = cJSON_GetArrayItem(nets, 0)->valueint - 1;
        out->net_b = cJSON_GetArrayItem(nets, 1)->valueint - 1;
        out->samples = (int64_t)samples->valuedouble;
        out->options.ridge = ridge->valuedouble;
        out->options.svcca_variance = variance->valuedouble;
        const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "stats_fingerprint"));
        if (fp && strlen(fp) < sizeof out->stats_fingerprint) strcpy(out->stats_fingerprint, fp);
    }
    cJSON_Delete(j);
    if (what) {
        cvg_layer_similarity_free(out);
        return cvg__fail(CVG_ERR_FORMAT, "%s: %s", path, what);
    }
    return CVG_OK;
}
