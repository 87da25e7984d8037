/* Working-set profiles: which byte ranges of which files a container's
 * processes had mapped and touched during start-up, keyed by the
 * entrypoint's content and the image. Only paths inside the image, sizes, mtimes and
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
#include "spec.h"

#define GT_PROFILE_MAX_FILES 256u
#define GT_PROFILE_MAX_RANGES 4096u	/* per file */
/* Over all files: what fits GT_PROFILE_MAX_BYTES of text with room to
 * spare (a range is at most 39 bytes, a file line 700). Past either bound
 * neighbouring ranges are merged, the closest first, each keeping the
 * earlier time: the profile reads a little more, in the same order. */
#define GT_PROFILE_MAX_TOTAL_RANGES 16384u
#define GT_PROFILE_MAX_BYTES (1u << 20)
/* Recordings in a row that added nothing new (under 1%, or 64 KiB): then
 * the entrypoint's profile is settled and it is recorded no more. */
#define GT_PROFILE_SETTLED 3u
/* A profile's file name: GROUP-KEY.profile, 16 + 1 + 32 hex digits. */
#define GT_PROFILE_KEY_LEN 49

/* Which program a profile is for. Only the same bytes of the entrypoint,
 * in the same image where the engine names it, share a profile: a build
 * ID is a note anyone can copy into another program, and the profile says
 * which files of the image the next start reads, in which order. */
struct gt_profile_ident {
	char sha[65];		/* SHA-256 of the entrypoint's bytes (contentid.h) */
	char image_sha[65];	/* SHA-256 of the engine's image name; "" when it gives none */
	char image[256];	/* that name, shown by `profile show`; "" when none or not printable */
	char key[GT_PROFILE_KEY_LEN + 1];
};

struct gt_profile_file {
	char path[512];		/* inside the rootfs */
	uint64_t size;
	int64_t mtime_ns;
	char id[GT_BUILD_ID_MAX];	/* ELF build ID, "" when none: then size + mtime */
	size_t n_ranges, cap;	/* cap: room in ranges */
	struct gt_range *ranges;
};

struct gt_profile {
	char entry[512];
	uint64_t entry_size;
	int64_t entry_mtime_ns;
	char entry_id[GT_BUILD_ID_MAX];	/* its build ID, shown; "" when none */
	struct gt_profile_ident ident;	/* the name: "" sha in profiles before format 4 */
	unsigned settled;		/* recordings in a row that added nothing new */
	size_t n_files;
	struct gt_profile_file files[GT_PROFILE_MAX_FILES];
};

void gt_profile_free(struct gt_profile *p);

/* The image name an engine gives a container, from the annotations the
 * engine itself writes after any a pod may bring (CRI-O's
 * io.kubernetes.cri-o.ImageRef, containerd CRI's
 * io.kubernetes.cri.image-name); NULL where there is none (Docker,
 * Podman, plain runc). */
const char *gt_profile_image(const struct gt_spec *spec);

/* The identity of the entrypoint open on fd: its content ID from the
 * cache in DIR/ids (compute: hash it on a miss and remember it; else a
 * miss is 1, "not identified yet"), the image's, and the key. 0, 1, or
 * -1 (too large to hash, unreadable). */
int gt_profile_ident_of(int fd, const struct stat *st, const char *image, const char *dir, bool compute,
			struct gt_profile_ident *id, gt_err_t *err);

/* Where a profile for this identity lives in dir: DIR/KEY.profile. */
int gt_profile_path(const char *dir, const char *key, char *out, size_t outsz);

/* Reads the build IDs of the entrypoint and of every recorded file
 * through root (files whose size or mtime changed since keep none). */
void gt_profile_identify(struct gt_profile *p, const struct gt_rootfs *root);

/* Whether the file open on fd (stat st) is still the one f recorded: the
 * same build ID and size when f has an ID, else the same size and mtime. */
bool gt_profile_file_matches(const struct gt_profile_file *f, int fd, const struct stat *st);

/* Adds the page-aligned range to path's record (merging), creating it;
 * _at with the time a recording first saw it (gt_range.t). Past
 * GT_PROFILE_MAX_RANGES the file is coarsened to half of them, so each
 * range costs O(log n) on average, whatever a program maps. */
