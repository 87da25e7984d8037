/* The gotune-hook commands; each is a thin adapter over lib/. */
#ifndef GOTUNE_HOOK_H
#define GOTUNE_HOOK_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "elapsed.h"
#include "err.h"
#include "fileio.h"
#include "notes.h"
#include "policy.h"
#include "rtstate.h"
#include "prewarm.h"
#include "spec.h"

int cmd_precreate(int argc, char *argv[]);
int cmd_runtime(int argc, char *argv[]);
/* As gotune-runc / gotune-crun: argv is the runtime's command line. */
int cmd_runtime_direct(int argc, char *argv[], const char *prefer);
int cmd_plan(int argc, char *argv[]);
int cmd_prestart(int argc, char *argv[]);
int cmd_prewarm(int argc, char *argv[]);

/* The policy file named by --policy, else $GOTUNE_POLICY, else the default
 * path (where a missing file means defaults: *missing_ok). */
const char *hook_policy_path(const char *explicit_path, bool *missing_ok);

/* Loads the policy named by --policy, else $GOTUNE_POLICY, else the default
 * path (where a missing file means defaults). */
int hook_load_policy(const char *explicit_path, struct gt_policy *p, gt_err_t *err);


/* Parses the only options of the hook entry points (--policy FILE, --help).
 * Returns -1 to go on, or the exit status (0 after --help, 2 on a usage
 * error: an unknown option or a stray argument). */
int hook_policy_option(int argc, char *argv[], const char *usage, const char **policy_path);

/* Confines this process for a phase when the policy asks (the default);
 * a failure is logged and work goes on. */
void hook_confine(const struct gt_policy *p, int phase);

/* A detached recorder for a container being created (recorder_start.c). */
struct hook_recorder_req {
	const struct gt_policy *policy;
	const struct gt_spec *spec;	/* its annotations say whether to record */
	const char *bundle, *id;
	const char *status;		/* the state's: "running" under crun once exec'd */
	long pid;			/* the container's init */
	bool before_exec;		/* wait for the init's exec, then sample */
	bool narrow;			/* confined for GT_PHASE_HOOK: the recorder drops to RECORD */
	bool cg_ready;			/* gotune's capped cgroup is there to join */
	const char *cg_note;		/* why not, or NULL */
	const char *settled_key;	/* the replay found this profile settled, or NULL */
	/* The init's executable (the runtime's own file until the exec) as
	 * the hook saw it before returning, for a recorder started later,
	 * when the init may have exec'd already: it waits for a change from
	 * this, not from what it sees then. */
	bool exe_known;
	dev_t exe_dev;
	ino_t exe_ino;
	const struct timespec *t0;
};
enum hook_rec {
	HOOK_REC_NOT_ASKED,	/* not asked for (or not enabled): nothing to say */
	HOOK_REC_SKIPPED,	/* asked, not done: profile.record_only, workers.max_recorders */
	HOOK_REC_SETTLED,	/* asked, and the profile is settled: no recorder */
	HOOK_REC_STARTED,
	HOOK_REC_FAILED,	/* no fork */
};
/* Starts the recorder when the container asks to be recorded and may be;
 * out says what was done, for the caller's line ("" when not asked). In
 * the recorder it never returns. */
enum hook_rec hook_start_recorder(const struct hook_recorder_req *r, char *out, size_t outsz);
/* Whether the container asks to be recorded (policy and annotation) and
 * profile.record_only lets it, before anything is looked up for it. */
bool hook_recorder_asked(const struct hook_recorder_req *r);
/* README's wrapper setup: the container asks to be recorded and no hook of
 * gotune's is there to start a recorder, so the wrapper does, before it
 * execs the runtime (kind, its state root and the container's id: where
 * the init's pid will be). A detached grandchild; this returns at once. */
void hook_wrapper_recorder(const struct gt_policy *policy, const char *bundle, enum gt_rt_kind kind,
			   const char *root, const char *id, const struct timespec *t0);
/* The same for a container whose init is not known yet. */
bool hook_spec_asks_record(const struct gt_policy *policy, const struct gt_spec *spec);

/* Whether the spec's own hooks run gotune-hook's replay (createRuntime or
 * prestart), which then starts the recorder itself. */
bool hook_spec_replays(const struct gt_spec *spec);
/* Whether it has a gotune-hook record or poststart hook. */
bool hook_spec_records(const struct gt_spec *spec);

/* gotune's cgroup for recorders, made before confinement (which keeps no
 * capability to make it): whether it is there to join, and why not in
 * note[] (empty when it is, or when the policy does not ask). */
bool hook_prepare_workcg(const struct gt_policy *policy, char *note, size_t notesz);

int cmd_confine_check(int argc, char *argv[]);
int cmd_record(int argc, char *argv[]);
int cmd_profile(int argc, char *argv[]);
int cmd_nri(int argc, char *argv[]);
int cmd_nri_install(int argc, char *argv[]);
int cmd_nri_status(int argc, char *argv[]);
int cmd_doctor(int argc, char *argv[]);

#endif
