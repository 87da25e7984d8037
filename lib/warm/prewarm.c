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
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif


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
		r[k++] = (struct gt_range){ r[i].off, len, r[i].t };
	}
	qsort(r, k, sizeof(*r), cmp_range);
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		struct gt_range *last = m > 0 ? &r[m - 1] : NULL;
		uint64_t last_end = last != NULL ? last->off + last->len : 0;
		if (last != NULL && (r[i].off < last_end || (r[i].off == last_end && r[i].t == last->t))) {
			uint64_t end = r[i].off + r[i].len;
			if (end > last_end)
				last->len = end - last->off;
			if (gt_range_order(&r[i]) < gt_range_order(last))
				last->t = r[i].t;
		} else {
			r[m++] = r[i];
		}
	}
	return m;
}

size_t gt_ranges_subtract(const struct gt_range *a, size_t na, const struct gt_range *b, size_t nb,
			  struct gt_range *out)
{
	size_t n = 0, j = 0;
	for (size_t i = 0; i < na; i++) {
		uint64_t off = a[i].off, end = a[i].off + a[i].len;
		while (j < nb && b[j].off + b[j].len <= off)
			j++;
		for (size_t k = j; k < nb && b[k].off < end && off < end; k++) {
			if (b[k].off > off)
				out[n++] = (struct gt_range){ off, b[k].off - off, a[i].t };
			if (b[k].off + b[k].len > off)
				off = b[k].off + b[k].len;
		}
		if (off < end)
			out[n++] = (struct gt_range){ off, end - off, a[i].t };
	}
	return n;
}

/* Runs being built: out has room for cap. */
struct runs {
	struct gt_range *out;
	size_t n, cap;
};

/* Appends [off, off+len), merged with the last run when they touch. Input
 * that is not normalized could make more runs than ranges: those are left
 * out, never written past cap. */
static void add_run(struct runs *r, uint64_t off, uint64_t len)
{
	if (r->n > 0 && r->out[r->n - 1].off + r->out[r->n - 1].len == off)
		r->out[r->n - 1].len += len;
	else if (r->n < r->cap)
		r->out[r->n++] = (struct gt_range){ off, len, 0 };
}

/* Block b (none: UINT64_MAX), of which held bytes are in ranges, is a
 * run when they are a dense share of it. */
static void close_block(struct runs *r, uint64_t b, uint64_t held, uint64_t block, uint64_t size)
{
	if (b == UINT64_MAX)
		return;
	uint64_t from = b * block, len = size - from < block ? size - from : block;
	if (from < size && held * GT_PW_DENSE_SHARE >= len)
		add_run(r, from, len); /* the file's last block ends with it: read whole, not past it */
}

size_t gt_ranges_dense_blocks(const struct gt_range *r, size_t n, uint64_t block, uint64_t size,
			      struct gt_range *out)
{
	struct runs runs = { out, 0, n + 1 };
	uint64_t cur = UINT64_MAX, held = 0;	/* the block being summed */
	/* At most three steps per range: the part in its first block, its
	 * whole blocks at once, the part in its last block. Each range ends
	 * up in one run at most (a block between two dense ones that a range
	 * crosses is whole in it), so there are no more runs than ranges. */
	for (size_t i = 0; i < n; i++) {
		uint64_t off = r[i].off, end = r[i].off + r[i].len;
		for (int step = 0; step < 3 && off < end; step++) {
			uint64_t b = off / block, b_end = (b + 1) * block;
			if (off == b * block && end - off >= block) {
				close_block(&runs, cur, held, block, size);
				cur = UINT64_MAX;
				held = 0;
				uint64_t whole = (end - off) / block * block;
				add_run(&runs, off, whole);
				off += whole;
				continue;
			}
			if (b != cur) {
				close_block(&runs, cur, held, block, size);
				cur = b;
				held = 0;
			}
			uint64_t to = end < b_end ? end : b_end;
			held += to - off;
			off = to;
		}
	}
	close_block(&runs, cur, held, block, size);
	return runs.n;
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

/* A file's part of the work: its ranges within max_file_bytes, mapped. */
struct file_work {
	struct gt_range *r;	/* kept ranges, by offset */
	size_t n;
	char *addr;
	uint64_t span, cap;
	uint64_t file_left;	/* max_file_bytes still to ask for */
	bool done;		/* skipped or failed: nothing more of it */
	struct gt_range *dense;	/* the blocks read whole, as runs (gt_ranges_dense_blocks) */
	size_t n_dense;
	uint8_t *blk;		/* per block of the span: BLK_QUEUED, BLK_READ (read_in_order) */
};

int gt_range_cmp(size_t fa, const struct gt_range *a, size_t fb, const struct gt_range *b)
{
	uint32_t ka = gt_range_order(a), kb = gt_range_order(b);
	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (fa != fb)
		return fa < fb ? -1 : 1;
	return (a->off > b->off) - (a->off < b->off);
}

/* One range of one file, in the order they are read. */
struct item {
	size_t file;
	struct gt_range r;
	uint64_t issued;	/* from r.off (page aligned), bytes asked for */
};

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	return gt_range_cmp(x->file, &x->r, y->file, &y->r);
}

