/* Records a running container's start-up working set: which pages of
 * which files its processes have mapped and touched, sampled from
 * /proc/PID/maps and /proc/PID/pagemap (present bits: precise per process,
 * unlike page-cache residency, which also counts readahead and other
 * containers). The union of all samples is kept, so a program that runs
 * 70 ms still leaves a useful profile. */
#ifndef GOTUNE_RECORD_H
#define GOTUNE_RECORD_H

#include <stdbool.h>
#include <sys/types.h>

#include "profile.h"

struct gt_record_opts {
	unsigned interval_ms;	/* between samples, or as long as the last one took */
	unsigned settle_ms;	/* stop once nothing new was seen this long */
	unsigned max_ms;	/* and in any case after this long */
	/* For the first fast_ms, sample back to back at normal priority,
	 * pausing as long as the last sample took (at most half a CPU): a
	 * program that exits 20 ms after its exec is gone between two
	 * samples 10 ms apart, and only a sample taken while it lives sees
	 * its pages. Then every interval_ms. */
	unsigned fast_ms;
	/* After the fast phase (or the first sample, without one), take only
	 * CPU time the container leaves idle (SCHED_IDLE). */
	bool idle_later;
	/* And then run in gotune's capped cgroup (workcg.h). */
	bool join_cgroup;
	/* Read /proc/PID/pagemap's entries even where PAGEMAP_SCAN works:
	 * what older kernels do, for the tests to compare. */
	bool entries;
};

/* Samples pid and its descendants until they settle, exit, or max_ms,
 * into p, whose entry identity the caller has set; cg[] says where it
 * ran once the start was over (join_cgroup). max_ms bounds it however
 * many processes, mappings and pages a container shows: every loop asks
 * the clock. Returns how many samples were taken, or -1. */
int gt_record(pid_t pid, const struct gt_record_opts *o, struct gt_profile *p, char *cg, size_t cgsz, gt_err_t *err);

/* Whether samples ask the kernel for runs of present pages (PAGEMAP_SCAN)
 * rather than read pagemap's entries: false once this kernel refused it. */
bool gt_record_scans(void);

/* The identity of the file a process runs (/proc/PID/exe): 0, or -1 when
 * the process is gone or not ours to look at. */
int gt_record_exe_id(pid_t pid, dev_t *dev, ino_t *ino);

/* Waits, polling, until pid runs another file than
 * (dev, ino): a container's init, seen from a createRuntime or prestart
 * hook, until the runtime lets it exec the container's program. Fails when
 * the process ends first or max_ms pass; *waited_ms says how long it took. */
int gt_record_wait_exec(pid_t pid, dev_t dev, ino_t ino, unsigned max_ms, double *waited_ms, gt_err_t *err);

#endif
