/* convergent cluster: many-to-many alignment of two networks' units by hierarchical spectral
 * clustering of the combined correlation graph (paper section 4, appendix 6.4-6.6). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "cli.h"

static void help(void)
{
    cvg_cluster_options d;
    cvg_cluster_options_init(&d);
    printf("usage: convergent cluster STATS -o OUT [--layer L] [--pair i,j] [--k K|auto]\n"
           "                          [--tau T] [--alpha A] [--seed S] [--laplacian L]\n\n"
           "For every layer of the stats directory and every pair of networks i < j (or the one\n"
           "given): the graph of both networks' units with an edge wherever the correlation\n"
           "exceeds tau (within and between nets), the eigenvectors of the k smallest\n"
           "eigenvalues of its Laplacian, k-means in that embedding, and clusters larger than\n"
           "2*alpha*S units split again into a tree. Prints the k suggested by the largest\n"
           "eigen-gap. Writes OUT/<layer>/cluster_<i>_<j>_labels.npy (int32, 2S: the leaf of\n"
           "every unit, net i's first), cluster_<i>_<j>_order.npy (int64: the permutation that\n"
           "makes the graph block-diagonal, Fig. 13) and cluster_<i>_<j>.json (the tree, and per\n"
           "cluster its units in each net, size, between-net and within-net similarity,\n"
           "appendix 6.6, clusters sorted by between-net similarity as Fig. 14).\n\n"
           "options:\n"
           "  -o, --out DIR          output directory (required)\n"
           "  --layer L              only this layer (default: every layer)\n"
           "  --pair i,j             only this pair (default: every pair)\n"
           "  --k K|auto             top-level clusters (default: the paper's, 40 for the first\n"
           "                         layer and 100 for the others, at most the units per net;\n"
           "                         auto: the eigen-gap suggestion)\n"
           "  --tau T                edge threshold (default: %g)\n"
           "  --alpha A              split clusters above 2*A*S units (default: %g)\n"
           "  --min-split M          but never clusters of at most M units (default: %d)\n"
           "  --seed S               k-means seed (default: %llu)\n"
           "  --restarts R           k-means restarts (default: %d)\n"
           "  --laplacian L          unnormalized (the paper's, default) or random-walk\n"
           "  --no-refine            keep the k-means labels of the top level as the paper\n"
           "                         (default: refine them by single-unit moves that raise\n"
           "                         the ratio association, docs/clustering.md)\n"
           "  -q, --quiet            no summary\n",
           d.tau, d.alpha, d.min_split, (unsigned long long)d.seed, d.restarts);
}

static int cluster_pair(const char *out_layer, const char *layer, int layer_index, const double *m,
                        int K, int64_t S, int a, int b, const cvg_cluster_options *base,
                        int k_auto, int quiet)
{
    const int64_t D = (int64_t)K * S, n = 2 * S;
    double *w = malloc((size_t)(n * n) * sizeof *w);
    if (!w) return cli_error("out of memory");
    const int nets[2] = {a, b};
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            w[i * n + j] = m[(nets[i / S] * S + i % S) * D + nets[j / S] * S + j % S];
    cvg_cluster_options opt = *base;
    if (!k_auto && opt.k == 0) opt.k = cvg_cluster_default_k(layer_index, S);
    cvg_clustering *c;
    cvg_status st = cvg_cluster(w, S, &opt, &c);
    free(w);
    cli_progress_end();
    if (st != CVG_OK) return cli_fail(st);
    char path[4096];
    const int64_t shape[1] = {n};
    int rc = 0;
    snprintf(path, sizeof path, "%s/cluster_%d_%d_labels.npy", out_layer, a + 1, b + 1);
    if ((st = cvg_npy_save(path, CVG_I32, 1, shape, cvg_clustering_labels(c))) == CVG_OK) {
        snprintf(path, sizeof path, "%s/cluster_%d_%d_order.npy", out_layer, a + 1, b + 1);
        st = cvg_npy_save(path, CVG_I64, 1, shape, cvg_clustering_order(c));
    }
    if (st != CVG_OK) rc = cli_fail(st);
    cvg_cluster_info info = {.net_a = a, .net_b = b, .options = opt};
    snprintf(info.layer, sizeof info.layer, "%s", layer);
    snprintf(path, sizeof path, "%s/cluster_%d_%d.json", out_layer, a + 1, b + 1);
    if (rc == 0 && (st = cvg_clustering_save(path, c, &info)) != CVG_OK) rc = cli_fail(st);
    if (rc == 0 && !quiet) {
        int both = 0;
        for (int i = 0; i < cvg_clustering_leaves(c); i++) {
            const cvg_cluster_node *nd = cvg_clustering_node(c, cvg_clustering_leaf_node(c, i));
            both += nd->size_a > 0 && nd->size_b > 0;
        }
        printf("%-10s nets %d-%d: k = %d (eigen-gap suggests %d), %d leaf clusters, %d with "
               "units of both nets, %lld isolated units\n", layer, a + 1, b + 1,
               cvg_clustering_k(c), cvg_clustering_suggested_k(c), cvg_clustering_leaves(c), both,
               (long long)cvg_clustering_isolated(c));
    }
    cvg_clustering_free(c);
    return rc;
}

int cmd_cluster(int argc, char **argv)
{
    cvg_cluster_options opt;
    cvg_cluster_options_init(&opt);
    const char *v;
    int quiet = 0, rc = 0, k_auto = 0;
    cli_walk w;
    cli_walk_init(&w, "cluster", CLI_WALK_OUT | CLI_WALK_PAIR, "clustering pairs");
    int64_t n;
    uint64_t u;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help();
            return 0;
        } else if (cli_walk_option(&w, argc, argv, &i, &rc)) {
            continue;
        } else if (strcmp(a, "--k") == 0) {
            if (!(v = cli_option_value("cluster", argc, argv, &i))) rc = 2;
            else if (strcmp(v, "auto") == 0) k_auto = 1, opt.k = 0;
            else rc = cli_parse_int64("cluster", a, v, 1, &n), opt.k = (int)n;
        } else if (strcmp(a, "--tau") == 0) {
            rc = !(v = cli_option_value("cluster", argc, argv, &i)) ? 2 : cli_parse_double("cluster", a, v, &opt.tau);
        } else if (strcmp(a, "--alpha") == 0) {
            rc = !(v = cli_option_value("cluster", argc, argv, &i)) ? 2 : cli_parse_double("cluster", a, v, &opt.alpha);
        } else if (strcmp(a, "--min-split") == 0) {
            rc = !(v = cli_option_value("cluster", argc, argv, &i)) ? 2 : cli_parse_int64("cluster", a, v, 1, &n);
            opt.min_split = (int)n;
        } else if (strcmp(a, "--seed") == 0) {
            rc = !(v = cli_option_value("cluster", argc, argv, &i)) ? 2 : cli_parse_uint64("cluster", a, v, UINT64_MAX, &u);
            opt.seed = u;
        } else if (strcmp(a, "--restarts") == 0) {
            rc = !(v = cli_option_value("cluster", argc, argv, &i)) ? 2 : cli_parse_int64("cluster", a, v, 1, &n);
            opt.restarts = (int)n;
        } else if (strcmp(a, "--laplacian") == 0) {
            if (!(v = cli_option_value("cluster", argc, argv, &i))) rc = 2;
            else if (strcmp(v, "unnormalized") == 0) opt.laplacian = CVG_LAPLACIAN_UNNORMALIZED;
            else if (strcmp(v, "random-walk") == 0) opt.laplacian = CVG_LAPLACIAN_RANDOM_WALK;
            else rc = cli_usage_error("cluster", "--laplacian expects unnormalized or random-walk, got '%s'", v);
        } else if (strcmp(a, "--no-refine") == 0) {
            opt.refine = 0;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else {
            rc = cli_usage_error("cluster", "unknown option '%s'", a);
        }
    }
    if (rc == 0) rc = cli_walk_check_options(&w);
    if (rc == 0 && (!(opt.tau >= 0) || !(opt.alpha > 0)))
        rc = cli_usage_error("cluster", "--tau must be >= 0 and --alpha > 0");
    if (rc != 0) return rc;
    cli_install_log(quiet);
    opt.progress = cli_progress;
    if (cli_walk_start(&w) != 0) rc = 1;
    while (rc == 0 && cli_walk_next(&w, &rc))
        for (int a = -1, b; rc == 0 && cli_walk_pair(&w, &a, &b);)
            rc = cluster_pair(w.out_dir, w.layer, w.index, w.m, w.nets, w.units, a, b, &opt, k_auto, quiet);
    cli_walk_end(&w);
    return rc;
}
