/* How many pages of a file the kernel has marked PG_readahead: a marked
 * page makes the next access to it read ahead from the next page not
 * cached (mm/readahead.c page_cache_async_ra), at the accessing process's
 * I/O class. For the tests that check gotune leaves no such marks. */
#ifndef GOTUNE_TEST_PAGEMARKS_H
#define GOTUNE_TEST_PAGEMARKS_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Pages of [off, off+len) of fd marked PG_readahead (kpageflags bit 9,
 * KPF_RECLAIM: the same bit), mapped here without readahead of our own
 * (MADV_RANDOM: a fault neither clears the mark nor reads ahead); -1 where
 * the kernel does not say (no root: pagemap hides the frame numbers). */
static inline long marked_pages(int fd, uint64_t off, uint64_t len)
{
	long ps = sysconf(_SC_PAGESIZE), marked = 0;
	char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
	if (m == MAP_FAILED)
		return -1;
	madvise(m, len, MADV_RANDOM);
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	for (uint64_t o = 0; o < len && marked >= 0 && pm >= 0 && kf >= 0; o += (uint64_t)ps) {
		volatile char c = m[o];
		(void)c;
		uint64_t e = 0, flags = 0;
		uint64_t pfn;
		if (pread(pm, &e, 8, (off_t)((uintptr_t)(m + o) / (uintptr_t)ps * 8)) != 8 ||
		    (pfn = e & ((1ull << 55) - 1)) == 0 || pread(kf, &flags, 8, (off_t)(pfn * 8)) != 8)
			marked = -1;
		else
			marked += flags >> 9 & 1;
	}
	if (pm < 0 || kf < 0)
		marked = -1;
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	munmap(m, len);
	return marked;
}

#endif
