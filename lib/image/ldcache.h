/* The image's own /etc/ld.so.cache (glibc "glibc-ld.so.cache1.1" format,
 * alone or after the old "ld.so-1.7.0" table), parsed defensively: it comes
 * from the image. */
#ifndef GOTUNE_LDCACHE_H
#define GOTUNE_LDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define GT_LDCACHE_MAX_ENTRIES 65536u

struct gt_ldcache;

int gt_ldcache_parse(const unsigned char *buf, size_t len, struct gt_ldcache **out, gt_err_t *err);
void gt_ldcache_free(struct gt_ldcache *c);

/* Path of soname among entries made for this kind of object, first match
 * in file order (as ld.so), or NULL. */
const char *gt_ldcache_lookup(const struct gt_ldcache *c, const char *soname, int32_t want_flags);

/* The flags ldconfig gives libraries of an ELF class and machine. */
int32_t gt_ldcache_flags_for(int bits, uint16_t machine);

size_t gt_ldcache_count(const struct gt_ldcache *c);

#endif
