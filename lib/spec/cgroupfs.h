/* A container's pod-level limits as the host's cgroup filesystem holds
 * them: the cgroup its cgroupsPath places it under (the pod's cgroup under
 * Kubernetes, a --cgroup-parent elsewhere) exists before the runtime
 * creates the container's own, and its limits bound the container's. Read
 * with bounded, confined reads: only a few named files, regular files
 * only, never a path that leaves the cgroup mount. */
#ifndef GOTUNE_CGROUPFS_H
#define GOTUNE_CGROUPFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hostinfo.h"
#include "mountinfo.h"

struct gt_pod_limits {
	bool has_memory;
	uint64_t memory;
	bool has_high;
	uint64_t high;
	bool has_quota;
	uint64_t quota, period;
	int cpus;		/* the cgroup's effective cpuset, online CPUs only; 0 unknown */
	/* The cgroup exists under some controller read: a path that is not
	 * there (another cgroup namespace, a tree not mounted) says nothing,
	 * which is not the same as "no limits". */
	bool found;
	char where[200];	/* "cgroup v1 /kubepods/burstable/pod1", "" when nothing was read */
};

/* The cgroup a container with this cgroupsPath is created under, as an
 * absolute path in the cgroup hierarchy: the directory part of a cgroupfs
 * path ("/kubepods/burstable/pod1/ctr" -> "/kubepods/burstable/pod1"), or
 * the slice of a systemd "slice:prefix:name" path expanded as runc's
 * ExpandSlice and crun do ("kubepods-burstable-pod1.slice" ->
 * "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice").
 * Returns 0 with out "" when there is no parent below the root, -1 (err
 * says why) for a path gotune does not read: relative, with "." or ".."
 * components, too long or too deep. */
int gt_cgroup_parent_path(const char *cgroups_path, char *out, size_t outsz, gt_err_t *err);

/* Reads the limits of cgroup `parent` (as above), finding the cgroup mounts
 * in mounts (the host's mount table, NULL to read it now): memory.max,
 * memory.high, cpu.max and cpuset.cpus.effective on cgroup v2;
 * memory.limit_in_bytes, cpu.cfs_quota_us, cpu.cfs_period_us and
 * cpuset.effective_cpus on v1 (a hybrid host has v1 controllers and an
 * empty v2 tree); each controller where the host mounts it. A file that is
 * missing is no limit; out->found says whether the cgroup is there at all.
 * -1 only when no cgroup filesystem is found. */
int gt_cgroup_read_limits(const char *parent, const struct gt_host *h, const struct gt_mounts *mounts,
			  struct gt_pod_limits *out, gt_err_t *err);

#endif
