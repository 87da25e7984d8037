/* SHA-256 (FIPS 180-4), to name a policy by its content in the counters
 * file: an operator sees which policy every node runs without shipping it. */
#ifndef GOTUNE_SHA256_H
#define GOTUNE_SHA256_H

#include <stddef.h>

#define GT_SHA256_HEX 65	/* 64 hex digits and the NUL */

void gt_sha256_hex(const void *data, size_t len, char out[GT_SHA256_HEX]);

#endif
