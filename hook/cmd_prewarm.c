/* `prewarm`: warm files by hand inside a root directory and print the
 * residency report, the same engine the prestart hook uses. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "closure.h"
#include "confine.h"
#include "hook.h"
#include "log.h"
#include "pwreport.h"
#include "report.h"
#include "warmset.h"

static const char usage[] =
	"usage: gotune-hook prewarm --root DIR [--mode willneed|populate|background|off] [--policy FILE]\n"
	"                           [--entry ARG0] [PATH...]\n"
	"  PATHs (files, or directories: their regular files) and the closure of --entry are\n"
	"  resolved inside DIR as the container would see them.\n";

int cmd_prewarm(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "mode", required_argument, NULL, 'm' },
		{ "entry", required_argument, NULL, 'e' },
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *root_dir = NULL, *mode_name = NULL, *entry = NULL, *policy_path = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "r:m:e:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': root_dir = optarg; break;
		case 'm': mode_name = optarg; break;
		case 'e': entry = optarg; break;
		case 'p': policy_path = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (root_dir == NULL || (optind == argc && entry == NULL)) {
		fputs(usage, stderr);
		return 2;
	}
	gt_log_to_stderr();
	cleanup_err gt_err_t err = NULL;
	struct gt_policy policy;
	if (hook_load_policy(policy_path, &policy, &err) < 0) {
		fprintf(stderr, "gotune-hook prewarm: %s\n", gt_err_msg(err));
		return 1;
	}
	hook_confine(&policy, GT_PHASE_PREWARM);
	struct gt_prewarm_settings pw = policy.settings.prewarm;
	if (mode_name != NULL && gt_pw_mode_parse(mode_name, &pw.mode) < 0) {
		fprintf(stderr, "gotune-hook prewarm: unknown mode %s\n", mode_name);
		return 2;
	}
	struct gt_rootfs root;
	if (gt_rootfs_open(&root, root_dir, &err) < 0) {
		fprintf(stderr, "gotune-hook prewarm: %s\n", gt_err_msg(err));
		return 1;
	}
	struct gt_pw_set set = { 0 };
	struct gt_notes notes = { 0 };
	int rc = 0;
	if (entry != NULL) {
		struct gt_entry e = { .arg0 = entry };
		rc = gt_closure_add(&set, &root, &e, &notes, &err);
	}
	for (int i = optind; rc == 0 && i < argc; i++)
		rc = gt_warmset_add_path(&set, &root, argv[i], pw.budget.max_files, &notes, &err);
	struct gt_pw_report rep;
	if (rc == 0)
		rc = gt_prewarm(&set, pw.mode, &pw.budget, &rep, &err);
	if (rc == 0)
		gt_pw_table(&set, &rep, stdout);
	for (size_t i = 0; i < notes.n; i++)
		printf("warning: %s\n", notes.text[i]);
	if (rc < 0)
		fprintf(stderr, "gotune-hook prewarm: %s\n", gt_err_msg(err));
	gt_pw_set_free(&set);
	gt_rootfs_close(&root);
	return rc < 0 ? 1 : 0;
}
