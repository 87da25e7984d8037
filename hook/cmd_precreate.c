/* Podman hooks.d stage "precreate": the spec on stdin, the spec to use on
 * stdout. Podman fails the container on a non-zero exit or bad output, so
 * every failure of ours echoes the input byte for byte. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"
#include "counters.h"
#include "fileio.h"
#include "hook.h"
#include "hostinfo.h"
#include "event.h"
#include "log.h"
#include "spec.h"
#include "tune.h"

static const char usage[] =
	"usage: gotune-hook precreate [--policy FILE] < config.json > tuned.json\n"
	"\n"
	"Podman runs it from its hooks.d drop-in (stage precreate) and replaces the spec with\n"
	"what it prints. By hand, write to another file: the shell empties a file it\n"
	"redirects output to before gotune reads it, so '< config.json > config.json' loses\n"
	"the spec. Any error of gotune's prints the input unchanged and exits 0 (a strict\n"
	"policy: 1).\n";

int cmd_precreate(int argc, char *argv[])
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
	struct gt_policy policy;
	gt_policy_defaults(&policy);
	cleanup_err gt_err_t err = NULL;
	cleanup_buf struct gt_buf in = { 0 };
	cleanup_tune struct gt_tune tune = { 0 };
	struct gt_log_event ev = { .entry = "precreate", .id = "" };
	enum gt_outcome outcome = GT_OUT_PASSTHROUGH;
	bool strict = false;
	int too_big = gt_read_fd(STDIN_FILENO, GT_SPEC_MAX_BYTES, &in, &err) < 0;

	/* Podman keeps annotations of a filter's output, not unknown members:
	 * the record of what gotune wrote goes there, for plan and prestart. */
	tune.mark = tune.mark_annotation = true;
	if (!too_big && hook_load_policy(policy_path, &policy, &err) == 0) {
		strict = policy.strict;
		hook_confine(&policy, GT_PHASE_TUNE);
		struct gt_host host;
		gt_host_init(&host);
		if (gt_tune_spec(in.data, in.len, &policy, &host, NULL, &tune, &err) == 0) {
			ev.plan = &tune.plan;
			outcome = gt_plan_outcome(&tune.plan);
		}
	} else if (!too_big) {
		/* A broken policy: the line still names the container, read
		 * confined as by default. */
		struct gt_policy fallback;
		gt_policy_defaults(&fallback);
		hook_confine(&fallback, GT_PHASE_TUNE);
		gt_tune_id(in.data, in.len, tune.id, sizeof(tune.id));
	}
	ev.outcome = gt_outcome_name(outcome);
	ev.id = tune.id;
	if (err != NULL)
		ev.error = gt_err_msg(err);

	const char *out = tune.changed ? tune.out.data : in.data;
	size_t out_len = tune.changed ? tune.out.len : in.len;
	cleanup_err gt_err_t werr = NULL;
	int rc = gt_write_all(STDOUT_FILENO, out != NULL ? out : "", out != NULL ? out_len : 0, &werr);
	/* An input over the bound is still passed through whole. */
	if (rc == 0 && too_big && in.data != NULL)
		rc = gt_copy_fd(STDIN_FILENO, STDOUT_FILENO, &werr);
	ev.ms = gt_elapsed_ms(&t0);
	gt_log_event(&ev, policy.log_file);
	gt_counters_count(policy.metrics_file, GT_COUNT_CONTAINER, "precreate", outcome, policy.sha256);
	if (rc < 0) {
		gt_log(LOG_ERR, "precreate: writing the spec: %s", gt_err_msg(werr));
		return 1;
	}
	return err != NULL && strict ? 1 : 0;
}
