/* The convergent command-line tool: shared helpers of the subcommands. */
#ifndef CVG_CLI_H
#define CVG_CLI_H

#include <stdint.h>

#include "convergent.h"
#include "options.h"

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

/* One network's training as `convergent train` runs it: the library's options plus the
 * command's own settings; `run` fills one per network instead of writing argv strings. */
typedef struct cli_train_job {
    cvg_train_options opt;
    const char *arch;             /* description or preset; default "default" */
    const char *out;              /* the checkpoint (required) */
    const char *data;             /* IDX dataset directory, NULL: CVG_DEFAULT_DATA_DIR */
    const char *history;          /* NULL: out with .json for .safetensors */
    int64_t train_limit, test_limit; /* 0: every image */
    int quiet;
    const char *label;            /* NULL, or a job among others: its lines start "LABEL: ", no bar */
} cli_train_job;
void cli_train_job_init(cli_train_job *job);
/* Train and print the accuracy. 0, or 1 after printing an error. */
int cli_train(cli_train_job *job);

/* Print "convergent: <message>" on stderr; returns the exit code for errors (1). */
int cli_error(const char *fmt, ...);
/* What cli_error prints before the message ("convergent: "; MPI ranks say which they are). */
void cli_set_message_prefix(const char *prefix);
/* Print a library failure: its status and cvg_last_error(). Returns 1. */
int cli_fail(cvg_status st);
/* Usage error: message plus "see 'convergent CMD --help'". Returns 2. */
int cli_usage_error(const char *command, const char *fmt, ...);

/* The layers of a stats directory (subdirectories holding a meta.json), in natural order
 * (conv2 before conv10). Returns 0, or prints an error and returns 1. The list is the
 * library's: release it with cvg_free. */
int cli_list_layers(const char *dir, char ***names, int *count);
/* The subdirectories of a stats directory holding a meta.json (a layer: kind 'l') or a
 * cross.json (cross-layer: kind 'c', which wins if both are there), in natural order; kinds
 * (may be NULL) is malloc'd. 0, or 1 after printing an error (also when there are none). */
int cli_list_stats_dirs(const char *dir, char ***names, char **kinds, int *count);

/* The walk of match, cluster and mi over the layers of a stats directory: their shared options
 * (STATS, --layer, -o, --pair); per layer, its (K*S) x (K*S) matrix read, the number of
 * networks and --pair checked against it, OUT/<layer> made; then the pairs of networks to
 * treat, whose blocks of the matrix cli_walk_block reads. Errors are printed naming the directory or file and the defect. Use:
 *     cli_walk w;
 *     cli_walk_init(&w, "match", CLI_WALK_OUT | CLI_WALK_PAIRS, "matching");
 *     const cli_option own[] = {...the command's own rows...};
 *     cli_option rows[CLI_WALK_MAX_ROWS + CLI_COUNT(own)];
 *     int n = cli_walk_rows(&w, rows, own, CLI_COUNT(own));
 *     rc = cli_parse(&spec, argc, argv, &w.stats, &npos);  (spec: .max_positionals = 1)
 *     if (rc == 0) rc = cli_walk_check_options(&w);
 *     if (rc == 0) rc = cli_walk_start(&w);
 *     while (rc == 0 && cli_walk_next(&w, &rc))
 *         for (int a = -1, b; rc == 0 && cli_walk_pair(&w, &a, &b);) ...;
 *     cli_walk_end(&w); */
enum {
    CLI_WALK_OUT = 1,  /* the command writes OUT/<layer> (-o/--out, required) */
    CLI_WALK_PAIR = 2  /* the command takes --pair i,j */
};

typedef struct cli_walk {
    const char *command;   /* the subcommand, for messages */
    int flags;             /* CLI_WALK_* */
    const char *purpose;   /* "matching": "layer has 1 network; matching needs two or more";
                              NULL: one network is fine */
    const char *matrix_name; /* the matrix read: "corr" (default, corr.npy) or "mi" (mi.npy) */
    const char *stats;     /* the stats directory */
    const char *only;      /* --layer, or NULL: every layer */
    const char *out;       /* -o OUT, where OUT/<layer> is made; NULL: nothing made (the
                              commands point it at their result set's hidden directory) */
    int pa, pb;            /* --pair (0-based), or -1: every pair a < b */
    /* the current layer, set by cli_walk_next */
    const char *layer;     /* its name */
    int index;             /* its place among the directory's layers, in network order */
    char dir[4096];        /* STATS/<layer> */
    char out_dir[4096];    /* OUT/<layer> ("" without OUT) */
    int nets;              /* K */
    int64_t units;         /* S, per network; 0 when the networks' widths differ */
    int64_t *offset;       /* K + 1: net k's units are [offset[k], offset[k+1]) of D; owned */
    cvg_stats_matrix *matrix; /* the matrix (D x D, D = offset[K]) open for its blocks
                              (cli_walk_block); owned by the walk */
    unsigned char *dead;   /* D flags of the dead units (meta.json), owned by the walk */
    int *dead_count;       /* K: the dead units of each network */
    char fingerprint[CVG_FINGERPRINT_SIZE]; /* of the layer's statistics ("": not recorded);
                              the matrix and the dead units are read between two reads of it */
    /* inside */
    char **names;
    int count, next;
} cli_walk;