/* Resident pages of range r, through the file's mapping (one mincore per
 * 1024 pages instead of a mapping of its own per range: the hook holds
 * the runtime while it counts); adds the range's pages to *pages. */
static uint64_t resident_pages(const struct file_work *w, const struct gt_range *r, uint64_t *pages)
{
	uint64_t ps = page_size(), res = 0;
	uint64_t lo = r->off / ps * ps, hi = (r->off + r->len + ps - 1) / ps * ps;
	unsigned char vec[1024];
	for (uint64_t o = lo; o < hi;) {
		uint64_t n = (hi - o) / ps < sizeof(vec) ? (hi - o) / ps : sizeof(vec);
		if (mincore(w->addr + o, (size_t)(n * ps), vec) < 0)
			break;
		for (uint64_t i = 0; i < n; i++)
			res += vec[i] & 1;
		*pages += n;
		o += n * ps;
	}
	return res;
}

/* The file's ranges (whole file when none), in reading order, within
 * max_file_bytes and the total_left of max_bytes; then by offset. Clipping
 * first keeps both the mapping and the residency count within what we may
 * read (a 1 TiB sparse file must cost no more than its budget). in_order:
 * the blocks read whole are named too (read_in_order). Returns the bytes
 * kept. */
static uint64_t prepare_file(struct gt_pw_file *f, struct file_work *w, const struct gt_pw_budget *budget,
			     uint64_t total_left, bool measure, bool in_order)
{
	uint64_t ps = page_size();
	struct gt_range whole = { 0, f->size, 0 };
	const struct gt_range *all = f->n_ranges ? f->ranges : &whole;
	size_t n_all = f->n_ranges ? f->n_ranges : 1;
	w->done = true;
	if (f->size == 0) {
		f->skipped = "empty";
		return 0;
	}
	w->r = malloc(n_all * sizeof(*w->r));
	if (w->r == NULL) {
		f->skipped = "out of memory";
		return 0;
	}
	memcpy(w->r, all, n_all * sizeof(*all));
	struct item *order = malloc(n_all * sizeof(*order));
	if (order != NULL) {
		for (size_t i = 0; i < n_all; i++)
			order[i] = (struct item){ .r = w->r[i] };
		qsort(order, n_all, sizeof(*order), cmp_item);
		for (size_t i = 0; i < n_all; i++)
			w->r[i] = order[i].r;
		free(order);
	}
	bool by_total = total_left < budget->max_file_bytes;
	uint64_t limit = (by_total ? total_left : budget->max_file_bytes) / ps * ps, got = 0;
	const char *why = by_total ? "max_bytes" : "max_file_bytes";
	for (w->n = 0; w->n < n_all && got < limit; w->n++) {
		if (w->r[w->n].len > limit - got) {
			w->r[w->n].len = limit - got;
			f->skipped = why;
		}
		got += w->r[w->n].len;
	}
	if (w->n < n_all && f->skipped == NULL)
		f->skipped = why;
	if (w->n == 0)
		return 0;
	qsort(w->r, w->n, sizeof(*w->r), cmp_range);
	/* Only read_in_order uses the runs; without memory for them every
	 * part is queued, none read whole. */
	w->dense = in_order ? malloc((w->n + 1) * sizeof(*w->dense)) : NULL;
	if (w->dense != NULL)
		w->n_dense = gt_ranges_dense_blocks(w->r, w->n, GT_PW_BLOCK_BYTES, f->size, w->dense);
	w->span = 0;
	for (size_t i = 0; i < w->n; i++)
		if (w->r[i].off + w->r[i].len > w->span)
			w->span = w->r[i].off + w->r[i].len;
	/* A dense run ends at a block's end or the file's: it is read whole. */
	if (w->n_dense > 0 && w->dense[w->n_dense - 1].off + w->dense[w->n_dense - 1].len > w->span)
		w->span = w->dense[w->n_dense - 1].off + w->dense[w->n_dense - 1].len;
	w->span = (w->span + ps - 1) / ps * ps;
	if (w->n_dense > 0 && (w->blk = calloc((size_t)(w->span / GT_PW_BLOCK_BYTES + 1), 1)) == NULL) {
		free(w->dense); /* nothing is read whole */
		w->dense = NULL;
		w->n_dense = 0;
	}
	/* One mapping of the whole span is cheap (no page is touched) and
	 * lets madvise address any range. */
	void *addr = mmap(NULL, (size_t)w->span, PROT_READ, MAP_SHARED, f->fd, 0);
	if (addr == MAP_FAILED) {
		f->skipped = "mmap failed";
		return 0;
	}
	w->addr = addr;
	w->done = false;
	/* Page faults on a normal mapping read a whole readahead window around
	 * each fault; warming byte ranges must read those ranges only. */
	madvise(addr, (size_t)w->span, MADV_RANDOM);
	w->cap = gt_readahead_cap(f->dev) / ps * ps;
	if (w->cap == 0)
		w->cap = ps;
	w->file_left = limit;
	for (size_t i = 0; measure && i < w->n; i++)
		f->resident_before += resident_pages(w, &w->r[i], &f->pages);
	return got;
}

