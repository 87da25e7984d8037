/* What the loader will read when a container's entrypoint starts: the
 * executable found the way execve's caller finds it, its ELF interpreter,
 * and the DT_NEEDED closure resolved as ld.so (glibc or musl) resolves it,
 * all inside the rootfs. */
#ifndef GOTUNE_CLOSURE_H
#define GOTUNE_CLOSURE_H

#include <stddef.h>

#include "err.h"
#include "notes.h"
#include "prewarm.h"
#include "rootfs.h"

#define GT_CLOSURE_MAX_LIBS 512u

struct gt_entry {
	const char *arg0;		/* process.args[0] */
	const char *const *env;		/* process.env, for PATH and LD_LIBRARY_PATH */
	size_t n_env;
	const char *cwd;		/* process.cwd, "/" if NULL */
};

/* Finds the entrypoint inside the root (PATH lookup with the container's
 * PATH when arg0 has no slash). Writes its path inside the root to out and
 * returns a read-only fd of the regular file. */
int gt_entry_find(const struct gt_rootfs *root, const struct gt_entry *e, char *out, size_t outsz, gt_err_t *err);

/* Adds the entrypoint, its interpreter (also a script's #! interpreter) and
 * its library closure to set, whole files. Libraries that cannot be found
 * are noted, not errors: ld.so would fail the start anyway. */
int gt_closure_add(struct gt_pw_set *set, const struct gt_rootfs *root, const struct gt_entry *e,
		   struct gt_notes *notes, gt_err_t *err);

#endif
