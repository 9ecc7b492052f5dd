/* The report's patch figures: for a layer whose statistics name the images they were measured
 * on (meta.json "images") and keep the top-9 entries (top9.npy), Fig. 2 (semi-matching by
 * correlation), Fig. 4 (by mutual information, where mi.npy exists) and Fig. 5 / 12 (the
 * clusters with the highest between-net similarity); for the networks' first layer also the
 * filters, from the checkpoints in nets/. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/net_internal.h"
#include "report/figures.h"
#include "report/report_patches.h"

/* The images of the last dataset split loaded: layers measured on the same split share them. */
struct patch_cache {
    char *dir, *split;
    cvg_dataset ds;
};

void patch_cache_free(patch_cache *pc)
{
    if (!pc) return;
    free(pc->dir), free(pc->split);
    cvg_dataset_free(&pc->ds);
    free(pc);
}

/* The first `need` images of dir/split, loading them unless the cache holds them already. */
static const cvg_dataset *images_for(report *r, const char *dir, const char *split, int64_t need)
{
    patch_cache *pc = r->patches;
    if (pc && strcmp(pc->dir, dir) == 0 && strcmp(pc->split, split) == 0 && pc->ds.count >= need) return &pc->ds;
    patch_cache_free(pc);
    r->patches = pc = calloc(1, sizeof *pc);
    if (!pc) return NULL;
    pc->dir = strdup(dir), pc->split = strdup(split);
    if (!pc->dir || !pc->split || cvg_dataset_load(dir, split, need, &pc->ds) != CVG_OK || pc->ds.channels != 1) {
        patch_cache_free(pc);
        r->patches = NULL;
        return NULL;
    }
    return &pc->ds;
}

/* The first layer's filters of nets 1 and 2 (S_1 and S_2 units) from nets/net{1,2}.safetensors. */
static void load_filters(report *r, const layer_data *L, layer_patches *lp)
{
    snprintf(lp->filter_note, sizeof lp->filter_note, "filters left out: no checkpoints "
             "nets/net1.safetensors and nets/net2.safetensors");
    cvg_net *net[2] = {NULL, NULL};
    char path[4200];
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/nets/net%d.safetensors", r->results, k + 1);
        if (cvg_net_load(path, &net[k]) != CVG_OK) goto done;
    }
    const nn_layer *F = &net[0]->L[0], *G = &net[1]->L[0];
    /* nets of different widths have different architectures: their first layers must be this
       layer, of the same kernel and input channels, each as wide as its net's units here */
    if (cvg_net_layer_index(net[0], L->name) != 0 || cvg_net_layer_index(net[1], L->name) != 0 ||
        F->kind != NN_CONV || G->kind != NN_CONV || F->K != G->K || F->in_c != G->in_c ||
        F->width != layer_width(L, 0) || G->width != layer_width(L, 1)) {
        snprintf(lp->filter_note, sizeof lp->filter_note, "filters left out: the checkpoints' "
                 "first layer is not this layer");
        goto done;
    }
    const int n = F->K * F->K;
    lp->filters = malloc((size_t)(L->offset[2] * n) * sizeof *lp->filters);
    if (!lp->filters) goto done;
    for (int k = 0; k < 2; k++) /* weights (out, in, K, K): summed over input channels */
        for (int64_t u = 0; u < layer_width(L, k); u++)
            for (int i = 0; i < n; i++) {
                float s = 0;
                for (int ch = 0; ch < F->in_c; ch++) s += net[k]->L[0].w[(u * F->in_c + ch) * n + i];
                lp->filters[(L->offset[k] + u) * n + i] = s;
            }
    lp->p.filters = lp->filters;
    lp->p.filter_units = L->offset[2];
    lp->p.fk = F->K;
    lp->filter_note[0] = '\0';
done:
    cvg_net_free(net[0]), cvg_net_free(net[1]);
}

