/* Starting a detached recorder for a container being created: what the
 * `record` hook does, and the replay hook (createRuntime, prestart) too
 * when the container asks to be recorded, so that one hook does both. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "annotations.h"
#include "confine.h"
#include "counters.h"
#include "detach.h"
#include "entry.h"
#include "event.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "hook.h"
#include "profile.h"
#include "recording.h"
#include "rootfs.h"
#include "rtinit.h"
#include "waitchild.h"
#include "workcg.h"
#include "worker.h"

/* The recorder keeps its slot (worker.h) through gt_detach. */
static bool keep_slot(int fd, const void *ctx)
{
	return fd == *(const int *)ctx;
}

static const char *spec_annotation(void *ctx, const char *key)
{
	return gt_spec_annotation(ctx, key);
}

/* How long a recorder started before the exec waits for it: `runc run`
 * and the engines start a container right after creating it. */
#define RECORD_EXEC_WAIT_MS 10000u

static bool look_up_profile(const struct hook_recorder_req *r, struct gt_settings *s);
static void record_from(const struct hook_recorder_req *r, struct gt_settings *s, bool refine, bool before_exec,
			dev_t dev, ino_t ino, const char *since);

/* The detached recorder itself; never returns. */
static void recorder_main(const struct hook_recorder_req *r, struct gt_settings *s, int slot, bool before_exec,
			  dev_t dev, ino_t ino)
{
	const struct gt_policy *policy = r->policy;
	gt_detach(slot >= 0 ? keep_slot : NULL, &slot);
	/* The replay hook forked it from its wider phase (PREWARM and
	 * RECORD): from here on, RECORD's alone. */
	if (r->narrow)
		hook_confine(policy, GT_PHASE_RECORD);
	/* The recorder's bounds are checked in its loops (record.c); should
	 * they fail, the kernel ends it: the wait for the exec, max_ms of
	 * sampling, and hashing an entrypoint of up to 256 MiB. */
	gt_worker_bound(s->profile_max_ms / 1000 + 8, RECORD_EXEC_WAIT_MS / 1000 + s->profile_max_ms / 1000 + 30);
	record_from(r, s, look_up_profile(r, s), before_exec, dev, ino, "the hook");
}

/* Whether the entrypoint's profile is known, so that this recording
 * refines it; a settled one is logged and the recorder exits here. */
static bool look_up_profile(const struct hook_recorder_req *r, struct gt_settings *s)
{
	/* The first recording of an entrypoint samples its start fast; later
	 * ones only fill in what it missed, at idle priority after the first
	 * sample, so that a start that is replayed is not also slowed by the
	 * recorder (measured: clang's cold start 0.71 of no prewarm with a
	 * fast recorder each time, 0.64 without). Once recordings add
	 * nothing new, none is made: the runtime is still setting the
	 * container up while this is looked up. */
	struct gt_profile *prev = calloc(1, sizeof(*prev));
	int known = prev != NULL ? gt_profile_state_for(r->spec, r->bundle, s->profile_dir, prev) : -1;
	if (known == 1 && prev->settled >= GT_PROFILE_SETTLED) {
		char detail[1200];
		gt_profile_touch(s->profile_dir, prev->ident.key);
		snprintf(detail, sizeof(detail), "profile %s settled: %u recordings in a row added nothing new; not "
			 "recorded (delete %s/%s.profile to learn it again)", prev->ident.key, prev->settled,
			 s->profile_dir, prev->ident.key);
		struct gt_log_event sev = { .entry = "recorder", .id = r->id, .outcome = "settled", .detail = detail,
					    .ms = gt_elapsed_ms(r->t0) };
		gt_log_event(&sev, r->policy->log_file);
		_exit(0);
	}
	if (prev != NULL) {
		gt_profile_free(prev);
		free(prev);
	}
	return known == 1;
}

/* Records r->pid (refining its profile or not) from its exec when
 * before_exec, else from now; never returns. since: what the wait for the
 * exec is counted from. */
