#include "nri_msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Malformed input is reported once, with the message it was found in. */
static int bad(gt_err_t *err, const char *what)
{
	return gt_error(err, 0, "nri: malformed %s", what);
}

static char *dup_field(const struct gt_pb_field *f)
{
	char *s = malloc(f->len + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, f->data, f->len);
	s[f->len] = '\0';
	return s;
}

/* A string field: replaces *out (proto3 keeps the last occurrence). */
static int take_string(const struct gt_pb_field *f, char **out, gt_err_t *err, const char *what)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, what);
	/* A NUL inside would silently cut keys and values short. */
	if (memchr(f->data, '\0', f->len) != NULL)
		return bad(err, what);
	char *s = dup_field(f);
	if (s == NULL)
		return gt_error(err, ENOMEM, "nri: %s", what);
	free(*out);
	*out = s;
	return 0;
}

static char *empty(void)
{
	return calloc(1, 1);
}

int gt_nri_configure_decode(const uint8_t *data, size_t len, struct gt_nri_configure *c, gt_err_t *err)
{
	memset(c, 0, sizeof(*c));
	struct gt_pb_reader r = gt_pb_reader(data, len);
	struct gt_pb_field f;
	int k;
	while ((k = gt_pb_next(&r, &f)) > 0) {
		int rc = 0;
		if (f.num == 1)
			rc = take_string(&f, &c->config, err, "ConfigureRequest.config");
		else if (f.num == 2)
			rc = take_string(&f, &c->runtime_name, err, "ConfigureRequest.runtime_name");
		else if (f.num == 3)
			rc = take_string(&f, &c->runtime_version, err, "ConfigureRequest.runtime_version");
		if (rc < 0)
			return -1;
	}
	if (k < 0)
		return bad(err, "ConfigureRequest");
	if ((c->config == NULL && (c->config = empty()) == NULL) ||
	    (c->runtime_name == NULL && (c->runtime_name = empty()) == NULL) ||
	    (c->runtime_version == NULL && (c->runtime_version = empty()) == NULL))
		return gt_error(err, ENOMEM, "nri: ConfigureRequest");
	return 0;
}

void gt_nri_configure_free(struct gt_nri_configure *c)
{
	free(c->config);
	free(c->runtime_name);
	free(c->runtime_version);
	memset(c, 0, sizeof(*c));
}

int gt_nri_synchronize_more(const uint8_t *data, size_t len, bool *more, gt_err_t *err)
{
	*more = false;
	struct gt_pb_reader r = gt_pb_reader(data, len);
	struct gt_pb_field f;
	int k;
	while ((k = gt_pb_next(&r, &f)) > 0)
		if (f.num == 3 && f.wire == GT_PB_VARINT)
			*more = f.v != 0;
	return k < 0 ? bad(err, "SynchronizeRequest") : 0;
}

/* The first LEN field num of a message, or false. */
static bool first_len(const uint8_t *data, size_t len, uint32_t num, struct gt_pb_field *out)
{
	struct gt_pb_reader r = gt_pb_reader(data, len);
	while (gt_pb_next(&r, out) > 0)
		if (out->num == num && out->wire == GT_PB_LEN)
			return true;
	return false;
}