int layer_patches_open(report *r, const layer_data *L, int first, layer_patches *lp)
{
    memset(lp, 0, sizeof *lp);
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/stats/%s", r->results, L->name);
    snprintf(path, sizeof path, "%s/meta.json", dir);
    cJSON *meta = read_json(path);
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(meta, "images");
    const char *img_dir = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(images, "dir"));
    const char *split = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(images, "split"));
    const int64_t D = L->offset[L->K];
    int nd, ok = 0;
    int64_t shape[CVG_NPY_MAX_DIMS];
    if (!img_dir || !split) {
        snprintf(lp->why, sizeof lp->why, "the statistics carry no input images (made from "
                 "activation files: meta.json has no \"images\")");
        goto done;
    }
    snprintf(path, sizeof path, "%s/top9.npy", dir);
    if (cvg_npy_load(path, &nd, shape, &lp->top) != CVG_OK || nd != 3 || shape[0] != D ||
        shape[1] != CVG_TOP_K || shape[2] != 7) {
        snprintf(lp->why, sizeof lp->why, "no top9.npy of (%lld, %d, 7) entries", (long long)D, CVG_TOP_K);
        goto done;
    }
    snprintf(path, sizeof path, "%s/top9_value.npy", dir);
    if (cvg_npy_load(path, &nd, shape, &lp->top_value) != CVG_OK || nd != 2 || shape[0] != D) {
        snprintf(lp->why, sizeof lp->why, "no top9_value.npy of %lld rows", (long long)D);
        goto done;
    }
    int64_t need = 0;
    for (int64_t i = 0; i < D * CVG_TOP_K; i++) need = fmax(need, lp->top[i * 7] + 1);
    const cvg_dataset *ds = images_for(r, img_dir, split, need);
    if (!ds) {
        snprintf(lp->why, sizeof lp->why, "the images (%.200s, split %.20s) could not be read: %.200s",
                 img_dir, split, cvg_last_error());
        goto done;
    }
    snprintf(lp->split, sizeof lp->split, "%s", split);
    lp->p = (patch_layer){.images = ds->images, .count = ds->count, .height = ds->height, .width = ds->width,
                          .top = lp->top, .top_value = lp->top_value, .D = D};
    if (!patch_layer_measure(&lp->p)) {
        snprintf(lp->why, sizeof lp->why, "top9.npy names images beyond the %lld of %.200s (%.20s)",
                 (long long)ds->count, img_dir, split);
        goto done;
    }
    if (first && L->K >= 2) load_filters(r, L, lp);
    ok = 1;
done:
    cJSON_Delete(meta);
    lp->ok = ok;
    return ok;
}

void layer_patches_close(layer_patches *lp)
{
    free(lp->top), free(lp->top_value), free(lp->filters);
    memset(lp, 0, sizeof *lp);
}

typedef struct ranked {
    double value;
    int64_t unit, partner;
} ranked;

static int by_value_desc(const void *pa, const void *pb)
{
    const ranked *x = pa, *y = pb;
    if (x->value != y->value) return x->value < y->value ? 1 : -1;
    return (x->unit > y->unit) - (x->unit < y->unit);
}

/* Semi-matching of net1's units into net2 on matrix m (net1's S_1 rows, leading dimension ld,
 * columns [net1 | net2]: net2's at S_1), sorted by decreasing value; dead units (value exactly
 * 0: constant activations) and NaN left out. Returns the count. */
static int64_t semi_match(const double *m, int64_t ld, const layer_data *L, ranked *out)
{
    const int64_t Sa = layer_width(L, 0), Sb = layer_width(L, 1);
    int64_t n = 0;
    for (int64_t i = 0; i < Sa; i++) {
        const double *row = m + i * ld + Sa;
        int64_t best = 0;
        for (int64_t j = 1; j < Sb; j++)
            if (row[j] > row[best]) best = j;
        if (row[best] != 0 && !isnan(row[best])) out[n++] = (ranked){row[best], i, best};
    }
    qsort(out, (size_t)n, sizeof *out, by_value_desc);
    return n;
}

/* One of Fig. 2 / 4 from matrix m. */
static cvg_status matched_figure(report *r, const layer_data *L, const layer_patches *lp,
                                 const double *m, int64_t ld, const char *metric)
{
    ranked *order = malloc((size_t)layer_width(L, 0) * sizeof *order);
    if (!order) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    const int64_t n = semi_match(m, ld, L, order);
    const int nbest = n >= 16 ? 8 : (int)((n + 1) / 2), nworst = n >= 16 ? 8 : (int)(n - nbest);
    fig_pair best[8], worst[8];
    for (int i = 0; i < nbest; i++) best[i] = (fig_pair){order[i].unit, order[i].partner, order[i].value};
    for (int i = 0; i < nworst; i++) {
        const ranked *o = &order[n - nworst + i];
        worst[i] = (fig_pair){o->unit, o->partner, o->value};
    }
    free(order);
    if (n == 0) return CVG_OK;
    const int corr = strcmp(metric, "corr") == 0;
    char file[512], caption[1400];
    snprintf(file, sizeof file, "fig%d_%s.png", corr ? 2 : 4, L->name);
    char *png = fig_path(r, file);
    cvg_status st = png ? fig_matched_patches(png, L->name, metric, &lp->p, L->offset, best, nbest, worst, nworst)
                        : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    free(png);
    if (st != CVG_OK) return st;
    snprintf(caption, sizeof caption,
             "Fig. %d (%s; the paper's Fig. %d, there conv1-conv%d of AlexNet). Semi-matching by %s: the %d net1 units with the highest and the %d "
             "with the lowest %s to their best partner in net2 (dead units left out). Each unit is "
             "shown by its 9 top input patches: the %s images of its highest activations, cropped "
             "to the receptive field and enlarged %dx (pale blue: the part of the field outside "
             "the image)%s%s. Look for pairs whose patches show the same feature on the left, "
             "and for unrelated patches on the right: features one network learned and the "
             "other did not.",
             corr ? 2 : 4, L->name, corr ? 2 : 4, corr ? 3 : 2, corr ? "correlation" : "mutual information", nbest, nworst,
             corr ? "correlation" : "mutual information", lp->split, lp->p.cell / lp->p.field,
             lp->p.filters ? "; under each unit its filter (black negative, white positive weights)" : "",
             lp->filter_note[0] ? "; " : "");
    if (lp->filter_note[0]) strncat(caption, lp->filter_note, sizeof caption - strlen(caption) - 1);
    put_figure(r, file, caption);
    return CVG_OK;
}

