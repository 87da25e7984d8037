#include "tune.h"
#include "annotations.h"
#include "image.h"
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gt_tune_free(struct gt_tune *t)
{
	gt_buf_free(&t->out);
}

static const char *spec_annotation(void *ctx, const char *key)
{
	return gt_spec_annotation(ctx, key);
}

/* The container's id as the runtime knows it (what the prestart hook and
 * the wrapper name it by), from the last part of cgroupsPath where engines
 * put it: "/libpod_parent/libpod-ID", "machine.slice:libpod:ID",
 * "/docker/ID", "system.slice:docker:ID", "/kubepods/.../ID",
 * "kubepods-...slice:cri-containerd:ID", "...slice:crio:ID": 64 hex
 * digits after an optional "name-" prefix, before an optional ".scope". */
static bool id_from_cgroups_path(const struct gt_spec *spec, char *out, size_t outsz)
{
	static const char *const path[] = { "linux", "cgroupsPath", NULL };
	const char *cp = gt_spec_string(spec, path);
	if (cp == NULL)
		return false;
	const char *last = cp;
	for (const char *p = cp; *p != '\0'; p++)
		if (*p == '/' || *p == ':' || *p == '-')
			last = p + 1;
	size_t n = strspn(last, "0123456789abcdef");
	if (n != 64 || (last[n] != '\0' && strcmp(last + n, ".scope") != 0))
		return false;
	snprintf(out, outsz, "%.64s", last);
	return true;
}

/* Podman's container id: its own files are bound into the container from
 * <storage>/<driver>-containers/<64 hex>/userdata/ (hostname, hosts,
 * .containerenv), and the spec names no id otherwise (its hostname is the
 * id's first 12 characters). */
static bool podman_id(const struct gt_spec *spec, char *out, size_t outsz)
{
	yajl_val mounts = NULL;
	if (gt_json_get(spec->tree, "mounts", &mounts) != 1 || !YAJL_IS_ARRAY(mounts))
		return false;
	for (size_t i = 0; i < mounts->u.array.len && i < 256; i++) {
		yajl_val src = NULL, m = mounts->u.array.values[i];
		if (gt_json_get(m, "source", &src) != 1 || !YAJL_IS_STRING(src))
			continue;
		const char *s = src->u.string, *u = strstr(s, "/userdata/");
		if (u == NULL || u - s < 65 || u[-65] != '/' || strspn(u - 64, "0123456789abcdef") < 64)
			continue;
		snprintf(out, outsz, "%.64s", u - 64);
		return true;
	}
	return false;
}

/* Engines put the container's name in different places; any of them makes
 * a log line findable. The runtime's id first: it is what the other lines
 * (prestart, the wrapper) name the container by. */
static void guess_id(const struct gt_spec *spec, char *out, size_t outsz)
{
	if (id_from_cgroups_path(spec, out, outsz))
		return;
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
	if (podman_id(spec, out, outsz))
		return;
	static const char *const hostname[] = { "hostname", NULL };
	yajl_val h = gt_json_path(spec->tree, hostname);
	if (YAJL_IS_STRING(h))
		snprintf(out, outsz, "%s", YAJL_GET_STRING(h));
}

/* What gotune wrote into this spec before, from its own top-level member
 * (GT_TUNE_MARK: {"GOMAXPROCS":{"wrote":"1"},"GODEBUG":{"wrote":"a=1,b=2",
 * "was":"a=1"}}). An OCI runtime ignores properties it does not know (the
 * spec says it must), so the record survives in config.json and changes
 * nothing a runtime reads. */
struct mark {
	const char *wrote[GT_NVARS];	/* NULL: not gotune's */
	const char *was[GT_NVARS];	/* the container's value before, NULL if none */
	yajl_val owned;		/* the annotation's record, parsed */
};

static void read_mark(const struct gt_spec *spec, struct mark *m);

static void mark_free(struct mark *m)
{
	yajl_tree_free(m->owned);
	m->owned = NULL;
}
#define cleanup_mark __attribute__((cleanup(mark_free)))

