/* The report's many-to-many section (cluster_section.c). */
#ifndef CVG_REPORT_CLUSTER_SECTION_H
#define CVG_REPORT_CLUSTER_SECTION_H

#include "report/page.h"
#include "report/report_patches.h"

/* Fig. 13, 14 and 6 of the pair 1-2 of a layer (the graph of S_1 + S_2 units, equal or not),
 * and its Fig. 5 / 12 patches where lp allows; nothing when the pair was not clustered. */
cvg_status section_cluster(report *r, const layer_data *L, const layer_patches *lp, int first);

#endif
