/* `gotune-hook doctor`: checks this host (or a copy of one, --root DIR)
 * and says what it found: the policy, each engine and whether it is wired
 * to gotune, a wiring that points at a gotune binary that is not there,
 * the state directory, where lines go, and the last decisions. Exit 1 on
 * any error: a gotune that is quietly doing nothing, or an engine that
 * fails containers because of gotune, is an error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>

#include "doctor.h"
#include "hook.h"
#include "json.h"
#include "log.h"
#include "statedir.h"

#ifndef GOTUNE_VERSION
#define GOTUNE_VERSION "unknown"
#endif

static const char usage[] =
	"usage: gotune-hook doctor [--json] [--root DIR] [--policy FILE] [--since TIME]\n"
	"\n"
	"Checks this host and exits 1 on any error:\n"
	"  - the policy (" GT_POLICY_DEFAULT_PATH ", --policy FILE or $GOTUNE_POLICY): valid or not,\n"
	"    with file:line:column and the key;\n"
	"  - each engine found and whether it is wired to gotune: Docker's daemon.json runtimes,\n"
	"    containerd's runtime BinaryName and NRI (enabled, the gotune plugin registered),\n"
	"    CRI-O's runtimes, NRI and hooks directories, Podman's hooks directories and\n"
	"    runtime, the hooks.d drop-ins; running daemons' own config files too;\n"
	"  - any engine setting that points at a gotune binary that is not there (after an\n"
	"    uninstall: every container of that engine fails);\n"
	"  - the state directory, where log lines go, the counters file;\n"
	"  - the decisions logged since TIME (default 24h; 30m, 2d, or 2026-12-01T08:00:00Z), by\n"
	"    entry point and outcome, and the last ones.\n"
	"\n"
	"  --json        one JSON object instead of text\n"
	"  --root DIR    check DIR as the host's root (a copy of its /etc, /usr, /var, /opt, /run);\n"
	"                running daemons are then not looked for\n";

static int parse_since(const char *s, time_t now, time_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end != s && v >= 0 && end[0] != '\0' && end[1] == '\0') {
		long mult = end[0] == 's' ? 1 : end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400 : 0;
		if (mult > 0 && v < 100L * 365 * 86400 / mult) {
			*out = now - v * mult;
			return 0;
		}
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL) {
		memset(&tm, 0, sizeof(tm));
		rest = strptime(s, "%Y-%m-%d", &tm);
	}
	if (rest == NULL || (rest[0] != '\0' && strcmp(rest, "Z") != 0))
		return -1;
	*out = timegm(&tm);
	return 0;
}

static const char *level_word(enum doctor_level l)
{
	switch (l) {
	case DOCTOR_OK: return "ok";
	case DOCTOR_INFO: return "info";
	case DOCTOR_WARN: return "warning";
	case DOCTOR_ERROR: return "error";
	}
	return "?";
}

static void since_text(time_t t, char *out, size_t outsz)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_text(const struct doctor *d, unsigned errors, unsigned warnings)
{
	printf("gotune-hook doctor %s: root %s, state directory %s\n", GOTUNE_VERSION, d->root_path, GT_STATE_DIR);
	const char *section = "";
	for (size_t i = 0; i < d->n; i++) {
		if (strcmp(section, d->f[i].section) != 0) {
			section = d->f[i].section;
			printf("\n%s\n", section);
		}
		printf("  %-8s%s\n", level_word(d->f[i].level), d->f[i].msg);
	}
	char since[32];
	since_text(d->since, since, sizeof(since));
	printf("\ndecisions since %s%s%s\n", since, d->decisions_from[0] ? " from " : "", d->decisions_from);
	if (d->n_counts == 0)
		printf("  none logged\n");
	for (size_t i = 0; i < d->n_counts; i++) {
		if (i == 0 || strcmp(d->counts[i].entry, d->counts[i - 1].entry) != 0)
			printf("%s  %-15s ", i ? "\n" : "", d->counts[i].entry);
		else
			printf(", ");
		printf("%s %lu", d->counts[i].outcome, d->counts[i].n);
	}
	if (d->n_counts > 0)
		printf("\n");
	for (size_t i = 0; i < d->n_last; i++)
		printf("  %s %.220s\n", i == 0 ? "last:" : "     ", d->last[i]);
	if (d->dropped > 0)
		printf("\n(%zu more findings not shown)\n", d->dropped);
	printf("\n%u error%s, %u warning%s\n", errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
}

static void print_json(const struct doctor *d, unsigned errors, unsigned warnings)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g == NULL)
		return;
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	gt_gen_kv(g, "version", GOTUNE_VERSION);
	gt_gen_kv(g, "root", d->root_path);
	gt_gen_kv(g, "state_dir", GT_STATE_DIR);
	gt_gen_str(g, "findings");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < d->n; i++) {
		yajl_gen_map_open(g);
		gt_gen_kv(g, "section", d->f[i].section);
		gt_gen_kv(g, "level", level_word(d->f[i].level));
		gt_gen_kv(g, "message", d->f[i].msg);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	gt_gen_str(g, "decisions");
	yajl_gen_map_open(g);
	char since[32];
	since_text(d->since, since, sizeof(since));
	gt_gen_kv(g, "since", since);
	gt_gen_kv(g, "from", d->decisions_from);
	gt_gen_str(g, "counts");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < d->n_counts; i++) {
		yajl_gen_map_open(g);
		gt_gen_kv(g, "entry", d->counts[i].entry);
		gt_gen_kv(g, "outcome", d->counts[i].outcome);
		gt_gen_str(g, "count");
		yajl_gen_integer(g, (long long)d->counts[i].n);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	gt_gen_str(g, "last");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < d->n_last; i++)
		gt_gen_str(g, d->last[i]);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	gt_gen_str(g, "errors");
	yajl_gen_integer(g, errors);
	gt_gen_str(g, "warnings");
	yajl_gen_integer(g, warnings);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		fwrite(buf, 1, len, stdout);
	yajl_gen_free(g);
}

int cmd_doctor(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },	     { "root", required_argument, NULL, 'r' },
		{ "policy", required_argument, NULL, 'p' }, { "since", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },	     { NULL, 0, NULL, 0 },
	};
	static struct doctor d;
	memset(&d, 0, sizeof(d));
	d.root_path = "/";
	bool json = false;
	const char *since = "24h";
	int c;
	while ((c = getopt_long(argc, argv, "jr:p:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'r': d.root_path = optarg; break;
		case 'p': d.policy_path = optarg; break;
		case 's': since = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	gt_log_to_stderr();
	if (parse_since(since, time(NULL), &d.since) < 0) {
		fprintf(stderr, "gotune-hook doctor: --since %s: want 30m, 24h, 2d, or 2026-12-01T08:00:00Z\n", since);
		return 2;
	}
	cleanup_err gt_err_t err = NULL;
	if (gt_rootfs_open(&d.root, d.root_path, &err) < 0) {
		fprintf(stderr, "gotune-hook doctor: --root %s: %s\n", d.root_path, gt_err_msg(err));
		return 2;
	}
	d.host = strcmp(d.root_path, "/") == 0;

	doctor_policy(&d);
	doctor_docker(&d);
	doctor_containerd(&d);
	doctor_crio(&d);
	doctor_podman(&d);
	doctor_nri(&d);
	doctor_state(&d);

	unsigned errors = 0, warnings = 0;
	for (size_t i = 0; i < d.n; i++) {
		errors += d.f[i].level == DOCTOR_ERROR;
		warnings += d.f[i].level == DOCTOR_WARN;
	}
	if (json)
		print_json(&d, errors, warnings);
	else
		print_text(&d, errors, warnings);
	for (size_t i = 0; i < d.n; i++)
		free(d.f[i].msg);
	gt_rootfs_close(&d.root);
	return errors > 0 ? 1 : 0;
}
