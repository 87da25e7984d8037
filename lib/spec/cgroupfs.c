#include "cgroupfs.h"
#include "cgvalue.h"
#include "cleanup.h"
#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define MAX_PATH 1024
#define MAX_DEPTH 32

/* runc libcontainer/cgroups/systemd ExpandSlice: "a-b-c.slice" lives at
 * /a.slice/a-b.slice/a-b-c.slice; "-.slice" is the root. */
static int expand_slice(const char *slice, char *out, size_t outsz, gt_err_t *err)
{
	size_t n = strlen(slice);
	if (n <= 6 || strcmp(slice + n - 6, ".slice") != 0 || strchr(slice, '/') != NULL)
		return gt_error(err, 0, "cgroupsPath slice \"%.80s\" is not a systemd slice name", slice);
	char name[256];
	if (n - 6 >= sizeof(name))
		return gt_error(err, 0, "cgroupsPath slice is too long");
	memcpy(name, slice, n - 6);
	name[n - 6] = '\0';
	out[0] = '\0';
	if (strcmp(name, "-") == 0)
		return 0;
	size_t len = 0, depth = 0;
	for (const char *p = name;; p++) {
		if (*p != '-' && *p != '\0')
			continue;
		if (p == name || p[-1] == '-' || ++depth > MAX_DEPTH)
			return gt_error(err, 0, "cgroupsPath slice \"%.80s\" is not a systemd slice name", slice);
		int w = snprintf(out + len, outsz - len, "/%.*s.slice", (int)(p - name), name);
		if (w < 0 || (size_t)w >= outsz - len)
			return gt_error(err, 0, "cgroupsPath slice is too long");
		len += (size_t)w;
		if (*p == '\0')
			return 0;
	}
}

int gt_cgroup_parent_path(const char *cp, char *out, size_t outsz, gt_err_t *err)
{
	out[0] = '\0';
	if (strlen(cp) >= MAX_PATH)
		return gt_error(err, 0, "cgroupsPath is longer than %d bytes", MAX_PATH);
	/* systemd driver: "slice:prefix:name" (runc CreateCgroupConfig); an
	 * empty slice is the driver's default, system.slice. */
	const char *c1 = strchr(cp, ':');
	if (c1 != NULL && cp[0] != '/') {
		const char *c2 = strchr(c1 + 1, ':');
		if (c2 == NULL || strchr(c2 + 1, ':') != NULL)
			return gt_error(err, 0, "cgroupsPath \"%.80s\" is neither a path nor slice:prefix:name", cp);
		char slice[300];
		snprintf(slice, sizeof(slice), "%.*s", (int)(c1 - cp), cp);
		return expand_slice(slice[0] != '\0' ? slice : "system.slice", out, outsz, err);
	}
	if (cp[0] != '/')
		return gt_error(err, 0, "cgroupsPath \"%.80s\" is relative (to the runtime's own cgroup): not read", cp);
	/* The directory part, each component checked: no ".", "..", and only
	 * one separator between them. */
	const char *last = strrchr(cp, '/');
	size_t len = 0, depth = 0;
	for (const char *p = cp + 1; p <= last;) {
		size_t n = strcspn(p, "/");
		if (p + n > last)
			break;
		if (n == 0) {
			p++;
			continue;
		}
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return gt_error(err, 0, "cgroupsPath \"%.80s\" has a \".\" or \"..\" component: not read", cp);
		if (++depth > MAX_DEPTH || len + n + 2 > outsz)
			return gt_error(err, 0, "cgroupsPath is too deep or too long");
		out[len++] = '/';
		memcpy(out + len, p, n);
		len += n;
		out[len] = '\0';
		p += n + 1;
	}
	return 0;
}

/* Where one controller's files are: an open directory of its hierarchy's
 * root, and whether that hierarchy is v2. */
struct ctl {
	int fd;
	bool v2;
	char prefix[256];	/* the mount's root inside the hierarchy, "" for "/" */
};

static void ctl_close(struct ctl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static bool has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);
	for (const char *p = list; *p != '\0';) {
		size_t k = strcspn(p, ",");
		if (k == n && strncmp(p, tok, n) == 0)
			return true;
		p += k;
		if (*p == ',')
			p++;
	}
	return false;
}

