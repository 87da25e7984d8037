/* Profiles: build-ID identity, keys, the text format (v2 and v1). */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buildid.h"
#include "pagemap_scan.h"
#include "profile.h"
#include "record.h"
#include "sha256.h"
#include "tap.h"

/* path's record in p, if any. */
static const struct gt_profile_file *file_in(const struct gt_profile *p, const char *path)
{
	for (size_t i = 0; p != NULL && i < p->n_files; i++)
		if (strcmp(p->files[i].path, path) == 0)
			return &p->files[i];
	return NULL;
}

/* The recorder on this very process: a 4 MiB file mapped, two pages 2 MiB
 * apart touched; the profile must hold those and little else (the kernel
 * maps up to 64 KiB around a fault from the page cache). */
static void record_self(void)
{
	char path[] = "/tmp/gotune-test-record-XXXXXX";
	int fd = mkstemp(path);
	size_t len = 4u << 20;
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
		ok(0, "temp file for the recorder");
		return;
	}
	volatile unsigned char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		ok(0, "mmap");
		return;
	}
	unsigned sum = m[0] + m[2u << 20];
	struct gt_profile *p = calloc(1, sizeof(*p));
	struct gt_record_opts o = { .interval_ms = 5, .settle_ms = 30, .max_ms = 300 };
	gt_err_t err = NULL;
	int rc = gt_record(getpid(), &o, p, NULL, 0, &err);
	const struct gt_profile_file *f = file_in(p, path);
	ok(rc > 0 && f != NULL && f->size == len, "the recorder finds the mapped file in %d samples (sum %u)", rc, sum);
	bool first = false, middle = false;
	uint64_t bytes = 0;
	for (size_t i = 0; f != NULL && i < f->n_ranges; i++) {
		first |= f->ranges[i].off == 0;
		middle |= f->ranges[i].off <= (2u << 20) && f->ranges[i].off + f->ranges[i].len > (2u << 20);
		bytes += f->ranges[i].len;
	}
	ok(first && middle, "... with both touched pages");
	bool timed = f != NULL && f->n_ranges > 0;
	for (size_t i = 0; f != NULL && i < f->n_ranges; i++)
		timed &= f->ranges[i].t >= 1 && f->ranges[i].t <= 300 + 1;
	ok(timed, "... each range with the time it was first seen (ms after the start, plus 1)");
	ok(bytes > 0 && bytes <= 256u << 10, "... and little else (%llu bytes of 4 MiB)", (unsigned long long)bytes);
	munmap((void *)m, len);
	close(fd);
	unlink(path);
	gt_profile_free(p);
	free(p);
	gt_err_free(&err);
}

/* The two ways of reading present pages agree, exactly: the runs the
 * kernel's PAGEMAP_SCAN returns and pagemap's 8-byte entries, on a
 * mapping at a file offset with a known pattern of present pages. */
enum { SCAN_PAGES = 1024 };
static const size_t scan_ps = 4096, scan_at = 16 * 4096;

/* Absent: page 1, pages 5-8, page 100, every other page from 300 to 999
 * (350 runs: more than one ioctl's 256 regions) and the last 10. */
static bool scan_present(size_t i)
{
	return !(i == 1 || (i >= 5 && i < 9) || i == 100 || (i >= 300 && i < 1000 && i % 2 == 1) || i >= SCAN_PAGES - 10);
}

/* Every page touched, the absent ones dropped again: a fork does not copy
 * a shared file mapping's page tables, so a child makes its own. */
static unsigned scan_pattern(volatile unsigned char *m)
{
	unsigned sum = 0;
	for (size_t i = 0; i < SCAN_PAGES; i++)
		sum += m[i * scan_ps];
	for (size_t i = 0; i < SCAN_PAGES; i++)
		if (!scan_present(i))
			madvise((void *)(m + i * scan_ps), scan_ps, MADV_DONTNEED);
	return sum;
}

/* Whether one recording of this process holds exactly the runs of
 * scan_present() in path, in order; *runs: how many there are. */
