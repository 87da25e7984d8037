/* How the page-cache engine reads: its modes and budgets, types the
 * policy's settings hold and the engine takes. */
#ifndef GOTUNE_PWMODE_H
#define GOTUNE_PWMODE_H

#include <stdint.h>

enum gt_pw_mode {
	GT_PW_OFF,
	GT_PW_WILLNEED,		/* queue readahead and return */
	GT_PW_POPULATE,		/* read synchronously (MADV_POPULATE_READ) */
	GT_PW_BACKGROUND,	/* a detached child populates; we return at once */
	GT_PW_DETACHED,		/* no policy's mode: willneed as a worker the runtime does
				 * not wait for does it, free to block (see warm_all);
				 * named "willneed" */
};

int gt_pw_mode_parse(const char *s, enum gt_pw_mode *mode);
const char *gt_pw_mode_name(enum gt_pw_mode mode);

struct gt_pw_budget {
	uint64_t max_bytes;	/* over all files */
	uint64_t max_file_bytes;
	unsigned max_files;
	unsigned max_ms;	/* wall time for the synchronous modes */
};

#define GT_PW_DEFAULT_BUDGET ((struct gt_pw_budget){ 256u << 20, 64u << 20, 256, 2000 })

#endif
