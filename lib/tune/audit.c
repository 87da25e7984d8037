#include "audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_var(const char *entry, const char *var)
{
	size_t n = strlen(var);
	return strncmp(entry, var, n) == 0 && entry[n] == '=';
}

void gt_audit_env(const struct gt_limits *limits, const struct gt_settings *settings, const char *const *env,
		  size_t n_env, const struct gt_image *image, unsigned ours, struct gt_audit_result *out)
{
	memset(out, 0, sizeof(*out));
	const char **rest = calloc(n_env + 1, sizeof(*rest));
	size_t n_rest = 0;
	for (size_t i = 0; rest != NULL && i < n_env; i++)
		if (!is_var(env[i], "GOMAXPROCS") && !is_var(env[i], "GOMEMLIMIT"))
			rest[n_rest++] = env[i];
	struct gt_plan want = { 0 };
	gt_plan_make(&want, limits, settings, rest, n_rest, image);
	free(rest);

	size_t len = 0;
	for (int v = 0; v < 2; v++) {
		const struct gt_decision *d = &want.d[v];
		bool planned = d->action == GT_ACT_SET || d->action == GT_ACT_REPLACED;
		long i = gt_env_find(env, n_env, gt_var_names[v]);
		const char *have = i < 0 ? NULL : env[i] + strlen(gt_var_names[v]) + 1;
		const char *what;
		if (have == NULL) {
			out->status[v] = planned ? GT_AUDIT_MISSING : GT_AUDIT_NONE;
			/* In audit mode nothing was meant to set it. */
			what = !planned	       ? "not needed"
			       : settings->audit ? "not set: audit mode; enforce would set it"
						 : "MISSING: env tuning is not wired in (precreate hook, runtime wrapper or NRI)";
		} else if (planned && strcmp(have, d->value) == 0) {
			out->status[v] = GT_AUDIT_TUNED;
			what = "as planned";
		} else {
			out->status[v] = GT_AUDIT_OTHER;
			what = ours & (1u << v) ? "gotune's, differs from the plan now" : "the container's own, kept";
		}
		int w = snprintf(out->line + len, sizeof(out->line) - len, "%s%s=%s (%s)", len ? " " : "",
				 gt_var_names[v], have != NULL ? have : planned ? d->value : "-", what);
		if (w > 0 && (size_t)w < sizeof(out->line) - len)
			len += (size_t)w;
	}
}
