/* Which counting kernel the MI matrix uses: the fastest on the machine at hand, measured.
 *
 * A CPU flag says what a kernel can run on, not how fast it is there (the AVX-512 compare
 * kernel is bound by mask compares, whose cost differs between CPU families; the bit-sliced
 * one by byte permutes and ternary logic). So at the first MI matrix for a number of bins,
 * every kernel the CPU runs counts the same synthetic panel chunk (the shape of the real
 * work: 4096 rows of 64 codes, half zeros, a unit's rows grouped by code and visited in
 * random order) a few times, alternating, and the one with the smallest time wins; the
 * choice is kept for the rest of the process (about 3 ms per bins value, once). All kernels
 * give the same counts, so the choice changes the time only. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mi/mi_internal.h"

typedef struct kernel {
    const char *name;
    cvg__mi_count_fn fn;
    cvg__mi_count_fn upper; /* lanes 32..63 only, or NULL */
    int max_bins;
} kernel;

static const kernel kernels[] = {
#ifdef CVG_MI_X86
    {"bitslice", cvg__mi_count_bitslice, cvg__mi_count_upper_bitslice, 63},
    {"avx512", cvg__mi_count_avx512, cvg__mi_count_upper_avx512, 254},
    {"avx2", cvg__mi_count_avx2, NULL, 254},
#endif
    {"generic", cvg__mi_count_generic, NULL, 254},
};
enum { NKERNELS = sizeof kernels / sizeof kernels[0] };

static int cpu_runs(int k)
{
#ifdef CVG_MI_X86
    __builtin_cpu_init();
    const char *name = kernels[k].name;
    if (!strcmp(name, "bitslice"))
        return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
    if (!strcmp(name, "avx512")) return __builtin_cpu_supports("avx512bw");
    if (!strcmp(name, "avx2")) return __builtin_cpu_supports("avx2");
#endif
    return !strcmp(kernels[k].name, "generic");
}

static int usable(int k, int bins) { return cpu_runs(k) && bins <= kernels[k].max_bins; }

static int forced = -1; /* index into kernels (tests, benchmarks); -1: by timing */
/* per bins: 1 + the index of the kernel timed fastest; 0: not timed yet */
static signed char timed[256];
static pthread_mutex_t timing_lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t next_random(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

/* Times every usable kernel on a synthetic chunk, best of `rounds` (seconds[k] for kernel k;
 * 1e300: not run); returns the index of the fastest (the first usable one if memory is
 * short). */
static int time_kernels(int bins, int rounds, double *seconds)
{
    enum { ROWS = 4096, CALLS = 3 };
    int first = -1;
    for (int k = 0; k < NKERNELS && first < 0; k++)
        if (usable(k, bins)) first = k;
    uint8_t *panel = malloc((size_t)ROWS * CVG_MI_LANES);
    uint8_t *unit = malloc(ROWS);
    int32_t *perm = malloc(ROWS * sizeof *perm);
    int64_t *goff = calloc((size_t)bins + 2, sizeof *goff);
    uint16_t *cnt = calloc((size_t)bins * bins * CVG_MI_LANES, sizeof *cnt);
    int best = first;
    for (int k = 0; k < NKERNELS; k++) seconds[k] = 1e300;
    if (panel && unit && perm && goff && cnt) {
        uint64_t s = 20260101;
        /* half zeros (ReLU units), the rest uniform over 1..bins */
        for (int64_t e = 0; e < (int64_t)ROWS * CVG_MI_LANES; e++) {
            const uint32_t u = next_random(&s) % (2u * (uint32_t)bins);
            panel[e] = (uint8_t)(u < (uint32_t)bins ? 0 : u - (uint32_t)bins + 1);
        }
        for (int r = 0; r < ROWS; r++) {
            const uint32_t u = next_random(&s) % (2u * (uint32_t)bins);
            unit[r] = (uint8_t)(u < (uint32_t)bins ? 0 : u - (uint32_t)bins + 1);
            goff[unit[r]]++;
        }
        /* goff[a] = end of group a (a >= 1), as cvg__mi_count_fn reads it; rows of code 0
         * are not listed */
        int64_t end = 0;
        for (int a = 1; a <= bins; a++) {
            end += goff[a];
            goff[a] = end;
        }
        goff[0] = 0;
        int64_t fill[256];
        fill[1] = 0;
        for (int a = 2; a <= bins; a++) fill[a] = goff[a - 1];
        for (int r = 0; r < ROWS; r++)
            if (unit[r]) perm[fill[unit[r]]++] = r;
        double *best_t = seconds;
        for (int round = 0; round < rounds; round++)
            for (int k = 0; k < NKERNELS; k++) {
                if (!usable(k, bins)) continue;
                const double t0 = now();
                for (int c = 0; c < CALLS; c++) kernels[k].fn(panel, perm, goff, bins, cnt);
                const double t = now() - t0;
                if (t < best_t[k]) best_t[k] = t;
            }
        for (int k = 0; k < NKERNELS; k++)
            if (usable(k, bins) && best_t[k] < best_t[best]) best = k;
    }
    free(panel);
    free(unit);
    free(perm);
    free(goff);
    free(cnt);
    return best;
}

static int choose(int bins)
{
    if (bins < 1) bins = 1;
    if (bins > 254) bins = 254;
    if (forced >= 0) {
        if (usable(forced, bins)) return forced;
        /* too many bins for the forced kernel: the next one in the table that can */
        for (int k = forced + 1; k < NKERNELS; k++)
            if (usable(k, bins)) return k;
    }
    int k = __atomic_load_n(&timed[bins], __ATOMIC_ACQUIRE) - 1;
    if (k >= 0) return k;
    pthread_mutex_lock(&timing_lock);
    k = timed[bins] - 1;
    if (k < 0) {
        double seconds[NKERNELS];
        k = time_kernels(bins, 5, seconds);
        __atomic_store_n(&timed[bins], (signed char)(k + 1), __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&timing_lock);
    return k;
}

cvg__mi_count_fn cvg__mi_kernel(int bins, cvg__mi_count_fn *upper)
{
    const int k = choose(bins);
    if (upper) *upper = kernels[k].upper;
    return kernels[k].fn;
}

const char *cvg__mi_kernel_name(int bins) { return kernels[choose(bins)].name; }

int cvg__mi_time_kernels(int bins, int rounds, const char **names, double *seconds)
{
    double t[NKERNELS];
    time_kernels(bins, rounds, t);
    int n = 0;
    for (int k = 0; k < NKERNELS; k++)
        if (t[k] < 1e300) {
            names[n] = kernels[k].name;
            seconds[n++] = t[k];
        }
    return n;
}

int cvg__mi_avx512(void)
{
#ifdef CVG_MI_X86
    if (forced >= 0)
        return !strcmp(kernels[forced].name, "avx512") ||
               !strcmp(kernels[forced].name, "bitslice");
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}

int cvg__mi_force_kernel(const char *name)
{
    if (!name) {
        forced = -1;
        return 1;
    }
    for (int k = 0; k < NKERNELS; k++)
        if (!strcmp(kernels[k].name, name) && cpu_runs(k)) {
            forced = k;
            return 1;
        }
    return 0;
}
