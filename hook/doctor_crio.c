/* doctor: CRI-O. /etc/crio/crio.conf, then each /etc/crio/crio.conf.d/
 * .conf file in order (the later wins), or the file its --config names:
 * [crio.runtime.runtimes.NAME] runtime_path (a runc-compatible binary,
 * gotune-runc), [crio.runtime] hooks_dir (default
 * /usr/share/containers/oci/hooks.d; /etc/containers/oci/hooks.d is read
 * too), [crio.nri] enable_nri (on by default from 1.30) and
 * nri_plugin_dir. */
#include <stdio.h>
#include <string.h>

#include "doctor.h"

#define MAX_RUNTIMES 16

struct cfg {
	size_t n_rt;
	struct {
		char name[128], path[512], from[300];
	} rt[MAX_RUNTIMES];
	size_t n_hooks;
	char hooks[DOCTOR_TOML_ITEMS][512];
	bool nri_set, nri;
	char nri_dir[256];
	const char *file;
};

static void on_key(void *ctx, const char *const *segs, size_t n, const struct doctor_toml_value *v)
{
	struct cfg *c = ctx;
	static const char *const rt[] = { "crio", "runtime", "runtimes", "*", "runtime_path", NULL };
	static const char *const hooks[] = { "crio", "runtime", "hooks_dir", NULL };
	static const char *const nri[] = { "crio", "nri", "enable_nri", NULL };
	static const char *const nri_dir[] = { "crio", "nri", "nri_plugin_dir", NULL };
	if (doctor_toml_match(segs, n, rt) && v->kind == TOML_STRING) {
		size_t i = 0;
		while (i < c->n_rt && strcmp(c->rt[i].name, segs[3]) != 0)
			i++;
		if (i == MAX_RUNTIMES)
			return;
		c->n_rt += i == c->n_rt;
		doctor_copy(c->rt[i].name, sizeof(c->rt[i].name), segs[3]);
		doctor_copy(c->rt[i].path, sizeof(c->rt[i].path), v->str);
		snprintf(c->rt[i].from, sizeof(c->rt[i].from), "%s", c->file);
	} else if (doctor_toml_match(segs, n, hooks) && v->kind == TOML_ARRAY) {
		c->n_hooks = v->n_items;
		for (size_t i = 0; i < v->n_items; i++)
			doctor_copy(c->hooks[i], sizeof(c->hooks[i]), v->items[i]);
	} else if (doctor_toml_match(segs, n, nri) && v->kind == TOML_BOOL) {
		c->nri_set = true;
		c->nri = v->b;
	} else if (doctor_toml_match(segs, n, nri_dir) && v->kind == TOML_STRING) {
		doctor_copy(c->nri_dir, sizeof(c->nri_dir), v->str);
	}
}

static void read_one(struct doctor *d, const char *path, struct cfg *c)
{
	cleanup_err gt_err_t err = NULL;
	c->file = path;
	(void)doctor_toml_file(d, "cri-o", path, on_key, c, &err);
}

static void running(struct doctor *d, int pid, const char *const *argv, int argc, void *ctx)
{
	(void)d;
	(void)pid;
	const char *c = doctor_arg(argv, argc, "--config", "-c");
	if (c != NULL && c[0] == '/')
		snprintf(ctx, 512, "%s", c);
}

void doctor_crio(struct doctor *d)
{
	static const char s[] = "cri-o";
	char own[512] = "";
	doctor_processes(d, "crio", running, own);
	bool installed = doctor_exists(d, "/usr/bin/crio") || doctor_exists(d, "/usr/local/bin/crio") ||
			 doctor_exists(d, "/etc/crio/crio.conf") || doctor_exists(d, "/etc/crio/crio.conf.d") ||
			 own[0] != '\0';
	if (!installed)
		return;
	static struct cfg c;
	memset(&c, 0, sizeof(c));
	read_one(d, own[0] ? own : "/etc/crio/crio.conf", &c);
	static char names[64][256];
	size_t n = doctor_list(d, "/etc/crio/crio.conf.d", ".conf", names, 64);
	for (size_t i = 0; i < n; i++) {
		char path[600];
		snprintf(path, sizeof(path), "/etc/crio/crio.conf.d/%s", names[i]);
		read_one(d, path, &c);
	}
	bool wired = false;
	for (size_t i = 0; i < c.n_rt; i++) {
		if (!doctor_is_gotune(c.rt[i].path))
			continue;
		char why[200];
		if (!doctor_executable(d, c.rt[i].path, why, sizeof(why))) {
			doctor_say(d, s, DOCTOR_ERROR, "%s: runtime \"%s\" has runtime_path %s, which is not there (%s): "
				   "every pod of that runtime fails; remove it and restart crio (README: Uninstall)",
				   c.rt[i].from, c.rt[i].name, c.rt[i].path, why);
			continue;
		}
		wired = true;
		doctor_say(d, s, DOCTOR_OK, "%s: runtime \"%s\" runs %s: its containers go through gotune", c.rt[i].from,
			   c.rt[i].name, c.rt[i].path);
	}
	/* hooks_dir replaces the default list */
	static const char *const dflt[] = { "/usr/share/containers/oci/hooks.d", "/etc/containers/oci/hooks.d" };
	size_t nh = c.n_hooks > 0 ? c.n_hooks : 2;
	for (size_t i = 0; i < nh; i++)
		if (doctor_hooks_dir(d, s, c.n_hooks > 0 ? c.hooks[i] : dflt[i], true) & DOCTOR_HOOK_PRESTART)
			doctor_say(d, s, DOCTOR_INFO, "the prestart drop-in warms the page cache; it does not tune the "
				   "env (runtime_path or NRI does)");
	if (!c.nri_set || c.nri) {
		d->nri_enabled = true;
		snprintf(d->nri_by, sizeof(d->nri_by), "CRI-O");
		doctor_nri_dirs(d, c.nri_dir[0] ? c.nri_dir : "/opt/nri/plugins", "/etc/nri/conf.d");
		doctor_say(d, s, c.nri_set ? DOCTOR_OK : DOCTOR_INFO, "NRI %s", c.nri_set ? "on (enable_nri = true)"
			   : "on by default from CRI-O 1.30 (enable_nri not set)");
	}
	if (!wired && c.nri_set && !c.nri)
		doctor_say(d, s, DOCTOR_INFO, "not wired: no runtime_path is gotune-runc and NRI is off (README: CRI-O)");
}
