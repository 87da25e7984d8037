/* The pipeline every entry point runs: spec -> limits -> settings
 * (policy + annotations) -> plan -> rendered spec. */
#ifndef GOTUNE_TUNE_H
#define GOTUNE_TUNE_H

#include "fileio.h"
#include "plan.h"
#include "policy.h"
#include "state.h"

struct gt_tune {
	struct gt_plan plan;
	bool changed;
	struct gt_buf out;	/* the tuned spec when changed */
	char id[GT_ID_MAX];	/* best-effort container name for logs */
	/* In: write into the spec which variables gotune set (GT_TUNE_MARK),
	 * for the wrapper, whose bundles may be run again. Read it always:
	 * a variable still holding the value gotune wrote is recomputed, one
	 * changed since is the user's. */
	bool mark;
};

/* gotune's top-level member in a spec it rewrote in place. */
#define GT_TUNE_MARK "gotune.io/env"

void gt_tune_free(struct gt_tune *t);
#define cleanup_tune __attribute__((cleanup(gt_tune_free)))

/* text must be NUL-terminated. bundle_dir resolves a relative root.path
 * for image inspection (NULL: the current directory). On error nothing is
 * rendered and the caller passes the spec through unchanged. */
int gt_tune_spec(const char *text, size_t len, const struct gt_policy *policy, int host_cpus,
		 const char *bundle_dir, struct gt_tune *t, gt_err_t *err);

#endif
