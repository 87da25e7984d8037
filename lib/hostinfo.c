#include "hostinfo.h"
#include "cpuset.h"
#include "fileio.h"

#include <fcntl.h>
#include <unistd.h>

int gt_host_online_cpus(void)
{
	struct gt_buf b = { 0 };
	gt_err_t err = NULL;
	int n = -1;
	if (gt_read_file_at(AT_FDCWD, "/sys/devices/system/cpu/online", 4096, &b, &err) == 0)
		n = gt_cpuset_count(b.data);
	gt_buf_free(&b);
	gt_err_free(&err);
	if (n <= 0) {
		long s = sysconf(_SC_NPROCESSORS_ONLN);
		n = s > 0 ? (int)s : 1;
	}
	return n;
}
