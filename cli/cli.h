/* The convergent command-line tool: shared helpers of the subcommands. */
#ifndef CVG_CLI_H
#define CVG_CLI_H

#include <stdint.h>

#include "convergent.h"

typedef int (*cli_command_fn)(int argc, char **argv);

int cmd_stats(int argc, char **argv);
int cmd_match(int argc, char **argv);
int cmd_mi(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_extract(int argc, char **argv);

/* Run checkpoints over a dataset split and write every layer's statistics to out (used by
 * `stats --nets` and `run`). 0, or 1 after printing an error. */
int cli_measure_nets(char **checkpoints, int K, const char *data_dir, const char *split,
                     int64_t limit, const cvg_stats_options *stats_opt, const char *out, int quiet);
int cmd_similarity(int argc, char **argv);

/* Print "convergent: <message>" on stderr; returns the exit code for errors (1). */
int cli_error(const char *fmt, ...);
/* Print a library failure: its status and cvg_last_error(). Returns 1. */
int cli_fail(cvg_status st);
/* Usage error: message plus "see 'convergent CMD --help'". Returns 2. */
int cli_usage_error(const char *command, const char *fmt, ...);

/* Parse helpers: return 0 on success, or print a usage error and return 2. */
int cli_parse_int64(const char *command, const char *option, const char *text, int64_t min,
                    int64_t *out);
int cli_parse_uint64(const char *command, const char *option, const char *text, uint64_t max,
                     uint64_t *out);
int cli_parse_double(const char *command, const char *option, const char *text, double *out);

/* "i,j" (networks numbered from 1, different) into 0-based *a, *b; 0 or a usage error (2). */
int cli_parse_pair(const char *command, const char *text, int *a, int *b);

/* The option's value: argv[++*i], or a usage error if missing (returns NULL). */
const char *cli_option_value(const char *command, int argc, char **argv, int *i);

/* The layers of a stats directory (subdirectories holding a meta.json), in natural order
 * (conv2 before conv10). Returns 0, or prints an error and returns 1. */
int cli_list_layers(const char *dir, char ***names, int *count);
void cli_free_list(char **list, int count);

/* mkdir -p; 0, or 1 after printing an error. */
int cli_make_dirs(const char *dir);

/* Write a JSON document atomically (temporary name, then rename). 0, or 1 after an error. */
struct cJSON;
int cli_write_json(const char *path, const struct cJSON *json);

/* Library messages to stderr (warnings and errors; info too unless quiet). */
void cli_install_log(int quiet);

/* A progress bar on stderr, drawn only when stderr is a terminal. */
int cli_progress(const char *task, uint64_t done, uint64_t total, void *user);
void cli_progress_end(void);

#endif
