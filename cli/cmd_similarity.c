/* convergent similarity: every linear similarity measure (CKA, debiased CKA, CCA, SVCCA, PWCCA,
 * Procrustes, Gaussian MI) and the lasso "few-to-one" path, from the statistics of
 * 'convergent stats', per layer and pair of networks; layer-by-layer matrices and heatmaps for
 * cross-layer directories. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"

static const char similarity_description[] =
    "Linear similarity of every pair of networks (i < j, numbered from 1) on every layer\n"
    "of the stats directory STATS, from its counts and co-moments alone: linear CKA,\n"
    "debiased linear CKA, CCA (mean rho, mean rho^2), SVCCA, PWCCA, orthogonal Procrustes\n"
    "distance and the Gaussian mutual information of the canonical correlations; and the\n"
    "lasso path predicting each unit of one net from all units of the other.\n\n"
    "Writes, per layer, OUT/<layer>/similarity_<i>_<j>.json (every measure, or null and\n"
    "the reason where a measure is undefined; canonical correlations; PWCCA weights; the\n"
    "lasso summary), cca_<i>_<j>.npy (canonical correlations), and for the lasso\n"
    "lasso_<t>_from_<s>_{lambda,r2,nnz}.npy (lambdas; per lambda and unit of net t: the\n"
    "fraction of its variance explained and its nonzero weights). For a cross-layer\n"
    "directory ('convergent stats --cross-layer'): OUT/<dir>/<measure>_<i>_<j>.npy (every\n"
    "layer of net i against every layer of net j), cross_<i>_<j>.json and a heatmap\n"
    "<measure>_<i>_<j>.png per measure. OUT/similarity.json gathers every measure.\n\n"
    "--pair i,i is allowed for a cross-layer directory. --ridge E adds\n"
    "E * mean(diag C) * I to each covariance C before whitening; with 0, a singular\n"
    "covariance makes the CCA measures undefined.";

typedef cli_similarity_settings settings;

static int save_npy(const char *dir, const char *name, cvg_dtype t, int ndim, const int64_t *shape,
                    const void *data)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cvg_status st = cvg_npy_save(path, t, ndim, shape, data);
    return st == CVG_OK ? 0 : cli_fail(st);
}

static void add_measures(cJSON *obj, const cvg_similarity *s)
{
    cJSON *m = cJSON_AddObjectToObject(obj, "measures");
    cJSON *why = cJSON_AddObjectToObject(obj, "undefined");
    for (int k = 0; k < CVG_SIM_MEASURES; k++) {
        const char *name = cvg_measure_name((cvg_measure)k);
        if (s->defined[k]) cJSON_AddNumberToObject(m, name, s->value[k]);
        else {
            cJSON_AddNullToObject(m, name);
            cJSON_AddStringToObject(why, name, s->why[k]);
        }
    }
}

/* The lasso path predicting block t from block s into r, and its per-unit arrays as
 * OUT/<layer>/lasso_<t>_from_<s>_{lambda,r2,nnz}.npy. */
static int lasso_direction(const cvg_blocks *b, int s, int t, const settings *cfg,
                           const char *out_dir, cvg_lasso_result *r)
{
    const int64_t ps = b->offset[s + 1] - b->offset[s], pt = b->offset[t + 1] - b->offset[t];
    cvg_status st = cvg_lasso_path(b->comoment, b->dim, b->offset[s], ps, b->offset[t], pt,
                                   &cfg->lasso, r);
    if (st != CVG_OK) return cli_fail(st);
    if (r->not_converged)
        cli_error("warning: lasso net %d from net %d: %lld problems reached the sweep limit",
                  b->net[t] + 1, b->net[s] + 1, (long long)r->not_converged);
    char name[128];
    const int64_t shape[2] = {r->path, pt}, lshape[1] = {r->path};
    int rc = 0;
    snprintf(name, sizeof name, "lasso_%d_from_%d_lambda.npy", b->net[t] + 1, b->net[s] + 1);
    rc = rc ? rc : save_npy(out_dir, name, CVG_F64, 1, lshape, r->lambda);
    snprintf(name, sizeof name, "lasso_%d_from_%d_r2.npy", b->net[t] + 1, b->net[s] + 1);
    rc = rc ? rc : save_npy(out_dir, name, CVG_F64, 2, shape, r->r2);
    snprintf(name, sizeof name, "lasso_%d_from_%d_nnz.npy", b->net[t] + 1, b->net[s] + 1);
    rc = rc ? rc : save_npy(out_dir, name, CVG_I64, 2, shape, r->nnz);
    return rc;
}