int gt_nri_synchronize_each(const uint8_t *data, size_t len, gt_nri_sync_fn *fn, void *ctx, size_t *no_pod,
			    gt_err_t *err)
{
	struct gt_pb_reader r = gt_pb_reader(data, len);
	struct gt_pb_field f;
	int k, n = 0;
	size_t seen = 0;
	while ((k = gt_pb_next(&r, &f)) > 0 && seen < GT_NRI_SYNC_MAX) {
		if (f.num != 2 || f.wire != GT_PB_LEN)
			continue;
		seen++;
		struct gt_pb_reader cr = gt_pb_sub(&f);
		struct gt_pb_field cf, podid = { 0 }, pod, id;
		bool stopped = false;
		while (gt_pb_next(&cr, &cf) > 0) {
			if (cf.num == 2 && cf.wire == GT_PB_LEN)
				podid = cf;
			else if (cf.num == 4 && cf.wire == GT_PB_VARINT)
				stopped = cf.v == 4;
		}
		if (stopped)
			continue;
		struct gt_pb_reader pr = gt_pb_reader(data, len);
		bool found = false;
		size_t pods = 0;
		while (!found && pods < GT_NRI_SYNC_MAX && gt_pb_next(&pr, &pod) > 0) {
			if (pod.num != 1 || pod.wire != GT_PB_LEN)
				continue;
			pods++;
			found = first_len(pod.data, pod.len, 1, &id) && id.len == podid.len &&
				(id.len == 0 || memcmp(id.data, podid.data, id.len) == 0);
		}
		if (!found) {
			(*no_pod)++;
			continue;
		}
		cleanup_pb_writer struct gt_pb_writer w;
		gt_pb_writer_init(&w, pod.len + f.len + 32);
		gt_pb_put_bytes_field(&w, 1, pod.data, pod.len);
		gt_pb_put_bytes_field(&w, 2, f.data, f.len);
		if (w.failed)
			return gt_error(err, ENOMEM, "nri: SynchronizeRequest");
		fn(ctx, w.data, w.len);
		n++;
	}
	return k < 0 ? bad(err, "SynchronizeRequest") : n;
}

/* map<string,string> entry: key = 1, value = 2. */
static int take_map_entry(const struct gt_pb_field *f, struct gt_nri_kv **arr, size_t *n, gt_err_t *err,
			  const char *what)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, what);
	if (*n >= GT_NRI_ANNOTATIONS_MAX)
		return gt_error(err, 0, "nri: more than %u %s", GT_NRI_ANNOTATIONS_MAX, what);
	struct gt_nri_kv kv = { NULL, NULL };
	struct gt_pb_reader r = gt_pb_sub(f);
	struct gt_pb_field e;
	int k;
	while ((k = gt_pb_next(&r, &e)) > 0) {
		int rc = 0;
		if (e.num == 1)
			rc = take_string(&e, &kv.key, err, what);
		else if (e.num == 2)
			rc = take_string(&e, &kv.value, err, what);
		if (rc < 0)
			goto fail;
	}
	if (k < 0) {
		bad(err, what);
		goto fail;
	}
	if ((kv.key == NULL && (kv.key = empty()) == NULL) || (kv.value == NULL && (kv.value = empty()) == NULL)) {
		gt_error(err, ENOMEM, "nri: %s", what);
		goto fail;
	}
	struct gt_nri_kv *a = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (a == NULL) {
		gt_error(err, ENOMEM, "nri: %s", what);
		goto fail;
	}
	a[(*n)++] = kv;
	*arr = a;
	return 0;
fail:
	free(kv.key);
	free(kv.value);
	return -1;
}

/* OptionalInt64 / OptionalUInt64 {value = 1}: a present wrapper with no
 * value field means 0. */
static int take_optional(const struct gt_pb_field *f, uint64_t *out, gt_err_t *err, const char *what)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, what);
	*out = 0;
	struct gt_pb_reader r = gt_pb_sub(f);
	struct gt_pb_field v;
	int k;
	while ((k = gt_pb_next(&r, &v)) > 0)
		if (v.num == 1) {
			if (v.wire != GT_PB_VARINT)
				return bad(err, what);
			*out = v.v;
		}
	return k < 0 ? bad(err, what) : 0;
}

/* LinuxMemory {limit = 1}. */
static int decode_memory(const struct gt_pb_field *f, struct gt_nri_res *res, gt_err_t *err)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, "LinuxMemory");
	struct gt_pb_reader r = gt_pb_sub(f);
	struct gt_pb_field m;
	int k;
	while ((k = gt_pb_next(&r, &m)) > 0)
		if (m.num == 1) {
			uint64_t v;
			if (take_optional(&m, &v, err, "LinuxMemory.limit") < 0)
				return -1;
			res->has_memory = true;
			res->memory = (int64_t)v;
		}
	return k < 0 ? bad(err, "LinuxMemory") : 0;
}

