/* The saved form of a clustering (cvg_clustering_save / cvg_clustering_load): one JSON object
 * holding the tree, every node's units and metrics, the eigenvalues and the options it was run
 * with (format: docs/clustering.md). Numbers read back bit for bit, so a loaded clustering
 * equals the saved one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cluster/clustering.h"
#include "core/internal.h"

/* The eigensolvers by name, in the order of cvg_eigensolver (docs/clustering.md). */
static const char *const eigensolver_names[] = {"auto", "dense", "krylov", "sparse"};

static const char *eigensolver_name(cvg_eigensolver e)
{
    return e >= CVG_EIG_AUTO && e <= CVG_EIG_SPARSE ? eigensolver_names[e] : "auto";
}

static cvg_eigensolver eigensolver_of(const char *name)
{
    for (int e = CVG_EIG_DENSE; name && e <= CVG_EIG_SPARSE; e++)
        if (!strcmp(name, eigensolver_names[e])) return (cvg_eigensolver)e;
    return CVG_EIG_AUTO;
}

static void add_exact(cJSON *o, const char *key, double v) { cJSON_AddItemToObject(o, key, cvg__json_number(v)); }

static cJSON *node_json(const cvg_clustering *c, int i)
{
    const cvg_cluster_node *n = &c->nodes[i];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", i);
    cJSON_AddNumberToObject(j, "parent", n->parent);
    cJSON_AddNumberToObject(j, "depth", n->depth);
    cJSON_AddNumberToObject(j, "leaf", n->leaf);
    cJSON_AddNumberToObject(j, "k", n->k);
    cJSON_AddNumberToObject(j, "offset", (double)n->offset);
    cJSON_AddNumberToObject(j, "size", (double)n->size);
    cJSON_AddNumberToObject(j, "size_a", (double)n->size_a);
    cJSON_AddNumberToObject(j, "size_b", (double)n->size_b);
    add_exact(j, "between", n->between);
    add_exact(j, "within", n->within);
    add_exact(j, "within_a", n->within_a);
    add_exact(j, "within_b", n->within_b);
    if (n->n_children) {
        cJSON *ch = cJSON_AddArrayToObject(j, "children");
        for (int k = 0; k < n->n_children; k++) cJSON_AddItemToArray(ch, cJSON_CreateNumber(n->first_child + k));
    } else {
        cJSON *ua = cJSON_AddArrayToObject(j, "units_a"), *ub = cJSON_AddArrayToObject(j, "units_b");
        for (int64_t u = n->offset; u < n->offset + n->size; u++)
            cJSON_AddItemToArray(c->order[u] < c->S_a ? ua : ub,
                                 cJSON_CreateNumber((double)(c->order[u] < c->S_a ? c->order[u] : c->order[u] - c->S_a)));
    }
    return j;
}

/* Per-net counts over the leaves (derived from the nodes; the loader does not read them back):
 * "leaves_shared", the leaves holding units of both nets, and per net its units, the leaves
 * holding its units only and its units in shared leaves. With nets of different widths these
 * say how much of the wider net has no counterpart in the narrower one. */
static void add_net_counts(cJSON *j, const cvg_clustering *c)
{
    int64_t shared_units[2] = {0, 0}, alone[2] = {0, 0}, shared = 0;
    for (int i = 0; i < c->n_nodes; i++) {
        const cvg_cluster_node *n = &c->nodes[i];
        if (n->n_children) continue;
        if (n->size_a && n->size_b) {
            shared++;
            shared_units[0] += n->size_a;
            shared_units[1] += n->size_b;
        } else {
            alone[n->size_a ? 0 : 1]++;
        }
    }
    cJSON_AddNumberToObject(j, "leaves_shared", (double)shared);
    cJSON *per = cJSON_AddArrayToObject(j, "per_net");
    for (int net = 0; net < 2; net++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "units", (double)(net ? c->S_b : c->S_a));
        cJSON_AddNumberToObject(o, "leaves_alone", (double)alone[net]);
        cJSON_AddNumberToObject(o, "units_in_shared_leaves", (double)shared_units[net]);
        cJSON_AddItemToArray(per, o);
    }
}

