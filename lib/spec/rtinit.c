#include "rtinit.h"
#include "cleanup.h"
#include "elapsed.h"
#include "fileio.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

/* crun's status is a few hundred bytes; a larger one is not crun's. */
#define CRUN_STATUS_MAX (64u << 10)

static int crun_pid(const char *root, const char *id, pid_t *pid, gt_err_t *err)
{
	char path[4200];
	if (snprintf(path, sizeof(path), "%s/%s/status", root, id) >= (int)sizeof(path))
		return gt_error(err, ENAMETOOLONG, "crun status of %.60s", id);
	cleanup_buf struct gt_buf b = { 0 };
	gt_err_t miss = NULL;
	if (gt_read_file_at(AT_FDCWD, path, CRUN_STATUS_MAX, &b, &miss) < 0) {
		bool none = miss != NULL && miss->errno_ == ENOENT;
		if (none) {
			gt_err_free(&miss);
			return 0;
		}
		*err = miss;
		return -1;
	}
	yajl_val tree = NULL, v = NULL;
	if (gt_json_parse(b.data, b.len, "crun status", &tree, err) < 0)
		return -1;
	int64_t n = 0;
	int r = gt_json_get(tree, "pid", &v) == 1 && gt_json_int64(v, &n) == 0 && n > 0 && n <= INT_MAX ? 1 : -1;
	yajl_tree_free(tree);
	if (r < 0)
		return gt_error(err, 0, "crun status of %.60s: no pid", id);
	*pid = (pid_t)n;
	return 1;
}

int gt_rt_init_pid(enum gt_rt_kind kind, const char *root, const char *id, pid_t *pid, gt_err_t *err)
{
	if (!gt_rt_id_ok(id))
		return gt_error(err, EINVAL, "container id %.60s", id);
	if (kind == GT_RT_CRUN)
		return crun_pid(root, id, pid, err);
	if (kind != GT_RT_RUNC)
		return gt_error(err, 0, "no state layout known for this runtime");
	struct gt_runc_state st;
	gt_err_t miss = NULL;
	if (gt_runc_state_read(root, id, &st, &miss) < 0) {
		if (miss != NULL && miss->errno_ == ENOENT) {
			gt_err_free(&miss);
			return 0;
		}
		*err = miss;
		return -1;
	}
	if (st.init_pid <= 0 || st.init_pid > INT_MAX)
		return gt_error(err, 0, "runc state of %.60s: no init_process_pid", id);
	*pid = (pid_t)st.init_pid;
	return 1;
}

/* Looks every POLL_MS whatever inotify says: a watch added after the file
 * appeared, or a root made after the first look, costs at most that. */
#define POLL_MS 4

int gt_rt_wait_init(enum gt_rt_kind kind, const char *root, const char *id, unsigned max_ms, pid_t *pid,
		    double *waited_ms, gt_err_t *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char dir[4200];
	if (snprintf(dir, sizeof(dir), "%s/%s", root, id) >= (int)sizeof(dir))
		return gt_error(err, ENAMETOOLONG, "state of %.60s", id);
	cleanup_close int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	bool on_root = false, on_dir = false;
	for (;;) {
		/* The directory first: once it is watched, its rename of the
		 * state into place wakes us. */
		if (in >= 0 && !on_dir)
			on_dir = inotify_add_watch(in, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE) >= 0;
		if (in >= 0 && !on_dir && !on_root)
			on_root = inotify_add_watch(in, root, IN_CREATE | IN_MOVED_TO) >= 0;
		int r = gt_rt_init_pid(kind, root, id, pid, err);
		*waited_ms = gt_elapsed_ms(&t0);
		if (r != 0)
			return r;
		if (*waited_ms >= max_ms)
			return gt_error(err, 0, "no state of container %.60s under %.200s after %u ms", id, root,
					max_ms);
		struct pollfd p = { .fd = in, .events = POLLIN };
		if (in < 0 || poll(&p, 1, POLL_MS) > 0) {
			if (in < 0)
				nanosleep(&(struct timespec){ .tv_nsec = POLL_MS * 1000000L }, NULL);
			char buf[4096];
			while (in >= 0 && read(in, buf, sizeof(buf)) > 0)
				;
		}
	}
}
