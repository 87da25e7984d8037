/* gotune-hook: one binary, one command per entry point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hook.h"
#include "log.h"
#include "policy.h"

#ifndef GOTUNE_VERSION
#define GOTUNE_VERSION "unknown"
#endif

static const char help[] =
	"gotune-hook " GOTUNE_VERSION " - make Go programs in containers respect their CPU and memory limits\n"
	"\n"
	"gotune reads a container's OCI spec (config.json), derives the CPU and memory the container\n"
	"really has from linux.resources, and adds GOMAXPROCS and GOMEMLIMIT (and, by policy, GOGC\n"
	"and GODEBUG keys) to process.env before the runtime starts the container. Variables the\n"
	"spec already sets are kept. Any error of gotune's leaves the spec unchanged (fail-open).\n"
	"\n"
	"usage: gotune-hook COMMAND [OPTIONS]\n"
	"\n"
	"commands:\n"
	"  precreate            Podman hooks.d stage \"precreate\": spec on stdin, tuned spec on stdout\n"
	"                       (the container's process only: podman exec runs untuned; the runtime\n"
	"                       wrapper, podman --runtime gotune-runc, tunes exec too)\n"
	"  runtime [--runtime PATH] -- ARGS...\n"
	"                       act as runc/crun: tune <bundle>/config.json on create/run, give an\n"
	"                       exec'd process the container's tuning, then exec the real runtime\n"
	"                       (also installed as gotune-runc and gotune-crun, which take the\n"
	"                       runtime's own command line); an exec finds the tuning in a record\n"
	"                       written at create (run directory, see --version), used only once\n"
	"                       runc's or crun's own state proves it is that container's, else in\n"
	"                       `RUNTIME state`\n"
	"  prestart             OCI hook (prestart or createRuntime; state JSON on stdin): warm the\n"
	"                       page cache with the entrypoint's recorded working set or listed files\n"
	"                       (by policy, the entrypoint and its libraries), start a recorder for\n"
	"                       gotune.io/record=true, and log whether the env got what the plan wanted\n"
	"  prewarm --root DIR [--mode willneed|populate|background|off] [--entry ARG0] [PATH...]\n"
	"                       warm files by hand inside DIR and print the residency report\n"
	"  record | poststart   OCI hook: with gotune.io/record=true, record the pages the container\n"
	"                       touches from its exec (poststart: from now); prestart replays them and\n"
	"                       records too, and gotune-runc records without a hook, so beside either\n"
	"                       this hook is not needed; after 3 recordings that add nothing new, no\n"
	"                       more are made\n"
	"  profile record --bundle DIR --pid PID | profile key --bundle DIR | profile show FILE\n"
	"                       record by hand, name a bundle's profile (SHA-256 of its entrypoint\n"
	"                       and the image), or print one\n"
	"  nri [--socket PATH] [--name NAME] [--idx NN]\n"
	"                       run as an NRI plugin for containerd >= 1.7 and CRI-O >= 1.26: add the\n"
	"                       tuned variables to each container the runtime creates (long-running)\n"
	"  nri-install [--plugin-dir DIR] [--conf-dir DIR] [--policy FILE] [--check]\n"
	"                       link gotune into the runtime's NRI plugin dir and check that it starts\n"
	"                       and registers there before the runtime is restarted; warns about a\n"
	"                       containerd config whose CRI runtime lost its runtime_type\n"
	"  nri-status [--status FILE]\n"
	"                       the NRI plugin's readiness (nri --status FILE): exit 0 when it is\n"
	"                       registered with its policy file as it is now in force\n"
	"  doctor [--json] [--root DIR] [--since TIME]\n"
	"                       check this host: the policy, each engine and whether it is wired\n"
	"                       to gotune, the state directory, where lines go, recent decisions;\n"
	"                       exit 1 on any error\n"
	"  confine-check [tune|prewarm|record|wrap|hook]\n"
	"                       apply a phase's confinement (seccomp, no_new_privs, capabilities)\n"
	"                       and show what the kernel reports and what is refused\n"
	"  plan [SPEC]          show the limits found and where each came from, each variable's\n"
	"                       decision and reason, and the resulting env; SPEC is a file, '-'\n"
	"                       for stdin, or --bundle DIR (default ./config.json)\n"
	"\n";

/* Split in parts: C11 promises string literals of 4095 bytes only. */
static const char help_options[] =
	"options:\n"
	"  --policy FILE        policy file (default $GOTUNE_POLICY, else /etc/gotune/policy.json;\n"
	"                       a missing default file means built-in defaults)\n"
	"  --runtime PATH       (runtime) the real runtime; default: policy \"runtime\", else runc,\n"
	"                       then crun, on PATH\n"
	"  --json               (plan) machine-readable output\n"
	"  --host-cpus N        (plan) plan as if the host had N online CPUs (this host's cgroups\n"
	"                       and mounts are then not read)\n"
	"  --cgroupfs DIR       (plan) read pod cgroups from DIR (a copy of a v2 tree, or of v1\n"
	"                       controller directories) instead of this host's\n"
	"  --mountinfo FILE     (plan) the mount table to find tmpfs mounts in (default\n"
	"                       /proc/self/mountinfo)\n"
	"  -h, --help           this help;  -V, --version  the version\n"
	"\n";

