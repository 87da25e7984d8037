#include "nri_tune.h"
#include "annotations.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "memfmt.h"
#include "tune.h"

/* Kubernetes has no per-container annotations, so NRI plugins read
 * "<key>.<domain>/container.<name>" on the pod (NRI's device-injector,
 * nri-resource-policy): for gotune, "memory-ratio.gotune.io/container.app"
 * stands for "gotune.io/memory-ratio" on container "app" only. */
static const char *pod_container_value(const struct gt_nri_create *c, const char *key)
{
	size_t dl = strlen(GT_ANNOTATION_PREFIX), nl = strlen(c->name);
	static const char mid[] = "container.";
	if (nl == 0 || strncmp(key, GT_ANNOTATION_PREFIX, dl) != 0)
		return NULL;
	const char *k = key + dl;
	size_t kl = strlen(k);
	for (size_t i = 0; i < c->n_pod_annotations; i++) {
		const char *a = c->pod_annotations[i].key;
		/* "<k>." "gotune.io/" "container." "<name>" */
		if (strlen(a) != kl + 1 + dl + sizeof(mid) - 1 + nl)
			continue;
		if (strncmp(a, k, kl) == 0 && a[kl] == '.' && strncmp(a + kl + 1, GT_ANNOTATION_PREFIX, dl) == 0 &&
		    strncmp(a + kl + 1 + dl, mid, sizeof(mid) - 1) == 0 &&
		    strcmp(a + kl + 1 + dl + sizeof(mid) - 1, c->name) == 0)
			return c->pod_annotations[i].value;
	}
	return NULL;
}

/* The most specific wins: the container's own annotation (CRI, crictl),
 * then the pod's for this container by name, then the pod's for all. */
static const char *lookup(void *ctx, const char *key)
{
	const struct gt_nri_create *c = ctx;
	for (size_t i = 0; i < c->n_annotations; i++)
		if (strcmp(c->annotations[i].key, key) == 0)
			return c->annotations[i].value;
	const char *v = pod_container_value(c, key);
	if (v != NULL)
		return v;
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
		gt_limits_apply_unified(l, r->unified[i].key, r->unified[i].value, h, notes);
}

/* The pod's limits where the kernel enforces them: its cgroup, which the
 * kubelet creates before the pod's containers, read from the host's cgroup
 * filesystem (a DaemonSet's plugin needs it mounted: --cgroupfs).
 * PodSandbox.linux.pod_resources is no such limit: the kubelet fills it
 * with the sum of the limits the containers declare (kuberuntime
 * calculateSandboxResources -> resourcehelper.PodLimits), but gives the
 * pod cgroup a quota or a memory.max only when every container declares
 * one (cm.ResourceConfigForPod: cpuLimitsDeclared, memoryLimitsDeclared).
 * An app without limits beside a sidecar with them would get the
 * sidecar's. */
static void apply_pod(struct gt_limits *l, const struct gt_nri_create *c, const struct gt_host *h,
		      struct gt_notes *notes)
{
	char path[1200];
	const char *p = c->cgroups_path != NULL ? c->cgroups_path : "";
	const char *parent = c->pod_cgroup_parent != NULL ? c->pod_cgroup_parent : "";
	if (p[0] == '\0' && parent[0] != '\0') {
		/* A path inside the pod's cgroup, whose parent is the pod's:
		 * for the systemd driver a slice ("kubepods-pod1.slice"). */
		size_t n = strlen(parent);
		bool slice = strchr(parent, '/') == NULL && n > 6 && strcmp(parent + n - 6, ".slice") == 0;
		snprintf(path, sizeof(path), slice ? "%.1100s:gotune:x" : "%.1100s/x", parent);
		p = path;
	}
	if (p[0] != '\0' && h->probe && gt_limits_read_pod(l, p, h, NULL, true))
		return;
	if (l->pod[0] == '\0')
		snprintf(l->pod, sizeof(l->pod), "not read: %s",
			 p[0] == '\0' ? "the runtime sent no cgroups path" : "no cgroup filesystem to read");
	/* Where the pod's resources name a limit the container lacks, say
	 * that it is not used and why: it may or may not be enforced. */
	const struct gt_nri_res *r = &c->pod_res;
	bool mem = r->has_memory && r->memory > 0 && !l->has_memory, cpu = r->has_quota && r->quota > 0 && !l->has_quota;
	if (c->has_pod_res && (mem || cpu))
		gt_note(notes, "the pod's resources (the sum of its containers' declared limits) not counted: the pod "
			"cgroup enforces them only when every container declares one, and it was not read (%.120s; "
			"gotune-hook nri --cgroupfs)", l->pod);
}