void gt_tune_exec_mark(const struct gt_spec *config, struct gt_exec_mark *out)
{
	struct mark m;
	read_mark(config, &m);
	memset(out, 0, sizeof(*out));
	out->owned = m.owned;	/* the annotation's record: what out points into */
	for (int v = 0; v < GT_NVARS; v++) {
		if (m.wrote[v] == NULL)
			continue;
		size_t klen = strlen(gt_var_names[v]);
		long c = gt_env_find(config->env, config->n_env, gt_var_names[v]);
		if (c < 0 || strcmp(config->env[c] + klen + 1, m.wrote[v]) != 0)
			continue;	/* the container's value is the user's now */
		out->wrote[v] = m.wrote[v];
		out->was[v] = m.was[v];
	}
}

int gt_tune_exec_apply(const struct gt_exec_mark *m, const char *const *env, size_t n_env, struct gt_env_edit *out,
		       size_t *n_out, gt_err_t *err)
{
	*n_out = 0;
	for (int v = 0; v < GT_NVARS; v++) {
		if (m->wrote[v] == NULL)
			continue;
		size_t klen = strlen(gt_var_names[v]);
		long p = gt_env_find(env, n_env, gt_var_names[v]);
		/* A process with the container's value from before gotune (an
		 * engine that builds the exec env from its own copy of the
		 * image's) gets what the container got; one with a value of
		 * its own keeps it. */
		if (p >= 0 && (m->was[v] == NULL || strcmp(env[p] + klen + 1, m->was[v]) != 0))
			continue;
		char *entry = NULL;
		if (asprintf(&entry, "%s=%s", gt_var_names[v], m->wrote[v]) < 0) {
			while (*n_out > 0)
				free(out[--*n_out].entry);
			return gt_error(err, ENOMEM, "exec env");
		}
		out[(*n_out)++] = (struct gt_env_edit){ p >= 0 ? (size_t)p : GT_ENV_APPEND, entry };
	}
	return 0;
}

void gt_exec_mark_free(struct gt_exec_mark *m)
{
	yajl_tree_free(m->owned);
	m->owned = NULL;
}

unsigned gt_tune_ours(const struct gt_spec *spec)
{
	cleanup_mark struct mark m;
	read_mark(spec, &m);
	unsigned ours = 0;
	for (int v = 0; v < GT_NVARS; v++) {
		long i = gt_env_find(spec->env, spec->n_env, gt_var_names[v]);
		if (m.wrote[v] != NULL && i >= 0 && strcmp(spec->env[i] + strlen(gt_var_names[v]) + 1, m.wrote[v]) == 0)
			ours |= 1u << v;
	}
	return ours;
}

int gt_tune_exec_edits(const struct gt_spec *config, const char *const *env, size_t n_env, struct gt_env_edit *out,
		       size_t *n_out, gt_err_t *err)
{
	cleanup_exec_mark struct gt_exec_mark m;
	gt_tune_exec_mark(config, &m);
	return gt_tune_exec_apply(&m, env, n_env, out, n_out, err);
}

static void read_mark(const struct gt_spec *spec, struct mark *m)
{
	memset(m, 0, sizeof(*m));
	yajl_val obj = NULL;
	if (gt_json_get(spec->tree, GT_TUNE_MARK, &obj) != 1 || !YAJL_IS_OBJECT(obj)) {
		/* The annotation form, as precreate and NRI write it. */
		const char *a = gt_spec_annotation(spec, GT_TUNE_MARK);
		gt_err_t err = NULL;
		if (a == NULL || strlen(a) > 4096 || gt_json_parse(a, strlen(a), "record", &m->owned, &err) < 0) {
			gt_err_free(&err);
			return;
		}
		obj = m->owned;
		if (!YAJL_IS_OBJECT(obj))
			return;
	}
	for (int v = 0; v < GT_NVARS; v++) {
		yajl_val e = NULL, w = NULL, was = NULL;
		if (gt_json_get(obj, gt_var_names[v], &e) != 1 || gt_json_get(e, "wrote", &w) != 1 || !YAJL_IS_STRING(w))
			continue;
		m->wrote[v] = YAJL_GET_STRING(w);
		if (gt_json_get(e, "was", &was) == 1 && YAJL_IS_STRING(was))
			m->was[v] = YAJL_GET_STRING(was);
	}
}

