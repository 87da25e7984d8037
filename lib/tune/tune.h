/* The pipeline every entry point runs: spec -> limits -> settings
 * (policy + annotations) -> plan -> rendered spec. */
#ifndef GOTUNE_TUNE_H
#define GOTUNE_TUNE_H

#include <yajl/yajl_tree.h>

#include "fileio.h"
#include "hostinfo.h"
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
	/* In, with mark: write the record as the annotation GT_TUNE_MARK
	 * instead (precreate: Podman reads a filter's output into its typed
	 * spec, which keeps annotations and drops unknown members). */
	bool mark_annotation;
	/* In: inspect the image even where no decision needs it, for a
	 * report that shows everything (`plan`). */
	bool explain;
};

/* gotune's record of the variables it wrote: a top-level member of a spec
 * it rewrote in place (the wrapper), or an annotation (precreate, NRI). */
#define GT_TUNE_MARK "gotune.io/env"

void gt_tune_free(struct gt_tune *t);
#define cleanup_tune __attribute__((cleanup(gt_tune_free)))

/* text must be NUL-terminated. host is the machine the container runs on
 * (gt_host_init for this one). bundle_dir resolves a relative root.path
 * for image inspection (NULL: the current directory). On error nothing is
 * rendered and the caller passes the spec through unchanged. */
int gt_tune_spec(const char *text, size_t len, const struct gt_policy *policy, const struct gt_host *host,
		 const char *bundle_dir, struct gt_tune *t, gt_err_t *err);

/* The container's name or id from a spec alone (text NUL-terminated), as
 * the tuning finds it: for a line that must name the container when
 * nothing else can be done with it (a broken policy). "" when none. */
void gt_tune_id(const char *text, size_t len, char *out, size_t outsz);

/* The limits of a parsed spec under these settings (pod-level limits only
 * when they ask for them): what the tuning and the prestart audit use. */
void gt_tune_limits(const struct gt_spec *spec, const struct gt_host *host, const struct gt_settings *settings,
		    struct gt_limits *limits, struct gt_notes *notes);

/* Whether the spec is a container of a Kubernetes pod (the kubelet's
 * rules for pod cgroups apply), as the CRI runtimes mark it. */
bool gt_tune_kubernetes_pod(const struct gt_spec *spec);

/* The variables the spec's env holds as gotune wrote them, by its record
 * (the wrapper's member, precreate's or NRI's annotation): bit v for
 * gt_var_names[v]. A value equal to a plan without a record may be the
 * user's. */
unsigned gt_tune_ours(const struct gt_spec *spec);

/* What a process exec'd into a container is to get from its config: the
 * variables gotune wrote (its GT_TUNE_MARK record, the member or the
 * annotation) that the config still holds as written, each with the
 * container's value from before gotune (was, NULL if none). Pointers into
 * config's tree or into owned (the annotation's record, parsed), which
 * gt_exec_mark_free frees. */
struct gt_exec_mark {
	const char *wrote[GT_NVARS];	/* NULL: nothing of gotune's to give */
	const char *was[GT_NVARS];
	yajl_val owned;
};
void gt_tune_exec_mark(const struct gt_spec *config, struct gt_exec_mark *m);
void gt_exec_mark_free(struct gt_exec_mark *m);
#define cleanup_exec_mark __attribute__((cleanup(gt_exec_mark_free)))

/* The edits of a process env (env, n_env) that give it m's variables: one
 * the process sets to a value of its own is left out, one it sets to the
 * container's value from before gotune is replaced. out has room for
 * GT_NVARS edits, whose entries the caller frees. */
int gt_tune_exec_apply(const struct gt_exec_mark *m, const char *const *env, size_t n_env, struct gt_env_edit *out,
		       size_t *n_out, gt_err_t *err);

/* Both: for a process exec'd into a container whose config gotune tuned (its
 * GT_TUNE_MARK record): the edits of the process env (env, n_env) that
 * give it the variables the container got. A variable the container's
 * config no longer holds as gotune wrote it is left out, and so is one the
 * process sets to a value of its own; one it sets to the container's value
 * from before gotune is replaced. out has room for GT_NVARS edits, whose
 * entries the caller frees. */
int gt_tune_exec_edits(const struct gt_spec *config, const char *const *env, size_t n_env, struct gt_env_edit *out,
		       size_t *n_out, gt_err_t *err);

#endif
