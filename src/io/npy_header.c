/* Parser of the .npy header: the magic string, the version, and the Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (10, 3), }
 * The parser is strict about the grammar numpy writes (and what a reasonable writer could):
 * every defect is reported with the file name and what was expected. */
#include <ctype.h>
#include <string.h>

#include "core/internal.h"
#include "io/npy_internal.h"

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

int npy_host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

int64_t npy_header_total_size(const unsigned char *b, size_t n)
{
    if (n < 10 || memcmp(b, NPY_MAGIC, 6) != 0) return -1;
    if (b[6] == 1) return 10 + (int64_t)(b[8] | (b[9] << 8));
    if ((b[6] == 2 || b[6] == 3) && n >= 12)
        return 12 + (int64_t)((uint32_t)b[8] | ((uint32_t)b[9] << 8) | ((uint32_t)b[10] << 16) |
                              ((uint32_t)b[11] << 24));
    return -1;
}

typedef struct cursor {
    const char *p, *end;
    const char *path;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int accept(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static cvg_status expected(cursor *c, const char *what)
{
    char near[24] = {0};
    size_t left = (size_t)(c->end - c->p);
    size_t take = left < 16 ? left : 16;
    for (size_t i = 0; i < take; i++) near[i] = isprint((unsigned char)c->p[i]) ? c->p[i] : '?';
    return cvg__fail(CVG_ERR_FORMAT, "%s: unparsable .npy header: expected %s at \"%s\"",
                     c->path, what, take ? near : "<end of header>");
}

/* A Python string literal in single or double quotes, no escapes (none occur in dtypes). */
static cvg_status parse_string(cursor *c, char *out, size_t cap)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return expected(c, "a quoted string");
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || n + 1 >= cap) return expected(c, "a short string without escapes");
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return expected(c, "a closing quote");
    c->p++;
    out[n] = '\0';
    return CVG_OK;
}

static cvg_status parse_bool(cursor *c, int *out)
{
    skip_space(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
        c->p += 4;
        *out = 1;
        return CVG_OK;
    }
    if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        c->p += 5;
        *out = 0;
        return CVG_OK;
    }
    return expected(c, "True or False");
}

static cvg_status parse_shape(cursor *c, npy_header *h)
{
    if (!accept(c, '(')) return expected(c, "a shape tuple '('");
    h->ndim = 0;
    for (;;) {
        if (accept(c, ')')) break;
        skip_space(c);
        if (c->p >= c->end || !isdigit((unsigned char)*c->p))
            return expected(c, "a non-negative integer dimension");
        int64_t v = 0;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
            if (v > (INT64_MAX - 9) / 10)
                return cvg__fail(CVG_ERR_FORMAT, "%s: .npy shape dimension too large", c->path);
            v = v * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && (*c->p == 'L' || *c->p == 'l')) c->p++; /* Python 2 longs */
        if (h->ndim == CVG_NPY_MAX_DIMS)
            return cvg__fail(CVG_ERR_UNSUPPORTED, "%s: .npy array has more than %d dimensions",
                             c->path, CVG_NPY_MAX_DIMS);
        h->shape[h->ndim++] = v;
        if (accept(c, ')')) break;
        if (!accept(c, ',')) return expected(c, "',' or ')' in the shape");
    }
    return CVG_OK;
}

