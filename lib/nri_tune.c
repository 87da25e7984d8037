#include "nri_tune.h"
#include "annotations.h"

#include <stdio.h>
#include <string.h>

/* A container's own annotation wins over its pod's: Kubernetes users set
 * pod annotations, and a per-container one is the more specific. */
static const char *lookup(void *ctx, const char *key)
{
	const struct gt_nri_create *c = ctx;
	for (size_t i = 0; i < c->n_annotations; i++)
		if (strcmp(c->annotations[i].key, key) == 0)
			return c->annotations[i].value;
	for (size_t i = 0; i < c->n_pod_annotations; i++)
		if (strcmp(c->pod_annotations[i].key, key) == 0)
			return c->pod_annotations[i].value;
	return NULL;
}

static void limits_from_request(const struct gt_nri_create *c, int host_cpus, struct gt_limits *l,
				struct gt_notes *notes)
{
	gt_limits_init(l, host_cpus);
	if (c->has_quota)
		gt_limits_set_quota(l, c->quota);
	if (c->has_period && gt_limits_set_period(l, c->period) < 0)
		gt_note(notes, "cpu.period is 0; using %u", GT_DEFAULT_CFS_PERIOD);
	if (c->cpus[0] != '\0' && gt_limits_set_cpus(l, c->cpus) < 0)
		gt_note(notes, "cpu.cpus is not a valid CPU list; ignored");
	if (c->has_shares)
		gt_limits_set_shares(l, c->shares);
	if (c->has_memory)
		gt_limits_set_memory(l, c->memory);
}

void gt_nri_tune(const struct gt_nri_create *c, const struct gt_policy *policy, int host_cpus,
		 struct gt_nri_tune *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%.60s/%.80s/%.80s", c->pod_namespace, c->pod_name,
		 c->name[0] != '\0' ? c->name : c->id);

	struct gt_limits limits;
	limits_from_request(c, host_cpus, &limits, &t->plan.notes);
	struct gt_settings settings = policy->settings;
	gt_annotations_apply(&settings, lookup, (void *)c, &t->plan.notes);
	/* The image is not mounted yet when NRI asks: no Go build info. */
	gt_plan_make(&t->plan, &limits, &settings, (const char *const *)c->env, c->n_env, NULL);

	for (int v = 0; v < GT_NVARS; v++) {
		struct gt_decision *d = &t->plan.d[v];
		if (d->action == GT_ACT_SET) {
			t->adjust.env[t->adjust.n_env].key = gt_var_names[v];
			t->adjust.env[t->adjust.n_env].value = d->value;
			t->adjust.n_env++;
		} else if (d->action == GT_ACT_REPLACED || d->action == GT_ACT_MERGED) {
			/* Two plugins touching one key fail the container, and
			 * runtimes have mishandled overrides: NRI only adds. */
			d->action = GT_ACT_KEPT;
			d->value[0] = '\0';
			snprintf(d->reason, sizeof(d->reason), "kept: the container sets %s; NRI only adds variables",
				 gt_var_names[v]);
		}
	}
	if (settings.enabled && policy->nri_prestart_hook[0] != '\0')
		t->adjust.prestart_hook = policy->nri_prestart_hook;
}