/* LinuxCPU {shares = 1, quota = 2, period = 3, cpus = 6}. */
static int decode_cpu(const struct gt_pb_field *f, struct gt_nri_res *res, gt_err_t *err)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, "LinuxCPU");
	struct gt_pb_reader r = gt_pb_sub(f);
	struct gt_pb_field m;
	int k;
	while ((k = gt_pb_next(&r, &m)) > 0) {
		uint64_t v;
		switch (m.num) {
		case 1:
			if (take_optional(&m, &v, err, "LinuxCPU.shares") < 0)
				return -1;
			res->has_shares = true;
			res->shares = v;
			break;
		case 2:
			if (take_optional(&m, &v, err, "LinuxCPU.quota") < 0)
				return -1;
			res->has_quota = true;
			res->quota = (int64_t)v;
			break;
		case 3:
			if (take_optional(&m, &v, err, "LinuxCPU.period") < 0)
				return -1;
			res->has_period = true;
			res->period = v;
			break;
		case 6:
			if (take_string(&m, &res->cpus, err, "LinuxCPU.cpus") < 0)
				return -1;
			break;
		default:
			break;
		}
	}
	return k < 0 ? bad(err, "LinuxCPU") : 0;
}

/* LinuxResources {memory = 1, cpu = 2, unified = 6 (map<string,string>)}. */
static int decode_resources(const struct gt_pb_field *f, struct gt_nri_res *res, gt_err_t *err)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, "LinuxResources");
	struct gt_pb_reader r = gt_pb_sub(f);
	struct gt_pb_field rf;
	int k;
	while ((k = gt_pb_next(&r, &rf)) > 0) {
		if (rf.num == 1 && decode_memory(&rf, res, err) < 0)
			return -1;
		if (rf.num == 2 && decode_cpu(&rf, res, err) < 0)
			return -1;
		if (rf.num == 6 && take_map_entry(&rf, &res->unified, &res->n_unified, err, "LinuxResources.unified") < 0)
			return -1;
	}
	return k < 0 ? bad(err, "LinuxResources") : 0;
}

/* Container.linux (LinuxContainer) .resources = 3. */
static int decode_linux(const struct gt_pb_field *f, struct gt_nri_create *c, gt_err_t *err)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, "LinuxContainer");
	struct gt_pb_reader r = gt_pb_sub(f);
	struct gt_pb_field lf;
	int k;
	while ((k = gt_pb_next(&r, &lf)) > 0) {
		if (lf.num == 3 && decode_resources(&lf, &c->res, err) < 0)
			return -1;
		if (lf.num == 5 && take_string(&lf, &c->cgroups_path, err, "LinuxContainer.cgroups_path") < 0)
			return -1;
	}
	return k < 0 ? bad(err, "LinuxContainer") : 0;
}

/* Mount {destination = 1, type = 2, source = 3, options = 4 (repeated)}. */
static int decode_mount(const struct gt_pb_field *f, struct gt_nri_create *c, gt_err_t *err)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, "Mount");
	if (c->n_mounts >= GT_NRI_MOUNTS_MAX)
		return gt_error(err, 0, "nri: more than %u mounts", GT_NRI_MOUNTS_MAX);
	struct gt_nri_mount *a = realloc(c->mounts, (c->n_mounts + 1) * sizeof(*a));
	if (a == NULL)
		return gt_error(err, ENOMEM, "nri: Mount");
	c->mounts = a;
	struct gt_nri_mount *m = &a[c->n_mounts++];
	memset(m, 0, sizeof(*m));
	struct gt_pb_reader r = gt_pb_sub(f);
	struct gt_pb_field mf;
	int k;
	while ((k = gt_pb_next(&r, &mf)) > 0) {
		int rc = 0;
		if (mf.num == 1)
			rc = take_string(&mf, &m->dest, err, "Mount.destination");
		else if (mf.num == 2)
			rc = take_string(&mf, &m->type, err, "Mount.type");
		else if (mf.num == 3)
			rc = take_string(&mf, &m->source, err, "Mount.source");
		else if (mf.num == 4) {
			if (m->n_options >= GT_NRI_MOUNT_OPTIONS_MAX)
				return gt_error(err, 0, "nri: more than %u options on a mount", GT_NRI_MOUNT_OPTIONS_MAX);
			char *o = NULL;
			if (take_string(&mf, &o, err, "Mount.options") < 0)
				return -1;
			char **opts = realloc(m->options, (m->n_options + 1) * sizeof(*opts));
			if (opts == NULL) {
				free(o);
				return gt_error(err, ENOMEM, "nri: Mount.options");
			}
			opts[m->n_options++] = o;
			m->options = opts;
		}
		if (rc < 0)
			return -1;
	}
	return k < 0 ? bad(err, "Mount") : 0;
}

