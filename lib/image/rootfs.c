#include "rootfs.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

#define MAX_COMPONENTS 4096
#define MAX_DEPTH 256

static long sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

int gt_rootfs_open(struct gt_rootfs *r, const char *host_path, gt_err_t *err)
{
	r->fd = open(host_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0)
		return gt_error(err, errno, "open rootfs %s", host_path);
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	long fd = sys_openat2(r->fd, ".", &how);
	r->use_openat2 = fd >= 0;
	if (fd >= 0)
		close((int)fd);
	return 0;
}

void gt_rootfs_close(struct gt_rootfs *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

void gt_rootfs_force_fallback(struct gt_rootfs *r, bool on)
{
	if (on)
		r->use_openat2 = false;
	else {
		struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
		long fd = sys_openat2(r->fd, ".", &how);
		r->use_openat2 = fd >= 0;
		if (fd >= 0)
			close((int)fd);
	}
}

static int resolve_openat2(const struct gt_rootfs *r, const char *path, gt_err_t *err)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	for (int attempt = 0; attempt < 8; attempt++) {
		long fd = sys_openat2(r->fd, path, &how);
		if (fd >= 0)
			return (int)fd;
		/* EAGAIN: a rename raced the lookup; the kernel asks us to retry. */
		if (errno != EAGAIN)
			return gt_error(err, errno, "%s", path);
	}
	return gt_error(err, EAGAIN, "%s", path);
}

/* The component walk for kernels without openat2. It keeps the stack of
 * directories walked so far, so ".." pops one (never past the root), and
 * splices each symlink's target into the rest of the path, an absolute one
 * restarting at the root, as RESOLVE_IN_ROOT does. */
static int resolve_walk(const struct gt_rootfs *r, const char *path, gt_err_t *err)
{
	if (strlen(path) >= PATH_MAX)
		return gt_error(err, ENAMETOOLONG, "%s", path);
	/* rest holds what is left to walk; symlink targets are prepended. */
	size_t cap = 2 * PATH_MAX;
	cleanup_free char *rest = malloc(cap);
	if (rest == NULL)
		return gt_error(err, ENOMEM, "%s", path);
	snprintf(rest, cap, "%s", path);
	int stack[MAX_DEPTH];
	int depth = 0;
	int ret = -1;
	stack[0] = dup(r->fd);
	if (stack[0] < 0)
		return gt_error(err, errno, "%s", path); // cppcheck-suppress memleak ; rest is cleanup_free
	unsigned links = 0, components = 0;
	size_t pos = 0;
	for (;;) {
		while (rest[pos] == '/')
			pos++;
		if (rest[pos] == '\0')
			break;
		size_t n = strcspn(rest + pos, "/");
		char comp[NAME_MAX + 1];
		if (n > NAME_MAX) {
			gt_error(err, ENAMETOOLONG, "%s", path);
			goto out;
		}
		memcpy(comp, rest + pos, n);
		comp[n] = '\0';
		pos += n;
		if (++components > MAX_COMPONENTS) {
			gt_error(err, ELOOP, "%s", path);
			goto out;
		}
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (depth > 0)
				close(stack[depth--]);
			continue;
		}
		int fd = openat(stack[depth], comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			gt_error(err, errno, "%s", path);
			goto out;
		}
		struct stat st;
		if (fstat(fd, &st) < 0) {
			gt_error(err, errno, "%s", path);
			close(fd);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t tl = readlinkat(fd, "", target, sizeof(target) - 1);
			close(fd);
			if (tl <= 0 || ++links > GT_ROOTFS_MAX_SYMLINKS) {
				gt_error(err, tl <= 0 ? errno : ELOOP, "%s", path);
				goto out;
			}
			target[tl] = '\0';
			size_t left = strlen(rest + pos);
			if ((size_t)tl + 1 + left + 1 > cap) {
				gt_error(err, ENAMETOOLONG, "%s", path);
				goto out;
			}
			char *next = malloc(cap);
			if (next == NULL) {
				gt_error(err, ENOMEM, "%s", path);
				goto out;
			}
			memcpy(next, target, (size_t)tl);
			next[tl] = '/';
			memcpy(next + tl + 1, rest + pos, left + 1);
			free(rest);
			rest = next;
			pos = 0;
			if (target[0] == '/')
				while (depth > 0)
					close(stack[depth--]);
			continue;
		}
		/* Only directories can have more components after them. */
		if (depth + 1 >= MAX_DEPTH) {
			close(fd);
			gt_error(err, ENAMETOOLONG, "%s", path);
			goto out;
		}
		stack[++depth] = fd;
	}
	ret = stack[depth];
	stack[depth] = -1;
	depth--;
out:
	for (; depth >= 0; depth--)
		if (stack[depth] >= 0)
			close(stack[depth]);
	return ret;
}

int gt_rootfs_resolve(const struct gt_rootfs *r, const char *path, gt_err_t *err)
{
	if (path[0] == '\0')
		return gt_error(err, ENOENT, "empty path");
	return r->use_openat2 ? resolve_openat2(r, path, err) : resolve_walk(r, path, err);
}

/* Reopens the inode behind an O_PATH fd. */
static int reopen(int pathfd, int flags, gt_err_t *err, const char *path)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pathfd);
	/* O_NOATIME keeps a warm-up from rewriting atimes of the image; only
	 * the owner (or CAP_FOWNER) may ask for it, so fall back without. */
	int fd = open(proc, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(proc, flags);
	if (fd < 0)
		return gt_error(err, errno, "reopen %s", path);
	return fd;
}

int gt_rootfs_open_regular(const struct gt_rootfs *r, const char *path, struct stat *st, gt_err_t *err)
{
	cleanup_close int pfd = gt_rootfs_resolve(r, path, err);
	if (pfd < 0)
		return -1;
	if (fstat(pfd, st) < 0)
		return gt_error(err, errno, "stat %s", path);
	if (!S_ISREG(st->st_mode))
		return gt_error(err, S_ISDIR(st->st_mode) ? EISDIR : EINVAL, "%s is not a regular file", path);
	int fd = reopen(pfd, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, err, path);
	if (fd < 0)
		return -1;
	/* The reopened fd must be the inode we checked. */
	struct stat again;
	if (fstat(fd, &again) < 0 || again.st_ino != st->st_ino || again.st_dev != st->st_dev) {
		close(fd);
		return gt_error(err, ESTALE, "%s changed while opening", path);
	}
	return fd;
}

int gt_rootfs_open_dir(const struct gt_rootfs *r, const char *path, gt_err_t *err)
{
	cleanup_close int pfd = gt_rootfs_resolve(r, path, err);
	if (pfd < 0)
		return -1;
	struct stat st;
	if (fstat(pfd, &st) < 0)
		return gt_error(err, errno, "stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return gt_error(err, ENOTDIR, "%s is not a directory", path);
	return reopen(pfd, O_RDONLY | O_DIRECTORY | O_CLOEXEC, err, path);
}
