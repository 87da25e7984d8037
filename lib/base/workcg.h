/* gotune's own cgroup for its recorders: what a container makes gotune
 * do after its start (sample its processes for up to profile.max_ms) is
 * capped for the node as a whole, whatever the number of containers.
 *
 * Why not the container's own cgroup, which would charge the container:
 * a process of ours left in it when the container stops makes the
 * runtime's cgroup removal fail ("Failed to remove paths", runc issue
 * 4047), and a recorder writes its profile after the container's last
 * process is gone. The readers stay where they are: moving a process
 * between cgroups waits for an RCU grace period, 2 to 18 ms per
 * controller on the project's cgroup v1 host (measured), which would
 * hold a replay back past the program's own first reads. */
#ifndef GOTUNE_WORKCG_H
#define GOTUNE_WORKCG_H

#include <stddef.h>

#include "err.h"

#define GT_WORKCG_NAME "gotune-workers"
/* For all recorders of the node together. */
#define GT_WORKCG_CPU_QUOTA_US 50000u	/* of a 100 ms period: half a CPU */
#define GT_WORKCG_MEMORY (256u << 20)
#define GT_WORKCG_PIDS 64u

/* Creates GT_WORKCG_NAME under root (the cgroup filesystem,
 * "/sys/fs/cgroup") with the caps above, when missing: on cgroup v2 one
 * directory, on v1 one per controller (cpu, memory, pids). Done before
 * the recorder is confined: the hierarchies' roots may be 0555, and a
 * confined recorder keeps no CAP_DAC_OVERRIDE. A few microseconds when
 * it exists. */
int gt_workcg_prepare(const char *root, gt_err_t *err);

/* Moves the calling process into it; what[] says where and what it
 * cost. Needs no capability: the cgroup is root's and 0755. */
int gt_workcg_join(const char *root, char *what, size_t whatsz, gt_err_t *err);

#endif