cvg_status cvg_clustering_save(const char *path, const cvg_clustering *c, const cvg_cluster_info *info)
{
    if (!path || !c || !info) return cvg__fail(CVG_ERR_ARG, "cvg_clustering_save: NULL argument");
    const cvg_cluster_options *o = &info->options;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "layer", info->layer);
    cJSON_AddItemToObject(j, "nets", cJSON_CreateIntArray((const int[]){info->net_a + 1, info->net_b + 1}, 2));
    if (info->stats_fingerprint[0]) cJSON_AddStringToObject(j, "stats_fingerprint", info->stats_fingerprint);
    if (c->S_a == c->S_b)
        cJSON_AddNumberToObject(j, "units_per_net", (double)c->S_a);
    else /* one count per net, as meta.json of networks of different widths */
        cJSON_AddItemToObject(j, "units_per_net", cJSON_CreateDoubleArray((const double[]){(double)c->S_a, (double)c->S_b}, 2));
    cJSON_AddNumberToObject(j, "k", c->k);
    cJSON_AddNumberToObject(j, "suggested_k", c->suggested_k);
    add_exact(j, "tau", o->tau);
    add_exact(j, "alpha", o->alpha);
    cJSON_AddNumberToObject(j, "min_split", o->min_split);
    cJSON_AddBoolToObject(j, "refine", o->refine);
    cJSON_AddStringToObject(j, "k_rule", info->k_rule);
    cJSON_AddNumberToObject(j, "k_requested", o->k);
    cJSON_AddNumberToObject(j, "threads", o->threads);
    cJSON_AddNumberToObject(j, "k_max", o->k_max);
    cJSON_AddNumberToObject(j, "restarts", o->restarts);
    cJSON_AddNumberToObject(j, "max_iter", o->max_iter);
    cJSON_AddNumberToObject(j, "max_depth", o->max_depth);
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    cJSON_AddStringToObject(j, "seed", seed); /* a string: JSON numbers hold 53 bits */
    cJSON_AddStringToObject(j, "eigensolver", eigensolver_name(o->eigensolver));
    cJSON_AddStringToObject(j, "eigensolver_used", eigensolver_name(c->eigensolver));
    cJSON_AddNumberToObject(j, "components", (double)c->components);
    cJSON_AddStringToObject(j, "laplacian", o->laplacian == CVG_LAPLACIAN_RANDOM_WALK ? "random-walk" : "unnormalized");
    cJSON_AddNumberToObject(j, "isolated_units", (double)c->isolated);
    cJSON_AddNumberToObject(j, "leaves", c->n_leaves);
    cJSON *ev = cJSON_AddArrayToObject(j, "eigenvalues");
    for (int i = 0; i < c->n_eigs; i++) cJSON_AddItemToArray(ev, cvg__json_number(c->eigs[i]));
    add_net_counts(j, c);
    cJSON *nodes = cJSON_AddArrayToObject(j, "nodes");
    for (int i = 0; i < c->n_nodes; i++) cJSON_AddItemToArray(nodes, node_json(c, i));
    cJSON *ranking = cJSON_AddArrayToObject(j, "leaves_by_between_similarity");
    for (int i = 0; i < c->n_leaves; i++) cJSON_AddItemToArray(ranking, cJSON_CreateNumber(c->leaf_node[c->ranking[i]]));
    return cvg__json_write(path, j, "the clustering");
}

/* ---- loading: every number is checked, every unit must belong to exactly one leaf */

typedef struct reader {
    const char *what; /* the first defect found, or NULL */
} reader;

static double num(reader *rd, const cJSON *o, const char *key, double lo, double hi, int integer)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (rd->what) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi ||
        (integer && v->valuedouble != floor(v->valuedouble))) {
        rd->what = key;
        return 0;
    }
    return v->valuedouble;
}

/* A field that files written before cvg_clustering_save existed lack: fallback if absent. */
static double num_or(reader *rd, const cJSON *o, const char *key, double lo, double hi, int integer,
                     double fallback)
{
    return cJSON_GetObjectItemCaseSensitive(o, key) ? num(rd, o, key, lo, hi, integer) : fallback;
}

