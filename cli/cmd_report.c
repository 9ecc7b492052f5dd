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
    cvg_result_set *rs = NULL;
    cli_install_log(1);
    if (!out) {
        /* The page in RESULTS: a new version of RESULTS (the rest linked in) with a new page
         * and figures/, published as one unit. A page elsewhere (-o) is written on its own. */
        if (cli_output_begin(results, 1, &rs) != 0 || cli_output_drop(rs, "figures") != 0)
            return cli_output_finish(rs, 1);
        snprintf(default_out, sizeof default_out, "%s/report.html", cvg_result_dir(rs));
    }
    char shown[4096];
    cli_output_rename(rs ? cvg_result_dir(rs) : results, shown, sizeof shown); /* the published name */
    cvg_status st = cvg_report_write_as(rs ? cvg_result_dir(rs) : results, rs ? default_out : out, shown);
    int rc = cli_output_finish(rs, st == CVG_OK ? 0 : cli_fail(st));
    if (rc == 0 && !quiet) printf("report written to %s%s\n", out ? out : results, out ? "" : "/report.html");
    return rc;
}
