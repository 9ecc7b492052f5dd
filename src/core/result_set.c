/* Result sets: a directory of results published as one unit (docs/reliability.md).
 *
 * For the output directory P/NAME a writer
 *   1. takes the advisory lock P/.NAME.lock (flock, not waiting: a second writer fails at once
 *      with CVG_ERR_BUSY); the lock file itself is never removed, since removing it would let
 *      two writers hold locks on two different files of the same name;
 *   2. under the lock, repairs what a killed writer left (recover_and_clean below): only names
 *      P/.NAME.new-<pid> and P/.NAME.old-<pid> are touched, and no other writer can own them
 *      because we hold the lock;
 *   3. builds the new set in P/.NAME.new-<pid> (with CVG_RESULT_KEEP: starting from hard links
 *      to the published files, which are immutable since every file is replaced by rename and
 *      never written in place);
 *   4. commits: fsync every file and directory of the new set, then exchange it with P/NAME in
 *      one renameat2(RENAME_EXCHANGE), fsync P, remove the old set (now under the new-<pid>
 *      name). Without RENAME_EXCHANGE (a file system that lacks it): rename P/NAME to
 *      P/.NAME.old-<pid>, then the new set to P/NAME; a writer killed between the two leaves no
 *      P/NAME, which step 2 of the next writer (or of a reader, cvg_result_recover) repairs by
 *      publishing the new set, complete since it was synced before the first rename.
 * The lock is per process: a process that holds it (cvg_result_lock) may begin sets on the
 * same directory; they share the one lock (counted). */
#define _GNU_SOURCE /* renameat2, RENAME_EXCHANGE */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"

/* ------------------------------------------------------------------ names */

/* dir split into its parent and last component, trailing slashes dropped. */
typedef struct split_path {
    char parent[PATH_MAX];
    char name[NAME_MAX + 1];
    int bare; /* dir was a bare name: parent "." is implied, and names are shown without it */
} split_path;

static cvg_status split(const char *dir, split_path *sp)
{
    memset(sp, 0, sizeof *sp);
    /* a symbolic link to the output: the set is the directory it points to (swapping the link
     * itself would turn it into a directory and leave the old results where it pointed) */
    struct stat sb;
    char resolved[PATH_MAX];
    if (lstat(dir, &sb) == 0 && S_ISLNK(sb.st_mode) && realpath(dir, resolved)) dir = resolved;
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    if (len == 0 || len >= PATH_MAX) return cvg__fail(CVG_ERR_ARG, "'%s': not a usable output directory name", dir);
    char buf[PATH_MAX];
    memcpy(buf, dir, len);
    buf[len] = '\0';
    char *slash = strrchr(buf, '/');
    const char *name = slash ? slash + 1 : buf;
    if (slash == buf) snprintf(sp->parent, sizeof sp->parent, "/");
    else if (slash) {
        *slash = '\0';
        snprintf(sp->parent, sizeof sp->parent, "%s", buf);
    } else snprintf(sp->parent, sizeof sp->parent, "."), sp->bare = 1;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strlen(name) > NAME_MAX - 32)
        return cvg__fail(CVG_ERR_ARG, "%s: give the output directory by a name (not '.', '..' or '/'), so that "
                         "a new version can be built beside it and swapped in", dir);
    snprintf(sp->name, sizeof sp->name, "%s", name);
    return CVG_OK;
}

/* "P/.NAME.<what>" */
static void sibling(const split_path *sp, const char *what, char *out, size_t size)
{
    if (sp->bare) snprintf(out, size, ".%s.%s", sp->name, what);
    else snprintf(out, size, "%s/.%s.%s", sp->parent, sp->name, what);
}

static void joined(const split_path *sp, char *out, size_t size)
{
    if (sp->bare) snprintf(out, size, "%s", sp->name);
    else if (strcmp(sp->parent, "/") == 0) snprintf(out, size, "/%s", sp->name);
    else snprintf(out, size, "%s/%s", sp->parent, sp->name);
}