static void record_from(const struct hook_recorder_req *r, struct gt_settings *s, bool refine, bool before_exec,
			dev_t dev, ino_t ino, const char *since)
{
	const struct gt_policy *policy = r->policy;
	char wait[128] = "";
	gt_err_t err = NULL;
	struct gt_record_job job = { .pid = (pid_t)r->pid, .spec = r->spec, .bundle = r->bundle,
				     .dir = s->profile_dir, .id = r->id, .s = s, .quiet = true,
				     .log_file = policy->log_file, .wait = wait, .join_cgroup = r->cg_ready,
				     .note = r->cg_note != NULL && r->cg_note[0] ? r->cg_note : NULL, .refine = refine };
	if (before_exec) {
		double waited = 0;
		if (gt_record_wait_exec(job.pid, dev, ino, RECORD_EXEC_WAIT_MS, &waited, &err) < 0) {
			struct gt_log_event fev = { .entry = "recorder", .id = r->id, .outcome = "failed",
						    .error = gt_err_msg(err), .detail = "nothing written",
						    .ms = gt_elapsed_ms(r->t0) };
			gt_log_event(&fev, policy->log_file);
			_exit(1);
		}
		snprintf(wait, sizeof(wait), " (exec %.1f ms after %s%s)", waited, since,
			 job.refine ? "; adding to its profile at idle priority" : "");
	} else if (job.refine) {
		snprintf(wait, sizeof(wait), " (adding to its profile at idle priority)");
	}
	_exit(gt_record_job_run(&job, r->t0, NULL) < 0 ? 1 : 0);
}

/* The settings for this container: the policy's, then its annotations. */
static bool record_settings(const struct hook_recorder_req *r, struct gt_settings *s)
{
	struct gt_notes notes = { 0 };
	*s = r->policy->settings;
	gt_annotations_apply(s, spec_annotation, (void *)r->spec, &notes);
	/* Recording is opt-in: it reads another process's memory maps. */
	return s->enabled && s->profile_record && r->pid > 0;
}

bool hook_recorder_asked(const struct hook_recorder_req *r)
{
	struct gt_settings s;
	return record_settings(r, &s) && gt_policy_may_record(r->policy, spec_annotation, (void *)r->spec);
}

bool hook_spec_asks_record(const struct gt_policy *policy, const struct gt_spec *spec)
{
	struct hook_recorder_req r = { .policy = policy, .spec = spec, .pid = 1 };
	return hook_recorder_asked(&r);
}

enum hook_rec hook_start_recorder(const struct hook_recorder_req *r, char *out, size_t outsz)
{
	const struct gt_policy *policy = r->policy;
	out[0] = '\0';
	struct gt_settings s;
	if (!record_settings(r, &s))
		return HOOK_REC_NOT_ASKED;
	/* Who may be recorded is the node admin's to say (profile.record_only):
	 * a tenant's annotation asks, it does not decide. */
	if (!gt_policy_may_record(policy, spec_annotation, (void *)r->spec)) {
		snprintf(out, outsz, "not recorded: profile.record_only (%.300s) lists no annotation of this container",
			 policy->source);
		return HOOK_REC_SKIPPED;
	}
	/* Known settled (the replay just read the profile): nothing to start,
	 * not even a fork. The profile is marked as used, as the recorder
	 * would, so that pruning keeps it. */
	if (r->settled_key != NULL && r->settled_key[0] != '\0') {
		gt_profile_touch(s.profile_dir, r->settled_key);
		snprintf(out, outsz, "not recorded: profile %s settled (%u recordings in a row added nothing new)",
			 r->settled_key, GT_PROFILE_SETTLED);
		return HOOK_REC_SETTLED;
	}
	/* At most workers.max_recorders at once on the node: the slot is
	 * taken here, so that a start over the limit costs no fork, and
	 * handed to the recorder, which holds it until it exits. */
	int slot = -1;
	char why[300];
	if (gt_worker_begin("recorder", policy->workers.max_recorders, &slot, why, sizeof(why)) < 0) {
		snprintf(out, outsz, "not recorded: %s (workers.max_recorders)", why);
		gt_counters_count(policy->metrics_file, GT_COUNT_WORKER_SKIPPED, "recorder", GT_OUT_SKIPPED,
				  policy->sha256);
		return HOOK_REC_SKIPPED;
	}
	/* Before the exec the init runs the runtime's file: the recorder waits
	 * until that changes. crun says "running" once it has exec'd. */
	dev_t dev = r->exe_dev;
	ino_t ino = r->exe_ino;
	bool before_exec = r->before_exec && (r->status == NULL || strcmp(r->status, "running") != 0) &&
			   (r->exe_known || gt_record_exe_id((pid_t)r->pid, &dev, &ino) == 0);
	/* The runtime must not wait for the recorder: detached the way the
	 * background prewarm is (new session, stdio on /dev/null, no other
	 * inherited fd but its slot). */
	pid_t child = fork();
	if (child == 0)
		recorder_main(r, &s, slot, before_exec, dev, ino);
	int saved = errno;
	if (slot >= 0)
		close(slot);
	if (child < 0) {
		snprintf(out, outsz, "cannot fork the recorder: %s", strerror(saved));
		return HOOK_REC_FAILED;
	}
	snprintf(out, outsz, "recording the working set of pid %ld %s into %s%s%s", r->pid,
		 before_exec ? "from its exec" : "from now", s.profile_dir, why[0] ? "; " : "", why);
	return HOOK_REC_STARTED;
}

