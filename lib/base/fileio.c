#include "fileio.h"
#include "cleanup.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/random.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

void gt_buf_free(struct gt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

int gt_read_fd(int fd, size_t max, struct gt_buf *out, gt_err_t *err)
{
	size_t cap = 16384, len = 0;
	char *data = malloc(cap + 1);
	if (data == NULL)
		return gt_error(err, ENOMEM, "read");
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				break;
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *n = realloc(data, ncap + 1);
			if (n == NULL) {
				free(data);
				return gt_error(err, ENOMEM, "read");
			}
			data = n;
			cap = ncap;
		}
		ssize_t r = read(fd, data + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(data);
			return gt_error(err, e, "read");
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	data[len] = '\0';
	out->data = data;
	out->len = len;
	if (len > max)
		return gt_error(err, EFBIG, "input is larger than %zu bytes", max);
	return 0;
}

int gt_read_file_at(int dirfd, const char *path, size_t max, struct gt_buf *out, gt_err_t *err)
{
	struct stat st;
	return gt_read_file_at_stat(dirfd, path, max, out, &st, err);
}

int gt_read_file_at_stat(int dirfd, const char *path, size_t max, struct gt_buf *out, struct stat *stp,
			 gt_err_t *err)
{
	cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return gt_error(err, errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return gt_error(err, errno, "stat %s", path);
	*stp = st;
	if (!S_ISREG(st.st_mode))
		return gt_error(err, 0, "%s is not a regular file", path);
	if (gt_read_fd(fd, max, out, err) < 0) {
		gt_buf_free(out);
		return gt_error_wrap(err, "%s", path);
	}
	return 0;
}

void gt_file_id_of(const struct stat *st, struct gt_file_id *id)
{
	*id = (struct gt_file_id){
		.dev = (uint64_t)st->st_dev,
		.ino = (uint64_t)st->st_ino,
		.size = (uint64_t)st->st_size,
		.mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec,
		.ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec,
	};
}

bool gt_file_id_equal(const struct gt_file_id *a, const struct gt_file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->ctime_ns == b->ctime_ns;
}

int gt_write_all(int fd, const char *data, size_t len, gt_err_t *err)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return gt_error(err, errno, "write");
		}
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

int gt_copy_fd(int in, int out, gt_err_t *err)
{
	char chunk[65536];
	for (;;) {
		ssize_t r = read(in, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return gt_error(err, errno, "read");
		}
		if (r == 0)
			return 0;
		if (gt_write_all(out, chunk, (size_t)r, err) < 0)
			return -1;
	}
}

/* A writer killed between creating its temp file and the rename leaves
 * the file behind. Each writer holds an exclusive flock on its temp file
 * while it lives, so one we can lock has no writer left: remove it. Bounded:
 * a bundle directory holds a handful of entries. */
static void remove_stale_temps(int dirfd, const char *name)
{
	char prefix[4096];
	int plen = snprintf(prefix, sizeof(prefix), ".%s.gotune-", name);
	if (plen < 0 || (size_t)plen >= sizeof(prefix))
		return;
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return;
	}
	struct dirent *de;
	for (int seen = 0; seen < 4096 && (de = readdir(d)) != NULL; seen++) {
		if (strncmp(de->d_name, prefix, (size_t)plen) != 0)
			continue;
		int fd = openat(dirfd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlinkat(dirfd, de->d_name, 0);
		close(fd);
	}
	closedir(d);
}

static int open_temp_beside(int dirfd, const char *name, char *tmp, size_t tmpsz, gt_err_t *err)
{
	remove_stale_temps(dirfd, name);
	for (int attempt = 0; attempt < 16; attempt++) {
		unsigned long long rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
			rnd = (unsigned long long)getpid() * 2654435761ULL + (unsigned long long)attempt;
		snprintf(tmp, tmpsz, ".%s.gotune-%012llx", name, rnd & 0xffffffffffffULL);
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0) {
			/* Marks the file as live for remove_stale_temps. */
			(void)flock(fd, LOCK_EX);
			return fd;
		}
		if (errno != EEXIST)
			return gt_error(err, errno, "create temp file beside %s", name);
	}
	return gt_error(err, EEXIST, "create temp file beside %s", name);
}

