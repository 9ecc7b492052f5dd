/* The report's Table 1 section: this run's one-to-one alignment by correlation and by mutual
 * information (match/table1.json, match_mi/table1.json), and the paper's Table 1 shown once,
 * for orientation, as what it is: AlexNet on ImageNet. */
#ifndef CVG_REPORT_TABLE1_H
#define CVG_REPORT_TABLE1_H

#include "report/page.h"

void section_table1(report *r);

#endif