static void limits_from_request(const struct gt_nri_create *c, const struct gt_settings *s, const struct gt_host *h,
				bool read_pod, struct gt_limits *l, struct gt_notes *notes)
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
	if (read_pod && s->enabled && s->pod_limits)
		apply_pod(l, c, h, notes);
}

/* namespace/pod/container, as every NRI log line names a container. */
static void format_id(const struct gt_nri_create *c, char *id, size_t idsz)
{
	snprintf(id, idsz, "%.60s/%.80s/%.80s", c->pod_namespace, c->pod_name, c->name[0] != '\0' ? c->name : c->id);
}

/* {"GOMAXPROCS":{"wrote":"1"},...}: the wrapper's record of what it wrote,
 * in the form precreate writes as an annotation. False (no record) when
 * it does not fit: values longer than 64 bytes (a GODEBUG from an
 * annotation) are not recorded. */
static bool record_json(const struct gt_nri_adjust *a, char *out, size_t outsz)
{
	size_t len = 0;
	for (size_t i = 0; i < a->n_env; i++) {
		/* gt_json_quote writes at most 6 bytes a byte, and 2 quotes. */
		char k[6 * 16 + 3], v[6 * 64 + 3];
		if (strlen(a->env[i].key) > 16 || strlen(a->env[i].value) > 64)
			return false;
		size_t kl = gt_json_quote(a->env[i].key, k), vl = gt_json_quote(a->env[i].value, v);
		int w = snprintf(out + len, outsz - len, "%s%.*s:{\"wrote\":%.*s}", i ? "," : "{", (int)kl, k, (int)vl, v);
		if (w < 0 || (size_t)w >= outsz - len - 1)
			return false;
		len += (size_t)w;
	}
	if (len == 0)
		return false;
	out[len++] = '}';
	out[len] = '\0';
	return true;
}

/* While a DaemonSet rolls with maxSurge, the old and the new gotune plugin
 * are both registered for a moment, under the same name and index, and NRI
 * calls both for every container, one after the other (nri v0.12.3
 * pkg/adaptation adaptation.go CreateContainer: no check for a duplicate
 * name at registration, sortPlugins orders by index only). Each answer is
 * applied to the request before the next plugin is called (result.go
 * adjustEnv and adjustAnnotations append to create.Container, as in every
 * version from v0.3), so the later plugin finds the earlier one's record,
 * GT_TUNE_MARK, among the container's annotations. It steps aside: a
 * variable only its own policy adds, or the record again, would be a key
 * two plugins claim, and NRI fails such a container (owners.go
 * IsCompoundConflict); a prestart hook would run twice. */
static void step_aside(const struct gt_nri_create *c, struct gt_nri_tune *t)
{
	for (size_t i = 0; i < c->n_annotations; i++) {
		if (strcmp(c->annotations[i].key, GT_TUNE_MARK) != 0)
			continue;
		memset(&t->adjust, 0, sizeof(t->adjust));
		for (int v = 0; v < GT_NVARS; v++) {
			struct gt_decision *d = &t->plan.d[v];
			long k = gt_env_find((const char *const *)c->env, c->n_env, gt_var_names[v]);
			d->action = k < 0 ? GT_ACT_SKIPPED : GT_ACT_KEPT;
			snprintf(d->value, sizeof(d->value), "%s", k < 0 ? "" : c->env[k] + strlen(gt_var_names[v]) + 1);
			snprintf(d->reason, sizeof(d->reason), "%s",
				 "the gotune plugin NRI called before this one decided (two are registered at once "
				 "while a DaemonSet rolls)");
			d->basis[0] = '\0';
		}
		return;
	}
}

void gt_nri_tune(const struct gt_nri_create *c, const struct gt_policy *policy, const struct gt_host *host,
		 struct gt_nri_tune *t)
{
	memset(t, 0, sizeof(*t));
	format_id(c, t->id, sizeof(t->id));

