#include "status.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#define STATUS_MAX 8192

static void reason(const struct gt_nri_plugin *pl, char *out, size_t outsz)
{
	const struct gt_nri_watch *w = &pl->watch;
	out[0] = '\0';
	if (pl->waiting)
		snprintf(out, outsz, "not registering with the runtime until the policy is fixed: %.560s", w->error);
	else if (!pl->registered)
		snprintf(out, outsz, "not registered with the runtime");
	else if (!pl->from_runtime && w->path != NULL && !w->ok)
		snprintf(out, outsz, "the policy file is invalid now (%.500s); the last good policy stays in force",
			 w->error);
}

void gt_nri_status_write(const struct gt_nri_plugin *pl)
{
	static bool said;
	if (pl->status_file == NULL || pl->status_file[0] == '\0')
		return;
	char why[700], ts[64];
	reason(pl, why, sizeof(why));
	gt_log_time(ts, sizeof(ts));
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g == NULL)
		return;
	yajl_gen_map_open(g);
	gt_gen_str(g, "pid");
	yajl_gen_integer(g, getpid());
	gt_gen_str(g, "ready");
	yajl_gen_bool(g, why[0] == '\0');
	gt_gen_str(g, "registered");
	yajl_gen_bool(g, pl->registered);
	gt_gen_kv(g, "policy", pl->policy.source);
	gt_gen_kv(g, "policy_sha256", pl->policy.sha256);
	gt_gen_str(g, "policy_ok");
	yajl_gen_bool(g, pl->watch.path == NULL || pl->watch.ok);
	gt_gen_kv(g, "reason", why);
	gt_gen_kv(g, "time", ts);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	gt_err_t err = NULL;
	char dir_buf[PATH_MAX], base_buf[PATH_MAX];
	snprintf(dir_buf, sizeof(dir_buf), "%s", pl->status_file);
	snprintf(base_buf, sizeof(base_buf), "%s", pl->status_file);
	const char *dir = dirname(dir_buf), *base = basename(base_buf);
	int fd = -1;
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok && gt_mkdir_p(dir, 0755, &err) == 0) {
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			gt_error(&err, errno, "open %s", dir);
		else if (faccessat(fd, base, F_OK, AT_SYMLINK_NOFOLLOW) < 0) {
			/* A probe may run as another user: readable by all. */
			int nf = openat(fd, base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
			if (nf >= 0)
				close(nf);
		}
		if (fd >= 0)
			gt_replace_at(fd, base, (const char *)buf, len, false, &err);
	}
	if (fd >= 0)
		close(fd);
	if (err != NULL && !said) {
		gt_log(LOG_WARNING, "nri: status file %s: %s", pl->status_file, gt_err_msg(err));
		said = true;
	}
	gt_err_free(&err);
	yajl_gen_free(g);
}

void gt_nri_status_clear(const struct gt_nri_plugin *pl)
{
	if (pl->status_file != NULL && pl->status_file[0] != '\0')
		(void)unlink(pl->status_file);
}

static void copy_str(yajl_val tree, const char *key, char *out, size_t outsz)
{
	yajl_val v = NULL;
	out[0] = '\0';
	if (gt_json_get(tree, key, &v) == 1 && YAJL_IS_STRING(v))
		snprintf(out, outsz, "%s", YAJL_GET_STRING(v));
}

static bool get_bool(yajl_val tree, const char *key)
{
	yajl_val v = NULL;
	return gt_json_get(tree, key, &v) == 1 && YAJL_IS_TRUE(v);
}

int gt_nri_status_read(int dirfd, const char *path, struct gt_nri_status *st, gt_err_t *err)
{
	memset(st, 0, sizeof(*st));
	cleanup_buf struct gt_buf buf = { 0 };
	if (gt_read_file_at(dirfd, path, STATUS_MAX, &buf, err) < 0)
		return -1;
	cleanup_yajl yajl_val tree = NULL;
	if (gt_json_parse(buf.data, buf.len, path, &tree, err) < 0)
		return -1;
	yajl_val pid = NULL;
	int64_t p = 0;
	if (gt_json_get(tree, "pid", &pid) != 1 || gt_json_int64(pid, &p) < 0 || p <= 0 || p > 1 << 22)
		return gt_error(err, 0, "%s: no pid", path);
	st->pid = (pid_t)p;
	st->ready = get_bool(tree, "ready");
	st->registered = get_bool(tree, "registered");
	st->policy_ok = get_bool(tree, "policy_ok");
	copy_str(tree, "policy", st->policy, sizeof(st->policy));
	copy_str(tree, "policy_sha256", st->policy_sha256, sizeof(st->policy_sha256));
	copy_str(tree, "reason", st->reason, sizeof(st->reason));
	copy_str(tree, "time", st->time, sizeof(st->time));
	return 0;
}
