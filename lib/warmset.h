/* Which files of a container to warm: its entrypoint closure and the files
 * the policy or an annotation lists, all resolved inside its rootfs. */
#ifndef GOTUNE_WARMSET_H
#define GOTUNE_WARMSET_H

#include "closure.h"
#include "notes.h"
#include "profile.h"
#include "policy.h"
#include "prewarm.h"
#include "rootfs.h"
#include "spec.h"

/* Adds a file, or the regular files directly inside a directory. */
int gt_warmset_add_path(struct gt_pw_set *set, const struct gt_rootfs *root, const char *path, unsigned max_files,
			struct gt_notes *notes, gt_err_t *err);

/* A recorded working set for the entrypoint in profile_dir (NULL: none)
 * replaces the closure; listed files are added either way. */
int gt_warmset_from_spec(struct gt_pw_set *set, const struct gt_rootfs *root, const struct gt_spec *spec,
			 const struct gt_prewarm_settings *pw, const char *profile_dir, struct gt_notes *notes,
			 gt_err_t *err);

/* The recorded working set for an entrypoint, as replay looks it up. */
struct gt_profile_match {
	char entry[4096];		/* the entrypoint inside the rootfs */
	char id[GT_BUILD_ID_MAX];	/* its build ID, "" when none */
	char key[17];
	struct gt_profile *profile;	/* NULL when none is recorded */
};
/* 1 with m->profile set, 0 when none is recorded, -1 when the entrypoint
 * is not found. Free with gt_profile_match_free. */
int gt_warmset_find_profile(const struct gt_rootfs *root, const struct gt_entry *e, const char *dir,
			    struct gt_profile_match *m);
void gt_profile_match_free(struct gt_profile_match *m);

/* Bytes the set would read. */
uint64_t gt_warmset_bytes(const struct gt_pw_set *set);

#endif
