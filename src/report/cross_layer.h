/* The report's cross-layer similarity section: the linear-CKA heatmap of every
 * cross_<i>_<j>.json that `convergent similarity` wrote for cross-layer statistics (every
 * layer of one network against every layer of the other), drawn from the saved matrices.
 * Beyond the paper, which has no such figure. */
#ifndef CVG_REPORT_CROSS_LAYER_H
#define CVG_REPORT_CROSS_LAYER_H

#include "report/page.h"

cvg_status section_cross_layer(report *r);

#endif