static bool scan_recorded(const char *path, bool entries, size_t *runs, size_t *ranges)
{
	struct gt_profile *p = calloc(1, sizeof(*p));
	struct gt_record_opts o = { .interval_ms = 5, .settle_ms = 20, .max_ms = 200, .entries = entries };
	gt_err_t err = NULL;
	gt_record(getpid(), &o, p, NULL, 0, &err);
	gt_err_free(&err);
	const struct gt_profile_file *f = file_in(p, path);
	size_t r = 0;
	bool exact = f != NULL;
	*runs = 0;
	for (size_t i = 0; exact && i < SCAN_PAGES; i++) {
		if (!scan_present(i) || (i > 0 && scan_present(i - 1)))
			continue;
		size_t n = 0;
		while (i + n < SCAN_PAGES && scan_present(i + n))
			n++;
		++*runs;
		exact = r < f->n_ranges && f->ranges[r].off == scan_at + i * scan_ps && f->ranges[r].len == n * scan_ps;
		r++;
	}
	*ranges = f != NULL ? f->n_ranges : 0;
	exact = exact && r == f->n_ranges;
	gt_profile_free(p);
	free(p);
	return exact;
}

/* This process's ioctl(PAGEMAP_SCAN) fails with ENOTTY from now on, as
 * on a kernel before 6.7 (the test's own native calls: no arch check). */
static bool refuse_pagemap_scan(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)PAGEMAP_SCAN, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

static void scan_or_entries(void)
{
	char path[] = "/tmp/gotune-test-scan-XXXXXX";
	int fd = mkstemp(path);
	const size_t len = SCAN_PAGES * scan_ps;
	if (fd < 0 || ftruncate(fd, (off_t)(scan_at + len)) < 0) {
		ok(0, "temp file for the scan");
		return;
	}
	volatile unsigned char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)scan_at);
	if (m == MAP_FAILED) {
		ok(0, "mmap");
		return;
	}
	unsigned sum = scan_pattern(m);
	size_t runs = 0, ranges = 0;
	for (int k = 0; k < 2; k++) {
		bool exact = scan_recorded(path, k == 1, &runs, &ranges);
		ok(exact, "%s: the present pages of a mapping at offset 64 KiB, exactly (%zu runs, %zu ranges; sum %u)",
		   k == 0 ? "PAGEMAP_SCAN" : "pagemap's entries", runs, ranges, sum);
	}
	struct pm_scan_arg a = { .size = sizeof(a), .start = (uint64_t)(uintptr_t)m, .end = (uint64_t)(uintptr_t)m + scan_ps };
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	bool kernel_scans = pm >= 0 && ioctl(pm, PAGEMAP_SCAN, &a) >= 0;
	if (pm >= 0)
		close(pm);
	if (kernel_scans)
		ok(gt_record_scans(), "this kernel has PAGEMAP_SCAN, and the recorder used it");
	else
		ok(!gt_record_scans(), "this kernel has no PAGEMAP_SCAN: the recorder fell back to pagemap's entries, "
		   "so both rows above read entries");
	/* The fallback itself, on this kernel: a child whose ioctl is
	 * refused as an older kernel refuses it. */
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		scan_pattern(m);
		bool refused = refuse_pagemap_scan();
		bool exact = scan_recorded(path, false, &runs, &ranges);
		_exit(!refused ? 2 : exact && !gt_record_scans() ? 0 : 1);
	}
	int st = 0;
	waitpid(child, &st, 0);
	ok(child > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	   "ioctl(PAGEMAP_SCAN) refused with ENOTTY (a kernel before 6.7): the recorder falls back to pagemap's "
	   "entries and records the same runs (child: %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	munmap((void *)m, len);
	close(fd);
	unlink(path);
}

/* What counts as new for settling: pages fault-around could have mapped
 * next to known ones do not, pages elsewhere and new files do. */