/* The env as it was before gotune's earlier edits: a variable whose value
 * is still the one gotune wrote goes back to the container's own value (or
 * away); one the user changed since is the user's. Per spec item: NULL
 * (deleted) or the entry; map[j] is the spec index of view[j]. */
struct env_view {
	const char **item;	/* per spec item: the entry in the view, NULL when gone */
	char **owned;
	const char **view;
	size_t *map;
	size_t n_view;
	const char *ours[GT_NVARS];	/* gotune's earlier value still in the env, or NULL */
};

static void env_view_free(struct env_view *e, size_t n)
{
	for (size_t i = 0; e->owned != NULL && i < n; i++)
		free(e->owned[i]);
	free(e->owned);
	free(e->item);
	free(e->view);
	free(e->map);
}

static int env_view_make(const struct gt_spec *spec, const struct mark *m, struct env_view *e, gt_err_t *err)
{
	size_t n = spec->n_env;
	memset(e, 0, sizeof(*e));
	e->item = calloc(n + 1, sizeof(*e->item));
	e->owned = calloc(n + 1, sizeof(*e->owned));
	e->view = calloc(n + 1, sizeof(*e->view));
	e->map = calloc(n + 1, sizeof(*e->map));
	if (e->item == NULL || e->owned == NULL || e->view == NULL || e->map == NULL)
		return gt_error(err, ENOMEM, "env");
	for (size_t i = 0; i < n; i++)
		e->item[i] = spec->env[i];
	for (int v = 0; v < GT_NVARS; v++) {
		if (m->wrote[v] == NULL)
			continue;
		/* The last entry is the one the runtime leaves in the container,
		 * and the one gotune replaced or appended. */
		long last = gt_env_find(spec->env, n, gt_var_names[v]);
		size_t klen = strlen(gt_var_names[v]);
		if (last < 0 || strcmp(spec->env[last] + klen + 1, m->wrote[v]) != 0)
			continue;	/* changed since: the user's now */
		e->ours[v] = m->wrote[v];
		if (m->was[v] == NULL) {
			e->item[last] = NULL;
			continue;
		}
		if (asprintf(&e->owned[last], "%s=%s", gt_var_names[v], m->was[v]) < 0) {
			e->owned[last] = NULL;
			return gt_error(err, ENOMEM, "env");
		}
		e->item[last] = e->owned[last];
	}
	for (size_t i = 0; i < n; i++)
		if (e->item[i] != NULL) {
			e->map[e->n_view] = i;
			e->view[e->n_view++] = e->item[i];
		}
	return 0;
}

/* A value gotune wrote before (its record says so, and the env still
 * holds it) is recomputed like any: the normal case for a bundle run
 * again, and for `plan` on a tuned bundle. Each decision says so, so that
 * gotune's value is never taken for the user's. */
static void credit_earlier(struct gt_plan *plan, const struct env_view *e)
{
	for (int v = 0; v < GT_NVARS; v++) {
		struct gt_decision *d = &plan->d[v];
		if (e->ours[v] == NULL)
			continue;
		size_t len = strlen(d->reason);
		bool same = (d->action == GT_ACT_SET || d->action == GT_ACT_MERGED) && strcmp(d->value, e->ours[v]) == 0;
		snprintf(d->reason + len, sizeof(d->reason) - len, "; %s=%.60s in the env is gotune's own%s", gt_var_names[v],
			 e->ours[v], same ? ", unchanged" : d->action == GT_ACT_SKIPPED ? ", taken back" : ", replaced");
	}
}

/* The plan's edits of the view, as edits of the spec's env: view indices
 * mapped back, variables gotune takes back deleted or restored, and a
 * variable set again replaced where it stood (so a bundle run twice with
 * the same limits is not rewritten). Edits that change nothing are
 * dropped. */
