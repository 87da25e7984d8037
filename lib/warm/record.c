#include "record.h"
#include "cleanup.h"
#include "pagemap_scan.h"
#include "rootfs.h"
#include "workcg.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_PIDS 64
#define MAX_MAPS_BYTES (4u << 20)
#define PAGEMAP_CHUNK 4096u	/* entries read at once */
/* A mapping of a huge (sparse) file must not make a sample run away: only
 * its first GiB is looked at (start-up touches the front of files), and one
 * round reads at most 8 MiB of pagemap (4 GiB of address space). */
#define MAX_MAPPING_PAGES 262144u
#define MAX_ROUND_PAGES (1u << 20)

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* pid and its descendants, breadth first, bounded. */
static size_t family(pid_t root, pid_t *out, size_t max)
{
	size_t n = 0, head = 0;
	out[n++] = root;
	while (head < n) {
		char path[64], buf[4096];
		pid_t p = out[head++];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)p, (int)p);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = '\0';
		for (char *s = buf, *end; n < max; s = end) {
			long c = strtol(s, &end, 10);
			if (end == s)
				break;
			out[n++] = (pid_t)c;
		}
	}
	return n;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* One recording's clock and what it may still do. Every loop below asks
 * it, per maps line and per pagemap chunk: a round of a hostile container
 * (one 64 MiB file mapped 128 times, every other page present) took 105 s
 * of wall time and 20 s of CPU on the project's host before, against a
 * max_ms of 5 s checked only between rounds (issue 29). */
struct clock {
	const struct gt_record_opts *o;
	double start;
	uint64_t budget;	/* pagemap entries this round may still read */
	bool idle, over;
	char cg[200];		/* where the recorder went, for its line */
};

static void tick(struct clock *c)
{
	double t = now_ms();
	if (t - c->start >= c->o->max_ms)
		c->over = true;
	if (!c->o->idle_later || c->idle || t - c->start < c->o->fast_ms)
		return;
	/* The start is over: CPU the container leaves idle only, and in
	 * gotune's capped cgroup from now on. */
	struct sched_param zero = { 0 };
	if (sched_setscheduler(0, SCHED_IDLE, &zero) < 0)
		(void)setpriority(PRIO_PROCESS, 0, 19);
	c->idle = true;
	if (c->o->join_cgroup) {
		gt_err_t err = NULL;
		if (gt_workcg_join("/sys/fs/cgroup", c->cg, sizeof(c->cg), &err) < 0)
			snprintf(c->cg, sizeof(c->cg), "not in gotune's cgroup: %.150s", gt_err_msg(err));
		gt_err_free(&err);
	}
}

/* The files a process maps, looked up once each per sample: a library is
 * mapped as 4 or 5 segments, and a hostile process maps one file
 * thousands of times. Direct-mapped by a hash of the path. */
#define LOOKUP_SLOTS 64
struct lookup {
	char path[512];
	struct stat st;
	bool found, used;
	struct gt_profile_file *f;	/* its record in the sample */
};