static const char help_rules[] =
	"default rules:\n"
	"  GOMAXPROCS = ceil(cpu.quota / cpu.period), at least 1, set only when below the CPUs the\n"
	"               container can use (its cpuset, else its pod cgroup's, else the host's\n"
	"               online CPUs)\n"
	"  GOMEMLIMIT = floor(memory.limit x 0.9), written as Go parses it (e.g. 180MiB);\n"
	"               0.9 x memory.high when that is lower; sized tmpfs volumes taken out\n"
	"               first (gomemlimit.tmpfs), never below half of 0.9 x limit\n"
	"  limits come from linux.resources, then linux.resources.unified over it (memory.max,\n"
	"  memory.high, cpu.max, cpu.weight: runc and crun write it last), then the pod's: the\n"
	"  cgroup parent of linux.cgroupsPath on the host (NRI: the pod's resources), where the\n"
	"  container has none or a higher one (policy pod_limits)\n"
	"  a GOMEMLIMIT Go would abort on, or a GOMAXPROCS/GOGC Go ignores, is kept and\n"
	"  reported (policy fix_invalid replaces one that would abort); of a variable set\n"
	"  twice in process.env the last counts, as runc and crun apply them in order\n"
	"  Go >= 1.25 sets GOMAXPROCS from the quota itself (at least 2) and tracks it; an explicit\n"
	"  value turns that off, so for such an entrypoint GOMAXPROCS is set only when the quota\n"
	"  is below 2 CPUs (policy gomaxprocs.tracking: defer | below-floor | always)\n"
	"\n"
	"per-container annotations:\n"
	"  gotune.io/disable=true        leave this container alone\n"
	"  gotune.io/mode=audit          plan and log what would be set, change nothing\n"
	"  gotune.io/gomaxprocs=off|on   gotune.io/gomemlimit=off|on\n"
	"  gotune.io/memory-ratio=0.8    a plain decimal in (0, 1]: 0.8, .8, 1 (no sign, exponent, spaces)\n"
	"  gotune.io/rounding=ceil|floor\n"
	"  gotune.io/gomaxprocs-tracking=defer|below-floor|always\n"
	"  gotune.io/gogc=off|N          N an integer; negative means off, as Go reads GOGC=-1\n"
	"  gotune.io/godebug=key=value,key2=value2\n"
	"  gotune.io/prewarm=off|willneed|populate|background\n"
	"  gotune.io/prewarm-files=/path/in/rootfs,/other\n"
	"  gotune.io/record=true         record this container's start-up working set (prestart hook)\n"
	"  under NRI, the pod annotation KEY.gotune.io/container.NAME is gotune.io/KEY for the\n"
	"  container NAME alone (Kubernetes has no per-container annotations)\n"
	"\n"
	"examples:\n"
	"  gotune-hook plan --bundle /run/containerd/io.containerd.runtime.v2.task/k8s.io/ID\n"
	"  gotune-hook runtime --runtime /usr/sbin/runc -- run --bundle ./mybundle demo\n"
	"  podman --hooks-dir /usr/local/share/gotune/podman-hooks.d run --cpus 0.5 --memory 200m IMAGE\n"
	"  gotune-hook doctor --since 1h\n"
	"\n"
	"A broken policy, an unknown gotune.io/ annotation or a bad value is named (file:line:column,\n"
	"the key meant) in plan, in doctor and in each container's log line, at warning level.\n"
	"Policy \"mode\": \"audit\" changes nothing and logs what it would set; \"metrics\": {\"file\":\n"
	"PATH} keeps Prometheus counters of what gotune did (node_exporter's textfile collector).\n"
	"\n"
	"Every command takes --help. See gotune-hook(8) for the policy keys, setup for each engine,\n"
	"and logging.\n";

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s != NULL ? s + 1 : p;
}