/* A leftover of ours: ".NAME.new-<digits>" or ".NAME.old-<digits>"; *kind is 'n' or 'o'. */
static long leftover_pid(const char *entry, const char *name, char *kind)
{
    const size_t n = strlen(name);
    if (entry[0] != '.' || strncmp(entry + 1, name, n) != 0 || entry[1 + n] != '.') return -1;
    const char *rest = entry + 2 + n;
    if (strncmp(rest, "new-", 4) == 0) *kind = 'n';
    else if (strncmp(rest, "old-", 4) == 0) *kind = 'o';
    else return -1;
    rest += 4;
    if (!*rest) return -1;
    long pid = 0;
    for (const char *c = rest; *c; c++) {
        if (*c < '0' || *c > '9' || pid > 100000000) return -1;
        pid = pid * 10 + (*c - '0');
    }
    return pid;
}

/* ------------------------------------------------------------------ trees */

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)type, (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

cvg_status cvg__remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return errno == ENOENT ? CVG_OK : cvg__fail(CVG_ERR_IO, "%s: %s", path, strerror(errno));
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return cvg__fail(CVG_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    return CVG_OK;
}

/* A leftover of a nested set (".X.new-<pid>", ".X.old-<pid>"), never carried into a new set.
 * Lock files are carried (linked): a writer of a subdirectory then locks the same file before
 * and after the parent set is republished. */
static int is_leftover(const char *entry)
{
    /* X may hold dots; the suffix "new-<pid>" / "old-<pid>" does not: the last dot ends X */
    const char *dot = strrchr(entry, '.');
    if (entry[0] != '.' || dot == entry) return 0;
    char name[NAME_MAX + 1], kind;
    snprintf(name, sizeof name, "%.*s", (int)(dot - entry - 1), entry + 1);
    return leftover_pid(entry, name, &kind) >= 0;
}

/* Hard-link every file of src into dst (created), recursively; directories are made anew,
 * symbolic links copied. Leftovers of nested sets are not carried over. */
static cvg_status link_tree(const char *src, const char *dst)
{
    if (mkdir(dst, 0777) != 0 && errno != EEXIST)
        return cvg__fail(CVG_ERR_IO, "%s: cannot create directory: %s", dst, strerror(errno));
    DIR *d = opendir(src);
    if (!d) return cvg__fail(CVG_ERR_IO, "%s: cannot read directory: %s", src, strerror(errno));
    cvg_status st = CVG_OK;
    struct dirent *e;
    while (st == CVG_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || is_leftover(e->d_name)) continue;
        char *from = cvg__path_join(src, e->d_name), *to = cvg__path_join(dst, e->d_name);
        struct stat sb;
        if (!from || !to) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        else if (lstat(from, &sb) != 0) st = cvg__fail(CVG_ERR_IO, "%s: %s", from, strerror(errno));
        else if (S_ISDIR(sb.st_mode)) st = link_tree(from, to);
        else if (S_ISLNK(sb.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlink(from, target, sizeof target - 1);
            if (n >= 0) target[n] = '\0';
            if (n < 0 || symlink(target, to) != 0)
                st = cvg__fail(CVG_ERR_IO, "%s: cannot copy the link: %s", to, strerror(errno));
        } else if (link(from, to) != 0)
            st = cvg__fail(CVG_ERR_IO, "%s: cannot link %s into the new result set: %s", to, from, strerror(errno));
        free(from);
        free(to);
    }
    closedir(d);
    return st;
}

/* A directory: fsync (its entries). A file: fdatasync, its data and size; the timestamps a
 * rename or a link changes need not be durable, and fdatasync skips them, so a file already
 * synced by the writer that made it costs no journal commit here. */
static cvg_status sync_path(const char *path, int directory)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
    if (fd < 0) return cvg__fail(CVG_ERR_IO, "%s: cannot open to sync: %s", path, strerror(errno));
    int rc = directory ? fsync(fd) : fdatasync(fd), err = errno;
    close(fd);
    /* some file systems cannot sync a directory (EINVAL): nothing more can be done there */
    if (rc != 0 && err != EINVAL) return cvg__fail(CVG_ERR_IO, "%s: fsync failed: %s", path, strerror(err));
    return CVG_OK;
}