/* The synchronous modes: waits until it.issued bytes of the item are
 * read, within the time budget. */
static bool wait_item(struct gt_pw_file *f, struct file_work *w, const struct item *it, double deadline,
		      bool *no_populate)
{
	uint64_t ps = page_size();
	uint64_t lo = it->r.off / ps * ps;
	for (uint64_t o = lo, end = lo + it->issued, chunk; o < end; o += chunk) {
		chunk = end - o < w->cap ? end - o : w->cap;
		if (*no_populate) {
			populate_by_pread(f->fd, o, chunk);
		} else if (madvise(w->addr + o, (size_t)chunk, MADV_POPULATE_READ) < 0) {
			if (errno != EINVAL) {
				/* EFAULT: the file shrank under us */
				f->skipped = "file changed while warming";
				w->done = true;
				return true;
			}
			*no_populate = true; /* before Linux 5.14 */
			populate_by_pread(f->fd, o, chunk);
		}
		if (now_ms() > deadline)
			return false;
	}
	return true;
}

/* The reads are queued at the idle I/O class, behind the program's own
 * page faults and the runtime's reads: queued at the class they share
 * (best effort), a fault the replay has not reached yet waited behind
 * every read queued before it, tens of MiB. Measured on clang's 64 MiB
 * working set (tests/bench/coldstart.py, mq-deadline, which serves the
 * classes in order): a detached replay went from x0.92 to x0.84 of the
 * cold start at 8 MiB readahead, and from x0.81 to x0.79 at 128 KiB; from
 * the wrapper, x1.02 to x0.91 and x0.90 to x0.84. Schedulers without
 * classes (none, the NVMe default) ignore it. Needs no privilege; a
 * failure leaves the class as it was.
 * What a detached worker reads in order (read_in_order) is read at the
 * class it had: it waits for each block, so no more than GT_PW_AHEAD_BYTES
 * of it is ever ahead of a fault; at the idle class mq-deadline served it
 * only when no other read was queued, and it fell behind the program it
 * reads for. Against the idle class for everything, in the same 16
 * rounds (paired, 8 MiB / 128 KiB readahead, 2026-12-07): clang from the
 * wrapper x0.509 / x0.560 against x0.700 / x0.586, from prestart x0.813 /
 * x0.728 against x0.928 / x0.962; the wrapper's reader 87 ms against 107;
 * perl (all queued) unchanged. */
#define GT_IOPRIO_WHO_PROCESS 1
#define GT_IOPRIO_CLASS_IDLE 3
#define GT_IOPRIO_CLASS_SHIFT 13
struct io_class {
	long own;	/* the class the process had; -1: unknown, never changed */
	bool idle;	/* the idle class is set */
};

