/* Internal interface between the parts of the mutual-information code. */
#ifndef CVG_MI_INTERNAL_H
#define CVG_MI_INTERNAL_H

#include <stdint.h>

#include "convergent.h"

/* x86 vector code (intrinsics, target attributes, inline asm): GCC on x86. */
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define CVG_MI_X86 1
#endif

/* Units per panel: the counting kernel compares the codes of 64 units of one row (64 bytes) at
 * a time. */
enum { CVG_MI_LANES = 64 };

/* Joint counts of unit i (whose rows with code a >= 1 are listed group by group in perm:
 * group a is perm[goff[a-1] .. goff[a]-1]) against the 64 units of one panel
 * (panel: rows x 64 uint8 codes, row-major). bins = levels - 1.
 * cnt: bins x bins x 64 uint16, cnt[((a-1) * bins + (b-1)) * 64 + lane] += #rows with
 * code_i = a and code_lane = b, for a, b in 1..bins; the caller keeps the counts below 2^16
 * (it empties cnt into wider counts). Cells with a zero code are not counted here: they
 * follow from the marginals. Picks the widest vector code the CPU runs. */
void cvg__mi_count_panel(const uint8_t *panel, const int32_t *perm, const int64_t *goff,
                         int bins, uint16_t *cnt);

/* cvg__mi_count_panel for the panel's lanes 32..63 only, at half the cost, when the AVX-512
 * code is in use (returns 1); lanes 0..31 of cnt are left as they are. Returns 0 (nothing
 * done) otherwise. */
int cvg__mi_count_panel_upper(const uint8_t *panel, const int32_t *perm, const int64_t *goff,
                              int bins, uint16_t *cnt);

/* Name of the kernel cvg__mi_count_panel dispatches to ("avx512", "avx2", "generic"). */
const char *cvg__mi_kernel_name(void);
/* Tests and benchmarks: use the named kernel from now on (NULL: pick by CPU again). Returns 0
 * if the name is unknown or this CPU cannot run it. Not thread-safe. */
int cvg__mi_force_kernel(const char *name);

/* opt, or the defaults written to *defaults when opt is NULL. */
const cvg_mi_options *cvg__mi_options_or_defaults(const cvg_mi_options *opt,
                                                  cvg_mi_options *defaults);
/* The checks of every entry point: in and out not NULL, 1 <= rows <= INT32_MAX (row indices
 * are int32), dim >= 1. what names the caller in the message. */
cvg_status cvg__mi_check(const char *what, const void *in, const void *out, int64_t rows,
                         int64_t dim);

/* 1 when the AVX-512 code is in use (the counting kernel "avx512", chosen by CPU or forced):
 * the binning then uses AVX-512 too, otherwise its portable code. */
int cvg__mi_avx512(void);

/* Order statistics (mi_select.c): for the ranks rank[0..nr) (ascending, distinct, each in
 * 0..n-1, nr <= 512), out[k] = the rank[k]-th smallest of the n keys (0: the smallest).
 * keys and tmp (n entries each) are reordered / overwritten. */
void cvg__mi_select(uint32_t *keys, uint32_t *tmp, int64_t n, const int64_t *rank, int nr,
                    uint32_t *out);

#endif
