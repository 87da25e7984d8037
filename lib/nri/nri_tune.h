/* One NRI CreateContainer request through the shared pipeline: limits from
 * the request's linux.resources, settings from the policy and the
 * container's and pod's annotations, the same plan as every other entry
 * point, turned into an env adjustment that only adds variables. */
#ifndef GOTUNE_NRI_TUNE_H
#define GOTUNE_NRI_TUNE_H

#include "hostinfo.h"
#include "nri_msg.h"
#include "plan.h"
#include "policy.h"
#include "state.h"

struct gt_nri_tune {
	struct gt_plan plan;
	struct gt_nri_adjust adjust;	/* points into plan, policy and record */
	char record[400];
	char id[GT_ID_MAX];		/* namespace/pod/container, for logs */
};

/* No I/O but, with host->probe, the mount table (for binds of a tmpfs).
 * The result stays valid while policy and t live. */
void gt_nri_tune(const struct gt_nri_create *c, const struct gt_policy *policy, const struct gt_host *host,
		 struct gt_nri_tune *t);

/* A variable gotune set that an in-place resize made stale. */
struct gt_nri_stale {
	enum gt_var var;
	char was[64];	/* the value the container runs with */
	char now[200];	/* what the new resources plan: a value, or "none: why" */
};

/* An in-place resize (UpdateContainer): fills stale[0..2) with each
 * GOMAXPROCS or GOMEMLIMIT that gotune set at create and that no longer
 * matches what it would plan for the new resources; returns how many.
 * gotune cannot change a running process's env; the caller only logs.
 * id gets namespace/pod/container. */
size_t gt_nri_resize_check(const struct gt_nri_update *u, const struct gt_policy *policy, const struct gt_host *host,
			   char *id, size_t idsz, struct gt_nri_stale stale[2]);

#endif
