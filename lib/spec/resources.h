/* The CPU and memory a container really has: linux.resources (with the
 * cgroup v2 `unified` map over it), the memory-backed mounts charged to
 * the same memory cgroup, and the limits of the pod it runs in. */
#ifndef GOTUNE_RESOURCES_H
#define GOTUNE_RESOURCES_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "cgroupfs.h"
#include "mountinfo.h"
#include "hostinfo.h"
#include "notes.h"
#include "policy.h"

#define GT_DEFAULT_CFS_PERIOD 100000u
#define GT_TMPFS_MAX 8u

/* A writable, sized tmpfs the container can fill: its pages are charged to
 * the container's memory cgroup like the Go heap. */
struct gt_tmpfs {
	char dest[96];		/* where the container sees it */
	uint64_t size;
	char how[64];		/* "tmpfs size=65536k", "bind of a tmpfs (size=65536k)" */
	/* /dev/shm or /run, which runtimes give every container (64 MiB in
	 * runc's, crun's, containerd's and Podman's defaults) whether or not
	 * anything is written there. */
	bool standard;
};

struct gt_limits {
	bool has_quota;		/* quota > 0: -1 and 0 mean no limit */
	int64_t quota;
	uint64_t period;	/* the spec's, or GT_DEFAULT_CFS_PERIOD */
	bool period_from_spec;
	/* Where a limit came from, for the plan: "" linux.resources, else
	 * "unified cpu.max", "pod cgroup v1 /kubepods/pod1", "NRI pod
	 * resources". When unified removed a limit, the _from text says so. */
	char quota_from[120];
	/* The quota came from a parent cgroup (the pod's), lower than the
	 * container's own or where it has none. Go >= 1.25 reads only the
	 * cgroup it runs in (runtime/cgroup_linux.go: "We only read the limit
	 * from the leaf cgroup"), so its own pick rests on the leaf_ fields:
	 * what the container's own cgroup holds. */
	bool quota_from_pod;
	bool leaf_has_quota;
	int64_t leaf_quota;
	uint64_t leaf_period;
	int cpuset_cpus;	/* CPUs in cpu.cpus that are online, or 0 when unset */
	int cpuset_listed;	/* CPUs cpu.cpus lists */
	int pod_cpus;		/* the pod cgroup's effective cpuset (online CPUs), 0 unknown */
	int affinity_cpus;	/* online CPUs in the hook's own affinity, 0 unknown */
	bool has_shares;
	uint64_t shares;
	uint64_t weight;	/* unified cpu.weight the shares stand for, 0 none */
	bool has_memory;	/* 0 < limit < 2^62 */
	int64_t memory;
	char memory_from[120];
	/* The memory limit is the pod cgroup's and the container has none of
	 * its own, in a Kubernetes pod: there the kubelet limits the pod
	 * cgroup only when every regular and init container declares a limit
	 * (pkg/kubelet/cm/helpers_linux.go ResourceConfigForPod,
	 * memoryLimitsDeclared), so the limit is the sum of the others'
	 * budgets, and a container without one (an ephemeral `kubectl debug`
	 * container) shares what they leave. */
	bool memory_shared;
	bool has_high;		/* memory.high below 2^62 (unified, or the pod's) */
	int64_t high;
	char high_from[120];
	uint64_t tmpfs_bytes;	/* the sum over tmpfs[] (and the ones not listed) */
	uint64_t tmpfs_standard_bytes;	/* the part in /dev/shm and /run */
	size_t n_tmpfs, tmpfs_more;
	struct gt_tmpfs tmpfs[GT_TMPFS_MAX];
	char pod[260];		/* where pod-level limits were looked for and what came of it */
	int host_cpus;		/* online CPUs of the host, not from the spec */
};

/* The same rules for every source of limits (a spec, an NRI request):
 * values that mean "no limit" leave the field unset. The int setters
 * return -1 on an invalid value, which is then ignored. */
void gt_limits_init(struct gt_limits *l, const struct gt_host *h);
void gt_limits_set_quota(struct gt_limits *l, int64_t quota);
int gt_limits_set_period(struct gt_limits *l, uint64_t period);
int gt_limits_set_cpus(struct gt_limits *l, const char *cpus, const struct gt_host *h);
void gt_limits_set_shares(struct gt_limits *l, uint64_t shares);
void gt_limits_set_memory(struct gt_limits *l, int64_t limit);

/* One entry of linux.resources.unified, applied over what is set: runc
 * (fs2 Manager.Set calls setUnified after every other controller) and crun
 * (update_cgroup_v2_resources: write_unified_resources last, "They have
 * higher precedence and override any previous setting") write the map
 * after memory.max and cpu.max, so its memory.max, memory.high, cpu.max
 * and cpu.weight win. Other keys are not limits gotune reads. */
void gt_limits_apply_unified(struct gt_limits *l, const char *key, const char *value, const struct gt_host *h,
			     struct gt_notes *notes);

/* A pod-level limit bounds the container's: used where the container has
 * none, and where it is lower. kubernetes: see memory_shared. */
void gt_limits_apply_pod(struct gt_limits *l, const struct gt_pod_limits *pod, bool kubernetes);

/* Reads the limits of the cgroup a container with this cgroupsPath is
 * created under (the pod's) from h's cgroup filesystem and applies them;
 * l->pod says what was read, or why nothing was. False when the cgroup
 * could not be read: nothing is known of the pod's limits. */
bool gt_limits_read_pod(struct gt_limits *l, const char *cgroups_path, const struct gt_host *h,
			const struct gt_mounts *mounts, bool kubernetes);

/* Adds a memory-backed mount; more than GT_TMPFS_MAX are summed unlisted. */
void gt_limits_add_tmpfs(struct gt_limits *l, const char *dest, uint64_t size, const char *how);

/* What to read besides linux.resources. */
struct gt_limits_opts {
	bool pod_limits;	/* the cgroup parent's limits (needs h->probe) */
	bool kubernetes;	/* a container of a Kubernetes pod (see memory_shared) */
};

/* Reads a spec tree: linux.resources with unified, the mounts, and (with
 * opts->pod_limits and a host to probe) the cgroup named by
 * linux.cgroupsPath's parent. Malformed values are treated as absent and
 * noted; this never fails. */
void gt_limits_from_spec(yajl_val spec, const struct gt_host *h, const struct gt_limits_opts *opts,
			 struct gt_limits *out, struct gt_notes *notes);

/* The sizes of the memory-backed mounts of an OCI mount list (also what an
 * NRI request carries): a writable tmpfs with size=, except /dev (device
 * nodes only), and a writable bind whose source is the root of a sized
 * tmpfs in the host's mount table (Podman's and CRI's /dev/shm, a
 * Kubernetes emptyDir with medium: Memory). */
struct gt_mount_desc {
	const char *dest, *type, *source;
	const char *const *options;
	size_t n_options;
};
void gt_limits_add_mounts(struct gt_limits *l, const struct gt_mount_desc *m, size_t n, const struct gt_host *h,
			  struct gt_notes *notes);

/* The tmpfs bytes a mode counts: none, all but the runtime's standard
 * /dev/shm and /run, or all. */
uint64_t gt_tmpfs_counted(const struct gt_limits *l, enum gt_tmpfs_mode mode);

/* CPUs a process in this container may run on: what Go picks by itself.
 * With inherit, also the hook's own affinity (runc < 1.2.7 / 1.3.1 and
 * crun < 1.9.2 pass the caller's affinity on to the container on Linux >=
 * 6.2; newer ones reset it to the cgroup's cpuset). */
int gt_limits_cpu_cap(const struct gt_limits *l, bool inherit);

#endif