int gt_profile_add(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns, uint64_t off,
		   uint64_t len, gt_err_t *err);
int gt_profile_add_at(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns, uint64_t off,
		      uint64_t len, uint32_t t, gt_err_t *err);

/* path's record in p, created without ranges when missing; NULL when the
 * path cannot be stored or p holds GT_PROFILE_MAX_FILES files. With
 * gt_profile_file_add, what a recorder calls once per mapping and once
 * per run of present pages. */
struct gt_profile_file *gt_profile_file_of(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns);
int gt_profile_file_add(struct gt_profile_file *f, uint64_t off, uint64_t len, uint32_t t, gt_err_t *err);

/* Sorts f's ranges by offset and merges those that overlap (and touching
 * ones of one time), clipped to the file. */
void gt_profile_file_normalize(struct gt_profile_file *f);

/* Merges f's ranges until at most max remain: neighbours joined across
 * the smallest gaps first, a joined range taking the earlier of their
 * times, so replay reads a little more in the same first-touch order. */
void gt_profile_coarsen(struct gt_profile_file *f, size_t max);

/* Coarsens p's largest files until it holds GT_PROFILE_MAX_TOTAL_RANGES
 * ranges at most: it then always fits GT_PROFILE_MAX_BYTES. */
void gt_profile_fit(struct gt_profile *p);

/* Adds the ranges of from (a file's record) that p does not hold yet, at
 * time t (0: from's own times): what a sample saw first. */
int gt_profile_add_new(struct gt_profile *p, const struct gt_profile_file *from, uint32_t t, gt_err_t *err);

/* Adds from's ranges to into's: files into has too only when they are
 * still the same file (build ID, else size and mtime). A program that
 * exits before a sample sees all of it is learnt over several runs. */
int gt_profile_merge(struct gt_profile *into, const struct gt_profile *from, gt_err_t *err);

/* Takes out of p's ranges, for files old holds too (still the same file),
 * the pages within an aligned block of `block` bytes that a replay of old
 * reads whole (gt_ranges_dense_blocks) and that old does not hold itself:
 * a recording sees them only because the page cache held them in large
 * folios. 0, or -1 when out of memory (p is then left as it was, file by
 * file). */
int gt_profile_clip_blocks(struct gt_profile *p, const struct gt_profile *old, uint64_t block);

/* Bytes of p's ranges that old does not hold for the same files, nor
 * within margin bytes of a range it holds; *all (if not NULL) gets the
 * bytes old does not hold, near or not. */
uint64_t gt_profile_new_bytes(const struct gt_profile *p, const struct gt_profile *old, uint64_t margin,
			      uint64_t *all);

/* Text form: "gotune-profile 4", "entry PATH\tSIZE\tMTIME\tID\tSHA256",
 * "image IMAGE-SHA256\tNAME" ("-" for none), "settled N", then per file
 * "file PATH\tSIZE\tMTIME\tID\tOFF+LEN[@T],..." (ID "-" when none; T:
 * when a recording first saw the range, ms after the exec, plus 1).
 * Versions 1 to 3 are still read (they have no content ID: never loaded
 * for a start, and pruned first). Written 0600, root's, whatever the
 * directory's group (gt_write_private_at). */
int gt_profile_write(const struct gt_profile *p, const char *dir, gt_err_t *err);
int gt_profile_parse(const char *text, size_t len, struct gt_profile *p, gt_err_t *err);
/* The profile for id in dir: 0, or -1 (none, unreadable, or one whose
 * recorded identity is not id's). */
int gt_profile_load(const char *dir, const struct gt_profile_ident *id, struct gt_profile *p, gt_err_t *err);
/* The same, its head only (entry, image, settled; no file): what a start
 * needs to know whether the profile is settled, without reading it all. */
int gt_profile_load_head(const char *dir, const struct gt_profile_ident *id, struct gt_profile *p, gt_err_t *err);

/* Keeps at most max_per_image profiles of group (the 16 digits before
 * the '-': one image where the engine names it) and max in all in dir,
 * removing the least recently written or refreshed, and every profile of
 * an older format; the content-ID cache (DIR/ids) is kept to 4 x max
 * entries. Returns how many profiles were removed. */
unsigned gt_profile_prune(const char *dir, const char *group, unsigned max_per_image, unsigned max);

#endif
