/* Working-set profiles: `record` and `poststart` (OCI hooks: start a
 * detached recorder and return at once) and `profile record|show`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "annotations.h"
#include "cleanup.h"
#include "fileio.h"
#include "hook.h"
#include "event.h"
#include "log.h"
#include "memfmt.h"
#include "profile.h"
#include "closure.h"
#include "confine.h"
#include "counters.h"
#include "detach.h"
#include "recording.h"
#include "rootfs.h"
#include "spec.h"
#include "state.h"
#include "warmset.h"
#include "worker.h"
#include "workcg.h"


static const char *spec_annotation(void *ctx, const char *key)
{
	return gt_spec_annotation(ctx, key);
}

/* Paths come from an image: the kernel's maps file escapes only a
 * newline, so an ESC sequence in a file name would reach the terminal of
 * whoever runs `profile show`. */
static void print_profile(const struct gt_profile *p)
{
	uint64_t total = 0;
	char safe[4 * sizeof(p->entry)];
	gt_log_escape(p->entry, safe, sizeof(safe));
	printf("entry %s (%" PRIu64 " bytes, %s)\n", safe, p->entry_size,
	       p->entry_id[0] ? p->entry_id : "no build ID");
	if (p->ident.sha[0] != '\0') {
		gt_log_escape(p->ident.image, safe, sizeof(safe));
		printf("content sha256:%s; image %s; profile %s%s\n", p->ident.sha,
		       p->ident.image_sha[0] ? (safe[0] ? safe : "(not printable)") : "none named by the engine",
		       p->ident.key, p->settled >= GT_PROFILE_SETTLED ? ", settled (not recorded again)" : "");
	} else {
		printf("format before 4 (keyed by build ID): never replayed, pruned by the next recording\n");
	}
	for (size_t i = 0; i < p->n_files; i++) {
		const struct gt_profile_file *f = &p->files[i];
		uint64_t bytes = 0;
		for (size_t k = 0; k < f->n_ranges; k++)
			bytes += f->ranges[k].len;
		total += bytes;
		gt_log_escape(f->path, safe, sizeof(safe));
		printf("  %10" PRIu64 " of %10" PRIu64 " bytes in %4zu ranges  %s\n", bytes, f->size, f->n_ranges, safe);
	}
	printf("%zu files, %" PRIu64 " bytes to warm\n", p->n_files, total);
}

/* The recorder keeps its slot (worker.h) through gt_detach. */
static bool keep_slot(int fd, const void *ctx)
{
	return fd == *(const int *)ctx;
}

/* How long a recorder started before the exec waits for it: `runc run`
 * and the engines start a container right after creating it. */
#define RECORD_EXEC_WAIT_MS 10000u

/* The recording hook. As `record` (createRuntime or prestart: the init
 * process exists, the runtime holds it before its exec) the recorder waits
 * for the exec and samples from the program's first instruction; as
 * `poststart` it samples at once, and may miss a program that is quick
 * to exit. Either returns at once and leaves a detached recorder. */
