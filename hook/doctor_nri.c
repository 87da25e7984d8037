/* doctor: gotune's NRI plugin, pre-installed (a link NN-gotune in the
 * runtime's plugin dir, its policy in the conf dir) or running on its own
 * (a DaemonSet's: `gotune-hook nri`, whose --status file says whether it
 * is registered). A dangling pre-installed link stops containerd 1.7.0 to
 * 1.7.25 at start (NRI <= v0.6; README: Kubernetes). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "status.h"

static const char s[] = "nri";

void doctor_nri_dirs(struct doctor *d, const char *plugin_dir, const char *conf_dir)
{
	for (size_t i = 0; i < d->n_nri_dirs; i++)
		if (strcmp(d->nri_plugin_dir[i], plugin_dir) == 0)
			return;
	if (d->n_nri_dirs == 4)
		return;
	snprintf(d->nri_plugin_dir[d->n_nri_dirs], sizeof(d->nri_plugin_dir[0]), "%s", plugin_dir);
	snprintf(d->nri_conf_dir[d->n_nri_dirs], sizeof(d->nri_conf_dir[0]), "%s", conf_dir);
	d->n_nri_dirs++;
}

struct seen {
	unsigned running, registered;
};

static void plugin(struct doctor *d, int pid, const char *const *argv, int argc, void *ctx)
{
	struct seen *seen = ctx;
	/* gotune-hook nri ..., or a runtime-started NN-gotune (no arguments) */
	bool started_by_runtime = argc == 1 && doctor_is_gotune(argv[0]) && strstr(argv[0], "gotune-hook") == NULL;
	if (!started_by_runtime && (argc < 2 || strcmp(argv[1], "nri") != 0))
		return;
	seen->running++;
	const char *status = doctor_arg(argv, argc, "--status", NULL);
	if (status == NULL || status[0] != '/') {
		doctor_say(d, s, DOCTOR_INFO, "plugin pid %d (%s) runs%s; whether it is registered is not known "
			   "(no --status FILE)", pid, argv[0], started_by_runtime ? ", started by the runtime" : "");
		if (started_by_runtime)
			seen->registered++;	/* the runtime started it: it dialled nothing */
		return;
	}
	/* Its file is in its own mount namespace (a DaemonSet's emptyDir). */
	char path[600];
	snprintf(path, sizeof(path), "/proc/%d/root%s", pid, status);
	struct gt_nri_status st;
	gt_err_t err = NULL;
	if (gt_nri_status_read(AT_FDCWD, path, &st, &err) < 0) {
		doctor_say(d, s, DOCTOR_WARN, "plugin pid %d: its status %s: %s", pid, status, gt_err_msg(err));
		gt_err_free(&err);
		return;
	}
	if (st.ready) {
		seen->registered++;
		doctor_say(d, s, DOCTOR_OK, "plugin pid %d: registered, policy %s (sha256 %.12s), since %s", pid,
			   st.policy, st.policy_sha256[0] ? st.policy_sha256 : "none", st.time);
	} else if (st.registered) {
		seen->registered++;
		doctor_say(d, s, DOCTOR_WARN, "plugin pid %d: registered, but %s", pid, st.reason);
	} else {
		doctor_say(d, s, DOCTOR_ERROR, "plugin pid %d: %s: containers are created untuned", pid, st.reason);
	}
}

void doctor_nri(struct doctor *d)
{
	doctor_nri_dirs(d, "/opt/nri/plugins", "/etc/nri/conf.d");
	unsigned installed = 0;
	for (size_t i = 0; i < d->n_nri_dirs; i++) {
		static char names[64][256];
		size_t n = doctor_list(d, d->nri_plugin_dir[i], "", names, 64);
		for (size_t k = 0; k < n; k++) {
			if (!doctor_is_gotune(names[k]))
				continue;
			char path[600], why[200], conf[600];
			snprintf(path, sizeof(path), "%s/%s", d->nri_plugin_dir[i], names[k]);
			if (!doctor_executable(d, path, why, sizeof(why))) {
				doctor_say(d, s, DOCTOR_ERROR,
					   "%s: %s: containerd 1.7.0 to 1.7.25 exits at start with a pre-installed plugin "
					   "that does not start; later runtimes skip it (remove it: README: Uninstall)",
					   path, why);
				continue;
			}
			installed++;
			doctor_say(d, s, DOCTOR_OK, "%s: pre-installed plugin (the runtime starts it)", path);
			snprintf(conf, sizeof(conf), "%s/%s.conf", d->nri_conf_dir[i], names[k]);
			if (doctor_exists(d, conf)) {
				char label[700];
				snprintf(label, sizeof(label), "plugin %s", names[k]);
				doctor_policy_file(d, s, conf, label);
			}
		}
	}
	struct seen seen = { 0 };
	doctor_processes(d, "gotune-hook", plugin, &seen);
	for (size_t i = 0; i < d->n_nri_dirs; i++) {
		static char names[64][256];
		size_t n = doctor_list(d, d->nri_plugin_dir[i], "", names, 64);
		for (size_t k = 0; k < n; k++)
			if (doctor_is_gotune(names[k]) && strlen(names[k]) < 16)
				doctor_processes(d, names[k], plugin, &seen);
	}
	if (d->nri_enabled && installed == 0 && seen.running == 0)
		doctor_say(d, s, DOCTOR_INFO, "NRI is on in %s, but no gotune plugin is installed or running: CRI "
			   "containers are not tuned through NRI (README: Kubernetes)", d->nri_by);
}
