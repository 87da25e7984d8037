/* The runc-compatible wrapper: on create/run it tunes <bundle>/config.json
 * in place, on exec it gives the process the container's tuning
 * (runtime_exec.c), then every subcommand execs the real runtime. Errors
 * of ours never keep the runtime from running. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "cleanup.h"
#include "confine.h"
#include "counters.h"
#include "detach.h"
#include "execrec.h"
#include "fileio.h"
#include "hook.h"
#include "hostinfo.h"
#include "event.h"
#include "log.h"
#include "recording.h"
#include "rtstate.h"
#include "runtime_args.h"
#include "runtime_exec.h"
#include "settledmark.h"
#include "spec.h"
#include "statedir.h"
#include "tune.h"
#include "waitchild.h"
#include "worker.h"

/* The tuning child reads the spec and the image's entrypoint: a few ms
 * (every list and read in it is bounded). Past this, something blocks it
 * (a log_file that is a FIFO nobody reads): the runtime goes on. */
#define TUNE_TIMEOUT_MS 3000u

static const char usage[] =
	"usage: gotune-hook runtime [--policy FILE] [--runtime PATH] -- RUNTIME-ARGS...\n"
	"       gotune-runc [--runtime PATH] RUNTIME-ARGS...   (also gotune-crun, which prefers crun)\n";

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Accepts path as the real runtime if it is an executable regular file and
 * not gotune itself (a wrapper that finds itself would exec forever). */
static int check_runtime(const char *path, gt_err_t *err)
{
	struct stat st, self;
	if (stat(path, &st) < 0)
		return gt_error(err, errno, "runtime %s", path);
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
		return gt_error(err, 0, "runtime %s is not an executable file", path);
	if (stat("/proc/self/exe", &self) == 0 && same_file(&st, &self))
		return gt_error(err, 0, "runtime %s is gotune itself; set the real runtime with --runtime or "
				"\"runtime\" in the policy", path);
	return 0;
}