/* tmpfs and ramfs have nothing to sync: their fsync is noop_fsync
 * (mm/shmem.c, fs/ramfs/file-mmu.c); on a disk it cost 5 ms here. */
static bool on_ram(int fd)
{
	struct statfs sfs;
	return fstatfs(fd, &sfs) == 0 && (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC);
}

/* keep_owner: the replacement gets the mode and owner of the file it
 * replaces; else it is the temp file as made, 0600 and ours. written: the
 * new file's stat once in place, NULL for none. */
static int replace_at(int dirfd, const char *name, const char *data, size_t len, bool keep_owner, bool durable,
		      struct stat *written, gt_err_t *err)
{
	struct stat st;
	if (!keep_owner || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (keep_owner && errno != ENOENT)
			return gt_error(err, errno, "stat %s", name);
		/* A new file: ours, private. It appears whole or not at all. */
		st.st_mode = S_IFREG | 0600;
		st.st_uid = geteuid();
		st.st_gid = getegid();
	}
	if (!S_ISREG(st.st_mode))
		return gt_error(err, 0, "%s is not a regular file", name);

	char tmp[4096];
	if (strlen(name) > sizeof(tmp) - 32)
		return gt_error(err, ENAMETOOLONG, "%s", name);
	cleanup_close int fd = open_temp_beside(dirfd, name, tmp, sizeof(tmp), err);
	if (fd < 0)
		return -1;

	const char *what = "write";
	int e = 0;
	if (gt_write_all(fd, data, len, err) < 0)
		goto fail_with_err;
	/* The engine may run the runtime as another owner or read the file back
	 * with its own permissions: keep both as they were. */
	what = "chmod";
	if (keep_owner && fchmod(fd, st.st_mode & 07777) < 0)
		goto fail;
	what = "chown";
	if (keep_owner && (st.st_uid != geteuid() || st.st_gid != getegid()) && fchown(fd, st.st_uid, st.st_gid) < 0)
		goto fail;
	what = "fsync";
	if (durable && !on_ram(fd) && fsync(fd) < 0)
		goto fail;
	what = "rename";
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	/* After the rename, which sets its ctime: the file as it now is. */
	if (written != NULL && fstat(fd, written) < 0)
		return gt_error(err, errno, "stat %s", name);
	/* No fsync of the directory: if a crash loses the rename, the old
	 * file is still whole, and a bundle does not outlive its container
	 * anyway; on disk-backed bundles that second sync doubled our cost. */
	return 0;

fail:
	e = errno;
	gt_error(err, e, "%s %s", what, tmp);
fail_with_err:
	unlinkat(dirfd, tmp, 0);
	return gt_error_wrap(err, "replace %s", name);
}

int gt_write_atomic_at(int dirfd, const char *name, const char *data, size_t len, gt_err_t *err)
{
	return replace_at(dirfd, name, data, len, true, true, NULL, err);
}

int gt_write_atomic_at_stat(int dirfd, const char *name, const char *data, size_t len, struct stat *written,
			    gt_err_t *err)
{
	return replace_at(dirfd, name, data, len, true, true, written, err);
}

int gt_replace_at(int dirfd, const char *name, const char *data, size_t len, bool durable, gt_err_t *err)
{
	return replace_at(dirfd, name, data, len, true, durable, NULL, err);
}

int gt_write_private_at(int dirfd, const char *name, const char *data, size_t len, bool durable, gt_err_t *err)
{
	return replace_at(dirfd, name, data, len, false, durable, NULL, err);
}

int gt_mkdir_p(const char *path, mode_t mode, gt_err_t *err)
{
	char buf[4096];
	size_t n = strlen(path);
	if (path[0] != '/' || n >= sizeof(buf))
		return gt_error(err, EINVAL, "mkdir %s: not an absolute path", path);
	memcpy(buf, path, n + 1);
	/* The common case first: the directory is there, or only it is not. */
	if (mkdir(buf, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return gt_error(err, errno, "mkdir %s", path);
	for (char *s = buf + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		int rc = mkdir(buf, 0755);
		*s = '/';
		if (rc < 0 && errno != EEXIST)
			return gt_error(err, errno, "mkdir %.*s", (int)(s - buf), buf);
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return gt_error(err, errno, "mkdir %s", path);
	return 0;
}