	struct gt_settings settings = policy->settings;
	gt_annotations_apply(&settings, lookup, (void *)c, &t->plan.notes);
	for (size_t i = 0; i < c->n_annotations; i++)
		gt_annotation_check_key(c->annotations[i].key, &t->plan.notes);
	for (size_t i = 0; i < c->n_pod_annotations; i++)
		gt_annotation_check_key(c->pod_annotations[i].key, &t->plan.notes);
	struct gt_limits limits;
	limits_from_request(c, &settings, host, true, &limits, &t->plan.notes);
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
	/* Audit: the plan says what would be added; nothing is. */
	if (settings.audit) {
		t->adjust.n_env = 0;
		t->adjust.prestart_hook = NULL;
	}
	if (record_json(&t->adjust, t->record, sizeof(t->record)))
		t->adjust.record = t->record;
	step_aside(c, t);
}

/* The env value the container runs with for variable v, or NULL. */
static const char *env_value(const struct gt_nri_create *c, enum gt_var v)
{
	long i = gt_env_find((const char *const *)c->env, c->n_env, gt_var_names[v]);
	return i < 0 ? NULL : c->env[i] + strlen(gt_var_names[v]) + 1;
}

static bool limit_var(const char *entry)
{
	return gt_env_count(&entry, 1, gt_var_names[GT_GOMAXPROCS]) > 0 ||
	       gt_env_count(&entry, 1, gt_var_names[GT_GOMEMLIMIT]) > 0;
}

/* Plans GOMAXPROCS and GOMEMLIMIT for c's limits as if the container had
 * set neither, with its other env as it is (a user GOGC=off still counts). */
static int plan_bare(const struct gt_nri_create *c, const struct gt_settings *s, const struct gt_host *h,
		     struct gt_plan *p)
{
	const char **env = calloc(c->n_env + 1, sizeof(*env));
	if (env == NULL)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < c->n_env; i++)
		if (!limit_var(c->env[i]))
			env[n++] = c->env[i];
	/* The pod's cgroup holds its limits as of now, not as of the
	 * container's creation, and the kubelet raises them before its
	 * containers': the container's own resources are the whole story. */
	struct gt_limits limits;
	limits_from_request(c, s, h, false, &limits, &p->notes);
	gt_plan_make(p, &limits, s, env, n, NULL);
	free(env);
	return 0;
}

size_t gt_nri_resize_check(const struct gt_nri_update *u, const struct gt_policy *policy, const struct gt_host *host,
			   char *id, size_t idsz, struct gt_nri_stale stale[2])
{
	const struct gt_nri_create *c = &u->c;
	format_id(c, id, idsz);
	if (!u->has_new_res)
		return 0;
	struct gt_settings settings = policy->settings;
	struct gt_notes ignored = { 0 };
	gt_annotations_apply(&settings, lookup, (void *)c, &ignored);
	if (!settings.enabled)
		return 0;
	/* The plans are large; one request at a time, so static is fine and
	 * keeps them off the stack. */
	static struct gt_plan was, now;
	memset(&was, 0, sizeof(was));
	memset(&now, 0, sizeof(now));
	struct gt_nri_create resized = *c;
	resized.res = u->new_res;
	if (plan_bare(c, &settings, host, &was) < 0 || plan_bare(&resized, &settings, host, &now) < 0)
		return 0;
	size_t n = 0;
	static const enum gt_var vars[] = { GT_GOMAXPROCS, GT_GOMEMLIMIT };
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		enum gt_var v = vars[i];
		const char *cur = env_value(c, v);
		/* Only what gotune set: the value its plan gave for the limits
		 * the container was created with. A user's own value is theirs. */
		if (cur == NULL || was.d[v].action != GT_ACT_SET || strcmp(was.d[v].value, cur) != 0)
			continue;
		if (now.d[v].action == GT_ACT_SET && strcmp(now.d[v].value, cur) == 0)
			continue;
		struct gt_nri_stale *st = &stale[n++];
		st->var = v;
		snprintf(st->was, sizeof(st->was), "%s", cur);
		if (now.d[v].action == GT_ACT_SET)
			snprintf(st->now, sizeof(st->now), "%s", now.d[v].value);
		else
			snprintf(st->now, sizeof(st->now), "none: %.160s", now.d[v].reason);
	}
	return n;
}
