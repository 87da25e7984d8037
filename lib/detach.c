#include "detach.h"

#include <fcntl.h>
#include <unistd.h>

void gt_detach(bool (*keep)(int fd, const void *ctx), const void *ctx)
{
	setsid();
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	int maxfd = (int)sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	for (int fd = STDERR_FILENO + 1; fd < maxfd; fd++)
		if (keep == NULL || !keep(fd, ctx))
			close(fd);
}