static void read_options(reader *rd, const cJSON *j, cvg_cluster_info *info)
{
    cvg_cluster_options *o = &info->options;
    cvg_cluster_options_init(o);
    const char *layer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "layer"));
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(j, "nets");
    if (!layer || strlen(layer) >= sizeof info->layer) {
        rd->what = "layer";
        return;
    }
    snprintf(info->layer, sizeof info->layer, "%s", layer);
    if (!cJSON_IsArray(nets) || cJSON_GetArraySize(nets) != 2 || !cJSON_IsNumber(cJSON_GetArrayItem(nets, 0)) ||
        !cJSON_IsNumber(cJSON_GetArrayItem(nets, 1))) {
        rd->what = "nets";
        return;
    }
    info->net_a = cJSON_GetArrayItem(nets, 0)->valueint - 1;
    info->net_b = cJSON_GetArrayItem(nets, 1)->valueint - 1;
    const char *fp = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "stats_fingerprint"));
    info->stats_fingerprint[0] = '\0';
    if (fp && strlen(fp) < sizeof info->stats_fingerprint) snprintf(info->stats_fingerprint, sizeof info->stats_fingerprint, "%s", fp);
    o->tau = num(rd, j, "tau", 0, INFINITY, 0);
    o->alpha = num(rd, j, "alpha", 0, INFINITY, 0);
    o->min_split = (int)num(rd, j, "min_split", 0, 1e9, 1);
    o->refine = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "refine"));
    /* Fields added with cvg_clustering_save: files written before keep the defaults. */
    if (cJSON_GetObjectItemCaseSensitive(j, "k_requested")) {
        o->k = (int)num(rd, j, "k_requested", 0, 1e9, 1);
        o->k_max = (int)num(rd, j, "k_max", 0, 1e9, 1);
        o->restarts = (int)num(rd, j, "restarts", 0, 1e9, 1);
        o->max_iter = (int)num(rd, j, "max_iter", 0, 1e9, 1);
        o->max_depth = (int)num(rd, j, "max_depth", 0, 1e9, 1);
        const char *seed = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "seed"));
        char *end = NULL;
        if (!seed || (o->seed = strtoull(seed, &end, 10), *end)) rd->what = rd->what ? rd->what : "seed";
        const char *eig = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "eigensolver"));
        const char *lap = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "laplacian"));
        o->eigensolver = eigensolver_of(eig);
        o->laplacian = lap && !strcmp(lap, "random-walk") ? CVG_LAPLACIAN_RANDOM_WALK : CVG_LAPLACIAN_UNNORMALIZED;
    }
    /* Fields added with the paper's default k: files written before have no rule and 0 threads. */
    o->threads = (int)num_or(rd, j, "threads", 0, 1e9, 1, 0);
    const cJSON *rule = cJSON_GetObjectItemCaseSensitive(j, "k_rule");
    info->k_rule[0] = '\0';
    if (rule && (!cJSON_IsString(rule) || strlen(rule->valuestring) >= sizeof info->k_rule))
        rd->what = rd->what ? rd->what : "k_rule";
    else if (rule)
        snprintf(info->k_rule, sizeof info->k_rule, "%s", rule->valuestring);
}

/* "units_per_net": one count (equal widths) or [units of net A, units of net B]. */
static void read_widths(reader *rd, const cJSON *j, cvg_clustering *c)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "units_per_net");
    if (!cJSON_IsArray(u)) {
        c->S_a = c->S_b = (int64_t)num(rd, j, "units_per_net", 1, 1e9, 1);
        return;
    }
    const cJSON *a = cJSON_GetArrayItem(u, 0), *b = cJSON_GetArrayItem(u, 1);
    if (cJSON_GetArraySize(u) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !(a->valuedouble >= 1) ||
        !(b->valuedouble >= 1) || a->valuedouble > 1e9 || b->valuedouble > 1e9 ||
        a->valuedouble != floor(a->valuedouble) || b->valuedouble != floor(b->valuedouble)) {
        if (!rd->what) rd->what = "units_per_net (one count, or two: one per net)";
        return;
    }
    c->S_a = (int64_t)a->valuedouble;
    c->S_b = (int64_t)b->valuedouble;
}

