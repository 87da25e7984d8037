#include "entry.h"
#include "fileio.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define PATHBUF 4096

/* The last entry for key: the one runc and crun leave in the container's
 * environment, where they look args[0] up (see gt_env_find). */
const char *gt_entry_env(const struct gt_entry *e, const char *key)
{
	size_t k = strlen(key);
	for (size_t i = e->n_env; i > 0; i--)
		if (strncmp(e->env[i - 1], key, k) == 0 && e->env[i - 1][k] == '=')
			return e->env[i - 1] + k + 1;
	return NULL;
}

int gt_path_join(char *out, size_t outsz, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	bool slash = dl > 0 && dir[dl - 1] == '/';
	int n = snprintf(out, outsz, "%s%s%s", dir, slash ? "" : "/", name);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

int gt_entry_find(const struct gt_rootfs *root, const struct gt_entry *e, char *out, size_t outsz, gt_err_t *err)
{
	if (e->arg0 == NULL || e->arg0[0] == '\0')
		return gt_error(err, 0, "entrypoint: no process.args[0]");
	struct stat st;
	if (strchr(e->arg0, '/') != NULL) {
		if (e->arg0[0] == '/')
			snprintf(out, outsz, "%s", e->arg0);
		else if (gt_path_join(out, outsz, e->cwd != NULL ? e->cwd : "/", e->arg0) < 0)
			return gt_error(err, ENAMETOOLONG, "entrypoint %s", e->arg0);
		int fd = gt_rootfs_open_regular(root, out, &st, err);
		return fd < 0 ? gt_error_wrap(err, "entrypoint") : fd;
	}
	/* As the runtimes do: the container's own PATH, searched inside the
	 * container, the first executable regular file wins. */
	const char *path = gt_entry_env(e, "PATH");
	if (path == NULL)
		path = DEFAULT_PATH;
	unsigned tried = 0;
	for (const char *p = path;; tried++) {
		if (tried == GT_SEARCH_LIST_MAX)
			return gt_error(err, ENOENT, "entrypoint %s not found in the first %d entries of PATH (%zu bytes; "
					"later ones are not looked at)", e->arg0, GT_SEARCH_LIST_MAX, strlen(path));
		size_t n = strcspn(p, ":");
		char dir[PATHBUF];
		if (n > 0 && n < sizeof(dir)) {
			memcpy(dir, p, n);
			dir[n] = '\0';
			if (gt_path_join(out, outsz, dir, e->arg0) == 0) {
				gt_err_t miss = NULL;
				int fd = gt_rootfs_open_regular(root, out, &st, &miss);
				gt_err_free(&miss);
				if (fd >= 0 && (st.st_mode & 0111) != 0)
					return fd;
				if (fd >= 0)
					close(fd);
			}
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return gt_error(err, ENOENT, "entrypoint %s not found on PATH %.200s", e->arg0, path);
}
