/* Which files of a container to warm: its entrypoint closure and the files
 * the policy or an annotation lists, all resolved inside its rootfs. */
#ifndef GOTUNE_WARMSET_H
#define GOTUNE_WARMSET_H

#include "notes.h"
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

/* Bytes the set would read. */
uint64_t gt_warmset_bytes(const struct gt_pw_set *set);

#endif
