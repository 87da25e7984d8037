/* doctor: OCI hooks.d drop-ins (Podman, CRI-O). Each *.json names a hook
 * binary and its stages; the engines load every file of the directory and
 * refuse one whose binary is not there (containers/common pkg/hooks:
 * ReadDir returns the hook's validation error, Validate stats hook.path),
 * and CRI-O refuses a stage it does not know, precreate among them. */
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "json.h"

#define MAX_DROPINS 64

unsigned doctor_hooks_dir(struct doctor *d, const char *section, const char *dir, bool crio_reads)
{
	static char names[MAX_DROPINS][256];
	size_t n = doctor_list(d, dir, ".json", names, MAX_DROPINS);
	unsigned stages = 0;
	for (size_t i = 0; i < n; i++) {
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		cleanup_buf struct gt_buf buf = { 0 };
		cleanup_err gt_err_t err = NULL;
		cleanup_yajl yajl_val tree = NULL;
		if (doctor_read(d, path, &buf, &err) < 0 || gt_json_parse(buf.data, buf.len, path, &tree, &err) < 0)
			continue;	/* not ours to judge */
		static const char *const hp[] = { "hook", "path", NULL };
		yajl_val bin = gt_json_path(tree, hp), st = NULL;
		if (!YAJL_IS_STRING(bin) || !doctor_is_gotune(YAJL_GET_STRING(bin)))
			continue;
		gt_json_get(tree, "stages", &st);
		unsigned mine = 0;
		char list[128] = "";
		for (size_t k = 0; YAJL_IS_ARRAY(st) && k < st->u.array.len && k < 8; k++) {
			yajl_val v = st->u.array.values[k];
			if (!YAJL_IS_STRING(v))
				continue;
			const char *sn = YAJL_GET_STRING(v);
			mine |= strcmp(sn, "precreate") == 0 ? DOCTOR_HOOK_PRECREATE
			      : strcmp(sn, "prestart") == 0 ? DOCTOR_HOOK_PRESTART
			      : strcmp(sn, "createRuntime") == 0 || strcmp(sn, "poststart") == 0 ? DOCTOR_HOOK_RECORD : 0;
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%.20s", list[0] ? "," : "", sn);
		}
		char why[200];
		if (!doctor_executable(d, YAJL_GET_STRING(bin), why, sizeof(why))) {
			doctor_say(d, section, DOCTOR_ERROR,
				   "%s: hook %s is not there (%s): the engine fails to load its hooks directory, and "
				   "with it containers; remove the drop-in (README: Uninstall)",
				   path, YAJL_GET_STRING(bin), why);
			continue;
		}
		if ((mine & DOCTOR_HOOK_PRECREATE) && crio_reads) {
			doctor_say(d, section, DOCTOR_ERROR,
				   "%s: stage precreate in a directory CRI-O reads: CRI-O refuses unknown stages and may "
				   "not start; keep the precreate drop-in in a directory only Podman reads",
				   path);
			continue;
		}
		stages |= mine;
		doctor_say(d, section, DOCTOR_OK, "%s: %s (%s) runs %s", path, list,
			   mine & DOCTOR_HOOK_PRECREATE ? "env tuning"
			   : mine & DOCTOR_HOOK_PRESTART ? "prewarm"
			   : "recording",
			   YAJL_GET_STRING(bin));
	}
	/* The prestart hook records annotated containers itself (README's one
	 * hook); a record drop-in left by an older install only costs an exec. */
	if ((stages & DOCTOR_HOOK_PRESTART) && (stages & DOCTOR_HOOK_RECORD))
		doctor_say(d, section, DOCTOR_INFO,
			   "%s: a createRuntime/poststart drop-in of gotune beside the prestart one is no longer "
			   "needed (prestart records gotune.io/record=true itself); delete it (an older install's "
			   "gotune-record.json) to save one hook exec per recorded start", dir);
	return stages;
}
