/* Outputs published as one result set (docs/reliability.md): every command that writes
 * several files begins a set on its output directory, writes under the set's hidden sibling
 * and finishes it; messages name the published directory, never the hidden one. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The hidden directories being written and the names they will have (nested sets: run). */
enum { MAX_OPEN_SETS = 8 };
static const cvg_result_set *open_sets[MAX_OPEN_SETS];
static int open_count;

void cli_output_rename(const char *text, char *out, size_t size)
{
    char buf[8192];
    snprintf(buf, sizeof buf, "%s", text);
    for (int i = open_count - 1; i >= 0; i--) {
        const char *from = cvg_result_dir(open_sets[i]), *to = cvg_result_target(open_sets[i]);
        const size_t n = strlen(from);
        char next[8192];
        size_t len = 0;
        for (const char *p = buf; *p && len + 1 < sizeof next;) {
            if (strncmp(p, from, n) == 0) {
                len += (size_t)snprintf(next + len, sizeof next - len, "%s", to);
                if (len >= sizeof next) len = sizeof next - 1;
                p += n;
            } else {
                next[len++] = *p++;
            }
        }
        next[len] = '\0';
        memcpy(buf, next, len + 1);
    }
    snprintf(out, size, "%s", buf);
}

int cli_output_begin(const char *dir, int keep, cvg_result_set **rs)
{
    *rs = NULL;
    if (open_count == MAX_OPEN_SETS) return cli_error("%s: too many result sets open", dir);
    cvg_status st = cvg_result_begin(dir, keep ? CVG_RESULT_KEEP : CVG_RESULT_FRESH, rs);
    if (st != CVG_OK) return cli_fail(st);
    open_sets[open_count++] = *rs;
    return 0;
}

static void forget(const cvg_result_set *rs)
{
    for (int i = 0; i < open_count; i++)
        if (open_sets[i] == rs) {
            memmove(open_sets + i, open_sets + i + 1, (size_t)(open_count - i - 1) * sizeof *open_sets);
            open_count--;
            return;
        }
}

int cli_output_finish(cvg_result_set *rs, int rc)
{
    if (!rs) return rc;
    forget(rs);
    if (rc != 0) {
        cvg_result_abort(rs);
        return rc;
    }
    cvg_status st = cvg_result_commit(rs);
    return st == CVG_OK ? 0 : cli_fail(st);
}

int cli_output_drop(cvg_result_set *rs, const char *relative)
{
    cvg_status st = cvg_result_remove(rs, relative);
    return st == CVG_OK ? 0 : cli_fail(st);
}

int cli_stale_check(const char *derived, const char *recorded, const char *layer_dir, const char *current,
                    const char *refresh)
{
    if (!current[0] || strcmp(recorded, current) == 0) return 0;
    return cli_error("%s is stale: it was computed from statistics with fingerprint %s, but %s/meta.json "
                     "now has %s; refresh it with '%s'", derived, recorded[0] ? recorded : "(none recorded)",
                     layer_dir, current, refresh);
}
