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
#include "settledmark.h"
#include "spec.h"
#include "state.h"
#include "statedir.h"
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
	struct stat cfg_st;
	/* Confined from the start: the state and the spec are read in the
	 * record phase, and the recorder forked below inherits it. */
	int rc = hook_load_policy(policy_path, &policy, &err);
	/* gotune's cgroup for its recorders is made before the confinement,
	 * which keeps no capability to make it. */
	char cg_note[300] = "";
	bool cg_ready = rc == 0 && hook_prepare_workcg(&policy, cg_note, sizeof(cg_note));
	if (rc == 0)
		hook_confine(&policy, GT_PHASE_RECORD);
	if (rc == 0)
		rc = gt_read_fd(STDIN_FILENO, GT_STATE_MAX_BYTES, &in, &err);
	if (rc == 0)
		rc = gt_state_parse(in.data, in.len, &st, &err);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/config.json", st.bundle);
		rc = gt_read_file_at_stat(AT_FDCWD, path, GT_SPEC_MAX_BYTES, &cfg, &cfg_st, &err);
	}
	if (rc == 0)
		rc = gt_spec_parse(&spec, cfg.data, cfg.len, &err);
	if (rc < 0) {
		struct gt_log_event ev = { .entry = entry, .id = st.id, .outcome = "passthrough",
					   .error = gt_err_msg(err), .ms = gt_elapsed_ms(&t0) };
		gt_log_event(&ev, policy.log_file);
		return policy.strict ? 1 : 0;
	}
	/* The replay hook in the same spec starts the recorder itself (README's
	 * one hook); a record hook left from the setup before must not start a
	 * second one. */
	char detail[1200];
	struct gt_log_event ev = { .entry = entry, .id = st.id, .outcome = "skipped", .detail = detail };
	struct hook_recorder_req req = { .policy = &policy, .spec = &spec, .bundle = st.bundle, .id = st.id,
					 .status = st.status, .pid = st.pid, .before_exec = before_exec,
					 .cg_ready = cg_ready, .cg_note = cg_note, .t0 = &t0 };
	enum hook_rec what = HOOK_REC_NOT_ASKED;
	if (hook_spec_replays(&spec)) {
		struct gt_settings s = policy.settings;
		struct gt_notes notes = { 0 };
		gt_annotations_apply(&s, spec_annotation, &spec, &notes);
		if (!s.enabled || !s.profile_record)
			return 0;
		snprintf(detail, sizeof(detail), "not started here: this container's gotune-hook createRuntime or "
			 "prestart hook records it (this record hook is no longer needed)");
	} else {
		/* The wrapper's reader may have found the profile settled for
		 * this very config.json (settledmark.h): then no recorder is
		 * forked to find that out again. */
		char settled[GT_PROFILE_KEY_LEN + 1];
		struct gt_file_id cfg_id;
		gt_file_id_of(&cfg_st, &cfg_id);
		if (gt_settled_take(GT_SETTLED_DIR, &cfg_id, st.id, settled, sizeof(settled)) == 1)
			req.settled_key = settled;
		what = hook_start_recorder(&req, detail, sizeof(detail));
		if (what == HOOK_REC_NOT_ASKED)
			return 0;
		ev.outcome = what == HOOK_REC_STARTED ? "started" : what == HOOK_REC_FAILED ? "passthrough" : "skipped";
	}
	ev.ms = gt_elapsed_ms(&t0);
	gt_log_event(&ev, policy.log_file);
	return 0;
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
