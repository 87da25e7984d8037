#include "prewarm.h"
#include "detach.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

static const char *const mode_names[] = { "off", "willneed", "populate", "background" };

int gt_pw_mode_parse(const char *s, enum gt_pw_mode *mode)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*mode = (enum gt_pw_mode)i;
			return 0;
		}
	}
	return -1;
}

const char *gt_pw_mode_name(enum gt_pw_mode mode)
{
	return (size_t)mode < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[mode] : "?";
}

static uint64_t page_size(void)
{
	static uint64_t ps;
	if (ps == 0) {
		long p = sysconf(_SC_PAGESIZE);
		ps = p > 0 ? (uint64_t)p : 4096;
	}
	return ps;
}

static int cmp_range(const void *a, const void *b)
{
	const struct gt_range *x = a, *y = b;
	return (x->off > y->off) - (x->off < y->off);
}

size_t gt_ranges_normalize(struct gt_range *r, size_t n, uint64_t size)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].off >= size || r[i].len == 0)
			continue;
		uint64_t len = r[i].len > size - r[i].off ? size - r[i].off : r[i].len;
		r[k++] = (struct gt_range){ r[i].off, len };
	}
	qsort(r, k, sizeof(*r), cmp_range);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		if (m > 0 && r[i].off <= r[m - 1].off + r[m - 1].len) {
			uint64_t end = r[i].off + r[i].len;
			if (end > r[m - 1].off + r[m - 1].len)
				r[m - 1].len = end - r[m - 1].off;
		} else {
			r[m++] = r[i];
		}
	}
	return m;
}

void gt_pw_set_free(struct gt_pw_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->files[i].name);
		free(set->files[i].ranges);
		if (set->files[i].fd >= 0)
			close(set->files[i].fd);
	}
	free(set->files);
	memset(set, 0, sizeof(*set));
}

/* Appends ranges to f; a file that is warmed whole stays whole. */
static int merge_ranges(struct gt_pw_file *f, const struct gt_range *r, size_t n, bool was_whole, gt_err_t *err)
{
	if (n == 0 || was_whole) {
		free(f->ranges);
		f->ranges = NULL;
		f->n_ranges = 0;
		return 0;
	}
	struct gt_range *nr = realloc(f->ranges, (f->n_ranges + n) * sizeof(*nr));
	if (nr == NULL)
		return gt_error(err, ENOMEM, "prewarm ranges");
	memcpy(nr + f->n_ranges, r, n * sizeof(*r));
	f->ranges = nr;
	f->n_ranges = gt_ranges_normalize(nr, f->n_ranges + n, f->size);
	return 0;
}

int gt_pw_set_add(struct gt_pw_set *set, const char *name, int fd, const struct gt_range *ranges,
		  size_t n_ranges, gt_err_t *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return gt_error(err, e, "stat %s", name);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return gt_error(err, EINVAL, "%s is not a regular file", name);
	}
	for (size_t i = 0; i < set->n; i++) {
		struct gt_pw_file *f = &set->files[i];
		if (f->dev == st.st_dev && f->ino == st.st_ino) {
			close(fd);
			set->duplicates++;
			return merge_ranges(f, ranges, n_ranges, f->n_ranges == 0, err);
		}
	}
	if (set->n == set->cap) {
		size_t ncap = set->cap ? set->cap * 2 : 16;
		struct gt_pw_file *nf = realloc(set->files, ncap * sizeof(*nf));
		if (nf == NULL) {
			close(fd);
			return gt_error(err, ENOMEM, "prewarm set");
		}
		set->files = nf;
		set->cap = ncap;
	}
	struct gt_pw_file *f = &set->files[set->n];
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = (uint64_t)st.st_size;
	f->name = strdup(name);
	if (f->name == NULL) {
		close(fd);
		return gt_error(err, ENOMEM, "prewarm set");
	}
	set->n++;
	if (n_ranges > 0 && merge_ranges(f, ranges, n_ranges, false, err) < 0)
		return -1;
	return 0;
}

static uint64_t read_kb(const char *path)
{
	char buf[32];
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	return strtoull(buf, NULL, 10);
}

uint64_t gt_readahead_cap(dev_t dev)
{
	/* A whole disk has bdi/, a partition finds it one level up; overlay
	 * and tmpfs have none and get the kernel's default window. */
	static dev_t cached_dev;
	static uint64_t cached;
	if (cached != 0 && cached_dev == dev)
		return cached;
	uint64_t kb = 0;
	char path[96];
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/bdi/read_ahead_kb", major(dev), minor(dev));
	kb = read_kb(path);
	if (kb == 0) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../bdi/read_ahead_kb", major(dev), minor(dev));
		kb = read_kb(path);
	}
	if (kb == 0)
		kb = 128;
	cached_dev = dev;
	cached = kb * 1024;
	return cached;
}

