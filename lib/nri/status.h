/* The NRI plugin's state for a readiness probe and for `gotune-hook
 * doctor`: a small JSON file, replaced atomically whenever it changes.
 * Ready means registered with the runtime, with the policy file as it is
 * now in force (or the runtime's own plugin config). */
#ifndef GOTUNE_NRI_STATUS_H
#define GOTUNE_NRI_STATUS_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"
#include "session.h"

/* Writes pl's state to pl->status_file (nothing when NULL); a failure is
 * logged once, never fatal. */
void gt_nri_status_write(const struct gt_nri_plugin *pl);

/* Removes it: a plugin that stopped is not ready. */
void gt_nri_status_clear(const struct gt_nri_plugin *pl);

struct gt_nri_status {
	pid_t pid;
	bool ready, registered, policy_ok;
	char policy[512];
	char policy_sha256[65];
	char reason[700];	/* why not ready, "" when ready */
	char time[64];		/* of the last change */
};

/* Reads a status file (bounded, regular file only). */
int gt_nri_status_read(int dirfd, const char *path, struct gt_nri_status *st, gt_err_t *err);

#endif
