#ifndef GOTUNE_HOSTINFO_H
#define GOTUNE_HOSTINFO_H

/* Online CPUs of the host (/sys/devices/system/cpu/online), which is what a
 * container without a cpuset can run on; at least 1. */
int gt_host_online_cpus(void);

#endif
