/* This process's mount table (/proc/self/mountinfo), for what the spec
 * names by host path only: the cgroup filesystems a cgroupsPath lives in,
 * and the tmpfs behind a bind mount (Podman's and CRI's /dev/shm, a
 * Kubernetes emptyDir with medium: Memory). Read once, bounded. */
#ifndef GOTUNE_MOUNTINFO_H
#define GOTUNE_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define GT_MOUNTINFO_MAX_BYTES (8u << 20)
#define GT_MOUNTINFO_MAX_MOUNTS 50000u

struct gt_mount {
	const char *root;	/* the mount's root within its filesystem */
	const char *point;	/* where it is mounted, unescaped */
	const char *fstype;
	const char *super;	/* the filesystem's options: "rw,size=65536k,mode=1777" */
};

struct gt_mounts {
	struct gt_mount *m;
	size_t n;
	char *text;		/* the fields point into it */
};

/* path NULL: /proc/self/mountinfo. Lines that do not parse are skipped. */
int gt_mounts_read(const char *path, struct gt_mounts *out, gt_err_t *err);
void gt_mounts_free(struct gt_mounts *m);

/* A mount table kept open and read again only once the kernel says it
 * changed. For a long-lived reader (the NRI plugin): each read of
 * mountinfo takes the kernel's global namespace lock, which a node
 * creating many containers holds for their mounts, and a plugin waiting
 * on it past the runtime's 2 s request timeout is dropped. */
struct gt_mounts_watch {
	int fd;
	bool ok;
	unsigned long reads;	/* of the whole table, so far */
	struct gt_mounts m;
};
#define GT_MOUNTS_WATCH_INIT { .fd = -1, .ok = false, .reads = 0, .m = { 0 } }

/* path NULL: /proc/self/mountinfo. The table, valid until the next call;
 * NULL with err set when it cannot be read. */
const struct gt_mounts *gt_mounts_watch_get(struct gt_mounts_watch *w, const char *path, gt_err_t *err);
void gt_mounts_watch_close(struct gt_mounts_watch *w);

/* The table through w when there is one, else read into *own (which the
 * caller frees): the one choice every reader of the host's table makes. */
const struct gt_mounts *gt_mounts_get(struct gt_mounts_watch *w, const char *path, struct gt_mounts *own,
				      gt_err_t *err);

/* The mount on top at exactly this mount point (the last one listed), or
 * NULL. */
const struct gt_mount *gt_mounts_at(const struct gt_mounts *m, const char *point);

/* The value of key in a comma-separated option list ("size" in
 * "rw,size=65536k"), the last one when repeated; false when absent. */
bool gt_mount_option(const char *opts, const char *key, char *val, size_t valsz);

#endif
