#include "resources.h"
#include "cgvalue.h"
#include "json.h"
#include "memfmt.h"
#include "mountinfo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MOUNTS 256u
#define MAX_OPTIONS 64u

static yajl_val member(yajl_val obj, const char *key, const char *path, struct gt_notes *notes)
{
	yajl_val v = NULL;
	if (gt_json_get(obj, key, &v) < 0) {
		gt_note(notes, "%s%s is duplicated; ignored", path, key);
		return NULL;
	}
	return YAJL_IS_NULL(v) ? NULL : v;
}

void gt_limits_init(struct gt_limits *l, const struct gt_host *h)
{
	memset(l, 0, sizeof(*l));
	l->period = GT_DEFAULT_CFS_PERIOD;
	l->host_cpus = h->online;
	l->affinity_cpus = h->affinity;
}

void gt_limits_set_quota(struct gt_limits *l, int64_t quota)
{
	/* -1 and 0 mean no limit. */
	if (quota > 0) {
		l->has_quota = true;
		l->quota = quota;
	}
}

int gt_limits_set_period(struct gt_limits *l, uint64_t period)
{
	if (period == 0)
		return -1;
	l->period = period;
	l->period_from_spec = true;
	return 0;
}

int gt_limits_set_cpus(struct gt_limits *l, const char *cpus, const struct gt_host *h)
{
	struct gt_cpumask m;
	int n = gt_cpuset_parse(cpus, &m);
	if (n < 0)
		return -1;
	l->cpuset_listed = n;
	/* A listed CPU that is offline is no CPU to run on. */
	l->cpuset_cpus = n == 0 ? 0 : gt_cpumask_count_and(&m, &h->online_mask);
	if (n > 0 && l->cpuset_cpus == 0)
		l->cpuset_cpus = n;
	return 0;
}

void gt_limits_set_shares(struct gt_limits *l, uint64_t shares)
{
	if (shares > 0) {
		l->has_shares = true;
		l->shares = shares;
	}
}

void gt_limits_set_memory(struct gt_limits *l, int64_t limit)
{
	/* Engines write huge values (page-rounded 2^63-1) to mean
	 * "unlimited"; they are not limits. */
	if (limit > 0 && limit < (INT64_C(1) << 62)) {
		l->has_memory = true;
		l->memory = limit;
	} else {
		l->has_memory = false;
	}
}

static void human(uint64_t b, char *out, size_t outsz)
{
	gt_memhuman(b, out, outsz);
}

void gt_limits_apply_unified(struct gt_limits *l, const char *key, const char *value, const struct gt_host *h,
			     struct gt_notes *notes)
{
	bool unlimited;
	uint64_t bytes;
	char was[40];
	if (strcmp(key, "memory.max") == 0) {
		if (gt_cg_memory(value, &unlimited, &bytes) < 0)
			goto bad;
		if (l->has_memory)
			human((uint64_t)l->memory, was, sizeof(was));
		if (unlimited || bytes >= (UINT64_C(1) << 62)) {
			snprintf(l->memory_from, sizeof(l->memory_from), "unified memory.max=\"%.20s\"%s%s", value,
				 l->has_memory ? " over memory.limit " : "", l->has_memory ? was : "");
			l->has_memory = false;
		} else {
			l->has_memory = true;
			l->memory = (int64_t)bytes;
			snprintf(l->memory_from, sizeof(l->memory_from), "unified memory.max");
		}
	} else if (strcmp(key, "memory.high") == 0) {
		if (gt_cg_memory(value, &unlimited, &bytes) < 0)
			goto bad;
		l->has_high = !unlimited && bytes < (UINT64_C(1) << 62);
		l->high = l->has_high ? (int64_t)bytes : 0;
		snprintf(l->high_from, sizeof(l->high_from), "unified memory.high");
	} else if (strcmp(key, "cpu.max") == 0) {
		struct gt_cpu_max cm;
		if (gt_cg_cpu_max(value, &cm) < 0)
			goto bad;
		if (cm.has_period) {
			l->period = cm.period;
			l->period_from_spec = true;
		}
		if (cm.unlimited || cm.quota > INT64_MAX) {
			char q[48] = "";
			if (l->has_quota)
				snprintf(q, sizeof(q), " over quota %" PRId64, l->quota);
			snprintf(l->quota_from, sizeof(l->quota_from), "unified cpu.max=\"%.24s\"%s", value, q);
			l->has_quota = false;
		} else {
			l->has_quota = true;
			l->quota = (int64_t)cm.quota;
			snprintf(l->quota_from, sizeof(l->quota_from), "unified cpu.max");
		}
	} else if (strcmp(key, "cpuset.cpus") == 0) {
		/* The CPUs the container may run on, over cpu.cpus: what Go
		 * counts (sched_getaffinity) and so a cap on GOMAXPROCS. An
		 * empty value is "the parent's", as no cpuset at all. */
		if (value[0] == '\0') {
			l->cpuset_cpus = l->cpuset_listed = 0;
		} else if (gt_limits_set_cpus(l, value, h) < 0) {
			goto bad;
		}
	} else if (strcmp(key, "cpu.weight") == 0) {
		uint64_t w;
		if (gt_cg_cpu_weight(value, &w) < 0)
			goto bad;
		l->weight = w;
		l->has_shares = true;
		l->shares = gt_weight_to_shares(w);
	}
	return;
bad:
	gt_note(notes, "unified %.40s=\"%.30s\" is not a value the kernel takes (the runtime will refuse it); ignored",
		key, value);
}

