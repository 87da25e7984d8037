#include "tune.h"
#include "annotations.h"
#include "image.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

void gt_tune_free(struct gt_tune *t)
{
	gt_buf_free(&t->out);
}

static const char *spec_annotation(void *ctx, const char *key)
{
	return gt_spec_annotation(ctx, key);
}

/* Engines put the container's name in different places; any of them makes
 * a log line findable. */
static void guess_id(const struct gt_spec *spec, char *out, size_t outsz)
{
	static const char *const keys[] = {
		"io.kubernetes.cri.container-name", "io.kubernetes.container.name",
		"io.podman.annotations.name", "org.opencontainers.image.ref.name", NULL,
	};
	for (const char *const *k = keys; *k != NULL; k++) {
		const char *v = gt_spec_annotation(spec, *k);
		if (v != NULL) {
			snprintf(out, outsz, "%s", v);
			return;
		}
	}
	static const char *const hostname[] = { "hostname", NULL };
	yajl_val h = gt_json_path(spec->tree, hostname);
	if (YAJL_IS_STRING(h))
		snprintf(out, outsz, "%s", YAJL_GET_STRING(h));
}

void gt_tune_limits(const struct gt_spec *spec, const struct gt_host *host, const struct gt_settings *settings,
		    struct gt_limits *limits, struct gt_notes *notes)
{
	struct gt_limits_opts opts = { .pod_limits = settings->enabled && settings->pod_limits };
	gt_limits_from_spec(spec->tree, host, &opts, limits, notes);
}

int gt_tune_spec(const char *text, size_t len, const struct gt_policy *policy, const struct gt_host *host,
		 const char *bundle_dir, struct gt_tune *t, gt_err_t *err)
{
	cleanup_spec struct gt_spec spec;
	if (gt_spec_parse(&spec, text, len, err) < 0)
		return -1;
	if (t->id[0] == '\0')
		guess_id(&spec, t->id, sizeof(t->id));

	struct gt_settings settings = policy->settings;
	gt_annotations_apply(&settings, spec_annotation, &spec, &t->plan.notes);
	struct gt_limits limits;
	gt_tune_limits(&spec, host, &settings, &limits, &t->plan.notes);
	const char *const *env = spec.env;
	/* Only worth a look when there is something to decide. */
	struct gt_image image;
	bool look = settings.enabled && (settings.go_aware || settings.go_only);
	if (look)
		gt_image_inspect(&spec, bundle_dir, &image);
	gt_plan_make(&t->plan, &limits, &settings, env, spec.n_env, look ? &image : NULL);
	if (!gt_plan_changes(&t->plan))
		return 0;

	struct gt_env_edit *edits = NULL;
	size_t n_edits = 0;
	if (gt_plan_edits(&t->plan, env, spec.n_env, &edits, &n_edits, err) < 0)
		return -1;
	int r = gt_spec_render(&spec, edits, n_edits, &t->out, err);
	gt_env_edits_free(edits, n_edits);
	if (r < 0)
		return -1;
	t->changed = true;
	return 0;
}