cvg_status section_matched_patches(report *r, const layer_data *L, const layer_patches *lp)
{
    if (L->K < 2) return CVG_OK;
    if (!lp->ok) {
        put(r, "<p class=\"note\">Fig. 2, 4 and 5 (input patches) are not drawn for this layer: ");
        put_escaped(r, lp->why);
        put(r, ".</p>\n");
        r->patches_missing++;
        return CVG_OK;
    }
    cvg_status st = matched_figure(r, L, lp, L->pair, pair_size(L), "corr");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/stats/%s", r->results, L->name);
    cvg_stats_matrix *mi_file = NULL;
    double *mi = NULL; /* net1's rows of mi.npy, net1's and net2's columns: S_1 x (S_1 + S_2) */
    const int rows[1] = {0}, cols[2] = {0, 1};
    if (st == CVG_OK && cvg_stats_matrix_open(dir, "mi", 0, &mi_file) == CVG_OK &&
        cvg_stats_matrix_nets(mi_file) == L->K &&
        memcmp(cvg_stats_matrix_offsets(mi_file), L->offset, (size_t)(L->K + 1) * sizeof *L->offset) == 0 &&
        (mi = malloc((size_t)(layer_width(L, 0) * pair_size(L)) * sizeof *mi)) &&
        cvg_stats_matrix_block(mi_file, rows, 1, cols, 2, mi) == CVG_OK)
        st = matched_figure(r, L, lp, mi, pair_size(L), "mi");
    cvg_stats_matrix_free(mi_file);
    free(mi);
    return st;
}

cvg_status section_cluster_patches(report *r, const layer_data *L, const cvg_clustering *cluster,
                                   const layer_patches *lp, int first)
{
    if (!lp->ok) return CVG_OK;
    const int max = first ? 12 : 8;
    fig_cluster cl[12];
    const int64_t Sa = layer_width(L, 0);
    int64_t *units = malloc((size_t)(Sa + layer_width(L, 1)) * sizeof *units), used = 0;
    if (!units) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    const int32_t *ranking = cvg_clustering_ranking(cluster);
    const int64_t *order = cvg_clustering_order(cluster);
    int n = 0;
    for (int rank = 1; rank <= cvg_clustering_leaves(cluster) && n < max; rank++) {
        const cvg_cluster_node *leaf = cvg_clustering_node(cluster, cvg_clustering_leaf_node(cluster, ranking[rank - 1]));
        if (leaf->size_a == 0 || leaf->size_b == 0) continue;
        /* order lists a leaf's units of net a (indices < S_a) before those of net b */
        cl[n++] = (fig_cluster){units + used, units + used + leaf->size_a, (int)leaf->size_a,
                                (int)leaf->size_b, leaf->between, rank};
        for (int64_t u = leaf->offset; u < leaf->offset + leaf->size; u++) units[used++] = order[u] < Sa ? order[u] : order[u] - Sa;
    }
    cvg_status st = CVG_OK;
    if (n > 0) {
        char file[512], caption[1024], label[32];
        snprintf(label, sizeof label, "Fig. %d", first ? 12 : 5);
        snprintf(file, sizeof file, "fig5_%s.png", L->name);
        char *png = fig_path(r, file);
        st = png ? fig_cluster_patches(png, L->name, label, &lp->p, L->offset, cl, n) : cvg__fail(CVG_ERR_NOMEM, "out of memory");
        free(png);
        if (st == CVG_OK) {
            snprintf(caption, sizeof caption,
                     "%s (%s; the paper's %s%s). The %d clusters with units of both networks that have the highest "
                     "between-net similarity, one per row, ranked as in Fig. 14: each unit by its top "
                     "input patches (3 x 3, fewer where a cluster is large), net1's units (blue) then "
                     "net2's (orange). Look for rows whose patches all show one feature: the same "
                     "feature learned by both networks, often by different numbers of units "
                     "(many-to-many correspondence).", label, L->name, label,
                     first ? ", there conv1 of AlexNet" : "", n);
            put_figure(r, file, caption);
        }
    }
    free(units);
    return st;
}
