/* Strict validation of a safetensors checkpoint's header and layout (st_header.h). cJSON is
 * lenient where a checkpoint must not be: it decodes "\u0000" into a string that then ends
 * early (an architecture "conv1:...\u0000;fc5:10" would load as a shorter network), keeps
 * duplicate keys (the first one wins, silently), and ignores whatever follows the JSON value.
 * So the raw header is scanned first, and the parsed one checked for what JSON allows but a
 * checkpoint must not hold. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/internal.h"
#include "nn/st_header.h"

/* The raw bytes: no NUL or other control byte anywhere (JSON forbids them inside strings;
 * outside, only space, tab, CR and LF are whitespace), and no escaped NUL ("\u0000") inside a
 * string. Returns the offset of the first offence and its description, or -1. */
static int64_t scan_raw(const unsigned char *text, uint64_t len, const char **what)
{
    int in_string = 0;
    for (uint64_t i = 0; i < len; i++) {
        const unsigned char c = text[i];
        if (c == 0) {
            *what = "a NUL byte";
            return (int64_t)i;
        }
        if (c < 0x20 && (in_string || (c != '\t' && c != '\n' && c != '\r'))) {
            *what = "a control byte";
            return (int64_t)i;
        }
        if (!in_string) {
            in_string = c == '"';
            continue;
        }
        if (c == '"') {
            in_string = 0;
        } else if (c == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0) {
                *what = "an escaped NUL (\\u0000) in a string";
                return (int64_t)i;
            }
            i++; /* the escaped character (a quote or backslash does not end anything) */
        }
    }
    return -1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A key that appears twice among obj's members, or NULL (sorted, so a header of many keys is
 * no quadratic work; a failed allocation reports the first key, which the caller's error then
 * names wrongly but still refuses). */
static const char *duplicate_key(const cJSON *obj)
{
    size_t n = 0;
    for (const cJSON *a = obj ? obj->child : NULL; a; a = a->next) n += a->string != NULL;
    if (n < 2) return NULL;
    const char **names = malloc(n * sizeof *names);
    if (!names) return obj->child->string;
    n = 0;
    for (const cJSON *a = obj->child; a; a = a->next)
        if (a->string) names[n++] = a->string;
    qsort(names, n, sizeof *names, by_name);
    const char *dup = NULL;
    for (size_t i = 1; i < n && !dup; i++)
        if (strcmp(names[i - 1], names[i]) == 0) dup = names[i];
    free(names);
    return dup;
}

cvg_status st_header_parse(const char *path, const char *text, uint64_t len, cJSON **root_out)
{
    *root_out = NULL;
    const char *what = NULL;
    const int64_t bad = scan_raw((const unsigned char *)text, len, &what);
    if (bad >= 0)
        return cvg__fail(CVG_ERR_FORMAT, "%s: the safetensors header holds %s at byte %lld", path,
                         what, (long long)(bad + 8));
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, (size_t)len, &end, 0);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return cvg__fail(CVG_ERR_FORMAT, "%s: the safetensors header is not a JSON object", path);
    }
    for (const char *p = end; p < text + len; p++)
        if (*p != ' ') {
            cJSON_Delete(root);
            return cvg__fail(CVG_ERR_FORMAT, "%s: the safetensors header has bytes after its JSON "
                             "object (at byte %lld; only space padding may follow)", path,
                             (long long)(p - text + 8));
        }
    const char *dup = duplicate_key(root);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
    if (!dup) dup = duplicate_key(md);
    for (const cJSON *t = root->child; !dup && t; t = t->next) dup = duplicate_key(t);
    if (dup) {
        cvg__fail(CVG_ERR_FORMAT, "%s: the safetensors header has the key '%.64s' twice", path, dup);
        cJSON_Delete(root);
        return CVG_ERR_FORMAT;
    }
    if (md && !cJSON_IsObject(md)) {
        cJSON_Delete(root);
        return cvg__fail(CVG_ERR_FORMAT, "%s: __metadata__ is not an object of strings", path);
    }
    for (const cJSON *m = md ? md->child : NULL; m; m = m->next)
        if (!cJSON_IsString(m)) {
            cvg__fail(CVG_ERR_FORMAT, "%s: metadata '%.64s' is not a string (safetensors metadata "
                      "holds strings only)", path, m->string);
            cJSON_Delete(root);
            return CVG_ERR_FORMAT;
        }
    *root_out = root;
    return CVG_OK;
}

typedef struct span {
    double begin, end;
    const char *name;
} span;

static int by_begin(const void *a, const void *b)
{
    const double x = ((const span *)a)->begin, y = ((const span *)b)->begin;
    return (x > y) - (x < y);
}

cvg_status st_check_layout(const char *path, const cJSON *root, uint64_t data_len,
                           int (*known)(const char *name, void *user), void *user)
{
    int n = 0;
    for (const cJSON *t = root->child; t; t = t->next) n++;
    span *spans = cvg__calloc((size_t)(n > 0 ? n : 1), sizeof *spans, "tensor list");
    if (!spans) return CVG_ERR_NOMEM;
    cvg_status st = CVG_OK;
    int count = 0;
    for (const cJSON *t = root->child; t && st == CVG_OK; t = t->next) {
        if (strcmp(t->string, "__metadata__") == 0) continue;
        if (!known(t->string, user)) {
            st = cvg__fail(CVG_ERR_FORMAT, "%s: unknown tensor '%.64s' (not a parameter of the "
                           "architecture)", path, t->string);
            break;
        }
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
        const cJSON *b = cJSON_GetArrayItem(of, 0), *e = cJSON_GetArrayItem(of, 1);
        if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || !cJSON_IsNumber(b) || !cJSON_IsNumber(e) ||
            b->valuedouble != floor(b->valuedouble) || e->valuedouble != floor(e->valuedouble) ||
            b->valuedouble < 0 || e->valuedouble < b->valuedouble) {
            st = cvg__fail(CVG_ERR_FORMAT, "%s: tensor '%.64s' has data_offsets that are not two "
                           "whole numbers begin <= end", path, t->string);
            break;
        }
        spans[count++] = (span){b->valuedouble, e->valuedouble, t->string};
    }
    if (st == CVG_OK) {
        /* the tensors tile the data section exactly: no gap, no overlap, nothing after */
        qsort(spans, (size_t)count, sizeof *spans, by_begin);
        double at = 0;
        for (int i = 0; i < count && st == CVG_OK; i++) {
            if (spans[i].begin != at)
                st = cvg__fail(CVG_ERR_FORMAT, "%s: tensor '%.64s' %s the data before it (begins at "
                               "byte %.0f of the data, expected %.0f)", path, spans[i].name,
                               spans[i].begin < at ? "overlaps" : "leaves a gap after", spans[i].begin, at);
            at = spans[i].end;
        }
        if (st == CVG_OK && at != (double)data_len)
            st = cvg__fail(CVG_ERR_FORMAT, "%s: %.0f bytes after the tensors' data (the data section "
                           "is %llu bytes, the tensors end at %.0f)", path, (double)data_len - at,
                           (unsigned long long)data_len, at);
    }
    free(spans);
    return st;
}

int64_t st_first_nonfinite(const float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return i;
    return -1;
}
