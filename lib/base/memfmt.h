/* GOMEMLIMIT values. Go's runtime accepts only ^[0-9]+(([KMGT]i)?B)?$ and
 * aborts at start on anything else, so gotune writes nothing but that. */
#ifndef GOTUNE_MEMFMT_H
#define GOTUNE_MEMFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GT_PPM 1000000u

/* floor(bytes * ppm / 1e6) without overflow for any bytes < 2^63. */
uint64_t gt_mem_scale(uint64_t bytes, uint32_t ppm);

/* Formats bytes in the largest binary unit that divides it exactly
 * ("180MiB"), else as plain bytes. Returns the length. */
size_t gt_memfmt(uint64_t bytes, char *out, size_t outsz);

/* Parses a value in Go's grammar; false if it would not be accepted. */
bool gt_memparse(const char *s, uint64_t *bytes);

/* Human form for log lines and reasons, e.g. "200MiB" or "1.5GiB". */
void gt_memhuman(uint64_t bytes, char *out, size_t outsz);

#endif
