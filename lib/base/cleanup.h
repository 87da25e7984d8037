/* Scope-bound release of resources, so every early error return frees what
 * the function held without a goto ladder. */
#ifndef GOTUNE_CLEANUP_H
#define GOTUNE_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

static inline void gt_free_p(void *p) { free(*(void **)p); }
static inline void gt_close_p(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define cleanup_free __attribute__((cleanup(gt_free_p)))
#define cleanup_close __attribute__((cleanup(gt_close_p)))

#endif
