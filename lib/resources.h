/* The CPU and memory a container really has, from linux.resources. */
#ifndef GOTUNE_RESOURCES_H
#define GOTUNE_RESOURCES_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "notes.h"

#define GT_DEFAULT_CFS_PERIOD 100000u

struct gt_limits {
	bool has_quota;		/* quota > 0: -1 and 0 mean no limit */
	int64_t quota;
	uint64_t period;	/* the spec's, or GT_DEFAULT_CFS_PERIOD */
	bool period_from_spec;
	int cpuset_cpus;	/* CPUs in cpu.cpus, or 0 when unset */
	bool has_shares;
	uint64_t shares;
	bool has_memory;	/* 0 < limit < 2^62 */
	int64_t memory;
	int host_cpus;		/* online CPUs of the host, not from the spec */
};

/* The same rules for every source of limits (a spec, an NRI request):
 * values that mean "no limit" leave the field unset. The int setters
 * return -1 on an invalid value, which is then ignored. */
void gt_limits_init(struct gt_limits *l, int host_cpus);
void gt_limits_set_quota(struct gt_limits *l, int64_t quota);
int gt_limits_set_period(struct gt_limits *l, uint64_t period);
int gt_limits_set_cpus(struct gt_limits *l, const char *cpus);
void gt_limits_set_shares(struct gt_limits *l, uint64_t shares);
void gt_limits_set_memory(struct gt_limits *l, int64_t limit);

/* Reads linux.resources from a spec tree. Malformed values are treated as
 * absent and noted; this never fails. */
void gt_limits_from_spec(yajl_val spec, int host_cpus, struct gt_limits *out, struct gt_notes *notes);

/* CPUs a process in this container may run on: what Go picks by itself. */
int gt_limits_cpu_cap(const struct gt_limits *l);

#endif
