/* The report's many-to-many section: Fig. 13, 14 and 6 for the pair 1-2 from convergent
 * cluster's outputs (cluster/<layer>/cluster_1_2.json), for networks of one width and of
 * different widths (the graph of S_1 + S_2 units, docs/clustering.md); Fig. 5 / 12, the
 * clusters' input patches, where the patches can be drawn (report_patches.c). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "report/cluster_section.h"
#include "report/figures.h"

/* The three figures of c (already checked against width), drawn from pair: the n x n
 * correlations of nets 1 and 2 (n = width[0] + width[1], net 2's units from width[0]). */
static cvg_status cluster_figures(report *r, const char *name, const double *pair, const int64_t width[2],
                                  const cvg_clustering *c, const cvg_cluster_info *info)
{
    char path[4200], file[512], caption[1400];
    const int64_t n = width[0] + width[1];
    const int differ = width[0] != width[1];
    const int nn = cvg_clustering_nodes(c), nl = cvg_clustering_leaves(c);
    const int64_t *order = cvg_clustering_order(c);
    cvg_status st = CVG_OK;
    int64_t *bounds = malloc((size_t)(nn + 1) * sizeof *bounds);
    fig_tree_node *tree = malloc((size_t)(nn + 1) * sizeof *tree);
    double *between = malloc((size_t)(nl + 1) * sizeof *between), *within = malloc((size_t)(nl + 1) * sizeof *within);
    if (!bounds || !tree || !between || !within) {
        st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        goto done;
    }
    int nb = 0, max_depth = 0;
    for (int i = 0; i < nn; i++) {
        const cvg_cluster_node *node = cvg_clustering_node(c, i);
        tree[i] = (fig_tree_node){node->depth, node->offset, node->size, node->size_a, node->size_b, node->between};
        if (node->depth > max_depth) max_depth = node->depth;
        if (node->leaf >= 0 && node->offset > 0) bounds[nb++] = node->offset;
    }
    const int32_t *ranking = cvg_clustering_ranking(c);
    int alone[2] = {0, 0};
    for (int l = 0; l < nl; l++) {
        const cvg_cluster_node *leaf = cvg_clustering_node(c, cvg_clustering_leaf_node(c, ranking[l]));
        between[l] = leaf->between;
        within[l] = leaf->within;
        if (!leaf->size_a || !leaf->size_b) alone[leaf->size_a ? 0 : 1]++;
    }
    put(r, "<h3>Many-to-many: clusters of units of net1 and net2</h3>\n<p>k = %d at the top level "
           "(the largest eigen-gap suggests %d), %d leaf clusters, tau = %g, alpha = %g%s.",
        cvg_clustering_k(c), cvg_clustering_suggested_k(c), nl, info->options.tau, info->options.alpha,
        info->options.refine ? ", top level refined (beyond the paper)" : ", the paper's k-means labels");
    if (differ)
        put(r, " The networks have different widths, %lld and %lld units: the graph has their %lld units, "
               "clusters above alpha x %lld = %.3g units are split again, and %d leaves hold units of net1 "
               "only, %d of net2 only.", (long long)width[0], (long long)width[1], (long long)n,
            (long long)n, info->options.alpha * (double)n, alone[0], alone[1]);
    if (info->k_rule[0]) {
        put(r, " k: ");
        put_escaped(r, info->k_rule);
        put(r, ".");
    }
    put(r, " Data: ");
    snprintf(path, sizeof path, "cluster/%s/cluster_1_2.json", name);
    put_link(r, path, "cluster_1_2.json");
    put(r, "</p>\n");

    snprintf(file, sizeof file, "fig13_%s.png", name);
    char *png = fig_path(r, file);
    st = png ? fig_cluster_matrix(png, name, pair, n, order, bounds, nb, 0, 1) : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    free(png);
    if (st != CVG_OK) goto done;
    snprintf(caption, sizeof caption, "Fig. 13 (%s; the paper's Fig. 13). The combined correlation matrix of net1 and net2 "
             "units, ordered by cluster (red lines: cluster boundaries). Bright blocks on the diagonal "
             "are groups of units that fire together, within and across the networks.%s", name,
             differ ? " With networks of different widths the matrix is (S1 + S2) x (S1 + S2); a block "
                      "holds different numbers of units of the two nets where the wider one spreads a "
                      "feature over more units." : "");
    put_figure(r, file, caption);

    snprintf(file, sizeof file, "fig14_%s.png", name);
    png = fig_path(r, file);
    st = png ? fig_cluster_similarity(png, name, between, within, nl, 0, 1) : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    free(png);
    if (st != CVG_OK) goto done;
    snprintf(caption, sizeof caption, "Fig. 14 (%s; the paper's Fig. 14). Between-net and within-net similarity (appendix "
             "6.6) of every cluster, sorted by between-net similarity. The tail at 0 is made of "
             "clusters holding units of one network only: features the other network did not learn.%s",
             name, differ ? " With networks of different widths the wider one has units to spare, so "
                            "expect more of its clusters in that tail (the counts above); the between-net "
                            "mean of a cluster is over its |A| x |B| unit pairs, whatever their numbers." : "");
    put_figure(r, file, caption);

    snprintf(file, sizeof file, "fig6_%s.png", name);
    png = fig_path(r, file);
    st = png ? fig_cluster_tree(png, name, tree, nn, n, max_depth < 3 ? max_depth : 3, 0, 1)
             : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    free(png);
    if (st != CVG_OK) goto done;
    snprintf(caption, sizeof caption, "Fig. 6 (%s; the paper's Fig. 6, there conv2). The top levels of the cluster tree: each box a "
             "cluster as wide as its share of the units, labelled with its units from net1 + net2 and "
             "coloured by between-net similarity (yellow: high). Clusters with units from both networks "
             "are features learned by both, possibly by different numbers of units.%s", name,
             differ ? " The root holds S1 + S2 units, so a box's net1 + net2 label shows how each "
                      "network's share of a feature compares with its width." : "");
    put_figure(r, file, caption);
done:
    free(bounds), free(tree), free(between), free(within);
    return st;
}

