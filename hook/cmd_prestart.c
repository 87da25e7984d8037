/* OCI hook (prestart / createRuntime): the container state on stdin. The
 * env is already fixed here, so this entry point warms the page cache and
 * reports whether the env got what the plan wanted. It never fails the
 * container unless the policy is strict. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle.h"
#include "audit.h"
#include "detach.h"
#include "cleanup.h"
#include "confine.h"
#include "counters.h"
#include "fileio.h"
#include "hook.h"
#include "hostinfo.h"
#include "image.h"
#include "event.h"
#include "log.h"
#include "memfmt.h"
#include "pwreport.h"
#include "record.h"
#include "report.h"
#include "spec.h"
#include "state.h"
#include "tune.h"
#include "warmset.h"
#include "worker.h"

static const char usage[] = "usage: gotune-hook prestart|createRuntime [--policy FILE] < state.json\n";

/* The name of the process that runs this hook (the runtime). */
static bool parent_is(const char *comm)
{
	char path[64], buf[32] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)getppid());
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, comm) == 0;
}

/* Runtimes collect a hook's output through a pipe and wait for its end. */
static bool run_by_runtime(void)
{
	struct stat st;
	return fstat(STDERR_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* Background mode: everything that touches the rootfs (the entrypoint's
 * headers, the set, the reads) happens in a detached reader, so the
 * runtime waits only for the spec to be read. Resolving a set costs cold
 * lookups and reads of its own (10 ms for a 200 MiB closure here). The
 * reader logs its own line. Returns the reader's pid, or -1. */
static pid_t background_reader(struct gt_bundle *hb, const struct gt_policy *policy, const char *id)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	gt_detach(NULL, NULL);
	/* Forked from the hook's wider phase: the rootfs is read with
	 * PREWARM's capabilities only, never the recorder's SYS_PTRACE. */
	hook_confine(policy, GT_PHASE_PREWARM);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char summary[2048] = "";
	gt_err_t err = NULL;
	/* At most workers.max_readers at once on the node, each bounded in
	 * CPU and time beyond prewarm.max_ms. */
	char why[300];
	int slot, rc = 0;
	bool skipped = gt_worker_begin("reader", policy->workers.max_readers, &slot, why, sizeof(why)) < 0;
	if (skipped) {
		snprintf(summary, sizeof(summary), "%s (workers.max_readers): not warmed", why);
		gt_counters_count(policy->metrics_file, GT_COUNT_WORKER_SKIPPED, "reader", GT_OUT_SKIPPED,
				  policy->sha256);
	} else {
		gt_worker_bound(5, hb->settings.prewarm.budget.max_ms / 1000 + 10);
		rc = gt_bundle_prewarm(hb, GT_PW_POPULATE, summary, sizeof(summary), &err);
		size_t n = strlen(summary);
		if (why[0] != '\0')
			snprintf(summary + n, sizeof(summary) - n, "; note: %s", why);
	}
	struct gt_log_event ev = {
		.entry = "prewarm-reader",
		.id = id,
		.outcome = rc < 0 ? "passthrough" : skipped ? "skipped" : "done",
		.error = rc < 0 ? gt_err_msg(err) : NULL,
		.detail = summary,
		.ms = gt_elapsed_ms(&t0),
	};
	gt_log_event(&ev, policy->log_file);
	_exit(0);
}

/* The recorder, when the container asks to be recorded (README's one
 * hook: no `record` hook needed), started once the profile has been
 * looked up (known: hb->prof_key and prof_settled are set), so that a
 * settled one costs no fork. Then this process drops
 * to PREWARM's confinement for what is left (the audit reads the image's
 * entrypoint). "record ..." in out, or "". */
static void start_recorder(struct gt_bundle *hb, struct hook_recorder_req *rec, bool known, char *out, size_t outsz)
{
	char what[1200];
	rec->settled_key = known && hb->prof_settled ? hb->prof_key : NULL;
	enum hook_rec r = hook_start_recorder(rec, what, sizeof(what));
	if (r != HOOK_REC_NOT_ASKED)
		snprintf(out, outsz, "record: %s", what);
	hook_confine(rec->policy, GT_PHASE_PREWARM);
}

/* Warms the set in mode, starts the recorder if asked, then the env audit
 * and the summary. The container needs the reads queued, not the audit:
 * reading the entrypoint's headers for it (a cold read, 1-2 ms) and the
 * log line are left to a detached child once a runtime (stderr a pipe)
 * can go on. In willneed mode that child queues the reads too: willneed
 * only asks the kernel to read, so nothing the runtime does next waits
 * for it, while finding the set (the entrypoint's key, the profile, each
 * file opened and its build ID checked: cold reads, one at a time) and
 * queueing it (page allocation and submission, 10 ms for clang's 65 MiB)
 * held the runtime 8-9 ms for perl and 23 ms for clang, longer than perl's
 * reads take. Free to block, the child queues the first 8 MiB and reads
 * the rest in order (GT_PW_DETACHED). It also starts the recorder, once
 * the profile's lookup says it is not settled: done before the return,
 * that lookup held the runtime 2-3 ms more. The hook keeps only what the
 * recorder must know from before the return: the init's executable, whose
 * change is the exec it waits for. Not under crun, which reaps our children as
 * subreaper and mistakes their exit for its hook's (see gt_bundle_mode);
 * not under a strict policy, whose failure to warm fails the container;
 * run by hand, the hook does it all. Returns the child's pid in the parent
 * (which has nothing left to do), 0 in the child, -1 when no child was
 * made. */
static pid_t warm_then_audit(struct gt_bundle *hb, enum gt_pw_mode mode, struct hook_recorder_req *rec,
			     const struct timespec *t0, char *summary, size_t sumsz, int *rc, gt_err_t *err)
{
	char warm[1024] = "", audit[512], recorded[1300] = "";
	bool forks = run_by_runtime() && !parent_is("crun");
	bool queued_by_child = forks && mode == GT_PW_WILLNEED && !rec->policy->strict;
	/* The recorder is the child's to start too: the profile's lookup (2-3
	 * ms of cold reads) no longer holds the runtime. What the recorder
	 * waits on is taken now. */
	bool asked = queued_by_child && hook_recorder_asked(rec);
	if (asked)
		rec->exe_known = gt_record_exe_id((pid_t)rec->pid, &rec->exe_dev, &rec->exe_ino) == 0;
	if (!queued_by_child) {
		*rc = gt_bundle_warm(hb, mode, warm, sizeof(warm), err);
		start_recorder(hb, rec, *rc == 0, recorded, sizeof(recorded));
	}
	double returned = gt_elapsed_ms(t0);
	pid_t child = forks ? fork() : -1;
	if (child > 0)
		return child;
	if (child == 0)
		gt_detach(NULL, NULL);
	if (queued_by_child) {
		if (asked)
			gt_bundle_profile_state(hb);
		start_recorder(hb, rec, asked, recorded, sizeof(recorded));
		/* It holds the rootfs's files open after the runtime went on,
		 * as the background reader does: the same backstops, set once
		 * the recorder, which has its own, is forked. */
		if (child == 0)
			gt_worker_bound(5, hb->settings.prewarm.budget.max_ms / 1000 + 10);
		*rc = gt_bundle_warm(hb, child == 0 ? GT_PW_DETACHED : mode, warm, sizeof(warm), err);
	}
	size_t n = strlen(warm);
	if (recorded[0] != '\0')
		n += (size_t)snprintf(warm + n, sizeof(warm) - n, "%s%s", n ? "; " : "", recorded);
	if (child == 0 && n < sizeof(warm))
		snprintf(warm + n, sizeof(warm) - n, "%sreturned to the runtime after %.2fms", n ? ", " : "", returned);
	gt_bundle_audit(hb, audit, sizeof(audit));
	gt_bundle_summarize(hb, audit, warm, summary, sumsz);
	return child;
}

int cmd_prestart(int argc, char *argv[])
{
	const char *policy_path = NULL;
	int rc_opts = hook_policy_option(argc, argv, usage, &policy_path);
	if (rc_opts == 0)
		return 0;
	/* A hook must not fail a container over its own command line: say
	 * so and go on with what was understood. */
	if (rc_opts > 0)
		gt_log(LOG_WARNING, "%s: bad arguments ignored (see gotune-hook --help)", argv[0]);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const char *entry = argv[0];
	struct gt_policy policy;
	gt_policy_defaults(&policy);
	cleanup_err gt_err_t err = NULL;
	cleanup_buf struct gt_buf in = { 0 };
	struct gt_state st = { 0 };
	char summary[2048] = "";
	/* The policy first: strict must hold for a bad state too. */
	int rc = hook_load_policy(policy_path, &policy, &err);
	/* With a broken policy the state is still read, confined as by
	 * default, so the line names the container; the policy's error is
	 * the one reported. */
	struct gt_policy fallback;
	gt_policy_defaults(&fallback);
	/* gotune's cgroup for the recorder this hook may start is made before
	 * the confinement, which keeps no capability to make it (a few
	 * microseconds once it exists). Confined for both what replay and
	 * recording need until the spec says whether to record. */
	char cg_note[300] = "";
	bool cg_ready = rc == 0 && hook_prepare_workcg(&policy, cg_note, sizeof(cg_note));
	hook_confine(rc == 0 ? &policy : &fallback, GT_PHASE_HOOK);
	cleanup_err gt_err_t serr = NULL;
	int src = gt_read_fd(STDIN_FILENO, GT_STATE_MAX_BYTES, &in, &serr);
	if (src == 0)
		src = gt_state_parse(in.data, in.len, &st, &serr);
	if (rc == 0 && src < 0) {
		rc = src;
		err = serr;
		serr = NULL;
	}
	struct gt_bundle hb = { 0 };
	bool audit_child = false;
	if (rc == 0)
		rc = gt_bundle_load(&hb, &policy, st.bundle, "config.json", &err);
	struct hook_recorder_req rec = { .policy = &policy, .spec = &hb.spec, .bundle = st.bundle, .id = st.id,
					 .status = st.status, .pid = st.pid, .before_exec = true, .narrow = true,
					 .cg_ready = cg_ready, .cg_note = cg_note, .t0 = &t0 };
	if (rc == 0) {
		enum gt_pw_mode mode = gt_bundle_mode(&hb, parent_is("crun"));
		pid_t reader = mode == GT_PW_BACKGROUND ? background_reader(&hb, &policy, st.id) : 0;
		if (reader > 0) {
			char recorded[1300] = "";
			start_recorder(&hb, &rec, false, recorded, sizeof(recorded));
			snprintf(summary, sizeof(summary), "prewarm background: reader %d resolves and warms the set, "
				 "and logs its own line%s%s", (int)reader, recorded[0] ? "; " : "", recorded);
		} else {
			if (reader < 0) {
				gt_note(&hb.notes, "cannot fork the background reader (%s): queued with willneed",
					strerror(errno));
				mode = GT_PW_WILLNEED;
			}
			pid_t child = warm_then_audit(&hb, mode, &rec, &t0, summary, sizeof(summary), &rc, &err);
			if (child > 0) {
				gt_bundle_free(&hb);
				return rc < 0 && policy.strict ? 1 : 0;
			}
			audit_child = child == 0;
		}
	}
	gt_bundle_free(&hb);
	struct gt_log_event ev = {
		.entry = entry,
		.id = st.id,
		.outcome = rc < 0 ? "passthrough" : "done",
		.error = rc < 0 ? gt_err_msg(err) : NULL,
		.detail = summary,
		.ms = gt_elapsed_ms(&t0),
	};
	gt_log_event(&ev, policy.log_file);
	if (audit_child)
		_exit(0);
	return rc < 0 && policy.strict ? 1 : 0;
}