static int search_path(const char *name, char *out, size_t outsz)
{
	const char *path = getenv("PATH");
	if (path == NULL || path[0] == '\0')
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (const char *p = path; *p != '\0';) {
		size_t n = strcspn(p, ":");
		if (n > 0 && (size_t)snprintf(out, outsz, "%.*s/%s", (int)n, p, name) < outsz) {
			gt_err_t err = NULL;
			int ok = check_runtime(out, &err);
			gt_err_free(&err);
			if (ok == 0)
				return 0;
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return -1;
}

static int find_runtime(const char *explicit_path, const struct gt_policy *policy, const char *prefer, char *out,
			size_t outsz, gt_err_t *err)
{
	const char *chosen = explicit_path != NULL ? explicit_path : policy->runtime[0] != '\0' ? policy->runtime : NULL;
	if (chosen != NULL) {
		snprintf(out, outsz, "%s", chosen);
		return check_runtime(out, err);
	}
	const char *other = strcmp(prefer, "crun") == 0 ? "runc" : "crun";
	if (search_path(prefer, out, outsz) == 0 || search_path(other, out, outsz) == 0)
		return 0;
	return gt_error(err, 0, "no real runtime found: neither %s nor %s on PATH (other than gotune itself); "
			"set one with --runtime or \"runtime\" in the policy", prefer, other);
}

/* Where the runtime reads the spec: crun resolves a relative --config
 * against its working directory (realpath before it enters the bundle),
 * and without one both read <bundle>/config.json. The rootfs is looked up
 * in the bundle either way. */
static int config_path(const struct gt_rt_args *ra, char *out, size_t outsz, gt_err_t *err)
{
	const char *bundle = ra->bundle != NULL && ra->bundle[0] != '\0' ? ra->bundle : ".";
	int n = ra->config != NULL ? snprintf(out, outsz, "%s", ra->config)
				   : snprintf(out, outsz, "%s/config.json", bundle);
	if (n < 0 || (size_t)n >= outsz)
		return gt_error(err, ENAMETOOLONG, "config path");
	return 0;
}

/* The config the runtime will read once the wrapper is done: the text,
 * where it is and which file it is. */
struct final_config {
	int dfd;		/* its directory */
	char base[PATH_MAX];	/* its name there */
	struct gt_buf in;	/* as read */
	const char *text;	/* the tuned text, or in's */
	size_t len;
	char path[PATH_MAX];	/* absolute */
	struct stat st;		/* the file the runtime reads, as it is now */
	bool known;		/* text and st describe one file */
};

/* Reads the bundle's config and tunes it in memory; fail-open is the
 * caller's choice. */
static int tune_bundle(const struct gt_rt_args *ra, const struct gt_policy *policy, struct gt_tune *tune,
		       struct final_config *fc, gt_err_t *err)
{
	char full[PATH_MAX];
	if (config_path(ra, full, sizeof(full), err) < 0)
		return -1;
	const char *bundle = ra->bundle != NULL && ra->bundle[0] != '\0' ? ra->bundle : ".";
	char dir_buf[PATH_MAX], base_buf[PATH_MAX];
	snprintf(dir_buf, sizeof(dir_buf), "%s", full);
	snprintf(base_buf, sizeof(base_buf), "%s", full);
	const char *dir = dirname(dir_buf);
	snprintf(fc->base, sizeof(fc->base), "%s", basename(base_buf));

	fc->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fc->dfd < 0)
		return gt_error(err, errno, "open bundle %s", dir);
	if (gt_read_file_at_stat(fc->dfd, fc->base, GT_SPEC_MAX_BYTES, &fc->in, &fc->st, err) < 0)
		return -1;
	/* Absolute for the exec record; a path too long for that gets none. */
	char cwd[PATH_MAX];
	int n = full[0] == '/' ? snprintf(fc->path, sizeof(fc->path), "%s", full)
	      : getcwd(cwd, sizeof(cwd)) != NULL ? snprintf(fc->path, sizeof(fc->path), "%s/%s", cwd, full) : -1;
	if (n < 0 || (size_t)n >= sizeof(fc->path))
		fc->path[0] = '\0';
	tune->mark = true;
	struct gt_host host;
	gt_host_init(&host);
	if (gt_tune_spec(fc->in.data, fc->in.len, policy, &host, bundle, tune, err) < 0)
		return gt_error_wrap(err, "%s", full);
	fc->text = tune->changed ? tune->out.data : fc->in.data;
	fc->len = tune->changed ? tune->out.len : fc->in.len;
	fc->known = fc->path[0] == '/';
	return 0;
}

/* Replaces the config with the tuned one, when it changed. */
static int write_bundle(const struct gt_tune *tune, struct final_config *fc, gt_err_t *err)
{
	if (!tune->changed)
		return 0;
	fc->known = false;
	if (gt_write_atomic_at_stat(fc->dfd, fc->base, tune->out.data, tune->out.len, &fc->st, err) < 0)
		return -1;
	fc->known = fc->path[0] == '/';
	return 0;
}

/* What an exec into this container is to get, recorded for the exec to
 * find without `runtime state` (gt_execrec). Written only where the exec
 * can prove the record still holds: runc and crun. */
static void record_for_exec(const struct gt_rt_args *ra, const char *runtime, const struct final_config *fc,
			    const struct gt_spec *final, struct gt_notes *notes)
{
	enum gt_rt_kind kind = gt_rt_kind_of(runtime);
	char root[PATH_MAX];
	if (kind == GT_RT_UNKNOWN || !fc->known || ra->id == NULL || !gt_rt_id_ok(ra->id) ||
	    gt_rt_root(kind, ra->root, root, sizeof(root)) < 0)
		return;
	struct gt_execrec *rec = calloc(1, sizeof(*rec));
	if (rec == NULL)
		return;
	rec->runtime = runtime;
	rec->root = root;
	rec->id = ra->id;
	rec->config = fc->path;
	gt_file_id_of(&fc->st, &rec->config_id);
	gt_tune_exec_mark(final, &rec->mark);
	gt_err_t err = NULL;
	if (gt_execrec_write(GT_EXEC_RECORD_DIR, rec, &err) < 0)
		gt_note(notes, "exec record not written: %.120s", gt_err_msg(err));
	gt_err_free(&err);
	gt_exec_mark_free(&rec->mark);
	free(rec);
}

/* README's wrapper setup also has a `record` hook, which runc waits for on
 * every start: once the profile is settled, the mark left here for this
 * very config.json spares it the recorder it would fork only to find that
 * out (settledmark.h). Without the mark (written too late, or not at all)
 * the hook does as before. */
static void mark_settled(struct gt_bundle *hb, void *ctx)
{
	const char *cid = ctx;
	if (!hb->prof_settled)
		return;
	char path[PATH_MAX];
	struct stat st;
	struct gt_file_id id;
	gt_err_t err = NULL;
	int n = snprintf(path, sizeof(path), "%s/config.json", hb->bundle);
	if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) < 0)
		return;
	gt_file_id_of(&st, &id);
	/* Used: pruning keeps it (a recorder would have marked it so). */
	gt_profile_touch(hb->settings.profile_dir, hb->prof_key);
	if (gt_settled_mark(GT_SETTLED_DIR, &id, cid, hb->prof_key, &err) < 0)
		gt_note(&hb->notes, "the record hook not told the profile is settled: %.200s", gt_err_msg(err));
	gt_err_free(&err);
}

