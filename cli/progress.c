/* A one-line progress bar on stderr, redrawn at most ten times a second, only on a terminal. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static int bar_active;
static double bar_started, bar_last_draw;
static char bar_task[64];

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cli_progress(const char *task, uint64_t done, uint64_t total, void *user)
{
    (void)user;
    if (!isatty(STDERR_FILENO)) return 0;
    double t = now_seconds();
    if (!bar_active || strncmp(bar_task, task, sizeof bar_task - 1) != 0) {
        snprintf(bar_task, sizeof bar_task, "%s", task);
        bar_started = t;
        bar_last_draw = 0;
        bar_active = 1;
    }
    if (done < total && t - bar_last_draw < 0.1) return 0;
    bar_last_draw = t;
    const int width = 30;
    double frac = total ? (double)done / (double)total : 1.0;
    int filled = (int)(frac * width);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    double elapsed = t - bar_started;
    double eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    fprintf(stderr, "\r%-24.24s [%s] %5.1f%%  %6.1fs  eta %6.1fs", task, bar, 100 * frac, elapsed, eta);
    if (done >= total) {
        fputc('\n', stderr);
        bar_active = 0;
    }
    fflush(stderr);
    return 0;
}

void cli_progress_end(void)
{
    if (bar_active && isatty(STDERR_FILENO)) fputc('\n', stderr);
    bar_active = 0;
}
