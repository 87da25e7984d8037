/* Values in the grammars the kernel reads them in: cgroup v2 files written
 * from linux.resources.unified (runc and crun write each string verbatim
 * into the file of that name) and tmpfs mount options. A value the kernel
 * would refuse fails the runtime's create, so these parsers only need to
 * agree with the kernel on what it accepts. */
#ifndef GOTUNE_CGVALUE_H
#define GOTUNE_CGVALUE_H

#include <stdbool.h>
#include <stdint.h>

/* memparse() (lib/cmdline.c): a number in C notation (0x hex, leading-0
 * octal, as simple_strtoull with base 0) and one optional suffix K, M, G, T,
 * P or E (either case), nothing after it. A value past 2^64 saturates. */
bool gt_kmemparse(const char *s, uint64_t *bytes);

/* memory.max, memory.high (mm/memcontrol.c memory_max_write, via
 * page_counter_memparse): surrounding whitespace stripped, then "max" (no
 * limit) or a memparse value. Returns 0, or -1 for a value the kernel
 * refuses (the container would not start). */
int gt_cg_memory(const char *s, bool *unlimited, uint64_t *bytes);

/* cpu.max (kernel/sched/core.c cpu_period_quota_parse): "$MAX [$PERIOD]",
 * $MAX "max" or microseconds; a missing period keeps the cgroup's. */
struct gt_cpu_max {
	bool unlimited;
	uint64_t quota;
	bool has_period;
	uint64_t period;
};
int gt_cg_cpu_max(const char *s, struct gt_cpu_max *out);

/* cpu.weight: 1 to 10000. */
int gt_cg_cpu_weight(const char *s, uint64_t *weight);

/* The cpu.shares a cpu.weight stands for, by the inverse of the conversion
 * runc (opencontainers/cgroups ConvertCPUSharesToCgroupV2Value) and crun
 * (convert_shares_to_weight) apply to cpu.shares since 2025: a quadratic in
 * log2(shares) through 2 -> 1, 1024 -> 100, 262144 -> 10000. */
uint64_t gt_weight_to_shares(uint64_t weight);

/* A tmpfs size= option (mm/shmem.c shmem_parse_one): memparse, or a
 * percentage of RAM ("50%") resolved against total_ram. Returns -1 when
 * malformed. */
int gt_tmpfs_size(const char *s, uint64_t total_ram, uint64_t *bytes);

#endif
