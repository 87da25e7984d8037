/* The OCI container state a runtime hands its hooks on stdin. */
#ifndef GOTUNE_STATE_H
#define GOTUNE_STATE_H

#include <stddef.h>

#include "err.h"

#define GT_STATE_MAX_BYTES (1u << 20)

struct gt_state {
	char id[256];
	char bundle[4096];
	char status[32];
	long pid;
};

int gt_state_parse(const char *text, size_t len, struct gt_state *st, gt_err_t *err);

#endif
