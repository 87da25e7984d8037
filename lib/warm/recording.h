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
	bool join_cgroup;	/* into gotune's capped cgroup once the start is over */
	const char *log_file;	/* the policy's, for the outcome line */
	const char *wait;	/* "" or why it waited, for the line */
	const char *note;	/* NULL, or a word for the end of the line */
};

/* Records job->pid into its profile under job->dir; one line (entry
 * "recorder") says what was written, or why nothing was. With written
 * not NULL, the profile written is handed over (the caller frees it with
 * gt_profile_free and free). 0, or -1 when nothing could be written. */
int gt_record_job_run(const struct gt_record_job *job, const struct timespec *t0, struct gt_profile **written);

/* The spec's entrypoint, found as replay finds it, with its identity in
 * p (entry, size, mtime, build ID, ident): its content ID from the cache
 * in dir, or hashed and remembered when compute (a recorder, or an admin:
 * never a container's start). 0, 1 (not identified: !compute and not
 * cached), -1. */
int gt_profile_entry_for(const struct gt_spec *spec, const char *bundle, const char *dir, bool compute,
			 struct gt_profile *p, gt_err_t *err);

/* The profile in dir for the spec's entrypoint, as a start would find it
 * (its content ID from the cache only: nothing is hashed): 1 with it in
 * *p, 0 when none is recorded (p->ident says for whom), -1 when the
 * entrypoint is not found or not identified yet. */
int gt_profile_state_for(const struct gt_spec *spec, const char *bundle, const char *dir, struct gt_profile *p);

/* Whether that profile is settled, from its head alone (no file list
 * read): the wrapper's question before it forks a recorder. key: its
 * name, when it is. */
bool gt_profile_settled_for(const struct gt_spec *spec, const char *bundle, const char *dir, char *key, size_t keysz);

/* Marks the profile as used now: pruning removes the least recently
 * written or touched, and a settled one is not written again. */
void gt_profile_touch(const char *dir, const char *key);

#endif
