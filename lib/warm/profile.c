#include "profile.h"
#include "cleanup.h"
#include "contentid.h"
#include "sha256.h"
#include "fileio.h"
#include "policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
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

const char *gt_profile_image(const struct gt_spec *spec)
{
	/* Both are written by the engine after the annotations a pod brings
	 * (CRI-O: server/container_create.go adds ImageRef after the
	 * sandbox's; containerd: internal/cri/server/container_create_linux.go
	 * applies DefaultCRIAnnotations after the pass-through ones), and
	 * CRI-O's, an image ID, comes first: under containerd a pod cannot
	 * bring it unless the runtime's pod_annotations lets it through. */
	static const char *const keys[] = { "io.kubernetes.cri-o.ImageRef", "io.kubernetes.cri.image-name" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = gt_spec_annotation(spec, keys[i]);
		if (v != NULL && v[0] != '\0')
			return v;
	}
	return NULL;
}

static bool printable(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x21 || s[n] == 0x7f || n >= max)
			return false;
	return n > 0;
}

/* On a fresh host neither the state directory nor its parents may exist
 * yet; the state directory is root's alone, like what it holds. */
static int make_dir(const char *dir, gt_err_t *err)
{
	size_t sl = strlen(GT_STATE_DIR);
	if (strncmp(dir, GT_STATE_DIR "/", sl + 1) == 0 && gt_mkdir_p(GT_STATE_DIR, 0700, err) < 0)
		return -1;
	return gt_mkdir_p(dir, 0700, err);
}

int gt_profile_ident_of(int fd, const struct stat *st, const char *image, const char *dir, bool compute,
			struct gt_profile_ident *id, gt_err_t *err)
{
	memset(id, 0, sizeof(*id));
	/* The first recording on a host: its content ID is remembered in
	 * DIR/ids, which needs DIR. */
	if (compute && make_dir(dir, err) < 0)
		return -1;
	char ids[4200];
	snprintf(ids, sizeof(ids), "%s/ids", dir);
	bool cached;
	int r = gt_content_id(fd, st, ids, compute, id->sha, &cached, err);
	if (r != 0)
		return r;
	if (image != NULL && image[0] != '\0') {
		struct gt_sha256 h;
		gt_sha256_init(&h);
		gt_sha256_update(&h, "gotune image\n", 13);
		gt_sha256_update(&h, image, strlen(image));
		gt_sha256_hex(&h, id->image_sha);
		if (printable(image, sizeof(id->image) - 1))
			snprintf(id->image, sizeof(id->image), "%s", image);
	}
	/* GROUP-KEY: the group is the image where the engine names it (the
	 * per-image cap counts it), else the content itself. */
	char both[64 + 1 + 64 + 1], k[65];
	int n = snprintf(both, sizeof(both), "%s:%s", id->sha, id->image_sha);
	gt_sha256_of(both, (size_t)n, k);
	snprintf(id->key, sizeof(id->key), "%.16s-%.32s", id->image_sha[0] ? id->image_sha : id->sha, k);
	return 0;
}

