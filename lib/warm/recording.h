/* A recording of a container's working set, from its pid to its profile:
 * sample (record.h), identify the entrypoint as replay will find it,
 * merge with what earlier recordings left, write, prune, and one line for
 * the log. The hooks and `profile record` start it; this is the flow. */
#ifndef GOTUNE_RECORDING_H
#define GOTUNE_RECORDING_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "policy.h"
#include "profile.h"
#include "record.h"
#include "spec.h"

struct gt_record_job {
	pid_t pid;
	const struct gt_spec *spec;
	const char *bundle, *dir, *id;
	const struct gt_settings *s;
	bool quiet;		/* detached: SCHED_IDLE once the start is over, no printout */
	bool refine;		/* a profile exists: add to it at idle priority only */
	const char *log_file;	/* the policy's, for the outcome line */
	const char *wait;	/* "" or why it waited, for the line */
};

/* Records job->pid into its profile under job->dir; one line (entry
 * "recorder") says what was written, or why nothing was. With written
 * not NULL, the profile written is handed over (the caller frees it with
 * gt_profile_free and free). 0, or -1 when nothing could be written. */
int gt_record_job_run(const struct gt_record_job *job, const struct timespec *t0, struct gt_profile **written);

/* Whether a profile for the spec's entrypoint is already in dir. */
bool gt_profile_exists_for(const struct gt_spec *spec, const char *bundle, const char *dir);

#endif
