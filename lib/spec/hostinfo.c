#include "hostinfo.h"
#include "fileio.h"

#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static int online_mask(struct gt_cpumask *m)
{
	struct gt_buf b = { 0 };
	gt_err_t err = NULL;
	int n = -1;
	if (gt_read_file_at(AT_FDCWD, "/sys/devices/system/cpu/online", 4096, &b, &err) == 0)
		n = gt_cpuset_parse(b.data, m);
	gt_buf_free(&b);
	gt_err_free(&err);
	return n;
}

int gt_host_online_cpus(void)
{
	struct gt_cpumask m;
	int n = online_mask(&m);
	if (n <= 0) {
		long s = sysconf(_SC_NPROCESSORS_ONLN);
		n = s > 0 ? (int)s : 1;
	}
	return n;
}

void gt_host_fixed(struct gt_host *h, int cpus)
{
	memset(h, 0, sizeof(*h));
	h->online = cpus > 0 ? cpus : 1;
	for (int c = 0; c < h->online && c < GT_CPUSET_MAX_CPU; c++)
		h->online_mask.w[c / 64] |= UINT64_C(1) << (c % 64);
}

void gt_host_init(struct gt_host *h)
{
	struct gt_cpumask m;
	int n = online_mask(&m);
	if (n > 0) {
		memset(h, 0, sizeof(*h));
		h->online = n;
		h->online_mask = m;
	} else {
		gt_host_fixed(h, gt_host_online_cpus());
	}
	/* The kernel's mask may be larger than cpu_set_t: ask with room for
	 * every CPU this program knows of. */
	cpu_set_t *set = CPU_ALLOC(GT_CPUSET_MAX_CPU);
	size_t sz = CPU_ALLOC_SIZE(GT_CPUSET_MAX_CPU);
	if (set != NULL && sched_getaffinity(0, sz, set) == 0) {
		struct gt_cpumask a;
		memset(&a, 0, sizeof(a));
		/* glibc keeps CPU n as bit n % 64 of 64-bit word n / 64 on
		 * LP64: the words copy over as they are. */
		if (sizeof(unsigned long) == sizeof(uint64_t) && sz >= sizeof(a.w))
			memcpy(a.w, set, sizeof(a.w));
		else
			for (int c = 0; c < GT_CPUSET_MAX_CPU; c++)
				if (CPU_ISSET_S(c, sz, set))
					a.w[c / 64] |= UINT64_C(1) << (c % 64);
		h->affinity = gt_cpumask_count_and(&a, &h->online_mask);
	}
	CPU_FREE(set);
	struct sysinfo si;
	if (sysinfo(&si) == 0)
		h->total_ram = (uint64_t)si.totalram * si.mem_unit;
	h->probe = true;
}
