#include "warmset.h"
#include "closure.h"
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

/* Replays a recorded working set for this entrypoint, if one exists:
 * exactly its ranges, from files that are still the ones recorded (same
 * build ID, else same size and mtime). */
int gt_warmset_find_profile(const struct gt_rootfs *root, const struct gt_entry *e, const char *dir,
			    struct gt_profile_match *m)
{
	memset(m, 0, sizeof(*m));
	/* No profile directory (nothing ever recorded on this node): no
	 * need to look up and read the entrypoint for a key. */
	struct stat dst;
	if (stat(dir, &dst) < 0 || !S_ISDIR(dst.st_mode))
		return 0;
	gt_err_t miss = NULL;
	int fd = gt_entry_find(root, e, m->entry, sizeof(m->entry), &miss);
	gt_err_free(&miss);
	if (fd < 0)
		return -1;
	struct stat st;
	int ok = fstat(fd, &st);
	gt_build_id_fd(fd, m->id);
	close(fd);
	if (ok < 0)
		return -1;
	gt_profile_key(m->entry, (uint64_t)st.st_size, (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec,
		       m->id, m->key);
	m->profile = calloc(1, sizeof(*m->profile));
	if (m->profile == NULL)
		return -1;
	if (gt_profile_load(dir, m->key, m->profile, &miss) < 0) {
		gt_err_free(&miss); /* no profile yet */
		free(m->profile);
		m->profile = NULL;
		return 0;
	}
	return 1;
}

void gt_profile_match_free(struct gt_profile_match *m)
{
	if (m->profile != NULL) {
		gt_profile_free(m->profile);
		free(m->profile);
		m->profile = NULL;
	}
}

static int add_profile(struct gt_pw_set *set, const struct gt_rootfs *root, const struct gt_entry *e,
		       const char *dir, struct gt_notes *notes, bool *used, gt_err_t *err)
{
	*used = false;
	struct gt_profile_match m;
	if (gt_warmset_find_profile(root, e, dir, &m) <= 0)
		return 0;
	struct gt_profile *p = m.profile;
	const char *key = m.key;
	struct stat st;
	gt_err_t miss = NULL;
	int fd;
	unsigned stale = 0;
	int ret = 0;
	for (size_t i = 0; i < p->n_files && ret == 0; i++) {
		const struct gt_profile_file *f = &p->files[i];
		fd = gt_rootfs_open_regular(root, f->path, &st, &miss);
		gt_err_free(&miss);
		if (fd < 0 || !gt_profile_file_matches(f, fd, &st)) {
			if (fd >= 0)
				close(fd);
			stale++;
			continue;
		}
		ret = gt_pw_set_add(set, f->path, fd, f->ranges, f->n_ranges, err);
	}
	if (stale > 0)
		gt_note(notes, "profile %s: %u file(s) changed since recording; skipped", key, stale);
	gt_note(notes, "profile %s replayed: %zu file(s)", key, p->n_files - stale);
	gt_profile_match_free(&m);
	*used = ret == 0;
	return ret;
}

int gt_warmset_from_spec(struct gt_pw_set *set, const struct gt_rootfs *root, const struct gt_spec *spec,
			 const struct gt_prewarm_settings *pw, const char *profile_dir, struct gt_notes *notes,
			 gt_err_t *err)
{
	static const char *const cwd_path[] = { "process", "cwd", NULL };
	struct gt_entry e = {
		.arg0 = gt_spec_arg0(spec),
		.env = spec->env,
		.n_env = spec->n_env,
		.cwd = gt_spec_string(spec, cwd_path),
	};
	bool profiled = false;
	if (profile_dir != NULL && profile_dir[0] != '\0' &&
	    add_profile(set, root, &e, profile_dir, notes, &profiled, err) < 0)
		return -1;
	if (pw->closure && !profiled) {
		gt_err_t cerr = NULL;
		if (gt_closure_add(set, root, &e, notes, &cerr) < 0) {
			/* An entrypoint we cannot find is the runtime's error to
			 * report; the listed files are still worth warming. */
			if (cerr != NULL && cerr->errno_ == ENOMEM) {
				*err = cerr;
				return -1;
			}
			gt_note(notes, "%.150s", gt_err_msg(cerr));
			gt_err_free(&cerr);
		}
	}
	for (size_t i = 0; i < pw->n_files; i++)
		if (gt_warmset_add_path(set, root, pw->files[i], pw->budget.max_files, notes, err) < 0)
			return -1;
	return 0;
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