int main(int argc, char *argv[])
{
	gt_log_init();
	const char *self = base_name(argv[0]);
	/* Installed as gotune-runc / gotune-crun, the command line is the
	 * runtime's, and the name says which runtime to prefer. */
	if (strncmp(self, "gotune-", 7) == 0 && strcmp(self, "gotune-hook") != 0)
		return cmd_runtime_direct(argc, argv, strcmp(self + 7, "crun") == 0 ? "crun" : "runc");

	/* The runtime starts plugins from its plugin dir (/opt/nri/plugins/
	 * NN-gotune, a link to this binary) with no arguments and the
	 * connection on NRI_PLUGIN_SOCKET. */
	if (argc < 2 && getenv("NRI_PLUGIN_SOCKET") != NULL)
		return cmd_nri(argc, argv);
	if (argc < 2) {
		fputs(help, stderr);
		fputs(help_options, stderr);
		fputs(help_rules, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(help, stdout);
		fputs(help_options, stdout);
		fputs(help_rules, stdout);
		return 0;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("gotune-hook %s\nstate directory %s\nrun directory %s\n", GOTUNE_VERSION, GT_STATE_DIR, GT_RUN_DIR);
		return 0;
	}
	if (strcmp(cmd, "precreate") == 0)
		return cmd_precreate(argc - 1, argv + 1);
	if (strcmp(cmd, "runtime") == 0)
		return cmd_runtime(argc - 1, argv + 1);
	if (strcmp(cmd, "plan") == 0)
		return cmd_plan(argc - 1, argv + 1);
	if (strcmp(cmd, "prestart") == 0 || strcmp(cmd, "createRuntime") == 0)
		return cmd_prestart(argc - 1, argv + 1);
	if (strcmp(cmd, "prewarm") == 0)
		return cmd_prewarm(argc - 1, argv + 1);
	if (strcmp(cmd, "record") == 0 || strcmp(cmd, "poststart") == 0)
		return cmd_record(argc - 1, argv + 1);
	if (strcmp(cmd, "profile") == 0)
		return cmd_profile(argc - 1, argv + 1);
	if (strcmp(cmd, "nri") == 0)
		return cmd_nri(argc - 1, argv + 1);
	if (strcmp(cmd, "nri-install") == 0)
		return cmd_nri_install(argc - 1, argv + 1);
	if (strcmp(cmd, "nri-status") == 0)
		return cmd_nri_status(argc - 1, argv + 1);
	if (strcmp(cmd, "doctor") == 0)
		return cmd_doctor(argc - 1, argv + 1);
	if (strcmp(cmd, "confine-check") == 0)
		return cmd_confine_check(argc - 1, argv + 1);
	fprintf(stderr, "gotune-hook: unknown command \"%s\"; see gotune-hook --help\n", cmd);
	return 2;
}
