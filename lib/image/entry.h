/* A container's entrypoint inside its rootfs, found the way execve's
 * caller finds it. */
#ifndef GOTUNE_ENTRY_H
#define GOTUNE_ENTRY_H

#include <stddef.h>

#include "err.h"
#include "rootfs.h"

/* At most this many entries of a search list are tried: PATH for the
 * entrypoint, LD_LIBRARY_PATH, RPATH and RUNPATH for each library. A
 * tenant writes them, each entry costs a lookup inside the rootfs (one
 * openat2), and a PATH near the spec's 16 MiB bound held millions: 20 000
 * entries cost 0.24 s, in the wrapper's child, its replay and prestart
 * alike (issue 29). Real lists hold a handful (Debian's PATH 6, a
 * distroless image's 1); an entrypoint found past the 64th entry only is
 * not inspected nor warmed, and the line says why. */
#define GT_SEARCH_LIST_MAX 64

struct gt_entry {
	const char *arg0;		/* process.args[0] */
	const char *const *env;		/* process.env, for PATH and LD_LIBRARY_PATH */
	size_t n_env;
	const char *cwd;		/* process.cwd, "/" if NULL */
};

/* Finds the entrypoint inside the root (PATH lookup with the container's
 * PATH when arg0 has no slash, its first GT_SEARCH_LIST_MAX entries). Writes its path inside the root to out and
 * returns a read-only fd of the regular file. */
int gt_entry_find(const struct gt_rootfs *root, const struct gt_entry *e, char *out, size_t outsz, gt_err_t *err);

/* The last value of key in the entry's env: the one runc and crun leave in
 * the container. NULL when absent. */
const char *gt_entry_env(const struct gt_entry *e, const char *key);

/* dir + "/" + name into out; -1 when it does not fit. */
int gt_path_join(char *out, size_t outsz, const char *dir, const char *name);

#endif