static int open_dir(const char *path)
{
	return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Reads a small cgroup file under dirfd, never leaving it: openat2 with
 * RESOLVE_BENEATH (no "..", no absolute path, no symlink or mount crossing
 * out), else, on kernels without openat2, O_NOFOLLOW on a path already
 * checked to hold no "..". */
static int read_small(int dirfd, const char *rel, char *out, size_t outsz)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long r = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (r < 0 && errno == ENOSYS)
		r = openat(dirfd, rel, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (r < 0)
		return -1;
	cleanup_close int fd = (int)r;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	ssize_t n = read(fd, out, outsz - 1);
	if (n < 0)
		return -1;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* parent's path relative to the controller's mount, in rel; -1 when the
 * mount (a cgroup namespace's) does not hold it. */
static int rel_path(const struct ctl *c, const char *parent, const char *file, char *rel, size_t relsz)
{
	if (c->fd < 0)
		return -1;
	const char *p = parent;
	size_t plen = strlen(c->prefix);
	if (plen > 0) {
		/* A mount of part of the hierarchy (a cgroup namespace): the
		 * path must lie inside it. */
		if (strncmp(parent, c->prefix, plen) != 0 || (parent[plen] != '/' && parent[plen] != '\0'))
			return -1;
		p = parent + plen;
	}
	while (*p == '/')
		p++;
	if (*p == '\0')
		snprintf(rel, relsz, "%s", file);
	else
		snprintf(rel, relsz, "%s/%s", p, file);
	return 0;
}

static int read_file(const struct ctl *c, const char *parent, const char *file, char *out, size_t outsz)
{
	char rel[MAX_PATH + 64];
	if (rel_path(c, parent, file, rel, sizeof(rel)) < 0)
		return -1;
	return read_small(c->fd, rel, out, outsz);
}

/* Whether the cgroup is a directory under this controller, resolved with
 * the same confinement as its files. */
static bool has_dir(const struct ctl *c, const char *parent)
{
	char rel[MAX_PATH + 64];
	if (rel_path(c, parent, ".", rel, sizeof(rel)) < 0)
		return false;
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long r = syscall(SYS_openat2, c->fd, rel, &how, sizeof(how));
	if (r < 0 && errno == ENOSYS)
		r = openat(c->fd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (r < 0)
		return false;
	close((int)r);
	return true;
}

struct ctls {
	struct ctl mem, cpu, cpuset;
	char kind[8];		/* "v1", "v2", "hybrid" for the log */
};

static void set_ctl(struct ctl *c, const char *dir, bool v2, const char *root)
{
	if (c->fd >= 0)
		return;
	c->fd = open_dir(dir);
	c->v2 = v2;
	snprintf(c->prefix, sizeof(c->prefix), "%s", strcmp(root, "/") == 0 ? "" : root);
}

/* Where the host mounts the memory, cpu and cpuset controllers: a v1
 * hierarchy that has the controller, else the v2 tree if its root lists
 * it in cgroup.controllers. */
static int find_ctls(const struct gt_host *h, const struct gt_mounts *given, struct ctls *cs, gt_err_t *err)
{
	cs->mem.fd = cs->cpu.fd = cs->cpuset.fd = -1;
	if (h->cgroupfs != NULL) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/cgroup.controllers", h->cgroupfs);
		struct stat st;
		if (stat(p, &st) == 0) {
			set_ctl(&cs->mem, h->cgroupfs, true, "/");
			set_ctl(&cs->cpu, h->cgroupfs, true, "/");
			set_ctl(&cs->cpuset, h->cgroupfs, true, "/");
			snprintf(cs->kind, sizeof(cs->kind), "v2");
		} else {
			static const char *const cpu_dirs[] = { "cpu", "cpu,cpuacct", "cpuacct,cpu" };
			snprintf(p, sizeof(p), "%s/memory", h->cgroupfs);
			set_ctl(&cs->mem, p, false, "/");
			for (size_t i = 0; i < 3; i++) {
				snprintf(p, sizeof(p), "%s/%s", h->cgroupfs, cpu_dirs[i]);
				set_ctl(&cs->cpu, p, false, "/");
			}
			snprintf(p, sizeof(p), "%s/cpuset", h->cgroupfs);
			set_ctl(&cs->cpuset, p, false, "/");
			snprintf(cs->kind, sizeof(cs->kind), "v1");
		}
	} else {
		struct gt_mounts own = { 0 };
		if (given == NULL && (given = gt_mounts_get(h->mounts_watch, h->mountinfo, &own, err)) == NULL)
			return -1;
		const struct gt_mounts ms = *given;
		const struct gt_mount *v2 = NULL;
		bool v1 = false;
		for (size_t i = 0; i < ms.n; i++) {
			const struct gt_mount *m = &ms.m[i];
			if (strcmp(m->fstype, "cgroup2") == 0) {
				if (v2 == NULL || strcmp(m->point, "/sys/fs/cgroup") == 0)
					v2 = m;
			} else if (strcmp(m->fstype, "cgroup") == 0) {
				v1 = true;
				if (has_token(m->super, "memory"))
					set_ctl(&cs->mem, m->point, false, m->root);
				if (has_token(m->super, "cpu"))
					set_ctl(&cs->cpu, m->point, false, m->root);
				if (has_token(m->super, "cpuset"))
					set_ctl(&cs->cpuset, m->point, false, m->root);
			}
		}
		if (v2 != NULL) {
			char ctrls[512] = "";
			int fd = open_dir(v2->point);
			if (fd >= 0)
				read_small(fd, "cgroup.controllers", ctrls, sizeof(ctrls));
			if (fd >= 0)
				close(fd);
			for (char *p = ctrls; *p != '\0'; p++)
				if (*p == ' ')
					*p = ',';
			if (has_token(ctrls, "memory"))
				set_ctl(&cs->mem, v2->point, true, v2->root);
			if (has_token(ctrls, "cpu"))
				set_ctl(&cs->cpu, v2->point, true, v2->root);
			if (has_token(ctrls, "cpuset"))
				set_ctl(&cs->cpuset, v2->point, true, v2->root);
		}
		snprintf(cs->kind, sizeof(cs->kind), "%s", v1 && v2 != NULL ? "hybrid" : v1 ? "v1" : "v2");
		gt_mounts_free(&own);
	}
	if (cs->mem.fd < 0 && cs->cpu.fd < 0 && cs->cpuset.fd < 0)
		return gt_error(err, 0, "no cgroup filesystem with the memory, cpu or cpuset controller found");
	return 0;
}

int gt_cgroup_read_limits(const char *parent, const struct gt_host *h, const struct gt_mounts *mounts,
			  struct gt_pod_limits *out, gt_err_t *err)
{
	memset(out, 0, sizeof(*out));
	struct ctls cs;
	if (find_ctls(h, mounts, &cs, err) < 0)
		return -1;
	char v[256];
	bool unlimited;
	uint64_t bytes;
	if (cs.mem.v2) {
		if (read_file(&cs.mem, parent, "memory.max", v, sizeof(v)) == 0 && gt_cg_memory(v, &unlimited, &bytes) == 0 &&
		    !unlimited) {
			out->has_memory = true;
			out->memory = bytes;
		}
		if (read_file(&cs.mem, parent, "memory.high", v, sizeof(v)) == 0 &&
		    gt_cg_memory(v, &unlimited, &bytes) == 0 && !unlimited) {
			out->has_high = true;
			out->high = bytes;
		}
	} else if (read_file(&cs.mem, parent, "memory.limit_in_bytes", v, sizeof(v)) == 0 &&
		   gt_cg_memory(v, &unlimited, &bytes) == 0) {
		/* Unlimited reads as the largest page multiple below 2^63. */
		out->has_memory = bytes < (UINT64_C(1) << 62);
		out->memory = bytes;
	}
	if (cs.cpu.v2) {
		struct gt_cpu_max cm;
		if (read_file(&cs.cpu, parent, "cpu.max", v, sizeof(v)) == 0 && gt_cg_cpu_max(v, &cm) == 0 &&
		    !cm.unlimited) {
			out->has_quota = true;
			out->quota = cm.quota;
			out->period = cm.has_period ? cm.period : 100000;
		}
	} else if (read_file(&cs.cpu, parent, "cpu.cfs_quota_us", v, sizeof(v)) == 0) {
		char *end;
		long long q = strtoll(v, &end, 10);
		char pv[64];
		unsigned long long per = 100000;
		if (read_file(&cs.cpu, parent, "cpu.cfs_period_us", pv, sizeof(pv)) == 0)
			per = strtoull(pv, NULL, 10);
		if (end != v && *end == '\0' && q > 0 && per > 0) {
			out->has_quota = true;
			out->quota = (uint64_t)q;
			out->period = per;
		}
	}
	if (read_file(&cs.cpuset, parent, cs.cpuset.v2 ? "cpuset.cpus.effective" : "cpuset.effective_cpus", v,
		      sizeof(v)) == 0 ||
	    read_file(&cs.cpuset, parent, "cpuset.cpus", v, sizeof(v)) == 0) {
		struct gt_cpumask m;
		if (gt_cpuset_parse(v, &m) > 0)
			out->cpus = gt_cpumask_count_and(&m, &h->online_mask);
	}
	out->found = has_dir(&cs.mem, parent) || has_dir(&cs.cpu, parent) || has_dir(&cs.cpuset, parent);
	snprintf(out->where, sizeof(out->where), "cgroup %s %.160s", cs.kind, parent);
	ctl_close(&cs.mem);
	ctl_close(&cs.cpu);
	ctl_close(&cs.cpuset);
	return 0;
}
