/* Linux CPU list syntax, as in cpuset.cpus and /sys/.../cpu/online:
 * "0-3,8,10-11". */
#ifndef GOTUNE_CPUSET_H
#define GOTUNE_CPUSET_H

#define GT_CPUSET_MAX_CPU 8192	/* the kernel's largest NR_CPUS */

/* Returns the number of distinct CPUs listed, 0 for an empty list, or -1 for
 * malformed text (bad syntax, reversed range, CPU id out of range). */
int gt_cpuset_count(const char *list);

#endif