int gt_residency(int fd, uint64_t off, uint64_t len, uint64_t *pages, uint64_t *resident, gt_err_t *err)
{
	*pages = *resident = 0;
	if (len == 0)
		return 0;
	uint64_t ps = page_size();
	uint64_t start = off / ps * ps, end = (off + len + ps - 1) / ps * ps;
	size_t maplen = (size_t)(end - start);
	void *addr = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, (off_t)start);
	if (addr == MAP_FAILED)
		return gt_error(err, errno, "mmap");
	size_t npages = maplen / ps;
	unsigned char *vec = malloc(npages);
	int ret = 0;
	if (vec == NULL) {
		ret = gt_error(err, ENOMEM, "mincore");
	} else if (mincore(addr, maplen, vec) < 0) {
		ret = gt_error(err, errno, "mincore");
	} else {
		*pages = npages;
		for (size_t i = 0; i < npages; i++)
			*resident += vec[i] & 1;
	}
	free(vec);
	munmap(addr, maplen);
	return ret;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Synchronous reading without MADV_POPULATE_READ (before Linux 5.14):
 * pread instead of touching the mapping, so a file truncated under us
 * gives a short read, not a SIGBUS that kills the hook. */
static int populate_by_pread(int fd, uint64_t off, uint64_t len)
{
	char b;
	uint64_t ps = page_size();
	for (uint64_t p = off; p < off + len; p += ps)
		if (pread(fd, &b, 1, (off_t)p) <= 0)
			return -1;
	return 0;
}

struct warm_ctx {
	enum gt_pw_mode mode;	/* willneed or populate */
	const struct gt_pw_budget *budget;
	uint64_t used;
	double deadline;
	const char *stopped;
	bool no_populate;
};

/* The synchronous modes: waits until the queued ranges of f (mapped at
 * addr) are read, within the time budget. */
static void wait_for(struct gt_pw_file *f, struct warm_ctx *c, char *addr, const struct gt_range *queued, size_t nq,
		     uint64_t cap)
{
	for (size_t i = 0; i < nq; i++) {
		for (uint64_t o = queued[i].off, end = queued[i].off + queued[i].len, chunk; o < end; o += chunk) {
			chunk = end - o < cap ? end - o : cap;
			if (c->no_populate) {
				populate_by_pread(f->fd, o, chunk);
			} else if (madvise(addr + o, (size_t)chunk, MADV_POPULATE_READ) < 0) {
				if (errno != EINVAL) {
					/* EFAULT: the file shrank under us */
					f->skipped = "file changed while warming";
					return;
				}
				c->no_populate = true;	/* before Linux 5.14 */
				populate_by_pread(f->fd, o, chunk);
			}
			if (now_ms() > c->deadline) {
				c->stopped = "max_ms";
				return;
			}
		}
	}
}