static cvg_status parse_descr(const char *descr, const char *path, npy_header *h)
{
    size_t len = strlen(descr);
    if (len < 2 || len > 4) goto unsupported;
    char order = '|';
    const char *p = descr;
    if (*p == '<' || *p == '>' || *p == '|' || *p == '=') order = *p++;
    char kind = *p++;
    if (!isdigit((unsigned char)*p)) goto unsupported;
    int size = 0;
    while (*p && isdigit((unsigned char)*p)) size = size * 10 + (*p++ - '0');
    if (*p) goto unsupported;
    switch (kind) {
    case 'f': h->kind = NPY_KIND_FLOAT; if (size != 2 && size != 4 && size != 8) goto unsupported; break;
    case 'i': h->kind = NPY_KIND_INT; if (size != 1 && size != 2 && size != 4 && size != 8) goto unsupported; break;
    case 'u': h->kind = NPY_KIND_UINT; if (size != 1 && size != 2 && size != 4 && size != 8) goto unsupported; break;
    case 'b': h->kind = NPY_KIND_BOOL; if (size != 1) goto unsupported; break;
    default: goto unsupported;
    }
    h->item_size = size;
    int file_little = order == '<' || (order == '=' && npy_host_little_endian());
    h->swap = size > 1 && order != '|' && file_little != npy_host_little_endian();
    if (size > 1 && order == '|') goto unsupported;
    return CVG_OK;
unsupported:
    return cvg__fail(CVG_ERR_UNSUPPORTED,
                     "%s: unsupported dtype '%s' (supported: float16/32/64, int and uint of 8 to "
                     "64 bits, bool; either byte order)",
                     path, descr);
}

cvg_status npy_header_parse(const unsigned char *b, size_t n, const char *path, npy_header *h)
{
    memset(h, 0, sizeof *h);
    if (n < 10 || memcmp(b, NPY_MAGIC, 6) != 0)
        return cvg__fail(CVG_ERR_FORMAT, "%s: not a .npy file (bad magic string)", path);
    h->major = b[6];
    h->minor = b[7];
    if (h->major < 1 || h->major > 3)
        return cvg__fail(CVG_ERR_UNSUPPORTED, "%s: unsupported .npy format version %d.%d", path,
                         h->major, h->minor);
    int64_t total = npy_header_total_size(b, n);
    if (total < 0 || (size_t)total > n)
        return cvg__fail(CVG_ERR_FORMAT, "%s: truncated .npy header (%lld bytes declared, %zu present)",
                         path, (long long)total, n);
    h->data_offset = total;
    size_t pre = h->major == 1 ? 10 : 12;
    cursor c = {(const char *)b + pre, (const char *)b + total, path};

    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!accept(&c, '{')) return expected(&c, "'{'");
    for (;;) {
        if (accept(&c, '}')) break;
        char key[32];
        cvg_status st = parse_string(&c, key, sizeof key);
        if (st != CVG_OK) return st;
        if (!accept(&c, ':')) return expected(&c, "':'");
        if (strcmp(key, "descr") == 0) {
            skip_space(&c);
            if (c.p < c.end && *c.p == '[')
                return cvg__fail(CVG_ERR_UNSUPPORTED,
                                 "%s: structured dtypes are not supported (one numeric column "
                                 "type per file)", path);
            st = parse_string(&c, h->descr, sizeof h->descr);
            if (st == CVG_OK) st = parse_descr(h->descr, path, h);
            have_descr++;
        } else if (strcmp(key, "fortran_order") == 0) {
            st = parse_bool(&c, &h->fortran_order);
            have_order++;
        } else if (strcmp(key, "shape") == 0) {
            st = parse_shape(&c, h);
            have_shape++;
        } else {
            return cvg__fail(CVG_ERR_FORMAT, "%s: unparsable .npy header: unknown key '%s'", path,
                             key);
        }
        if (st != CVG_OK) return st;
        if (accept(&c, '}')) break;
        if (!accept(&c, ',')) return expected(&c, "',' or '}'");
    }
    if (have_descr != 1 || have_order != 1 || have_shape != 1)
        return cvg__fail(CVG_ERR_FORMAT,
                         "%s: unparsable .npy header: needs each of 'descr', 'fortran_order', "
                         "'shape' exactly once", path);
    skip_space(&c);
    if (c.p != c.end) return expected(&c, "only padding after the header dict");

    h->count = 1;
    for (int i = 0; i < h->ndim; i++) {
        if (h->shape[i] != 0 && h->count > INT64_MAX / 8 / h->shape[i])
            return cvg__fail(CVG_ERR_FORMAT, "%s: .npy shape too large", path);
        h->count *= h->shape[i];
    }
    return CVG_OK;
}