static void new_bytes(void)
{
	struct gt_profile *old = calloc(1, sizeof(*old)), *p = calloc(1, sizeof(*p));
	gt_err_t err = NULL;
	const uint64_t mib = 1u << 20, size = 4 * mib;
	gt_profile_add(old, "/lib/x", size, 1, mib, 4096, &err);
	gt_profile_add(p, "/lib/x", size, 1, mib - (32u << 10), 4096, &err);
	gt_profile_add(p, "/lib/x", size, 1, mib + (64u << 10), 4096, &err);
	gt_profile_add(p, "/lib/x", size, 1, mib + (200u << 10), 4096, &err);
	gt_profile_add(p, "/lib/n", 8192, 1, 0, 8192, &err);
	uint64_t all = 0, far = gt_profile_new_bytes(p, old, 64u << 10, &all);
	ok(all == 20480, "every page the old profile lacks is new (%llu bytes)", (unsigned long long)all);
	ok(far == 12288, "within 64 KiB of a known page is not new; farther, or in a new file, is (%llu bytes)",
	   (unsigned long long)far);
	gt_profile_free(old);
	gt_profile_free(p);
	free(old);
	free(p);
	gt_err_free(&err);
}

/* A recording after a replay: pages of a 2 MiB block the old profile
 * touches are not learnt (the replay reads them anyway); a page in a block
 * it does not touch, a page old holds, and other files are kept. */
static void clip_blocks(void)
{
	struct gt_profile *old = calloc(1, sizeof(*old)), *p = calloc(1, sizeof(*p));
	gt_err_t err = NULL;
	const uint64_t mib = 1u << 20, size = 16 * mib;
	gt_profile_add(old, "/lib/x", size, 1, 2 * mib, mib, &err);	/* half of block [2, 4) MiB: read whole */
	gt_profile_add(old, "/lib/x", size, 1, 9 * mib, 8192, &err);	/* 8 KiB of block [8, 10): sparse */
	gt_profile_add(p, "/lib/x", size, 1, 2 * mib, 2 * mib, &err);	/* the whole folio of the first */
	gt_profile_add(p, "/lib/x", size, 1, 12 * mib, 4096, &err);	/* a block old does not touch */
	gt_profile_add(p, "/lib/x", size, 1, 9 * mib, 4096, &err);	/* a page old holds */
	gt_profile_add(p, "/lib/x", size, 1, 8 * mib + mib / 2, 4096, &err);	/* new, in the sparse block */
	gt_profile_add(p, "/lib/y", 8192, 1, 0, 8192, &err);		/* a file old lacks */
	gt_profile_add(p, "/lib/z", size, 2, 2 * mib, 4096, &err);	/* changed since: another mtime */
	gt_profile_add(old, "/lib/z", size, 1, 2 * mib + 8192, 4096, &err);
	ok(gt_profile_clip_blocks(p, old, 2 * mib) == 0, "clipped");
	const struct gt_profile_file *x = &p->files[0];
	bool want = x->n_ranges == 4 && x->ranges[0].off == 2 * mib && x->ranges[0].len == mib &&
		    x->ranges[1].off == 8 * mib + mib / 2 && x->ranges[1].len == 4096 && x->ranges[2].off == 9 * mib &&
		    x->ranges[2].len == 4096 && x->ranges[3].off == 12 * mib && x->ranges[3].len == 4096;
	ok(want, "of a block the replay reads whole only what old holds is left; a page in a sparse block old "
	   "touches, one in a block it does not touch and one it holds stay (%zu ranges, first at %llu, %llu bytes)",
	   x->n_ranges, x->n_ranges > 0 ? (unsigned long long)x->ranges[0].off : 0ull,
	   x->n_ranges > 0 ? (unsigned long long)x->ranges[0].len : 0ull);
	ok(p->files[1].n_ranges == 1 && p->files[1].ranges[0].len == 8192, "a file old lacks is kept whole");
	ok(p->files[2].n_ranges == 1 && p->files[2].ranges[0].off == 2 * mib,
	   "a file that changed since old is kept whole (old's ranges are stale)");
	uint64_t all = 0;
	ok(gt_profile_new_bytes(p, old, 64u << 10, &all) == 4096 + 4096 + 8192 + 4096,
	   "what is left new: the pages in the sparse and the untouched block, the new file, the changed file");
	gt_profile_free(old);
	gt_profile_free(p);
	free(old);
	free(p);
	gt_err_free(&err);
}