/* The tree of nodes[]: shape checks, then each leaf's units placed into order and labels. */
static void read_nodes(reader *rd, const cJSON *nodes, cvg_clustering *c)
{
    const int64_t S_a = c->S_a, S_b = c->S_b, n = c->n;
    int leaves = 0;
    const cJSON *e = nodes->child;
    for (int i = 0; i < c->n_nodes && !rd->what; i++, e = e->next) {
        cvg_cluster_node *d = &c->nodes[i];
        if ((int)num(rd, e, "id", i, i, 1) != i) break;
        d->parent = (int32_t)num(rd, e, "parent", -1, c->n_nodes - 1, 1);
        d->depth = (int32_t)num(rd, e, "depth", 0, 1e9, 1);
        d->leaf = (int32_t)num(rd, e, "leaf", -1, c->n_nodes - 1, 1);
        d->k = (int32_t)num_or(rd, e, "k", 0, 1e9, 1, 0);
        d->offset = (int64_t)num(rd, e, "offset", 0, (double)n, 1);
        d->size = (int64_t)num(rd, e, "size", 0, (double)n, 1);
        d->size_a = (int64_t)num(rd, e, "size_a", 0, (double)S_a, 1);
        d->size_b = (int64_t)num(rd, e, "size_b", 0, (double)S_b, 1);
        d->between = num(rd, e, "between", -INFINITY, INFINITY, 0);
        d->within = num(rd, e, "within", -INFINITY, INFINITY, 0);
        d->within_a = num_or(rd, e, "within_a", -INFINITY, INFINITY, 0, d->within);
        d->within_b = num_or(rd, e, "within_b", -INFINITY, INFINITY, 0, d->within);
        if (rd->what) break;
        if (d->offset + d->size > n || d->size != d->size_a + d->size_b || (i == 0) != (d->parent < 0) ||
            d->parent >= i) {
            rd->what = "nodes (offsets, sizes or parents inconsistent)";
            break;
        }
        const cJSON *children = cJSON_GetObjectItemCaseSensitive(e, "children");
        if (children) {
            /* the children are the nodes first_child, first_child + 1, ..., after this one */
            const cJSON *ch;
            d->first_child = cJSON_IsNumber(children->child) ? children->child->valueint : 0;
            d->n_children = 0;
            cJSON_ArrayForEach(ch, children) {
                if (!cJSON_IsNumber(ch) || ch->valueint != d->first_child + d->n_children || ch->valueint <= i ||
                    ch->valueint >= c->n_nodes)
                    rd->what = "children";
                d->n_children++;
            }
            if (d->leaf >= 0 || d->n_children == 0) rd->what = "children";
            continue;
        }
        d->first_child = -1; /* as cvg_cluster leaves it for leaves */
        if (d->leaf < 0 || d->leaf >= c->n_leaves || c->leaf_node[d->leaf] >= 0) {
            rd->what = "leaf (out of range, or two nodes with one leaf index)";
            break;
        }
        leaves++;
        c->leaf_node[d->leaf] = i;
        const cJSON *ua = cJSON_GetObjectItemCaseSensitive(e, "units_a"), *ub = cJSON_GetObjectItemCaseSensitive(e, "units_b");
        if (cJSON_GetArraySize(ua) != d->size_a || cJSON_GetArraySize(ub) != d->size_b) {
            rd->what = "units_a or units_b (not size_a and size_b units)";
            break;
        }
        int64_t at = d->offset;
        for (int side = 0; side < 2; side++) {
            const cJSON *u, *units = side ? ub : ua;
            cJSON_ArrayForEach(u, units) {
                const double v = cJSON_IsNumber(u) ? u->valuedouble : -1;
                const int64_t unit = side * S_a + (int64_t)v;
                if (v < 0 || v >= (double)(side ? S_b : S_a) || v != floor(v) || c->labels[unit] >= 0) {
                    rd->what = "units_a or units_b (a unit out of range or in two leaves)";
                    return;
                }
                c->labels[unit] = d->leaf;
                c->order[at++] = unit;
            }
        }
    }
    if (!rd->what && leaves != c->n_leaves) rd->what = "leaves (not the number of leaf nodes)";
    for (int64_t u = 0; u < n && !rd->what; u++)
        if (c->labels[u] < 0) rd->what = "nodes (a unit in no leaf)";
}