/* conv: what a sample of the layer is (cvg_blocks.conv_samples), "-" for a fc layer. */
static void print_row(const char *layer, int a, int b, const cvg_similarity *s, const char *conv)
{
    printf("%-12s %d,%-3d", layer, a + 1, b + 1);
    for (int k = 0; k < CVG_SIM_MEASURES; k++) {
        if (s->defined[k]) printf(" %9.4f", s->value[k]);
        else printf(" %9s", "n/a");
    }
    printf("  %s\n", conv[0] ? conv : "-");
}

static void print_header(void)
{
    printf("\n%-12s %-5s", "layer", "pair");
    const char *short_names[CVG_SIM_MEASURES] = {"CKA", "dCKA", "CCA rho", "CCA rho2", "SVCCA",
                                                 "PWCCA", "Procrust", "Gauss MI"};
    for (int k = 0; k < CVG_SIM_MEASURES; k++) printf(" %9s", short_names[k]);
    printf("  samples\n");
}

static void warn_undefined(const char *where, const cvg_similarity *s)
{
    for (int k = 0; k < CVG_SIM_MEASURES; k++)
        if (!s->defined[k])
            cli_error("warning: %s: %s undefined: %s", where, cvg_measure_name((cvg_measure)k), s->why[k]);
}

/* One layer directory: every pair of nets, each from its own blocks of comoment.npy (read
 * from the file opened by cvg_blocks_open: (S_a + S_b)^2 values, not D^2). */
static int layer_pairs(const char *name, const char *fingerprint, const cvg_blocks *all,
                       cvg_stats_matrix *comoment, const settings *cfg, const char *out_dir, cJSON *summary)
{
    int rc = 0;
    for (int a = 0; a < all->count && rc == 0; a++)
        for (int c = a + 1; c < all->count && rc == 0; c++) {
            if (cfg->pa >= 0 && !(a == cfg->pa && c == cfg->pb)) continue;
            cvg_blocks pair; /* blocks 0 and 1: nets a and c */
            cvg_status st = cvg_blocks_pair(all, comoment, a, c, &pair);
            if (st != CVG_OK) return cli_fail(st);
            const cvg_blocks *b = &pair;
            cvg_similarity s;
            st = cvg_blocks_similarity(b, 0, 1, &cfg->sim, &s);
            if (st != CVG_OK) {
                cvg_blocks_free(&pair);
                return cli_fail(st);
            }
            char where[256];
            snprintf(where, sizeof where, "layer %s, nets %d,%d", name, a + 1, c + 1);
            warn_undefined(where, &s);
            char file[128];
            if (s.rho && s.ncca > 0) {
                const int64_t shape[1] = {s.ncca};
                snprintf(file, sizeof file, "cca_%d_%d.npy", a + 1, c + 1);
                rc = save_npy(out_dir, file, CVG_F64, 1, shape, s.rho);
            }
            cvg_lasso_result lasso[2] = {{0}, {0}};
            const int with_lasso = cfg->lasso.path > 0;
            if (rc == 0 && with_lasso) {
                rc = lasso_direction(b, 0, 1, cfg, out_dir, &lasso[0]);
                if (rc == 0) rc = lasso_direction(b, 1, 0, cfg, out_dir, &lasso[1]);
            }
            if (rc == 0) {
                cvg_similarity_info info = {.net_a = b->net[0], .net_b = b->net[1],
                                            .samples = b->samples, .options = cfg->sim};
                snprintf(info.layer, sizeof info.layer, "%s", name);
                snprintf(info.stats_fingerprint, sizeof info.stats_fingerprint, "%s", fingerprint);
                snprintf(info.conv_samples, sizeof info.conv_samples, "%s", b->conv_samples);
                char path[4096];
                snprintf(path, sizeof path, "%s/similarity_%d_%d.json", out_dir, a + 1, c + 1);
                cvg_status sst = cvg_similarity_save(path, &s, &info, with_lasso ? lasso : NULL);
                if (sst != CVG_OK) rc = cli_fail(sst);
            }
            cvg_lasso_result_free(&lasso[0]);
            cvg_lasso_result_free(&lasso[1]);
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "layer", name);
            cJSON_AddStringToObject(row, "stats_fingerprint", fingerprint);
            cJSON_AddItemToObject(row, "nets", cJSON_CreateIntArray((const int[]){a + 1, c + 1}, 2));
            if (b->conv_samples[0]) cJSON_AddStringToObject(row, "conv_samples", b->conv_samples);
            add_measures(row, &s);
            cJSON_AddItemToArray(summary, row);
            if (rc == 0 && !cfg->quiet) print_row(name, a, c, &s, b->conv_samples);
            cvg_similarity_free(&s);
            cvg_blocks_free(&pair);
        }
    return rc;
}

