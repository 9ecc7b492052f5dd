/* Checkpoints of a statistics pass, so that a long pass killed part way can resume.
 *
 * Layout of a checkpoint directory CK:
 *     CK/current            "a" or "b": the slot holding the latest complete checkpoint
 *     CK/a/, CK/b/          slots: progress.json + <layer>/ (a stats directory, cvg_stats_save)
 * A checkpoint is written into the slot that is not current, and only then is `current`
 * replaced (atomically): a kill at any moment leaves the previous checkpoint intact.
 *
 * progress.json records the next input to read and what the pass depends on (the files, by
 * path, size and modification time; reservoir, seed, kernel, layout, NaN policy, row offset and
 * chunk size). Resuming with anything different is refused: the result would not be the one an
 * uninterrupted pass gives. With the same inputs it is exactly that result, bit for bit: the
 * accumulators are restored exactly and the chunks start at the same rows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "core/internal.h"
#include "stats/checkpoint.h"

enum { PROGRESS_VERSION = 1 };

/* What the pass depends on, as a JSON object (without next_image). */
static cJSON *fingerprint(const char *layer, const char *const *paths, int nets,
                          const cvg_stats_options *opt, int64_t chunk_rows)
{
    cJSON *j = cJSON_CreateObject(), *sources = cJSON_AddArrayToObject(j, "sources");
    cJSON_AddNumberToObject(j, "version", PROGRESS_VERSION);
    cJSON_AddStringToObject(j, "layer", layer);
    cJSON_AddNumberToObject(j, "chunk_rows", (double)chunk_rows);
    cJSON_AddNumberToObject(j, "reservoir", (double)opt->reservoir);
    cJSON_AddNumberToObject(j, "seed", (double)opt->seed);
    cJSON_AddNumberToObject(j, "kernel", (double)opt->kernel);
    cJSON_AddNumberToObject(j, "layout", (double)opt->layout);
    cJSON_AddNumberToObject(j, "skip_nonfinite", (double)opt->skip_nonfinite);
    cJSON_AddNumberToObject(j, "row_offset", (double)opt->row_offset);
    if (opt->conv_samples != CVG_CONV_POSITIONS) /* absent for the paper's: older checkpoints resume */
        cJSON_AddNumberToObject(j, "conv_samples", (double)opt->conv_samples);
    if (opt->first_input || opt->input_count) { /* absent for a whole pass: older checkpoints resume */
        cJSON_AddNumberToObject(j, "first_input", (double)opt->first_input);
        cJSON_AddNumberToObject(j, "input_count", (double)opt->input_count);
    }
    for (int k = 0; k < nets; k++) {
        struct stat sb;
        cJSON *f = cJSON_CreateObject();
        cJSON_AddItemToArray(sources, f);
        cJSON_AddStringToObject(f, "path", paths[k]);
        if (stat(paths[k], &sb) == 0) {
            cJSON_AddNumberToObject(f, "bytes", (double)sb.st_size);
            cJSON_AddNumberToObject(f, "mtime_ns", (double)sb.st_mtim.tv_sec * 1e9 + (double)sb.st_mtim.tv_nsec);
        }
    }
    return j;
}

/* The first field in which two fingerprints differ, or NULL. */
static const char *first_difference(const cJSON *saved, const cJSON *now)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, now) {
        const cJSON *other = cJSON_GetObjectItemCaseSensitive(saved, item->string);
        if (!other || !cJSON_Compare(item, other, 1)) return item->string;
    }
    return NULL;
}

/* The current slot's name ("a" or "b"), or NULL when there is no checkpoint. */
static const char *current_slot(const char *ckpt)
{
    char *cur = cvg__path_join(ckpt, "current"), *text = NULL;
    const char *slot = NULL;
    if (cur && access(cur, F_OK) == 0 && cvg_read_file(cur, &text, NULL) == CVG_OK)
        slot = strncmp(text, "a", 1) == 0 ? "a" : strncmp(text, "b", 1) == 0 ? "b" : NULL;
    free(cur);
    free(text);
    return slot;
}