static int spec_edits(const struct gt_spec *spec, const struct env_view *e, const struct gt_env_edit *pe, size_t n_pe,
		      struct gt_env_edit **out, size_t *n_out, gt_err_t *err)
{
	size_t n = spec->n_env;
	struct gt_env_edit *ed = calloc(n + n_pe + 1, sizeof(*ed));
	const char **want = calloc(n + 1, sizeof(*want));
	if (ed == NULL || want == NULL) {
		free(ed);
		free(want);
		return gt_error(err, ENOMEM, "env edits");
	}
	for (size_t i = 0; i < n; i++)
		want[i] = e->item[i];
	size_t k = 0;
	for (size_t j = 0; j < n_pe; j++) {
		if (pe[j].index != GT_ENV_APPEND) {
			want[e->map[pe[j].index]] = pe[j].entry;
			continue;
		}
		/* An appended variable that gotune takes back from a slot:
		 * into that slot. */
		size_t klen = strcspn(pe[j].entry, "=");
		size_t slot = n;
		for (size_t i = 0; i < n && slot == n; i++)
			if (want[i] == NULL && strncmp(spec->env[i], pe[j].entry, klen + 1) == 0)
				slot = i;
		if (slot < n)
			want[slot] = pe[j].entry;
		else
			ed[k++] = (struct gt_env_edit){ GT_ENV_APPEND, pe[j].entry };
	}
	for (size_t i = 0; i < n; i++) {
		if (want[i] == NULL)
			ed[k++] = (struct gt_env_edit){ i, NULL };
		else if (strcmp(want[i], spec->env[i]) != 0)
			ed[k++] = (struct gt_env_edit){ i, (char *)want[i] };
	}
	free(want);
	*out = ed;
	*n_out = k;
	return 0;
}

/* The record of what this plan writes, as JSON text. */
static int mark_json(const struct gt_plan *plan, const char *const *view, size_t n_view, struct gt_buf *b,
		     gt_err_t *err)
{
	size_t cap = 3;
	for (int v = 0; v < GT_NVARS; v++) {
		long i = gt_env_find(view, n_view, gt_var_names[v]);
		cap += 40 + 6 * (strlen(plan->d[v].value) + (i >= 0 ? strlen(view[i]) : 0));
	}
	b->data = malloc(cap);
	if (b->data == NULL)
		return gt_error(err, ENOMEM, "env record");
	size_t len = 0;
	b->data[len++] = '{';
	for (int v = 0; v < GT_NVARS; v++) {
		enum gt_action a = plan->d[v].action;
		if (a != GT_ACT_SET && a != GT_ACT_REPLACED && a != GT_ACT_MERGED)
			continue;
		if (len > 1)
			b->data[len++] = ',';
		len += gt_json_quote(gt_var_names[v], b->data + len);
		len += (size_t)sprintf(b->data + len, ":{\"wrote\":");
		len += gt_json_quote(plan->d[v].value, b->data + len);
		long i = gt_env_find(view, n_view, gt_var_names[v]);
		if (i >= 0) {
			len += (size_t)sprintf(b->data + len, ",\"was\":");
			len += gt_json_quote(view[i] + strlen(gt_var_names[v]) + 1, b->data + len);
		}
		b->data[len++] = '}';
	}
	b->data[len++] = '}';
	b->data[len] = '\0';
	b->len = len;
	return 0;
}

/* A container of a Kubernetes pod, as the CRI runtimes mark it: containerd
 * (internal/cri/annotations SandboxID) and CRI-O (pkg/annotations
 * SandboxID). Podman writes CRI-O's annotation names too, into the
 * containers of its own pods (seen on Podman 4.3.1), and names itself in
 * io.container.manager: its pods are not the kubelet's. */
bool gt_tune_kubernetes_pod(const struct gt_spec *spec)
{
	const char *manager = gt_spec_annotation(spec, "io.container.manager");
	if (manager != NULL && strcmp(manager, "libpod") == 0)
		return false;
	return gt_spec_annotation(spec, "io.kubernetes.cri.sandbox-id") != NULL ||
	       gt_spec_annotation(spec, "io.kubernetes.cri-o.SandboxID") != NULL;
}

