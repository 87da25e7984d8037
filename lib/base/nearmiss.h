/* "Did you mean ...?": the known name a misspelled one most likely meant,
 * for policy keys and annotation keys. */
#ifndef GOTUNE_NEARMISS_H
#define GOTUNE_NEARMISS_H

#include <stddef.h>

/* Edits between a and b: inserts, deletes, replacements and swaps of two
 * neighbours ("ratoi" is one edit from "ratio"). Names longer than
 * GT_NEAR_MISS_MAX count as far from everything. */
#define GT_NEAR_MISS_MAX 64
unsigned gt_edit_distance(const char *a, const char *b);

/* The candidate (a NULL-terminated list) closest to word when it is close
 * enough to be a typo of it: at most 2 edits, and fewer edits than half of
 * the shorter name, so "gc" does not suggest "gogc". NULL when none is. */
const char *gt_near_miss(const char *word, const char *const *candidates);

#endif
