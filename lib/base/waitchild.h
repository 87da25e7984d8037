/* Waiting for a child of ours with a deadline: the wrapper stands between
 * an engine and its runtime, and a child that never ends (a log file that
 * is a FIFO nobody reads, a runtime that hangs) must not hold a container's
 * start for ever. */
#ifndef GOTUNE_WAITCHILD_H
#define GOTUNE_WAITCHILD_H

#include <sys/types.h>

/* Reaps pid, waiting at most timeout_ms; a child still running then is
 * killed (SIGKILL) and reaped within another second. 0 with its wait
 * status in *status, or -ETIMEDOUT (killed; *status is the kill's when
 * it could be reaped, else 0) or -errno. */
int gt_wait_child(pid_t pid, unsigned timeout_ms, int *status);

#endif