/* A cross-layer directory: per pair of nets, the layer-by-layer matrix of every measure as
 * <measure>_<i>_<j>.npy (undefined cells hold 0) and .png, and cross_<i>_<j>.json. */
static int cross_pairs(const char *name, const char *fingerprint, const cvg_blocks *b, const settings *cfg,
                       const char *out_dir, cJSON *summary)
{
    const int K = b->nets;
    int rc = 0;
    for (int a = 0; a < K && rc == 0; a++)
        for (int c = a; c < K && rc == 0; c++) {
            if (cfg->pa >= 0 ? !(a == cfg->pa && c == cfg->pb) : (c == a && K > 1)) continue;
            cvg_layer_similarity ls;
            cvg_status st = cvg_layer_similarity_compute(b, a, c, &cfg->sim, &ls);
            if (st != CVG_OK) return cli_fail(st);
            snprintf(ls.stats_fingerprint, sizeof ls.stats_fingerprint, "%s", fingerprint);
            const int L = ls.layers;
            int undefined = 0;
            for (int at = 0; at < CVG_SIM_MEASURES * L * L; at++) undefined += !ls.defined[at];
            if (undefined > 0)
                cli_error("warning: %s, nets %d,%d: %d (measure, layer pair) cells are undefined; "
                          "the reasons are in cross_%d_%d.json", name, a + 1, c + 1, undefined, a + 1, c + 1);
            char path[4200];
            cJSON *mats = cJSON_CreateObject();
            for (int m = 0; m < CVG_SIM_MEASURES && rc == 0; m++) {
                const char *mname = cvg_measure_name((cvg_measure)m);
                const double *v = ls.value + m * L * L;
                const int64_t shape[2] = {L, L};
                snprintf(path, sizeof path, "%s_%d_%d.npy", mname, a + 1, c + 1);
                rc = save_npy(out_dir, path, CVG_F64, 2, shape, v);
                snprintf(path, sizeof path, "%s/%s_%d_%d.png", out_dir, mname, a + 1, c + 1);
                if (rc == 0 && (st = cvg_layer_similarity_heatmap(path, &ls, (cvg_measure)m)) != CVG_OK)
                    rc = cli_fail(st);
                cJSON *mat = cJSON_AddArrayToObject(mats, mname);
                for (int la = 0; la < L; la++) {
                    cJSON *row = cJSON_CreateArray();
                    for (int lb = 0; lb < L; lb++)
                        cJSON_AddItemToArray(row, ls.defined[m * L * L + la * L + lb]
                                                      ? cJSON_CreateNumber(v[la * L + lb]) : cJSON_CreateNull());
                    cJSON_AddItemToArray(mat, row);
                }
            }
            snprintf(path, sizeof path, "%s/cross_%d_%d.json", out_dir, a + 1, c + 1);
            if (rc == 0 && (st = cvg_layer_similarity_save(path, &ls)) != CVG_OK) rc = cli_fail(st);
            cJSON *row = cJSON_CreateObject();
            cJSON_AddStringToObject(row, "cross_layer", name);
            cJSON_AddStringToObject(row, "stats_fingerprint", fingerprint);
            cJSON_AddStringToObject(row, "conv_samples", b->conv_samples);
            cJSON_AddItemToObject(row, "nets", cJSON_CreateIntArray((const int[]){a + 1, c + 1}, 2));
            cJSON_AddItemToObject(row, "matrices", mats);
            cJSON_AddItemToArray(summary, row);
            if (rc == 0 && !cfg->quiet) {
                printf("\n%s: linear CKA, net %d (rows) vs net %d (columns); samples: the inputs, "
                       "conv layers averaged over positions (conv samples mean)\n%-12s", name, a + 1, c + 1, "");
                for (int lb = 0; lb < L; lb++) printf(" %9.9s", ls.layer[lb]);
                printf("\n");
                for (int la = 0; la < L; la++) {
                    printf("%-12.12s", ls.layer[la]);
                    for (int lb = 0; lb < L; lb++)
                        if (ls.defined[la * L + lb]) printf(" %9.4f", ls.value[la * L + lb]);
                        else printf(" %9s", "n/a");
                    printf("\n");
                }
            }
            cvg_layer_similarity_free(&ls);
        }
    return rc;
}

