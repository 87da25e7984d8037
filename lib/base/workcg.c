#include "workcg.h"
#include "cleanup.h"
#include "elapsed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static int put(const char *dir, const char *file, const char *value)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	return write(fd, value, strlen(value)) == (ssize_t)strlen(value) ? 0 : -1;
}

/* The hierarchies and caps: one on v2, one per controller on v1 (cpu is
 * often cpu,cpuacct with a cpu link to it; one that is not mounted is
 * skipped). */
struct hier {
	char cg[4300];		/* the cgroup: a hierarchy's GT_WORKCG_NAME */
	const char *caps[7];	/* file, value pairs, NULL-ended */
};

static char quota_v2[32], quota_v1[16], mem[32], pids[32];

static size_t hierarchies(const char *root, struct hier out[3], bool *v2, gt_err_t *err)
{
	snprintf(quota_v2, sizeof(quota_v2), "%u 100000", GT_WORKCG_CPU_QUOTA_US);
	snprintf(quota_v1, sizeof(quota_v1), "%u", GT_WORKCG_CPU_QUOTA_US);
	snprintf(mem, sizeof(mem), "%u", GT_WORKCG_MEMORY);
	snprintf(pids, sizeof(pids), "%u", GT_WORKCG_PIDS);
	struct statfs sf;
	if (statfs(root, &sf) < 0) {
		gt_error(err, errno, "statfs %s", root);
		return 0;
	}
	*v2 = sf.f_type == CGROUP2_SUPER_MAGIC;
	if (*v2) {
		out[0] = (struct hier){ .caps = { "cpu.max", quota_v2, "memory.max", mem, "pids.max", pids, NULL } };
		snprintf(out[0].cg, sizeof(out[0].cg), "%.4200s/" GT_WORKCG_NAME, root);
		return 1;
	}
	static const char *const ctls[] = { "cpu", "memory", "pids" };
	const struct hier caps[] = {
		{ .caps = { "cpu.cfs_period_us", "100000", "cpu.cfs_quota_us", quota_v1, NULL } },
		{ .caps = { "memory.limit_in_bytes", mem, NULL } },
		{ .caps = { "pids.max", pids, NULL } },
	};
	size_t n = 0;
	for (size_t i = 0; i < 3; i++) {
		struct stat st;
		char dir[4250];
		snprintf(dir, sizeof(dir), "%.4200s/%s", root, ctls[i]);
		out[n] = caps[i];
		snprintf(out[n].cg, sizeof(out[n].cg), "%s/" GT_WORKCG_NAME, dir);
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
			n++;
	}
	if (n == 0)
		gt_error(err, 0, "no cpu, memory or pids hierarchy under %s", root);
	return n;
}

int gt_workcg_prepare(const char *root, gt_err_t *err)
{
	struct hier h[3];
	bool v2;
	size_t n = hierarchies(root, h, &v2, err);
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (mkdir(h[i].cg, 0755) == 0) {
			for (const char *const *c = h[i].caps; *c != NULL; c += 2)
				(void)put(h[i].cg, c[0], c[1]); /* a controller this host lacks: no cap of it */
		} else if (errno != EEXIST) {
			return gt_error(err, errno, "mkdir %s", h[i].cg);
		}
	}
	return 0;
}

int gt_workcg_join(const char *root, char *what, size_t whatsz, gt_err_t *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct hier h[3];
	bool v2;
	size_t n = hierarchies(root, h, &v2, err);
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (put(h[i].cg, "cgroup.procs", "0") < 0)
			return gt_error(err, errno, "join %s", h[i].cg);
	if (v2)
		snprintf(what, whatsz, "in cgroup %s/" GT_WORKCG_NAME " (v2) after %.1f ms", root, gt_elapsed_ms(&t0));
	else
		snprintf(what, whatsz, "in cgroup %s/{cpu,memory,pids}/" GT_WORKCG_NAME " (v1, %zu of 3) after %.1f ms",
			 root, n, gt_elapsed_ms(&t0));
	return 0;
}
