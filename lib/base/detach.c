#include "detach.h"
#include "log.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_SCAN 4096

/* The open fds above stderr, from /proc/self/fd; -1 without /proc. */
static int open_fds(int *out, int max)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	int self = dirfd(d), n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < max) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end == '\0' && end != de->d_name && fd > STDERR_FILENO && fd != self)
			out[n++] = (int)fd;
	}
	closedir(d);
	return n;
}

void gt_detach(bool (*keep)(int fd, const void *ctx), const void *ctx)
{
	gt_log_release();
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	/* Closing every number up to RLIMIT_NOFILE one by one cost 30 ms at a
	 * limit of 20 000, and engines often run with 1 048 576: close what
	 * is open, in one call when nothing is kept. */
	if (keep == NULL && close_range(STDERR_FILENO + 1, ~0U, 0) == 0)
		return;
	static int fds[MAX_SCAN];
	int n = open_fds(fds, MAX_SCAN);
	for (int i = 0; i < n; i++)
		if (keep == NULL || !keep(fds[i], ctx))
			close(fds[i]);
	if (n >= 0 && n < MAX_SCAN)
		return;
	/* No /proc, or more fds than scanned: every number, bounded. */
	int maxfd = (int)sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	for (int fd = STDERR_FILENO + 1; fd < maxfd; fd++)
		if (keep == NULL || !keep(fd, ctx))
			close(fd);
}
