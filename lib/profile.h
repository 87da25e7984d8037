/* Working-set profiles: which byte ranges of which files a container's
 * processes had mapped and touched during start-up, keyed by the
 * entrypoint's identity. Only paths inside the image, sizes, mtimes and
 * offsets are stored, never contents; deleting a profile is always safe. */
#ifndef GOTUNE_PROFILE_H
#define GOTUNE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "prewarm.h"

#define GT_PROFILE_MAX_FILES 256u
#define GT_PROFILE_MAX_RANGES 4096u	/* per file */
#define GT_PROFILE_MAX_BYTES (1u << 20)

struct gt_profile_file {
	char path[512];		/* inside the rootfs */
	uint64_t size;
	int64_t mtime_ns;
	size_t n_ranges;
	struct gt_range *ranges;
};

struct gt_profile {
	char entry[512];
	uint64_t entry_size;
	int64_t entry_mtime_ns;
	size_t n_files;
	struct gt_profile_file files[GT_PROFILE_MAX_FILES];
};

void gt_profile_free(struct gt_profile *p);

/* The profile's file name for an entrypoint identity: 16 hex digits. */
void gt_profile_key(const char *path, uint64_t size, int64_t mtime_ns, char out[17]);

/* Adds the page-aligned range to path's record (merging), creating it. */
int gt_profile_add(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns, uint64_t off,
		   uint64_t len, gt_err_t *err);

/* Text form: "gotune-profile 1", "entry PATH\tSIZE\tMTIME", then per file
 * "file PATH\tSIZE\tMTIME\tOFF+LEN,...". */
int gt_profile_write(const struct gt_profile *p, const char *dir, gt_err_t *err);
int gt_profile_parse(const char *text, size_t len, struct gt_profile *p, gt_err_t *err);
int gt_profile_load(const char *dir, const char key[17], struct gt_profile *p, gt_err_t *err);

#endif