/* cluster/<layer>/cluster_1_2.json loaded and checked against the pair's widths; *c NULL when
 * the pair was not clustered. */
static cvg_status load_clustering(const report *r, const char *name, const int64_t width[2],
                                  cvg_clustering **c, cvg_cluster_info *info)
{
    char path[4200];
    *c = NULL;
    snprintf(path, sizeof path, "%s/cluster/%s/cluster_1_2.json", r->results, name);
    if (access(path, F_OK) != 0) return CVG_OK; /* not clustered: no section */
    cvg_status st = cvg_clustering_load(path, c, info);
    if (st != CVG_OK) return st;
    if (cvg_clustering_net_units(*c, 0) != width[0] || cvg_clustering_net_units(*c, 1) != width[1]) {
        st = cvg__fail(CVG_ERR_SHAPE, "%s: clusters %lld + %lld units, but the layer's nets 1 and 2 have "
                       "%lld and %lld", path, (long long)cvg_clustering_net_units(*c, 0),
                       (long long)cvg_clustering_net_units(*c, 1), (long long)width[0], (long long)width[1]);
        cvg_clustering_free(*c);
        *c = NULL;
    }
    return st;
}

cvg_status section_cluster(report *r, const layer_data *L, const layer_patches *lp, int first)
{
    if (L->K < 2) return CVG_OK;
    const int64_t width[2] = {layer_width(L, 0), layer_width(L, 1)};
    cvg_clustering *c = NULL;
    cvg_cluster_info info;
    cvg_status st = load_clustering(r, L->name, width, &c, &info);
    if (st != CVG_OK || !c) return st;
    st = cluster_figures(r, L->name, L->pair, width, c, &info);
    if (st == CVG_OK) st = section_cluster_patches(r, L, c, lp, first);
    cvg_clustering_free(c);
    return st;
}
