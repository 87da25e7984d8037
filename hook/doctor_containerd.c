/* doctor: containerd. Its CRI plugin runs each runtime's BinaryName in
 * place of runc (config version 2, containerd 1.x:
 * plugins."io.containerd.grpc.v1.cri".containerd.runtimes.NAME.options;
 * version 3, 2.x: plugins."io.containerd.cri.v1.runtime"...), and its NRI
 * (plugins."io.containerd.nri.v1.nri": off unless disable = false in 1.7,
 * on unless disable = true in 2.x) asks plugins such as gotune's. A
 * BinaryName that is gone fails every pod of that runtime.
 *
 * A runtime table that lost its runtime_type (containerd 1.x, a table
 * added without it replaces the default: every CRI pod then fails) is
 * found by containerd_config.c, the check nri-install runs too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containerd_config.h"
#include "doctor.h"

#define MAX_RUNTIMES 16

struct cfg {
	long long version;
	bool has_version;
	bool nri_disable, nri_disable_set;
	char nri_plugin_dir[256], nri_conf_dir[256], nri_socket[256];
	size_t n_rt;
	struct {
		char name[128];
		char binary[512];
	} rt[MAX_RUNTIMES];
};

static void on_key(void *ctx, const char *const *segs, size_t n, const struct doctor_toml_value *v)
{
	struct cfg *c = ctx;
	static const char *const version[] = { "version", NULL };
	static const char *const binary[] = { "plugins", "*", "containerd", "runtimes", "*", "options", "BinaryName", NULL };
	static const char *const nri[] = { "plugins", "io.containerd.nri.v1.nri", "*", NULL };
	if (doctor_toml_match(segs, n, version) && v->kind == TOML_INT) {
		c->version = v->i;
		c->has_version = true;
	} else if (doctor_toml_match(segs, n, binary) && v->kind == TOML_STRING && c->n_rt < MAX_RUNTIMES) {
		doctor_copy(c->rt[c->n_rt].name, sizeof(c->rt[0].name), segs[4]);
		doctor_copy(c->rt[c->n_rt].binary, sizeof(c->rt[0].binary), v->str);
		c->n_rt++;
	} else if (doctor_toml_match(segs, n, nri)) {
		if (strcmp(segs[2], "disable") == 0 && v->kind == TOML_BOOL) {
			c->nri_disable = v->b;
			c->nri_disable_set = true;
		} else if (strcmp(segs[2], "plugin_path") == 0 && v->kind == TOML_STRING) {
			doctor_copy(c->nri_plugin_dir, sizeof(c->nri_plugin_dir), v->str);
		} else if (strcmp(segs[2], "plugin_config_path") == 0 && v->kind == TOML_STRING) {
			doctor_copy(c->nri_conf_dir, sizeof(c->nri_conf_dir), v->str);
		} else if (strcmp(segs[2], "socket_path") == 0 && v->kind == TOML_STRING) {
			doctor_copy(c->nri_socket, sizeof(c->nri_socket), v->str);
		}
	}
}

struct found {
	size_t n;
	char path[8][512], who[8][64];
};

static void running(struct doctor *d, int pid, const char *const *argv, int argc, void *ctx)
{
	(void)d;
	struct found *f = ctx;
	/* dockerd's own containerd (under its exec-root) is Docker's
	 * business: its runtime is whatever daemon.json says. */
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *st = fopen(path, "re");
	int ppid = 0;
	while (st != NULL && fgets(line, sizeof(line), st) != NULL)
		if (sscanf(line, "PPid: %d", &ppid) == 1)
			break;
	if (st != NULL)
		fclose(st);
	char comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", ppid);
	FILE *cf = fopen(path, "re");
	if (cf != NULL && fgets(comm, sizeof(comm), cf) != NULL)
		comm[strcspn(comm, "\n")] = '\0';
	if (cf != NULL)
		fclose(cf);
	if (strcmp(comm, "dockerd") == 0 || f->n == 8)
		return;
	const char *c = doctor_arg(argv, argc, "--config", "-c");
	snprintf(f->path[f->n], sizeof(f->path[0]), "%s", c != NULL && c[0] == '/' ? c : "/etc/containerd/config.toml");
	snprintf(f->who[f->n], sizeof(f->who[0]), "containerd pid %d", pid);
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->path[i], f->path[f->n]) == 0)
			return;
	f->n++;
}

