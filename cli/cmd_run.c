/* convergent run: the main job. The paper's experiment end to end at one machine's scale: train
 * K networks that differ only in their random initialization, measure every layer on the test
 * set, align them one-to-one (correlation and mutual information), cluster them many-to-many,
 * write the report and print Table 1. Each step is the subcommand of the same name; finished
 * checkpoints are reused, so an interrupted run continues where it stopped. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

typedef struct run_config {
    const char *out, *arch, *data;
    int nets, epochs, quiet;
    int64_t train_limit, test_limit, reservoir;
} run_config;

static void defaults(run_config *c, int quick)
{
    c->arch = "default";
    c->epochs = quick ? 1 : 2;
    c->train_limit = quick ? 12000 : 0;
    c->test_limit = quick ? 1000 : 0;
    c->reservoir = quick ? 20000 : 60000;
}

static void help(void)
{
    run_config d, q;
    defaults(&d, 0);
    defaults(&q, 1);
    printf("usage: convergent run [-o DIR] [--nets K] [--quick] [options]\n\n"
           "The paper's experiment end to end: trains K networks of one architecture on\n"
           "Fashion-MNIST from different random initializations (same data order), measures every\n"
           "layer on the test set, aligns the units one-to-one by correlation and by mutual\n"
           "information, clusters them many-to-many, writes DIR/report.html and prints Table 1.\n"
           "Finished checkpoints in DIR/nets are reused; an interrupted run continues.\n\n"
           "DIR holds nets/ (checkpoints and training histories), stats/ (statistics and MI),\n"
           "match/ and match_mi/ (one-to-one alignment), cluster/ and similarity/ (pair 1-2),\n"
           "report.html.\n\n"
           "options:\n"
           "  -o, --out DIR        results directory (default: convergent-run)\n"
           "  --nets K             networks (default: 4)\n"
           "  --quick              a first look in a few minutes: architecture '%s', %d epoch on\n"
           "                       %lld training images, %lld test images measured\n"
           "  --arch A             architecture (default: %s)\n"
           "  --epochs E           training epochs per network (default: %d)\n"
           "  --train-limit N      training images (default: all 60,000)\n"
           "  --test-limit N       test images measured (default: all 10,000)\n"
           "  --data DIR           IDX dataset directory (default: %s)\n"
           "  -q, --quiet          only Table 1\n",
           q.arch, q.epochs, (long long)q.train_limit, (long long)q.test_limit, d.arch, d.epochs,
           CVG_DEFAULT_DATA_DIR);
}

/* Run a subcommand with a NULL-terminated argument list. */
static int sub(cli_command_fn fn, const char *name, ...)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)name;
    va_list ap;
    va_start(ap, name);
    const char *a;
    while ((a = va_arg(ap, const char *)) && argc < 63) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    return fn(argc, argv);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void step(const run_config *c, const char *what, double t0)
{
    if (!c->quiet) printf("\n== %s (%.0f s so far)\n", what, now() - t0);
    fflush(stdout);
}

