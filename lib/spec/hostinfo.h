/* What the machine gotune runs on contributes to a plan: its online CPUs,
 * this process's CPU affinity, and where to read the cgroup filesystem and
 * the mount table (the real ones, or copies for planning elsewhere). */
#ifndef GOTUNE_HOSTINFO_H
#define GOTUNE_HOSTINFO_H

#include <stdbool.h>
#include <stdint.h>

#include "cpuset.h"

struct gt_mounts_watch;

struct gt_host {
	int online;			/* online CPUs, at least 1 */
	struct gt_cpumask online_mask;
	/* Online CPUs in this process's affinity, 0 when unknown. The runtime
	 * a hook or wrapper starts has the same affinity; whether the
	 * container's init keeps it depends on the runtime (see README). */
	int affinity;
	bool probe;			/* read the cgroup filesystem and the mount table */
	const char *cgroupfs;		/* NULL: the host's cgroup mounts; else a directory laid out as one */
	const char *mountinfo;		/* NULL: /proc/self/mountinfo */
	/* Set: the mount table is read through it, again only once changed
	 * (a long-lived process); NULL: read at each use. */
	struct gt_mounts_watch *mounts_watch;
	uint64_t total_ram;		/* bytes, for tmpfs size=N%; 0 when unknown */
};

/* This machine, read now. */
void gt_host_init(struct gt_host *h);

/* A machine of cpus online CPUs (0 to cpus - 1), nothing else known and
 * nothing probed: `plan --host-cpus N`, tests. */
void gt_host_fixed(struct gt_host *h, int cpus);

/* Online CPUs of the host (/sys/devices/system/cpu/online), which is what a
 * container without a cpuset can run on; at least 1. */
int gt_host_online_cpus(void);

#endif
