/* convergent report: the figures and report.html for a results directory. */
#include <stdio.h>

#include "cli.h"

static const char report_description[] =
    "Draws the paper's figures for the networks at hand and writes one HTML page that a\n"
    "browser opens from disk: a summary, Table 1 beside the paper's, every figure with a\n"
    "caption saying what to look for, links to the .npy and JSON data. RESULTS holds\n"
    "stats/ (convergent stats and mi) and, when they were run, match/ (convergent match).\n"
    "Figures go to figures/ beside the page. Figures whose data is missing are left out\n"
    "with a note.";

int cmd_report(int argc, char **argv)
{
    const char *results = NULL, *out = NULL;
    int quiet = 0, npos;
    const cli_option rows[] = {
        {.name = "out", .short_name = 'o', .type = CLI_STRING, .dest = &out, .metavar = "FILE",
         .help = "the page", .default_text = "RESULTS/report.html"},
        {.name = "quiet", .short_name = 'q', .type = CLI_FLAG, .dest = &quiet, .help = "no message"},
    };
    const cli_spec spec = {"report", "RESULTS [options]", report_description, "results directory", 1,
                           rows, CLI_COUNT(rows)};
    int rc = cli_parse(&spec, argc, argv, &results, &npos);
    if (rc == CLI_HELP_SHOWN) return 0;
    if (rc == 0 && !results) rc = cli_usage_error("report", "missing the results directory");
    return rc != 0 ? rc : cli_report(results, out, quiet);
}

int cli_report(const char *results, const char *out, int quiet)
{
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