/* --pair i,j into the 0-based pair, smaller first (dest: settings); i == j is checked per
 * directory, where it is known whether the directory is cross-layer. */
static int parse_pair(const char *command, const char *text, void *dest)
{
    settings *cfg = dest;
    if (cli_parse_pair(command, text, 1, &cfg->pa, &cfg->pb) != 0) return 2;
    if (cfg->pa > cfg->pb) {
        const int t = cfg->pa;
        cfg->pa = cfg->pb;
        cfg->pb = t;
    }
    return 0;
}

int cmd_similarity(int argc, char **argv)
{
    settings cfg;
    cli_similarity_settings_init(&cfg);
    const char *stats = NULL, *out = NULL, *only = NULL;
    int npos;
    const cli_option opts[] = {
        {.name = "out", .short_name = 'o', .type = CLI_STRING, .dest = &out, .metavar = "DIR",
         .help = "output directory (required)"},
        {.name = "layer", .type = CLI_STRING, .dest = &only, .metavar = "L",
         .help = "only this layer or cross-layer directory", .default_text = "all"},
        {.name = "pair", .type = CLI_CALL, .dest = &cfg, .parse = parse_pair, .metavar = "I,J",
         .help = "only this pair of networks", .default_text = "every pair i < j"},
        {.name = "ridge", .type = CLI_DOUBLE, .dest = &cfg.sim.ridge, .min = 0, .max = 1, .max_open = 1,
         .metavar = "E", .help = "relative ridge added to covariances before whitening"},
        {.name = "svcca-variance", .type = CLI_DOUBLE, .dest = &cfg.sim.svcca_variance, .min = 0,
         .min_open = 1, .max = 1, .metavar = "V", .help = "fraction of variance SVCCA keeps per side"},
        {.name = "lasso-path", .type = CLI_INT, .dest = &cfg.lasso.path, .min = 0, .max = 10000,
         .metavar = "N", .help = "lambdas on the lasso path, 0: no lasso"},
        {.name = "lasso-min-ratio", .type = CLI_DOUBLE, .dest = &cfg.lasso.min_ratio, .min = 0,
         .min_open = 1, .max = 1, .metavar = "R", .help = "smallest lambda / largest"},
        {.name = "lasso-tol", .type = CLI_DOUBLE, .dest = &cfg.lasso.tol, .min = 0, .min_open = 1,
         .max = HUGE_VAL, .metavar = "T", .help = "coordinate descent tolerance"},
        {.name = "quiet", .short_name = 'q', .type = CLI_FLAG, .dest = &cfg.quiet, .help = "no table"},
    };
    const cli_spec spec = {"similarity", "STATS -o OUT [options]", similarity_description,
                           "stats directory", 1, opts, CLI_COUNT(opts)};
    int rc = cli_parse(&spec, argc, argv, &stats, &npos);
    if (rc == CLI_HELP_SHOWN) return 0;
    if (rc == 0 && !stats) rc = cli_usage_error("similarity", "missing the stats directory");
    if (rc == 0 && !out) rc = cli_usage_error("similarity", "missing -o OUT");
    return rc != 0 ? rc : cli_similarity(stats, out, only, &cfg);
}