static struct lookup *look_up(struct lookup *cache, const struct gt_rootfs *root, struct gt_profile *p,
			      const char *path)
{
	uint32_t h = 2166136261u;
	for (const char *c = path; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 16777619u;
	struct lookup *l = &cache[h % LOOKUP_SLOTS];
	if (l->used && strcmp(l->path, path) == 0)
		return l;
	memset(l, 0, sizeof(*l));
	l->used = true;
	snprintf(l->path, sizeof(l->path), "%s", path);
	gt_err_t miss = NULL;
	int fd = gt_rootfs_open_regular(root, path, &l->st, &miss);
	gt_err_free(&miss);
	l->found = fd >= 0;
	if (fd >= 0)
		close(fd);
	if (l->found)
		l->f = gt_profile_file_of(p, path, (uint64_t)l->st.st_size, mtime_ns(&l->st));
	return l;
}

/* Present pages of [start, end) in runs, from the kernel: PAGEMAP_SCAN
 * (Linux 6.7; fs/proc/task_mmu.c do_pagemap_scan) walks the page tables
 * and returns each run of present pages as one region, where reading
 * /proc/PID/pagemap copies 8 bytes per page. clang's sample (15k present
 * pages over 60k mapped) took 1.6-2.4 ms, 1-2 ms of it in pagemap reads;
 * scanned, 0.5-0.7 ms, 0.15-0.3 in the ioctl; recording a cold start of
 * it, 53-59 ms of CPU instead of 60-80, for more samples (2026-12-08,
 * Linux 6.18). Older kernels say ENOTTY (or EINVAL), and the 8-byte
 * entries are read as before. */
#define SCAN_REGIONS 256u
/* One ioctl walks at most this much address space, so the clock is asked
 * between them however large the mapping. */
#define SCAN_CALL_PAGES 65536u

static bool no_pagemap_scan;	/* this kernel has none: entries from now on */

bool gt_record_scans(void)
{
	return !no_pagemap_scan;
}

/* A run of present pages at [va, va + len) of a mapping of l's file
 * that starts at start, at file offset off. */
static int add_run(const struct lookup *l, uint64_t start, uint64_t off, uint64_t va, uint64_t len, uint64_t *added,
		   gt_err_t *err)
{
	const uint64_t size = (uint64_t)l->st.st_size, ps = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t from = off + (va - start), to = from + len;
	/* a mapping may run past the file's end: only its pages count */
	if (to > (size + ps - 1) / ps * ps)
		to = (size + ps - 1) / ps * ps;
	if (from >= to)
		return 0;
	*added += (to - from) / ps;
	return gt_profile_file_add(l->f, from, to - from, 0, err);
}

/* The pages of [va, end) one call looks at: at most most, and no more
 * than the round's budget has left. */
static uint64_t step_pages(const struct clock *c, uint64_t va, uint64_t end, uint64_t ps, uint64_t most)
{
	uint64_t n = (end - va) / ps;
	if (n > most)
		n = most;
	return n < c->budget ? n : c->budget;
}

/* [start, end) by PAGEMAP_SCAN: 1 when done, 0 when the kernel has no
 * such ioctl (nothing added), -1 on error. */
static int scan_mapping(const struct lookup *l, int pagemap, uint64_t start, uint64_t end, uint64_t off,
			struct clock *c, uint64_t *added, gt_err_t *err)
{
	const uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
	struct page_region vec[SCAN_REGIONS];
	for (uint64_t va = start; va < end && c->budget > 0 && !c->over; tick(c)) {
		uint64_t pages = step_pages(c, va, end, ps, SCAN_CALL_PAGES);
		struct pm_scan_arg a = { .size = sizeof(a), .start = va, .end = va + pages * ps,
					 .vec = (uint64_t)(uintptr_t)vec, .vec_len = SCAN_REGIONS,
					 .category_mask = PAGE_IS_PRESENT, .return_mask = PAGE_IS_PRESENT };
		int n = ioctl(pagemap, PAGEMAP_SCAN, &a);
		if (n < 0 && va == start && (errno == ENOTTY || errno == EINVAL || errno == EPERM)) {
			no_pagemap_scan = true;
			return 0;
		}
		if (n < 0)	/* the process is gone */
			return 1;
		/* Past the last region returned when vec filled up; else the end. */
		uint64_t done = a.walk_end > va && a.walk_end <= a.end ? a.walk_end : a.end;
		c->budget -= (done - va) / ps;
		for (int i = 0; i < n && i < (int)SCAN_REGIONS; i++)
			if (add_run(l, start, off, vec[i].start, vec[i].end - vec[i].start, added, err) < 0)
				return -1;
		va = done;
	}
	return 1;
}

/* One mapping: the present pages of [start, end) mapped from the file of
 * l at off, one range per run of present pages. */
static int sample_mapping(const struct lookup *l, int pagemap, uint64_t start, uint64_t end, uint64_t off,
			  struct clock *c, uint64_t *added, gt_err_t *err)
{
	if (!l->found || l->f == NULL)
		return 0;
	const uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
	if ((end - start) / ps > MAX_MAPPING_PAGES)
		end = start + (uint64_t)MAX_MAPPING_PAGES * ps;
	if (!no_pagemap_scan && !c->o->entries) {
		int r = scan_mapping(l, pagemap, start, end, off, c, added, err);
		if (r != 0)
			return r < 0 ? -1 : 0;
	}
	uint64_t entries[PAGEMAP_CHUNK];
	for (uint64_t va = start; va < end && c->budget > 0 && !c->over; tick(c)) {
		uint64_t n = step_pages(c, va, end, ps, PAGEMAP_CHUNK);
		ssize_t r = pread(pagemap, entries, n * 8, (off_t)(va / ps * 8));
		if (r <= 0)
			return 0;
		n = (uint64_t)r / 8;
		c->budget -= n;
		uint64_t run = 0, run_len = 0;
		for (uint64_t i = 0; i <= n; i++) {
			/* bit 63: present in RAM; bit 62: swapped */
			bool present = i < n && (entries[i] >> 63 & 1);
			if (present && run_len == 0)
				run = va + i * ps;
			if (present) {
				run_len += ps;
				continue;
			}
			if (run_len > 0 && add_run(l, start, off, run, run_len, added, err) < 0)
				return -1;
			run_len = 0;
		}
		va += n * ps;
	}
	return 0;
}

static int sample_pid(pid_t pid, struct gt_profile *p, uint64_t *pages, struct clock *c, gt_err_t *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "re");
	if (maps == NULL)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	int pm = open(path, O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		fclose(maps);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	struct gt_rootfs root;
	gt_err_t miss = NULL;
	if (gt_rootfs_open(&root, path, &miss) < 0) {
		gt_err_free(&miss);
		close(pm);
		fclose(maps);
		return 0;
	}
	static struct lookup cache[LOOKUP_SLOTS];
	memset(cache, 0, sizeof(cache));
	char line[1024];
	int ret = 0;
	size_t bytes = 0;
	while (ret == 0 && !c->over && fgets(line, sizeof(line), maps) != NULL && (bytes += strlen(line)) < MAX_MAPS_BYTES) {
		tick(c);
		unsigned long long s, e, off, ino;
		char perms[8], dev[16];
		int n = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %n", &s, &e, perms, &off, dev, &ino, &n) < 6 || ino == 0)
			continue;
		char *name = line + n;
		name[strcspn(name, "\n")] = '\0';
		if (name[0] != '/' || strstr(name, " (deleted)") != NULL)
			continue;
		ret = sample_mapping(look_up(cache, &root, p, name), pm, s, e, off, c, pages, err);
	}
	gt_rootfs_close(&root);
	close(pm);
	fclose(maps);
	return ret;
}

int gt_record(pid_t pid, const struct gt_record_opts *o, struct gt_profile *p, char *cg, size_t cgsz, gt_err_t *err)
{
	/* p->entry and its identity are the caller's: the same lookup that
	 * replay uses (the spec's args[0] inside the rootfs), so the keys meet. */
	p->n_files = 0;
	/* Each round samples into cur; what p does not hold yet is added
	 * with the round's time, so replay can read in the order the program
	 * first touched its pages. */
	struct gt_profile *cur = calloc(1, sizeof(*cur));
	if (cur == NULL)
		return gt_error(err, ENOMEM, "profile");
	struct clock c = { .o = o, .start = now_ms() };
	double last_growth = c.start;
	uint64_t seen = 0;
	int rounds = 0;
	for (;;) {
		double t_sample = now_ms();
		rounds++;
		pid_t pids[MAX_PIDS];
		size_t np = family(pid, pids, MAX_PIDS);
		uint64_t pages = 0;
		bool alive = false;
		int rc = 0;
		c.budget = MAX_ROUND_PAGES;
		gt_profile_free(cur);
		for (size_t i = 0; i < np && rc == 0 && !c.over; i++) {
			char d[64];
			snprintf(d, sizeof(d), "/proc/%d", (int)pids[i]);
			if (access(d, F_OK) == 0)
				alive = true;
			rc = sample_pid(pids[i], cur, &pages, &c, err);
		}
		uint32_t when = (uint32_t)(t_sample - c.start) + 1;
		for (size_t i = 0; i < cur->n_files && rc == 0; i++)
			rc = gt_profile_add_new(p, &cur->files[i], when, err);
		if (rc < 0) {
			gt_profile_free(cur);
			free(cur);
			return -1;
		}
		double t = now_ms();
		/* pages counts every present page this round, duplicates included:
		 * it grows when the working set grows. */
		if (pages > seen) {
			seen = pages;
			last_growth = t;
		}
		tick(&c);
		if (!alive || t - last_growth >= o->settle_ms || c.over)
			break;
		bool fast = t - c.start < o->fast_ms;
		/* Fast: pause as long as the sample took (at least 0.2 ms); then
		 * interval_ms, or as long as the sample took if longer: at most
		 * half a CPU, whatever the container maps. */
		double took = t - t_sample;
		double pause = fast || took > o->interval_ms ? took : o->interval_ms;
		if (pause < 0.2)
			pause = 0.2;
		struct timespec ts = { (time_t)(pause / 1000), (long)((pause - (double)(time_t)(pause / 1000) * 1000) * 1e6) };
		nanosleep(&ts, NULL);
	}
	gt_profile_free(cur);
	free(cur);
	for (size_t i = 0; i < p->n_files; i++)
		gt_profile_file_normalize(&p->files[i]);
	if (cgsz > 0)
		snprintf(cg, cgsz, "%s", c.cg);
	return rounds;
}

int gt_record_exe_id(pid_t pid, dev_t *dev, ino_t *ino)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &st) < 0)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* The exec is usually a few ms after the hook (`runc run`): polled every
 * 0.1 ms for the first 200 ms, so a program that lives 2 ms is not over
 * before the first sample, then every ms. */
