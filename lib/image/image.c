#include "image.h"
#include "cleanup.h"
#include "entry.h"
#include "rootfs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void gt_image_inspect(const struct gt_spec *spec, const char *bundle_dir, struct gt_image *img)
{
	memset(img, 0, sizeof(*img));
	static const char *const root_path[] = { "root", "path", NULL };
	static const char *const cwd_path[] = { "process", "cwd", NULL };
	const char *root = gt_spec_string(spec, root_path);
	if (root == NULL || root[0] == '\0') {
		snprintf(img->note, sizeof(img->note), "image not inspected: no root.path");
		return;
	}
	char host[PATH_MAX];
	if (root[0] == '/' || bundle_dir == NULL)
		snprintf(host, sizeof(host), "%s", root);
	else
		snprintf(host, sizeof(host), "%s/%s", bundle_dir, root);
	gt_err_t err = NULL;
	struct gt_rootfs rfs;
	if (gt_rootfs_open(&rfs, host, &err) < 0) {
		snprintf(img->note, sizeof(img->note), "image not inspected: %.160s", gt_err_msg(err));
		gt_err_free(&err);
		return;
	}
	struct gt_entry e = { .arg0 = gt_spec_arg0(spec), .env = spec->env, .n_env = spec->n_env,
			      .cwd = gt_spec_string(spec, cwd_path) };
	char path[PATH_MAX];
	cleanup_close int fd = gt_entry_find(&rfs, &e, path, sizeof(path), &err);
	gt_rootfs_close(&rfs);
	if (fd < 0) {
		snprintf(img->note, sizeof(img->note), "image not inspected: %.160s", gt_err_msg(err));
		gt_err_free(&err);
		return;
	}
	if (gt_goinfo_read_fd(fd, &img->go, &err) < 0) {
		/* Not ELF (a script) or malformed: inspected, and not Go. */
		memset(&img->go, 0, sizeof(img->go));
		snprintf(img->note, sizeof(img->note), "%.100s: %.80s", path, gt_err_msg(err));
		gt_err_free(&err);
	} else {
		snprintf(img->note, sizeof(img->note), "%.190s", path);
	}
	img->inspected = true;
}