/* Container {id = 1, name = 3, annotations = 6, env = 8, mounts = 9, linux = 11}. */
static int decode_container(const struct gt_pb_field *f, struct gt_nri_create *c, gt_err_t *err)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, "Container");
	struct gt_pb_reader r = gt_pb_sub(f);
	struct gt_pb_field m;
	int k;
	while ((k = gt_pb_next(&r, &m)) > 0) {
		int rc = 0;
		switch (m.num) {
		case 1:
			rc = take_string(&m, &c->id, err, "Container.id");
			break;
		case 3:
			rc = take_string(&m, &c->name, err, "Container.name");
			break;
		case 6:
			rc = take_map_entry(&m, &c->annotations, &c->n_annotations, err, "Container.annotations");
			break;
		case 8: {
			if (c->n_env >= GT_NRI_ENV_MAX)
				return gt_error(err, 0, "nri: more than %u env entries", GT_NRI_ENV_MAX);
			char *s = NULL;
			if (take_string(&m, &s, err, "Container.env") < 0)
				return -1;
			char **e = realloc(c->env, (c->n_env + 1) * sizeof(*e));
			if (e == NULL) {
				free(s);
				return gt_error(err, ENOMEM, "nri: Container.env");
			}
			e[c->n_env++] = s;
			c->env = e;
			break;
		}
		case 9:
			rc = decode_mount(&m, c, err);
			break;
		case 11:
			rc = decode_linux(&m, c, err);
			break;
		default:
			break;
		}
		if (rc < 0)
			return -1;
	}
	return k < 0 ? bad(err, "Container") : 0;
}

/* PodSandbox.linux (LinuxPodSandbox) {pod_overhead = 1, pod_resources = 2,
 * cgroup_parent = 3, cgroups_path = 4, namespaces = 5, resources = 6}:
 * pod_resources is the pod's own; resources (6) is the sandbox (pause)
 * container's, and the overhead is the runtime's share, not the
 * containers'. */
static int decode_pod_linux(const struct gt_pb_field *f, struct gt_nri_create *c, gt_err_t *err)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, "LinuxPodSandbox");
	struct gt_pb_reader r = gt_pb_sub(f);
	struct gt_pb_field lf;
	int k;
	while ((k = gt_pb_next(&r, &lf)) > 0) {
		if (lf.num == 2) {
			c->has_pod_res = true;
			if (decode_resources(&lf, &c->pod_res, err) < 0)
				return -1;
		}
		if (lf.num == 3 &&
		    take_string(&lf, &c->pod_cgroup_parent, err, "LinuxPodSandbox.cgroup_parent") < 0)
			return -1;
	}
	return k < 0 ? bad(err, "LinuxPodSandbox") : 0;
}

/* PodSandbox {id = 1, name = 2, namespace = 4, annotations = 6, linux = 8}. */
static int decode_pod(const struct gt_pb_field *f, struct gt_nri_create *c, gt_err_t *err)
{
	if (f->wire != GT_PB_LEN)
		return bad(err, "PodSandbox");
	struct gt_pb_reader r = gt_pb_sub(f);
	struct gt_pb_field m;
	int k;
	while ((k = gt_pb_next(&r, &m)) > 0) {
		int rc = 0;
		if (m.num == 1)
			rc = take_string(&m, &c->pod_id, err, "PodSandbox.id");
		else if (m.num == 2)
			rc = take_string(&m, &c->pod_name, err, "PodSandbox.name");
		else if (m.num == 4)
			rc = take_string(&m, &c->pod_namespace, err, "PodSandbox.namespace");
		else if (m.num == 6)
			rc = take_map_entry(&m, &c->pod_annotations, &c->n_pod_annotations, err,
					    "PodSandbox.annotations");
		else if (m.num == 8)
			rc = decode_pod_linux(&m, c, err);
		if (rc < 0)
			return -1;
	}
	return k < 0 ? bad(err, "PodSandbox") : 0;
}