int gt_profile_path(const char *dir, const char *key, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s/%s.profile", dir, key);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
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

struct gt_profile_file *gt_profile_file_of(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns)
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

void gt_profile_file_normalize(struct gt_profile_file *f)
{
	if (f->n_ranges > 0)
		f->n_ranges = gt_ranges_normalize(f->ranges, f->n_ranges, f->size);
}

struct gap {
	uint64_t len;
	size_t at;	/* between ranges at and at + 1 */
};

static int by_gap(const void *a, const void *b)
{
	const struct gap *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

void gt_profile_coarsen(struct gt_profile_file *f, size_t max)
{
	gt_profile_file_normalize(f);
	size_t n = f->n_ranges;
	if (n <= max || n < 2)
		return;
	if (max == 0)
		max = 1;
	struct gap *g = malloc((n - 1) * sizeof(*g));
	bool *join = calloc(n, sizeof(*join));
	if (g == NULL || join == NULL) {
		/* No memory for the choice: keep the first max ranges. */
		f->n_ranges = max;
		free(g);
		free(join);
		return;
	}
	for (size_t i = 0; i + 1 < n; i++)
		g[i] = (struct gap){ f->ranges[i + 1].off - (f->ranges[i].off + f->ranges[i].len), i };
	qsort(g, n - 1, sizeof(*g), by_gap);
	for (size_t i = 0; i < n - max; i++)
		join[g[i].at] = true;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		struct gt_range r = f->ranges[i];
		if (i > 0 && join[i - 1]) {
			struct gt_range *last = &f->ranges[m - 1];
			last->len = r.off + r.len - last->off;
			if (gt_range_order(&r) < gt_range_order(last))
				last->t = r.t;
		} else {
			f->ranges[m++] = r;
		}
	}
	f->n_ranges = m;
	free(g);
	free(join);
}

int gt_profile_file_add(struct gt_profile_file *f, uint64_t off, uint64_t len, uint32_t t, gt_err_t *err)
{
	if (f->n_ranges > 0) {
		struct gt_range *last = &f->ranges[f->n_ranges - 1];
		if (last->t == t && off >= last->off && off <= last->off + last->len) {
			if (off + len > last->off + last->len)
				last->len = off + len - last->off;
			return 0;
		}
	}
	/* Full: halve it, so the next GT_PROFILE_MAX_RANGES / 2 ranges cost
	 * no sort (issue 29: two sorts per present page, once a file held
	 * 4096 ranges, made one sample of a hostile container 2 minutes). */
	if (f->n_ranges >= GT_PROFILE_MAX_RANGES)
		gt_profile_coarsen(f, GT_PROFILE_MAX_RANGES / 2);
	if (f->n_ranges == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 16;
		struct gt_range *nr = realloc(f->ranges, nc * sizeof(*nr));
		if (nr == NULL)
			return gt_error(err, ENOMEM, "profile");
		f->ranges = nr;
		f->cap = nc;
	}
	f->ranges[f->n_ranges++] = (struct gt_range){ off, len, t };
	return 0;
}

int gt_profile_add_at(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns, uint64_t off,
		      uint64_t len, uint32_t t, gt_err_t *err)
{
	struct gt_profile_file *f = gt_profile_file_of(p, path, size, mtime_ns);
	return f == NULL ? 0 : gt_profile_file_add(f, off, len, t, err);
}

int gt_profile_add(struct gt_profile *p, const char *path, uint64_t size, int64_t mtime_ns, uint64_t off,
		   uint64_t len, gt_err_t *err)
{
	return gt_profile_add_at(p, path, size, mtime_ns, off, len, 0, err);
}

/* Adds to f the parts of r (normalized) f does not hold yet. */
static int add_new(struct gt_profile_file *f, const struct gt_range *r, size_t n, gt_err_t *err)
{
	gt_profile_file_normalize(f);
	struct gt_range *fresh = malloc((n + f->n_ranges + 1) * sizeof(*fresh));
	if (fresh == NULL)
		return gt_error(err, ENOMEM, "profile");
	size_t k = gt_ranges_subtract(r, n, f->ranges, f->n_ranges, fresh);
	if (f->n_ranges + k > f->cap) {
		struct gt_range *nr = realloc(f->ranges, (f->n_ranges + k) * sizeof(*nr));
		if (nr == NULL) {
			free(fresh);
			return gt_error(err, ENOMEM, "profile");
		}
		f->ranges = nr;
		f->cap = f->n_ranges + k;
	}
	memcpy(f->ranges + f->n_ranges, fresh, k * sizeof(*fresh));
	f->n_ranges += k;
	gt_profile_file_normalize(f);
	free(fresh);
	if (f->n_ranges > GT_PROFILE_MAX_RANGES)
		gt_profile_coarsen(f, GT_PROFILE_MAX_RANGES);
	return 0;
}

int gt_profile_add_new(struct gt_profile *p, const struct gt_profile_file *from, uint32_t t, gt_err_t *err)
{
	struct gt_profile_file *f = gt_profile_file_of(p, from->path, from->size, from->mtime_ns);
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

void gt_profile_fit(struct gt_profile *p)
{
	for (;;) {
		size_t total = 0, big = 0;
		for (size_t i = 0; i < p->n_files; i++) {
			gt_profile_file_normalize(&p->files[i]);
			total += p->files[i].n_ranges;
			if (p->files[i].n_ranges > p->files[big].n_ranges)
				big = i;
		}
		if (total <= GT_PROFILE_MAX_TOTAL_RANGES || p->files[big].n_ranges < 2)
			return;
		/* Each round at least halves the largest file: few rounds. */
		size_t n = p->files[big].n_ranges, excess = total - GT_PROFILE_MAX_TOTAL_RANGES;
		gt_profile_coarsen(&p->files[big], excess < n / 2 ? n - excess : n / 2);
	}
}

/* Whether a and b record the same file: the same build ID when both have
 * one, else the same size and mtime. */
static bool same_file(const struct gt_profile_file *a, const struct gt_profile_file *b)
{
	if (a->id[0] != '\0' && b->id[0] != '\0')
		return strcmp(a->id, b->id) == 0 && a->size == b->size;
	return a->size == b->size && a->mtime_ns == b->mtime_ns;
}

/* f's record in old, when old has that very file (path and same_file). */
static const struct gt_profile_file *same_in(const struct gt_profile *old, const struct gt_profile_file *f)
{
	for (size_t k = 0; k < old->n_files; k++)
		if (strcmp(old->files[k].path, f->path) == 0 && same_file(&old->files[k], f))
			return &old->files[k];
	return NULL;
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
		gt_profile_file_normalize(f);
	}
	return 0;
}

static uint64_t bytes_of(const struct gt_range *r, size_t n)
{
	uint64_t sum = 0;
	for (size_t k = 0; k < n; k++)
		sum += r[k].len;
	return sum;
}

uint64_t gt_profile_new_bytes(const struct gt_profile *p, const struct gt_profile *old, uint64_t margin,
			      uint64_t *all)
{
	uint64_t far = 0, any = 0;
	for (size_t i = 0; i < p->n_files; i++) {
		const struct gt_profile_file *f = &p->files[i], *o = same_in(old, f);
		struct gt_range *wide = o != NULL ? malloc((o->n_ranges + 1) * sizeof(*wide)) : NULL;
		struct gt_range *out = wide != NULL ? malloc((f->n_ranges + o->n_ranges + 1) * sizeof(*out)) : NULL;
		if (out == NULL) {
			/* A file old does not have (or no memory): all of it is new. */
			any += bytes_of(f->ranges, f->n_ranges);
			far += bytes_of(f->ranges, f->n_ranges);
			free(wide);
			continue;
		}
		/* Widened by the same amount, old's sorted ranges stay sorted
		 * by start and by end, which is all subtract needs. */
		for (size_t k = 0; k < o->n_ranges; k++) {
			uint64_t off = o->ranges[k].off > margin ? o->ranges[k].off - margin : 0;
			wide[k] = (struct gt_range){ off, o->ranges[k].off + o->ranges[k].len + margin - off, 0 };
		}
		any += bytes_of(out, gt_ranges_subtract(f->ranges, f->n_ranges, o->ranges, o->n_ranges, out));
		far += bytes_of(out, gt_ranges_subtract(f->ranges, f->n_ranges, wide, o->n_ranges, out));
		free(out);
		free(wide);
	}
	if (all != NULL)
		*all = any;
	return far;
}

int gt_profile_clip_blocks(struct gt_profile *p, const struct gt_profile *old, uint64_t block)
{
	int rc = 0;
	for (size_t i = 0; i < p->n_files; i++) {
		struct gt_profile_file *f = &p->files[i];
		const struct gt_profile_file *o = same_in(old, f);
		if (o == NULL || o->n_ranges == 0 || f->n_ranges == 0)
			continue;
		/* old's ranges are sorted and apart (a loaded profile is
		 * normalized); only the blocks the replay reads whole are
		 * clipped: a page missing from a sparse one is read only if
		 * learnt. */
		struct gt_range *blocks = malloc((o->n_ranges + 1) * sizeof(*blocks));
		struct gt_range *extra = malloc((2 * o->n_ranges + 2) * sizeof(*extra));
		struct gt_range *out = malloc((f->n_ranges + 2 * o->n_ranges + 2) * sizeof(*out));
		if (blocks == NULL || extra == NULL || out == NULL) {
			free(blocks);
			free(extra);
			free(out);
			rc = -1;
			continue;
		}
		size_t nb = gt_ranges_dense_blocks(o->ranges, o->n_ranges, block, o->size, blocks);
		size_t ne = gt_ranges_subtract(blocks, nb, o->ranges, o->n_ranges, extra);
		gt_profile_file_normalize(f);
		size_t cap = f->n_ranges + 2 * o->n_ranges + 2;
		size_t n = gt_ranges_subtract(f->ranges, f->n_ranges, extra, ne, out);
		free(f->ranges);
		f->ranges = out;
		f->n_ranges = n;
		f->cap = cap;
		free(blocks);
		free(extra);
	}
	return rc;
}

static bool hex_n(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

int gt_profile_write(const struct gt_profile *p, const char *dir, gt_err_t *err)
{
	const struct gt_profile_ident *id = &p->ident;
	if (!hex_n(id->sha, 64) || strlen(id->key) != GT_PROFILE_KEY_LEN)
		return gt_error(err, EINVAL, "profile: the entrypoint is not identified");
	size_t cap = 4096 + GT_BUILD_ID_MAX + sizeof(id->image), len = 0;
	for (size_t i = 0; i < p->n_files; i++)
		cap += 600 + GT_BUILD_ID_MAX + p->files[i].n_ranges * 56;
	if (cap > GT_PROFILE_MAX_BYTES * 4)
		return gt_error(err, EFBIG, "profile too large");
	cleanup_free char *buf = malloc(cap);
	if (buf == NULL)
		return gt_error(err, ENOMEM, "profile");
	len += (size_t)snprintf(buf + len, cap - len,
				"gotune-profile 4\nentry %s\t%" PRIu64 "\t%" PRId64 "\t%s\t%s\nimage %s\t%s\nsettled %u\n",
				p->entry, p->entry_size, p->entry_mtime_ns, p->entry_id[0] ? p->entry_id : "-", id->sha,
				id->image_sha[0] ? id->image_sha : "-", id->image[0] ? id->image : "-", p->settled);
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
	if (make_dir(dir, err) < 0)
		return -1;
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return gt_error(err, errno, "open %s", dir);
	char name[GT_PROFILE_KEY_LEN + 16];
	snprintf(name, sizeof(name), "%s.profile", id->key);
	/* Never an empty file on the way: a prestart may read it any time. */
	return gt_write_private_at(dfd, name, buf, len, true, err);
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
	else if (len >= 17 && strncmp(text, "gotune-profile 4\n", 17) == 0)
		version = 4;
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
			if (version >= 2 && (*rest++ != '\t' || !take_id_field(&rest, version, p->entry_id)))
				return gt_error(err, 0, "profile: bad entry identity");
			if (version >= 4 && (*rest++ != '\t' || strlen(rest) != 64 || !hex_n(rest, 64)))
				return gt_error(err, 0, "profile: bad entry content ID");
			if (version >= 4)
				memcpy(p->ident.sha, rest, 65);
			else if (*rest != '\0')
				return gt_error(err, 0, "profile: bad entry identity");
			snprintf(p->entry, sizeof(p->entry), "%s", path);
			p->entry_size = size;
			p->entry_mtime_ns = mt;
		} else if (version >= 4 && strncmp(line, "image ", 6) == 0) {
			char *name = strchr(line + 6, '\t');
			if (name == NULL || (name - line - 6 != 64 && strncmp(line + 6, "-\t", 2) != 0) ||
			    strlen(name + 1) >= sizeof(p->ident.image))
				return gt_error(err, 0, "profile: bad image line");
			*name++ = '\0';
			if (strcmp(line + 6, "-") != 0) {
				if (!hex_n(line + 6, 64))
					return gt_error(err, 0, "profile: bad image ID");
				memcpy(p->ident.image_sha, line + 6, 65);
			}
			if (strcmp(name, "-") != 0)
				snprintf(p->ident.image, sizeof(p->ident.image), "%s", name);
		} else if (version >= 4 && strncmp(line, "settled ", 8) == 0) {
			unsigned n;
			int used_s = 0;
			if (sscanf(line + 8, "%u%n", &n, &used_s) != 1 || line[8 + used_s] != '\0' || n > 1000000)
				return gt_error(err, 0, "profile: bad settled line");
			p->settled = n;
		} else if (strncmp(line, "file ", 5) == 0) {
			if (sscanf(line + 5, "%511[^\t]\t%" SCNu64 "\t%" SCNd64 "\t%n", path, &size, &mt, &used) != 3 ||
			    used == 0)
				return gt_error(err, 0, "profile: bad file line");
			char *r = line + 5 + used;
			char id[GT_BUILD_ID_MAX];
			struct gt_profile_file *f = gt_profile_file_of(p, path, size, mt);
			if (!take_id_field(&r, version, id) || (version >= 2 && *r++ != '\t'))
				return gt_error(err, 0, "profile: bad file identity");
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
				if (f != NULL && gt_profile_file_add(f, off, l, t, err) < 0)
					return -1;
				if (*r == ',')
					r++;
				else if (*r != '\0')
					return gt_error(err, 0, "profile: bad range separator");
			}
			if (f != NULL)
				memcpy(f->id, id, sizeof(id));
		}
	}
	if (p->entry[0] == '\0')
		return gt_error(err, 0, "profile: no entry line");
	/* The key it is stored under, from what it records (format 4). */
	if (version >= 4) {
		char both[64 + 1 + 64 + 1], k[65];
		int n = snprintf(both, sizeof(both), "%s:%s", p->ident.sha, p->ident.image_sha);
		gt_sha256_of(both, (size_t)n, k);
		snprintf(p->ident.key, sizeof(p->ident.key), "%.16s-%.32s",
			 p->ident.image_sha[0] ? p->ident.image_sha : p->ident.sha, k);
	}
	return 0;
}