/* Engines driven through the wrapper may have no prestart hook: when a
 * working-set profile is recorded for this entrypoint, or the policy lists
 * files or asks for the closure, a detached reader warms them, working
 * from the spec already read here. This is the earliest point gotune sees
 * a container: the reads overlap all of the runtime's own set-up, where a
 * prestart hook overlaps only its end. Whether there can be anything to
 * warm is decided before forking (no profile directory, nothing listed:
 * no reader, no fork); whether this entrypoint has a profile is the
 * reader's to find out, since the runtime waits for the tuning child and
 * the lookup is cold reads (the entrypoint, its content ID in the ids
 * cache, the profile's name).
 * The runtime exec'd later must never see a child of ours (crun mistook a
 * stray SIGCHLD for its own): from the tuning child, which exits at once,
 * one fork; from the wrapper itself (confinement off), two. */
static void start_reader(const struct gt_rt_args *ra, const struct gt_policy *policy, const struct gt_spec *spec,
			 bool from_child)
{
	const char *bundle = ra->bundle != NULL && ra->bundle[0] != '\0' ? ra->bundle : ".";
	struct gt_bundle hb;
	gt_bundle_from_spec(&hb, policy, bundle, spec);
	if (!gt_bundle_may_warm(&hb))
		return;
	/* Only for a record hook, which takes the mark (not for a replay
	 * hook, which reads the profile itself, nor for the wrapper's own
	 * recorder, which the tuning child forks only for a profile whose
	 * head says it is not settled). */
	if (ra->id != NULL && hook_spec_records(spec) && !hook_spec_replays(spec) && hook_spec_asks_record(policy, spec)) {
		hb.looked_up = mark_settled;
		hb.looked_up_ctx = (void *)ra->id;
	}
	pid_t pid = fork();
	if (pid < 0)
		return;
	if (pid > 0) {
		int status;
		if (!from_child)
			gt_wait_child(pid, 1000, &status); /* it forks once and exits */
		return;
	}
	if (!from_child && fork() != 0)
		_exit(0);
	/* The log goes to the policy's log_file, or the runtime's --log file,
	 * which are opened by path. */
	gt_detach(NULL, NULL);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	hook_confine(policy, GT_PHASE_PREWARM);
	if (!gt_bundle_wants_warm(&hb))
		_exit(0); /* no profile for this entrypoint: nothing to say */
	/* A detached reader like prestart's: workers.max_readers at once. */
	char why[300];
	int slot;
	if (gt_worker_begin("reader", policy->workers.max_readers, &slot, why, sizeof(why)) < 0) {
		char detail[400];
		snprintf(detail, sizeof(detail), "%s (workers.max_readers): not warmed", why);
		struct gt_log_event sev = { .entry = "runtime-prewarm", .id = ra->id != NULL ? ra->id : "",
					    .outcome = "skipped", .detail = detail, .ms = gt_elapsed_ms(&t0) };
		gt_log_event(&sev, policy->log_file);
		gt_counters_count(policy->metrics_file, GT_COUNT_WORKER_SKIPPED, "reader", GT_OUT_SKIPPED,
				  policy->sha256);
		_exit(0);
	}
	gt_worker_bound(5, policy->settings.prewarm.budget.max_ms / 1000 + 10);
	char warm[2048] = "", summary[2048];
	gt_err_t err = NULL;
	/* Already detached: a background reader would only fork again, and
	 * willneed may block here (GT_PW_DETACHED). */
	enum gt_pw_mode mode = gt_bundle_mode(&hb, false);
	mode = mode == GT_PW_BACKGROUND ? GT_PW_POPULATE : mode == GT_PW_WILLNEED ? GT_PW_DETACHED : mode;
	int rc = gt_bundle_warm(&hb, mode, warm, sizeof(warm), &err);
	gt_bundle_summarize(&hb, "", warm, summary, sizeof(summary));
	size_t n = strlen(summary);
	if (why[0] != '\0')
		snprintf(summary + n, sizeof(summary) - n, "; note: %s", why);
	struct gt_log_event ev = { .entry = "runtime-prewarm", .id = ra->id != NULL ? ra->id : "",
				   .outcome = rc < 0 ? "passthrough" : "done", .error = rc < 0 ? gt_err_msg(err) : NULL,
				   .detail = summary, .ms = gt_elapsed_ms(&t0) };
	gt_log_event(&ev, policy->log_file);
	gt_err_free(&err);
	_exit(0);
}