/* The entrypoint the init will exec, as found in the rootfs. */
static int entry_stat(const struct gt_spec *spec, const char *bundle, struct stat *st)
{
	static const char *const root_path[] = { "root", "path", NULL };
	static const char *const cwd_path[] = { "process", "cwd", NULL };
	const char *rp = gt_spec_string(spec, root_path);
	char host[PATH_MAX], inside[PATH_MAX];
	gt_err_t err = NULL;
	struct gt_rootfs rfs;
	if (rp == NULL || snprintf(host, sizeof(host), "%s%s%s", rp[0] == '/' ? "" : bundle, rp[0] == '/' ? "" : "/",
				   rp) >= (int)sizeof(host) || gt_rootfs_open(&rfs, host, &err) < 0) {
		gt_err_free(&err);
		return -1;
	}
	struct gt_entry e = { .arg0 = gt_spec_arg0(spec), .env = spec->env, .n_env = spec->n_env,
			      .cwd = gt_spec_string(spec, cwd_path) };
	int fd = gt_entry_find(&rfs, &e, inside, sizeof(inside), &err);
	gt_rootfs_close(&rfs);
	gt_err_free(&err);
	int r = fd >= 0 ? fstat(fd, st) : -1;
	if (fd >= 0)
		close(fd);
	return r;
}

/* The wrapper's recorder, once detached and confined: the spec read again
 * (the tuning child that asked for it is trusted for nothing), the init's
 * pid from the runtime's state, then as a hook's recorder. Never returns. */
static void wrapper_recorder_main(const struct gt_policy *policy, const char *bundle, enum gt_rt_kind kind,
				  const char *root, const char *id, const struct timespec *t0)
{
	char cg_note[300] = "";
	bool cg_ready = hook_prepare_workcg(policy, cg_note, sizeof(cg_note));
	hook_confine(policy, GT_PHASE_RECORD);
	struct gt_settings s = policy->settings;
	gt_worker_bound(s.profile_max_ms / 1000 + 8, 2 * RECORD_EXEC_WAIT_MS / 1000 + s.profile_max_ms / 1000 + 30);
	cleanup_err gt_err_t err = NULL;
	cleanup_buf struct gt_buf cfg = { 0 };
	cleanup_spec struct gt_spec spec;
	memset(&spec, 0, sizeof(spec));
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	if (gt_read_file_at(AT_FDCWD, path, GT_SPEC_MAX_BYTES, &cfg, &err) < 0 ||
	    gt_spec_parse(&spec, cfg.data, cfg.len, &err) < 0)
		_exit(0); /* the runtime reads it next and says what is wrong */
	struct hook_recorder_req r = { .policy = policy, .spec = &spec, .bundle = bundle, .id = id, .pid = 1,
				       .before_exec = true, .cg_ready = cg_ready, .cg_note = cg_note, .t0 = t0 };
	if (!record_settings(&r, &s) || !gt_policy_may_record(policy, spec_annotation, &spec) ||
	    hook_spec_records(&spec) || hook_spec_replays(&spec))
		_exit(0);
	/* At most workers.max_recorders at once on the node. */
	int slot = -1;
	char why[300];
	if (gt_worker_begin("recorder", policy->workers.max_recorders, &slot, why, sizeof(why)) < 0) {
		char detail[400];
		snprintf(detail, sizeof(detail), "not recorded: %s (workers.max_recorders)", why);
		struct gt_log_event ev = { .entry = "recorder", .id = id, .outcome = "skipped", .detail = detail,
					   .ms = gt_elapsed_ms(t0) };
		gt_log_event(&ev, policy->log_file);
		gt_counters_count(policy->metrics_file, GT_COUNT_WORKER_SKIPPED, "recorder", GT_OUT_SKIPPED,
				  policy->sha256);
		_exit(0);
	}
	/* Before the wait: the runtime lets the init exec right after it
	 * writes its state, and every ms spent after that is a ms of the
	 * program's start a refinement cannot see. */
	bool refine = look_up_profile(&r, &s);
	pid_t pid = 0;
	double waited = 0;
	if (gt_rt_wait_init(kind, root, id, RECORD_EXEC_WAIT_MS, &pid, &waited, &err) < 0) {
		struct gt_log_event ev = { .entry = "recorder", .id = id, .outcome = "failed", .error = gt_err_msg(err),
					   .detail = "nothing written", .ms = gt_elapsed_ms(t0) };
		gt_log_event(&ev, policy->log_file);
		_exit(1);
	}
	r.pid = pid;
	/* Until the exec the init runs the runtime's own file. Found running
	 * the entrypoint itself, it has exec'd already and is sampled from
	 * now; anything else is waited on to change. */
	dev_t dev = 0;
	ino_t ino = 0;
	struct stat entry;
	bool before_exec = gt_record_exe_id(pid, &dev, &ino) == 0;
	if (before_exec && entry_stat(&spec, bundle, &entry) == 0 && entry.st_dev == dev && entry.st_ino == ino)
		before_exec = false;
	r.before_exec = before_exec;
	record_from(&r, &s, refine, before_exec, dev, ino, "the runtime's state");
}

