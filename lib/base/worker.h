/* gotune's detached workers (a recorder, a background reader) are bounded
 * node-wide: at most N of a kind run at once, each holding a slot, an
 * flock on STATE/slots/KIND.I that the kernel drops when it exits however
 * it ends; a worker over the limit is skipped, and says so. Each also
 * makes itself the OOM killer's first choice: never a container's
 * process instead of it. */
#ifndef GOTUNE_WORKER_H
#define GOTUNE_WORKER_H

#include <stddef.h>

#include "err.h"

#define GT_SLOTS_DIR "slots"

/* Takes a free slot of kind among max in dir/slots (made 0700 with dir
 * when missing): its fd, to keep open (detach first: gt_detach closes
 * fds). -2 when all max are taken (max 0: always), -1 when the slots
 * cannot be kept (then nothing limits: the caller goes on and says so). */
int gt_slot_take(const char *dir, const char *kind, unsigned max, gt_err_t *err);

/* The worker's start: oom_score_adj 1000, then a slot of kind in the
 * state directory. 0 with *slot_fd held (or -1 and why[] says the limit
 * could not be kept), or -1 when all slots are taken (why[] says so). */
int gt_worker_begin(const char *kind, unsigned max, int *slot_fd, char *why, size_t whysz);

/* Backstops for a worker whose own bounds (checked inside its loops)
 * failed: the kernel ends it after cpu_s seconds of CPU (RLIMIT_CPU) or
 * wall_s seconds (alarm). Lowering a limit needs no privilege. */
void gt_worker_bound(unsigned cpu_s, unsigned wall_s);

#endif
