/* doctor: Podman. It reads containers.conf (/usr/share/containers/, then
 * /etc/containers/, then the .conf files of /etc/containers/containers.conf.d):
 * [engine] hooks_dir (default /usr/share/containers/oci/hooks.d, with
 * /etc/containers/oci/hooks.d over it; containers/common
 * DefaultHooksDirs), runtime and [engine.runtimes]. gotune tunes Podman's
 * containers from a precreate drop-in in a hooks directory it reads (the
 * shipped one is passed with --hooks-dir, which nothing on disk shows) or
 * as the runtime (gotune-runc). */
#include <stdio.h>
#include <string.h>

#include "doctor.h"

#ifndef GOTUNE_DATA_DIR
#define GOTUNE_DATA_DIR "/usr/local/share/gotune"
#endif

struct cfg {
	size_t n_hooks;
	char hooks[DOCTOR_TOML_ITEMS][512];
	char runtime[256];
	size_t n_rt;
	struct {
		char name[64], path[512];
	} rt[16];
};

static void on_key(void *ctx, const char *const *segs, size_t n, const struct doctor_toml_value *v)
{
	struct cfg *c = ctx;
	static const char *const hooks[] = { "engine", "hooks_dir", NULL };
	static const char *const runtime[] = { "engine", "runtime", NULL };
	static const char *const runtimes[] = { "engine", "runtimes", "*", NULL };
	if (doctor_toml_match(segs, n, hooks) && v->kind == TOML_ARRAY) {
		c->n_hooks = v->n_items;
		for (size_t i = 0; i < v->n_items; i++)
			doctor_copy(c->hooks[i], sizeof(c->hooks[i]), v->items[i]);
	} else if (doctor_toml_match(segs, n, runtime) && v->kind == TOML_STRING) {
		doctor_copy(c->runtime, sizeof(c->runtime), v->str);
	} else if (doctor_toml_match(segs, n, runtimes) && v->kind == TOML_ARRAY && v->n_items > 0 && c->n_rt < 16) {
		doctor_copy(c->rt[c->n_rt].name, sizeof(c->rt[0].name), segs[2]);
		doctor_copy(c->rt[c->n_rt].path, sizeof(c->rt[0].path), v->items[0]);
		c->n_rt++;
	}
}

static void read_one(struct doctor *d, const char *path, struct cfg *c)
{
	cleanup_err gt_err_t err = NULL;
	(void)doctor_toml_file(d, "podman", path, on_key, c, &err);
}

void doctor_podman(struct doctor *d)
{
	static const char s[] = "podman";
	if (!doctor_exists(d, "/usr/bin/podman") && !doctor_exists(d, "/usr/local/bin/podman"))
		return;
	static struct cfg c;
	memset(&c, 0, sizeof(c));
	read_one(d, "/usr/share/containers/containers.conf", &c);
	read_one(d, "/etc/containers/containers.conf", &c);
	static char names[64][256];
	size_t n = doctor_list(d, "/etc/containers/containers.conf.d", ".conf", names, 64);
	for (size_t i = 0; i < n; i++) {
		char path[600];
		snprintf(path, sizeof(path), "/etc/containers/containers.conf.d/%s", names[i]);
		read_one(d, path, &c);
	}
	static const char *const dflt[] = { "/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d" };
	size_t nh = c.n_hooks > 0 ? c.n_hooks : 2;
	unsigned stages = 0;
	for (size_t i = 0; i < nh; i++) {
		const char *dir = c.n_hooks > 0 ? c.hooks[i] : dflt[i];
		/* CRI-O reads the default directories too. */
		bool crio = strcmp(dir, dflt[0]) == 0 || strcmp(dir, dflt[1]) == 0;
		stages |= doctor_hooks_dir(d, s, dir, crio);
	}
	/* The runtime: a name in [engine.runtimes], or a path. */
	const char *rt = c.runtime;
	for (size_t i = 0; i < c.n_rt; i++)
		if (strcmp(c.rt[i].name, c.runtime) == 0)
			rt = c.rt[i].path;
	bool rt_gotune = rt[0] != '\0' && doctor_is_gotune(rt);
	if (rt_gotune) {
		char why[200];
		if (!doctor_executable(d, rt, why, sizeof(why)))
			doctor_say(d, s, DOCTOR_ERROR, "containers.conf: [engine] runtime %s is not there (%s): every podman "
				   "run fails; set runtime back to \"runc\" or \"crun\"", rt, why);
		else
			doctor_say(d, s, DOCTOR_OK, "containers.conf: [engine] runtime %s: every container goes through "
				   "gotune (exec too)", rt);
	}
	if (stages & DOCTOR_HOOK_PRECREATE)
		doctor_say(d, s, DOCTOR_OK, "a precreate drop-in in a hooks directory Podman reads: every container "
			   "is tuned (podman exec is not: README: Podman)");
	else if (!rt_gotune) {
		/* What `podman --hooks-dir` would use: is it whole? */
		unsigned shipped = doctor_hooks_dir(d, s, GOTUNE_DATA_DIR "/podman-hooks.d", false);
		doctor_say(d, s, DOCTOR_INFO,
			   "not wired by configuration: no precreate drop-in in Podman's hooks directories (%s%s%s) "
			   "and the runtime is not gotune-runc; containers are tuned only when run with --hooks-dir "
			   GOTUNE_DATA_DIR "/podman-hooks.d%s (README: Podman)",
			   nh > 0 ? (c.n_hooks > 0 ? c.hooks[0] : dflt[0]) : "", nh > 1 ? ", " : "",
			   nh > 1 ? (c.n_hooks > 0 ? c.hooks[1] : dflt[1]) : "",
			   shipped & DOCTOR_HOOK_PRECREATE ? "" : ", which holds no precreate drop-in here");
	}
}
