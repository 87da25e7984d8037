/* A container's init as the runtime records it while creating it: the
 * wrapper's recorder has no hook to be handed the init's pid, so it waits
 * for the runtime's state to name it. runc writes <root>/<id>/state.json
 * (libcontainer's saveState, a temp file renamed) at procReady, after the
 * createRuntime hooks and before it lets the init exec; crun writes
 * <root>/<id>/status (libcrun_write_container_status) after its hooks and
 * before the init execs. Both files are root's and the runtime's: nothing
 * a container's author writes. */
#ifndef GOTUNE_RTINIT_H
#define GOTUNE_RTINIT_H

#include <sys/types.h>

#include "err.h"
#include "rtstate.h"

/* The init's pid from the state as it is now: 1, 0 when there is no
 * state yet, -1 when there is one and it names no pid. */
int gt_rt_init_pid(enum gt_rt_kind kind, const char *root, const char *id, pid_t *pid, gt_err_t *err);

/* The same, waiting up to max_ms for the state to appear (inotify on the
 * state root and the container's directory, and a look every few ms
 * whatever inotify says). *waited_ms: how long it took. */
int gt_rt_wait_init(enum gt_rt_kind kind, const char *root, const char *id, unsigned max_ms, pid_t *pid,
		    double *waited_ms, gt_err_t *err);

#endif