/* Whether the entrypoint's profile is settled, from its head: then no
 * recorder is forked at all (measured: a recorder forked only to find
 * that out cost perl's start 5 ms on 2 CPUs, beside runc). */
static bool settled_for(const struct gt_rt_args *ra, const struct gt_policy *policy, const struct gt_spec *spec,
			char *said, size_t saidsz)
{
	char key[GT_PROFILE_KEY_LEN + 1];
	const char *bundle = ra->bundle != NULL && ra->bundle[0] != '\0' ? ra->bundle : ".";
	if (policy->settings.profile_dir[0] == '\0' ||
	    !gt_profile_settled_for(spec, bundle, policy->settings.profile_dir, key, sizeof(key)))
		return false;
	snprintf(said, saidsz, "record: not recorded: profile %s settled (%u recordings in a row added nothing new)",
		 key, GT_PROFILE_SETTLED);
	/* Used: pruning keeps it (a recorder would have marked it so). */
	gt_profile_touch(policy->settings.profile_dir, key);
	return true;
}

/* Tunes the bundle, records it for exec, starts the reader if there is
 * anything to warm, and logs one line; 1 when a strict policy says the
 * error must fail the container. */
static int tune_and_log(const struct gt_rt_args *ra, const char *runtime, const struct gt_policy *policy,
			int policy_rc, bool in_child, const struct timespec *t0, bool *record, gt_err_t *err)
{
	*record = false;
	cleanup_tune struct gt_tune tune = { 0 };
	struct final_config *fc = calloc(1, sizeof(*fc));
	if (fc != NULL)
		fc->dfd = -1;
	if (ra->id != NULL)
		snprintf(tune.id, sizeof(tune.id), "%s", ra->id);
	struct gt_log_event ev = { .entry = "runtime" };
	char said[200] = "";
	enum gt_outcome outcome = GT_OUT_PASSTHROUGH;
	if (fc == NULL)
		gt_error(err, ENOMEM, "runtime");
	else if (policy_rc == 0 && ra->refuse != NULL)
		gt_error(err, 0, "%s: runc and crun read this bundle/config option differently; not tuned", ra->refuse);
	else if (policy_rc == 0 && tune_bundle(ra, policy, &tune, fc, err) == 0) {
		/* The config as the runtime will read it, parsed once more
		 * (gt_tune_spec keeps no tree): the reader starts from it, at
		 * once (before the rewrite, which may wait on a disk), and the
		 * exec record comes from it as an exec's own reading would. */
		cleanup_spec struct gt_spec final;
		gt_err_t perr = NULL;
		bool parsed = gt_spec_parse(&final, fc->text, fc->len, &perr) == 0;
		gt_err_free(&perr);
		if (parsed)
			start_reader(ra, policy, &final, in_child);
		/* README's wrapper setup asks with the annotation alone: no
		 * hook of gotune's is there to start a recorder, so the wrapper
		 * does (the parent: this child keeps no capability to). */
		*record = parsed && ra->id != NULL && !hook_spec_records(&final) && !hook_spec_replays(&final) &&
			  hook_spec_asks_record(policy, &final) &&
			  !settled_for(ra, policy, &final, said, sizeof(said));
		if (write_bundle(&tune, fc, err) == 0) {
			ev.plan = &tune.plan;
			outcome = gt_plan_outcome(&tune.plan);
			if (parsed)
				record_for_exec(ra, runtime, fc, &final, &tune.plan.notes);
		}
	}
	ev.outcome = gt_outcome_name(outcome);
	ev.id = tune.id;
	ev.detail = said[0] != '\0' ? said : NULL;
	ev.error = *err != NULL ? gt_err_msg(*err) : NULL;
	ev.ms = gt_elapsed_ms(t0);
	gt_log_event(&ev, policy->log_file);
	gt_counters_count(policy->metrics_file, GT_COUNT_CONTAINER, "runtime", outcome, policy->sha256);
	if (fc != NULL) {
		gt_buf_free(&fc->in);
		if (fc->dfd >= 0)
			close(fc->dfd);
	}
	free(fc);
	return *err != NULL && policy->strict ? 1 : 0;
}