cvg_status cvg_clustering_load(const char *path, cvg_clustering **out, cvg_cluster_info *info)
{
    if (!path || !out) return cvg__fail(CVG_ERR_ARG, "cvg_clustering_load: NULL argument");
    *out = NULL;
    cJSON *j;
    cvg_status st = cvg__json_read(path, &j);
    if (st != CVG_OK) return st;
    reader rd = {NULL};
    if (!cJSON_IsObject(j)) rd.what = "content (not a JSON object)";
    cvg_cluster_info scratch;
    if (!rd.what) read_options(&rd, j, info ? info : &scratch);
    const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(j, "nodes"), *ev = cJSON_GetObjectItemCaseSensitive(j, "eigenvalues");
    const cJSON *ranking = cJSON_GetObjectItemCaseSensitive(j, "leaves_by_between_similarity");
    cvg_clustering *c = calloc(1, sizeof *c);
    if (!c) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (c && !rd.what) {
        read_widths(&rd, j, c);
        c->n = c->S_a + c->S_b;
        c->k = (int)num(&rd, j, "k", 0, 1e9, 1);
        c->suggested_k = (int)num(&rd, j, "suggested_k", 0, 1e9, 1);
        c->isolated = (int64_t)num(&rd, j, "isolated_units", 0, (double)c->n, 1);
        /* added with the sparse path: older files say neither */
        c->components = (int64_t)num_or(&rd, j, "components", 0, (double)c->n, 1, 0);
        c->eigensolver = eigensolver_of(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "eigensolver_used")));
        c->n_leaves = (int)num(&rd, j, "leaves", 1, (double)c->n, 1);
        c->n_nodes = cJSON_GetArraySize(nodes);
        c->n_eigs = cJSON_GetArraySize(ev);
        if (!rd.what && (!cJSON_IsArray(nodes) || c->n_nodes < 1 || !cJSON_IsArray(ev) ||
                         cJSON_GetArraySize(ranking) != c->n_leaves))
            rd.what = "nodes, eigenvalues or leaves_by_between_similarity";
    }
    if (c && !rd.what) {
        c->eigs = malloc(((size_t)c->n_eigs + 1) * sizeof *c->eigs);
        c->nodes = calloc((size_t)c->n_nodes, sizeof *c->nodes);
        c->labels = malloc((size_t)c->n * sizeof *c->labels);
        c->order = malloc((size_t)c->n * sizeof *c->order);
        c->leaf_node = malloc((size_t)c->n_leaves * sizeof *c->leaf_node);
        c->ranking = malloc((size_t)c->n_leaves * sizeof *c->ranking);
        if (!c->eigs || !c->nodes || !c->labels || !c->order || !c->leaf_node || !c->ranking)
            st = cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", path);
    }
    if (st == CVG_OK && !rd.what) {
        int i = 0;
        const cJSON *v;
        cJSON_ArrayForEach(v, ev) {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) rd.what = "eigenvalues";
            c->eigs[i++] = v->valuedouble;
        }
        for (int64_t u = 0; u < c->n; u++) c->labels[u] = -1;
        for (int l = 0; l < c->n_leaves; l++) c->leaf_node[l] = -1;
        read_nodes(&rd, nodes, c);
        i = 0;
        cJSON_ArrayForEach(v, ranking) {
            const int node = cJSON_IsNumber(v) ? v->valueint : -1;
            if (rd.what) break;
            if (node < 0 || node >= c->n_nodes || c->nodes[node].leaf < 0) rd.what = "leaves_by_between_similarity";
            else c->ranking[i++] = c->nodes[node].leaf;
        }
    }
    cJSON_Delete(j);
    if (st == CVG_OK && rd.what) st = cvg__fail(CVG_ERR_FORMAT, "%s: not a saved clustering: bad or missing %s", path, rd.what);
    if (st != CVG_OK) {
        cvg_clustering_free(c);
        return st;
    }
    *out = c;
    return CVG_OK;
}
