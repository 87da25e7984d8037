#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "confine.h"
#include "hook.h"
#include "log.h"

const char *hook_policy_path(const char *explicit_path, bool *missing_ok)
{
	/* The only variable gotune reads, and only when not setuid-tainted:
	 * engines that cannot pass arguments (ctr --runc-binary) still need
	 * a way to name a policy. */
	const char *path = explicit_path != NULL ? explicit_path : secure_getenv("GOTUNE_POLICY");
	*missing_ok = path == NULL || path[0] == '\0';
	return *missing_ok ? GT_POLICY_DEFAULT_PATH : path;
}

int hook_load_policy(const char *explicit_path, struct gt_policy *p, gt_err_t *err)
{
	gt_policy_defaults(p);
	bool missing_ok;
	const char *path = hook_policy_path(explicit_path, &missing_ok);
	return gt_policy_load(p, path, missing_ok, err);
}

void hook_confine(const struct gt_policy *p, int phase)
{
	if (!p->confine)
		return;
	gt_err_t err = NULL;
	if (gt_confine((enum gt_phase)phase, &err) < 0)
		gt_log(LOG_WARNING, "%s; going on unconfined", gt_err_msg(err));
	gt_err_free(&err);
}

int hook_policy_option(int argc, char *argv[], const char *usage, const char **policy_path)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': *policy_path = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	return -1;
}
