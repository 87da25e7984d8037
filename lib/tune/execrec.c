#include "execrec.h"
#include "cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The text: NUL-separated fields, which no path, id or env value can hold:
 * "gotune-exec 1", then "NAME" VALUE pairs (runtime, root, id, config,
 * config-id "DEV INO SIZE MTIME CTIME", written), then per variable given
 * "VAR" WROTE and "=WAS" or "-" when the container had none, then "end":
 * a record cut short anywhere is no record. */
#define MAGIC "gotune-exec 1"

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int gt_execrec_path(const char *dir, const char *root, const char *id, char *out, size_t outsz)
{
	/* Both with their NULs: ("a", "b/c") and ("a/b", "c") differ. A
	 * collision only costs a fallback: the record names root and id. */
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, root, strlen(root) + 1);
	h = fnv1a(h, id, strlen(id) + 1);
	int n = snprintf(out, outsz, "%s/%016" PRIx64, dir, h);
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void put(struct out *o, const char *s)
{
	size_t n = strlen(s) + 1;
	if (o->full || o->len + n > o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

/* Replaces dir/name by a temp file renamed over it, with neither the
 * fsync nor the sweep for stale temp files of gt_write_atomic_at: a record
 * lost in a crash only costs a fallback (so does a torn one, which does
 * not parse), and this directory may hold many records (gt_execrec_prune
 * sweeps it when it grows). */
static int write_new(const char *dir, const char *name, const char *text, size_t len, gt_err_t *err)
{
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return gt_error(err, errno, "open %s", dir);
	char tmp[64];
	uint64_t rnd = 0;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
		rnd = (uint64_t)getpid() * 2654435761ULL;
	snprintf(tmp, sizeof(tmp), ".%s.%016" PRIx64, name, rnd);
	cleanup_close int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return gt_error(err, errno, "create %s/%s", dir, tmp);
	if (gt_write_all(fd, text, len, err) < 0 || renameat(dfd, tmp, dfd, name) < 0) {
		int e = errno;
		unlinkat(dfd, tmp, 0);
		return gt_error(err, e, "write %s/%s", dir, name);
	}
	return 0;
}

int gt_execrec_write(const char *dir, struct gt_execrec *rec, gt_err_t *err)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	rec->written_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	char path[PATH_MAX], idtext[160], written[32];
	if (gt_execrec_path(dir, rec->root, rec->id, path, sizeof(path)) < 0)
		return gt_error(err, ENAMETOOLONG, "exec record");
	const struct gt_file_id *c = &rec->config_id;
	snprintf(idtext, sizeof(idtext), "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64, c->dev, c->ino,
		 c->size, c->mtime_ns, c->ctime_ns);
	snprintf(written, sizeof(written), "%" PRId64, rec->written_ns);
	cleanup_free char *text = malloc(GT_EXECREC_MAX);
	if (text == NULL)
		return gt_error(err, ENOMEM, "exec record");
	struct out o = { text, 0, GT_EXECREC_MAX, false };
	put(&o, MAGIC);
	const char *fields[][2] = { { "runtime", rec->runtime }, { "root", rec->root }, { "id", rec->id },
				    { "config", rec->config }, { "config-id", idtext }, { "written", written } };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		put(&o, fields[i][0]);
		put(&o, fields[i][1]);
	}
	for (int v = 0; v < GT_NVARS; v++) {
		if (rec->mark.wrote[v] == NULL)
			continue;
		put(&o, gt_var_names[v]);
		put(&o, rec->mark.wrote[v]);
		if (rec->mark.was[v] == NULL) {
			put(&o, "-");
		} else if (!o.full && o.len + 1 < o.cap) {
			o.p[o.len++] = '=';
			put(&o, rec->mark.was[v]);
		} else {
			o.full = true;
		}
	}
	put(&o, "end");
	if (o.full)
		return gt_error(err, E2BIG, "exec record: over %u bytes", GT_EXECREC_MAX);
	if (gt_mkdir_p(dir, 0700, err) < 0)
		return -1;
	if (write_new(dir, strrchr(path, '/') + 1, text, o.len, err) < 0)
		return -1;
	/* Records of containers deleted behind the wrapper's back (or by
	 * `run` itself, which deletes its container) are swept now and then:
	 * on one write in 64, by the key, so that the directory stays about
	 * as large as the number of live containers. A minute old at least:
	 * a record is written before its runtime makes the container's
	 * state directory. */
	if ((fnv1a(0xcbf29ce484222325ULL, rec->id, strlen(rec->id)) & 63) == 0)
		gt_execrec_prune(dir, 60);
	return 0;
}