cvg_status checkpoint_save(const char *ckpt, const cvg_stats *s, const char *const *paths,
                           int nets, const cvg_stats_options *opt, int64_t chunk_rows,
                           int64_t next_image)
{
    const char *cur = current_slot(ckpt), *slot = cur && strcmp(cur, "a") == 0 ? "b" : "a";
    char *dir = cvg__path_join(ckpt, slot), *progress = dir ? cvg__path_join(dir, "progress.json") : NULL;
    char *cur_path = cvg__path_join(ckpt, "current"), *text = NULL;
    cJSON *j = fingerprint(cvg_stats_layer(s), paths, nets, opt, chunk_rows);
    cvg_status st = dir && progress && cur_path && j ? CVG_OK : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st == CVG_OK) st = cvg_mkdirs(ckpt);
    if (st == CVG_OK) st = cvg__remove_tree(dir);
    if (st == CVG_OK) st = cvg_mkdirs(dir);
    if (st == CVG_OK) st = cvg_stats_save(s, dir);
    if (st == CVG_OK) {
        cJSON_AddNumberToObject(j, "next_image", (double)next_image);
        if (!(text = cJSON_Print(j))) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
    }
    if (st == CVG_OK) st = cvg_write_file_atomic(progress, text, strlen(text));
    if (st == CVG_OK) st = cvg_write_file_atomic(cur_path, slot, 1);
    if (st != CVG_OK && st != CVG_ERR_NOMEM) cvg__error_context("writing the checkpoint %s", ckpt);
    cJSON_Delete(j);
    free(text);
    free(dir);
    free(progress);
    free(cur_path);
    return st;
}

cvg_status checkpoint_resume(const char *ckpt, const char *layer, const char *const *paths,
                             int nets, const cvg_stats_options *opt, int64_t chunk_rows,
                             cvg_stats **out, int64_t *next_image)
{
    *out = NULL;
    *next_image = 0;
    const char *slot = current_slot(ckpt);
    if (!slot) return CVG_OK; /* nothing to resume: start from the beginning */
    char *dir = cvg__path_join(ckpt, slot), *progress = dir ? cvg__path_join(dir, "progress.json") : NULL;
    char *layer_dir = dir ? cvg__path_join(dir, layer) : NULL;
    cJSON *saved = NULL, *now = fingerprint(layer, paths, nets, opt, chunk_rows);
    cvg_status st = dir && progress && layer_dir && now ? CVG_OK : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st == CVG_OK) st = cvg__json_read(progress, &saved);
    if (st == CVG_OK && !saved)
        st = cvg__fail(CVG_ERR_FORMAT, "%s: not valid JSON", progress);
    const char *diff = st == CVG_OK ? first_difference(saved, now) : NULL;
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(saved, "next_image");
    if (st == CVG_OK && diff)
        st = cvg__fail(CVG_ERR_ARG, "%s: the checkpoint was made with a different '%s' (inputs or "
                       "options changed since); remove %s to start over", progress, diff, ckpt);
    else if (st == CVG_OK && !cJSON_IsNumber(next))
        st = cvg__fail(CVG_ERR_FORMAT, "%s: no next_image", progress);
    if (st == CVG_OK) st = cvg_stats_load(layer_dir, out);
    if (st == CVG_OK) *next_image = (int64_t)next->valuedouble;
    cJSON_Delete(saved);
    cJSON_Delete(now);
    free(dir);
    free(progress);
    free(layer_dir);
    return st;
}

cvg_status cvg_stats_checkpoint_remove(const char *checkpoint)
{
    if (!checkpoint) return cvg__fail(CVG_ERR_ARG, "cvg_stats_checkpoint_remove: NULL path");
    char *cur = cvg__path_join(checkpoint, "current"), *a = cvg__path_join(checkpoint, "a"),
         *b = cvg__path_join(checkpoint, "b");
    cvg_status st = cur && a && b ? CVG_OK : cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st == CVG_OK && unlink(cur) != 0 && errno != ENOENT)
        st = cvg__fail(CVG_ERR_IO, "%s: cannot remove: %s", cur, strerror(errno));
    if (st == CVG_OK) st = cvg__remove_tree(a);
    if (st == CVG_OK) st = cvg__remove_tree(b);
    if (st == CVG_OK && rmdir(checkpoint) != 0 && errno != ENOENT)
        st = cvg__fail(CVG_ERR_IO, "%s: cannot remove: %s", checkpoint, strerror(errno));
    free(cur);
    free(a);
    free(b);
    return st;
}