/* Sets published inside a set still being built (run's steps): already synced whole, so the
 * enclosing set's sync skips them. Paths as the nested sets were named; forgotten when the
 * enclosing set is done. */
typedef struct synced_set {
    char path[PATH_MAX];
    struct synced_set *next;
} synced_set;
static pthread_mutex_t synced_mutex = PTHREAD_MUTEX_INITIALIZER;
static synced_set *synced;

static void synced_add(const char *path)
{
    synced_set *e = calloc(1, sizeof *e);
    if (!e) return; /* then it is synced twice: slower, not wrong */
    snprintf(e->path, sizeof e->path, "%s", path);
    pthread_mutex_lock(&synced_mutex);
    e->next = synced;
    synced = e;
    pthread_mutex_unlock(&synced_mutex);
}

static int synced_has(const char *path)
{
    pthread_mutex_lock(&synced_mutex);
    int found = 0;
    for (synced_set *e = synced; e && !found; e = e->next) found = strcmp(e->path, path) == 0;
    pthread_mutex_unlock(&synced_mutex);
    return found;
}

/* Forget the sets published under prefix/ (the enclosing set is done with them). */
static void synced_forget(const char *prefix)
{
    const size_t n = strlen(prefix);
    pthread_mutex_lock(&synced_mutex);
    for (synced_set **p = &synced; *p;) {
        if (strncmp((*p)->path, prefix, n) == 0 && (*p)->path[n] == '/') {
            synced_set *e = *p;
            *p = e->next;
            free(e);
        } else {
            p = &(*p)->next;
        }
    }
    pthread_mutex_unlock(&synced_mutex);
}

/* Sync a new set: every file not shared with the published set (those were synced when they
 * were written), then the directory itself, depth first; nested sets published inside it are
 * skipped (synced by their own commit). */
static cvg_status sync_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return cvg__fail(CVG_ERR_IO, "%s: cannot read directory to sync: %s", dir, strerror(errno));
    cvg_status st = CVG_OK;
    struct dirent *e;
    while (st == CVG_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *path = cvg__path_join(dir, e->d_name);
        struct stat sb;
        if (!path) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
        else if (lstat(path, &sb) != 0) st = cvg__fail(CVG_ERR_IO, "%s: %s", path, strerror(errno));
        else if (S_ISDIR(sb.st_mode) && !synced_has(path)) st = sync_tree(path);
        else if (S_ISREG(sb.st_mode) && sb.st_nlink == 1) st = sync_path(path, 0);
        free(path);
    }
    closedir(d);
    return st == CVG_OK ? sync_path(dir, 1) : st;
}

/* ------------------------------------------------------------------ locks, per process */

typedef struct held_lock {
    char path[PATH_MAX];
    int fd, count;
    pid_t owner; /* a child of fork() inherits the list, not the right to write */
    struct held_lock *next;
} held_lock;

static pthread_mutex_t locks_mutex = PTHREAD_MUTEX_INITIALIZER;
static held_lock *locks;
static pthread_once_t fork_handlers_once = PTHREAD_ONCE_INIT;

/* A child of fork() (`convergent run` trains its networks in children) gets copies of the
 * lock files' descriptors; a copy keeps the flock alive after the parent dies, and a second
 * run would be refused while an orphan lives. The child closes its copies (the parent's lock
 * stays: it belongs to the open file, released when its last descriptor closes). */
