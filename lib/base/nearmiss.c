#include "nearmiss.h"

#include <string.h>

unsigned gt_edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > GT_NEAR_MISS_MAX || m > GT_NEAR_MISS_MAX)
		return (unsigned)-1;
	/* Three rows of the optimal string alignment table. */
	unsigned rows[3][GT_NEAR_MISS_MAX + 1];
	unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= m; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= n; i++) {
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= m; j++) {
			unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
			unsigned best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (prev[j - 1] + cost < best)
				best = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		unsigned *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[m];
}

const char *gt_near_miss(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	unsigned best_d = 3;
	for (const char *const *c = candidates; *c != NULL; c++) {
		unsigned d = gt_edit_distance(word, *c);
		size_t shorter = strlen(word) < strlen(*c) ? strlen(word) : strlen(*c);
		if (d < best_d && 2 * d < shorter) {
			best = *c;
			best_d = d;
		}
	}
	return best;
}