unsigned gt_execrec_prune(const char *dir, int64_t min_age_s)
{
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	int dup_fd = dup(dfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (d == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return 0;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	unsigned removed = 0;
	struct dirent *de;
	static struct gt_execrec rec;
	for (int seen = 0; seen < GT_EXECREC_PRUNE_MAX && (de = readdir(d)) != NULL; seen++) {
		const char *name = de->d_name;
		struct stat st;
		if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
			continue;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    now.tv_sec - st.st_mtim.tv_sec < min_age_s)
			continue;
		/* A temp file a killed writer left (".KEY.RANDOM"): a minute old. */
		if (name[0] == '.') {
			if (now.tv_sec - st.st_mtim.tv_sec > 60 && unlinkat(dfd, name, 0) == 0)
				removed++;
			continue;
		}
		char path[PATH_MAX], state[PATH_MAX];
		gt_err_t err = NULL;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		int r = gt_execrec_read(path, &rec, &err);
		gt_err_free(&err);
		/* Not a record, or its container's state is gone. */
		bool gone = r < 0;
		if (!gone) {
			int n = snprintf(state, sizeof(state), "%s/%s", rec.root, rec.id);
			gone = n > 0 && (size_t)n < sizeof(state) && stat(state, &st) < 0 && errno == ENOENT;
		}
		if (gone && unlinkat(dfd, name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

static int parse_i64(const char *s, int64_t *v)
{
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*v = x;
	return 0;
}

static int parse(struct gt_execrec *rec, size_t len, gt_err_t *err)
{
	const char *p = rec->buf, *end = rec->buf + len;
	if (len == 0 || rec->buf[len - 1] != '\0' || strcmp(p, MAGIC) != 0)
		return gt_error(err, 0, "not an exec record");
	p += strlen(p) + 1;
	const char *written = NULL, *idtext = NULL;
	struct { const char *name; const char **dst; } fields[] = {
		{ "runtime", &rec->runtime }, { "root", &rec->root }, { "id", &rec->id },
		{ "config", &rec->config }, { "config-id", &idtext }, { "written", &written },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (p >= end || strcmp(p, fields[i].name) != 0)
			return gt_error(err, 0, "exec record: no %s", fields[i].name);
		p += strlen(p) + 1;
		if (p >= end)
			return gt_error(err, 0, "exec record: no %s", fields[i].name);
		*fields[i].dst = p;
		p += strlen(p) + 1;
	}
	struct gt_file_id *c = &rec->config_id;
	if (sscanf(idtext, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64, &c->dev, &c->ino, &c->size,
		   &c->mtime_ns, &c->ctime_ns) != 5 ||
	    parse_i64(written, &rec->written_ns) < 0)
		return gt_error(err, 0, "exec record: bad config-id or written");
	for (;;) {
		if (p >= end)
			return gt_error(err, 0, "exec record: cut short");
		if (strcmp(p, "end") == 0 && p + 4 == end)
			break;
		int v = 0;
		while (v < GT_NVARS && strcmp(p, gt_var_names[v]) != 0)
			v++;
		if (v == GT_NVARS || rec->mark.wrote[v] != NULL)
			return gt_error(err, 0, "exec record: unknown or repeated variable");
		p += strlen(p) + 1;
		const char *wrote = p;
		const char *was = wrote < end ? wrote + strlen(wrote) + 1 : end;
		if (was >= end || (strcmp(was, "-") != 0 && was[0] != '='))
			return gt_error(err, 0, "exec record: %s has no previous value", gt_var_names[v]);
		rec->mark.wrote[v] = wrote;
		rec->mark.was[v] = was[0] == '=' ? was + 1 : NULL;
		p = was + strlen(was) + 1;
	}
	return 0;
}

int gt_execrec_read(const char *path, struct gt_execrec *rec, gt_err_t *err)
{
	memset(&rec->mark, 0, sizeof(rec->mark));
	cleanup_close int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return gt_error(err, errno, "%s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return gt_error(err, errno, "%s", path);
	/* Only gotune (root) writes these, and the env it holds goes into
	 * processes as is: anything writable by others is no record. */
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0 || st.st_size > GT_EXECREC_MAX)
		return gt_error(err, EPERM, "%s: not a record of gotune's (owner, mode or size)", path);
	size_t len = 0;
	for (;;) {
		ssize_t r = read(fd, rec->buf + len, GT_EXECREC_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return gt_error(err, errno, "%s", path);
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > GT_EXECREC_MAX)
			return gt_error(err, EFBIG, "%s", path);
	}
	rec->buf[len] = '\0';
	if (parse(rec, len, err) < 0)
		return gt_error_wrap(err, "%s", path);
	return 0;
}

static int check_runc(const struct gt_execrec *rec, gt_err_t *err)
{
	struct gt_runc_state st;
	if (gt_runc_state_read(rec->root, rec->id, &st, err) < 0)
		return -1;
	/* Created before the record: a container that had the id already
	 * when the wrapper was asked to create one (that create failed). */
	if (st.created_ns < rec->written_ns)
		return gt_error(err, 0, "container %s was created before its record", rec->id);
	char cfg[sizeof(st.bundle) + 16];
	snprintf(cfg, sizeof(cfg), "%s/config.json", st.bundle);
	struct stat s;
	if (stat(cfg, &s) < 0)
		return gt_error(err, errno, "%s", cfg);
	struct gt_file_id now;
	gt_file_id_of(&s, &now);
	if (!gt_file_id_equal(&now, &rec->config_id))
		return gt_error(err, 0, "%s is not the config recorded (replaced or changed since)", cfg);
	return 0;
}

static int check_crun(const struct gt_execrec *rec, gt_err_t *err)
{
	cleanup_buf struct gt_buf mine = { 0 }, theirs = { 0 };
	struct stat s;
	if (gt_read_file_at_stat(AT_FDCWD, rec->config, GT_SPEC_MAX_BYTES, &mine, &s, err) < 0)
		return -1;
	struct gt_file_id now;
	gt_file_id_of(&s, &now);
	if (!gt_file_id_equal(&now, &rec->config_id))
		return gt_error(err, 0, "%s is not the config recorded (replaced or changed since)", rec->config);
	if (gt_crun_config_read(rec->root, rec->id, mine.len + 1, &theirs, err) < 0)
		return -1;
	if (theirs.len != mine.len || memcmp(theirs.data, mine.data, mine.len) != 0)
		return gt_error(err, 0, "container %s was created from another config than %s", rec->id, rec->config);
	return 0;
}

int gt_execrec_check(const struct gt_execrec *rec, enum gt_rt_kind kind, gt_err_t *err)
{
	switch (kind) {
	case GT_RT_RUNC: return check_runc(rec, err);
	case GT_RT_CRUN: return check_crun(rec, err);
	case GT_RT_UNKNOWN: break;
	}
	return gt_error(err, 0, "a runtime whose state gotune cannot read");
}
