/* The page-cache engine: byte ranges of open files are requested from the
 * kernel (mmap + madvise) within budgets, and residency is measured before
 * and after with mincore. It knows nothing of containers or ELF: callers
 * hand it open regular files and the ranges they want. */
#ifndef GOTUNE_PREWARM_H
#define GOTUNE_PREWARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "pwmode.h"

struct gt_range {
	uint64_t off, len;
	/* When a recording first saw it: ms after the program's exec, plus 1;
	 * 0 when unknown. The engine reads timed ranges first, earliest
	 * first, then the rest in the set's order. */
	uint32_t t;
};

/* A range's place in the reading order: its time, the untimed last. */
static inline uint32_t gt_range_order(const struct gt_range *r)
{
	return r->t != 0 ? r->t : UINT32_MAX;
}

/* The reading order of range a of file fa and range b of file fb (files
 * numbered in set order): by gt_range_order, then by file, then by
 * offset. A qsort-style result. */
int gt_range_cmp(size_t fa, const struct gt_range *a, size_t fb, const struct gt_range *b);

struct gt_pw_file {
	char *name;		/* for reports: the path inside the rootfs */
	int fd;			/* owned: closed by gt_pw_set_free */
	dev_t dev;
	ino_t ino;
	uint64_t size;
	struct gt_range *ranges;	/* merged and sorted; empty = whole file */
	size_t n_ranges;
	/* results */
	uint64_t pages;			/* pages in the requested ranges */
	uint64_t resident_before, resident_after;
	uint64_t requested;		/* bytes asked for */
	const char *skipped;		/* why nothing was done, or NULL */
};

struct gt_pw_set {
	struct gt_pw_file *files;
	size_t n, cap;
	unsigned duplicates;	/* same inode reached again, not added */
};

void gt_pw_set_free(struct gt_pw_set *set);

/* Adds an open regular file (the set takes fd, also on failure). A file
 * already in the set (same dev/inode: a hard link, a symlink, a second
 * name) gets the new ranges merged in instead. n_ranges 0 = whole file. */
int gt_pw_set_add(struct gt_pw_set *set, const char *name, int fd, const struct gt_range *ranges,
		  size_t n_ranges, gt_err_t *err);

struct gt_pw_report {
	enum gt_pw_mode mode;
	unsigned files, files_skipped;
	uint64_t requested;
	uint64_t pages, resident_before, resident_after;	/* after: sync modes only */
	double ms;
	const char *stopped;	/* the budget that stopped the work, or NULL */
	bool io_idle;		/* read at the idle I/O class */
	bool in_order_own_class;	/* but what it read in order at the class it had */
	uint64_t in_order;	/* GT_PW_DETACHED: bytes read in order, not queued */
};

/* GT_PW_DETACHED queues this much of the set at once, in first-touch order,
 * and reads the rest itself, in order (see read_in_order in prewarm.c). */
#define GT_PW_DETACHED_HEAD (8u << 20)

/* Warms the set. In background mode the child does the work and the
 * report holds only what was measured before forking. */
int gt_prewarm(struct gt_pw_set *set, enum gt_pw_mode mode, const struct gt_pw_budget *budget,
	       struct gt_pw_report *report, gt_err_t *err);

/* Resident pages of [off, off+len) of fd, counted with mincore. */
int gt_residency(int fd, uint64_t off, uint64_t len, uint64_t *pages, uint64_t *resident, gt_err_t *err);

/* The largest single readahead the kernel will honour for files on dev. */
uint64_t gt_readahead_cap(dev_t dev);

/* Sorts by offset and merges overlapping ranges, and touching ones first
 * seen at the same time (the merge keeps the earlier time); clipped to
 * size. */
size_t gt_ranges_normalize(struct gt_range *r, size_t n, uint64_t size);

/* The parts of a that b does not cover (both sorted by offset and
 * disjoint, as normalized), written to out (room for na + nb); they keep
 * a's times. Returns how many. */
size_t gt_ranges_subtract(const struct gt_range *a, size_t na, const struct gt_range *b, size_t nb,
			  struct gt_range *out);

/* The aligned blocks that the replay reads whole (GT_PW_DETACHED past the
 * head; a refinement does not learn what they lack, gt_profile_clip_blocks):
 * those of which ranges r (sorted by offset and disjoint, as normalized)
 * hold at least 1/GT_PW_DENSE_SHARE (of the part within size). Merged into
 * runs, in order, written to out (room for n + 1). Returns how many. */
#define GT_PW_BLOCK_BYTES (2u << 20)
/* A quarter and a half made no difference to clang's start from the
 * wrapper (x0.707 / x0.700 and x0.712 / x0.691 at 8 MiB readahead, x0.767
 * / x0.749 and x0.719 / x0.762 at 128 KiB, 20 rounds); a quarter reads
 * more whole and learns less. */
#define GT_PW_DENSE_SHARE 4
size_t gt_ranges_dense_blocks(const struct gt_range *r, size_t n, uint64_t block, uint64_t size,
			      struct gt_range *out);

#endif