static void io_class_set(struct io_class *c, bool idle)
{
#if defined(SYS_ioprio_set) && defined(SYS_ioprio_get)
	if (c->own < 0 || c->idle == idle)
		return;
	long prio = idle ? GT_IOPRIO_CLASS_IDLE << GT_IOPRIO_CLASS_SHIFT : c->own;
	if (syscall(SYS_ioprio_set, GT_IOPRIO_WHO_PROCESS, 0, prio) == 0)
		c->idle = idle;
#else
	(void)c;
	(void)idle;
#endif
}

static struct io_class io_class_idle(void)
{
	struct io_class c = { -1, false };
#ifdef SYS_ioprio_get
	c.own = syscall(SYS_ioprio_get, GT_IOPRIO_WHO_PROCESS, 0);
#endif
	io_class_set(&c, true);
	return c;
}

/* What a detached worker does in willneed mode (GT_PW_DETACHED): it
 * queues the start of the set (GT_PW_DETACHED_HEAD, prewarm.h, in
 * first-touch order: what the program wants first) and reads the rest
 * itself, in that order, blocking. Queueing the whole set at once cost
 * 32 ms of CPU over the machine for clang's 122 MiB of libraries (single
 * pages: MADV_WILLNEED takes mm/readahead.c force_page_cache_ra ->
 * page_cache_ra_unbounded, in folios of the mapping's least order), and
 * on two CPUs that CPU was the runtime's: runc reached the container's
 * exec 20 ms later with the reader beside it. Read in order, it is spread
 * over the start. A set within the head (perl's) is all queued. */

/* How far ahead of the block it waits for the reader queues (MADV_WILLNEED),
 * within a dense run: the device has the next reads while it waits.
 * 16 MiB ahead, against 4, read clang's profile in 130 ms instead of 120
 * and started it in x0.714 / x0.682 of no prewarm from the wrapper
 * against x0.660 / x0.665 (8 MiB / 128 KiB readahead, 16 rounds,
 * 2026-12-07): reads already sent to the device delay the program's
 * faults, which the idle class only orders in the scheduler's queue. */
#define GT_PW_AHEAD_BYTES (2 * GT_PW_BLOCK_BYTES)
enum { BLK_QUEUED = 1, BLK_READ = 2 };

/* The end of the block at b, within a run ending at run_end (the file's
 * last block is short). */
static uint64_t block_end(uint64_t b, uint64_t run_end)
{
	return run_end - b < GT_PW_BLOCK_BYTES ? run_end : b + GT_PW_BLOCK_BYTES;
}

/* For GT_PW_DETACHED past the head: reads [o, o+chunk) of the file now,
 * where it lies in a dense block (gt_ranges_dense_blocks), and each such
 * block whole: queued (MADV_WILLNEED) with GT_PW_AHEAD_BYTES of its run
 * after it, then waited for (MADV_POPULATE_READ, through the mapping
 * advised MADV_RANDOM: a page not yet queued is read alone, with no
 * readahead). The parts in sparse blocks are queued instead: a clang
 * profile recorded from a warm start (56 MiB of ranges) lies in 109 MiB
 * of blocks, 22 MiB of them blocks it holds less than a tenth of (a single
 * 64 KiB fault-around window, often).
 * Not in large folios: until 2026-12-07 the blocks were faulted in through
 * a mapping advised MADV_HUGEPAGE, one 2 MiB folio each, for a fifth of
 * the CPU. But such a fault marks its folio PG_readahead (mm/filemap.c
 * do_sync_mmap_readahead, the VM_HUGEPAGE case: async_size =
 * HPAGE_PMD_NR), fault-around skips marked folios (next_uptodate_folio),
 * and so the program's first touch of every block went through
 * page_cache_async_ra and read up to the device's readahead from the
 * next page not cached: 44-70 times a start, 130-175 MiB at the program's
 * own (best effort) class at 8 MiB readahead, as much as a cold start
 * reads (ftrace, block_rq_issue). The fadvise path marks nothing. Against
 * the large folios, in the same 20 rounds (paired, 8 MiB / 128 KiB
 * readahead, 2026-12-07): clang from the wrapper x0.659 / x0.601 against
 * x0.772 / x0.728, from prestart x0.817 / x0.932 against x0.889 / x0.944;
 * perl's set lies within the head, read as before.
 * *read counts what was read now. Called only where reading in order
 * applies (in_order_now). A kernel without MADV_POPULATE_READ (5.14) sets
 * *no_populate, and the rest is queued. A file that shrank under us
 * (EFAULT) is done with.
 * Two readers taking the next chunk in turn (threads) read clang's blocks
 * in 66 ms instead of 105 with the cache dropped and nothing else running,
 * but not faster in a container's start, where the program's own reads
 * come first: the reader took as long (84 ms against 83), and clang from
 * the wrapper started in x0.595-0.674 of no prewarm with one reader and
 * x0.650-0.717 with two (20 rounds each, 2026-12-07). */
