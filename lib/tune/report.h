/* A plan as text: the one-line log summary, the readable table of `plan`,
 * and JSON for `plan --json` and the JSON-lines log. */
#ifndef GOTUNE_REPORT_H
#define GOTUNE_REPORT_H

#include <stdio.h>
#include <yajl/yajl_gen.h>

#include "json.h"
#include "plan.h"

/* "GOMAXPROCS=1 (set: quota 50000/100000 (ceil) -> 1 of 2 CPUs) ..." */
void gt_plan_summary(const struct gt_plan *plan, char *out, size_t outsz);

void gt_plan_table(const struct gt_plan *plan, FILE *f);

/* Emits the plan as map entries into an open JSON map. */
void gt_plan_json(const struct gt_plan *plan, yajl_gen g);

#endif