void gt_limits_apply_pod(struct gt_limits *l, const struct gt_pod_limits *pod, bool kubernetes)
{
	if (pod->has_memory && (!l->has_memory || pod->memory < (uint64_t)l->memory) &&
	    pod->memory < (UINT64_C(1) << 62)) {
		l->memory_shared = kubernetes && !l->has_memory;
		l->has_memory = true;
		l->memory = (int64_t)pod->memory;
		snprintf(l->memory_from, sizeof(l->memory_from), "pod %.100s", pod->where);
	}
	if (pod->has_high && (!l->has_high || pod->high < (uint64_t)l->high) && pod->high < (UINT64_C(1) << 62)) {
		l->has_high = true;
		l->high = (int64_t)pod->high;
		snprintf(l->high_from, sizeof(l->high_from), "pod %.100s memory.high", pod->where);
	}
	/* Compare CPUs per period, not raw quotas: periods may differ. */
	if (pod->has_quota && pod->period > 0 && pod->quota <= INT64_MAX &&
	    (!l->has_quota || (double)pod->quota / (double)pod->period < (double)l->quota / (double)l->period)) {
		l->quota_from_pod = true;
		l->leaf_has_quota = l->has_quota;
		l->leaf_quota = l->quota;
		l->leaf_period = l->period;
		l->has_quota = true;
		l->quota = (int64_t)pod->quota;
		l->period = pod->period;
		l->period_from_spec = true;
		snprintf(l->quota_from, sizeof(l->quota_from), "pod %.100s", pod->where);
	}
	if (pod->cpus > 0)
		l->pod_cpus = pod->cpus;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

void gt_limits_add_tmpfs(struct gt_limits *l, const char *dest, uint64_t size, const char *how)
{
	bool standard = strcmp(dest, "/dev/shm") == 0 || strcmp(dest, "/run") == 0;
	l->tmpfs_bytes = add_sat(l->tmpfs_bytes, size);
	if (standard)
		l->tmpfs_standard_bytes = add_sat(l->tmpfs_standard_bytes, size);
	if (l->n_tmpfs == GT_TMPFS_MAX) {
		l->tmpfs_more++;
		return;
	}
	struct gt_tmpfs *t = &l->tmpfs[l->n_tmpfs++];
	snprintf(t->dest, sizeof(t->dest), "%s", dest);
	t->size = size;
	t->standard = standard;
	snprintf(t->how, sizeof(t->how), "%s", how);
}

static bool has_option(const struct gt_mount_desc *m, const char *opt)
{
	for (size_t i = 0; i < m->n_options; i++)
		if (strcmp(m->options[i], opt) == 0)
			return true;
	return false;
}

/* The last size= (the kernel applies options in order). */
static const char *size_option(const struct gt_mount_desc *m)
{
	const char *size = NULL;
	for (size_t i = 0; i < m->n_options; i++)
		if (strncmp(m->options[i], "size=", 5) == 0)
			size = m->options[i] + 5;
	return size;
}

/* The host's mount table, read once per spec when first needed (or the
 * host's watched table, read again only when it changed). */
struct lazy_mounts {
	bool read;
	const struct gt_mounts *use;
	struct gt_mounts m;
};

static const struct gt_mounts *host_mounts(struct lazy_mounts *lm, const struct gt_host *h, struct gt_notes *notes)
{
	if (!lm->read) {
		lm->read = true;
		gt_err_t err = NULL;
		lm->use = gt_mounts_get(h->mounts_watch, h->mountinfo, &lm->m, &err);
		if (lm->use == NULL)
			gt_note(notes, "the host's mount table was not read: %.100s", gt_err_msg(err));
		gt_err_free(&err);
	}
	return lm->use;
}

static void add_mounts(struct gt_limits *l, const struct gt_mount_desc *ms, size_t n, const struct gt_host *h,
		       struct lazy_mounts *lm, struct gt_notes *notes)
{
	for (size_t i = 0; i < n; i++) {
		const struct gt_mount_desc *m = &ms[i];
		if (m->dest == NULL || strcmp(m->dest, "/dev") == 0 || has_option(m, "ro"))
			continue;
		bool bind = (m->type != NULL && strcmp(m->type, "bind") == 0) || has_option(m, "bind") ||
			    has_option(m, "rbind");
		if (!bind && m->type != NULL && strcmp(m->type, "tmpfs") == 0) {
			const char *size = size_option(m);
			uint64_t bytes;
			char how[64];
			if (size == NULL) {
				if (strcmp(m->dest, "/dev/shm") == 0)
					gt_note(notes, "tmpfs /dev/shm has no size= (half the host's RAM): not counted");
				continue;
			}
			if (gt_tmpfs_size(size, h->total_ram, &bytes) < 0) {
				gt_note(notes, "tmpfs %.60s size=%.20s is not a size; not counted", m->dest, size);
				continue;
			}
			snprintf(how, sizeof(how), "tmpfs size=%.40s", size);
			if (bytes > 0)
				gt_limits_add_tmpfs(l, m->dest, bytes, how);
			continue;
		}
		if (!bind || m->source == NULL || m->source[0] != '/' || !h->probe)
			continue;
		const struct gt_mounts *host = host_mounts(lm, h, notes);
		if (host == NULL)
			continue;
		/* Only the root of a tmpfs mount of its own: a bind of a
		 * directory on a shared tmpfs (/run) is not the container's to
		 * fill. */
		const struct gt_mount *hm = gt_mounts_at(host, m->source);
		char size[40], how[64];
		uint64_t bytes;
		if (hm == NULL || strcmp(hm->fstype, "tmpfs") != 0 || strcmp(hm->root, "/") != 0 ||
		    !gt_mount_option(hm->super, "size", size, sizeof(size)) ||
		    gt_tmpfs_size(size, h->total_ram, &bytes) < 0 || bytes == 0)
			continue;
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = ms[j].source != NULL && strcmp(ms[j].source, m->source) == 0 && !has_option(&ms[j], "ro");
		if (dup)
			continue;
		snprintf(how, sizeof(how), "bind of a tmpfs, size=%.30s", size);
		gt_limits_add_tmpfs(l, m->dest, bytes, how);
	}
}

void gt_limits_add_mounts(struct gt_limits *l, const struct gt_mount_desc *ms, size_t n, const struct gt_host *h,
			  struct gt_notes *notes)
{
	struct lazy_mounts lm = { 0 };
	add_mounts(l, ms, n, h, &lm, notes);
	gt_mounts_free(&lm.m);
}

static void mounts_from_spec(yajl_val spec, struct gt_limits *l, const struct gt_host *h, struct lazy_mounts *lm,
			     struct gt_notes *notes)
{
	yajl_val mounts = member(spec, "mounts", "", notes);
	if (!YAJL_IS_ARRAY(mounts) || mounts->u.array.len == 0)
		return;
	size_t cap = mounts->u.array.len < MAX_MOUNTS ? mounts->u.array.len : MAX_MOUNTS;
	struct gt_mount_desc *ms = calloc(cap, sizeof(*ms));
	const char **opts = calloc(cap * MAX_OPTIONS, sizeof(*opts));
	if (ms == NULL || opts == NULL) {
		gt_note(notes, "mounts not read: out of memory");
		free(ms);
		free(opts);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < mounts->u.array.len && n < cap; i++) {
		yajl_val m = mounts->u.array.values[i], v;
		if (!YAJL_IS_OBJECT(m))
			continue;
		struct gt_mount_desc *d = &ms[n];
		const char **o = opts + n * MAX_OPTIONS;
		if (gt_json_get(m, "destination", &v) == 1 && YAJL_IS_STRING(v))
			d->dest = YAJL_GET_STRING(v);
		if (gt_json_get(m, "type", &v) == 1 && YAJL_IS_STRING(v))
			d->type = YAJL_GET_STRING(v);
		if (gt_json_get(m, "source", &v) == 1 && YAJL_IS_STRING(v))
			d->source = YAJL_GET_STRING(v);
		if (gt_json_get(m, "options", &v) == 1 && YAJL_IS_ARRAY(v))
			for (size_t k = 0; k < v->u.array.len && d->n_options < MAX_OPTIONS; k++)
				if (YAJL_IS_STRING(v->u.array.values[k]))
					o[d->n_options++] = YAJL_GET_STRING(v->u.array.values[k]);
		d->options = o;
		n++;
	}
	add_mounts(l, ms, n, h, lm, notes);
	free(ms);
	free(opts);
}

bool gt_limits_read_pod(struct gt_limits *l, const char *cgroups_path, const struct gt_host *h,
			const struct gt_mounts *mounts, bool kubernetes)
{
	char parent[1024];
	gt_err_t err = NULL;
	if (gt_cgroup_parent_path(cgroups_path, parent, sizeof(parent), &err) < 0) {
		snprintf(l->pod, sizeof(l->pod), "not read: %.180s", gt_err_msg(err));
		gt_err_free(&err);
		return false;
	}
	if (parent[0] == '\0')
		return true;	/* at the root: no pod */
	struct gt_pod_limits pod;
	if (gt_cgroup_read_limits(parent, h, mounts, &pod, &err) < 0) {
		snprintf(l->pod, sizeof(l->pod), "cgroup %.100s not read: %.90s", parent, gt_err_msg(err));
		gt_err_free(&err);
		return false;
	}
	if (!pod.found) {
		snprintf(l->pod, sizeof(l->pod), "%.110s: not found (pod limits not counted)", pod.where);
		return false;
	}
	char mem[32] = "", q[48] = "", c[24] = "";
	if (pod.has_memory) {
		strcpy(mem, " memory ");
		human(pod.memory, mem + 8, sizeof(mem) - 8);
	}
	if (pod.has_quota)
		snprintf(q, sizeof(q), " cpu quota %" PRIu64 "/%" PRIu64, pod.quota, pod.period);
	if (pod.cpus > 0)
		snprintf(c, sizeof(c), " cpuset %d CPUs", pod.cpus);
	snprintf(l->pod, sizeof(l->pod), "%.110s:%s%s%s%s", pod.where, mem, q, c,
		 pod.has_memory || pod.has_quota || pod.cpus > 0 ? "" : " no limits");
	gt_limits_apply_pod(l, &pod, kubernetes);
	return true;
}

static void pod_from_cgroup(yajl_val linux_, struct gt_limits *l, const struct gt_host *h, struct lazy_mounts *lm,
			    bool kubernetes, struct gt_notes *notes)
{
	yajl_val cp = member(linux_, "cgroupsPath", "linux.", notes);
	if (!YAJL_IS_STRING(cp) || YAJL_GET_STRING(cp)[0] == '\0')
		return;
	const struct gt_mounts *ms = h->cgroupfs == NULL ? host_mounts(lm, h, notes) : NULL;
	if (h->cgroupfs == NULL && ms == NULL)
		return;
	gt_limits_read_pod(l, YAJL_GET_STRING(cp), h, ms, kubernetes);
}

void gt_limits_from_spec(yajl_val spec, const struct gt_host *h, const struct gt_limits_opts *opts,
			 struct gt_limits *l, struct gt_notes *notes)
{
	gt_limits_init(l, h);

	yajl_val linux_ = member(spec, "linux", "", notes);
	yajl_val res = member(linux_, "resources", "linux.", notes);
	yajl_val cpu = member(res, "cpu", "linux.resources.", notes);
	yajl_val mem = member(res, "memory", "linux.resources.", notes);
	yajl_val v;

	if ((v = member(cpu, "quota", "cpu.", notes)) != NULL) {
		int64_t q;
		if (gt_json_int64(v, &q) < 0)
			gt_note(notes, "cpu.quota is not an integer; ignored");
		else
			gt_limits_set_quota(l, q);
	}
	if ((v = member(cpu, "period", "cpu.", notes)) != NULL) {
		uint64_t p;
		/* CRI-O writes period 0 for every container without a CPU
		 * limit: worth a note only where a quota needs the period. */
		if ((gt_json_uint64(v, &p) < 0 || gt_limits_set_period(l, p) < 0) && l->has_quota)
			gt_note(notes, "cpu.period is not a positive integer; using %u", GT_DEFAULT_CFS_PERIOD);
	}
	if ((v = member(cpu, "cpus", "cpu.", notes)) != NULL) {
		if (!YAJL_IS_STRING(v) || gt_limits_set_cpus(l, YAJL_GET_STRING(v), h) < 0)
			gt_note(notes, "cpu.cpus is not a valid CPU list; ignored");
	}
	if ((v = member(cpu, "shares", "cpu.", notes)) != NULL) {
		uint64_t s;
		if (gt_json_uint64(v, &s) < 0)
			gt_note(notes, "cpu.shares is not a non-negative integer; ignored");
		else
			gt_limits_set_shares(l, s);
	}
	if ((v = member(mem, "limit", "memory.", notes)) != NULL) {
		int64_t m;
		if (gt_json_int64(v, &m) < 0)
			gt_note(notes, "memory.limit is not an integer; ignored");
		else
			gt_limits_set_memory(l, m);
	}
	/* A map: Go engines keep the last of a repeated key, so apply in
	 * order and let a later one win. */
	yajl_val uni = member(res, "unified", "linux.resources.", notes);
	if (uni != NULL && !YAJL_IS_OBJECT(uni))
		gt_note(notes, "linux.resources.unified is not an object; ignored");
	for (size_t i = 0; YAJL_IS_OBJECT(uni) && i < uni->u.object.len; i++) {
		yajl_val uv = uni->u.object.values[i];
		if (YAJL_IS_STRING(uv))
			gt_limits_apply_unified(l, uni->u.object.keys[i], YAJL_GET_STRING(uv), h, notes);
		else
			gt_note(notes, "unified %.60s is not a string; ignored", uni->u.object.keys[i]);
	}
	struct lazy_mounts lm = { 0 };
	mounts_from_spec(spec, l, h, &lm, notes);
	if (opts != NULL && opts->pod_limits && h->probe)
		pod_from_cgroup(linux_, l, h, &lm, opts->kubernetes, notes);
	gt_mounts_free(&lm.m);
}

int gt_limits_cpu_cap(const struct gt_limits *l, bool inherit)
{
	int cap = l->host_cpus > 0 ? l->host_cpus : 1;
	if (l->cpuset_cpus > 0) {
		if (l->cpuset_cpus < cap)
			cap = l->cpuset_cpus;
		return cap;
	}
	/* No cpuset of its own: the container lands in its parent's. */
	if (l->pod_cpus > 0 && l->pod_cpus < cap)
		cap = l->pod_cpus;
	if (inherit && l->affinity_cpus > 0 && l->affinity_cpus < cap)
		cap = l->affinity_cpus;
	return cap;
}

uint64_t gt_tmpfs_counted(const struct gt_limits *l, enum gt_tmpfs_mode mode)
{
	switch (mode) {
	case GT_TMPFS_OFF: return 0;
	case GT_TMPFS_VOLUMES: return l->tmpfs_bytes - l->tmpfs_standard_bytes;
	case GT_TMPFS_ALL: return l->tmpfs_bytes;
	}
	return 0;
}
