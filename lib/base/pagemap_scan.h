/* PAGEMAP_SCAN (Linux 6.7): runs of pages with given properties from a
 * /proc/PID/pagemap fd. Not in linux-libc-dev 6.1 (Debian 12's headers):
 * then the uapi's layout, include/uapi/linux/fs.h, which is ABI. */
#ifndef GOTUNE_PAGEMAP_SCAN_H
#define GOTUNE_PAGEMAP_SCAN_H

#include <linux/fs.h>
#include <stdint.h>
#include <sys/ioctl.h>

#ifndef PAGEMAP_SCAN
#define PAGE_IS_PRESENT (1 << 3)
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
		category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#endif
