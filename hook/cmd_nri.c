/* `gotune-hook nri`: a long-running NRI plugin. The runtime asks it about
 * every container it creates (containerd >= 1.7, CRI-O >= 1.26) and gets an
 * env adjustment from the same plan as every other entry point. This
 * adapter reads the command line, the runtime's environment and the
 * policy, drops privileges and hands over to lib/nri/session. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "fileio.h"
#include "hook.h"
#include "hostinfo.h"
#include "event.h"
#include "log.h"
#include "session.h"
#include "status.h"

#define DEFAULT_SOCKET "/var/run/nri/nri.sock"
#define DEFAULT_NAME "gotune"
#define DEFAULT_IDX "50"

static const char usage[] =
	"usage: gotune-hook nri [--socket PATH] [--name NAME] [--idx NN] [--policy FILE] [--status FILE]\n"
	"                       [--cgroupfs DIR]\n"
	"\n"
	"Runs as an NRI plugin: registers with the container runtime and, for every container it\n"
	"creates, adds GOMAXPROCS / GOMEMLIMIT (and GOGC / GODEBUG by policy) that the container\n"
	"does not set itself. The policy is the runtime's plugin config when it sends one, else\n"
	"the policy file. Runs until SIGTERM; when the runtime restarts it dials again every 0.1 s\n"
	"for 10 s, then with backoff. Two at once (a DaemonSet rolling with maxSurge) never tune\n"
	"a container twice: the one NRI calls second finds the first's gotune.io/env record in\n"
	"the request and answers with no change.\n"
	"Started by the runtime from its plugin dir (NRI_PLUGIN_SOCKET set), it serves the\n"
	"connection it was given and exits when the runtime closes it.\n"
	"An in-place resize (UpdateContainer) changes nothing: a running process keeps its env.\n"
	"The plugin logs once what went stale; restart the container to retune it.\n"
	"Pod annotation KEY.gotune.io/container.NAME: gotune.io/KEY for container NAME alone.\n"
	"A pod's limits count where its cgroup enforces them: the plugin reads the pod's cgroup\n"
	"(the kubelet creates it first) from the host's cgroup filesystem. In a DaemonSet, mount\n"
	"the host's /sys/fs/cgroup and name it with --cgroupfs; without it pod-level limits are\n"
	"not counted (the kubelet's pod resources are the sum of the limits containers declare,\n"
	"which the pod cgroup enforces only when every container declares one).\n"
	"The policy file is read again when it changes (a ConfigMap edit: no restart); a broken\n"
	"new text leaves the last good policy in force and says so at warning level. An invalid\n"
	"policy at start: the plugin does not register until the file is fixed (a plugin the\n"
	"runtime starts registers with the built-in defaults instead, and says why).\n"
	"\n"
	"  --socket PATH   the runtime's NRI socket (default " DEFAULT_SOCKET ")\n"
	"  --name NAME     plugin name (default " DEFAULT_NAME ")\n"
	"  --idx NN        two-digit plugin index; lower runs first (default " DEFAULT_IDX ")\n"
	"  --policy FILE   policy file (default $GOTUNE_POLICY, else /etc/gotune/policy.json)\n"
	"  --status FILE   keep the plugin's state here for `gotune-hook nri-status` (a readiness\n"
	"                  probe) and `gotune-hook doctor`: ready when registered with the\n"
	"                  policy file as it is now in force\n"
	"  --cgroupfs DIR  the host's cgroup filesystem as mounted here (default: this process's\n"
	"                  cgroup mounts, which in a container show only its own cgroup)\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* The plugin needs no privilege after start: the socket is root's and we
 * are root by uid. Dropping every capability limits what a bug in the
 * request decoder could be turned into. */
static void drop_privileges(const struct gt_policy *p)
{
	if (!p->confine)
		return;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		gt_log(LOG_WARNING, "nri: no_new_privs: %s", strerror(errno));
	cap_t none = cap_init();
	if (none == NULL || cap_set_proc(none) < 0)
		gt_log(LOG_WARNING, "nri: dropping capabilities: %s", strerror(errno));
	if (none != NULL)
		cap_free(none);
}

