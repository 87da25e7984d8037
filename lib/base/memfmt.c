#include "memfmt.h"

#include <stdio.h>
#include <string.h>

uint64_t gt_mem_scale(uint64_t bytes, uint32_t ppm)
{
	uint64_t q = bytes / GT_PPM, r = bytes % GT_PPM;
	return q * ppm + r * ppm / GT_PPM;
}

static const struct {
	const char *suffix;
	unsigned shift;
} units[] = { { "TiB", 40 }, { "GiB", 30 }, { "MiB", 20 }, { "KiB", 10 } };

size_t gt_memfmt(uint64_t bytes, char *out, size_t outsz)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t unit = UINT64_C(1) << units[i].shift;
		if (bytes >= unit && bytes % unit == 0)
			return (size_t)snprintf(out, outsz, "%llu%s", (unsigned long long)(bytes >> units[i].shift),
						units[i].suffix);
	}
	return (size_t)snprintf(out, outsz, "%llu", (unsigned long long)bytes);
}

bool gt_memparse(const char *s, uint64_t *bytes)
{
	uint64_t v = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	unsigned shift = 0;
	if (*p != '\0') {
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(p, units[i].suffix) == 0)
				break;
		if (i < sizeof(units) / sizeof(units[0]))
			shift = units[i].shift;
		else if (strcmp(p, "B") != 0)
			return false;
	}
	/* Go rejects values that overflow int64 once scaled. */
	if (shift > 0 && v > (UINT64_C(1) << (63 - shift)) - 1)
		return false;
	v <<= shift;
	if (v > INT64_MAX)
		return false;
	*bytes = v;
	return true;
}

void gt_memhuman(uint64_t bytes, char *out, size_t outsz)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t unit = UINT64_C(1) << units[i].shift;
		if (bytes >= unit) {
			if (bytes % unit == 0)
				snprintf(out, outsz, "%llu%s", (unsigned long long)(bytes / unit), units[i].suffix);
			else
				snprintf(out, outsz, "%.1f%s", (double)bytes / (double)unit, units[i].suffix);
			return;
		}
	}
	snprintf(out, outsz, "%lluB", (unsigned long long)bytes);
}
