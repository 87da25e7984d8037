/* The wrapper's exec: the container's tuning for a process exec'd into it. */
#ifndef GOTUNE_RUNTIME_EXEC_H
#define GOTUNE_RUNTIME_EXEC_H

#include <time.h>

#include "policy.h"
#include "runtime_args.h"

/* For `RUNTIME ... exec ...` (ra->exec): adds to the process the variables
 * gotune wrote into the container's config that the process does not set,
 * rewriting the --process file in place, or returning a new argv with
 * "-e K=V" inserted after "exec" for the inline form. Logs one line. Any
 * error leaves the exec as it was and returns argv. */
char **hook_exec_tune(const struct gt_rt_args *ra, const char *runtime, int argc, char *argv[],
		      const struct gt_policy *policy, const struct timespec *t0);

/* For `RUNTIME ... delete ID` (ra->delete_): the container's exec record
 * goes (a record left behind by a delete elsewhere is found stale). */
void hook_exec_forget(const struct gt_rt_args *ra, const char *runtime);

#endif
