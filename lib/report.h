/* A plan as text: the one-line log summary, the readable table of `plan`,
 * and JSON for `plan --json` and the JSON-lines log. */
#ifndef GOTUNE_REPORT_H
#define GOTUNE_REPORT_H

#include <stdio.h>
#include <yajl/yajl_gen.h>

#include "plan.h"
#include "prewarm.h"

/* "GOMAXPROCS=1 (set: quota 50000/100000 (ceil) -> 1 of 2 CPUs) ..." */
void gt_plan_summary(const struct gt_plan *plan, char *out, size_t outsz);

void gt_plan_table(const struct gt_plan *plan, FILE *f);

/* Emits the plan as map entries into an open JSON map. */
void gt_plan_json(const struct gt_plan *plan, yajl_gen g);

/* The prewarm set with sizes and residency, one file a row. */
void gt_pw_table(const struct gt_pw_set *set, const struct gt_pw_report *rep, FILE *f);

/* "willneed 7 files 12.3MiB resident 3% -> 41% 0.42ms" */
void gt_pw_summary(const struct gt_pw_set *set, const struct gt_pw_report *rep, char *out, size_t outsz);

/* yajl_gen helpers for NUL-terminated strings. */
void gt_gen_str(yajl_gen g, const char *s);
void gt_gen_kv(yajl_gen g, const char *k, const char *v);

#endif
