/* `confine-check`: confines itself for a phase as the hooks do, then shows
 * the result from the kernel's side (/proc/self/status) and tries a few
 * things the allow-list must refuse. For operators checking a kernel, and
 * for the tests. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>

#include "confine.h"
#include "hook.h"

static void status_lines(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "NoNewPrivs:", 11) == 0 || strncmp(line, "Seccomp:", 8) == 0 ||
		    strncmp(line, "CapEff:", 7) == 0 || strncmp(line, "CapPrm:", 7) == 0)
			fputs(line, stdout);
	if (f != NULL)
		fclose(f);
}

static void attempt(const char *what, int ret)
{
	printf("%-16s %s\n", what, ret < 0 ? (errno == EPERM ? "denied" : strerror(errno)) : "allowed");
	fflush(stdout);
}

int cmd_confine_check(int argc, char *argv[])
{
	static const char usage[] =
		"usage: gotune-hook confine-check [tune|prewarm|record|wrap|hook]\n"
		"apply a phase's confinement (seccomp, no_new_privs, capabilities) as the hooks do, print what\n"
		"the kernel reports and try calls the allow-list must refuse (default phase: tune)\n";
	const char *phase = argc > 1 ? argv[1] : "tune";
	if (strcmp(phase, "--help") == 0 || strcmp(phase, "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc > 2) {
		fputs(usage, stderr);
		return 2;
	}
	enum gt_phase ph;
	if (strcmp(phase, "tune") == 0)
		ph = GT_PHASE_TUNE;
	else if (strcmp(phase, "prewarm") == 0)
		ph = GT_PHASE_PREWARM;
	else if (strcmp(phase, "record") == 0)
		ph = GT_PHASE_RECORD;
	else if (strcmp(phase, "wrap") == 0)
		ph = GT_PHASE_WRAP;
	else if (strcmp(phase, "hook") == 0)
		ph = GT_PHASE_HOOK;
	else {
		fputs(usage, stderr);
		return 2;
	}
	if (!gt_confine_available()) {
		printf("confinement: not in this build\n");
		return 0;
	}
	gt_err_t err = NULL;
	if (gt_confine(ph, &err) < 0) {
		printf("confinement: failed: %s\n", gt_err_msg(err));
		gt_err_free(&err);
		return 1;
	}
	printf("confinement: %s phase, violations: %s\n", phase, gt_confine_violation());
	status_lines();
	fflush(stdout);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	attempt("socket(AF_INET)", fd);
	if (fd >= 0)
		close(fd);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	attempt("socket(AF_UNIX)", fd);
	if (fd >= 0)
		close(fd);
	attempt("ptrace", (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	attempt("setuid(0)", setuid(0));
	attempt("chdir", chdir("/"));
	/* wrap allows prctl for PR_SET_SECCOMP and PR_SET_NO_NEW_PRIVS only */
	attempt("prctl(dumpable)", prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
	char *const args[] = { "true", NULL };
	attempt("execve", execv("/bin/true", args));
	return 0;
}
