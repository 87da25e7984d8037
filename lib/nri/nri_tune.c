#include "nri_tune.h"
#include "annotations.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memfmt.h"

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

static void apply_res(struct gt_limits *l, const struct gt_nri_res *r, const struct gt_host *h, struct gt_notes *notes)
{
	if (r->has_quota)
		gt_limits_set_quota(l, r->quota);
	/* CRI-O sends period 0 for every container without a CPU limit. */
	if (r->has_period && gt_limits_set_period(l, r->period) < 0 && l->has_quota)
		gt_note(notes, "cpu.period is 0; using %u", GT_DEFAULT_CFS_PERIOD);
	if (r->cpus != NULL && r->cpus[0] != '\0' && gt_limits_set_cpus(l, r->cpus, h) < 0)
		gt_note(notes, "cpu.cpus is not a valid CPU list; ignored");
	if (r->has_shares)
		gt_limits_set_shares(l, r->shares);
	if (r->has_memory)
		gt_limits_set_memory(l, r->memory);
	for (size_t i = 0; i < r->n_unified; i++)
		gt_limits_apply_unified(l, r->unified[i].key, r->unified[i].value, notes);
}

/* The pod's resources as a pod-level limit: what the kubelet sends for the
 * pod (spec.resources, or the sum of its containers' limits). */
static void apply_pod(struct gt_limits *l, const struct gt_nri_res *r, const struct gt_host *h)
{
	struct gt_limits pl;
	gt_limits_init(&pl, h);
	struct gt_notes ignored = { 0 };
	apply_res(&pl, r, h, &ignored);
	struct gt_pod_limits pod = { 0 };
	snprintf(pod.where, sizeof(pod.where), "NRI pod resources");
	pod.has_memory = pl.has_memory;
	pod.memory = (uint64_t)pl.memory;
	pod.has_high = pl.has_high;
	pod.high = (uint64_t)pl.high;
	pod.has_quota = pl.has_quota;
	pod.quota = (uint64_t)pl.quota;
	pod.period = pl.period;
	char mem[32] = "-", q[48] = "-";
	if (pl.has_memory)
		gt_memhuman((uint64_t)pl.memory, mem, sizeof(mem));
	if (pl.has_quota)
		snprintf(q, sizeof(q), "%" PRId64 "/%" PRIu64, pl.quota, pl.period);
	snprintf(l->pod, sizeof(l->pod), "NRI pod resources: memory %s, cpu quota %s", mem, q);
	gt_limits_apply_pod(l, &pod);
}

static void limits_from_request(const struct gt_nri_create *c, const struct gt_settings *s, const struct gt_host *h,
				struct gt_limits *l, struct gt_notes *notes)
{
	gt_limits_init(l, h);
	apply_res(l, &c->res, h, notes);
	if (c->n_mounts > 0) {
		struct gt_mount_desc *ms = calloc(c->n_mounts, sizeof(*ms));
		if (ms != NULL) {
			for (size_t i = 0; i < c->n_mounts; i++)
				ms[i] = (struct gt_mount_desc){ c->mounts[i].dest, c->mounts[i].type, c->mounts[i].source,
								(const char *const *)c->mounts[i].options,
								c->mounts[i].n_options };
			gt_limits_add_mounts(l, ms, c->n_mounts, h, notes);
			free(ms);
		}
	}
	if (c->has_pod_res && s->enabled && s->pod_limits)
		apply_pod(l, &c->pod_res, h);
}

void gt_nri_tune(const struct gt_nri_create *c, const struct gt_policy *policy, const struct gt_host *host,
		 struct gt_nri_tune *t)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%.60s/%.80s/%.80s", c->pod_namespace, c->pod_name,
		 c->name[0] != '\0' ? c->name : c->id);

	struct gt_settings settings = policy->settings;
	gt_annotations_apply(&settings, lookup, (void *)c, &t->plan.notes);
	struct gt_limits limits;
	limits_from_request(c, &settings, host, &limits, &t->plan.notes);
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
			/* Say why the plan wanted a change (an invalid value, an
			 * override) and that it is not made. */
			char was[sizeof(d->reason)];
			snprintf(was, sizeof(was), "%s", d->reason);
			d->action = GT_ACT_KEPT;
			d->value[0] = '\0';
			snprintf(d->reason, sizeof(d->reason), "kept: the container sets %s; NRI only adds variables (the plan: %.300s)",
				 gt_var_names[v], was);
		}
	}
	if (settings.enabled && policy->nri_prestart_hook[0] != '\0')
		t->adjust.prestart_hook = policy->nri_prestart_hook;
}