/* Past the head of a detached worker's set, within the time budget (past
 * it, what is left is queued, as willneed promises). */
static bool in_order_now(enum gt_pw_mode mode, uint64_t used, double deadline, bool no_populate)
{
	return mode == GT_PW_DETACHED && used >= GT_PW_DETACHED_HEAD && !no_populate && now_ms() <= deadline;
}

static void read_in_order(struct gt_pw_file *f, struct file_work *w, uint64_t o, uint64_t chunk,
			  bool *no_populate, uint64_t *read)
{
	/* The first dense run that ends after o; the runs are sorted. */
	size_t lo = 0, hi = w->n_dense;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->dense[mid].off + w->dense[mid].len <= o)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t at = o, end = o + chunk;
	for (size_t k = lo; k < w->n_dense && at < end && w->dense[k].off < end; k++) {
		const uint64_t run = w->dense[k].off, run_end = run + w->dense[k].len;
		uint64_t from = run > at ? run : at;
		uint64_t to = run_end < end ? run_end : end;
		if (from > at)
			madvise(w->addr + at, (size_t)(from - at), MADV_WILLNEED);
		/* The runs are whole blocks from an aligned start (but the
		 * file's last), so the blocks round out within the run. Each
		 * is queued and waited for once: a profile has thousands of
		 * ranges, and asking again walks the block's 512 pages. */
		for (uint64_t b = run + (from - run) / GT_PW_BLOCK_BYTES * GT_PW_BLOCK_BYTES; b < to;
		     b += GT_PW_BLOCK_BYTES) {
			uint64_t b_end = block_end(b, run_end);
			for (uint64_t q = b; q < run_end && q < b_end + GT_PW_AHEAD_BYTES; q += GT_PW_BLOCK_BYTES) {
				uint8_t *st = &w->blk[q / GT_PW_BLOCK_BYTES];
				if (*st == 0) {
					*st = BLK_QUEUED;
					madvise(w->addr + q, (size_t)(block_end(q, run_end) - q), MADV_WILLNEED);
				}
			}
			uint8_t *st = &w->blk[b / GT_PW_BLOCK_BYTES];
			if (*st == BLK_READ)
				continue;
			*st = BLK_READ;
			if (madvise(w->addr + b, (size_t)(b_end - b), MADV_POPULATE_READ) == 0)
				continue;
			if (errno == EFAULT) {
				f->skipped = "file changed while warming";
				w->done = true;
				return;
			}
			*no_populate = errno == EINVAL;
			madvise(w->addr + from, (size_t)(end - from), MADV_WILLNEED);
			return;
		}
		*read += to - from;
		at = to;
	}
	if (at < end)
		madvise(w->addr + at, (size_t)(end - at), MADV_WILLNEED);
}

/* Every file's ranges are read in one order: timed ones (a recording saw
 * them first at that time) earliest first, across files, then the rest
 * file by file, by offset. Every chunk is queued first (WILLNEED: one
 * request each, all in flight together); the synchronous modes then wait
 * for them in the same order. Waiting for each chunk before queueing the
 * next left the device idle between round trips: 60 MiB of ranges in
 * 128 KiB chunks took 180 ms. */