static void before_fork(void) { pthread_mutex_lock(&locks_mutex); }
static void after_fork_parent(void) { pthread_mutex_unlock(&locks_mutex); }
static void after_fork_child(void)
{
    while (locks) {
        held_lock *h = locks;
        locks = h->next;
        close(h->fd);
        free(h);
    }
    pthread_mutex_unlock(&locks_mutex);
}
static void install_fork_handlers(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

/* Take P/.NAME.lock (or count one more use of it if this process holds it: *fresh = 0). */
static cvg_status lock_take(const split_path *sp, const char *dir, int *fresh)
{
    *fresh = 0;
    pthread_once(&fork_handlers_once, install_fork_handlers);
    char path[PATH_MAX];
    sibling(sp, "lock", path, sizeof path);
    pthread_mutex_lock(&locks_mutex);
    for (held_lock *h = locks; h; h = h->next)
        if (strcmp(h->path, path) == 0 && h->owner == getpid()) {
            h->count++;
            pthread_mutex_unlock(&locks_mutex);
            return CVG_OK;
        }
    cvg_status st = CVG_OK;
    /* Opened, never written: the empty file is only the object of flock, and stays (removing
     * it would let a second writer lock a new file of the same name). No result lives in it. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    held_lock *h = NULL;
    if (fd < 0) st = cvg__fail(CVG_ERR_IO, "%s: cannot open the lock file of %s: %s", path, dir, strerror(errno));
    else if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        st = errno == EWOULDBLOCK
                 ? cvg__fail(CVG_ERR_BUSY, "%s: another convergent process is writing this directory "
                             "(it holds %s); wait for it to finish, or write elsewhere", dir, path)
                 : cvg__fail(CVG_ERR_IO, "%s: cannot lock: %s", path, strerror(errno));
    else if (!(h = calloc(1, sizeof *h))) st = cvg__fail(CVG_ERR_NOMEM, "out of memory");
    if (st != CVG_OK) {
        if (fd >= 0) close(fd);
    } else {
        snprintf(h->path, sizeof h->path, "%s", path);
        h->fd = fd;
        h->owner = getpid();
        h->count = 1;
        *fresh = 1;
        h->next = locks;
        locks = h;
    }
    pthread_mutex_unlock(&locks_mutex);
    return st;
}

static void lock_drop(const split_path *sp)
{
    char path[PATH_MAX];
    sibling(sp, "lock", path, sizeof path);
    pthread_mutex_lock(&locks_mutex);
    for (held_lock **p = &locks; *p; p = &(*p)->next)
        if (strcmp((*p)->path, path) == 0 && (*p)->owner == getpid()) {
            held_lock *h = *p;
            if (--h->count == 0) {
                *p = h->next;
                close(h->fd); /* releases the flock */
                free(h);
            }
            break;
        }
    pthread_mutex_unlock(&locks_mutex);
}

/* ------------------------------------------------------------------ recovery */

/* Under the lock: a publication cut between its two renames leaves no P/NAME but a
 * P/.NAME.old-<pid>; the new set of that pid, synced before, goes into place (or, if it is
 * gone, the old one goes back). Then every other leftover of ours is removed. */
static cvg_status recover_and_clean(const split_path *sp, const char *dir)
{
    DIR *d = opendir(sp->parent);
    if (!d) return errno == ENOENT ? CVG_OK : cvg__fail(CVG_ERR_IO, "%s: cannot read directory: %s", sp->parent, strerror(errno));
    struct stat sb;
    const int published = lstat(dir, &sb) == 0;
    long orphan = -1;
    struct dirent *e;
    char path[PATH_MAX];
    /* first the repair (at most one writer was cut between its renames: the lock) */
    while (!published && (e = readdir(d)) != NULL) {
        char kind;
        long pid = leftover_pid(e->d_name, sp->name, &kind);
        if (pid >= 0 && kind == 'o') orphan = pid;
    }
    cvg_status st = CVG_OK;
    if (orphan >= 0) {
        char what[64], old_path[PATH_MAX];
        snprintf(what, sizeof what, "new-%ld", orphan);
        sibling(sp, what, path, sizeof path);
        snprintf(what, sizeof what, "old-%ld", orphan);
        sibling(sp, what, old_path, sizeof old_path);
        const char *from = lstat(path, &sb) == 0 ? path : old_path;
        if (rename(from, dir) != 0)
            st = cvg__fail(CVG_ERR_IO, "%s: cannot restore %s left by a writer that was stopped: %s", dir,
                           from, strerror(errno));
        else {
            cvg__log(CVG_LOG_WARN, "%s: restored the result set published by a writer that was stopped (%s)", dir, from);
            st = sync_path(sp->parent, 1);
        }
    }
    rewinddir(d);
    while (st == CVG_OK && (e = readdir(d)) != NULL) {
        char kind;
        if (leftover_pid(e->d_name, sp->name, &kind) < 0) continue;
        snprintf(path, sizeof path, "%s/%s", sp->parent, e->d_name);
        cvg__log(CVG_LOG_INFO, "removing %s, left by a writer of %s that was stopped", path, dir);
        st = cvg__remove_tree(path);
    }
    closedir(d);
    return st;
}