/* Recordings of the same entrypoint add up; a file that changed keeps
 * only what the newer recording saw. */
static void merge(void)
{
	struct gt_profile *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	gt_err_t err = NULL;
	gt_profile_add(a, "/lib/x", 16384, 1, 0, 4096, &err);
	gt_profile_add(a, "/lib/changed", 8192, 1, 0, 4096, &err);
	gt_profile_add(b, "/lib/x", 16384, 1, 4096, 4096, &err);
	gt_profile_add(b, "/lib/x", 16384, 1, 12288, 4096, &err);
	gt_profile_add(b, "/lib/y", 8192, 2, 0, 8192, &err);
	snprintf(b->files[1].id, sizeof(b->files[1].id), "gnu:abcd");
	gt_profile_add(b, "/lib/changed", 9000, 5, 4096, 4096, &err);
	ok(gt_profile_merge(a, b, &err) == 0, "merge succeeds");
	ok(a->n_files == 3, "files of both recordings (%zu)", a->n_files);
	const struct gt_profile_file *x = &a->files[0];
	ok(x->n_ranges == 2 && x->ranges[0].off == 0 && x->ranges[0].len == 8192 && x->ranges[1].off == 12288 &&
		   x->ranges[1].len == 4096,
	   "/lib/x: both recordings' ranges, merged and ordered");
	ok(a->files[1].n_ranges == 1 && a->files[1].ranges[0].len == 4096 && a->files[1].size == 8192,
	   "a file whose size changed keeps only the newer recording's ranges");
	ok(strcmp(a->files[2].path, "/lib/y") == 0 && strcmp(a->files[2].id, "gnu:abcd") == 0,
	   "a file only the older recording saw comes with its build ID");
	/* Times: the newer recording's stand where both saw a page. */
	struct gt_profile *n1 = calloc(1, sizeof(*n1)), *o1 = calloc(1, sizeof(*o1));
	gt_profile_add_at(n1, "/lib/t", 65536, 1, 4096, 8192, 5, &err);
	gt_profile_add_at(o1, "/lib/t", 65536, 1, 0, 16384, 9, &err);
	ok(gt_profile_merge(n1, o1, &err) == 0 && n1->files[0].n_ranges == 3 && n1->files[0].ranges[0].t == 9 &&
		   n1->files[0].ranges[1].off == 4096 && n1->files[0].ranges[1].t == 5 &&
		   n1->files[0].ranges[2].off == 12288 && n1->files[0].ranges[2].t == 9,
	   "merge keeps the newer recording's times and adds the older's other pages with theirs");
	gt_profile_free(n1);
	gt_profile_free(o1);
	free(n1);
	free(o1);
	gt_profile_free(a);
	gt_profile_free(b);
	free(a);
	free(b);
	gt_err_free(&err);
}

/* An identity as gt_profile_ident_of makes it, for a content digest of
 * 64 times c. */
static void fake_ident(struct gt_profile_ident *id, char c, const char *image)
{
	memset(id, 0, sizeof(*id));
	memset(id->sha, c, 64);
	if (image != NULL) {
		gt_sha256_of(image, strlen(image), id->image_sha);
		snprintf(id->image, sizeof(id->image), "%s", image);
	}
	char both[200], k[65];
	int n = snprintf(both, sizeof(both), "%s:%s", id->sha, id->image_sha);
	gt_sha256_of(both, (size_t)n, k);
	snprintf(id->key, sizeof(id->key), "%.16s-%.32s", id->image_sha[0] ? id->image_sha : id->sha, k);
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int r = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return r;
}

/* Profiles are named by what the entrypoint holds, not by its build ID:
 * a program that copies another's build ID gets a profile of its own. */
