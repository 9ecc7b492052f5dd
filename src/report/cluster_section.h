/* The report's many-to-many section (cluster_section.c). */
#ifndef CVG_REPORT_CLUSTER_SECTION_H
#define CVG_REPORT_CLUSTER_SECTION_H

#include "report/page.h"
#include "report/report_patches.h"

/* Fig. 13, 14 and 6 of the pair 1-2 of a layer of one width, and its Fig. 5 / 12 patches where
 * lp allows; nothing when the pair was not clustered. */
cvg_status section_cluster(report *r, const layer_data *L, const layer_patches *lp, int first);

/* A layer whose networks have different widths: its heading and Fig. 13, 14 and 6 of the pair
 * 1-2 (the graph of S1 + S2 units); *drawn = 1 if it was clustered and drawn, else nothing is
 * written. */
cvg_status section_cluster_widths(report *r, const char *name, int *drawn);

#endif
