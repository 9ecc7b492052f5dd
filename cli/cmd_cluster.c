/* convergent cluster: many-to-many alignment of two networks' units by hierarchical spectral
 * clustering of the combined correlation graph (paper section 4, appendix 6.4-6.6). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char cluster_description[] =
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
    "--k: by default the paper's k for the layer's width: 40 for the first layer and 100 for\n"
    "the others where the layer is as wide as the paper's (S >= 96 and S >= 256 units per\n"
    "net), else the paper's units per cluster kept, k = round(2S / 4.8) for the first layer\n"
    "and round(2S / 5.12) for the others. Which layer is the first comes from meta.json\n"
    "(written by 'stats --nets' and 'run') or --first-layer; without either, a layer counts\n"
    "as a later one. auto takes the eigen-gap suggestion. The rule that chose k is printed\n"
    "and recorded in the JSON. --refine moves single units between the top-level k-means\n"
    "clusters where that raises the ratio association: beyond the paper (docs/clustering.md).\n\n"
    "Networks of different widths S_i and S_j: the graph has S_i + S_j vertices, 2S becomes\n"
    "S_i + S_j in the rules above (the split limit 2*alpha*S is alpha*(S_i + S_j); k is the\n"
    "paper's where S_i + S_j >= 2 x 96 or 2 x 256, else round((S_i + S_j) / 4.8 or 5.12)),\n"
    "and the labels and order have S_i + S_j entries. A pair where every unit of one\n"
    "network is dead is refused.";

/* The eigensolvers by name, in the order of cvg_eigensolver. */
static const char *const eigensolvers[] = {"auto", "dense", "krylov", "sparse", NULL};

/* The Laplacians by name, in the order of cvg_laplacian. */
static const char *const laplacians[] = {"unnormalized", "random-walk", NULL};

/* The value of --k: a count, or "auto" (the eigen-gap suggestion). */
typedef struct k_choice {
    int k, k_auto;
} k_choice;

static int parse_k(const char *command, const char *value, void *dest)
{
    k_choice *c = dest;
    char *end;
    long v;
    if (strcmp(value, "auto") == 0) {
        c->k = 0, c->k_auto = 1;
        return 0;
    }
    v = strtol(value, &end, 10);
    /* 1e6 clusters exceeds any layer's units; the bound keeps the value an int */
    if (end == value || *end || v < 1 || v > 1000000)
        return cli_usage_error(command, "--k expects auto or an integer in [1, 1000000], got '%s'", value);
    c->k = (int)v, c->k_auto = 0;
    return 0;
}

/* Whether the layer is its network's first: --first-layer if given, else meta.json's
 * "first_layer" (written when the statistics came from networks); *source says which. */