static void identity(void)
{
	char dir[] = "/tmp/gotune-test-ident-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return;
	char a[300], b[300], c[300];
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(c, sizeof(c), "%s/c", dir);
	/* b: a's bytes with one byte changed (the build-ID note would be the
	 * same); c: a copy of a. */
	static char bytes[100000];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (char)(i * 7);
	write_file(a, bytes, sizeof(bytes));
	write_file(c, bytes, sizeof(bytes));
	bytes[50000] ^= 1;
	write_file(b, bytes, sizeof(bytes));
	struct gt_profile_ident ia, ib, ic, ii, cached;
	const char *files[] = { a, b, c };
	struct gt_profile_ident *ids[] = { &ia, &ib, &ic };
	gt_err_t err = NULL;
	int rc = 0;
	for (int i = 0; i < 3; i++) {
		int fd = open(files[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		fstat(fd, &st);
		rc |= gt_profile_ident_of(fd, &st, NULL, dir, true, ids[i], &err);
		if (i == 0) {
			rc |= gt_profile_ident_of(fd, &st, "docker.io/library/app:1", dir, true, &ii, &err);
			rc |= gt_profile_ident_of(fd, &st, NULL, dir, false, &cached, &err);
		}
		close(fd);
	}
	char hex[65];
	gt_sha256_of(bytes, sizeof(bytes), hex);
	ok(rc == 0 && strcmp(ib.sha, hex) == 0 && strlen(ia.key) == GT_PROFILE_KEY_LEN && ia.key[16] == '-',
	   "the content ID is the SHA-256 of the bytes; the key GROUP-KEY (%s)", ia.key);
	ok(strcmp(ia.key, ib.key) != 0, "one byte changed: another key");
	ok(strcmp(ia.key, ic.key) == 0, "the same bytes in another file: the same key");
	ok(strcmp(ia.key, ii.key) != 0 && strncmp(ii.key, ii.image_sha, 16) == 0,
	   "the same bytes in an image the engine names: another key, grouped by the image");
	ok(strcmp(cached.sha, ia.sha) == 0, "... and a start finds the content ID in the cache without hashing");
	/* A new version of the file (rewritten: new mtime and ctime): the
	 * cache does not answer for it, and a start does not hash it. */
	struct timespec later = { 0, 5000000 };
	nanosleep(&later, NULL);
	write_file(a, bytes, sizeof(bytes));
	int fd = open(a, O_RDONLY | O_CLOEXEC);
	struct stat st;
	fstat(fd, &st);
	is_int(gt_profile_ident_of(fd, &st, NULL, dir, false, &cached, &err), 1,
	       "a changed file is not in the cache: not identified yet");
	close(fd);
	gt_err_free(&err);
	unlink(a);
	unlink(b);
	unlink(c);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok(0, "clean up %s", dir);
}

/* Past its range bounds a file is coarsened: the closest neighbours
 * joined first, each keeping the earlier time. */
static void coarsen(void)
{
	struct gt_profile *p = calloc(1, sizeof(*p));
	gt_err_t err = NULL;
	/* 10 000 one-page ranges, gaps of one page, except a larger gap
	 * every 100; touched in reverse order of offset. */
	uint64_t off = 0;
	for (int i = 0; i < 10000; i++) {
		gt_profile_add_at(p, "/big", UINT64_C(1) << 30, 1, off, 4096, (uint32_t)(10000 - i), &err);
		off += i % 100 == 99 ? 1u << 20 : 8192;
	}
	struct gt_profile_file *f = &p->files[0];
	ok(f->n_ranges <= GT_PROFILE_MAX_RANGES, "10 000 ranges added one by one: %zu kept (at most %u)", f->n_ranges,
	   GT_PROFILE_MAX_RANGES);
	gt_profile_coarsen(f, 100);
	uint64_t bytes = 0;
	bool order = true, gaps = true;
	for (size_t i = 0; i < f->n_ranges; i++) {
		bytes += f->ranges[i].len;
		/* each joined run of 100 spans 100 pages + 99 gaps; its time is
		 * that of its last (touched first) page */
		order &= f->ranges[i].t == 10000 - (i * 100 + 99);
		gaps &= f->ranges[i].len == (100 + 99) * 4096u;
	}
	ok(f->n_ranges == 100 && gaps, "coarsened to 100: the small gaps joined, the large ones kept (%zu ranges)",
	   f->n_ranges);
	ok(order, "... each with the earliest time of what it joined: first-touch order kept");
	gt_profile_free(p);
	/* Many files over the total: gt_profile_fit. */
	for (int k = 0; k < 8; k++) {
		char path[32];
		snprintf(path, sizeof(path), "/lib/f%d", k);
		for (int i = 0; i < 4000; i++)
			gt_profile_add_at(p, path, UINT64_C(1) << 30, 1, (uint64_t)i * 8192, 4096, 1, &err);
	}
	gt_profile_fit(p);
	size_t total = 0;
	for (size_t i = 0; i < p->n_files; i++)
		total += p->files[i].n_ranges;
	ok(total <= GT_PROFILE_MAX_TOTAL_RANGES && p->n_files == 8, "8 files of 4000 ranges fit: %zu ranges in all", total);
	char dir[] = "/tmp/gotune-test-fit-XXXXXX";
	if (mkdtemp(dir) != NULL) {
		fake_ident(&p->ident, 'c', NULL);
		snprintf(p->entry, sizeof(p->entry), "/bin/many");
		ok(gt_profile_write(p, dir, &err) == 0, "... and are written (no \"profile too large\"): %s",
		   err != NULL ? gt_err_msg(err) : "ok");
		gt_err_free(&err);
		char path[300];
		gt_profile_path(dir, p->ident.key, path, sizeof(path));
		unlink(path);
		rmdir(dir);
	}
	gt_profile_free(p);
	free(p);
}

/* Issue 29's recorder worst case, in this process: one 64 MiB file
 * mapped 64 times, every other page present. Before, one sample took
 * minutes (two sorts per page once the file held 4096 ranges) and
 * max_ms was looked at between samples only. */
static void many_mappings(void)
{
	char path[] = "/tmp/gotune-test-maps-XXXXXX";
	int fd = mkstemp(path);
	size_t len = 64u << 20;
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
		ok(0, "temp file for the many-mapping recorder");
		return;
	}
	enum { N = 64 };
	volatile unsigned char *m[N];
	unsigned sum = 0;
	for (int i = 0; i < N; i++) {
		m[i] = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (m[i] == MAP_FAILED) {
			ok(0, "mmap %d", i);
			return;
		}
		for (size_t o = 0; o < len; o += 4096)
			sum += m[i][o];
		/* fault-around maps neighbours too: unmap every other page */
		for (size_t o = 4096; o < len; o += 8192)
			madvise((void *)(m[i] + o), 4096, MADV_DONTNEED);
	}
	struct gt_profile *p = calloc(1, sizeof(*p));
	struct gt_record_opts o = { .interval_ms = 10, .settle_ms = 300, .max_ms = 2000 };
	gt_err_t err = NULL;
	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = gt_record(getpid(), &o, p, NULL, 0, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &r1);
	double wall = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e3 +
		     (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e3;
	const struct gt_profile_file *f = file_in(p, path);
	ok(rc > 0 && wall <= o.max_ms + 1000 && cpu <= o.max_ms + 1000,
	   "%d mappings of a 64 MiB file, every other page present: the recorder ends within max_ms %u + 1 s: "
	   "%.0f ms, %.0f ms of CPU, %d samples (sum %u)", N, o.max_ms, wall, cpu, rc, sum);
	ok(f != NULL && f->n_ranges > 0 && f->n_ranges <= GT_PROFILE_MAX_RANGES,
	   "... the file is in the profile, within %u ranges (%zu)", GT_PROFILE_MAX_RANGES, f != NULL ? f->n_ranges : 0);
	for (int i = 0; i < N; i++)
		munmap((void *)m[i], len);
	close(fd);
	unlink(path);
	gt_profile_free(p);
	free(p);
	gt_err_free(&err);
}

/* Pruning: the oldest go, a single image cannot push out the others,
 * profiles of the old format and strangers are told apart. */
static void prune(const char *dir)
{
	char path[300];
	struct gt_profile_ident id[8];
	/* 6 of image A, 2 of no image, older to newer */
	for (int i = 0; i < 8; i++) {
		fake_ident(&id[i], (char)('0' + i), i < 6 ? "A" : NULL);
		gt_profile_path(dir, id[i].key, path, sizeof(path));
		write_file(path, "", 0);
		struct timespec t[2] = { { 1000 + i, 0 }, { 1000 + i, 0 } };
		utimensat(AT_FDCWD, path, t, 0);
	}
	snprintf(path, sizeof(path), "%s/0123456789abcdef.profile", dir);
	write_file(path, "gotune-profile 3\n", 17);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	write_file(path, "", 0);
	char group[17];
	snprintf(group, sizeof(group), "%.16s", id[0].key);
	/* image A at most 3, all at most 4: A's 3 oldest go (per image), then
	 * A's next oldest (in all); the old-format profile goes too. */
	is_int((int)gt_profile_prune(dir, group, 3, 4), 5, "prune: 5 removed");
	int left = 0;
	for (int i = 0; i < 8; i++) {
		gt_profile_path(dir, id[i].key, path, sizeof(path));
		left |= (access(path, F_OK) == 0) << i;
	}
	is_int(left, 0xf0, "... image A's oldest 4 (3 per image, then 1 over all); the 2 of no image kept");
	snprintf(path, sizeof(path), "%s/0123456789abcdef.profile", dir);
	ok(access(path, F_OK) != 0, "... and the profile of the old format (keyed by build ID)");
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	ok(access(path, F_OK) == 0, "... never a file that is not a profile");
	unlink(path);
	for (int i = 0; i < 8; i++) {
		gt_profile_path(dir, id[i].key, path, sizeof(path));
		unlink(path);
	}
}

int main(void)
{
	record_self();
	scan_or_entries();
	new_bytes();
	clip_blocks();
	merge();
	char id[GT_BUILD_ID_MAX];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ok(gt_build_id_fd(fd, id) == 1 && strncmp(id, "gnu:", 4) == 0 && strlen(id) == 4 + 40,
	   "this test binary has a GNU build ID (sha1): %s", id);
	close(fd);
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ok(gt_build_id_fd(fd, id) == 0 && id[0] == '\0', "a non-ELF file has none");
	close(fd);

	identity();
	coarsen();
	many_mappings();

	struct gt_profile *p = calloc(1, sizeof(*p));
	gt_err_t err = NULL;
	const char v2[] = "gotune-profile 2\n"
			  "entry /usr/bin/app\t100\t5\tgo:6a67\n"
			  "file /usr/bin/app\t100\t5\tgo:6a67\t0+4096\n"
			  "file /etc/data\t9000\t7\t-\t0+4096,8192+808\n";
	ok(gt_profile_parse(v2, sizeof(v2) - 1, p, &err) == 0, "v2 parses");
	ok(strcmp(p->entry_id, "go:6a67") == 0 && p->n_files == 2 && strcmp(p->files[0].id, "go:6a67") == 0 &&
		   p->files[1].id[0] == '\0' && p->files[1].n_ranges == 2,
	   "entry and file IDs, '-' as none, ranges");
	gt_profile_free(p);
	const char v3[] = "gotune-profile 3\n"
			  "entry /usr/bin/app\t100000\t5\t-\n"
			  "file /usr/bin/app\t100000\t5\t-\t0+4096@3,4096+4096@1,16384+100\n";
	ok(gt_profile_parse(v3, sizeof(v3) - 1, p, &err) == 0 && p->n_files == 1 && p->files[0].n_ranges == 3 &&
		   p->files[0].ranges[0].t == 3 && p->files[0].ranges[1].t == 1 && p->files[0].ranges[2].t == 0,
	   "v3: each range with its first-seen time, or none");
	gt_profile_free(p);
	int rc;
	const char bad_t[] = "gotune-profile 3\nentry /a\t1\t1\t-\nfile /a\t1\t1\t-\t0+4096@x\n";
	rc = gt_profile_parse(bad_t, sizeof(bad_t) - 1, p, &err);
	ok(rc < 0, "a malformed time is refused: %s", gt_err_msg(err));
	gt_err_free(&err);
	gt_profile_free(p);
	const char v1[] = "gotune-profile 1\nentry /bin/app\t100\t5\nfile /bin/app\t100\t5\t0+4096\n";
	ok(gt_profile_parse(v1, sizeof(v1) - 1, p, &err) == 0 && p->n_files == 1 && p->entry_id[0] == '\0',
	   "v1 profiles (no IDs) are still read");
	gt_profile_free(p);
	const char bad[] = "gotune-profile 2\nentry /bin/app\t100\t5\tgnu:XYZ\n";
	rc = gt_profile_parse(bad, sizeof(bad) - 1, p, &err);
	ok(rc < 0 && err != NULL, "a malformed ID is refused: %s", gt_err_msg(err));
	gt_err_free(&err);
	gt_profile_free(p);

	/* Round trip through a file, format 4. */
	char dir[] = "/tmp/gotune-test-profile-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return 1;
	memset(p, 0, sizeof(*p));
	snprintf(p->entry, sizeof(p->entry), "/bin/x");
	p->entry_size = 10;
	p->entry_mtime_ns = 20;
	snprintf(p->entry_id, sizeof(p->entry_id), "gnu:0011");
	fake_ident(&p->ident, 'a', "registry.example/app:1");
	p->settled = 2;
	gt_profile_add_at(p, "/bin/x", 10000, 20, 4096, 4096, 12, &err);
	snprintf(p->files[0].id, sizeof(p->files[0].id), "gnu:0011");
	ok(gt_profile_write(p, dir, &err) == 0, "write");
	char path[300];
	gt_profile_path(dir, p->ident.key, path, sizeof(path));
	struct stat pst;
	ok(stat(path, &pst) == 0 && (pst.st_mode & 07777) == 0600, "written as KEY.profile, 0600 (%o)", pst.st_mode & 07777);
	struct gt_profile *q = calloc(1, sizeof(*q));
	ok(gt_profile_load(dir, &p->ident, q, &err) == 0 && strcmp(q->files[0].id, "gnu:0011") == 0 &&
		   q->files[0].ranges[0].off == 4096 && q->files[0].ranges[0].t == 12 && q->settled == 2 &&
		   strcmp(q->ident.image, "registry.example/app:1") == 0 && strcmp(q->ident.key, p->ident.key) == 0,
	   "loaded back by its identity: IDs, image, settled count, ranges and their times intact");
	gt_profile_free(q);
	/* A file under the right name that records another entrypoint (a
	 * hash prefix collided, or it was put there): not loaded. */
	struct gt_profile_ident other;
	fake_ident(&other, 'b', "registry.example/app:1");
	char opath[300];
	gt_profile_path(dir, other.key, opath, sizeof(opath));
	rename(path, opath);
	ok(gt_profile_load(dir, &other, q, &err) < 0, "a profile whose recorded identity is another's is refused: %s",
	   gt_err_msg(err));
	gt_err_free(&err);
	unlink(opath);
	p->ident.sha[0] = '\0';
	ok(gt_profile_write(p, dir, &err) < 0, "a profile of an unidentified entrypoint is not written");
	gt_err_free(&err);
	fake_ident(&p->ident, 'a', "registry.example/app:1");

	/* A fresh host: the profile directory and its parents are missing. */
	char deep[100], parent[100];
	snprintf(parent, sizeof(parent), "%s/state", dir);
	snprintf(deep, sizeof(deep), "%s/state/profiles", dir);
	struct stat dst;
	ok(gt_profile_write(p, deep, &err) == 0 && stat(deep, &dst) == 0 && stat(parent, &pst) == 0,
	   "write into a directory whose parents are missing: %s", err != NULL ? gt_err_msg(err) : "created");
	ok((dst.st_mode & 07777) == 0700 && (pst.st_mode & 07777) == 0755,
	   "... the directory 0700 (%o), a parent made for it 0755 (%o)", dst.st_mode & 07777, pst.st_mode & 07777);
	gt_profile_path(deep, p->ident.key, path, sizeof(path));
	unlink(path);
	rmdir(deep);
	rmdir(parent);
	prune(dir);
	rmdir(dir);
	gt_profile_free(p);
	free(p);
	free(q);
	gt_err_free(&err);
	return tap_done();
}
