/* A prewarm set as text: the table of `prewarm` and the one-line summary
 * of the prestart hook's log line. */
#ifndef GOTUNE_PWREPORT_H
#define GOTUNE_PWREPORT_H

#include <stdio.h>

#include "prewarm.h"

/* The prewarm set with sizes and residency, one file a row. */
void gt_pw_table(const struct gt_pw_set *set, const struct gt_pw_report *rep, FILE *f);

/* "willneed 7 files 12.3MiB resident 3% -> 41% 0.42ms" */
void gt_pw_summary(const struct gt_pw_set *set, const struct gt_pw_report *rep, char *out, size_t outsz);

#endif
