/* One event per container and entry point: the log line, and the JSON
 * object with the plan for the policy's log_file. */
#ifndef GOTUNE_EVENT_H
#define GOTUNE_EVENT_H

#include "log.h"
#include "plan.h"

struct gt_log_event {
	const char *entry;	/* "precreate", "runtime", ... */
	const char *id;		/* container id or name, may be "" */
	const struct gt_plan *plan;	/* NULL when planning failed */
	const char *error;	/* NULL on success */
	const char *outcome;	/* gt_outcome_name (tuned, kept, skipped, audit,
				 * passthrough), or the hook's own ("done", ...) */
	const char *detail;	/* free text when there is no plan (prestart) */
	double ms;
};

/* One line per container and entry point; also appended to log_file (if
 * not "") as JSON. */
void gt_log_event(const struct gt_log_event *ev, const char *log_file);

#endif
