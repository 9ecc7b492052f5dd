/* The report's provenance: the fingerprint of each layer's statistics, and the check that
 * every result the page shows was computed from them (report/provenance.c). */
#ifndef CVG_REPORT_PROVENANCE_H
#define CVG_REPORT_PROVENANCE_H

#include "report/page.h"

typedef struct report_provenance {
    char **layers;                              /* borrowed */
    int nlayers;
    char (*fingerprint)[CVG_FINGERPRINT_SIZE]; /* per layer; "" where not recorded */
} report_provenance;

/* CVG_ERR_STALE or CVG_ERR_FORMAT naming the file and the command that refreshes it. */
cvg_status report_provenance_check(const report *r, char **layers, int nlayers, report_provenance *p);
void report_put_provenance(report *r, const report_provenance *p);
/* After the page: the fingerprints are still those checked (no stats rewritten meanwhile). */
cvg_status report_provenance_unchanged(const report *r, const report_provenance *p);
void report_provenance_free(report_provenance *p);

#endif
