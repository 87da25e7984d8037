/* What every doctor check uses: the findings, files under the root, the
 * running daemons' command lines. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "doctor.h"

void doctor_say(struct doctor *d, const char *section, enum doctor_level level, const char *fmt, ...)
{
	if (d->n == DOCTOR_MAX_FINDINGS) {
		d->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	/* What a config file or a log holds is printed: no control
	 * character of theirs reaches the terminal. */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	d->f[d->n++] = (struct doctor_finding){ section, level, msg };
}

int doctor_read(const struct doctor *d, const char *path, struct gt_buf *out, gt_err_t *err)
{
	struct stat st;
	cleanup_close int fd = gt_rootfs_open_regular(&d->root, path, &st, err);
	if (fd < 0)
		return -1;
	if (gt_read_fd(fd, DOCTOR_MAX_FILE, out, err) < 0) {
		gt_buf_free(out);
		return gt_error_wrap(err, "%s", path);
	}
	return 0;
}

bool doctor_exists(const struct doctor *d, const char *path)
{
	gt_err_t err = NULL;
	int fd = gt_rootfs_resolve(&d->root, path, &err);
	gt_err_free(&err);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool doctor_executable(const struct doctor *d, const char *path, char *why, size_t whysz)
{
	gt_err_t err = NULL;
	int fd = path[0] == '/' ? gt_rootfs_resolve(&d->root, path, &err) : -1;
	struct stat st;
	bool ok = false;
	if (path[0] != '/')
		snprintf(why, whysz, "not an absolute path");
	else if (fd < 0)
		snprintf(why, whysz, "%s", err != NULL && err->errno_ == ENOENT ? "no such file" : gt_err_msg(err));
	else if (fstat(fd, &st) < 0)
		snprintf(why, whysz, "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(why, whysz, "not a regular file");
	else if ((st.st_mode & 0111) == 0)
		snprintf(why, whysz, "not executable");
	else
		ok = true;
	if (fd >= 0)
		close(fd);
	gt_err_free(&err);
	return ok;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

size_t doctor_list(const struct doctor *d, const char *dir, const char *suffix, char (*names)[256], size_t max)
{
	gt_err_t err = NULL;
	int fd = gt_rootfs_open_dir(&d->root, dir, &err);
	gt_err_free(&err);
	if (fd < 0)
		return 0;
	DIR *dp = fdopendir(fd);
	if (dp == NULL) {
		close(fd);
		return 0;
	}
	size_t n = 0, sl = strlen(suffix), seen = 0;
	struct dirent *e;
	while ((e = readdir(dp)) != NULL && n < max && seen++ < DOCTOR_MAX_DIR_ENTRIES) {
		size_t l = strlen(e->d_name);
		if (e->d_name[0] == '.' || l < sl || l >= 256 || strcmp(e->d_name + l - sl, suffix) != 0)
			continue;
		memcpy(names[n++], e->d_name, l + 1);
	}
	closedir(dp);
	qsort(names, n, sizeof(names[0]), cmp_names);
	return n;
}

void doctor_copy(char *dst, size_t dstsz, const char *src)
{
	size_t n = strnlen(src, dstsz - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool doctor_is_gotune(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b != NULL ? b + 1 : path;
	if (strncmp(b, "gotune", 6) == 0)
		return true;
	/* NRI's plugin dir: NN-gotune */
	return isdigit((unsigned char)b[0]) && isdigit((unsigned char)b[1]) && strncmp(b + 2, "-gotune", 7) == 0;
}

void doctor_processes(const struct doctor *d, const char *comm,
		      void (*fn)(struct doctor *d, int pid, const char *const *argv, int argc, void *ctx), void *ctx)
{
	if (!d->host)
		return;
	DIR *dp = opendir("/proc");
	if (dp == NULL)
		return;
	struct dirent *e;
	unsigned seen = 0;
	while ((e = readdir(dp)) != NULL && seen++ < 100000) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[64], name[32] = "";
		snprintf(path, sizeof(path), "/proc/%.20s/comm", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n <= 0)
			continue;
		name[n] = '\0';
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, comm) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/cmdline", e->d_name);
		struct gt_buf buf = { 0 };
		gt_err_t err = NULL;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && gt_read_fd(fd, 64 << 10, &buf, &err) == 0 && buf.len > 0) {
			const char *argv[256];
			int argc = 0;
			for (size_t i = 0; i < buf.len && argc < 255; i += strlen(buf.data + i) + 1)
				argv[argc++] = buf.data + i;
			argv[argc] = NULL;
			fn((struct doctor *)d, atoi(e->d_name), argv, argc, ctx);
		}
		if (fd >= 0)
			close(fd);
		gt_err_free(&err);
		gt_buf_free(&buf);
	}
	closedir(dp);
}

const char *doctor_arg(const char *const *argv, int argc, const char *opt, const char *short_opt)
{
	size_t ol = strlen(opt);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], opt) == 0 || (short_opt != NULL && strcmp(argv[i], short_opt) == 0))
			return i + 1 < argc ? argv[i + 1] : NULL;
		if (strncmp(argv[i], opt, ol) == 0 && argv[i][ol] == '=')
			return argv[i] + ol + 1;
	}
	return NULL;
}
