/* Records a running container's start-up working set: which pages of
 * which files its processes have mapped and touched, sampled from
 * /proc/PID/maps and /proc/PID/pagemap (present bits: precise per process,
 * unlike page-cache residency, which also counts readahead and other
 * containers). The union of all samples is kept, so a program that runs
 * 70 ms still leaves a useful profile. */
#ifndef GOTUNE_RECORD_H
#define GOTUNE_RECORD_H

#include <sys/types.h>

#include "profile.h"

struct gt_record_opts {
	unsigned interval_ms;	/* between samples */
	unsigned settle_ms;	/* stop once nothing new was seen this long */
	unsigned max_ms;	/* and in any case after this long */
	/* After the first sample, take only CPU time the container leaves
	 * idle (SCHED_IDLE). The first is taken at once, at normal priority:
	 * a program that runs 10 ms is over before an idle task gets a CPU. */
	bool idle_after_first;
};

/* Samples pid and its descendants until they settle, exit, or max_ms,
 * into p, whose entry identity the caller has set. */
int gt_record(pid_t pid, const struct gt_record_opts *o, struct gt_profile *p, gt_err_t *err);

#endif
