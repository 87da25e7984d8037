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

void gt_limits_init(struct gt_limits *l, int host_cpus)
{
	memset(l, 0, sizeof(*l));
	l->period = GT_DEFAULT_CFS_PERIOD;
	l->host_cpus = host_cpus;
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

int gt_limits_set_cpus(struct gt_limits *l, const char *cpus)
{
	int n = gt_cpuset_count(cpus);
	if (n < 0)
		return -1;
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
	}
}

void gt_limits_from_spec(yajl_val spec, int host_cpus, struct gt_limits *l, struct gt_notes *notes)
{
	gt_limits_init(l, host_cpus);

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
		if (gt_json_uint64(v, &p) < 0 || gt_limits_set_period(l, p) < 0)
			gt_note(notes, "cpu.period is not a positive integer; using %u", GT_DEFAULT_CFS_PERIOD);
	}
	if ((v = member(cpu, "cpus", "cpu.", notes)) != NULL) {
		if (!YAJL_IS_STRING(v) || gt_limits_set_cpus(l, YAJL_GET_STRING(v)) < 0)
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
}

int gt_limits_cpu_cap(const struct gt_limits *l)
{
	int cap = l->host_cpus > 0 ? l->host_cpus : 1;
	if (l->cpuset_cpus > 0 && l->cpuset_cpus < cap)
		cap = l->cpuset_cpus;
	return cap;
}