static void check(struct doctor *d, const char *path, const char *who)
{
	static const char s[] = "containerd";
	cleanup_err gt_err_t err = NULL;
	static struct cfg c;
	memset(&c, 0, sizeof(c));
	if (doctor_toml_file(d, s, path, on_key, &c, &err) < 0) {
		doctor_say(d, s, DOCTOR_INFO, "%s: %s: containerd's defaults (runc, no gotune)", who, gt_err_msg(err));
		return;
	}
	cleanup_buf struct gt_buf text = { 0 };
	static struct gt_ctrd_findings lost;
	memset(&lost, 0, sizeof(lost));
	if (doctor_read(d, path, &text, &err) == 0 && gt_containerd_config_check(text.data, text.len, &lost, &err) == 0)
		for (size_t i = 0; i < lost.n; i++)
			doctor_say(d, s, DOCTOR_ERROR, "%s: %s: %s", who, path, lost.msg[i]);
	gt_err_free(&err);
	bool wired = false;
	for (size_t i = 0; i < c.n_rt; i++) {
		if (!doctor_is_gotune(c.rt[i].binary))
			continue;
		char why[200];
		if (!doctor_executable(d, c.rt[i].binary, why, sizeof(why))) {
			doctor_say(d, s, DOCTOR_ERROR,
				   "%s: %s: runtime \"%s\" has BinaryName %s, which is not there (%s): every pod of that "
				   "runtime fails to start; reinstall gotune, or remove BinaryName and restart containerd "
				   "(README: Uninstall)",
				   who, path, c.rt[i].name, c.rt[i].binary, why);
			continue;
		}
		wired = true;
		doctor_say(d, s, DOCTOR_OK, "%s: %s: runtime \"%s\" runs %s: CRI containers go through gotune (ctr run "
			   "does not read it: --runc-binary)", who, path, c.rt[i].name, c.rt[i].binary);
	}
	bool v3 = c.has_version && c.version >= 3;
	bool nri_on = v3 ? !(c.nri_disable_set && c.nri_disable) : c.nri_disable_set && !c.nri_disable;
	if (nri_on) {
		d->nri_enabled = true;
		snprintf(d->nri_by, sizeof(d->nri_by), "containerd (%s)", path);
		doctor_nri_dirs(d, c.nri_plugin_dir[0] ? c.nri_plugin_dir : "/opt/nri/plugins",
				c.nri_conf_dir[0] ? c.nri_conf_dir : "/etc/nri/conf.d");
		doctor_say(d, s, DOCTOR_OK, "%s: %s: NRI on (%s)%s", who, path,
			   v3 ? (c.nri_disable_set ? "disable = false" : "config version 3: on by default")
			      : "disable = false",
			   c.nri_socket[0] ? "" : ", socket /var/run/nri/nri.sock");
	} else {
		doctor_say(d, s, DOCTOR_INFO, "%s: %s: NRI off (%s)", who, path,
			   v3 ? "disable = true" : "containerd 1.7 needs [plugins.\"io.containerd.nri.v1.nri\"] disable = false");
	}
	if (!wired && !nri_on)
		doctor_say(d, s, DOCTOR_INFO, "%s: not wired: no runtime BinaryName is gotune-runc and NRI is off "
			   "(README: containerd, Kubernetes)", who);
}

void doctor_containerd(struct doctor *d)
{
	static struct found f;
	memset(&f, 0, sizeof(f));
	doctor_processes(d, "containerd", running, &f);
	if (doctor_exists(d, "/etc/containerd/config.toml")) {
		bool seen = false;
		for (size_t i = 0; i < f.n; i++)
			seen |= strcmp(f.path[i], "/etc/containerd/config.toml") == 0;
		if (!seen && f.n < 8) {
			snprintf(f.path[f.n], sizeof(f.path[0]), "/etc/containerd/config.toml");
			snprintf(f.who[f.n], sizeof(f.who[0]), "containerd");
			f.n++;
		}
	}
	if (f.n == 0 && (doctor_exists(d, "/usr/bin/containerd") || doctor_exists(d, "/usr/local/bin/containerd")))
		doctor_say(d, "containerd", DOCTOR_INFO,
			   "containerd installed, no /etc/containerd/config.toml: its defaults (runc, no gotune)");
	for (size_t i = 0; i < f.n; i++)
		check(d, f.path[i], f.who[i]);
}