void cli_similarity_settings_init(cli_similarity_settings *cfg)
{
    cvg_similarity_options_init(&cfg->sim);
    cvg_lasso_options_init(&cfg->lasso);
    cfg->pa = cfg->pb = -1;
    cfg->quiet = 0;
}

int cli_similarity(const char *stats, const char *out, const char *only, const cli_similarity_settings *cfg_)
{
    const cli_similarity_settings cfg = *cfg_;
    int rc = 0;
    cli_install_log(cfg.quiet);

    char *one[1] = {(char *)only}, **dirs = one, **listed = NULL;
    int ndirs = 1;
    cvg_status recovered = cvg_result_recover(stats); /* a publication cut short is completed */
    if (recovered != CVG_OK) return cli_fail(recovered);
    if (!only && cli_list_stats_dirs(stats, &listed, NULL, &ndirs) != 0) return 1;
    if (listed) dirs = listed;
    /* OUT is one result set: a new version (every layer, or with --layer the others kept) */
    cvg_result_set *rs = NULL;
    if (cli_output_begin(out, only != NULL, &rs) != 0 || (only && cli_output_drop(rs, only) != 0)) {
        cvg_free(listed);
        return cli_output_finish(rs, 1);
    }
    out = cvg_result_dir(rs); /* messages name the published OUT (cli_output_rename) */
    cJSON *summary = cJSON_CreateObject();
    cJSON_AddNumberToObject(summary, "ridge", cfg.sim.ridge);
    cJSON_AddNumberToObject(summary, "svcca_variance", cfg.sim.svcca_variance);
    cJSON *rows = cJSON_AddArrayToObject(summary, "results");
    int header = 0;
    for (int l = 0; l < ndirs && rc == 0; l++) {
        char in_dir[4096], out_dir[4096];
        snprintf(in_dir, sizeof in_dir, "%s/%s", stats, dirs[l]);
        snprintf(out_dir, sizeof out_dir, "%s/%s", out, dirs[l]);
        cvg_blocks b;
        cvg_stats_matrix *comoment = NULL; /* a layer's, opened for its pairs' blocks */
        char before[CVG_FINGERPRINT_SIZE] = ""; /* and after the open: no swap in between */
        if (cvg_stats_fingerprint(in_dir, before) != CVG_OK) before[0] = '\0'; /* load reports why */
        cvg_status st = cvg_blocks_open(in_dir, &b, &comoment);
        if (st != CVG_OK) {
            rc = cli_fail(st);
            break;
        }
        if (cfg.pa >= 0 && cfg.pb >= b.nets)
            rc = cli_error("--pair %d,%d: %s has %d networks", cfg.pa + 1, cfg.pb + 1, in_dir, b.nets);
        else if (cfg.pa >= 0 && cfg.pa == cfg.pb && !b.cross)
            rc = cli_error("--pair %d,%d: a network against itself is only offered for cross-layer "
                           "directories (%s is one layer)", cfg.pa + 1, cfg.pb + 1, in_dir);
        else if (!b.cross && b.nets < 2 && cfg.pa < 0)
            rc = cli_error("%s: the layer has %d network; similarity needs two or more", in_dir, b.nets);
        else if ((st = cvg_mkdirs(out_dir)) != CVG_OK)
            rc = cli_fail(st);
        char fingerprint[CVG_FINGERPRINT_SIZE] = "";
        if (rc == 0 && (st = cvg_stats_fingerprint(in_dir, fingerprint)) != CVG_OK) rc = cli_fail(st);
        if (rc == 0 && strcmp(before, fingerprint) != 0)
            rc = cli_error("%s: the statistics were rewritten while being read; run the command again", in_dir);
        if (rc == 0 && !b.cross) {
            if (!cfg.quiet && !header) print_header(), header = 1;
            rc = layer_pairs(dirs[l], fingerprint, &b, comoment, &cfg, out_dir, rows);
        } else if (rc == 0) {
            rc = cross_pairs(dirs[l], fingerprint, &b, &cfg, out_dir, rows);
        }
        cvg_blocks_free(&b);
        cvg_stats_matrix_free(comoment);
    }
    if (rc == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/similarity.json", out);
        rc = cli_write_json(path, summary);
    }
    rc = cli_output_finish(rs, rc);
    cJSON_Delete(summary);
    cvg_free(listed);
    return rc;
}
