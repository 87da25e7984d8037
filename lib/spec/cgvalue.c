#include "cgvalue.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* simple_strtoull(s, &end, 0) without its silent wrap-around: saturates. */
static const char *k_strtoull(const char *s, uint64_t *out)
{
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2])) {
		base = 16;
		s += 2;
	} else if (s[0] == '0') {
		base = 8;
	}
	uint64_t v = 0;
	bool sat = false;
	const char *p = s;
	for (;; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (d >= base)
			break;
		if (v > (UINT64_MAX - d) / base)
			sat = true;
		else
			v = v * base + d;
	}
	if (p == s)
		return NULL;
	*out = sat ? UINT64_MAX : v;
	return p;
}

static const char *memparse_end(const char *s, uint64_t *bytes)
{
	uint64_t v;
	const char *p = k_strtoull(s, &v);
	if (p == NULL)
		return NULL;
	static const char suffixes[] = "KMGTPE";
	const char *u = *p != '\0' ? strchr(suffixes, toupper((unsigned char)*p)) : NULL;
	if (u != NULL) {
		unsigned shift = 10u * (unsigned)(u - suffixes + 1);
		v = v > (UINT64_MAX >> shift) ? UINT64_MAX : v << shift;
		p++;
	}
	*bytes = v;
	return p;
}

bool gt_kmemparse(const char *s, uint64_t *bytes)
{
	const char *end = memparse_end(s, bytes);
	return end != NULL && *end == '\0';
}

/* strstrip(): the kernel trims whitespace around what was written. */
static void strip(const char *s, char *out, size_t outsz)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

int gt_cg_memory(const char *s, bool *unlimited, uint64_t *bytes)
{
	char v[64];
	if (strlen(s) >= sizeof(v))
		return -1;
	strip(s, v, sizeof(v));
	*unlimited = strcmp(v, "max") == 0;
	*bytes = 0;
	if (*unlimited)
		return 0;
	/* memparse("") is 0 with nothing left over: a limit of zero, which no
	 * engine means; refuse it rather than plan for it. */
	if (v[0] == '\0' || !gt_kmemparse(v, bytes))
		return -1;
	return 0;
}

/* n decimal digits at s (at most 19, so no overflow); false otherwise. */
static bool digits_n(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 19 || strspn(s, "0123456789") < n)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	*out = v;
	return true;
}

int gt_cg_cpu_max(const char *s, struct gt_cpu_max *out)
{
	memset(out, 0, sizeof(*out));
	char v[64];
	if (strlen(s) >= sizeof(v))
		return -1;
	strip(s, v, sizeof(v));
	size_t n1 = strcspn(v, " \t\n");
	const char *second = v + n1 + strspn(v + n1, " \t\n");
	size_t n2 = strcspn(second, " \t\n");
	if (n1 == 0 || second[n2] != '\0')
		return -1;
	if (n1 == 3 && strncmp(v, "max", 3) == 0)
		out->unlimited = true;
	else if (!digits_n(v, n1, &out->quota))
		return -1;
	if (n2 > 0) {
		if (!digits_n(second, n2, &out->period) || out->period == 0)
			return -1;
		out->has_period = true;
	}
	if (!out->unlimited && out->quota == 0)
		return -1;
	return 0;
}

int gt_cg_cpu_weight(const char *s, uint64_t *weight)
{
	char v[32];
	if (strlen(s) >= sizeof(v))
		return -1;
	strip(s, v, sizeof(v));
	if (!digits_n(v, strlen(v), weight) || *weight < 1 || *weight > 10000)
		return -1;
	return 0;
}

uint64_t gt_weight_to_shares(uint64_t weight)
{
	if (weight <= 1)
		return 2;
	if (weight >= 10000)
		return 262144;
	/* weight = 10^((l^2 + 125 l)/612 - 7/34), l = log2(shares): solve the
	 * quadratic for l. */
	double e = log10((double)weight) + 7.0 / 34.0;
	double l = (-125.0 + sqrt(125.0 * 125.0 + 4.0 * 612.0 * e)) / 2.0;
	return (uint64_t)llround(pow(2.0, l));
}

int gt_tmpfs_size(const char *s, uint64_t total_ram, uint64_t *bytes)
{
	uint64_t v;
	const char *end = memparse_end(s, &v);
	if (end == NULL)
		return -1;
	if (*end == '%') {
		/* size <<= PAGE_SHIFT; size *= totalram_pages; size /= 100 */
		if (end[1] != '\0' || total_ram == 0)
			return -1;
		double b = (double)v * (double)total_ram / 100.0;
		*bytes = b >= 1.8e19 ? UINT64_MAX : (uint64_t)b;
		return 0;
	}
	if (*end != '\0')
		return -1;
	*bytes = v;
	return 0;
}
