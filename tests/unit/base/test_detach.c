/* gt_detach: a detached worker keeps exactly stdio (on /dev/null) and the
 * fds it was told to keep, whatever else was open, including a high fd. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "detach.h"
#include "tap.h"

static int kept_fd;

static bool keep_one(int fd, const void *ctx)
{
	(void)ctx;
	return fd == kept_fd;
}

/* In a child: detach, then exit 0 when the open fds are 0, 1, 2 on
 * /dev/null plus the kept one (if any), else a code saying what differs. */
static int child_status(bool with_keep)
{
	pid_t pid = fork();
	if (pid == 0) {
		gt_detach(with_keep ? keep_one : NULL, NULL);
		int open_count = 0;
		for (int fd = 0; fd < 5000; fd++)
			if (fcntl(fd, F_GETFD) >= 0)
				open_count++;
		struct stat st, null;
		if (fstat(STDERR_FILENO, &st) < 0 || stat("/dev/null", &null) < 0 || st.st_rdev != null.st_rdev)
			_exit(10);
		if (getsid(0) != getpid())
			_exit(11);
		if (with_keep && fcntl(kept_fd, F_GETFD) < 0)
			_exit(12);
		_exit(open_count == (with_keep ? 4 : 3) ? 0 : 20 + open_count);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
	struct rlimit rl = { 8192, 8192 };
	setrlimit(RLIMIT_NOFILE, &rl);
	int a = open("/dev/null", O_RDONLY), b = open("/dev/zero", O_RDONLY), p[2];
	if (pipe(p) < 0 || a < 0 || b < 0 || dup2(a, 4000) < 0)
		return 1;
	kept_fd = b;
	is_int(child_status(false), 0, "nothing kept: only stdio on /dev/null stays open (a pipe and fd 4000 closed)");
	is_int(child_status(true), 0, "one fd kept: it stays, every other one is closed");
	return tap_done();
}