void gt_tune_limits(const struct gt_spec *spec, const struct gt_host *host, const struct gt_settings *settings,
		    struct gt_limits *limits, struct gt_notes *notes)
{
	struct gt_limits_opts opts = { .pod_limits = settings->enabled && settings->pod_limits,
				.kubernetes = gt_tune_kubernetes_pod(spec) };
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
	yajl_val ann = NULL;
	if (gt_json_get(spec.tree, "annotations", &ann) == 1 && YAJL_IS_OBJECT(ann))
		for (size_t i = 0; i < ann->u.object.len; i++)
			gt_annotation_check_key(ann->u.object.keys[i], &t->plan.notes);
	struct gt_limits limits;
	gt_tune_limits(&spec, host, &settings, &limits, &t->plan.notes);
	cleanup_mark struct mark mark;
	read_mark(&spec, &mark);
	struct env_view ev;
	int ret = -1;
	struct gt_env_edit *pe = NULL, *edits = NULL;
	size_t n_pe = 0, n_edits = 0;
	struct gt_buf mj = { 0 };
	if (env_view_make(&spec, &mark, &ev, err) < 0)
		goto out;
	/* What the image tells (a Go version, not Go at all) only ever takes
	 * a change away, never adds one (gt_plan_make; test_plan checks it):
	 * a plan that changes nothing without it needs no look at the image,
	 * which is most of the work for a container without limits. */
	struct gt_notes notes = t->plan.notes;
	gt_plan_make(&t->plan, &limits, &settings, ev.view, ev.n_view, NULL);
	if (settings.enabled && (settings.go_aware || settings.go_only) && (t->explain || gt_plan_changes(&t->plan))) {
		struct gt_image image;
		gt_image_inspect(&spec, bundle_dir, &image);
		t->plan.notes = notes;
		gt_plan_make(&t->plan, &limits, &settings, ev.view, ev.n_view, &image);
	}
	credit_earlier(&t->plan, &ev);

	if (gt_plan_edits(&t->plan, ev.view, ev.n_view, &pe, &n_pe, err) < 0 ||
	    spec_edits(&spec, &ev, pe, n_pe, &edits, &n_edits, err) < 0)
		goto out;
	/* The record is rewritten when gotune writes or took back anything;
	 * a spec gotune never touched gets none. */
	bool had_mark = false;
	for (int v = 0; v < GT_NVARS; v++)
		had_mark |= mark.wrote[v] != NULL;
	bool record = t->mark && (gt_plan_changes(&t->plan) || had_mark);
	if (record && mark_json(&t->plan, ev.view, ev.n_view, &mj, err) < 0)
		goto out;
	if (record && t->mark_annotation) {
		const char *old = gt_spec_annotation(&spec, GT_TUNE_MARK);
		if (old != NULL && strcmp(old, mj.data) == 0)
			record = false;	/* the same record is there */
	} else if (record) {
		size_t root = gt_json_skip_ws(text, len, 0);
		struct gt_span old;
		if (gt_json_member(text, len, root, GT_TUNE_MARK, &old) == 1 && old.end - old.start == mj.len &&
		    memcmp(text + old.start, mj.data, mj.len) == 0)
			record = false;	/* the same record is there */
	}
	ret = 0;
	/* Audit: everything above was decided; nothing is written. */
	if ((n_edits == 0 && !record) || settings.audit)
		goto out;
	struct gt_spec_extras x = { 0 };
	if (record && t->mark_annotation) {
		x.annotation = GT_TUNE_MARK;
		x.annotation_value = mj.data;
	} else if (record) {
		x.member = GT_TUNE_MARK;
		x.member_json = mj.data;
	}
	ret = gt_spec_render_member(&spec, edits, n_edits, &x, &t->out, err);
	if (ret == 0)
		t->changed = true;
out:
	gt_buf_free(&mj);
	free(edits);
	gt_env_edits_free(pe, n_pe);
	env_view_free(&ev, spec.n_env);
	return ret;
}

void gt_tune_id(const char *text, size_t len, char *out, size_t outsz)
{
	cleanup_spec struct gt_spec spec;
	gt_err_t err = NULL;
	if (gt_spec_parse(&spec, text, len, &err) == 0)
		guess_id(&spec, out, outsz);
	gt_err_free(&err);
}
