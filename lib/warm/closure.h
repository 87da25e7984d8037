/* What the loader will read when a container's entrypoint starts: the
 * executable (entry.h), its ELF interpreter, and the DT_NEEDED closure
 * resolved as ld.so (glibc or musl) resolves it, all inside the rootfs, as
 * a set to warm. */
#ifndef GOTUNE_CLOSURE_H
#define GOTUNE_CLOSURE_H

#include <stddef.h>

#include "entry.h"
#include "err.h"
#include "notes.h"
#include "prewarm.h"
#include "rootfs.h"

#define GT_CLOSURE_MAX_LIBS 512u
/* Candidate paths tried for one closure, over all its search lists (each
 * at most GT_SEARCH_LIST_MAX entries) and libraries: a lookup is an openat2
 * inside the rootfs, some 2-20 us; clang's closure of 19 files took 29. */
#define GT_CLOSURE_MAX_LOOKUPS 4096u

/* Adds the entrypoint, its interpreter (also a script's #! interpreter) and
 * its library closure to set, whole files. Libraries that cannot be found
 * are noted, not errors: ld.so would fail the start anyway. */
int gt_closure_add(struct gt_pw_set *set, const struct gt_rootfs *root, const struct gt_entry *e,
		   struct gt_notes *notes, gt_err_t *err);

#endif
