/* One option parser for every subcommand: each command describes its options as rows (name,
 * type, destination, bounds, help), and the same rows parse argv and print --help, so every
 * number is parsed and bounded one way and every default shown is the value the command
 * starts from (its struct after the library's *_options_init), never a copy in the text. */
#ifndef CVG_CLI_OPTIONS_H
#define CVG_CLI_OPTIONS_H

#include <stdint.h>

typedef enum cli_type {
    CLI_FLAG,   /* no value: sets the int at dest to 1 */
    CLI_FLAG_OFF, /* no value: sets the int at dest to 0 (--no-refine) */
    CLI_INT,    /* int, within [min, max] */
    CLI_INT64,  /* int64_t, within [min, max] */
    CLI_UINT64, /* uint64_t, within [min, max] */
    CLI_DOUBLE, /* double, finite and within [min, max] */
    CLI_STRING, /* const char *: the argv string itself */
    CLI_CHOICE, /* int: the index of the value among choices (NULL-terminated) */
    CLI_CALL    /* parse(command, value, dest) reads the value; returns 0, or 2 after a usage error */
} cli_type;

typedef struct cli_option {
    const char *name;          /* long name, without "--" */
    char short_name;           /* e.g. 'o' for -o, or 0 */
    cli_type type;
    void *dest;
    double min, max;           /* bounds of a number, included unless open */
    unsigned char min_open, max_open; /* 1: the bound is excluded (--lr > 0, --momentum < 1) */
    const char *metavar;       /* the value's name in help, e.g. "T" */
    const char *help;
    const char *const *choices;
    int (*parse)(const char *command, const char *value, void *dest);
    const char *default_text;  /* shown instead of the current value (e.g. "every layer"),
                                  and for a string or callback option without one */
} cli_option;

typedef struct cli_spec {
    const char *command;      /* the subcommand, for messages: "mi" */
    const char *usage;        /* after "usage: convergent mi ": "STATS [options]" */
    const char *description;  /* the paragraph under the usage line */
    const char *positional;   /* what a positional argument is, for messages: "stats directory" */
    int max_positionals;
    const cli_option *options;
    int count;
} cli_spec;

#define CLI_COUNT(rows) ((int)(sizeof(rows) / sizeof((rows)[0])))
/* Upper bound for integers with no limit of their own; the largest int64 a double holds. */
#define CLI_NO_MAX 9.2e18
/* cli_parse's answer after -h/--help printed the help: the command exits with 0. */
#define CLI_HELP_SHOWN (-1)

/* Parse argv[1..argc) against spec's rows: "--name value", "--name=value", "-x value"; "--"
 * ends the options. Positional arguments go to positionals[0..*npositionals). Returns 0,
 * CLI_HELP_SHOWN, or 2 after printing a usage error (unknown option, missing or malformed
 * value, number out of bounds, too many positionals). */
int cli_parse(const cli_spec *spec, int argc, char **argv, const char **positionals,
              int *npositionals);

/* The help: usage line, description, one line per row with its default. */
void cli_print_help(const cli_spec *spec);

/* "--pair I,J": two network numbers from 1 into 0-based *a, *b (in the order given); a
 * network against itself only with allow_same. A usage error (exit 2) otherwise. */
int cli_parse_pair(const char *command, const char *text, int allow_same, int *a, int *b);

#endif
