/* The counting kernel of the MI matrix: exact joint histograms of one unit against a panel of
 * 32 units.
 *
 * The rows where unit i has code a (a >= 1) are visited group by group. For each row the 32
 * codes of the panel are one 32-byte vector v; for each b of a chunk of CH codes a byte counter
 * vector acc[b] -= (v == b) (a true comparison is -1 in every lane), so one compare and one
 * subtract count one cell for 32 pairs at once, and the CH counters stay in registers for the
 * whole group. Byte counters are flushed into 32-bit counts every 255 rows. Compared with one
 * scalar increment per (pair, row), this is about 1.5 vector operations per 32 pair-rows
 * per cell; see docs/mutual-information.md for the measured alternatives.
 *
 * The same source is compiled three times: AVX-512 (BW+VL: 32 ymm registers, all 20 counters
 * of the default bins in one pass), AVX2 (16 ymm registers) and a generic build (GCC vector
 * extensions lowered to whatever the target has), and dispatched once on the CPU. */
#include <string.h>

#include "mi/mi_internal.h"

typedef uint8_t v32u8 __attribute__((vector_size(32), aligned(1)));

/* One chunk: codes b0 .. b0+nb-1 (nb <= CH) of group rows g[0..s-1], flushed into
 * cnt_row (the cnt cells of code a, indexed [(b-1) * 32 + lane]). */
#define DEFINE_KERNEL(NAME, ATTR, CH)                                                          \
    ATTR static void NAME(const uint8_t *panel, const int32_t *perm, const int64_t *goff,      \
                          int bins, uint32_t *cnt)                                             \
    {                                                                                          \
        for (int a = 1; a <= bins; a++) {                                                      \
            const int32_t *g = perm + goff[a - 1];                                             \
            const int64_t s = goff[a] - goff[a - 1];                                           \
            uint32_t *cnt_row = cnt + (int64_t)(a - 1) * bins * CVG_MI_LANES;                  \
            for (int b0 = 1; b0 <= bins; b0 += CH) {                                           \
                const int nb = bins - b0 + 1 < CH ? bins - b0 + 1 : CH;                        \
                v32u8 code[CH];                                                                \
                for (int k = 0; k < CH; k++) {                                                 \
                    /* codes past bins never match (they would wrap; not flushed anyway) */    \
                    uint8_t c = (uint8_t)(k < nb ? b0 + k : 255);                              \
                    for (int l = 0; l < CVG_MI_LANES; l++) code[k][l] = c;                     \
                }                                                                              \
                for (int64_t start = 0; start < s; start += 255) {                             \
                    const int64_t end = s - start < 255 ? s : start + 255;                     \
                    v32u8 acc[CH];                                                             \
                    for (int k = 0; k < CH; k++) acc[k] = (v32u8){0};                          \
                    for (int64_t r = start; r < end; r++) {                                    \
                        if (r + 8 < end) __builtin_prefetch(panel + (int64_t)g[r + 8] * 32);   \
                        v32u8 v;                                                               \
                        memcpy(&v, panel + (int64_t)g[r] * 32, 32);                            \
                        _Pragma("GCC unroll 32") for (int k = 0; k < CH; k++) acc[k] -=        \
                            (v32u8)(v == code[k]);                                             \
                    }                                                                          \
                    for (int k = 0; k < nb; k++) {                                             \
                        uint32_t *dst = cnt_row + (int64_t)(b0 + k - 1) * CVG_MI_LANES;        \
                        for (int l = 0; l < CVG_MI_LANES; l++) dst[l] += acc[k][l];            \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

DEFINE_KERNEL(count_generic, , 5)

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define CVG_MI_X86 1
DEFINE_KERNEL(count_avx2, __attribute__((target("avx2"))), 10)
DEFINE_KERNEL(count_avx512, __attribute__((target("avx512f,avx512bw,avx512vl"))), 20)
#endif

typedef void (*count_fn)(const uint8_t *, const int32_t *, const int64_t *, int, uint32_t *);

static const struct {
    const char *name;
    count_fn fn;
} kernels[] = {
#ifdef CVG_MI_X86
    {"avx512", count_avx512},
    {"avx2", count_avx2},
#endif
    {"generic", count_generic},
};

static int forced = -1; /* index into kernels, set by tests; -1: by CPU */

static int supported(const char *name)
{
#ifdef CVG_MI_X86
    __builtin_cpu_init();
    if (!strcmp(name, "avx512"))
        return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    if (!strcmp(name, "avx2")) return __builtin_cpu_supports("avx2");
#endif
    return !strcmp(name, "generic");
}

static int pick(void)
{
    if (forced >= 0) return forced;
    for (int k = 0; k < (int)(sizeof kernels / sizeof kernels[0]); k++)
        if (supported(kernels[k].name)) return k;
    return (int)(sizeof kernels / sizeof kernels[0]) - 1;
}

const char *cvg__mi_kernel_name(void) { return kernels[pick()].name; }

int cvg__mi_force_kernel(const char *name)
{
    if (!name) {
        forced = -1;
        return 1;
    }
    for (int k = 0; k < (int)(sizeof kernels / sizeof kernels[0]); k++)
        if (!strcmp(kernels[k].name, name) && supported(name)) {
            forced = k;
            return 1;
        }
    return 0;
}

void cvg__mi_count_panel(const uint8_t *panel, const int32_t *perm, const int64_t *goff,
                         int bins, uint32_t *cnt)
{
    kernels[pick()].fn(panel, perm, goff, bins, cnt);
}