int gt_record_wait_exec(pid_t pid, dev_t dev, ino_t ino, unsigned max_ms, double *waited_ms, gt_err_t *err)
{
	/* One sample of ourselves first: the first sample of the program is
	 * the one that counts, and it must not wait for our own code and
	 * /proc's to be read in (right after a cache drop that took 4 ms, as
	 * long as a short program lives). */
	struct gt_profile *scratch = calloc(1, sizeof(*scratch));
	if (scratch != NULL) {
		uint64_t pages = 0;
		const struct gt_record_opts o = { .max_ms = 1000 };
		struct clock c = { .o = &o, .start = now_ms(), .budget = 64 };
		gt_err_t ignored = NULL;
		sample_pid(getpid(), scratch, &pages, &c, &ignored);
		gt_err_free(&ignored);
		gt_profile_free(scratch);
		free(scratch);
	}
	double start = now_ms();
	for (;;) {
		dev_t d;
		ino_t i;
		*waited_ms = now_ms() - start;
		if (gt_record_exe_id(pid, &d, &i) < 0) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d", (int)pid);
			if (access(path, F_OK) < 0)
				return gt_error(err, 0, "pid %d ended before a look saw it run the container's program "
						"(a program of a few ms on a busy host can start and end between two looks)",
						(int)pid);
			/* exists, exe unreadable: a zombie, or a moment of execve */
		} else if (d != dev || i != ino) {
			return 0;
		}
		if (*waited_ms >= max_ms)
			return gt_error(err, 0, "pid %d did not run the container's program within %u ms (started "
					"from a hook after the program's start: use createRuntime or prestart)",
					(int)pid, max_ms);
		struct timespec ts = { 0, *waited_ms < 200 ? 100000 : 1000000 };
		nanosleep(&ts, NULL);
	}
}