static int layer_is_first(const char *stats_dir, const char *layer, const char *first_layer,
                          const char **source)
{
    if (first_layer) {
        *source = "--first-layer";
        return strcmp(layer, first_layer) == 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.json", stats_dir);
    cJSON *meta = cli_read_json(path);
    const cJSON *first = cJSON_GetObjectItemCaseSensitive(meta, "first_layer");
    int known = cJSON_IsBool(first), is_first = cJSON_IsTrue(first);
    cJSON_Delete(meta);
    *source = known ? "meta.json" : "unknown: no first_layer in meta.json, no --first-layer";
    return is_first;
}

/* k for nets of widths[0] and widths[1] units in this layer and the sentence saying how it was
 * chosen (recorded in the JSON). */
static int choose_k(const cvg_cluster_options *base, int k_auto, const char *stats_dir, const char *layer,
                    const char *first_layer, const int64_t widths[2], char *rule, size_t rule_size)
{
    if (k_auto) {
        snprintf(rule, rule_size, "eigen-gap suggestion (--k auto)");
        return 0;
    }
    if (base->k > 0) {
        snprintf(rule, rule_size, "given (--k %d)", base->k);
        return base->k;
    }
    const char *source;
    int first = layer_is_first(stats_dir, layer, first_layer, &source);
    char paper[200];
    int k = cvg_cluster_paper_k_widths(first, 2, widths, paper, sizeof paper);
    snprintf(rule, rule_size, "%s; first layer from %s", paper, source);
    return k;
}

/* Nets a and b of the walk's layer (their widths from the walk's offsets, which may differ),
 * clustered with the options of base and k chosen for the pair by choose_k. */
static int cluster_pair(const cli_walk *walk, const cvg_cluster_options *base, int k_auto,
                        const char *first_layer, int a, int b, int quiet)
{
    const char *out_layer = walk->out_dir, *layer = walk->layer;
    const int nets[2] = {a, b};
    const int64_t width[2] = {walk->offset[a + 1] - walk->offset[a], walk->offset[b + 1] - walk->offset[b]};
    const int64_t n = width[0] + width[1];
    for (int s = 0; s < 2; s++) /* nothing of that net to align: its units would all be singletons */
        if (walk->dead_count[nets[s]] >= width[s])
            return cli_error("%s/meta.json: every unit of network %d (%lld) is dead (zero variance): "
                             "nothing to cluster with network %d", walk->dir, nets[s] + 1,
                             (long long)width[s], nets[1 - s] + 1);
    double *w = cli_walk_block(walk, nets, 2, nets, 2); /* n x n: [[aa, ab], [ba, bb]] */
    if (!w) return 1;
    cvg_cluster_options opt = *base;
    cvg_cluster_info info = {.net_a = a, .net_b = b};
    opt.k = choose_k(base, k_auto, walk->dir, layer, first_layer, width, info.k_rule, sizeof info.k_rule);
    cvg_clustering *c;
    cvg_status st = cvg_cluster_widths(w, width[0], width[1], &opt, &c);
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
    info.options = opt;
    snprintf(info.layer, sizeof info.layer, "%s", layer);
    snprintf(info.stats_fingerprint, sizeof info.stats_fingerprint, "%s", walk->fingerprint);
    snprintf(path, sizeof path, "%s/cluster_%d_%d.json", out_layer, a + 1, b + 1);
    if (rc == 0 && (st = cvg_clustering_save(path, c, &info)) != CVG_OK) rc = cli_fail(st);
    if (rc == 0 && !quiet) {
        int both = 0;
        for (int i = 0; i < cvg_clustering_leaves(c); i++) {
            const cvg_cluster_node *nd = cvg_clustering_node(c, cvg_clustering_leaf_node(c, i));
            both += nd->size_a > 0 && nd->size_b > 0;
        }
        char widths[64] = "";
        if (width[0] != width[1])
            snprintf(widths, sizeof widths, " (%lld + %lld units)", (long long)width[0], (long long)width[1]);
        printf("%-10s nets %d-%d%s: k = %d (eigen-gap suggests %d), %d leaf clusters, %d with "
               "units of both nets, %lld isolated units%s\n           k: %s\n"
               "           eigenvectors: %s, %lld connected components\n", layer, a + 1, b + 1, widths,
               cvg_clustering_k(c), cvg_clustering_suggested_k(c), cvg_clustering_leaves(c), both,
               (long long)cvg_clustering_isolated(c), opt.refine ? ", refined (--refine)" : "",
               info.k_rule, eigensolvers[cvg_clustering_eigensolver(c)],
               (long long)cvg_clustering_components(c));
    }
    cvg_clustering_free(c);
    return rc;
}

int cmd_cluster(int argc, char **argv)
{
    cvg_cluster_options opt;
    cvg_cluster_options_init(&opt);
    int quiet = 0, npos, laplacian = (int)opt.laplacian, eigensolver = (int)opt.eigensolver;
    const char *first_layer = NULL;
    k_choice k = {opt.k, 0};
    cli_walk w;
    cli_walk_init(&w, "cluster", CLI_WALK_OUT | CLI_WALK_PAIR, NULL); /* cli_cluster sets its purpose */
    const cli_option own[] = {
        {.name = "k", .type = CLI_CALL, .dest = &k, .parse = parse_k, .metavar = "K|auto",
            .help = "top-level clusters",
            .default_text = "the paper's k for the layer's width"},
        {.name = "first-layer", .type = CLI_STRING, .dest = &first_layer, .metavar = "NAME",
            .help = "the networks' first layer, for the default k",
            .default_text = "from meta.json"},
        {.name = "tau", .type = CLI_DOUBLE, .dest = &opt.tau, .min = 0, .max = HUGE_VAL,
            .metavar = "T", .help = "edge threshold"},
        {.name = "alpha", .type = CLI_DOUBLE, .dest = &opt.alpha, .min = 0, .min_open = 1,
            .max = HUGE_VAL, .metavar = "A", .help = "split clusters above 2*A*S units"},
        {.name = "min-split", .type = CLI_INT, .dest = &opt.min_split, .min = 1,
            .max = INT32_MAX, .metavar = "M", .help = "but never clusters of at most M units"},
        {.name = "seed", .type = CLI_UINT64, .dest = &opt.seed, .min = 0, .max = CLI_NO_MAX,
            .metavar = "S", .help = "k-means seed"},
        {.name = "restarts", .type = CLI_INT, .dest = &opt.restarts, .min = 1, .max = 10000,
            .metavar = "R", .help = "k-means restarts"},
        {.name = "laplacian", .type = CLI_CHOICE, .dest = &laplacian, .choices = laplacians,
            .metavar = "L", .help = "the graph Laplacian (unnormalized: the paper's)"},
        {.name = "eigensolver", .type = CLI_CHOICE, .dest = &eigensolver,
            .choices = eigensolvers, .metavar = "E",
            .help = "eigenvectors: sparse (W stored sparse, memory ~ edges), dense "
            "(dsyevr) or krylov (dense shift-invert); auto: sparse from 1024 "
            "units when W is sparse enough (entries x block <= n^3/256), "
            "else krylov from 1024, else dense"},
        {.name = "refine", .type = CLI_FLAG, .dest = &opt.refine,
            .help = "refine the top level's k-means labels (beyond the paper)",
            .default_text = "off: the paper's k-means labels"},
        {.name = "quiet", .short_name = 'q', .type = CLI_FLAG, .dest = &quiet,
            .help = "no summary"},
    };
    cli_option rows[CLI_WALK_MAX_ROWS + CLI_COUNT(own)];
    int n = cli_walk_rows(&w, rows, own, CLI_COUNT(own));
    const cli_spec spec = {"cluster", "STATS -o OUT [options]", cluster_description, "stats directory", 1, rows, n};
    int rc = cli_parse(&spec, argc, argv, &w.stats, &npos);
    if (rc == CLI_HELP_SHOWN) return 0;
    if (rc == 0) rc = cli_walk_check_options(&w);
    if (rc != 0) return rc;
    opt.k = k.k;
    opt.laplacian = (cvg_laplacian)laplacian;
    opt.eigensolver = (cvg_eigensolver)eigensolver;
    return cli_cluster(&w, &opt, k.k_auto, first_layer, quiet);
}

int cli_cluster(cli_walk *w_, cvg_cluster_options *opt_, int k_auto, const char *first_layer, int quiet)
{
    cli_walk w = *w_;
    cvg_cluster_options opt = *opt_;
    int rc = 0;
    w.purpose = "clustering pairs";
    cli_install_log(quiet);
    opt.progress = cli_progress;
    /* OUT is one result set: a new version (every layer, or with --layer the others kept) */
    cvg_result_set *rs = NULL;
    if (cli_output_begin(w_->out, w.only != NULL, &rs) != 0) return 1;
    w.out = cvg_result_dir(rs);
    if (cli_walk_start(&w) != 0 || (w.only && cli_output_drop(rs, w.only) != 0)) rc = 1;
    while (rc == 0 && cli_walk_next(&w, &rc))
        for (int a = -1, b; rc == 0 && cli_walk_pair(&w, &a, &b);)
            rc = cluster_pair(&w, &opt, k_auto, first_layer, a, b, quiet);
    cli_walk_end(&w);
    return cli_output_finish(rs, rc);
}
