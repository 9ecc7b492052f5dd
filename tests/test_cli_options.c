/* The table-driven option parser through the built tool: numbers out of their row's bounds
 * are usage errors (exit 2) naming the option, --name=value is read like --name value, a
 * missing value is an error, and every command's --help lists each of its options with the
 * default the command starts from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

/* Exit status of `convergent ARGS`, its stderr in err (so that messages can be checked). */
static int run_cli(const char *err, const char *args)
{
    return test_system("'%s' %s 2>'%s' >/dev/null", CVG_CLI, args, err);
}

static void expect_usage_error(const char *dir, const char *args, const char *option)
{
    char err[1024];
    snprintf(err, sizeof err, "%s/err.txt", dir);
    int rc = run_cli(err, args);
    if (rc != 2) fail_msg("'%s': exit %d, expected 2", args, rc);
    if (test_system("grep -qF -- '%s' '%s'", option, err) != 0) fail_msg("'%s': the message does not name %s", args, option);
}

static void test_bounds(void **state)
{
    (void)state;
    char *dir = test_tmpdir("cli_options_bounds");
    expect_usage_error(dir, "mi stats --threads 65536", "--threads");
    expect_usage_error(dir, "mi stats --bins 0", "--bins");
    expect_usage_error(dir, "mi stats --bins 1x", "--bins");
    expect_usage_error(dir, "mi stats --zero-threshold nan", "--zero-threshold");
    expect_usage_error(dir, "stats -o out --layer fc --row-offset 9223372036854775807 a.npy", "--row-offset");
    expect_usage_error(dir, "stats -o out --layer fc --seed -1 a.npy", "--seed");
    expect_usage_error(dir, "cluster stats -o out --alpha 0", "--alpha");
    expect_usage_error(dir, "cluster stats -o out --laplacian lazy", "--laplacian");
    expect_usage_error(dir, "train -o x --momentum 1", "--momentum");
    expect_usage_error(dir, "train -o x --epochs 100001", "--epochs");
    expect_usage_error(dir, "run --nets 17", "--nets");
    expect_usage_error(dir, "similarity stats -o out --ridge=1", "--ridge");
    expect_usage_error(dir, "extract net --layer fc -o x --threads 2000", "--threads");
    expect_usage_error(dir, "stats -o out --layer fc --threads 1025 a.npy", "--threads");
    expect_usage_error(dir, "train -o x --threads 1025", "--threads");
    expect_usage_error(dir, "stats -o out --layer fc --row-offset 9007199254740992 a.npy", "--row-offset");
    free(dir);
}

static void test_syntax(void **state)
{
    (void)state;
    char *dir = test_tmpdir("cli_options_syntax");
    char err[1024], args[2048];
    snprintf(err, sizeof err, "%s/err.txt", dir);
    /* --name=value is taken: the command gets past parsing to the missing directory (exit 1) */
    snprintf(args, sizeof args, "mi '%s/none' --bins=5 --layer=fc", dir);
    assert_int_equal(run_cli(err, args), 1);
    snprintf(args, sizeof args, "mi '%s/none' --bins=0", dir);
    assert_int_equal(run_cli(err, args), 2);
    /* a missing value, an unknown option, a value given to a flag, a second positional */
    expect_usage_error(dir, "mi stats --bins", "--bins");
    expect_usage_error(dir, "mi stats --nope", "--nope");
    expect_usage_error(dir, "mi stats --bits=1", "--bits");
    expect_usage_error(dir, "report a b", "'b'");
    expect_usage_error(dir, "train -o", "-o");
    free(dir);
}

/* Each command's options with the default its help must show (NULL: none shown). */
typedef struct help_row {
    const char *command, *option, *def;
} help_row;