void cli_walk_init(cli_walk *w, const char *command, int flags, const char *purpose);
/* The walk's option rows (--layer, and -o/--pair by its flags; at most CLI_WALK_MAX_ROWS), then
 * the command's own_count rows, written to rows, sized CLI_WALK_MAX_ROWS + own_count (so an
 * added option cannot overflow it); returns how many. The stats directory is the command's one
 * positional. */
#define CLI_WALK_MAX_ROWS 3
int cli_walk_rows(cli_walk *w, cli_option *rows, const cli_option *own, int own_count);
/* After the options: 0, or a usage error (2) when STATS or a required -o is missing. */
int cli_walk_check_options(const cli_walk *w);
/* List the layers (and find --layer among them). 0, or 1 after printing an error. */
int cli_walk_start(cli_walk *w);
/* Load the next layer into w: 1 when there is one; 0 at the end or after an error, which is
 * printed, with *rc set to 1. */
int cli_walk_next(cli_walk *w, int *rc);
/* The rows of nets rows[0..nr) by the columns of nets cols[0..nc) of the layer's matrix
 * (cvg_stats_matrix_block), malloc'd; NULL after printing the error (naming the file). */
double *cli_walk_block(const cli_walk *w, const int *rows, int nr, const int *cols, int nc);
/* The layer's pairs of networks: start with *a = -1; 1 while (*a, *b) is a pair to treat. */
int cli_walk_pair(const cli_walk *w, int *a, int *b);
void cli_walk_end(cli_walk *w);

/* The commands past their parsing, for `run` and the commands themselves: each takes what
 * its options fill, the walk's stats/--layer/-o/--pair included. 0, or 1 after an error. */
int cli_mi(cli_walk *w, cvg_mi_options *opt, int include_dead, int quiet);
/* include_dead: 0 (default) leaves dead units out of the means (docs/matching.md). */
int cli_match(cli_walk *w, const char *metric, int include_dead, int quiet);
/* k: opt->k if > 0, the eigen-gap suggestion if k_auto, else cvg_cluster_paper_k for the layer,
 * its first layer named by first_layer or, if NULL, meta.json's "first_layer". */
int cli_cluster(cli_walk *w, cvg_cluster_options *opt, int k_auto, const char *first_layer, int quiet);
/* out NULL: RESULTS/report.html */
int cli_report(const char *results, const char *out, int quiet);

/* `convergent similarity`'s settings. */
typedef struct cli_similarity_settings {
    cvg_similarity_options sim;
    cvg_lasso_options lasso;
    int pa, pb;  /* --pair, 0-based, or -1: every pair */
    int quiet;
} cli_similarity_settings;
void cli_similarity_settings_init(cli_similarity_settings *cfg);
int cli_similarity(const char *stats, const char *out, const char *only, const cli_similarity_settings *cfg);

/* The dead units of STATS/<layer> (layer_dir) from its meta.json's "dead_unit_indices": *dead
 * gets K*S flags (net-major, malloc'd), counts[k] the number of network k's. A directory
 * without the list has none. 0, or 1 after printing an error naming the file. */
int cli_load_dead(const char *layer_dir, int K, const int64_t *offset, unsigned char **dead, int *counts);
/* Output directories published as one result set (cli/output.c, docs/reliability.md):
 *     cvg_result_set *rs;
 *     if (cli_output_begin(out, keep, &rs) != 0) return 1;   (another writer: a clear error)
 *     ...write under cvg_result_dir(rs)...
 *     rc = cli_output_finish(rs, rc);                        (commit if rc == 0, else abort)
 * keep: the set starts as the published one (mi adding mi.npy to STATS); else empty. While a
 * set is open, error messages name its published directory instead of the hidden one. */
int cli_output_begin(const char *dir, int keep, cvg_result_set **rs);
int cli_output_finish(cvg_result_set *rs, int rc);
/* Remove a file or subdirectory from the set being written (a layer about to be rewritten). */
int cli_output_drop(cvg_result_set *rs, const char *relative);
/* text with every open set's hidden directory replaced by its published name. */
void cli_output_rename(const char *text, char *out, size_t size);
/* 0 if a result derived from statistics recorded as `recorded` is current for layer_dir's
 * fingerprint `current` ("" : unknown, not checked); else 1 after an error naming derived as
 * stale and the command refresh that refreshes it. */
int cli_stale_check(const char *derived, const char *recorded, const char *layer_dir, const char *current,
                    const char *refresh);

/* mkdir -p; 0, or 1 after printing an error. */
int cli_make_dirs(const char *dir);

/* Write a JSON document atomically (temporary name, then rename). 0, or 1 after an error. */
struct cJSON;
int cli_write_json(const char *path, const struct cJSON *json);
/* Parse a small JSON file; NULL (nothing printed) if it is missing or not JSON. */
struct cJSON *cli_read_json(const char *path);

/* Library messages to stderr (warnings and errors; info too unless quiet). */
void cli_install_log(int quiet);

/* A progress bar on stderr, drawn only when stderr is a terminal. */
int cli_progress(const char *task, uint64_t done, uint64_t total, void *user);
void cli_progress_end(void);

#endif
