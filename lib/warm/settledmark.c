#include "settledmark.h"
#include "cleanup.h"
#include "profile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* "gotune-settled 1 SIZE MTIME CTIME KEY\n" */
#define MAGIC "gotune-settled 1"
#define MARK_MAX 256
/* A hook runs within seconds of its reader; what is older was left by a
 * start that failed before its hooks. */
#define MARK_STALE_S 600
#define PRUNE_MAX 1024

/* <DEV>-<INO>-<a hash of the id>: a bundle's config left as it was and
 * run again under another id has another mark. */
static int mark_name(const struct gt_file_id *config, const char *id, char *out, size_t outsz)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const char *c = id; *c != '\0'; c++) {
		h ^= (unsigned char)*c;
		h *= 0x100000001b3ULL;
	}
	int n = snprintf(out, outsz, "%" PRIx64 "-%" PRIx64 "-%016" PRIx64, config->dev, config->ino, h);
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

static void prune(int dfd)
{
	int dup_fd = dup(dfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (d == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct dirent *de;
	for (int seen = 0; seen < PRUNE_MAX && (de = readdir(d)) != NULL; seen++) {
		struct stat st;
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    now.tv_sec - st.st_mtim.tv_sec > MARK_STALE_S)
			unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
}

int gt_settled_mark(const char *dir, const struct gt_file_id *config, const char *id, const char *key,
		    gt_err_t *err)
{
	char name[80], text[MARK_MAX];
	if (mark_name(config, id, name, sizeof(name)) < 0)
		return gt_error(err, ENAMETOOLONG, "settled mark");
	int n = snprintf(text, sizeof(text), MAGIC " %" PRIu64 " %" PRId64 " %" PRId64 " %s\n", config->size,
			 config->mtime_ns, config->ctime_ns, key);
	if (n < 0 || (size_t)n >= sizeof(text))
		return gt_error(err, ENAMETOOLONG, "settled mark");
	if (gt_mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return gt_error(err, errno, "%s", dir);
	if (gt_write_private_at(dfd, name, text, (size_t)n, false, err) < 0)
		return gt_error_wrap(err, "%s", dir);
	static unsigned writes;
	if (writes++ % 16 == 0)
		prune(dfd);
	return 0;
}

static bool key_chars(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || *s == '-'))
			return false;
	return true;
}

int gt_settled_take(const char *dir, const struct gt_file_id *config, const char *id, char *key, size_t keysz)
{
	char name[80], text[MARK_MAX + 1];
	key[0] = '\0';
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || mark_name(config, id, name, sizeof(name)) < 0)
		return 0;
	cleanup_close int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* Read once: whatever it says, it has been used. */
	unlinkat(dfd, name, 0);
	struct stat st;
	/* Only gotune (root) writes these: anything another may write is no
	 * mark. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
	    st.st_size > MARK_MAX)
		return 0;
	ssize_t len = read(fd, text, MARK_MAX);
	if (len <= 0)
		return 0;
	text[len] = '\0';
	uint64_t size;
	int64_t mtime, ctime;
	char k[GT_PROFILE_KEY_LEN + 2];
	int used = 0;
	if (sscanf(text, MAGIC " %" SCNu64 " %" SCNd64 " %" SCNd64 " %50s\n%n", &size, &mtime, &ctime, k, &used) != 4 ||
	    used != (int)len || text[len - 1] != '\n' || strlen(k) > GT_PROFILE_KEY_LEN || !key_chars(k))
		return 0;
	if (size != config->size || mtime != config->mtime_ns || ctime != config->ctime_ns)
		return 0;
	int n = snprintf(key, keysz, "%s", k);
	if (n < 0 || (size_t)n >= keysz) {
		key[0] = '\0';
		return 0;
	}
	return 1;
}
