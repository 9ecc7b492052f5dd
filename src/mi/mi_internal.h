/* Internal interface between the parts of the mutual-information code. */
#ifndef CVG_MI_INTERNAL_H
#define CVG_MI_INTERNAL_H

#include <stdint.h>

#include "convergent.h"

/* Units per panel: the counting kernel compares one 32-byte vector of codes (32 units of one
 * row) at a time. */
enum { CVG_MI_LANES = 32 };

/* Joint counts of unit i (whose rows with code a >= 1 are listed group by group in perm:
 * group a is perm[goff[a-1] .. goff[a]-1]) against the 32 units of one panel
 * (panel: rows x 32 uint8 codes, row-major). bins = levels - 1.
 * cnt: bins x bins x 32 uint32, cnt[((a-1) * bins + (b-1)) * 32 + lane] += #rows with
 * code_i = a and code_lane = b, for a, b in 1..bins. Cells with a zero code are not counted
 * here: they follow from the marginals. Picks the widest vector code the CPU runs. */
void cvg__mi_count_panel(const uint8_t *panel, const int32_t *perm, const int64_t *goff,
                         int bins, uint32_t *cnt);

/* Name of the kernel cvg__mi_count_panel dispatches to ("avx512", "avx2", "generic"). */
const char *cvg__mi_kernel_name(void);
/* Tests and benchmarks: use the named kernel from now on (NULL: pick by CPU again). Returns 0
 * if the name is unknown or this CPU cannot run it. Not thread-safe. */
int cvg__mi_force_kernel(const char *name);

#endif