/* ------------------------------------------------------------------ the API */

int cvg__inside_new_set(const char *path)
{
    char suffix[32];
    snprintf(suffix, sizeof suffix, ".new-%ld/", (long)getpid());
    for (const char *p = strstr(path, suffix); p; p = strstr(p + 1, suffix)) {
        const char *start = p; /* the component holding the suffix must be hidden: ".X.new-<pid>" */
        while (start > path && start[-1] != '/') start--;
        if (start[0] == '.' && start < p) return 1;
    }
    return 0;
}

struct cvg_result_set {
    split_path sp;
    char dir[PATH_MAX];     /* the published directory */
    char staging[PATH_MAX]; /* P/.NAME.new-<pid> */
    int locked;
};

cvg_status cvg_result_lock(const char *dir)
{
    if (!dir) return cvg__fail(CVG_ERR_ARG, "cvg_result_lock: NULL directory");
    split_path sp;
    int fresh = 0;
    cvg_status st = split(dir, &sp);
    if (st == CVG_OK) st = cvg_mkdirs(sp.parent);
    if (st == CVG_OK) st = lock_take(&sp, dir, &fresh);
    if (st != CVG_OK || !fresh) return st; /* re-entered: this process's own sets are no leftovers */
    char clean[PATH_MAX];
    joined(&sp, clean, sizeof clean);
    st = recover_and_clean(&sp, clean);
    if (st != CVG_OK) lock_drop(&sp);
    return st;
}

void cvg_result_unlock(const char *dir)
{
    split_path sp;
    if (dir && split(dir, &sp) == CVG_OK) lock_drop(&sp);
}

cvg_status cvg_result_recover(const char *dir)
{
    if (!dir) return cvg__fail(CVG_ERR_ARG, "cvg_result_recover: NULL directory");
    struct stat sb;
    if (stat(dir, &sb) == 0) return CVG_OK; /* published: nothing a reader needs */
    split_path sp;
    if (split(dir, &sp) != CVG_OK || stat(sp.parent, &sb) != 0) return CVG_OK;
    cvg_status st = cvg_result_lock(dir);
    if (st == CVG_ERR_BUSY) return CVG_OK; /* its writer is alive and will publish it */
    if (st == CVG_OK) cvg_result_unlock(dir);
    return st;
}