int cmd_record(int argc, char *argv[])
{
	static const char usage[] = "usage: gotune-hook record|poststart [--policy FILE] < state.json\n";
	const char *entry = argv[0];
	bool before_exec = strcmp(entry, "record") == 0;
	const char *policy_path = NULL;
	int rc_opts = hook_policy_option(argc, argv, usage, &policy_path);
	if (rc_opts == 0)
		return 0;
	if (rc_opts > 0)
		gt_log(LOG_WARNING, "%s: bad arguments ignored (see gotune-hook --help)", entry);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct gt_policy policy;
	cleanup_err gt_err_t err = NULL;
	cleanup_buf struct gt_buf in = { 0 }, cfg = { 0 };
	struct gt_state st = { 0 };
	cleanup_spec struct gt_spec spec;
	memset(&spec, 0, sizeof(spec));
	char path[4200];
	/* Confined from the start: the state and the spec are read in the
	 * record phase, and the recorder forked below inherits it. */
	int rc = hook_load_policy(policy_path, &policy, &err);
	/* gotune's cgroup for its recorders is made before the confinement,
	 * which keeps no capability to make it. */
	gt_err_t cgerr = NULL;
	bool cg_ready = rc == 0 && policy.workers.cgroup && gt_workcg_prepare("/sys/fs/cgroup", &cgerr) == 0;
	char cg_note[300] = "";
	if (rc == 0 && policy.workers.cgroup && !cg_ready)
		snprintf(cg_note, sizeof(cg_note), "not in gotune's cgroup: %.200s", gt_err_msg(cgerr));
	gt_err_free(&cgerr);
	if (rc == 0)
		hook_confine(&policy, GT_PHASE_RECORD);
	if (rc == 0)
		rc = gt_read_fd(STDIN_FILENO, GT_STATE_MAX_BYTES, &in, &err);
	if (rc == 0)
		rc = gt_state_parse(in.data, in.len, &st, &err);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/config.json", st.bundle);
		rc = gt_read_file_at(AT_FDCWD, path, GT_SPEC_MAX_BYTES, &cfg, &err);
	}
	if (rc == 0)
		rc = gt_spec_parse(&spec, cfg.data, cfg.len, &err);
	if (rc < 0) {
		struct gt_log_event ev = { .entry = entry, .id = st.id, .outcome = "passthrough",
					   .error = gt_err_msg(err), .ms = gt_elapsed_ms(&t0) };
		gt_log_event(&ev, policy.log_file);
		return policy.strict ? 1 : 0;
	}
	/* Recording is opt-in: it reads another process's memory maps. */
	struct gt_settings s = policy.settings;
	struct gt_notes notes = { 0 };
	gt_annotations_apply(&s, spec_annotation, &spec, &notes);
	if (!s.enabled || !s.profile_record || st.pid <= 0)
		return 0;
	char detail[1200];
	struct gt_log_event ev = { .entry = entry, .id = st.id, .outcome = "skipped", .detail = detail };
	/* Who may be recorded is the node admin's to say (profile.record_only):
	 * a tenant's annotation asks, it does not decide. */
	if (!gt_policy_may_record(&policy, spec_annotation, &spec)) {
		snprintf(detail, sizeof(detail), "not recorded: profile.record_only (%.300s) lists no annotation of "
			 "this container", policy.source);
		ev.ms = gt_elapsed_ms(&t0);
		gt_log_event(&ev, policy.log_file);
		return 0;
	}
	/* At most workers.max_recorders at once on the node: the slot is
	 * taken here, so that a start over the limit costs no fork, and
	 * handed to the recorder, which holds it until it exits. */
	int slot = -1;
	char why[300];
	if (gt_worker_begin("recorder", policy.workers.max_recorders, &slot, why, sizeof(why)) < 0) {
		snprintf(detail, sizeof(detail), "not recorded: %s (workers.max_recorders)", why);
		ev.ms = gt_elapsed_ms(&t0);
		gt_log_event(&ev, policy.log_file);
		gt_counters_count(policy.metrics_file, GT_COUNT_WORKER_SKIPPED, "recorder", GT_OUT_SKIPPED, policy.sha256);
		return 0;
	}
	/* Before the exec the init runs the runtime's file: the recorder waits
	 * until that changes. crun says "running" once it has exec'd. */
	dev_t dev = 0;
	ino_t ino = 0;
	before_exec = before_exec && strcmp(st.status, "running") != 0 &&
		      gt_record_exe_id((pid_t)st.pid, &dev, &ino) == 0;
	/* The runtime must not wait for the recorder: detach it the way the
	 * background prewarm does (new session, stdio on /dev/null, no
	 * other inherited fd but its slot). */
	pid_t child = fork();
	if (child != 0) {
		if (slot >= 0)
			close(slot);
		snprintf(detail, sizeof(detail), "recording the working set of pid %ld %s into %s%s%s", st.pid,
			 child < 0 ? "failed: cannot fork" : before_exec ? "from its exec" : "from now", s.profile_dir,
			 why[0] ? "; " : "", why);
		ev.outcome = child < 0 ? "passthrough" : "started";
		ev.error = child < 0 ? strerror(errno) : NULL;
		ev.ms = gt_elapsed_ms(&t0);
		gt_log_event(&ev, policy.log_file);
		return 0;
	}
	gt_detach(slot >= 0 ? keep_slot : NULL, &slot);
	/* The recorder's bounds are checked in its loops (record.c); should
	 * they fail, the kernel ends it: the wait for the exec, max_ms of
	 * sampling, and hashing an entrypoint of up to 256 MiB. */
	gt_worker_bound(s.profile_max_ms / 1000 + 8, RECORD_EXEC_WAIT_MS / 1000 + s.profile_max_ms / 1000 + 30);
	char wait[96] = "";
	struct gt_record_job job = { .pid = (pid_t)st.pid, .spec = &spec, .bundle = st.bundle, .dir = s.profile_dir,
				  .id = st.id, .s = &s, .quiet = true, .log_file = policy.log_file, .wait = wait,
				  .join_cgroup = cg_ready, .note = cg_note[0] ? cg_note : NULL };
	/* The first recording of an entrypoint samples its start fast; later
	 * ones only fill in what it missed, at idle priority after the first
	 * sample, so that a start that is replayed is not also slowed by the
	 * recorder (measured: clang's cold start 0.71 of no prewarm with a
	 * fast recorder each time, 0.64 without). Once recordings add
	 * nothing new, none is made: the runtime is still setting the
	 * container up while this is looked up. */
	struct gt_profile *prev = calloc(1, sizeof(*prev));
	int known = prev != NULL ? gt_profile_state_for(&spec, st.bundle, s.profile_dir, prev) : -1;
	if (known == 1 && prev->settled >= GT_PROFILE_SETTLED) {
		gt_profile_touch(s.profile_dir, prev->ident.key);
		snprintf(detail, sizeof(detail), "profile %s settled: %u recordings in a row added nothing new; not "
			 "recorded (delete %s/%s.profile to learn it again)", prev->ident.key, prev->settled,
			 s.profile_dir, prev->ident.key);
		struct gt_log_event sev = { .entry = "recorder", .id = st.id, .outcome = "settled", .detail = detail,
					    .ms = gt_elapsed_ms(&t0) };
		gt_log_event(&sev, policy.log_file);
		_exit(0);
	}
	job.refine = known == 1;
	if (prev != NULL) {
		gt_profile_free(prev);
		free(prev);
	}
	if (before_exec) {
		double waited = 0;
		if (gt_record_wait_exec(job.pid, dev, ino, RECORD_EXEC_WAIT_MS, &waited, &err) < 0) {
			struct gt_log_event fev = { .entry = "recorder", .id = st.id, .outcome = "failed",
						    .error = gt_err_msg(err), .detail = "nothing written",
						    .ms = gt_elapsed_ms(&t0) };
			gt_log_event(&fev, policy.log_file);
			_exit(1);
		}
		snprintf(wait, sizeof(wait), " (exec %.1f ms after the hook%s)", waited,
			 job.refine ? "; adding to its profile at idle priority" : "");
	} else if (job.refine) {
		snprintf(wait, sizeof(wait), " (adding to its profile at idle priority)");
	}
	_exit(gt_record_job_run(&job, &t0, NULL) < 0 ? 1 : 0);
}

