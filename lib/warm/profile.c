#include "profile.h"
#include "cleanup.h"
#include "fileio.h"
#include "policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void gt_profile_free(struct gt_profile *p)
{
	for (size_t i = 0; i < p->n_files; i++)
		free(p->files[i].ranges);
	p->n_files = 0;
}

static void fnv_key(const char *buf, size_t n, char out[17])
{
	/* FNV-1a over the identity: stable across hosts and runs. */
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)buf[i];
		h *= 1099511628211ULL;
	}
	snprintf(out, 17, "%016" PRIx64, h);
}

void gt_profile_key(const char *path, uint64_t size, int64_t mtime_ns, const char *build_id, char out[17])
{
	char buf[800];
	int n = build_id != NULL && build_id[0] != '\0'
			? snprintf(buf, sizeof(buf), "id|%s", build_id)
			: snprintf(buf, sizeof(buf), "%s|%" PRIu64 "|%" PRId64, path, size, mtime_ns);
	fnv_key(buf, n < 0 ? 0 : (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1, out);
}

static int64_t mtime_of(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

void gt_profile_identify(struct gt_profile *p, const struct gt_rootfs *root)
{
	struct stat st;
	gt_err_t miss = NULL;
	int fd = gt_rootfs_open_regular(root, p->entry, &st, &miss);
	gt_err_free(&miss);
	if (fd >= 0) {
		gt_build_id_fd(fd, p->entry_id);
		close(fd);
	}
	for (size_t i = 0; i < p->n_files; i++) {
		struct gt_profile_file *f = &p->files[i];
		f->id[0] = '\0';
		fd = gt_rootfs_open_regular(root, f->path, &st, &miss);
		gt_err_free(&miss);
		if (fd < 0)
			continue;
		if ((uint64_t)st.st_size == f->size && mtime_of(&st) == f->mtime_ns)
			gt_build_id_fd(fd, f->id);
		close(fd);
	}
}

bool gt_profile_file_matches(const struct gt_profile_file *f, int fd, const struct stat *st)
{
	if ((uint64_t)st->st_size != f->size)
		return false;
	if (f->id[0] == '\0')
		return mtime_of(st) == f->mtime_ns;
	char id[GT_BUILD_ID_MAX];
	return gt_build_id_fd(fd, id) == 1 && strcmp(id, f->id) == 0;
}

static bool plain_path(const char *s)
{
	return s[0] == '/' && strlen(s) < 512 && strpbrk(s, "\t\n\r") == NULL;
}

/* path's record in p, created (without ranges) when missing; NULL when
 * the path cannot be stored or the profile is full. */
static struct gt_profile_file *file_of(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns)
{
	if (!plain_path(path))
		return NULL; /* not storable; warming it is not worth a format escape */
	for (size_t i = 0; i < p->n_files; i++)
		if (strcmp(p->files[i].path, path) == 0)
			return &p->files[i];
	if (p->n_files == GT_PROFILE_MAX_FILES)
		return NULL;
	struct gt_profile_file *f = &p->files[p->n_files++];
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->size = size;
	f->mtime_ns = mtime_ns;
	return f;
}

/* Makes room for n more ranges in f: beyond GT_PROFILE_MAX_RANGES they are
 * merged, first those of the same time, then regardless of time. Returns
 * how many fit. */
static size_t room_for(struct gt_profile_file *f, size_t n)
{
	if (f->n_ranges + n <= GT_PROFILE_MAX_RANGES)
		return n;
	f->n_ranges = gt_ranges_normalize(f->ranges, f->n_ranges, f->size);
	/* Coarser: touching ranges take the earlier of their times. */
	for (size_t i = 1; f->n_ranges + n > GT_PROFILE_MAX_RANGES && i < f->n_ranges; i++) {
		struct gt_range *a = &f->ranges[i - 1], *b = &f->ranges[i];
		if (a->off + a->len == b->off)
			a->t = b->t = gt_range_order(a) < gt_range_order(b) ? a->t : b->t;
	}
	f->n_ranges = gt_ranges_normalize(f->ranges, f->n_ranges, f->size);
	return f->n_ranges + n <= GT_PROFILE_MAX_RANGES ? n : GT_PROFILE_MAX_RANGES - f->n_ranges;
}

int gt_profile_add_at(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns, uint64_t off,
		      uint64_t len, uint32_t t, gt_err_t *err)
{
	struct gt_profile_file *f = file_of(p, path, size, mtime_ns);
	if (f == NULL)
		return 0;
	if (f->n_ranges > 0) {
		struct gt_range *last = &f->ranges[f->n_ranges - 1];
		if (last->t == t && off >= last->off && off <= last->off + last->len) {
			if (off + len > last->off + last->len)
				last->len = off + len - last->off;
			return 0;
		}
	}
	if (room_for(f, 1) == 0)
		return 0;
	struct gt_range *nr = realloc(f->ranges, (f->n_ranges + 1) * sizeof(*nr));
	if (nr == NULL)
		return gt_error(err, ENOMEM, "profile");
	f->ranges = nr;
	f->ranges[f->n_ranges++] = (struct gt_range){ off, len, t };
	return 0;
}

int gt_profile_add(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns, uint64_t off,
		   uint64_t len, gt_err_t *err)
{
	return gt_profile_add_at(p, path, size, mtime_ns, off, len, 0, err);
}

/* Adds to f the parts of r (normalized) f does not hold yet. */
static int add_new(struct gt_profile_file *f, const struct gt_range *r, size_t n, gt_err_t *err)
{
	f->n_ranges = gt_ranges_normalize(f->ranges, f->n_ranges, f->size);
	struct gt_range *fresh = malloc((n + f->n_ranges + 1) * sizeof(*fresh));
	if (fresh == NULL)
		return gt_error(err, ENOMEM, "profile");
	size_t k = gt_ranges_subtract(r, n, f->ranges, f->n_ranges, fresh);
	k = room_for(f, k);
	struct gt_range *nr = k == 0 ? f->ranges : realloc(f->ranges, (f->n_ranges + k) * sizeof(*nr));
	if (nr == NULL) {
		free(fresh);
		return gt_error(err, ENOMEM, "profile");
	}
	f->ranges = nr;
	memcpy(f->ranges + f->n_ranges, fresh, k * sizeof(*fresh));
	f->n_ranges = gt_ranges_normalize(f->ranges, f->n_ranges + k, f->size);
	free(fresh);
	return 0;
}

int gt_profile_add_new(struct gt_profile *p, const struct gt_profile_file *from, uint32_t t, gt_err_t *err)
{
	struct gt_profile_file *f = file_of(p, from->path, from->size, from->mtime_ns);
	if (f == NULL || from->n_ranges == 0)
		return 0;
	struct gt_range *r = malloc(from->n_ranges * sizeof(*r));
	if (r == NULL)
		return gt_error(err, ENOMEM, "profile");
	for (size_t i = 0; i < from->n_ranges; i++)
		r[i] = (struct gt_range){ from->ranges[i].off, from->ranges[i].len, t != 0 ? t : from->ranges[i].t };
	size_t n = gt_ranges_normalize(r, from->n_ranges, from->size);
	int rc = add_new(f, r, n, err);
	free(r);
	return rc;
}

/* Whether a and b record the same file: the same build ID when both have
 * one, else the same size and mtime. */
static bool same_file(const struct gt_profile_file *a, const struct gt_profile_file *b)
{
	if (a->id[0] != '\0' && b->id[0] != '\0')
		return strcmp(a->id, b->id) == 0 && a->size == b->size;
	return a->size == b->size && a->mtime_ns == b->mtime_ns;
}

int gt_profile_merge(struct gt_profile *into, const struct gt_profile *from, gt_err_t *err)
{
	for (size_t i = 0; i < from->n_files; i++) {
		const struct gt_profile_file *f = &from->files[i];
		struct gt_profile_file *have = NULL;
		for (size_t k = 0; k < into->n_files && have == NULL; k++)
			if (strcmp(into->files[k].path, f->path) == 0)
				have = &into->files[k];
		if (have != NULL && !same_file(have, f))
			continue; /* the image changed: the old ranges are stale */
		/* The newer recording's ranges and times stand; the older one
		 * adds what it saw besides. */
		size_t before = into->n_files;
		if (gt_profile_add_new(into, f, 0, err) < 0)
			return -1;
		if (into->n_files > before)
			snprintf(into->files[before].id, sizeof(into->files[before].id), "%s", f->id);
	}
	for (size_t i = 0; i < into->n_files; i++) {
		struct gt_profile_file *f = &into->files[i];
		f->n_ranges = gt_ranges_normalize(f->ranges, f->n_ranges, f->size);
	}
	return 0;
}

int gt_profile_write(const struct gt_profile *p, const char *dir, gt_err_t *err)
{
	char key[17];
	gt_profile_key(p->entry, p->entry_size, p->entry_mtime_ns, p->entry_id, key);
	size_t cap = 4096 + GT_BUILD_ID_MAX, len = 0;
	for (size_t i = 0; i < p->n_files; i++)
		cap += 600 + GT_BUILD_ID_MAX + p->files[i].n_ranges * 56;
	if (cap > GT_PROFILE_MAX_BYTES * 4)
		return gt_error(err, EFBIG, "profile too large");
	cleanup_free char *buf = malloc(cap);
	if (buf == NULL)
		return gt_error(err, ENOMEM, "profile");
	len += (size_t)snprintf(buf + len, cap - len, "gotune-profile 3\nentry %s\t%" PRIu64 "\t%" PRId64 "\t%s\n",
				p->entry, p->entry_size, p->entry_mtime_ns, p->entry_id[0] ? p->entry_id : "-");
	for (size_t i = 0; i < p->n_files; i++) {
		const struct gt_profile_file *f = &p->files[i];
		struct gt_range *r = malloc((f->n_ranges ? f->n_ranges : 1) * sizeof(*r));
		if (r == NULL)
			return gt_error(err, ENOMEM, "profile");
		memcpy(r, f->ranges, f->n_ranges * sizeof(*r));
		size_t n = gt_ranges_normalize(r, f->n_ranges, f->size);
		len += (size_t)snprintf(buf + len, cap - len, "file %s\t%" PRIu64 "\t%" PRId64 "\t%s\t", f->path, f->size,
					f->mtime_ns, f->id[0] ? f->id : "-");
		for (size_t k = 0; k < n; k++) {
			len += (size_t)snprintf(buf + len, cap - len, "%s%" PRIu64 "+%" PRIu64, k ? "," : "", r[k].off,
						r[k].len);
			if (r[k].t != 0)
				len += (size_t)snprintf(buf + len, cap - len, "@%" PRIu32, r[k].t);
		}
		buf[len++] = '\n';
		free(r);
	}
	if (len > GT_PROFILE_MAX_BYTES)
		return gt_error(err, EFBIG, "profile over %u bytes", GT_PROFILE_MAX_BYTES);
	/* On a fresh host neither the state directory nor its parents may
	 * exist yet; the state directory is root's alone, like what it holds. */
	size_t sl = strlen(GT_STATE_DIR);
	if (strncmp(dir, GT_STATE_DIR "/", sl + 1) == 0 && gt_mkdir_p(GT_STATE_DIR, 0700, err) < 0)
		return -1;
	if (gt_mkdir_p(dir, 0700, err) < 0)
		return -1;
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return gt_error(err, errno, "open %s", dir);
	char name[32];
	snprintf(name, sizeof(name), "%s.profile", key);
	/* Never an empty file on the way: a prestart may read it any time. */
	return gt_write_atomic_at(dfd, name, buf, len, err);
}

/* An ID field: "-" or "gnu:"/"go:" + hex, as gt_build_id writes it. */
static bool take_id(const char *s, size_t n, char out[GT_BUILD_ID_MAX])
{
	out[0] = '\0';
	if (n == 1 && s[0] == '-')
		return true;
	if (n >= GT_BUILD_ID_MAX || n < 5 || (strncmp(s, "gnu:", 4) != 0 && strncmp(s, "go:", 3) != 0))
		return false;
	for (size_t i = s[1] == 'n' ? 4 : 3; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/* "\tID" at *pos (version 2 only); advances past it. */
static bool take_id_field(char **pos, int version, char out[GT_BUILD_ID_MAX])
{
	out[0] = '\0';
	if (version < 2)
		return true;
	char *s = *pos;
	size_t n = strcspn(s, "\t");
	if (!take_id(s, n, out))
		return false;
	*pos = s + n;
	return true;
}

int gt_profile_parse(const char *text, size_t len, struct gt_profile *p, gt_err_t *err)
{
	memset(p, 0, sizeof(*p));
	int version;
	if (len >= 17 && strncmp(text, "gotune-profile 1\n", 17) == 0)
		version = 1;
	else if (len >= 17 && strncmp(text, "gotune-profile 2\n", 17) == 0)
		version = 2;
	else if (len >= 17 && strncmp(text, "gotune-profile 3\n", 17) == 0)
		version = 3;
	else
		return gt_error(err, 0, "not a gotune profile");
	cleanup_free char *copy = strndup(text, len);
	if (copy == NULL)
		return gt_error(err, ENOMEM, "profile");
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char path[512];
		uint64_t size;
		int64_t mt;
		int used = 0;
		if (strncmp(line, "entry ", 6) == 0) {
			if (sscanf(line + 6, "%511[^\t]\t%" SCNu64 "\t%" SCNd64 "%n", path, &size, &mt, &used) != 3 ||
			    used == 0)
				return gt_error(err, 0, "profile: bad entry line");
			char *rest = line + 6 + used;
			if (version >= 2 && (*rest++ != '\t' || !take_id_field(&rest, version, p->entry_id) || *rest != '\0'))
				return gt_error(err, 0, "profile: bad entry identity");
			snprintf(p->entry, sizeof(p->entry), "%s", path);
			p->entry_size = size;
			p->entry_mtime_ns = mt;
		} else if (strncmp(line, "file ", 5) == 0) {
			if (sscanf(line + 5, "%511[^\t]\t%" SCNu64 "\t%" SCNd64 "\t%n", path, &size, &mt, &used) != 3 ||
			    used == 0)
				return gt_error(err, 0, "profile: bad file line");
			char *r = line + 5 + used;
			char id[GT_BUILD_ID_MAX];
			if (!take_id_field(&r, version, id) || (version >= 2 && *r++ != '\t'))
				return gt_error(err, 0, "profile: bad file identity");
			size_t before = p->n_files;
			while (*r != '\0') {
				uint64_t off, l;
				uint32_t t = 0;
				int n = 0, nt = 0;
				if (sscanf(r, "%" SCNu64 "+%" SCNu64 "%n", &off, &l, &n) != 2 || n == 0)
					return gt_error(err, 0, "profile: bad range");
				r += n;
				if (version >= 3 && *r == '@') {
					if (sscanf(r, "@%" SCNu32 "%n", &t, &nt) != 1 || nt == 0)
						return gt_error(err, 0, "profile: bad range time");
					r += nt;
				}
				if (gt_profile_add_at(p, path, size, mt, off, l, t, err) < 0)
					return -1;
				if (*r == ',')
					r++;
				else if (*r != '\0')
					return gt_error(err, 0, "profile: bad range separator");
			}
			if (p->n_files > before)
				memcpy(p->files[p->n_files - 1].id, id, sizeof(id));
		}
	}
	if (p->entry[0] == '\0')
		return gt_error(err, 0, "profile: no entry line");
	return 0;
}

int gt_profile_load(const char *dir, const char key[17], struct gt_profile *p, gt_err_t *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s.profile", dir, key);
	cleanup_buf struct gt_buf b = { 0 };
	if (gt_read_file_at(AT_FDCWD, path, GT_PROFILE_MAX_BYTES, &b, err) < 0)
		return -1;
	return gt_profile_parse(b.data, b.len, p, err);
}

struct aged {
	char name[32];
	int64_t mtime_ns;
};

static int by_age(const void *a, const void *b)
{
	int64_t x = ((const struct aged *)a)->mtime_ns, y = ((const struct aged *)b)->mtime_ns;
	return x < y ? -1 : x > y;
}

static bool profile_name(const char *s)
{
	if (strlen(s) != 16 + 8 || strcmp(s + 16, ".profile") != 0)
		return false;
	for (int i = 0; i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

unsigned gt_profile_prune(const char *dir, unsigned max)
{
	/* Bounded scan: a directory with more entries than this is not ours
	 * to sort through on a container's start path. */
	enum { SCAN_MAX = 200000 };
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
	size_t n = 0, cap = 0;
	struct aged *all = NULL;
	struct dirent *de;
	for (int seen = 0; seen < SCAN_MAX && (de = readdir(d)) != NULL; seen++) {
		struct stat st;
		if (!profile_name(de->d_name) || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct aged *na = realloc(all, nc * sizeof(*na));
			if (na == NULL)
				break;
			all = na;
			cap = nc;
		}
		snprintf(all[n].name, sizeof(all[n].name), "%s", de->d_name);
		all[n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		n++;
	}
	closedir(d);
	unsigned removed = 0;
	if (n > max) {
		qsort(all, n, sizeof(*all), by_age);
		for (size_t i = 0; i < n - max; i++)
			if (unlinkat(dfd, all[i].name, 0) == 0)
				removed++;
	}
	free(all);
	return removed;
}
