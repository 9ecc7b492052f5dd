/* The walk over the layers of a stats directory shared by match, cluster and mi (cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_walk_init(cli_walk *w, const char *command, int flags, const char *purpose)
{
    memset(w, 0, sizeof *w);
    w->command = command;
    w->flags = flags;
    w->purpose = purpose;
    w->matrix_name = "corr";
    w->pa = w->pb = -1;
}

/* --pair i,j (networks numbered from 1, different) into the walk's 0-based pair. */
static int parse_pair(const char *command, const char *value, void *dest)
{
    cli_walk *w = dest;
    return cli_parse_pair(command, value, 0, &w->pa, &w->pb);
}

int cli_walk_rows(cli_walk *w, cli_option *rows, const cli_option *own, int own_count)
{
    int n = 0;
    rows[n++] = (cli_option){.name = "layer", .type = CLI_STRING, .dest = &w->only, .metavar = "L",
                             .help = "only this layer", .default_text = "every layer"};
    if (w->flags & CLI_WALK_OUT)
        rows[n++] = (cli_option){.name = "out", .short_name = 'o', .type = CLI_STRING, .dest = &w->out,
                                 .metavar = "OUT", .help = "output directory (required)"};
    if (w->flags & CLI_WALK_PAIR)
        rows[n++] = (cli_option){.name = "pair", .type = CLI_CALL, .dest = w, .parse = parse_pair,
                                 .metavar = "I,J", .help = "only networks I and J (numbered from 1)",
                                 .default_text = "every pair"};
    for (int i = 0; i < own_count; i++) rows[n++] = own[i];
    return n;
}

int cli_walk_check_options(const cli_walk *w)
{
    if (!w->stats) return cli_usage_error(w->command, "missing the stats directory");
    if ((w->flags & CLI_WALK_OUT) && !w->out) return cli_usage_error(w->command, "missing -o OUT");
    return 0;
}

int cli_walk_start(cli_walk *w)
{
    w->names = NULL;
    w->count = w->next = 0;
    w->matrix = NULL;
    w->layer = NULL;
    cvg_status st = cvg_result_recover(w->stats); /* a publication cut short is completed */
    if (st != CVG_OK) return cli_fail(st);
    if (cli_list_layers(w->stats, &w->names, &w->count) != 0) return 1;
    if (!w->only) return 0;
    for (int l = 0; l < w->count; l++)
        if (strcmp(w->names[l], w->only) == 0) {
            w->next = l;
            return 0;
        }
    return cli_error("%s: no layer '%s' (no %s/%s/meta.json)", w->stats, w->only, w->stats, w->only);
}

static void free_layer(cli_walk *w)
{
    cvg_stats_matrix_free(w->matrix);
    free(w->dead), free(w->dead_count);
    cvg_free(w->offset);
    w->matrix = NULL, w->dead = NULL, w->dead_count = NULL, w->offset = NULL;
}

int cli_walk_next(cli_walk *w, int *rc)
{
    free_layer(w);
    if (w->next >= w->count || (w->only && w->layer)) return 0;
    w->index = w->next++;
    w->layer = w->names[w->index];
    snprintf(w->dir, sizeof w->dir, "%s/%s", w->stats, w->layer);
    w->out_dir[0] = '\0';
    if (w->out) snprintf(w->out_dir, sizeof w->out_dir, "%s/%s", w->out, w->layer);
    /* the fingerprint before and after opening the matrix: a set republished between the
     * reads of meta.json and the open is caught, not mixed (docs/reliability.md, Readers);
     * the blocks read later come from the file opened here, whatever is published after */
    char after[CVG_FINGERPRINT_SIZE];
    cvg_status st = cvg_stats_fingerprint(w->dir, w->fingerprint);
    if (st == CVG_OK) st = cvg_stats_matrix_open(w->dir, w->matrix_name, 0, &w->matrix);
    if (st == CVG_OK) w->nets = cvg_stats_matrix_nets(w->matrix), w->units = cvg_stats_matrix_units(w->matrix);
    int K = 0;
    if (st == CVG_OK) st = cvg_stats_load_widths(w->dir, &K, &w->offset);
    if (st == CVG_OK && K != w->nets) st = CVG_ERR_FORMAT;
    if (st == CVG_OK) { /* the widths into offsets, in place: K + 1 entries */
        int64_t *grown = realloc(w->offset, (size_t)(K + 1) * sizeof *grown);
        if (!grown) st = CVG_ERR_NOMEM;
        else {
            w->offset = grown;
            int64_t end = 0;
            for (int k = 0; k < K; k++) {
                const int64_t width = w->offset[k];
                w->offset[k] = end;
                end += width;
            }
            w->offset[K] = end;
        }
    }
    int dead_rc = 0;
    if (st == CVG_OK && !(w->dead_count = calloc((size_t)w->nets, sizeof *w->dead_count)))
        st = CVG_ERR_NOMEM;
    if (st == CVG_OK) dead_rc = cli_load_dead(w->dir, w->nets, w->offset, &w->dead, w->dead_count);
    if (st == CVG_OK && dead_rc == 0) st = cvg_stats_fingerprint(w->dir, after);
    if (dead_rc != 0) *rc = dead_rc;
    else if (st != CVG_OK) *rc = cli_fail(st);
    else if (strcmp(after, w->fingerprint) != 0)
        *rc = cli_error("%s: the statistics were rewritten while being read; run the command again", w->dir);
    else if (w->purpose && w->nets < 2)
        *rc = cli_error("%s: layer has %d network; %s needs two or more", w->dir, w->nets, w->purpose);
    else if (w->pa >= w->nets || w->pb >= w->nets)
        *rc = cli_error("--pair %d,%d: layer %s has %d networks", w->pa + 1, w->pb + 1, w->layer, w->nets);
    else if (w->out && cli_make_dirs(w->out_dir) != 0)
        *rc = 1;
    return *rc == 0;
}

int cli_walk_pair(const cli_walk *w, int *a, int *b)
{
    if (w->pa >= 0) { /* the one pair asked for */
        if (*a >= 0) return 0;
        *a = w->pa, *b = w->pb;
        return 1;
    }
    if (*a < 0) *a = 0, *b = 0;
    if (++*b >= w->nets) ++*a, *b = *a + 1;
    return *b < w->nets;
}

double *cli_walk_block(const cli_walk *w, const int *rows, int nr, const int *cols, int nc)
{
    int64_t height = 0, width = 0;
    for (int i = 0; i < nr; i++) height += w->offset[rows[i] + 1] - w->offset[rows[i]];
    for (int j = 0; j < nc; j++) width += w->offset[cols[j] + 1] - w->offset[cols[j]];
    double *block = malloc((size_t)(height * width) * sizeof *block);
    if (!block) {
        cli_error("out of memory for a %lld x %lld block of %s", (long long)height, (long long)width, w->dir);
        return NULL;
    }
    cvg_status st = cvg_stats_matrix_block(w->matrix, rows, nr, cols, nc, block);
    if (st != CVG_OK) {
        free(block);
        cli_fail(st);
        return NULL;
    }
    return block;
}

void cli_walk_end(cli_walk *w)
{
    free_layer(w);
    cvg_free(w->names);
    w->names = NULL;
    w->count = 0;
}
