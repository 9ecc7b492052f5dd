/* The report's cross-layer similarity section: the linear-CKA heatmaps that `convergent
 * similarity` drew for cross-layer statistics (every layer of one network against every layer
 * of the other), where they exist. Beyond the paper, which has no such figure. */
#ifndef CVG_REPORT_CROSS_LAYER_H
#define CVG_REPORT_CROSS_LAYER_H

#include "report/page.h"

void section_cross_layer(report *r);

#endif
