/* SHA-256 (FIPS 180-4): what names a working-set profile, so that no
 * tenant can make another's entrypoint share its profile (a build ID is
 * a note anyone can copy; a 64-bit FNV hash can be collided at will), and
 * a policy by its content in the counters file (an operator sees which
 * policy every node runs without shipping it). */
#ifndef GOTUNE_SHA256_H
#define GOTUNE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define GT_SHA256_HEX 65	/* 64 hex digits and the NUL */

struct gt_sha256 {
	uint32_t h[8];
	uint64_t bytes;
	unsigned char block[64];
	size_t fill;
};

void gt_sha256_init(struct gt_sha256 *s);
void gt_sha256_update(struct gt_sha256 *s, const void *data, size_t len);
/* The digest as 64 lowercase hex digits and a NUL. */
void gt_sha256_hex(struct gt_sha256 *s, char out[65]);
/* All at once. */
void gt_sha256_of(const void *data, size_t len, char out[65]);

#endif
