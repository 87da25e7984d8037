/* Confinement of the code that parses untrusted input and touches a
 * container's rootfs: no_new_privs, the fewest capabilities (libcap), and
 * a seccomp allow-list (libseccomp). Applied in the process that does that
 * work; the wrapper does it in a child, so the runtime it execs inherits
 * none of it. */
#ifndef GOTUNE_CONFINE_H
#define GOTUNE_CONFINE_H

#include <stdbool.h>

#include "err.h"

enum gt_phase {
	GT_PHASE_TUNE,		/* read a spec and the image's entrypoint, write a spec */
	GT_PHASE_PREWARM,	/* resolve and map files of a rootfs, maybe fork a reader */
	GT_PHASE_RECORD,	/* sample another process's maps and pagemap, write a profile */
	GT_PHASE_WRAP,		/* the wrapper's child: TUNE, and fork a reader that confines
				 * itself for PREWARM */
	GT_PHASE_HOOK,		/* the replay hook until it knows whether to record: PREWARM
				 * and RECORD; then each process stacks its own */
	GT_PHASE_COUNT		/* not a phase: how many there are */
};

/* Confines the calling process for phase. On failure the caller logs and
 * goes on (a hook must not break a container because a kernel lacks
 * seccomp); the process may then be partly confined. */
int gt_confine(enum gt_phase phase, gt_err_t *err);

/* The allow-list of a phase as a libseccomp filter context (for the
 * build-time generator, which exports it as BPF). */
int gt_seccomp_rules(enum gt_phase phase, void **ctx);

/* Whether this build confines at all: off with -Dconfine=disabled, and in
 * sanitizer builds, whose runtimes need syscalls the list does not grant. */
bool gt_confine_available(void);

/* "errno" or "kill": what a call outside the allow-list does in this build. */
const char *gt_confine_violation(void);

#endif
