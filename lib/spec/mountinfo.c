#include "mountinfo.h"
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The kernel writes space, tab, newline and backslash in paths as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r != '\0'; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
		    r[3] <= '7') {
			*w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue":
 * root is field 4, the mount point 5, then optional fields up to "-",
 * then the type, the source and the super options. */
static bool parse_line(char *line, struct gt_mount *m)
{
	char *f[32];
	size_t n = 0;
	char *save = NULL;
	for (char *t = strtok_r(line, " ", &save); t != NULL && n < 32; t = strtok_r(NULL, " ", &save))
		f[n++] = t;
	size_t dash = 6;
	while (dash < n && strcmp(f[dash], "-") != 0)
		dash++;
	if (dash + 3 >= n)
		return false;
	unescape(f[3]);
	unescape(f[4]);
	m->root = f[3];
	m->point = f[4];
	m->fstype = f[dash + 1];
	m->super = f[dash + 3];
	return true;
}

/* Takes b's data: the mounts point into it. */
static int mounts_parse(struct gt_buf *b, struct gt_mounts *out, gt_err_t *err)
{
	size_t lines = 0;
	for (size_t i = 0; i < b->len; i++)
		lines += b->data[i] == '\n';
	lines++;
	if (lines > GT_MOUNTINFO_MAX_MOUNTS)
		lines = GT_MOUNTINFO_MAX_MOUNTS;
	out->m = calloc(lines, sizeof(*out->m));
	if (out->m == NULL) {
		gt_buf_free(b);
		return gt_error(err, ENOMEM, "mountinfo");
	}
	out->text = b->data;
	*b = (struct gt_buf){ 0 };
	char *save = NULL;
	for (char *line = strtok_r(out->text, "\n", &save); line != NULL && out->n < lines;
	     line = strtok_r(NULL, "\n", &save))
		if (parse_line(line, &out->m[out->n]))
			out->n++;
	return 0;
}

int gt_mounts_read(const char *path, struct gt_mounts *out, gt_err_t *err)
{
	memset(out, 0, sizeof(*out));
	struct gt_buf b = { 0 };
	if (gt_read_file_at(AT_FDCWD, path != NULL ? path : "/proc/self/mountinfo", GT_MOUNTINFO_MAX_BYTES, &b, err) <
	    0)
		return -1;
	return mounts_parse(&b, out, err);
}

const struct gt_mounts *gt_mounts_watch_get(struct gt_mounts_watch *w, const char *path, gt_err_t *err)
{
	if (w->fd < 0) {
		w->fd = open(path != NULL ? path : "/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
		if (w->fd < 0) {
			gt_error(err, errno, "open %s", path != NULL ? path : "/proc/self/mountinfo");
			return NULL;
		}
	} else if (w->ok) {
		/* proc(5): the mount table's file reports POLLPRI once it
		 * changed since this descriptor last read it. */
		struct pollfd p = { .fd = w->fd, .events = POLLPRI };
		if (poll(&p, 1, 0) == 0)
			return &w->m;
	}
	gt_mounts_free(&w->m);
	w->ok = false;
	struct gt_buf b = { 0 };
	if (lseek(w->fd, 0, SEEK_SET) < 0) {
		gt_error(err, errno, "mountinfo: seek");
		return NULL;
	}
	w->reads++;
	if (gt_read_fd(w->fd, GT_MOUNTINFO_MAX_BYTES, &b, err) < 0) {
		gt_buf_free(&b);
		return NULL;
	}
	if (mounts_parse(&b, &w->m, err) < 0)
		return NULL;
	w->ok = true;
	return &w->m;
}

void gt_mounts_watch_close(struct gt_mounts_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	gt_mounts_free(&w->m);
	*w = (struct gt_mounts_watch)GT_MOUNTS_WATCH_INIT;
}

const struct gt_mounts *gt_mounts_get(struct gt_mounts_watch *w, const char *path, struct gt_mounts *own,
				      gt_err_t *err)
{
	if (w != NULL)
		return gt_mounts_watch_get(w, path, err);
	return gt_mounts_read(path, own, err) == 0 ? own : NULL;
}

void gt_mounts_free(struct gt_mounts *m)
{
	free(m->m);
	free(m->text);
	memset(m, 0, sizeof(*m));
}

const struct gt_mount *gt_mounts_at(const struct gt_mounts *m, const char *point)
{
	for (size_t i = m->n; i > 0; i--)
		if (strcmp(m->m[i - 1].point, point) == 0)
			return &m->m[i - 1];
	return NULL;
}

bool gt_mount_option(const char *opts, const char *key, char *val, size_t valsz)
{
	size_t klen = strlen(key);
	bool found = false;
	for (const char *p = opts; *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			snprintf(val, valsz, "%.*s", (int)(n - klen - 1), p + klen + 1);
			found = true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return found;
}