/* The tuning child's exit status with this bit: the container asks to be
 * recorded and nothing else will (tune_and_log). The recorder checks all
 * of it again itself. */
#define WRAP_RECORD_EXIT 0x40

/* The recorder README's wrapper setup asks for, where the runtime's state
 * can be read for the init's pid (runc, crun). */
static void start_recorder(const struct gt_rt_args *ra, const char *runtime, const struct gt_policy *policy,
			   const struct timespec *t0)
{
	enum gt_rt_kind kind = gt_rt_kind_of(runtime);
	char root[PATH_MAX];
	const char *bundle = ra->bundle != NULL && ra->bundle[0] != '\0' ? ra->bundle : ".";
	if (kind == GT_RT_UNKNOWN || ra->id == NULL || gt_rt_root(kind, ra->root, root, sizeof(root)) < 0) {
		struct gt_log_event ev = { .entry = "recorder", .id = ra->id != NULL ? ra->id : "",
					   .outcome = "skipped", .detail = "not recorded: the init's pid is read from "
					   "runc's or crun's state, and this runtime or its state root is not known; "
					   "add a `gotune-hook record` createRuntime hook", .ms = gt_elapsed_ms(t0) };
		gt_log_event(&ev, policy->log_file);
		return;
	}
	hook_wrapper_recorder(policy, bundle, kind, root, ra->id, t0);
}

