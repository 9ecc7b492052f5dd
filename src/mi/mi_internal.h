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
 * (panel: rows x 64 uint8 codes, row-major, every code <= bins). bins = levels - 1.
 * cnt: bins x bins x 64 uint16, cnt[((a-1) * bins + (b-1)) * 64 + lane] += #rows with
 * code_i = a and code_lane = b, for a, b in 1..bins; the caller keeps the counts below 2^16
 * (it empties cnt into wider counts). Cells with a zero code are not counted here: they
 * follow from the marginals. Every kernel gives the same counts. */
typedef void (*cvg__mi_count_fn)(const uint8_t *panel, const int32_t *perm,
                                 const int64_t *goff, int bins, uint16_t *cnt);

/* The kernels (mi_count.c, mi_count_bitslice.c); call them through cvg__mi_kernel, which
 * knows which ones this CPU runs. */
void cvg__mi_count_generic(const uint8_t *panel, const int32_t *perm, const int64_t *goff,
                           int bins, uint16_t *cnt);
#ifdef CVG_MI_X86
void cvg__mi_count_avx2(const uint8_t *panel, const int32_t *perm, const int64_t *goff,
                        int bins, uint16_t *cnt);
void cvg__mi_count_avx512(const uint8_t *panel, const int32_t *perm, const int64_t *goff,
                          int bins, uint16_t *cnt);
/* cvg__mi_count_avx512 for the panel's lanes 32..63 only (lanes 0..31 of cnt are left as they
 * are), at half the cost. */
void cvg__mi_count_upper_avx512(const uint8_t *panel, const int32_t *perm,
                                const int64_t *goff, int bins, uint16_t *cnt);
/* Needs AVX-512 VBMI and bins <= 63. */
void cvg__mi_count_bitslice(const uint8_t *panel, const int32_t *perm, const int64_t *goff,
                            int bins, uint16_t *cnt);
/* cvg__mi_count_bitslice for lanes 32..63 only (lanes 0..31 of cnt are left as they are),
 * two rows per vector. */
void cvg__mi_count_upper_bitslice(const uint8_t *panel, const int32_t *perm,
                                  const int64_t *goff, int bins, uint16_t *cnt);
#endif

/* The counting kernel for this many bins (mi_dispatch.c): the one forced by
 * cvg__mi_force_kernel, else the fastest of those the CPU runs, timed on synthetic panels at
 * the first call for each bins (a few milliseconds) and remembered for the process.
 * Thread-safe. *upper (may be NULL) receives the kernel counting lanes 32..63 only at lower
 * cost, or NULL when the chosen kernel has none. */
cvg__mi_count_fn cvg__mi_kernel(int bins, cvg__mi_count_fn *upper);

/* Name of the kernel cvg__mi_kernel gives for this many bins ("bitslice", "avx512", "avx2",
 * "generic"). */
const char *cvg__mi_kernel_name(int bins);
/* The timing behind the choice, for benchmarks: every kernel the CPU runs for this many bins
 * (1..254) counts the synthetic chunk, best of `rounds`; names[n], seconds[n] (n < 8) for each;
 * returns n. */
int cvg__mi_time_kernels(int bins, int rounds, const char **names, double *seconds);
/* Tests and benchmarks: use the named kernel from now on (NULL: choose by timing again).
 * Returns 0 if the name is unknown or this CPU cannot run it. Not thread-safe. */
int cvg__mi_force_kernel(const char *name);

/* opt, or the defaults written to *defaults when opt is NULL. */
const cvg_mi_options *cvg__mi_options_or_defaults(const cvg_mi_options *opt,
                                                  cvg_mi_options *defaults);
/* The checks of every entry point: in and out not NULL, 1 <= rows <= INT32_MAX (row indices
 * are int32), dim >= 1. what names the caller in the message. */
cvg_status cvg__mi_check(const char *what, const void *in, const void *out, int64_t rows,
                         int64_t dim);

/* 1 when the binning uses its AVX-512 code: the CPU runs AVX-512 (F and BW) and no kernel
 * without AVX-512 ("avx2", "generic") is forced; otherwise its portable code. */
int cvg__mi_avx512(void);

/* Order statistics (mi_select.c): for the ranks rank[0..nr) (ascending, distinct, each in
 * 0..n-1, nr <= 512), out[k] = the rank[k]-th smallest of the n keys (0: the smallest).
 * keys and tmp (n entries each) are reordered / overwritten. */
void cvg__mi_select(uint32_t *keys, uint32_t *tmp, int64_t n, const int64_t *rank, int nr,
                    uint32_t *out);

#endif
