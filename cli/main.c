/* convergent: the command-line tool. Each subcommand is a thin layer over libconvergent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "distributed.h"

typedef struct command {
    const char *name;
    cli_command_fn run;
    const char *summary;
    int distributed; /* shares its work between MPI ranks (cli/distributed.c) */
} command;

static const command COMMANDS[] = {
    {"run", cmd_run, "the main job: train K networks, measure, align, cluster, report, Table 1", 0},
    {"stats", cmd_stats, "one streaming pass: means, stds, correlations, reservoir (paper 2)", 1},
    {"mi", cmd_mi, "mutual information of unit pairs from the reservoir (paper 3.2)", 1},
    {"match", cmd_match, "one-to-one alignment: semi-matching, matching, Table 1 (paper 3.1)", 0},
    {"cluster", cmd_cluster, "many-to-many alignment: spectral clustering of units (paper 4)", 0},
    {"report", cmd_report, "the paper's figures and report.html for a results directory", 0},
    {"train", cmd_train, "train one network on Fashion-MNIST (paper 2), safetensors checkpoints", 0},
    {"extract", cmd_extract, "one layer's activations over a dataset split, to .npy", 0},
    {"similarity", cmd_similarity, "CKA, CCA, SVCCA, PWCCA, Procrustes, lasso from the statistics", 0},
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: convergent COMMAND [options]\n"
            "Do different neural networks learn the same representations? (Li et al.,\n"
            "\"Convergent Learning\")\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\n'convergent COMMAND --help' shows a command's options and defaults.\n"
                 "'convergent --version' prints the version.\n");
}

/* OpenMP's default wait policy lets idle threads spin at every barrier for a while; when other
 * jobs share the cores, that spinning takes the CPU the working threads need (measured at load
 * 2.6 on 2 cores: the stats pass 7.8 s -> 5.0 s and 8192-unit clustering 27.6 s -> 13.7 s with
 * passive waiting; docs/statistics.md). The runtime reads the policy when it loads, before main,
 * so the tool sets it and starts itself again, once. A policy set by the user is kept. */
static void prefer_passive_waiting(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    execv("/proc/self/exe", argv); /* returns only on failure: go on with the default policy */
}

int main(int argc, char **argv)
{
    prefer_passive_waiting(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("convergent %s\n", cvg_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++) {
        if (strcmp(argv[1], COMMANDS[i].name) != 0) continue;
        cli_dist_start(&argc, &argv);
        if (cli_dist_size() > 1 && !COMMANDS[i].distributed)
            return cli_dist_finish(cli_error("%s runs in one process: run it without mpirun (only "
                                             "stats and mi share work between ranks)", argv[1]));
        return cli_dist_finish(COMMANDS[i].run(argc - 1, argv + 1));
    }
    fprintf(stderr, "convergent: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
