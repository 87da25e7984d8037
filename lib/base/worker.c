#include "worker.h"
#include "fileio.h"
#include "statedir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int gt_slot_take(const char *dir, const char *kind, unsigned max, gt_err_t *err)
{
	char path[4200];
	if (max == 0) {
		gt_error(err, 0, "no %s may run (limit 0)", kind);
		return -2;
	}
	/* dir first: gt_mkdir_p makes missing parents 0755, and the state
	 * directory is root's alone. */
	snprintf(path, sizeof(path), "%s/" GT_SLOTS_DIR, dir);
	if (gt_mkdir_p(dir, 0700, err) < 0 || gt_mkdir_p(path, 0700, err) < 0)
		return -1;
	for (unsigned i = 0; i < max; i++) {
		snprintf(path, sizeof(path), "%s/" GT_SLOTS_DIR "/%s.%u", dir, kind, i);
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
		if (fd < 0)
			return gt_error(err, errno, "slot %s", path);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		int e = errno;
		close(fd);
		if (e != EWOULDBLOCK)
			return gt_error(err, e, "lock %s", path);
	}
	gt_error(err, 0, "%u %s%s already running on this node", max, kind, max == 1 ? "" : "s");
	return -2;
}

int gt_worker_begin(const char *kind, unsigned max, int *slot_fd, char *why, size_t whysz)
{
	why[0] = '\0';
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1000", 4);
		close(fd);
	}
	gt_err_t err = NULL;
	*slot_fd = gt_slot_take(GT_STATE_DIR, kind, max, &err);
	if (*slot_fd < 0) {
		bool busy = *slot_fd == -2;
		*slot_fd = -1;
		snprintf(why, whysz, "%s%s", busy ? "skipped: " : "the limit of workers.max_* is not kept: ",
			 gt_err_msg(err));
		gt_err_free(&err);
		return busy ? -1 : 0;
	}
	return 0;
}

void gt_worker_bound(unsigned cpu_s, unsigned wall_s)
{
	struct rlimit lim = { cpu_s, cpu_s + 1 };
	setrlimit(RLIMIT_CPU, &lim);
	alarm(wall_s);
}