/* CreateContainerRequest {pod = 1, container = 2} and UpdateContainerRequest
 * {pod = 1, container = 2, linux_resources = 3} share their first fields:
 * one reader serves both, new_res NULL for the first. */
static int decode_request(const uint8_t *data, size_t len, struct gt_nri_create *c, bool *has_new,
			  struct gt_nri_res *new_res, const char *what, gt_err_t *err)
{
	memset(c, 0, sizeof(*c));
	struct gt_pb_reader r = gt_pb_reader(data, len);
	struct gt_pb_field f;
	int k;
	while ((k = gt_pb_next(&r, &f)) > 0) {
		if (f.num == 1 && decode_pod(&f, c, err) < 0)
			return -1;
		if (f.num == 2 && decode_container(&f, c, err) < 0)
			return -1;
		if (f.num == 3 && new_res != NULL) {
			if (decode_resources(&f, new_res, err) < 0)
				return -1;
			*has_new = true;
		}
	}
	if (k < 0)
		return bad(err, what);
	char **strs[] = { &c->pod_id, &c->pod_name, &c->pod_namespace, &c->id, &c->name, &c->res.cpus,
			  &c->pod_res.cpus, &c->cgroups_path, &c->pod_cgroup_parent };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		if (*strs[i] == NULL && (*strs[i] = empty()) == NULL)
			return gt_error(err, ENOMEM, "nri: %s", what);
	return 0;
}

int gt_nri_create_decode(const uint8_t *data, size_t len, struct gt_nri_create *c, gt_err_t *err)
{
	return decode_request(data, len, c, NULL, NULL, "CreateContainerRequest", err);
}

int gt_nri_update_decode(const uint8_t *data, size_t len, struct gt_nri_update *u, gt_err_t *err)
{
	memset(u, 0, sizeof(*u));
	return decode_request(data, len, &u->c, &u->has_new_res, &u->new_res, "UpdateContainerRequest", err);
}

