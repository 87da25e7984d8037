/* The wrapper's exec record: what a process exec'd into a container is to
 * get, written when the wrapper creates the container, so that an exec
 * needs neither `runtime state` nor the container's config.
 *
 * One file per container, <dir>/<key> (key: a hash of the runtime's state
 * root and the container id), root's alone, replaced atomically. It names
 * the config the container was created from by path and identity (inode,
 * size, mtime, ctime) and when it was written; gt_execrec_check proves it
 * still describes the container that now has that id, from the runtime's
 * own state, before anything of it is used. A record that does not prove
 * so is stale and is never used: the caller asks the runtime. */
#ifndef GOTUNE_EXECREC_H
#define GOTUNE_EXECREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fileio.h"
#include "rtstate.h"
#include "tune.h"

/* A record is small: paths, an id and at most GT_NVARS pairs of values. */
#define GT_EXECREC_MAX (32u << 10)

struct gt_execrec {
	const char *runtime, *root, *id;
	const char *config;		/* absolute path of the config read */
	struct gt_file_id config_id;	/* its identity once tuned (or as read) */
	int64_t written_ns;		/* CLOCK_REALTIME when written */
	struct gt_exec_mark mark;	/* the variables to give; none: untuned */
	/* read: the file's text the pointers above point into */
	char buf[GT_EXECREC_MAX + 1];
};

/* <dir>/<16 hex digits>: the record's file for this state root and id. */
int gt_execrec_path(const char *dir, const char *root, const char *id, char *out, size_t outsz);

/* Writes rec (written_ns is set here) into dir, created 0700 with its
 * parents when missing. */
int gt_execrec_write(const char *dir, struct gt_execrec *rec, gt_err_t *err);

/* Removes from dir the records whose container's state directory is gone
 * (<root>/<id>: deleted, by the wrapper's `run` itself or behind its
 * back), files that are no record, and temp files a killed writer left,
 * at least min_age_s old; looks at most GT_EXECREC_PRUNE_MAX entries.
 * Returns how many it removed. gt_execrec_write calls it on one write in
 * 64. */
#define GT_EXECREC_PRUNE_MAX 8192
unsigned gt_execrec_prune(const char *dir, int64_t min_age_s);

/* Reads the record at path: 0, or -1 with errno_ ENOENT when there is
 * none. A file that is not root's alone, too large or not a record fails. */
int gt_execrec_read(const char *path, struct gt_execrec *rec, gt_err_t *err);

/* Whether rec describes the container id now has under its runtime's root:
 * runc: its state.json names a bundle whose config.json is still the
 * file recorded (same identity) and was created after the record was
 * written; crun: its copy of the container's config is byte for byte the
 * recorded config, which is itself unchanged. 0 when it does, -1 with why
 * not. Any other runtime: -1. */
int gt_execrec_check(const struct gt_execrec *rec, enum gt_rt_kind kind, gt_err_t *err);

#endif
