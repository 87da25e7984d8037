/* At prestart the env is already fixed; what gotune can still do is say
 * whether it got what the plan wanted, so an operator sees when env tuning
 * is not wired into the engine. */
#ifndef GOTUNE_AUDIT_H
#define GOTUNE_AUDIT_H

#include <stddef.h>

#include "plan.h"

enum gt_audit {
	GT_AUDIT_NONE,		/* nothing planned, nothing set */
	GT_AUDIT_TUNED,		/* present with the planned value */
	GT_AUDIT_MISSING,	/* planned but absent: tuning not wired in */
	GT_AUDIT_OTHER,		/* present with another value (user or old policy) */
};

struct gt_audit_result {
	enum gt_audit status[2];	/* GOMAXPROCS, GOMEMLIMIT */
	char line[256];
};

/* Plans as if GOMAXPROCS and GOMEMLIMIT were absent and compares with the
 * env the container really got. ours: the variables gotune's record says
 * it wrote (gt_tune_ours); another value is the container's own, which
 * gotune keeps by design. */
void gt_audit_env(const struct gt_limits *limits, const struct gt_settings *settings, const char *const *env,
		  size_t n_env, const struct gt_image *image, unsigned ours, struct gt_audit_result *out);

#endif
