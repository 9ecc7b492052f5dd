/* HTML output and JSON input shared by the report's sections. */
#include <stdarg.h>
#include <stdlib.h>

#include "report/page.h"

void put(report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->html, fmt, ap);
    va_end(ap);
}

void put_escaped(report *r, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", r->html); break;
        case '>': fputs("&gt;", r->html); break;
        case '&': fputs("&amp;", r->html); break;
        case '"': fputs("&quot;", r->html); break;
        default: fputc(*s, r->html);
        }
    }
}

void put_figure(report *r, const char *file, const char *caption)
{
    put(r, "<figure><img src=\"figures/%s\" alt=\"", file);
    put_escaped(r, caption);
    put(r, "\"><figcaption>");
    put_escaped(r, caption);
    put(r, "</figcaption></figure>\n");
    r->figures++;
}

void put_link(report *r, const char *rel, const char *text)
{
    put(r, "<a href=\"%s/%s\">", r->link_root, rel);
    put_escaped(r, text);
    put(r, "</a>");
}

char *fig_path(report *r, const char *name)
{
    return cvg__path_join(r->fig_dir, name);
}

cJSON *read_json(const char *path)
{
    cJSON *j;
    return cvg__json_read(path, &j) == CVG_OK ? j : NULL;
}

double json_number(const cJSON *o, const char *key, double fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

