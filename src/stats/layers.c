/* The layers (and cross-layer directories) of a stats directory, in network order. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/internal.h"

/* Natural order: "conv2" before "conv10", so layers list in network order. */
static int natural_compare(const void *pa, const void *pb)
{
    const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            char *ea, *eb;
            unsigned long long na = strtoull(a, &ea, 10), nb = strtoull(b, &eb, 10);
            if (na != nb) return na < nb ? -1 : 1;
            a = ea, b = eb;
        } else {
            if (*a != *b) return (unsigned char)*a - (unsigned char)*b;
            a++, b++;
        }
    }
    return (unsigned char)*a - (unsigned char)*b;
}

static int has_file(const char *dir, const char *sub, const char *file)
{
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, file);
    return stat(path, &sb) == 0;
}

static void free_names(char **names, int count)
{
    for (int i = 0; i < count; i++) free(names[i]);
    free(names);
}

/* The list as one allocation, so that one cvg_free releases it: count pointers, then the
 * strings they point to. On success the separate strings are freed and *names replaced. */
static cvg_status pack(char ***names, int count)
{
    size_t bytes = (size_t)count * sizeof(char *);
    for (int i = 0; i < count; i++) bytes += strlen((*names)[i]) + 1;
    char **packed = cvg__malloc(bytes, "the list of directories");
    if (!packed) return CVG_ERR_NOMEM;
    char *text = (char *)(packed + count);
    for (int i = 0; i < count; i++) {
        const size_t n = strlen((*names)[i]) + 1;
        memcpy(text, (*names)[i], n);
        packed[i] = text;
        text += n;
    }
    free_names(*names, count);
    *names = packed;
    return CVG_OK;
}

/* The subdirectories holding a meta.json, or also (with_cross) a cross.json, sorted. */
static cvg_status scan(const char *stats_dir, int with_cross, char ***names, int *count)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(stats_dir);
    if (!d) return cvg__fail(CVG_ERR_IO, "%s: cannot open stats directory: %s", stats_dir, strerror(errno));
    struct dirent *e;
    cvg_status st = CVG_OK;
    while ((e = readdir(d)) && st == CVG_OK) {
        if (e->d_name[0] == '.') continue;
        if (!has_file(stats_dir, e->d_name, "meta.json") &&
            !(with_cross && has_file(stats_dir, e->d_name, "cross.json")))
            continue;
        char **grown = realloc(*names, (size_t)(*count + 1) * sizeof **names);
        char *copy = strdup(e->d_name);
        if (!grown || !copy) {
            free(copy);
            if (grown) *names = grown;
            st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
            break;
        }
        *names = grown;
        (*names)[(*count)++] = copy;
    }
    closedir(d);
    if (st == CVG_OK && *count == 0)
        st = with_cross ? cvg__fail(CVG_ERR_EMPTY, "%s: no layer directories (meta.json) or "
                                    "cross-layer directories (cross.json): not a stats directory?",
                                    stats_dir)
                        : cvg__fail(CVG_ERR_EMPTY, "%s: no layer directories with a meta.json (not "
                                    "a stats directory?)", stats_dir);
    if (st == CVG_OK) {
        qsort(*names, (size_t)*count, sizeof **names, natural_compare);
        st = pack(names, *count);
    }
    if (st != CVG_OK) {
        free_names(*names, *count);
        *names = NULL;
        *count = 0;
    }
    return st;
}

cvg_status cvg_stats_list_layers(const char *stats_dir, char ***names, int *count)
{
    if (!stats_dir || !names || !count) return cvg__fail(CVG_ERR_ARG, "cvg_stats_list_layers: NULL argument");
    return scan(stats_dir, 0, names, count);
}

cvg_status cvg_stats_list_dirs(const char *stats_dir, char ***names, char **kinds, int *count)
{
    if (!stats_dir || !names || !count) return cvg__fail(CVG_ERR_ARG, "cvg_stats_list_dirs: NULL argument");
    if (kinds) *kinds = NULL;
    cvg_status st = scan(stats_dir, 1, names, count);
    if (st != CVG_OK || !kinds) return st;
    if (!(*kinds = cvg__malloc((size_t)*count, "the list of directories"))) {
        free(*names);
        *names = NULL;
        *count = 0;
        return CVG_ERR_NOMEM;
    }
    for (int i = 0; i < *count; i++) (*kinds)[i] = has_file(stats_dir, (*names)[i], "cross.json") ? 'c' : 'l';
    return CVG_OK;
}