void hook_wrapper_recorder(const struct gt_policy *policy, const char *bundle, enum gt_rt_kind kind,
			   const char *root, const char *id, const struct timespec *t0)
{
	/* Twice: the runtime exec'd next must never see a child of ours (crun
	 * mistook a stray SIGCHLD for its own). */
	pid_t a = fork();
	if (a < 0) {
		gt_log(LOG_WARNING, "runtime: cannot fork the recorder of %s: %s", id, strerror(errno));
		return;
	}
	if (a > 0) {
		int status;
		gt_wait_child(a, 1000, &status);
		return;
	}
	if (fork() != 0)
		_exit(0);
	gt_detach(NULL, NULL);
	wrapper_recorder_main(policy, bundle, kind, root, id, t0);
}

/* A spec's hooks are the engine's (and its hooks.d's), never the image's;
 * at most this many are looked at per stage. */
#define SPEC_HOOKS_MAX 64u

/* Whether h runs gotune-hook with one of cmds as its command. */
static bool is_gotune_hook(yajl_val h, const char *const *cmds)
{
	yajl_val pv = NULL, args = NULL;
	const char *path = gt_json_get(h, "path", &pv) == 1 ? YAJL_GET_STRING(pv) : NULL;
	if (path == NULL || gt_json_get(h, "args", &args) != 1 || !YAJL_IS_ARRAY(args) || YAJL_GET_ARRAY(args)->len < 2)
		return false;
	const char *base = strrchr(path, '/');
	const char *cmd = YAJL_GET_STRING(YAJL_GET_ARRAY(args)->values[1]);
	if (strcmp(base != NULL ? base + 1 : path, "gotune-hook") != 0 || cmd == NULL)
		return false;
	for (; *cmds != NULL; cmds++)
		if (strcmp(cmd, *cmds) == 0)
			return true;
	return false;
}

static bool spec_has_hook(const struct gt_spec *spec, const char *const *cmds)
{
	static const char *const stages[][3] = { { "hooks", "createRuntime", NULL },
						 { "hooks", "prestart", NULL },
						 { "hooks", "poststart", NULL } };
	for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
		yajl_val list = gt_json_path(spec->tree, stages[i]);
		size_t n = YAJL_IS_ARRAY(list) ? YAJL_GET_ARRAY(list)->len : 0;
		for (size_t k = 0; k < n && k < SPEC_HOOKS_MAX; k++)
			if (is_gotune_hook(YAJL_GET_ARRAY(list)->values[k], cmds))
				return true;
	}
	return false;
}

bool hook_spec_replays(const struct gt_spec *spec)
{
	static const char *const replay[] = { "createRuntime", "prestart", NULL };
	return spec_has_hook(spec, replay);
}

bool hook_spec_records(const struct gt_spec *spec)
{
	static const char *const record[] = { "record", "poststart", NULL };
	return spec_has_hook(spec, record);
}

bool hook_prepare_workcg(const struct gt_policy *policy, char *note, size_t notesz)
{
	note[0] = '\0';
	if (!policy->workers.cgroup)
		return false;
	gt_err_t err = NULL;
	bool ready = gt_workcg_prepare("/sys/fs/cgroup", &err) == 0;
	if (!ready)
		snprintf(note, notesz, "not in gotune's cgroup: %.200s", gt_err_msg(err));
	gt_err_free(&err);
	return ready;
}
