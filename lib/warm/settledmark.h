/* The settled mark: what the wrapper's reader, which has just looked this
 * container's entrypoint up, tells the `record` hook of the same start,
 * so that a settled profile costs that hook no fork and no lookup of its
 * own (issue 27: a recorder forked only to find the profile settled took
 * 4.8-6.1 ms of CPU beside runc, every start).
 *
 * One file per container, <dir>/<DEV>-<INO>-<ID> (of the bundle's
 * config.json, and a hash of the container's id), root's alone: the
 * config's identity (size, mtime, ctime) and the profile's name. The hook reads it once and removes it; it
 * counts only for the very config.json it names (a config written or
 * replaced since has another inode or ctime, and no one can set a ctime
 * back), so a stale or foreign mark never stops a recording: at worst a
 * recorder starts and finds out for itself, as without the mark. */
#ifndef GOTUNE_SETTLEDMARK_H
#define GOTUNE_SETTLEDMARK_H

#include <stddef.h>

#include "err.h"
#include "fileio.h"

/* Marks config's container id as replaying the settled profile key: dir is
 * made 0700 with its parents when missing; no fsync (a tmpfs, and a lost
 * mark only costs a recorder's start). On one write in 16 it removes the
 * marks of starts whose hook never came (older than 10 minutes). */
int gt_settled_mark(const char *dir, const struct gt_file_id *config, const char *id, const char *key,
		    gt_err_t *err);

/* The profile named by config's mark into key, and the mark removed: 1;
 * 0 when there is none or it names another version of the file or is not
 * gotune's (owner, mode, size, text). */
int gt_settled_take(const char *dir, const struct gt_file_id *config, const char *id, char *key, size_t keysz);

#endif
