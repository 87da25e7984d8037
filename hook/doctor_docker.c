/* doctor: Docker Engine. dockerd reads /etc/docker/daemon.json, or the
 * file its --config-file names; a "runtimes" entry whose path is gotune's
 * wires gotune in, for `docker run --runtime NAME` or, as
 * "default-runtime", for every container. A runtime whose binary is gone
 * fails every container that uses it ("fork/exec PATH: no such file or
 * directory"), and a default-runtime that names no runtime keeps dockerd
 * from starting (daemon/config: "specified default runtime ... does not
 * exist"). */
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "json.h"

#define MAX_CONFIGS 8

struct configs {
	size_t n;
	char path[MAX_CONFIGS][512];
	char who[MAX_CONFIGS][64];
};

static void add(struct configs *c, const char *path, const char *who)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->path[i], path) == 0)
			return;
	if (c->n < MAX_CONFIGS && strlen(path) < sizeof(c->path[0])) {
		snprintf(c->path[c->n], sizeof(c->path[0]), "%s", path);
		snprintf(c->who[c->n], sizeof(c->who[0]), "%s", who);
		c->n++;
	}
}

static void running(struct doctor *d, int pid, const char *const *argv, int argc, void *ctx)
{
	(void)d;
	char who[64];
	snprintf(who, sizeof(who), "dockerd pid %d", pid);
	const char *cf = doctor_arg(argv, argc, "--config-file", NULL);
	add(ctx, cf != NULL && cf[0] == '/' ? cf : "/etc/docker/daemon.json", who);
}

/* Docker's own runtimes need no entry. */
static bool builtin(const char *name)
{
	return strcmp(name, "runc") == 0 || strcmp(name, "io.containerd.runc.v2") == 0 ||
	       strcmp(name, "io.containerd.runtime.v1.linux") == 0;
}

static void check(struct doctor *d, const char *path, const char *who)
{
	static const char s[] = "docker";
	cleanup_buf struct gt_buf buf = { 0 };
	cleanup_err gt_err_t err = NULL;
	if (doctor_read(d, path, &buf, &err) < 0) {
		doctor_say(d, s, DOCTOR_INFO, "%s: %s: no gotune runtime", who, gt_err_msg(err));
		return;
	}
	cleanup_yajl yajl_val tree = NULL;
	if (gt_json_parse(buf.data, buf.len, path, &tree, &err) < 0) {
		doctor_say(d, s, DOCTOR_ERROR, "%s: %s: dockerd does not start with it", who, gt_err_msg(err));
		return;
	}
	yajl_val runtimes = NULL, def = NULL;
	gt_json_get(tree, "runtimes", &runtimes);
	gt_json_get(tree, "default-runtime", &def);
	const char *dflt = YAJL_IS_STRING(def) ? YAJL_GET_STRING(def) : NULL;
	bool dflt_found = dflt == NULL || builtin(dflt), wired = false;
	for (size_t i = 0; YAJL_IS_OBJECT(runtimes) && i < runtimes->u.object.len && i < 64; i++) {
		const char *name = runtimes->u.object.keys[i];
		yajl_val rt = runtimes->u.object.values[i], p = NULL, args = NULL;
		bool is_default = dflt != NULL && strcmp(name, dflt) == 0;
		dflt_found |= is_default;
		if (gt_json_get(rt, "path", &p) != 1 || !YAJL_IS_STRING(p) || !doctor_is_gotune(YAJL_GET_STRING(p)))
			continue;
		const char *bin = YAJL_GET_STRING(p);
		char why[200];
		if (!doctor_executable(d, bin, why, sizeof(why))) {
			doctor_say(d, s, DOCTOR_ERROR,
				   "%s: %s: runtime \"%s\" is %s, which is not there (%s): %s fails (\"fork/exec %s: no "
				   "such file or directory\"); reinstall gotune, or take it out of daemon.json%s and reload "
				   "dockerd (README: Uninstall, Docker)",
				   who, path, name, bin, why, is_default ? "every docker run" : "docker run --runtime with it",
				   bin, is_default ? " with \"default-runtime\": \"runc\"" : "");
			continue;
		}
		gt_json_get(rt, "runtimeArgs", &args);
		const char *policy = NULL;
		size_t na = YAJL_IS_ARRAY(args) ? args->u.array.len : 0;
		yajl_val *av = na > 0 ? args->u.array.values : NULL;
		bool hook_form = na > 0 && YAJL_IS_STRING(av[0]) && strcmp(av[0]->u.string, "runtime") == 0;
		for (size_t k = 0; k + 1 < na && k < 64; k++)
			if (YAJL_IS_STRING(av[k]) && strcmp(av[k]->u.string, "--policy") == 0 && YAJL_IS_STRING(av[k + 1]))
				policy = av[k + 1]->u.string;
		const char *base = strrchr(bin, '/');
		if (base != NULL && strcmp(base + 1, "gotune-hook") == 0 && !hook_form) {
			doctor_say(d, s, DOCTOR_ERROR,
				   "%s: runtime \"%s\" runs gotune-hook without runtimeArgs [\"runtime\", ..., \"--\"]: "
				   "gotune-hook then takes runc's arguments for its own command and every container fails",
				   who, name);
			continue;
		}
		wired = true;
		if (is_default)
			doctor_say(d, s, DOCTOR_OK,
				   "%s: %s: runtime \"%s\" is %s, the default-runtime: every container goes through gotune",
				   who, path, name, bin);
		else
			doctor_say(d, s, DOCTOR_OK, "%s: %s: runtime \"%s\" is %s: containers run with --runtime %s", who,
				   path, name, bin, name);
		if (policy != NULL) {
			char label[128];
			snprintf(label, sizeof(label), "%s: runtime \"%s\"", who, name);
			doctor_policy_file(d, s, policy, label);
		}
	}
	if (!dflt_found)
		doctor_say(d, s, DOCTOR_ERROR,
			   "%s: %s: \"default-runtime\": \"%s\" names no runtime in \"runtimes\": dockerd does not start "
			   "(remove it, or set it to \"runc\")",
			   who, path, dflt);
	else if (!wired)
		doctor_say(d, s, DOCTOR_INFO,
			   "%s: %s: not wired: no runtime points at gotune-runc (README: Docker)", who, path);
}

void doctor_docker(struct doctor *d)
{
	struct configs c = { 0 };
	doctor_processes(d, "dockerd", running, &c);
	if (doctor_exists(d, "/etc/docker/daemon.json"))
		add(&c, "/etc/docker/daemon.json", "dockerd");
	bool installed = doctor_exists(d, "/usr/sbin/dockerd") || doctor_exists(d, "/usr/bin/dockerd");
	if (c.n == 0 && installed)
		doctor_say(d, "docker", DOCTOR_INFO,
			   "dockerd installed, no /etc/docker/daemon.json: not wired (README: Docker)");
	for (size_t i = 0; i < c.n; i++)
		check(d, c.path[i], c.who[i]);
}
