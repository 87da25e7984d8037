/* Working-set profiles: which byte ranges of which files a container's
 * processes had mapped and touched during start-up, keyed by the
 * entrypoint's identity. Only paths inside the image, sizes, mtimes and
 * offsets are stored, never contents; deleting a profile is always safe. */
#ifndef GOTUNE_PROFILE_H
#define GOTUNE_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <stdint.h>

#include "buildid.h"
#include "err.h"
#include "prewarm.h"
#include "rootfs.h"

#define GT_PROFILE_MAX_FILES 256u
#define GT_PROFILE_MAX_RANGES 4096u	/* per file */
#define GT_PROFILE_MAX_BYTES (1u << 20)

struct gt_profile_file {
	char path[512];		/* inside the rootfs */
	uint64_t size;
	int64_t mtime_ns;
	char id[GT_BUILD_ID_MAX];	/* ELF build ID, "" when none: then size + mtime */
	size_t n_ranges;
	struct gt_range *ranges;
};

struct gt_profile {
	char entry[512];
	uint64_t entry_size;
	int64_t entry_mtime_ns;
	char entry_id[GT_BUILD_ID_MAX];	/* the key, when the entrypoint has a build ID */
	size_t n_files;
	struct gt_profile_file files[GT_PROFILE_MAX_FILES];
};

void gt_profile_free(struct gt_profile *p);

/* The profile's file name for an entrypoint identity: 16 hex digits. A
 * build ID names the binary wherever it is copied or however its image is
 * rebuilt; without one, path + size + mtime. */
void gt_profile_key(const char *path, uint64_t size, int64_t mtime_ns, const char *build_id, char out[17]);

/* Reads the build IDs of the entrypoint and of every recorded file
 * through root (files whose size or mtime changed since keep none). */
void gt_profile_identify(struct gt_profile *p, const struct gt_rootfs *root);

/* Whether the file open on fd (stat st) is still the one f recorded: the
 * same build ID and size when f has an ID, else the same size and mtime. */
bool gt_profile_file_matches(const struct gt_profile_file *f, int fd, const struct stat *st);

/* Adds the page-aligned range to path's record (merging), creating it;
 * _at with the time a recording first saw it (gt_range.t). */
int gt_profile_add(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns, uint64_t off,
		   uint64_t len, gt_err_t *err);
int gt_profile_add_at(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns, uint64_t off,
		      uint64_t len, uint32_t t, gt_err_t *err);

/* Adds the ranges of from (a file's record) that p does not hold yet, at
 * time t (0: from's own times): what a sample saw first. */
int gt_profile_add_new(struct gt_profile *p, const struct gt_profile_file *from, uint32_t t, gt_err_t *err);

/* Adds from's ranges to into's: files into has too only when they are
 * still the same file (build ID, else size and mtime). A program that
 * exits before a sample sees all of it is learnt over several runs. */
int gt_profile_merge(struct gt_profile *into, const struct gt_profile *from, gt_err_t *err);

/* Text form: "gotune-profile 3", "entry PATH\tSIZE\tMTIME\tID", then per
 * file "file PATH\tSIZE\tMTIME\tID\tOFF+LEN[@T],..." (ID "-" when none;
 * T: when a recording first saw the range, ms after the exec, plus 1).
 * Versions 1 (no ID fields) and 2 (no times) are still read. */
int gt_profile_write(const struct gt_profile *p, const char *dir, gt_err_t *err);
int gt_profile_parse(const char *text, size_t len, struct gt_profile *p, gt_err_t *err);
int gt_profile_load(const char *dir, const char key[17], struct gt_profile *p, gt_err_t *err);

/* Keeps at most max profiles in dir, removing the least recently written;
 * returns how many were removed. Only NNNN.profile files are touched. */
unsigned gt_profile_prune(const char *dir, unsigned max);

#endif