cvg_status cvg_result_begin(const char *dir, int flags, cvg_result_set **out)
{
    if (!dir || !out) return cvg__fail(CVG_ERR_ARG, "cvg_result_begin: NULL argument");
    *out = NULL;
    cvg_result_set *rs = calloc(1, sizeof *rs);
    if (!rs) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    cvg_status st = split(dir, &rs->sp);
    if (st == CVG_OK) st = cvg_result_lock(dir);
    if (st != CVG_OK) {
        free(rs);
        return st;
    }
    rs->locked = 1;
    joined(&rs->sp, rs->dir, sizeof rs->dir);
    char what[64];
    snprintf(what, sizeof what, "new-%ld", (long)getpid());
    sibling(&rs->sp, what, rs->staging, sizeof rs->staging);
    struct stat sb;
    const int exists = stat(rs->dir, &sb) == 0;
    if (exists && !S_ISDIR(sb.st_mode))
        st = cvg__fail(CVG_ERR_IO, "%s: exists and is not a directory", rs->dir);
    else if ((flags & CVG_RESULT_KEEP) && exists)
        st = link_tree(rs->dir, rs->staging);
    else if (mkdir(rs->staging, 0777) != 0)
        st = cvg__fail(CVG_ERR_IO, "%s: cannot create directory: %s", rs->staging, strerror(errno));
    if (st != CVG_OK) {
        cvg__error_context("%s: cannot start a new result set", rs->dir);
        cvg_result_abort(rs);
        return st;
    }
    *out = rs;
    return CVG_OK;
}

const char *cvg_result_dir(const cvg_result_set *rs) { return rs ? rs->staging : NULL; }
const char *cvg_result_target(const cvg_result_set *rs) { return rs ? rs->dir : NULL; }

cvg_status cvg_result_remove(const cvg_result_set *rs, const char *relative)
{
    if (!rs || !relative || !*relative || relative[0] == '/' || strstr(relative, ".."))
        return cvg__fail(CVG_ERR_ARG, "cvg_result_remove: '%s' is not a path inside the set", relative ? relative : "(null)");
    char *path = cvg__path_join(rs->staging, relative);
    if (!path) return cvg__fail(CVG_ERR_NOMEM, "out of memory");
    cvg_status st = cvg__remove_tree(path);
    free(path);
    return st;
}

void cvg_result_abort(cvg_result_set *rs)
{
    if (!rs) return;
    if (rs->staging[0]) cvg__remove_tree(rs->staging);
    if (rs->locked) lock_drop(&rs->sp);
    free(rs);
}

/* Is the set's parent inside a new set this process is building? */
cvg_status cvg_result_commit(cvg_result_set *rs)
{
    if (!rs) return cvg__fail(CVG_ERR_ARG, "cvg_result_commit: NULL result set");
    char built[PATH_MAX]; /* the new set's name while it was built (nested sets are under it) */
    snprintf(built, sizeof built, "%s", rs->staging);
    cvg_status st = sync_tree(rs->staging);
    struct stat sb;
    const int exists = st == CVG_OK && lstat(rs->dir, &sb) == 0;
    if (st == CVG_OK && exists) {
        if (renameat2(AT_FDCWD, rs->staging, AT_FDCWD, rs->dir, RENAME_EXCHANGE) != 0) {
            if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
                st = cvg__fail(CVG_ERR_IO, "%s: cannot swap in the new result set: %s", rs->dir, strerror(errno));
            else { /* no exchange here: rename aside, then into place (recover_and_clean) */
                char what[64], old_path[PATH_MAX];
                snprintf(what, sizeof what, "old-%ld", (long)getpid());
                sibling(&rs->sp, what, old_path, sizeof old_path);
                if (rename(rs->dir, old_path) != 0 || rename(rs->staging, rs->dir) != 0)
                    st = cvg__fail(CVG_ERR_IO, "%s: cannot publish the new result set: %s", rs->dir, strerror(errno));
                else snprintf(rs->staging, sizeof rs->staging, "%s", old_path);
            }
        }
    } else if (st == CVG_OK && rename(rs->staging, rs->dir) != 0) {
        st = cvg__fail(CVG_ERR_IO, "%s: cannot publish the new result set: %s", rs->dir, strerror(errno));
    } else if (st == CVG_OK) {
        rs->staging[0] = '\0'; /* nothing old to remove */
    }
    if (st == CVG_OK) st = sync_path(rs->sp.parent, 1);
    synced_forget(built);
    if (st == CVG_OK && cvg__inside_new_set(rs->dir)) synced_add(rs->dir); /* a nested set */
    cvg_result_abort(rs); /* removes the old set (or, on failure, the new one) and unlocks */
    return st;
}