int gt_profile_load(const char *dir, const struct gt_profile_ident *id, struct gt_profile *p, gt_err_t *err)
{
	char path[4200];
	if (gt_profile_path(dir, id->key, path, sizeof(path)) < 0)
		return gt_error(err, ENAMETOOLONG, "profile path");
	cleanup_buf struct gt_buf b = { 0 };
	if (gt_read_file_at(AT_FDCWD, path, GT_PROFILE_MAX_BYTES, &b, err) < 0)
		return -1;
	if (gt_profile_parse(b.data, b.len, p, err) < 0)
		return -1;
	/* The name is a hash prefix: what the profile records must be the
	 * very identity asked for. */
	if (strcmp(p->ident.sha, id->sha) != 0 || strcmp(p->ident.image_sha, id->image_sha) != 0) {
		gt_profile_free(p);
		return gt_error(err, 0, "%s records another entrypoint or image", path);
	}
	return 0;
}

/* The head of a profile: its four first lines (format 4: magic, entry,
 * image, settled) within this many bytes. */
#define PROFILE_HEAD_MAX 4096

int gt_profile_load_head(const char *dir, const struct gt_profile_ident *id, struct gt_profile *p, gt_err_t *err)
{
	char path[4200], head[PROFILE_HEAD_MAX + 1];
	if (gt_profile_path(dir, id->key, path, sizeof(path)) < 0)
		return gt_error(err, ENAMETOOLONG, "profile path");
	cleanup_close int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return gt_error(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return gt_error(err, 0, "%s: not a regular file", path);
	ssize_t n = pread(fd, head, PROFILE_HEAD_MAX, 0);
	if (n < 0)
		return gt_error(err, errno, "%s", path);
	size_t len = 0;
	for (int lines = 0; len < (size_t)n && lines < 4; len++)
		lines += head[len] == '\n';
	if (gt_profile_parse(head, len, p, err) < 0)
		return gt_error_wrap(err, "%s", path);
	if (strcmp(p->ident.sha, id->sha) != 0 || strcmp(p->ident.image_sha, id->image_sha) != 0) {
		gt_profile_free(p);
		return gt_error(err, 0, "%s records another entrypoint or image", path);
	}
	return 0;
}

struct aged {
	char name[GT_PROFILE_KEY_LEN + 16];
	int64_t mtime_ns;
	bool gone;
};

static int by_age(const void *a, const void *b)
{
	int64_t x = ((const struct aged *)a)->mtime_ns, y = ((const struct aged *)b)->mtime_ns;
	return x < y ? -1 : x > y;
}

static bool hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* GROUP-KEY.profile */
static bool profile_name(const char *s)
{
	return strlen(s) == GT_PROFILE_KEY_LEN + 8 && strcmp(s + GT_PROFILE_KEY_LEN, ".profile") == 0 &&
	       hex_run(s, 16) && s[16] == '-' && hex_run(s + 17, 32);
}

/* KEY.profile, keyed by build ID (formats 1 to 3): never loaded again. */
static bool old_profile_name(const char *s)
{
	return strlen(s) == 16 + 8 && strcmp(s + 16, ".profile") == 0 && hex_run(s, 16);
}

/* A content-ID cache entry (contentid.c). */
static bool id_name(const char *s)
{
	return strlen(s) == 32 && hex_run(s, 32);
}

/* The regular files of dfd that want() names, with their mtimes; those
 * old() names are removed on the way. Bounded: a directory with more
 * entries than this is not ours to sort through. */
static size_t scan(int dfd, bool (*want)(const char *), bool (*old)(const char *), unsigned *removed,
		   struct aged **out)
{
	enum { SCAN_MAX = 200000 };
	*out = NULL;
	int dup_fd = dup(dfd);
	DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	if (d == NULL) {
		if (dup_fd >= 0)
			close(dup_fd);
		return 0;
	}
	size_t n = 0, cap = 0;
	struct dirent *de;
	for (int seen = 0; seen < SCAN_MAX && (de = readdir(d)) != NULL; seen++) {
		struct stat st;
		if (old != NULL && old(de->d_name)) {
			if (unlinkat(dfd, de->d_name, 0) == 0)
				(*removed)++;
			continue;
		}
		if (!want(de->d_name) || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct aged *na = realloc(*out, nc * sizeof(*na));
			if (na == NULL)
				break;
			*out = na;
			cap = nc;
		}
		size_t len = strlen(de->d_name);
		if (len >= sizeof((*out)[n].name))
			continue;
		memcpy((*out)[n].name, de->d_name, len + 1);
		(*out)[n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		(*out)[n].gone = false;
		n++;
	}
	closedir(d);
	qsort(*out, n, sizeof(**out), by_age);
	return n;
}

/* Removes the oldest of all (sorted by age) that match group (NULL: any)
 * until at most keep of them remain. */
static unsigned drop_oldest(int dfd, struct aged *all, size_t n, const char *group, size_t keep)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += !all[i].gone && (group == NULL || strncmp(all[i].name, group, 16) == 0);
	unsigned removed = 0;
	for (size_t i = 0; i < n && count > keep; i++) {
		if (all[i].gone || (group != NULL && strncmp(all[i].name, group, 16) != 0))
			continue;
		all[i].gone = true;
		count--;
		if (unlinkat(dfd, all[i].name, 0) == 0)
			removed++;
	}
	return removed;
}

unsigned gt_profile_prune(const char *dir, const char *group, unsigned max_per_image, unsigned max)
{
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	unsigned removed = 0;
	struct aged *all = NULL;
	size_t n = scan(dfd, profile_name, old_profile_name, &removed, &all);
	/* One image (or one tenant's) cannot push out everyone's: its own
	 * oldest go first. */
	if (group != NULL)
		removed += drop_oldest(dfd, all, n, group, max_per_image);
	removed += drop_oldest(dfd, all, n, NULL, max);
	free(all);
	cleanup_close int ifd = openat(dfd, "ids", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (ifd >= 0) {
		unsigned ids_removed = 0;
		n = scan(ifd, id_name, NULL, &ids_removed, &all);
		drop_oldest(ifd, all, n, NULL, (size_t)max * 4);
		free(all);
	}
	return removed;
}
