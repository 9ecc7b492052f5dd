/* The MI counting kernels side by side: each kernel the CPU runs counts the same synthetic
 * panel chunk (4096 rows x 64 codes, half zeros, one unit's rows grouped by code), best of
 * ROUNDS alternating rounds, one thread: the measurement src/mi/mi_dispatch.c makes at first
 * use to choose the kernel, with more rounds. The best of many short runs is what a loaded
 * machine still measures well.
 *
 *   bench_mi_kernels [BINS] [ROUNDS]      (defaults 20 200)
 */
#include <stdio.h>
#include <stdlib.h>

#include "mi/mi_internal.h"

int main(int argc, char **argv)
{
    const int bins = argc > 1 ? atoi(argv[1]) : 20, rounds = argc > 2 ? atoi(argv[2]) : 200;
    if (bins < 1 || bins > 254 || rounds < 1) {
        fprintf(stderr, "usage: %s [BINS 1..254] [ROUNDS >= 1]\n", argv[0]);
        return 2;
    }
    const char *names[8];
    double seconds[8];
    const int n = cvg__mi_time_kernels(bins, rounds, names, seconds);
    double best = seconds[0];
    for (int k = 1; k < n; k++)
        if (seconds[k] < best) best = seconds[k];
    printf("bins %d, best of %d rounds of 3 calls (4096-row chunk, 64 lanes)\n", bins, rounds);
    for (int k = 0; k < n; k++)
        printf("%-9s %8.1f us  %5.2fx the fastest\n", names[k], seconds[k] * 1e6,
               seconds[k] / best);
    printf("chosen: %s\n", cvg__mi_kernel_name(bins));
    return 0;
}
