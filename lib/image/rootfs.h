/* Paths inside a container's rootfs, resolved as if the rootfs were "/":
 * no symlink, absolute or relative, and no "..", leads out of it. The hook
 * runs as root on images it does not trust; every file it touches inside a
 * rootfs is reached through here. */
#ifndef GOTUNE_ROOTFS_H
#define GOTUNE_ROOTFS_H

#include <stdbool.h>
#include <sys/stat.h>

#include "err.h"

#define GT_ROOTFS_MAX_SYMLINKS 40

struct gt_rootfs {
	int fd;			/* O_PATH directory fd of the root */
	bool use_openat2;	/* false: the component walk below */
};

/* Opens the root (a host path from the engine, trusted) and probes openat2. */
int gt_rootfs_open(struct gt_rootfs *r, const char *host_path, gt_err_t *err);
void gt_rootfs_close(struct gt_rootfs *r);

/* Tests force the fallback that old kernels (no openat2, < 5.6) use. */
void gt_rootfs_force_fallback(struct gt_rootfs *r, bool on);

/* O_PATH fd of the object at path inside the root, final symlink followed. */
int gt_rootfs_resolve(const struct gt_rootfs *r, const char *path, gt_err_t *err);

/* A read-only fd of the regular file at path: resolved O_PATH first, then
 * fstat must say regular file (never a FIFO, socket or device: opening one
 * could block or have side effects), then that same inode is reopened, so a
 * path swapped in between cannot hand us another file. */
int gt_rootfs_open_regular(const struct gt_rootfs *r, const char *path, struct stat *st, gt_err_t *err);

/* A directory fd (for listing) inside the root. */
int gt_rootfs_open_dir(const struct gt_rootfs *r, const char *path, gt_err_t *err);

#endif
