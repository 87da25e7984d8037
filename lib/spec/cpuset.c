#include "cpuset.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	return p;
}

static const char *parse_id(const char *p, unsigned *id)
{
	if (!isdigit((unsigned char)*p))
		return NULL;
	unsigned v = 0;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v >= GT_CPUSET_MAX_CPU)
			return NULL;
	}
	*id = v;
	return p;
}

int gt_cpuset_parse(const char *list, struct gt_cpumask *mask)
{
	/* Ranges may overlap ("0-3,2"); a bitmap counts each CPU once. */
	memset(mask, 0, sizeof(*mask));
	const char *p = skip_space(list);
	if (*p == '\0')
		return 0;
	int count = 0;
	for (;;) {
		unsigned lo, hi;
		p = parse_id(skip_space(p), &lo);
		if (p == NULL)
			return -1;
		hi = lo;
		if (*p == '-') {
			p = parse_id(p + 1, &hi);
			if (p == NULL || hi < lo)
				return -1;
		}
		for (unsigned c = lo; c <= hi; c++) {
			uint64_t bit = UINT64_C(1) << (c % 64);
			if (!(mask->w[c / 64] & bit)) {
				mask->w[c / 64] |= bit;
				count++;
			}
		}
		p = skip_space(p);
		if (*p == '\0')
			return count;
		if (*p != ',')
			return -1;
		p++;
	}
}

int gt_cpuset_count(const char *list)
{
	struct gt_cpumask m;
	return gt_cpuset_parse(list, &m);
}

int gt_cpumask_count(const struct gt_cpumask *m)
{
	int n = 0;
	for (size_t i = 0; i < GT_CPUMASK_WORDS; i++)
		n += __builtin_popcountll(m->w[i]);
	return n;
}

int gt_cpumask_count_and(const struct gt_cpumask *a, const struct gt_cpumask *b)
{
	int n = 0;
	for (size_t i = 0; i < GT_CPUMASK_WORDS; i++)
		n += __builtin_popcountll(a->w[i] & b->w[i]);
	return n;
}
