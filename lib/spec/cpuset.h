/* Linux CPU list syntax, as in cpuset.cpus and /sys/.../cpu/online:
 * "0-3,8,10-11". */
#ifndef GOTUNE_CPUSET_H
#define GOTUNE_CPUSET_H

#include <stdint.h>

#define GT_CPUSET_MAX_CPU 8192	/* the kernel's largest NR_CPUS */
#define GT_CPUMASK_WORDS (GT_CPUSET_MAX_CPU / 64)

struct gt_cpumask {
	uint64_t w[GT_CPUMASK_WORDS];
};

/* Returns the number of distinct CPUs listed, 0 for an empty list, or -1 for
 * malformed text (bad syntax, reversed range, CPU id out of range). */
int gt_cpuset_count(const char *list);

/* The same, filling mask (cleared first) with the CPUs listed. */
int gt_cpuset_parse(const char *list, struct gt_cpumask *mask);

int gt_cpumask_count(const struct gt_cpumask *m);
/* CPUs in both. */
int gt_cpumask_count_and(const struct gt_cpumask *a, const struct gt_cpumask *b);

#endif