static int run_wrapper(const char *policy_path, const char *runtime_path, const char *prefer, int argc,
		       char *argv[])
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct gt_policy policy;
	cleanup_err gt_err_t err = NULL;
	int policy_rc = hook_load_policy(policy_path, &policy, &err);

	/* argv[0] is the wrapper's own name; the runtime's arguments follow. */
	struct gt_rt_args ra;
	gt_runtime_args_parse(argc, argv, 1, &ra);
	gt_log_for_wrapper(ra.log, ra.log_json);

	char runtime[PATH_MAX];
	cleanup_err gt_err_t rerr = NULL;
	if (find_runtime(runtime_path, &policy, prefer, runtime, sizeof(runtime), &rerr) < 0) {
		gt_log(LOG_ERR, "runtime: %s", gt_err_msg(rerr));
		return 127;
	}
	if (ra.tunes) {
		/* The spec and the image are parsed in a confined child: the
		 * runtime exec'd below must inherit no seccomp filter, no
		 * no_new_privs and no dropped capability. */
		bool confined = policy_rc == 0 && policy.confine && gt_confine_available();
		pid_t pid = confined ? fork() : 0;
		if (pid < 0) {
			gt_log(LOG_WARNING, "runtime: fork: %s; tuning unconfined", strerror(errno));
			confined = false;
			pid = 0;
		}
		bool record = false;
		if (pid == 0) {
			if (confined)
				hook_confine(&policy, GT_PHASE_WRAP);
			int rc = tune_and_log(&ra, runtime, &policy, policy_rc, confined, &t0, &record, &err);
			if (confined)
				_exit(rc | (record ? WRAP_RECORD_EXIT : 0));
			if (rc != 0)
				return rc;
		} else {
			int status = 0;
			int wr = gt_wait_child(pid, TUNE_TIMEOUT_MS, &status);
			int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
			record = wr == 0 && (code & WRAP_RECORD_EXIT) != 0;
			code &= ~WRAP_RECORD_EXIT;
			if (wr == -ETIMEDOUT)
				gt_log(LOG_WARNING, "runtime: the tuning child took over %u ms: killed; the spec is as it "
				       "left it (rewritten whole or not at all)", TUNE_TIMEOUT_MS);
			else if (WIFEXITED(status) && code != 0)
				return code; /* strict policy */
			else if (!WIFEXITED(status))
				gt_log(LOG_WARNING, "runtime: the tuning child died (signal %d); spec left as it was",
				       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		}
		if (record)
			start_recorder(&ra, runtime, &policy, &t0);
	}
	if (ra.exec && policy_rc == 0 && policy.settings.enabled) {
		argv = hook_exec_tune(&ra, runtime, argc, argv, &policy, &t0);
	} else if (ra.exec && policy_rc != 0) {
		/* Said for every exec while the policy is broken, not only at
		 * create: the process runs without the container's tuning. */
		struct gt_log_event ev = { .entry = "runtime-exec", .id = ra.id != NULL ? ra.id : "",
					   .outcome = gt_outcome_name(GT_OUT_PASSTHROUGH), .error = gt_err_msg(err),
					   .ms = gt_elapsed_ms(&t0) };
		gt_log_event(&ev, policy.log_file);
		gt_counters_count(policy.metrics_file, GT_COUNT_EXEC, NULL, GT_OUT_PASSTHROUGH, policy.sha256);
	}
	if (ra.delete_)
		hook_exec_forget(&ra, runtime);

	argv[0] = runtime;
	execv(runtime, argv);
	gt_log(LOG_ERR, "runtime: exec %s: %s", runtime, strerror(errno));
	return 127;
}

int cmd_runtime(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "runtime", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy_path = NULL, *runtime_path = NULL;
	int c;
	/* "+": stop at the first non-option, the runtime's arguments are not ours. */
	while ((c = getopt_long(argc, argv, "+p:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': policy_path = optarg; break;
		case 'r': runtime_path = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	/* The runtime's arguments, with the slot before them as their argv[0]. */
	int first = optind - 1;
	argv[first] = argv[0];
	return run_wrapper(policy_path, runtime_path, "runc", argc - first, argv + first);
}

int cmd_runtime_direct(int argc, char *argv[], const char *prefer)
{
	/* gotune-runc --runtime PATH ...: ours, neither runc nor crun has it,
	 * so it is taken out before the runtime sees the arguments. */
	const char *runtime_path = NULL;
	argc = gt_runtime_args_take(argc, argv, "--runtime", &runtime_path);
	return run_wrapper(NULL, runtime_path, prefer, argc, argv);
}
