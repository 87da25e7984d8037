#include "warmset.h"
#include "closure.h"
#include "memfmt.h"
#include "profile.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int gt_warmset_add_path(struct gt_pw_set *set, const struct gt_rootfs *root, const char *path, unsigned max_files,
			struct gt_notes *notes, gt_err_t *err)
{
	struct stat st;
	gt_err_t miss = NULL;
	int fd = gt_rootfs_open_regular(root, path, &st, &miss);
	if (fd >= 0) {
		gt_err_free(&miss);
		return gt_pw_set_add(set, path, fd, NULL, 0, err);
	}
	gt_err_free(&miss);
	int dfd = gt_rootfs_open_dir(root, path, &miss);
	if (dfd < 0) {
		gt_note(notes, "prewarm %.80s: %.60s", path, gt_err_msg(miss));
		gt_err_free(&miss);
		return 0;
	}
	DIR *d = fdopendir(dfd);
	if (d == NULL) {
		close(dfd);
		return gt_error(err, errno, "prewarm %s", path);
	}
	/* Only regular files directly inside: a directory tree in an image can
	 * be arbitrarily large, and the budget must hold. */
	struct dirent *de;
	while ((de = readdir(d)) != NULL && set->n < max_files) {
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		char child[4096];
		if (snprintf(child, sizeof(child), "%s/%s", path, de->d_name) >= (int)sizeof(child))
			continue;
		fd = gt_rootfs_open_regular(root, child, &st, &miss);
		gt_err_free(&miss);
		if (fd >= 0 && gt_pw_set_add(set, child, fd, NULL, 0, err) < 0) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

/* The entrypoint's profile identity in m (entry, id, ident, key): 1; 0
 * when there is no profile directory (nothing ever recorded on this node:
 * no need to look up and read the entrypoint) or the entrypoint's content
 * is not known yet (m->unidentified); -1 when the entrypoint is not found. */
static int match_key(const struct gt_rootfs *root, const struct gt_entry *e, const char *image, const char *dir,
		     struct gt_profile_match *m)
{
	memset(m, 0, sizeof(*m));
	struct stat st;
	if (dir[0] == '\0' || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	gt_err_t miss = NULL;
	int fd = gt_entry_find(root, e, m->entry, sizeof(m->entry), &miss);
	gt_err_free(&miss);
	if (fd < 0)
		return -1;
	int ok = fstat(fd, &st);
	/* Named by its content and image, from the content-ID cache the
	 * recorder keeps: a start never hashes (1: not known yet). */
	int r = ok < 0 ? -1 : gt_profile_ident_of(fd, &st, image, dir, false, &m->ident, &miss);
	gt_err_free(&miss);
	close(fd);
	if (r < 0)
		return -1;
	m->unidentified = r > 0;
	if (r > 0)
		return 0;
	snprintf(m->key, sizeof(m->key), "%s", m->ident.key);
	return 1;
}

/* Replays a recorded working set for this entrypoint, if one exists:
 * exactly its ranges, from files that are still the ones recorded (same
 * build ID, else same size and mtime). */
int gt_warmset_find_profile(const struct gt_rootfs *root, const struct gt_entry *e, const char *image,
			    const char *dir, struct gt_profile_match *m)
{
	int found = match_key(root, e, image, dir, m);
	if (found <= 0)
		return found;
	m->profile = calloc(1, sizeof(*m->profile));
	if (m->profile == NULL)
		return -1;
	gt_err_t miss = NULL;
	if (gt_profile_load(dir, &m->ident, m->profile, &miss) < 0) {
		gt_err_free(&miss); /* no profile yet */
		free(m->profile);
		m->profile = NULL;
		return 0;
	}
	return 1;
}

bool gt_warmset_has_profile(const struct gt_rootfs *root, const struct gt_entry *e, const char *image,
			    const char *dir)
{
	struct gt_profile_match m;
	char path[4200];
	struct stat st;
	return match_key(root, e, image, dir, &m) > 0 && gt_profile_path(dir, m.key, path, sizeof(path)) == 0 &&
	       stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void gt_profile_match_free(struct gt_profile_match *m)
{
	if (m->profile != NULL) {
		gt_profile_free(m->profile);
		free(m->profile);
		m->profile = NULL;
	}
}

struct prof_item {
	size_t file;
	struct gt_range r;
};

static int cmp_prof_item(const void *a, const void *b)
{
	const struct prof_item *x = a, *y = b;
	return gt_range_cmp(x->file, &x->r, y->file, &y->r);
}

static int cmp_by_file(const void *a, const void *b)
{
	const struct prof_item *x = a, *y = b;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return (x->r.off > y->r.off) - (x->r.off < y->r.off);
}

/* The recorded working set for this entrypoint, if one exists: exactly
 * its ranges, from files that are still the ones recorded (same build ID,
 * else same size and mtime), up to limit bytes: those first touched first
 * (recorded times), else in the profile's order. */
static int add_profile(struct gt_pw_set *set, const struct gt_rootfs *root, const struct gt_entry *e,
		       const char *image, const char *dir, uint64_t limit, struct gt_warmset_info *info,
		       gt_err_t *err)
{
	struct gt_profile_match m;
	if (gt_warmset_find_profile(root, e, image, dir, &m) <= 0)
		return 0;
	const struct gt_profile *p = m.profile;
	snprintf(info->key, sizeof(info->key), "%s", m.key);
	info->prof_total = (unsigned)p->n_files;
	info->prof_settled = p->settled;
	int fds[GT_PROFILE_MAX_FILES];
	size_t n_items = 0;
	for (size_t i = 0; i < p->n_files; i++) {
		const struct gt_profile_file *f = &p->files[i];
		struct stat st;
		gt_err_t miss = NULL;
		fds[i] = gt_rootfs_open_regular(root, f->path, &st, &miss);
		gt_err_free(&miss);
		if (fds[i] >= 0 && !gt_profile_file_matches(f, fds[i], &st)) {
			close(fds[i]);
			fds[i] = -1;
		}
		if (fds[i] < 0)
			info->prof_changed++;
		else
			n_items += f->n_ranges;
	}
	struct prof_item *items = malloc((n_items ? n_items : 1) * sizeof(*items));
	struct gt_range *r = malloc(GT_PROFILE_MAX_RANGES * sizeof(*r));
	int ret = items == NULL || r == NULL ? gt_error(err, ENOMEM, "profile") : 0;
	size_t k = 0;
	for (size_t i = 0; ret == 0 && i < p->n_files; i++)
		for (size_t j = 0; fds[i] >= 0 && j < p->files[i].n_ranges; j++)
			items[k++] = (struct prof_item){ i, p->files[i].ranges[j] };
	if (ret == 0)
		qsort(items, n_items, sizeof(*items), cmp_prof_item);
	/* Within limit, in reading order; the cut range ends at a page. */
	uint64_t used = 0;
	for (k = 0; ret == 0 && k < n_items; k++) {
		uint64_t len = items[k].r.len, room = limit > used ? limit - used : 0;
		if (len > room)
			items[k].r.len = room / 4096 * 4096;
		info->prof_over += len - items[k].r.len;
		used += items[k].r.len;
	}
	if (ret == 0)
		qsort(items, n_items, sizeof(*items), cmp_by_file);
	uint64_t before = gt_warmset_bytes(set);
	k = 0;
	for (size_t i = 0; i < p->n_files; i++) {
		size_t n = 0;
		for (; ret == 0 && k < n_items && items[k].file == i; k++)
			if (items[k].r.len > 0)
				r[n++] = items[k].r;
		if (fds[i] < 0)
			continue;
		if (ret < 0 || n == 0) {
			close(fds[i]); /* nothing of it fits, or it has no range (never whole) */
			continue;
		}
		ret = gt_pw_set_add(set, p->files[i].path, fds[i], r, n, err);
		info->prof_files++;
	}
	free(items);
	free(r);
	info->prof_bytes = gt_warmset_bytes(set) - before;
	gt_profile_match_free(&m);
	return ret;
}

/* Moves the files of from into set (which takes their fds). */
static int take_files(struct gt_pw_set *set, struct gt_pw_set *from, gt_err_t *err)
{
	for (size_t i = 0; i < from->n; i++) {
		struct gt_pw_file *f = &from->files[i];
		int fd = f->fd;
		f->fd = -1;
		if (gt_pw_set_add(set, f->name, fd, f->ranges, f->n_ranges, err) < 0)
			return -1;
	}
	set->duplicates += from->duplicates;
	return 0;
}

int gt_warmset_from_spec(struct gt_pw_set *set, const struct gt_rootfs *root, const struct gt_spec *spec,
			 const struct gt_settings *s, struct gt_warmset_info *info, struct gt_notes *notes,
			 gt_err_t *err)
{
	static const char *const cwd_path[] = { "process", "cwd", NULL };
	const struct gt_prewarm_settings *pw = &s->prewarm;
	struct gt_entry e = {
		.arg0 = gt_spec_arg0(spec),
		.env = spec->env,
		.n_env = spec->n_env,
		.cwd = gt_spec_string(spec, cwd_path),
	};
	memset(info, 0, sizeof(*info));
	if (s->profile_dir[0] != '\0' && add_profile(set, root, &e, gt_profile_image(spec), s->profile_dir, s->profile_max_bytes, info,
						  err) < 0)
		return -1;
	/* The rest is warmed whole, or not at all when it is larger than
	 * max_set_bytes: whole closures of large programs were measured to
	 * slow their start. */
	struct gt_pw_set other = { 0 };
	int ret = 0;
	if (pw->closure && info->key[0] == '\0') {
		info->closure = true;
		gt_err_t cerr = NULL;
		if (gt_closure_add(&other, root, &e, notes, &cerr) < 0) {
			/* An entrypoint we cannot find is the runtime's error to
			 * report; the listed files are still worth warming. */
			if (cerr != NULL && cerr->errno_ == ENOMEM) {
				*err = cerr;
				ret = -1;
			} else {
				gt_note(notes, "%.150s", gt_err_msg(cerr));
				gt_err_free(&cerr);
			}
		}
	}
	for (size_t i = 0; i < pw->n_files && ret == 0; i++)
		ret = gt_warmset_add_path(&other, root, pw->files[i], pw->budget.max_files, notes, err);
	if (ret == 0) {
		info->other_files = (unsigned)other.n;
		info->other_bytes = gt_warmset_bytes(&other);
		info->other_over = info->other_bytes > pw->max_set_bytes;
		if (!info->other_over)
			ret = take_files(set, &other, err);
	}
	gt_pw_set_free(&other);
	return ret;
}

struct gt_pw_budget gt_warmset_budget(const struct gt_settings *s, const struct gt_warmset_info *info)
{
	struct gt_pw_budget b = s->prewarm.budget;
	b.max_bytes = b.max_bytes > UINT64_MAX - info->prof_bytes ? UINT64_MAX : b.max_bytes + info->prof_bytes;
	b.max_files += info->prof_files;
	return b;
}

void gt_warmset_describe(const struct gt_warmset_info *info, const struct gt_settings *s, char *out, size_t outsz)
{
	char a[32], b[32];
	size_t len = 0;
	out[0] = '\0';
#define ADD(...) (len += len < outsz ? (size_t)snprintf(out + len, outsz - len, __VA_ARGS__) : 0)
	if (info->key[0] != '\0') {
		gt_memhuman(info->prof_bytes, a, sizeof(a));
		ADD("profile %s replayed: %u of %u files, %s", info->key, info->prof_files, info->prof_total, a);
		if (info->prof_changed > 0)
			ADD(", %u changed since recording: skipped", info->prof_changed);
		if (info->prof_over > 0) {
			gt_memhuman(info->prof_over, a, sizeof(a));
			gt_memhuman(s->profile_max_bytes, b, sizeof(b));
			ADD(", %s over profile.max_bytes %s: left out", a, b);
		}
	}
	if (info->other_files > 0) {
		gt_memhuman(info->other_bytes, a, sizeof(a));
		ADD("%s%s: %u files, %s", len > 0 ? "; " : "", info->closure ? "closure and listed files" : "listed files",
		    info->other_files, a);
		if (info->other_over) {
			gt_memhuman(s->prewarm.max_set_bytes, b, sizeof(b));
			ADD(", over max_set_bytes %s: not warmed", b);
		}
	}
#undef ADD
}

uint64_t gt_warmset_bytes(const struct gt_pw_set *set)
{
	uint64_t total = 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct gt_pw_file *f = &set->files[i];
		if (f->n_ranges == 0) {
			total += f->size;
			continue;
		}
		for (size_t k = 0; k < f->n_ranges; k++)
			total += f->ranges[k].len;
	}
	return total;
}
