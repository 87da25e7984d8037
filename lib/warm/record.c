#include "record.h"
#include "cleanup.h"
#include "rootfs.h"

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

/* The file of the previous mapping: a library is mapped as 4 or 5
 * consecutive segments, looked up once. */
struct last_file {
	char path[1024];
	struct stat st;
	bool found;
};

/* One mapping: the present pages of [start, end) mapped from path at off.
 * The file is looked up inside the process's root with RESOLVE_IN_ROOT: a
 * path the container swaps for a link cannot lead us to a host file. */
static int sample_mapping(const struct gt_rootfs *root, int pagemap, uint64_t start, uint64_t end, uint64_t off,
			  const char *path, struct last_file *last, struct gt_profile *p, uint64_t *added,
			  uint64_t *budget, gt_err_t *err)
{
	if (strcmp(last->path, path) != 0) {
		gt_err_t miss = NULL;
		int fd = gt_rootfs_open_regular(root, path, &last->st, &miss);
		gt_err_free(&miss);
		last->found = fd >= 0;
		if (fd >= 0)
			close(fd);
		snprintf(last->path, sizeof(last->path), "%s", path);
	}
	if (!last->found)
		return 0;
	const struct stat st = last->st;
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
	if ((end - start) / ps > MAX_MAPPING_PAGES)
		end = start + (uint64_t)MAX_MAPPING_PAGES * ps;
	uint64_t entries[PAGEMAP_CHUNK];
	for (uint64_t va = start; va < end && *budget > 0;) {
		uint64_t n = (end - va) / ps;
		if (n > PAGEMAP_CHUNK)
			n = PAGEMAP_CHUNK;
		if (n > *budget)
			n = *budget;
		ssize_t r = pread(pagemap, entries, n * 8, (off_t)(va / ps * 8));
		if (r <= 0)
			return 0;
		n = (uint64_t)r / 8;
		*budget -= n;
		for (uint64_t i = 0; i < n; i++) {
			/* bit 63: present in RAM; bit 62: swapped */
			if (!(entries[i] >> 63 & 1))
				continue;
			uint64_t foff = off + (va - start) + i * ps;
			if (foff >= (uint64_t)st.st_size)
				continue;
			if (gt_profile_add(p, path, (uint64_t)st.st_size, mtime_ns(&st), foff, ps, err) < 0)
				return -1;
			(*added)++;
		}
		va += n * ps;
	}
	return 0;
}

static int sample_pid(pid_t pid, struct gt_profile *p, uint64_t *pages, uint64_t *budget, gt_err_t *err)
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
	char line[1024];
	int ret = 0;
	size_t bytes = 0;
	struct last_file last = { .path = "" };
	while (ret == 0 && fgets(line, sizeof(line), maps) != NULL && (bytes += strlen(line)) < MAX_MAPS_BYTES) {
		unsigned long long s, e, off, ino;
		char perms[8], dev[16];
		int n = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %n", &s, &e, perms, &off, dev, &ino, &n) < 6 || ino == 0)
			continue;
		char *name = line + n;
		name[strcspn(name, "\n")] = '\0';
		if (name[0] != '/' || strstr(name, " (deleted)") != NULL)
			continue;
		ret = sample_mapping(&root, pm, s, e, off, name, &last, p, pages, budget, err);
	}
	gt_rootfs_close(&root);
	close(pm);
	fclose(maps);
	return ret;
}

int gt_record(pid_t pid, const struct gt_record_opts *o, struct gt_profile *p, gt_err_t *err)
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
	double start = now_ms(), last_growth = start;
	uint64_t seen = 0;
	bool idle = false;
	int rounds = 0;
	for (;;) {
		double t_sample = now_ms();
		rounds++;
		pid_t pids[MAX_PIDS];
		size_t np = family(pid, pids, MAX_PIDS);
		uint64_t pages = 0, budget = MAX_ROUND_PAGES;
		bool alive = false;
		int rc = 0;
		gt_profile_free(cur);
		for (size_t i = 0; i < np && rc == 0; i++) {
			char d[64];
			snprintf(d, sizeof(d), "/proc/%d", (int)pids[i]);
			if (access(d, F_OK) == 0)
				alive = true;
			rc = sample_pid(pids[i], cur, &pages, &budget, err);
		}
		uint32_t when = (uint32_t)(t_sample - start) + 1;
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
		if (!alive || t - last_growth >= o->settle_ms || t - start >= o->max_ms)
			break;
		bool fast = t - start < o->fast_ms;
		if (o->idle_later && !idle && !fast) {
			struct sched_param zero = { 0 };
			if (sched_setscheduler(0, SCHED_IDLE, &zero) < 0)
				(void)setpriority(PRIO_PROCESS, 0, 19);
			idle = true;
		}
		/* Fast: pause as long as the sample took (at least 0.2 ms). */
		double pause = fast ? t - t_sample : o->interval_ms;
		if (pause < 0.2)
			pause = 0.2;
		struct timespec ts = { (time_t)(pause / 1000), (long)((pause - (double)(time_t)(pause / 1000) * 1000) * 1e6) };
		nanosleep(&ts, NULL);
	}
	gt_profile_free(cur);
	free(cur);
	for (size_t i = 0; i < p->n_files; i++)
		p->files[i].n_ranges = gt_ranges_normalize(p->files[i].ranges, p->files[i].n_ranges, p->files[i].size);
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
		uint64_t pages = 0, budget = 64;
		gt_err_t ignored = NULL;
		sample_pid(getpid(), scratch, &pages, &budget, &ignored);
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
