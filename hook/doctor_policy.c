/* doctor: the policy every entry point reads, and any other policy file
 * an engine passes (Docker runtimeArgs --policy, the NRI plugin's). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "doctor.h"
#include "hook.h"

/* Loads path (under the root) as gotune would; says what is wrong. */
static int load(struct doctor *d, const char *path, bool missing_ok, struct gt_policy *p, bool *missing,
		gt_err_t *err)
{
	gt_policy_defaults(p);
	*missing = false;
	cleanup_buf struct gt_buf buf = { 0 };
	if (doctor_read(d, path, &buf, err) < 0) {
		if ((*err)->errno_ == ENOENT) {
			*missing = true;
			if (missing_ok) {
				gt_err_free(err);
				return 0;
			}
		}
		return gt_error_wrap(err, "policy");
	}
	return gt_policy_parse(p, buf.data, buf.len, path, err);
}

bool doctor_policy_file(struct doctor *d, const char *section, const char *path, const char *who)
{
	struct gt_policy p;
	bool missing;
	cleanup_err gt_err_t err = NULL;
	if (load(d, path, false, &p, &missing, &err) < 0) {
		doctor_say(d, section, DOCTOR_ERROR, "%s: %s: containers through it pass through untuned%s", who,
			   gt_err_msg(err), missing ? "" : " until it is fixed");
		return false;
	}
	doctor_say(d, section, p.settings.audit ? DOCTOR_WARN : DOCTOR_OK, "%s: policy %s valid%s", who, path,
		   p.settings.audit ? ", mode audit: nothing is changed" : "");
	return true;
}

void doctor_policy(struct doctor *d)
{
	static const char section[] = "policy";
	bool missing_ok, missing;
	const char *path = hook_policy_path(d->policy_path, &missing_ok);
	cleanup_err gt_err_t err = NULL;
	d->policy_ok = load(d, path, missing_ok, &d->policy, &missing, &err) == 0;
	if (!d->policy_ok) {
		doctor_say(d, section, DOCTOR_ERROR, "%s", gt_err_msg(err));
		doctor_say(d, section, DOCTOR_ERROR,
			   "every container passes through untuned until the policy is fixed (fail-open)%s",
			   d->policy.strict ? "" : "; each one is logged at warning level");
		/* What gotune still uses of it: where it logs and counts. */
		struct gt_policy kept = d->policy;
		gt_policy_defaults(&d->policy);
		memcpy(d->policy.log_file, kept.log_file, sizeof(kept.log_file));
		memcpy(d->policy.metrics_file, kept.metrics_file, sizeof(kept.metrics_file));
		return;
	}
	if (missing) {
		doctor_say(d, section, DOCTOR_OK, "no %s: the built-in defaults apply (mode enforce)", path);
		return;
	}
	const struct gt_policy *p = &d->policy;
	doctor_say(d, section, DOCTOR_OK, "%s: valid, mode %s, sha256 %.12s", path,
		   p->settings.audit ? "audit" : "enforce", p->sha256);
	if (p->settings.audit)
		doctor_say(d, section, DOCTOR_WARN,
			   "mode audit: gotune changes no container; it logs what it would set (outcome audit)");
	if (!p->settings.enabled)
		doctor_say(d, section, DOCTOR_WARN, "enabled: false: gotune changes no container");
	if (p->strict)
		doctor_say(d, section, DOCTOR_INFO, "strict: an error of gotune's fails the container");
}