static const char profile_usage[] =
	"usage: gotune-hook profile record [--policy FILE] --bundle DIR --pid PID [--dir PROFILES]\n"
	"       gotune-hook profile key [--policy FILE] --bundle DIR [--dir PROFILES]\n"
	"       gotune-hook profile show FILE\n"
	"record: sample a running container's working set now and write a profile under --dir (default:\n"
	"the policy's profile.dir); key: identify the bundle's entrypoint (SHA-256 of its bytes, the image the\n"
	"engine names) as a recorder does, remember its content ID, and print the profile's name; show:\n"
	"print a profile.\n";

static int profile_show(int argc, char *argv[])
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(profile_usage, stdout);
		return 0;
	}
	if (argc != 2) {
		fputs(profile_usage, stderr);
		return 2;
	}
	cleanup_buf struct gt_buf b = { 0 };
	cleanup_err gt_err_t err = NULL;
	struct gt_profile *p = calloc(1, sizeof(*p));
	if (p == NULL || gt_read_file_at(AT_FDCWD, argv[1], GT_PROFILE_MAX_BYTES, &b, &err) < 0 ||
	    gt_profile_parse(b.data, b.len, p, &err) < 0) {
		fprintf(stderr, "gotune-hook profile: %s\n", p == NULL ? "out of memory" : gt_err_msg(err));
		free(p);
		return 1;
	}
	print_profile(p);
	gt_profile_free(p);
	free(p);
	return 0;
}

