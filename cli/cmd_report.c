/* convergent report: the figures and report.html for a results directory. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void help(void)
{
    printf("usage: convergent report RESULTS [-o RESULTS/report.html]\n\n"
           "Draws the paper's figures for the networks at hand and writes one HTML page that a\n"
           "browser opens from disk: a summary, Table 1 beside the paper's, every figure with a\n"
           "caption saying what to look for, links to the .npy and JSON data. RESULTS holds\n"
           "stats/ (convergent stats and mi) and, when they were run, match/ (convergent match).\n"
           "Figures go to figures/ beside the page. Figures whose data is missing are left out\n"
           "with a note.\n\n"
           "options:\n"
           "  -o, --out FILE   the page (default: RESULTS/report.html)\n"
           "  -q, --quiet      no message\n");
}

int cmd_report(int argc, char **argv)
{
    const char *results = NULL, *out = NULL;
    int quiet = 0, rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            help();
            return 0;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0) {
            rc = !(out = cli_option_value("report", argc, argv, &i)) ? 2 : 0;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else {
            rc = cli_single_argument("report", a, &results, "results directory");
        }
    }
    if (rc == 0 && !results) rc = cli_usage_error("report", "missing the results directory");
    if (rc != 0) return rc;
    char default_out[4096];
    if (!out) {
        snprintf(default_out, sizeof default_out, "%s/report.html", results);
        out = default_out;
    }
    cli_install_log(1);
    cvg_status st = cvg_report_write(results, out);
    if (st != CVG_OK) return cli_fail(st);
    if (!quiet) printf("report written to %s\n", out);
    return 0;
}