static bool valid_idx(const char *s)
{
	return strlen(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9';
}

int cmd_nri(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "name", required_argument, NULL, 'n' },
		{ "idx", required_argument, NULL, 'i' },    { "policy", required_argument, NULL, 'p' },
		{ "status", required_argument, NULL, 'S' }, { "cgroupfs", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_path = DEFAULT_SOCKET, *policy_path = NULL, *cgroupfs = NULL;
	struct gt_nri_plugin pl = { .name = DEFAULT_NAME, .idx = DEFAULT_IDX, .stop = &stop };
	/* Started by the runtime: it names us and hands over a connected fd. */
	const char *env_fd = secure_getenv("NRI_PLUGIN_SOCKET");
	const char *env_name = secure_getenv("NRI_PLUGIN_NAME"), *env_idx = secure_getenv("NRI_PLUGIN_IDX");
	if (env_idx != NULL && env_idx[0] != '\0')
		pl.idx = env_idx;
	if (env_name != NULL && env_name[0] != '\0') {
		/* NRI up to v0.4 (containerd 1.7, CRI-O 1.26) passes the file
		 * name, index included ("50-gotune"); later versions the name
		 * alone. Registered as both, it read "50-50-gotune". */
		size_t n = strlen(pl.idx);
		pl.name = strncmp(env_name, pl.idx, n) == 0 && env_name[n] == '-' && env_name[n + 1] != '\0'
				  ? env_name + n + 1
				  : env_name;
	}
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'n':
			pl.name = optarg;
			break;
		case 'i':
			pl.idx = optarg;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 'g':
			cgroupfs = optarg;
			break;
		case 'S':
			pl.status_file = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc || !valid_idx(pl.idx) || pl.name[0] == '\0' || strchr(pl.name, '/') != NULL) {
		fprintf(stderr, "gotune-hook nri: %s\n%s",
			optind < argc ? "unexpected argument" : "--idx must be two digits and --name a plain name",
			usage);
		return 2;
	}
	/* A daemon's log is its stderr (the DaemonSet's container log). A
	 * plugin the runtime starts has stderr on /dev/null (NRI v0.4):
	 * it keeps the default, syslog when there is one. */
	if (env_fd == NULL || env_fd[0] == '\0')
		gt_log_to_stderr();
	gt_log_mirror("nri");

	cleanup_err gt_err_t err = NULL;
	bool runtime_started = env_fd != NULL && env_fd[0] != '\0';
	pl.watch.path = hook_policy_path(policy_path, &pl.watch.missing_ok);
	gt_nri_policy_seed(&pl);
	gt_policy_defaults(&pl.base);
	pl.watch.ok = hook_load_policy(policy_path, &pl.base, &err) == 0;
	if (!pl.watch.ok) {
		snprintf(pl.watch.error, sizeof(pl.watch.error), "%s", gt_err_msg(err));
		gt_err_free(&err);
		gt_policy_defaults(&pl.base);
		/* Started by the runtime, a plugin that does not register
		 * stops every plugin start on NRI <= v0.6, and containerd
		 * with it: register with the defaults (the runtime's config,
		 * if any, still applies) and say why. An external plugin (a
		 * DaemonSet's) does not register: it stays up, not ready,
		 * says why, and registers once the file is fixed. */
		if (runtime_started) {
			gt_log(LOG_WARNING, "nri: %s; using the built-in defaults", pl.watch.error);
		} else {
			pl.waiting = true;
			gt_log(LOG_ERR, "nri: %s; not registering with the runtime until it is fixed (checked every %d s)",
			       pl.watch.error, GT_NRI_WATCH_MS / 1000);
		}
	}
	pl.policy = pl.base;
	gt_host_init(&pl.host);
	/* The plugin's own affinity says nothing of the runtime's, and the
	 * containers' cgroups are the runtime's to read. */
	pl.host.affinity = 0;
	pl.host.cgroupfs = cgroupfs;
	/* Read at every CreateContainer, the mount table waited seconds on a
	 * node starting 100 pods (k8s-multinode's storm: three reads, 1.5 s in
	 * one, and containerd's 2 s timeout). */
	pl.mounts = (struct gt_mounts_watch)GT_MOUNTS_WATCH_INIT;
	pl.host.mounts_watch = &pl.mounts;
	if (pl.base.log_file[0] != '\0')
		gt_log_mirror_file(pl.base.log_file);

	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART: poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	drop_privileges(&pl.base);
	gt_nri_status_write(&pl);
	while (pl.waiting && !stop) {
		struct timespec ts = { GT_NRI_WATCH_MS / 1000, (GT_NRI_WATCH_MS % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		gt_nri_policy_check(&pl);
	}
	if (stop) {
		gt_nri_status_clear(&pl);
		return 0;
	}

	if (env_fd != NULL && env_fd[0] != '\0') {
		char *tail;
		long fd = strtol(env_fd, &tail, 10);
		if (*tail != '\0' || fd < 0 || fd > 65535) {
			fprintf(stderr, "gotune-hook nri: NRI_PLUGIN_SOCKET=%s is not a file descriptor\n", env_fd);
			return 1;
		}
		return gt_nri_serve_fd(&pl, (int)fd) < 0 ? 1 : 0;
	}
	gt_nri_run(&pl, socket_path);
	return 0;
}
