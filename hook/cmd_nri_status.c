/* `gotune-hook nri-status`: the NRI plugin's readiness, from the state it
 * keeps with --status (lib/nri/status). A DaemonSet's exec readiness
 * probe runs it in the plugin's container: Ready then means registered
 * with the runtime, with the policy file as it is now in force. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "hook.h"
#include "log.h"
#include "status.h"

#define DEFAULT_STATUS "/run/gotune/nri.status"

static const char usage[] =
	"usage: gotune-hook nri-status [--status FILE]\n"
	"\n"
	"Exits 0 when the NRI plugin that keeps FILE (gotune-hook nri --status FILE) runs, is\n"
	"registered with the runtime and has the policy file as it is now in force; else\n"
	"prints why and exits 1. For a readiness probe; default FILE " DEFAULT_STATUS ".\n";

int cmd_nri_status(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = DEFAULT_STATUS;
	int c;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': file = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	gt_log_to_stderr();
	cleanup_err gt_err_t err = NULL;
	struct gt_nri_status st;
	if (gt_nri_status_read(AT_FDCWD, file, &st, &err) < 0) {
		printf("not ready: %s (no plugin keeps it)\n", gt_err_msg(err));
		return 1;
	}
	/* A plugin that died keeps no file up to date. */
	if (kill(st.pid, 0) < 0 && errno == ESRCH) {
		printf("not ready: the plugin (pid %d) is not running\n", (int)st.pid);
		return 1;
	}
	if (!st.ready) {
		printf("not ready: %s\n", st.reason[0] ? st.reason : "(no reason given)");
		return 1;
	}
	printf("ready: registered, policy %s (sha256 %.12s), since %s\n", st.policy,
	       st.policy_sha256[0] ? st.policy_sha256 : "none", st.time);
	return 0;
}