static const help_row help_rows[] = {
    {"report", "--out", "RESULTS/report.html"}, {"report", "--quiet", NULL},
    {"extract", "--layer", NULL}, {"extract", "--out", NULL}, {"extract", "--split", "test"},
    {"extract", "--data", CVG_DEFAULT_DATA_DIR}, {"extract", "--limit", "all"},
    {"extract", "--threads", "0"}, {"extract", "--quiet", NULL},
    {"mi", "--layer", "every layer"}, {"mi", "--bins", "20"}, {"mi", "--zero-threshold", "1e-06"},
    {"mi", "--bias-correction", "plug-in estimate"}, {"mi", "--bits", "natural log, nats"},
    {"mi", "--threads", "0"}, {"mi", "--include-dead", "left out, counted"}, {"mi", "--quiet", NULL},
    {"match", "--layer", "every layer"}, {"match", "--out", NULL}, {"match", "--pair", "every pair"},
    {"match", "--metric", "corr"}, {"match", "--include-dead", "left out, counted"}, {"match", "--quiet", NULL},
    {"cluster", "--layer", "every layer"}, {"cluster", "--out", NULL}, {"cluster", "--pair", "every pair"},
    {"cluster", "--k", "the paper"}, {"cluster", "--tau", "0.2"}, {"cluster", "--alpha", "0.025"},
    {"cluster", "--min-split", "4"}, {"cluster", "--seed", "1"}, {"cluster", "--restarts", "10"},
    {"cluster", "--laplacian", "unnormalized"}, {"cluster", "--refine", "off: the paper"},
    {"cluster", "--first-layer", "from meta.json"},
    {"cluster", "--quiet", NULL},
    {"similarity", "--out", NULL}, {"similarity", "--layer", "all"}, {"similarity", "--pair", "every pair"},
    {"similarity", "--ridge", "1e-06"}, {"similarity", "--svcca-variance", "0.99"},
    {"similarity", "--lasso-path", "30"}, {"similarity", "--lasso-min-ratio", "0.01"},
    {"similarity", "--lasso-tol", "1e-07"}, {"similarity", "--quiet", NULL},
    {"train", "--out", NULL}, {"train", "--arch", "default"}, {"train", "--epochs", "8"},
    {"train", "--seed", "1"}, {"train", "--data-seed", "1"}, {"train", "--batch", "64"},
    {"train", "--lr", "0.02"}, {"train", "--schedule", "cosine"}, {"train", "--lr-gamma", "0.1"},
    {"train", "--lr-step", "2"}, {"train", "--momentum", "0.9"}, {"train", "--weight-decay", "0.0005"},
    {"train", "--threads", "0"}, {"train", "--data", CVG_DEFAULT_DATA_DIR}, {"train", "--train-limit", "all"},
    {"train", "--test-limit", "all"}, {"train", "--resume", NULL}, {"train", "--history", "NET with"},
    {"train", "--quiet", NULL},
    {"stats", "--out", NULL}, {"stats", "--layer", NULL}, {"stats", "--layout", "nchw"},
    {"stats", "--reservoir", "60000"}, {"stats", "--seed", "1"}, {"stats", "--row-offset", "0"},
    {"stats", "--threads", "0"}, {"stats", "--skip-nonfinite", NULL}, {"stats", "--chunk-rows", "32 MB"},
    {"stats", "--kernel", "auto"}, {"stats", "--merge", NULL}, {"stats", "--nets", NULL},
    {"stats", "--split", "test"}, {"stats", "--data", CVG_DEFAULT_DATA_DIR}, {"stats", "--limit", "0"},
    {"stats", "--cross-layer", NULL}, {"stats", "--layers", NULL}, {"stats", "--checkpoint-every", "60"},
    {"stats", "--resume", NULL}, {"stats", "--quiet", NULL},
    {"run", "--out", "convergent-run"}, {"run", "--nets", "4"}, {"run", "--quick", NULL},
    {"run", "--arch", "default"}, {"run", "--epochs", "5"}, {"run", "--lr", "0.02"}, {"run", "--jobs", "0"},
    {"run", "--train-limit", "0"},
    {"run", "--test-limit", "0"}, {"run", "--data", CVG_DEFAULT_DATA_DIR}, {"run", "--quiet", NULL},
};

static void test_help(void **state)
{
    (void)state;
    char *dir = test_tmpdir("cli_options_help");
    for (size_t r = 0; r < sizeof help_rows / sizeof help_rows[0]; r++) {
        const help_row *h = &help_rows[r];
        char line[1024];
        snprintf(line, sizeof line, "%s/%s%s.txt", dir, h->command, h->option);
        /* the option's own line: "  --name ..." or "  -x, --name ..." */
        if (test_system("'%s' %s --help | grep -E -- '^  (-[a-z], )?%s( |$)' > '%s'", CVG_CLI, h->command,
                        h->option, line) != 0)
            fail_msg("convergent %s --help does not list %s", h->command, h->option);
        if (h->def && test_system("grep -qF '(default: %s' '%s'", h->def, line) != 0)
            fail_msg("convergent %s --help: %s does not show the default '%s'", h->command, h->option, h->def);
    }
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
