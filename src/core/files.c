/* Atomic writes (temporary name + rename), directory creation, whole-file reads. */
#define _GNU_SOURCE /* sync_file_range */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

char *cvg__path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (!p) return NULL;
    memcpy(p, a, la);
    size_t n = la;
    if (n > 0 && p[n - 1] != '/') p[n++] = '/';
    memcpy(p + n, b, lb + 1);
    return p;
}

cvg_status cvg_mkdirs(const char *dir)
{
    if (!dir) return cvg__fail(CVG_ERR_ARG, "cvg_mkdirs: NULL directory");
    size_t len = strlen(dir);
    char *p = cvg__malloc(len + 1, "a directory name");
    if (!p) return CVG_ERR_NOMEM;
    memcpy(p, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            cvg_status st = cvg__fail(CVG_ERR_IO, "%s: cannot create directory: %s", p,
                                      strerror(errno));
            free(p);
            return st;
        }
        p[i] = saved;
    }
    struct stat sb;
    cvg_status st = CVG_OK;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        st = cvg__fail(CVG_ERR_IO, "%s: not a directory", dir);
    free(p);
    return st;
}

/* Temporaries "NAME.tmp.<pid>" beside path left by writers that were killed (their pid no
 * longer runs) are removed: provably ours by the name, provably abandoned by the dead pid. Not
 * inside a result set being built (its leftovers go with it). Assumes the writers run on this
 * machine, as the locks of result sets do. */
static void remove_dead_temporaries(const char *path)
{
    if (cvg__inside_new_set(path)) return;
    const char *slash = strrchr(path, '/');
    char dir[4096];
    const char *base = slash ? slash + 1 : path;
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) ? (int)(slash - path) : 1, path);
    else snprintf(dir, sizeof dir, ".");
    char prefix[512];
    const int n = snprintf(prefix, sizeof prefix, "%s.tmp.", base);
    if (n <= 0 || n >= (int)sizeof prefix) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, (size_t)n) != 0) continue;
        const char *digits = e->d_name + n;
        char *end;
        errno = 0;
        long pid = strtol(digits, &end, 10);
        if (!*digits || *end || errno || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours to ask */
        char victim[4400];
        snprintf(victim, sizeof victim, "%s/%s", dir, e->d_name);
        if (unlink(victim) == 0) cvg__log(CVG_LOG_INFO, "removed %s, left by a writer that was stopped", victim);
    }
    closedir(d);
}

cvg_status cvg__atomic_open(cvg__atomic_file *af, const char *path)
{
    remove_dead_temporaries(path);
    memset(af, 0, sizeof *af);
    size_t len = strlen(path) + 64;
    af->path = strdup(path);
    af->tmp_path = malloc(len);
    if (!af->path || !af->tmp_path) {
        cvg__atomic_abort(af);
        return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(af->tmp_path, len, "%s.tmp.%ld", path, (long)getpid());
    af->fp = fopen(af->tmp_path, "wb");
    if (!af->fp) {
        cvg_status st = cvg__fail(CVG_ERR_IO, "%s: cannot create: %s", af->tmp_path,
                                  strerror(errno));
        cvg__atomic_abort(af);
        return st;
    }
    return CVG_OK;
}

void cvg__atomic_abort(cvg__atomic_file *af)
{
    if (af->fp) fclose(af->fp);
    if (af->tmp_path) remove(af->tmp_path);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

/* Large writes go out in pieces, each handed to the disk as soon as it is written, so that
 * the fsync of the commit waits only for the last piece instead of the whole file. */
enum { WRITE_PIECE = 16 << 20 };

void cvg__atomic_write(cvg__atomic_file *af, const void *data, size_t bytes)
{
    const char *p = data;
    for (size_t done = 0; done < bytes;) {
        const size_t n = bytes - done < WRITE_PIECE ? bytes - done : WRITE_PIECE;
        if (fwrite(p + done, 1, n, af->fp) != n) return; /* ferror() reports it at the commit */
        done += n;
#ifdef SYNC_FILE_RANGE_WRITE
        if (bytes > WRITE_PIECE && fflush(af->fp) == 0) {
            const off_t end = ftello(af->fp);
            if (end > 0) sync_file_range(fileno(af->fp), 0, end, SYNC_FILE_RANGE_WRITE);
        }
#endif
    }
}

cvg_status cvg__atomic_commit(cvg__atomic_file *af)
{
    int failed = ferror(af->fp);
    if (fflush(af->fp) != 0) failed = 1;
    /* inside a result set being built, its commit syncs the file (one sync, not two) */
    if (!failed && !cvg__inside_new_set(af->path) && fsync(fileno(af->fp)) != 0 && errno != EINVAL) failed = 1;
    int saved_errno = errno;
    if (fclose(af->fp) != 0) failed = 1;
    af->fp = NULL;
    if (failed) {
        cvg_status st = cvg__fail(CVG_ERR_IO, "%s: write failed: %s", af->path,
                                  strerror(saved_errno ? saved_errno : EIO));
        cvg__atomic_abort(af);
        return st;
    }
    if (rename(af->tmp_path, af->path) != 0) {
        cvg_status st = cvg__fail(CVG_ERR_IO, "%s: cannot rename into place: %s", af->path,
                                  strerror(errno));
        cvg__atomic_abort(af);
        return st;
    }
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
    return CVG_OK;
}

cvg_status cvg_write_file_atomic(const char *path, const void *data, size_t bytes)
{
    if (!path || (bytes && !data)) return cvg__fail(CVG_ERR_ARG, "cvg_write_file_atomic: NULL argument");
    cvg__atomic_file af;
    cvg_status st = cvg__atomic_open(&af, path);
    if (st != CVG_OK) return st;
    if (bytes && fwrite(data, 1, bytes, af.fp) != bytes) {
        st = cvg__fail(CVG_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        cvg__atomic_abort(&af);
        return st;
    }
    return cvg__atomic_commit(&af);
}

cvg_status cvg_read_file(const char *path, char **data, size_t *bytes)
{
    if (!path || !data) return cvg__fail(CVG_ERR_ARG, "cvg_read_file: NULL argument");
    *data = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return cvg__fail(CVG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (len + 1 < cap) break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) { free(buf); buf = NULL; break; }
        buf = bigger;
        cap *= 2;
    }
    int err = ferror(fp);
    fclose(fp);
    if (!buf) return cvg__fail(CVG_ERR_NOMEM, "%s: out of memory reading the file", path);
    if (err) {
        free(buf);
        return cvg__fail(CVG_ERR_IO, "%s: read failed", path);
    }
    buf[len] = '\0';
    *data = buf;
    if (bytes) *bytes = len;
    return CVG_OK;
}
