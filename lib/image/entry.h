/* A container's entrypoint inside its rootfs, found the way execve's
 * caller finds it. */
#ifndef GOTUNE_ENTRY_H
#define GOTUNE_ENTRY_H

#include <stddef.h>

#include "err.h"
#include "rootfs.h"

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

/* The last value of key in the entry's env: the one runc and crun leave in
 * the container. NULL when absent. */
const char *gt_entry_env(const struct gt_entry *e, const char *key);

/* dir + "/" + name into out; -1 when it does not fit. */
int gt_path_join(char *out, size_t outsz, const char *dir, const char *name);

#endif
