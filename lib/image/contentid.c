#include "contentid.h"
#include "cleanup.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t ns_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* The cache entry's name for this version of the file. The device is
 * left out: each overlay mount has its own, for the same layer file. */
static void entry_name(const struct stat *st, char out[33])
{
	char buf[160], hex[65];
	int n = snprintf(buf, sizeof(buf), "gotune content id 1 %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64,
			 (uint64_t)st->st_ino, (uint64_t)st->st_size, ns_of(&st->st_mtim), ns_of(&st->st_ctim));
	gt_sha256_of(buf, (size_t)n, hex);
	memcpy(out, hex, 32);
	out[32] = '\0';
}

static bool is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool cache_read(int dfd, const char *name, char out[65])
{
	cleanup_close int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	char buf[80];
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n != 65 || buf[64] != '\n' || !is_hex64(buf))
		return false;
	memcpy(out, buf, 64);
	out[64] = '\0';
	return true;
}

/* Written beside, then renamed: a reader sees a whole entry or none. No
 * fsync: a torn entry fails cache_read and is computed again. */
static void cache_write(int dfd, const char *name, const char hex[65])
{
	char tmp[64], line[65];
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(tmp, sizeof(tmp), ".%d.%ld.tmp", (int)getpid(), (long)now.tv_nsec);
	int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	memcpy(line, hex, 64);
	line[64] = '\n';
	bool ok = write(fd, line, sizeof(line)) == (ssize_t)sizeof(line);
	close(fd);
	if (!ok || renameat(dfd, tmp, dfd, name) < 0)
		unlinkat(dfd, tmp, 0);
}

int gt_content_id(int fd, const struct stat *st, const char *cache_dir, bool compute, char out[65], bool *cached,
		  gt_err_t *err)
{
	*cached = false;
	if ((uint64_t)st->st_size > GT_CONTENT_ID_MAX_BYTES)
		return gt_error(err, EFBIG, "entrypoint of %" PRIu64 " MiB: over the %u MiB hashed to name a profile",
				(uint64_t)st->st_size >> 20, GT_CONTENT_ID_MAX_BYTES >> 20);
	char name[33];
	entry_name(st, name);
	cleanup_close int dfd = -1;
	if (cache_dir != NULL) {
		dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (dfd < 0 && errno == ENOENT && compute && mkdir(cache_dir, 0700) == 0)
			dfd = open(cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (dfd >= 0 && cache_read(dfd, name, out)) {
			*cached = true;
			return 0;
		}
	}
	if (!compute)
		return 1;
	struct gt_sha256 s;
	gt_sha256_init(&s);
	static unsigned char buf[1 << 16];
	uint64_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return gt_error(err, errno, "read the entrypoint to hash it");
		if (n == 0)
			break;
		gt_sha256_update(&s, buf, (size_t)n);
		off += (uint64_t)n;
		if (off > GT_CONTENT_ID_MAX_BYTES)
			return gt_error(err, EFBIG, "the entrypoint grew while it was hashed");
	}
	gt_sha256_hex(&s, out);
	/* Changed under us: the digest is of neither version, keep it out. */
	struct stat after;
	if (fstat(fd, &after) < 0 || after.st_size != st->st_size || ns_of(&after.st_mtim) != ns_of(&st->st_mtim) ||
	    ns_of(&after.st_ctim) != ns_of(&st->st_ctim) || (uint64_t)st->st_size != off)
		return gt_error(err, EAGAIN, "the entrypoint changed while it was hashed");
	if (dfd >= 0)
		cache_write(dfd, name, out);
	return 0;
}