static void warm_all(struct gt_pw_set *set, enum gt_pw_mode mode, const struct gt_pw_budget *budget,
		     struct gt_pw_report *rep, bool measure)
{
	double deadline = now_ms() + budget->max_ms;
	uint64_t ps = page_size(), used = 0;
	struct io_class io = io_class_idle();
	rep->io_idle = io.idle;
	size_t active = set->n < budget->max_files ? set->n : budget->max_files;
	for (size_t i = active; i < set->n; i++) {
		set->files[i].skipped = "max_files";
		rep->files_skipped++;
		if (rep->stopped == NULL)
			rep->stopped = "max_files";
	}
	struct file_work *w = calloc(active ? active : 1, sizeof(*w));
	if (w == NULL) {
		rep->stopped = "out of memory";
		return;
	}
	size_t n_items = 0;
	const char *stopped = NULL;
	for (size_t i = 0; i < active; i++) {
		if (used >= budget->max_bytes) {
			stopped = "max_bytes";
			w[i].done = true;
			continue;
		}
		used += prepare_file(&set->files[i], &w[i], budget, budget->max_bytes - used, measure,
				     mode == GT_PW_DETACHED);
		n_items += w[i].done ? 0 : w[i].n;
		const char *why = set->files[i].skipped;
		if (why != NULL && strcmp(why, "max_bytes") == 0)
			stopped = why; /* the budget ends inside this file */
	}
	used = 0;
	bool no_populate = false;
	struct item *items = malloc((n_items ? n_items : 1) * sizeof(*items));
	if (items == NULL) {
		n_items = 0;
		stopped = "out of memory";
	} else {
		for (size_t i = 0, k = 0; i < active; i++)
			for (size_t j = 0; !w[i].done && j < w[i].n; j++)
				items[k++] = (struct item){ .file = i, .r = w[i].r[j] };
		qsort(items, n_items, sizeof(*items), cmp_item);
	}
	for (size_t k = 0; k < n_items; k++) {
		struct item *it = &items[k];
		struct gt_pw_file *f = &set->files[it->file];
		struct file_work *fw = &w[it->file];
		uint64_t lo = it->r.off / ps * ps, hi = (it->r.off + it->r.len + ps - 1) / ps * ps;
		for (uint64_t o = lo, chunk; o < hi && !fw->done; o += chunk) {
			chunk = hi - o < fw->cap ? hi - o : fw->cap;
			if (chunk > fw->file_left)
				chunk = fw->file_left / ps * ps;
			if (chunk == 0) {
				f->skipped = "max_file_bytes"; /* the rest of this file */
				break;
			}
			if (used + chunk > budget->max_bytes)
				chunk = (budget->max_bytes - used) / ps * ps;
			if (chunk == 0) {
				stopped = "max_bytes";
				f->skipped = "max_bytes";
				break;
			}
			bool in_order = in_order_now(mode, used, deadline, no_populate);
			io_class_set(&io, !in_order);
			rep->in_order_own_class |= in_order && !io.idle && rep->io_idle;
			if (in_order)
				read_in_order(f, fw, o, chunk, &no_populate, &rep->in_order);
			else
				madvise(fw->addr + o, (size_t)chunk, MADV_WILLNEED);
			if (fw->done)
				break; /* the file changed under us */
			it->issued += chunk;
			f->requested += chunk;
			used += chunk;
			fw->file_left -= chunk;
		}
	}
	if (mode == GT_PW_POPULATE) {
		bool late = false;
		for (size_t k = 0; k < n_items && !late; k++) {
			struct item *it = &items[k];
			late = it->issued > 0 && !w[it->file].done &&
			       !wait_item(&set->files[it->file], &w[it->file], it, deadline, &no_populate);
		}
		if (late)
			stopped = "max_ms";
	}
	free(items);
	for (size_t i = 0; i < active; i++) {
		struct gt_pw_file *f = &set->files[i];
		if (stopped != NULL && f->requested == 0 && f->skipped == NULL) {
			f->skipped = stopped; /* never reached */
			rep->files_skipped++;
		} else {
			rep->files++;
		}
		uint64_t pages = 0;
		for (size_t j = 0; measure && w[i].addr != NULL && j < w[i].n; j++)
			f->resident_after += resident_pages(&w[i], &w[i].r[j], &pages);
		if (w[i].addr != NULL)
			munmap(w[i].addr, (size_t)w[i].span);
		free(w[i].r);
		free(w[i].dense);
		free(w[i].blk);
		rep->requested += f->requested;
		rep->pages += f->pages;
		rep->resident_before += f->resident_before;
		rep->resident_after += f->resident_after;
	}
	free(w);
	if (rep->stopped == NULL)
		rep->stopped = stopped;
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
