/* Guards for mapped file pages (map_guard.h): a file truncated by someone else while its pages
 * are mapped makes the next read of a page past the new end raise SIGBUS, which would kill the
 * process. While at least one guard is armed, our SIGBUS handler looks the faulting address up
 * among the guarded ranges; inside one, it maps anonymous zero pages over the range from the
 * faulting page to its end (MAP_FIXED replaces the file's pages atomically), marks the guard,
 * and returns: the read that faulted runs again and sees zeros, every thread goes on without a
 * jump out of its OpenMP region, and the caller, once the reads are over, finds the mark and
 * reports the file as truncated. Any other SIGBUS goes to the handler that was there before
 * (or gets the default action: the read faults again with it restored).
 *
 * The handler touches only the slot table (lock-free atomics) and calls mmap, a plain system
 * call; arming and disarming take a mutex, never the handler. Costs nothing on the reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/map_guard.h"

/* Mappings guarded at once, over every thread of the process (the pass maps one per net). */
enum { GUARD_SLOTS = 256 };

typedef struct guard_slot {
    atomic_uintptr_t start, end; /* [start, end) bytes; end == 0: the slot is free */
    atomic_int faulted;
} guard_slot;

static guard_slot slots[GUARD_SLOTS];
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static int armed_count;              /* guards armed; the handler is installed while > 0 */
static struct sigaction previous;    /* the SIGBUS action before ours */
static atomic_uintptr_t page_mask;   /* ~(page size - 1), set before the handler is installed */

static void chain_to_previous(int sig, siginfo_t *info, void *context)
{
    if (previous.sa_flags & SA_SIGINFO) {
        if (previous.sa_sigaction) previous.sa_sigaction(sig, info, context);
        return;
    }
    if (previous.sa_handler == SIG_IGN) return;
    if (previous.sa_handler != SIG_DFL) {
        previous.sa_handler(sig);
        return;
    }
    /* the default action: restore it and return; the faulting read runs again and dies of it,
     * as it would have without us */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGBUS, &dfl, NULL);
}

static void on_sigbus(int sig, siginfo_t *info, void *context)
{
    const uintptr_t at = (uintptr_t)info->si_addr;
    const int saved_errno = errno;
    for (int i = 0; i < GUARD_SLOTS; i++) {
        const uintptr_t end = atomic_load(&slots[i].end), start = atomic_load(&slots[i].start);
        if (end == 0 || at < start || at >= end) continue;
        const uintptr_t page = at & atomic_load(&page_mask);
        void *zeros = mmap((void *)page, end - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (zeros != MAP_FAILED) {
            atomic_store(&slots[i].faulted, 1);
            errno = saved_errno;
            return;
        }
        break; /* could not replace the pages: not ours to recover */
    }
    errno = saved_errno;
    chain_to_previous(sig, info, context);
}

int map_guard_arm(const void *start, size_t bytes)
{
    if (!start || bytes == 0) return -1;
    pthread_mutex_lock(&install_lock);
    int slot = -1;
    for (int i = 0; i < GUARD_SLOTS && slot < 0; i++)
        if (atomic_load(&slots[i].end) == 0) slot = i;
    if (slot >= 0 && armed_count == 0) {
        atomic_store(&page_mask, ~((uintptr_t)sysconf(_SC_PAGESIZE) - 1));
        struct sigaction ours;
        memset(&ours, 0, sizeof ours);
        ours.sa_sigaction = on_sigbus;
        ours.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&ours.sa_mask);
        if (sigaction(SIGBUS, &ours, &previous) != 0) slot = -1;
    }
    if (slot >= 0) {
        atomic_store(&slots[slot].faulted, 0);
        atomic_store(&slots[slot].start, (uintptr_t)start);
        atomic_store(&slots[slot].end, (uintptr_t)start + bytes); /* published last */
        armed_count++;
    }
    pthread_mutex_unlock(&install_lock);
    return slot;
}

int map_guard_faulted(int slot)
{
    return slot >= 0 && slot < GUARD_SLOTS && atomic_load(&slots[slot].faulted);
}

int map_guard_disarm(int slot)
{
    if (slot < 0 || slot >= GUARD_SLOTS) return 0;
    pthread_mutex_lock(&install_lock);
    const int faulted = atomic_load(&slots[slot].faulted);
    atomic_store(&slots[slot].end, 0);
    atomic_store(&slots[slot].start, 0);
    if (--armed_count == 0) sigaction(SIGBUS, &previous, NULL);
    pthread_mutex_unlock(&install_lock);
    return faulted;
}