static void warm_file(struct gt_pw_file *f, struct warm_ctx *c, bool measure)
{
	struct gt_range whole = { 0, f->size };
	const struct gt_range *all = f->n_ranges ? f->ranges : &whole;
	size_t n_all = f->n_ranges ? f->n_ranges : 1;
	if (f->size == 0) {
		f->skipped = "empty";
		return;
	}
	uint64_t ps = page_size();
	/* Clip to the budgets first, so that neither the mapping nor the
	 * residency count ever covers more than we may read (a 1 TiB sparse
	 * file must cost no more than its budget). */
	uint64_t total_left = c->budget->max_bytes > c->used ? c->budget->max_bytes - c->used : 0;
	uint64_t limit = c->budget->max_file_bytes < total_left ? c->budget->max_file_bytes : total_left;
	limit = limit / ps * ps;
	struct gt_range *r = malloc(n_all * sizeof(*r));
	if (r == NULL) {
		f->skipped = "out of memory";
		return;
	}
	size_t n = 0;
	for (uint64_t got = 0; n < n_all && got < limit; n++) {
		r[n] = all[n];
		if (r[n].len > limit - got) {
			r[n].len = limit - got;
			f->skipped = limit == total_left ? "max_bytes" : "max_file_bytes";
		}
		got += r[n].len;
	}
	if (n < n_all && f->skipped == NULL)
		f->skipped = limit == total_left ? "max_bytes" : "max_file_bytes";
	if (f->skipped != NULL && strcmp(f->skipped, "max_bytes") == 0)
		c->stopped = "max_bytes";
	if (n == 0) {
		if (total_left < ps)
			c->stopped = "max_bytes";
		free(r);
		return;
	}
	uint64_t cap = gt_readahead_cap(f->dev);
	cap = cap / ps * ps;
	if (cap == 0)
		cap = ps;
	uint64_t file_left = c->budget->max_file_bytes;
	/* One mapping of the whole span is cheap (no page is touched) and
	 * lets madvise address any range. */
	uint64_t span = r[n - 1].off + r[n - 1].len;
	span = (span + ps - 1) / ps * ps;
	void *addr = mmap(NULL, (size_t)span, PROT_READ, MAP_SHARED, f->fd, 0);
	if (addr == MAP_FAILED) {
		f->skipped = "mmap failed";
		free(r);
		return;
	}
	/* Page faults on a normal mapping read a whole readahead window around
	 * each fault; warming byte ranges must read those ranges only. */
	madvise(addr, (size_t)span, MADV_RANDOM);
	/* Every chunk is queued first (WILLNEED: one request each, all in
	 * flight together); the synchronous modes then wait for them. Waiting
	 * for each chunk before queueing the next left the device idle between
	 * round trips: 60 MiB of ranges in 128 KiB chunks took 180 ms. */
	struct gt_range *queued = calloc(n, sizeof(*queued));
	if (queued == NULL) {
		f->skipped = "out of memory";
		goto done;
	}
	bool last = c->stopped != NULL; /* the budget ends inside this file */
	bool full = false;		/* a budget ran out here: no more of this file */
	size_t nq = 0;
	for (size_t i = 0; i < n && !full && (c->stopped == NULL || last); i++) {
		uint64_t lo = r[i].off / ps * ps, hi = (r[i].off + r[i].len + ps - 1) / ps * ps;
		if (measure) {
			uint64_t p, res;
			gt_err_t err = NULL;
			if (gt_residency(f->fd, lo, hi - lo, &p, &res, &err) == 0) {
				f->pages += p;
				f->resident_before += res;
			}
			gt_err_free(&err);
		}
		queued[nq] = (struct gt_range){ lo, 0 };
		for (uint64_t o = lo, chunk; o < hi; o += chunk) {
			chunk = hi - o < cap ? hi - o : cap;
			if (chunk > file_left)
				chunk = file_left / ps * ps;
			if (chunk == 0) {
				f->skipped = "max_file_bytes";	/* the rest of this file */
				full = true;
				break;
			}
			if (c->used + chunk > c->budget->max_bytes)
				chunk = (c->budget->max_bytes - c->used) / ps * ps;
			if (chunk == 0) {
				c->stopped = "max_bytes";
				full = true;
				break;
			}
			madvise((char *)addr + o, (size_t)chunk, MADV_WILLNEED);
			queued[nq].len += chunk;
			f->requested += chunk;
			c->used += chunk;
			file_left -= chunk;
		}
		if (queued[nq].len > 0)
			nq++;
	}
	if (c->mode != GT_PW_WILLNEED)
		wait_for(f, c, addr, queued, nq, cap);
	free(queued);
done:
	if (measure) {
		for (size_t i = 0; i < n; i++) {
			uint64_t lo = r[i].off / ps * ps, hi = (r[i].off + r[i].len + ps - 1) / ps * ps;
			uint64_t p, res;
			gt_err_t err = NULL;
			if (gt_residency(f->fd, lo, hi - lo, &p, &res, &err) == 0)
				f->resident_after += res;
			gt_err_free(&err);
		}
	}
	munmap(addr, (size_t)span);
	free(r);
}

static void warm_all(struct gt_pw_set *set, enum gt_pw_mode mode, const struct gt_pw_budget *budget,
		     struct gt_pw_report *rep, bool measure)
{
	struct warm_ctx c = { .mode = mode, .budget = budget, .deadline = now_ms() + budget->max_ms };
	for (size_t i = 0; i < set->n; i++) {
		struct gt_pw_file *f = &set->files[i];
		if (c.stopped != NULL || i >= budget->max_files) {
			f->skipped = c.stopped != NULL ? c.stopped : "max_files";
			if (rep->stopped == NULL)
				rep->stopped = f->skipped;
			rep->files_skipped++;
			continue;
		}
		warm_file(f, &c, measure);
		rep->files++;
		rep->requested += f->requested;
		rep->pages += f->pages;
		rep->resident_before += f->resident_before;
		rep->resident_after += f->resident_after;
	}
	if (rep->stopped == NULL)
		rep->stopped = c.stopped;
}

/* The background reader keeps only the files it is to warm. */
static bool is_set_file(int fd, const void *ctx)
{
	const struct gt_pw_set *set = ctx;
	for (size_t i = 0; i < set->n; i++)
		if (set->files[i].fd == fd)
			return true;
	return false;
}

int gt_prewarm(struct gt_pw_set *set, enum gt_pw_mode mode, const struct gt_pw_budget *budget,
	       struct gt_pw_report *rep, gt_err_t *err)
{
	memset(rep, 0, sizeof(*rep));
	rep->mode = mode;
	double t0 = now_ms();
	if (mode == GT_PW_OFF)
		return 0;
	if (mode == GT_PW_BACKGROUND) {
		pid_t pid = fork();
		if (pid < 0)
			return gt_error(err, errno, "prewarm: fork");
		if (pid == 0) {
			gt_detach(is_set_file, set);
			struct gt_pw_report child = { 0 };
			warm_all(set, GT_PW_POPULATE, budget, &child, false);
			_exit(0);
		}
		rep->files = (unsigned)set->n;
		rep->ms = now_ms() - t0;
		return 0;
	}
	warm_all(set, mode, budget, rep, true);
	rep->ms = now_ms() - t0;
	return 0;
}
