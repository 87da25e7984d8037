/* The decisions for one container: which Go variables to set and why. The
 * same plan is applied by every entry point and printed by `plan`. */
#ifndef GOTUNE_PLAN_H
#define GOTUNE_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "image.h"
#include "resources.h"
#include "notes.h"
#include "policy.h"
#include "spec.h"

enum gt_action {
	GT_ACT_SKIPPED,		/* left alone, nothing to do */
	GT_ACT_KEPT,		/* the spec already had it */
	GT_ACT_SET,		/* added */
	GT_ACT_REPLACED,	/* the spec had it; policy says override */
	GT_ACT_MERGED,		/* GODEBUG: keys added to the spec's value */
};

enum gt_var { GT_GOMAXPROCS, GT_GOMEMLIMIT, GT_GOGC, GT_GODEBUG, GT_NVARS };

struct gt_decision {
	enum gt_action action;
	char value[1024];	/* the value the container gets, "" if none */
	char reason[400];
	/* Which Go version and build setting the decision rests on, "" when
	 * the image played no part (not inspected, go_aware off). */
	char basis[200];
};

struct gt_plan {
	struct gt_limits limits;
	struct gt_image image;
	struct gt_settings settings;
	struct gt_decision d[GT_NVARS];
	struct gt_notes notes;
};

extern const char *const gt_var_names[GT_NVARS];
const char *gt_action_name(enum gt_action a);

/* Decides each variable from limits, settings, the current env ("K=V"
 * list, may be NULL) and what is known of the image (NULL: not inspected).
 * Pure: no I/O. */
void gt_plan_make(struct gt_plan *plan, const struct gt_limits *limits, const struct gt_settings *settings,
		  const char *const *env, size_t n_env, const struct gt_image *image);

/* True when the plan changes the env. */
bool gt_plan_changes(const struct gt_plan *plan);

/* Turns the plan into edits of the env list; *edits is allocated, each
 * entry too (free with gt_env_edits_free). */
int gt_plan_edits(const struct gt_plan *plan, const char *const *env, size_t n_env, struct gt_env_edit **edits,
		  size_t *n_edits, gt_err_t *err);
void gt_env_edits_free(struct gt_env_edit *edits, size_t n);

/* Index of the last env entry for key, or -1. The last is the one the
 * container's process gets: runc (libcontainer/init_linux.go
 * populateProcessEnvironment: os.Setenv for each entry, in order) and crun
 * (src/libcrun/container.c container_init_setup: clearenv, then putenv for
 * each entry, in order) keep the last of a repeated key. */
long gt_env_find(const char *const *env, size_t n_env, const char *key);

/* How many entries env has for key. */
size_t gt_env_count(const char *const *env, size_t n_env, const char *key);

#endif