static void free_kvs(struct gt_nri_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void free_res(struct gt_nri_res *r)
{
	free(r->cpus);
	free_kvs(r->unified, r->n_unified);
}

void gt_nri_create_free(struct gt_nri_create *c)
{
	free(c->pod_id);
	free(c->pod_name);
	free(c->pod_namespace);
	free(c->id);
	free(c->name);
	free_res(&c->res);
	free_res(&c->pod_res);
	free(c->cgroups_path);
	free(c->pod_cgroup_parent);
	for (size_t i = 0; i < c->n_mounts; i++) {
		free(c->mounts[i].dest);
		free(c->mounts[i].type);
		free(c->mounts[i].source);
		for (size_t j = 0; j < c->mounts[i].n_options; j++)
			free(c->mounts[i].options[j]);
		free(c->mounts[i].options);
	}
	free(c->mounts);
	for (size_t i = 0; i < c->n_env; i++)
		free(c->env[i]);
	free(c->env);
	free_kvs(c->annotations, c->n_annotations);
	free_kvs(c->pod_annotations, c->n_pod_annotations);
	memset(c, 0, sizeof(*c));
}

void gt_nri_update_free(struct gt_nri_update *u)
{
	gt_nri_create_free(&u->c);
	free_res(&u->new_res);
}

void gt_nri_register_encode(struct gt_pb_writer *w, const char *name, const char *idx)
{
	gt_pb_put_string_field(w, 1, name);
	gt_pb_put_string_field(w, 2, idx);
}

void gt_nri_configure_response_encode(struct gt_pb_writer *w, uint32_t events)
{
	gt_pb_put_varint_field(w, 2, events);
}

void gt_nri_synchronize_response_encode(struct gt_pb_writer *w, bool more)
{
	/* No updates; `more` (field 2, NRI >= v0.8) echoed: a runtime that
	 * sent more = true closes a plugin that answers without it. Older
	 * runtimes skip the unknown field. */
	if (more)
		gt_pb_put_varint_field(w, 2, 1);
}

/* CreateContainerResponse {adjust = 1: ContainerAdjustment {env = 4:
 * KeyValue {key = 1, value = 2}, hooks = 5: Hooks {prestart = 1: Hook
 * {path = 1, args = 2}}}}. */
void gt_nri_create_response_encode(struct gt_pb_writer *w, const struct gt_nri_adjust *a)
{
	if (a->n_env == 0 && a->prestart_hook == NULL)
		return;
	size_t adj = gt_pb_begin(w, 1);
	if (a->record != NULL) {
		/* ContainerAdjustment.annotations = 2: map entries {key = 1, value = 2} */
		size_t e = gt_pb_begin(w, 2);
		gt_pb_put_string_field(w, 1, "gotune.io/env");
		gt_pb_put_string_field(w, 2, a->record);
		gt_pb_end(w, e);
	}
	for (size_t i = 0; i < a->n_env; i++) {
		size_t kv = gt_pb_begin(w, 4);
		gt_pb_put_string_field(w, 1, a->env[i].key);
		gt_pb_put_string_field(w, 2, a->env[i].value);
		gt_pb_end(w, kv);
	}
	if (a->prestart_hook != NULL) {
		size_t hooks = gt_pb_begin(w, 5);
		size_t hook = gt_pb_begin(w, 1);
		gt_pb_put_string_field(w, 1, a->prestart_hook);
		gt_pb_put_string_field(w, 2, "gotune-hook");
		gt_pb_put_string_field(w, 2, "prestart");
		gt_pb_end(w, hook);
		gt_pb_end(w, hooks);
	}
	gt_pb_end(w, adj);
}

static int copy_bounded(const struct gt_pb_field *f, char *out, size_t outsz, gt_err_t *err, const char *what)
{
	if (f->wire != GT_PB_LEN || f->len >= outsz || memchr(f->data, '\0', f->len) != NULL)
		return bad(err, what);
	memcpy(out, f->data, f->len);
	out[f->len] = '\0';
	return 0;
}

int gt_nri_register_decode(const uint8_t *data, size_t len, char *name, size_t namesz, char *idx, size_t idxsz,
			   gt_err_t *err)
{
	name[0] = idx[0] = '\0';
	struct gt_pb_reader r = gt_pb_reader(data, len);
	struct gt_pb_field f;
	int k;
	while ((k = gt_pb_next(&r, &f)) > 0) {
		if (f.num == 1 && copy_bounded(&f, name, namesz, err, "RegisterPluginRequest.plugin_name") < 0)
			return -1;
		if (f.num == 2 && copy_bounded(&f, idx, idxsz, err, "RegisterPluginRequest.plugin_idx") < 0)
			return -1;
	}
	return k < 0 ? bad(err, "RegisterPluginRequest") : 0;
}

void gt_nri_configure_encode(struct gt_pb_writer *w, const char *config, const char *runtime_name,
			     const char *runtime_version, int64_t registration_timeout_ms, int64_t request_timeout_ms)
{
	if (config != NULL && config[0] != '\0')
		gt_pb_put_string_field(w, 1, config);
	gt_pb_put_string_field(w, 2, runtime_name);
	gt_pb_put_string_field(w, 3, runtime_version);
	gt_pb_put_varint_field(w, 4, (uint64_t)registration_timeout_ms);
	gt_pb_put_varint_field(w, 5, (uint64_t)request_timeout_ms);
}

int gt_nri_configure_response_decode(const uint8_t *data, size_t len, uint32_t *events, gt_err_t *err)
{
	*events = 0;
	struct gt_pb_reader r = gt_pb_reader(data, len);
	struct gt_pb_field f;
	int k;
	while ((k = gt_pb_next(&r, &f)) > 0)
		if (f.num == 2) {
			if (f.wire != GT_PB_VARINT || f.v > UINT32_MAX)
				return bad(err, "ConfigureResponse.events");
			*events = (uint32_t)f.v;
		}
	return k < 0 ? bad(err, "ConfigureResponse") : 0;
}
