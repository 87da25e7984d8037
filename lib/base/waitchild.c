#include "waitchild.h"
#include "elapsed.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int reap(pid_t pid, int *status, int flags)
{
	pid_t r;
	while ((r = waitpid(pid, status, flags)) < 0 && errno == EINTR)
		;
	return r < 0 ? -errno : r == 0 ? 0 : 1;
}

int gt_wait_child(pid_t pid, unsigned timeout_ms, int *status)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	*status = 0;
	/* A pidfd becomes readable when the child exits: no polling delay
	 * on the common path (a child done in a few ms). Before Linux 5.3,
	 * WNOHANG every 0.2 ms. */
#ifdef SYS_pidfd_open
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	int pfd = -1;
#endif
	/* After the deadline, SIGKILL and one more second to reap it: a
	 * child stuck in an uninterruptible sleep (a hung filesystem) cannot
	 * be waited for either, and is left. */
	double limit = timeout_ms;
	bool killed = false;
	for (;;) {
		int r = reap(pid, status, WNOHANG);
		if (r != 0) {
			if (pfd >= 0)
				close(pfd);
			return r < 0 ? r : killed ? -ETIMEDOUT : 0;
		}
		double left = limit - gt_elapsed_ms(&t0);
		if (left <= 0 && killed)
			break;
		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
			limit += 1000;
			continue;
		}
		if (pfd >= 0) {
			struct pollfd p = { .fd = pfd, .events = POLLIN };
			if (poll(&p, 1, (int)left + 1) < 0 && errno != EINTR) {
				close(pfd);
				pfd = -1;
			}
		} else {
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
		}
	}
	if (pfd >= 0)
		close(pfd);
	return -ETIMEDOUT;
}
