/* What happened to a container, in one word shared by the log line and
 * the counters, and the counters file itself: Prometheus text, the format
 * node_exporter's textfile collector reads, kept per node in the file the
 * policy names ("metrics": {"file": PATH}). */
#ifndef GOTUNE_COUNTERS_H
#define GOTUNE_COUNTERS_H

#include "err.h"
#include "plan.h"

enum gt_outcome {
	GT_OUT_TUNED,		/* gotune set or merged a variable */
	GT_OUT_KEPT,		/* the container set its own; gotune kept it */
	GT_OUT_SKIPPED,		/* nothing to set: no limit, disabled, not Go */
	GT_OUT_AUDIT,		/* audit mode: would have tuned, changed nothing */
	GT_OUT_PASSTHROUGH,	/* an error: the spec went through unchanged */
	GT_OUT_COUNT,
};

const char *gt_outcome_name(enum gt_outcome o);

/* The outcome of a plan that was applied (or, in audit mode, not). */
enum gt_outcome gt_plan_outcome(const struct gt_plan *plan);

/* Which counter: gotune_containers_total{entry, outcome} for the entry
 * points that decide a container's env (precreate, runtime, nri),
 * gotune_exec_total{outcome} for a process exec'd through the wrapper, or
 * gotune_workers_skipped_total{worker} for a start not recorded or not
 * warmed because workers.max_recorders or max_readers were busy (entry:
 * "recorder" or "reader"; the outcome is ignored). */
enum gt_counter_kind { GT_COUNT_CONTAINER, GT_COUNT_EXEC, GT_COUNT_WORKER_SKIPPED };

/* How long an update waits for another one's lock before giving up (the
 * count is then lost and a line says so; a container never waits longer). */
#define GT_COUNTERS_LOCK_MS 2000

/* Adds one to a counter in file, under an flock of FILE.lock, and
 * replaces the file atomically (a reader sees the old or the new text,
 * never a mix). policy_sha256 ("" for the built-in defaults) labels
 * gotune_info. */
int gt_counters_add(const char *file, enum gt_counter_kind kind, const char *entry, enum gt_outcome o,
		    const char *policy_sha256, gt_err_t *err);

/* The same, logging a failure at warning level instead of returning it:
 * counting must never stop a container. Does nothing when file is "". */
void gt_counters_count(const char *file, enum gt_counter_kind kind, const char *entry, enum gt_outcome o,
		       const char *policy_sha256);

#endif
