/* The OCI container state a runtime hands its hooks on stdin. */
#ifndef GOTUNE_STATE_H
#define GOTUNE_STATE_H

#include <stddef.h>

#include "err.h"

#define GT_STATE_MAX_BYTES (1u << 20)
/* A container id or name as every entry point logs it: one size, so the
 * wrapper's, prestart's and the NRI plugin's lines for one container carry
 * the same id (Kubernetes names run to 253 bytes). */
#define GT_ID_MAX 256

struct gt_state {
	char id[GT_ID_MAX];
	char bundle[4096];
	char status[32];
	long pid;
};

int gt_state_parse(const char *text, size_t len, struct gt_state *st, gt_err_t *err);

#endif