static int profile_record(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid", required_argument, NULL, 'P' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy_path = NULL, *bundle = NULL, *dir = NULL, *pid_arg = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': policy_path = optarg; break;
		case 'b': bundle = optarg; break;
		case 'P': pid_arg = optarg; break;
		case 'd': dir = optarg; break;
		case 'h': fputs(profile_usage, stdout); return 0;
		default: fputs(profile_usage, stderr); return 2;
		}
	}
	char *end = NULL;
	long pid = pid_arg != NULL ? strtol(pid_arg, &end, 10) : 0;
	bool key_only = strcmp(argv[0], "key") == 0;
	if (optind != argc || bundle == NULL || (!key_only && (pid <= 0 || end == pid_arg || *end != '\0')) ||
	    (key_only && pid_arg != NULL)) {
		fputs(profile_usage, stderr);
		return 2;
	}
	struct gt_policy policy;
	cleanup_err gt_err_t perr = NULL;
	if (hook_load_policy(policy_path, &policy, &perr) < 0) {
		fprintf(stderr, "gotune-hook profile: %s\n", gt_err_msg(perr));
		return 1;
	}
	if (dir == NULL)
		dir = policy.settings.profile_dir;
	char cfgpath[4200];
	snprintf(cfgpath, sizeof(cfgpath), "%s/config.json", bundle);
	cleanup_buf struct gt_buf cfg = { 0 };
	cleanup_err gt_err_t err = NULL;
	cleanup_spec struct gt_spec spec;
	memset(&spec, 0, sizeof(spec));
	if (gt_read_file_at(AT_FDCWD, cfgpath, GT_SPEC_MAX_BYTES, &cfg, &err) < 0 ||
	    gt_spec_parse(&spec, cfg.data, cfg.len, &err) < 0) {
		fprintf(stderr, "gotune-hook profile: %s\n", gt_err_msg(err));
		return 1;
	}
	hook_confine(&policy, GT_PHASE_RECORD);
	if (key_only) {
		struct gt_profile *p = calloc(1, sizeof(*p));
		if (p == NULL || gt_profile_entry_for(&spec, bundle, dir, true, p, &err) != 0) {
			fprintf(stderr, "gotune-hook profile: %s\n", p == NULL ? "out of memory" : gt_err_msg(err));
			free(p);
			return 1;
		}
		char safe[1024];
		gt_log_escape(p->ident.image, safe, sizeof(safe));
		printf("%s %s/%s.profile sha256:%s %s\n", p->ident.key, dir, p->ident.key, p->ident.sha,
		       safe[0] ? safe : "-");
		free(p);
		return 0;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct gt_record_job job = { .pid = (pid_t)pid, .spec = &spec, .bundle = bundle, .dir = dir, .id = "",
				  .s = &policy.settings, .quiet = false, .log_file = policy.log_file, .wait = "" };
	struct gt_profile *written = NULL;
	int rc = gt_record_job_run(&job, &t0, &written);
	if (written != NULL) {
		print_profile(written);
		gt_profile_free(written);
		free(written);
	}
	return rc < 0 ? 1 : 0;
}

int cmd_profile(int argc, char *argv[])
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(profile_usage, stdout);
		return 0;
	}
	if (argc < 2) {
		fputs(profile_usage, stderr);
		return 2;
	}
	gt_log_to_stderr();
	if (strcmp(argv[1], "show") == 0)
		return profile_show(argc - 1, argv + 1);
	if (strcmp(argv[1], "record") == 0 || strcmp(argv[1], "key") == 0)
		return profile_record(argc - 1, argv + 1);
	fputs(profile_usage, stderr);
	return 2;
}
