/* What a file holds, as a SHA-256 of its bytes, remembered per version of
 * the file: the working-set profile of an entrypoint is named by it, so
 * that only the same bytes share a profile. */
#ifndef GOTUNE_CONTENTID_H
#define GOTUNE_CONTENTID_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "err.h"

/* A larger file is not hashed (nor profiled): hashing reads it whole. */
#define GT_CONTENT_ID_MAX_BYTES (256u << 20)

/* The SHA-256 (64 hex digits) of the regular file open on fd (stat st).
 * Hashing reads the whole file, so the digest is kept in cache_dir (made
 * 0700 when its parent exists; NULL for no cache) under a name derived
 * from the file's inode number, size, mtime and ctime, and read back from
 * there for the same version of the file: one read of a small file per
 * start instead of the whole entrypoint. No other file can claim that
 * name: two files never share an inode number on one filesystem, and
 * nobody can give a new file a ctime in the past (overlayfs reports the
 * layer file's inode and ctime, so every container of an image finds
 * the same entry). *cached says whether the cache answered. */
/* Without compute, only the cache is asked: 1 when it does not know the
 * file (what a container's start does: it never hashes). */
int gt_content_id(int fd, const struct stat *st, const char *cache_dir, bool compute, char out[65], bool *cached,
		  gt_err_t *err);

#endif