int cmd_run(int argc, char **argv)
{
    run_config c = {.out = "convergent-run", .nets = 4, .data = NULL};
    int quick = 0, rc = 0;
    for (int i = 1; i < argc; i++) /* --quick first: it sets the defaults others override */
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
    defaults(&c, quick);
    int64_t n;
    const char *v;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help();
            return 0;
        } else if (strcmp(a, "--quick") == 0) {
            continue;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
            rc = !(c.out = cli_option_value("run", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--nets") == 0) {
            rc = !(v = cli_option_value("run", argc, argv, &i)) ? 2 : cli_parse_int64("run", a, v, 2, &n);
            if (rc == 0 && n > 16) rc = cli_usage_error("run", "--nets: at most 16");
            c.nets = (int)n;
        } else if (strcmp(a, "--arch") == 0) {
            rc = !(c.arch = cli_option_value("run", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "--epochs") == 0) {
            rc = !(v = cli_option_value("run", argc, argv, &i)) ? 2 : cli_parse_int64("run", a, v, 1, &n);
            c.epochs = (int)n;
        } else if (strcmp(a, "--train-limit") == 0) {
            rc = !(v = cli_option_value("run", argc, argv, &i)) ? 2 : cli_parse_int64("run", a, v, 0, &c.train_limit);
        } else if (strcmp(a, "--test-limit") == 0) {
            rc = !(v = cli_option_value("run", argc, argv, &i)) ? 2 : cli_parse_int64("run", a, v, 0, &c.test_limit);
        } else if (strcmp(a, "--data") == 0) {
            rc = !(c.data = cli_option_value("run", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            c.quiet = 1;
        } else {
            rc = cli_usage_error("run", "unknown argument '%s'", a);
        }
    }
    if (rc != 0) return rc;
    const double t0 = now();
    char nets_dir[4096], stats[4096], match[4096], match_mi[4096], cluster[4096];
    char epochs[32], train_limit[32], test_limit[32], reservoir[32];
    snprintf(nets_dir, sizeof nets_dir, "%s/nets", c.out);
    snprintf(stats, sizeof stats, "%s/stats", c.out);
    snprintf(match, sizeof match, "%s/match", c.out);
    snprintf(match_mi, sizeof match_mi, "%s/match_mi", c.out);
    snprintf(cluster, sizeof cluster, "%s/cluster", c.out);
    snprintf(epochs, sizeof epochs, "%d", c.epochs);
    snprintf(train_limit, sizeof train_limit, "%lld", (long long)c.train_limit);
    snprintf(test_limit, sizeof test_limit, "%lld", (long long)c.test_limit);
    snprintf(reservoir, sizeof reservoir, "%lld", (long long)c.reservoir);
    if (cli_make_dirs(nets_dir) != 0) return 1;
    const char *data = c.data ? c.data : CVG_DEFAULT_DATA_DIR;
    const char *q = c.quiet ? "-q" : NULL; /* NULL ends the list early: -q must come last */

    char *ckpt[16];
    for (int k = 0; k < c.nets && rc == 0; k++) {
        char what[64], seed[16];
        snprintf(what, sizeof what, "training net %d of %d", k + 1, c.nets);
        step(&c, what, t0);
        ckpt[k] = malloc(4200);
        snprintf(ckpt[k], 4200, "%s/net%d.safetensors", nets_dir, k + 1);
        snprintf(seed, sizeof seed, "%d", k + 1);
        const char *args[32] = {"train", "-o", ckpt[k], "--arch", c.arch, "--epochs", epochs,
                                "--seed", seed, "--data-seed", "1", "--data", data, "--resume"};
        int nargs = 14;
        if (c.train_limit > 0) args[nargs++] = "--train-limit", args[nargs++] = train_limit;
        if (c.test_limit > 0) args[nargs++] = "--test-limit", args[nargs++] = test_limit;
        if (c.quiet) args[nargs++] = "-q";
        rc = cmd_train(nargs, (char **)args);
        if (rc != 0) {
            for (int j = 0; j <= k; j++) free(ckpt[j]);
            return rc;
        }
    }
    if (rc == 0) {
        step(&c, "measuring every layer on the test set", t0);
        cvg_stats_options so;
        cvg_stats_options_init(&so);
        so.reservoir = c.reservoir;
        rc = cli_measure_nets(ckpt, c.nets, data, "test", c.test_limit, &so, stats, 1);
    }
    for (int k = 0; k < c.nets; k++) free(ckpt[k]);
    if (rc == 0) step(&c, "mutual information", t0);
    if (rc == 0) rc = sub(cmd_mi, "mi", stats, "-q", NULL);
    if (rc == 0) step(&c, "clustering (nets 1 and 2)", t0);
    if (rc == 0) rc = sub(cmd_cluster, "cluster", stats, "-o", cluster, "--pair", "1,2", q, NULL);
    char similarity[4096];
    snprintf(similarity, sizeof similarity, "%s/similarity", c.out);
    if (rc == 0) step(&c, "linear similarity measures (nets 1 and 2)", t0);
    if (rc == 0) rc = sub(cmd_similarity, "similarity", stats, "-o", similarity, "--pair", "1,2",
                          "--lasso-path", "10", "-q", NULL);
    if (rc == 0) step(&c, "one-to-one alignment by mutual information", t0);
    if (rc == 0) rc = sub(cmd_match, "match", stats, "-o", match_mi, "--metric", "mi", "-q", NULL);
    if (rc == 0) step(&c, "one-to-one alignment by correlation: Table 1", t0);
    if (rc == 0) rc = sub(cmd_match, "match", stats, "-o", match, NULL);
    char report[4200];
    snprintf(report, sizeof report, "%s/report.html", c.out);
    if (rc == 0) rc = sub(cmd_report, "report", c.out, "-o", report, "-q", NULL);
    if (rc == 0) printf("\nfinished in %.0f s; open %s\n", now() - t0, report);
    return rc;
}
