#include "resources.h"
#include "cpuset.h"
#include "json.h"

#include <string.h>

static yajl_val member(yajl_val obj, const char *key, const char *path, struct gt_notes *notes)
{
	yajl_val v = NULL;
	if (gt_json_get(obj, key, &v) < 0) {
		gt_note(notes, "%s%s is duplicated; ignored", path, key);
		return NULL;
	}
	return YAJL_IS_NULL(v) ? NULL : v;
}

void gt_limits_from_spec(yajl_val spec, int host_cpus, struct gt_limits *l, struct gt_notes *notes)
{
	memset(l, 0, sizeof(*l));
	l->period = GT_DEFAULT_CFS_PERIOD;
	l->host_cpus = host_cpus;

	yajl_val linux_ = member(spec, "linux", "", notes);
	yajl_val res = member(linux_, "resources", "linux.", notes);
	yajl_val cpu = member(res, "cpu", "linux.resources.", notes);
	yajl_val mem = member(res, "memory", "linux.resources.", notes);
	yajl_val v;

	if ((v = member(cpu, "quota", "cpu.", notes)) != NULL) {
		int64_t q;
		if (gt_json_int64(v, &q) < 0)
			gt_note(notes, "cpu.quota is not an integer; ignored");
		else if (q > 0) {
			l->has_quota = true;
			l->quota = q;
		}
	}
	if ((v = member(cpu, "period", "cpu.", notes)) != NULL) {
		uint64_t p;
		if (gt_json_uint64(v, &p) < 0 || p == 0)
			gt_note(notes, "cpu.period is not a positive integer; using %u", GT_DEFAULT_CFS_PERIOD);
		else {
			l->period = p;
			l->period_from_spec = true;
		}
	}
	if ((v = member(cpu, "cpus", "cpu.", notes)) != NULL) {
		int n = YAJL_IS_STRING(v) ? gt_cpuset_count(YAJL_GET_STRING(v)) : -1;
		if (n < 0)
			gt_note(notes, "cpu.cpus is not a valid CPU list; ignored");
		else
			l->cpuset_cpus = n;
	}
	if ((v = member(cpu, "shares", "cpu.", notes)) != NULL) {
		uint64_t s;
		if (gt_json_uint64(v, &s) < 0)
			gt_note(notes, "cpu.shares is not a non-negative integer; ignored");
		else if (s > 0) {
			l->has_shares = true;
			l->shares = s;
		}
	}
	if ((v = member(mem, "limit", "memory.", notes)) != NULL) {
		int64_t m;
		if (gt_json_int64(v, &m) < 0)
			gt_note(notes, "memory.limit is not an integer; ignored");
		/* Engines write huge values (page-rounded 2^63-1) to mean
		 * "unlimited"; they are not limits. */
		else if (m > 0 && m < (INT64_C(1) << 62)) {
			l->has_memory = true;
			l->memory = m;
		}
	}
}

int gt_limits_cpu_cap(const struct gt_limits *l)
{
	int cap = l->host_cpus > 0 ? l->host_cpus : 1;
	if (l->cpuset_cpus > 0 && l->cpuset_cpus < cap)
		cap = l->cpuset_cpus;
	return cap;
}
