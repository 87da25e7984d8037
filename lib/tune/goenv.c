#include "goenv.h"

#include <stdio.h>
#include <string.h>

/* Go < 1.26: runtime atoi64 (an optional '-', digits, int64 range).
 * Go >= 1.26: strconv.ParseInt(s, 10, bits), which also takes '+'. */
static bool go_atoi(const char *s, size_t n, int minor, int bits, int64_t *out)
{
	if (n == 0)
		return false;
	bool neg = false;
	if (s[0] == '-' || (s[0] == '+' && minor >= 26)) {
		neg = s[0] == '-';
		s++;
		n--;
	}
	if (n == 0)
		return false;
	uint64_t un = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (un > (UINT64_MAX - 9) / 10)
			return false;
		un = un * 10 + (uint64_t)(s[i] - '0');
	}
	uint64_t cutoff = UINT64_C(1) << (bits - 1);
	if ((!neg && un >= cutoff) || (neg && un > cutoff))
		return false;
	*out = neg ? (int64_t)(0 - un) : (int64_t)un;
	return true;
}

#define SAY(why, whysz, ...) \
	do { \
		if ((why) != NULL && (whysz) > 0) \
			snprintf((why), (whysz), __VA_ARGS__); \
	} while (0)

/* parseByteCount: digits with an optional B, KiB, MiB, GiB or TiB. */
static bool byte_count(const char *s, int minor, uint64_t *out)
{
	size_t n = strlen(s);
	if (n == 0)
		return false;
	int64_t v;
	char last = s[n - 1];
	if (last >= '0' && last <= '9') {
		if (!go_atoi(s, n, minor, 64, &v) || v < 0)
			return false;
		*out = (uint64_t)v;
		return true;
	}
	if (last != 'B' || n < 2)
		return false;
	char c = s[n - 2];
	if (c >= '0' && c <= '9') {
		if (!go_atoi(s, n - 1, minor, 64, &v) || v < 0)
			return false;
		*out = (uint64_t)v;
		return true;
	}
	if (c != 'i' || n < 4)
		return false;
	const char *units = "KMGT";
	const char *u = strchr(units, s[n - 3]);
	if (u == NULL)
		return false;
	unsigned shift = 10u * (unsigned)(u - units + 1);
	if (!go_atoi(s, n - 3, minor, 64, &v) || v < 0)
		return false;
	if ((uint64_t)v > (UINT64_C(1) << (63 - shift)) - 1)
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

enum gt_go_verdict gt_go_memlimit(const char *v, int minor, uint64_t *bytes, char *why, size_t whysz)
{
	*bytes = INT64_MAX;
	if (minor >= 0 && minor < 19) {
		SAY(why, whysz, "go1.%d does not read GOMEMLIMIT (new in go1.19)", minor);
		return GT_GO_IGNORED;
	}
	if (v[0] == '\0' || strcmp(v, "off") == 0)
		return GT_GO_USED;
	if (byte_count(v, minor, bytes))
		return GT_GO_USED;
	*bytes = INT64_MAX;
	SAY(why, whysz, "Go aborts at start on GOMEMLIMIT=%.40s (\"malformed GOMEMLIMIT\"; it takes off or "
		  "^[0-9]+(([KMGT]i)?B)?$)", v);
	return GT_GO_ABORTS;
}

enum gt_go_verdict gt_go_maxprocs(const char *v, int minor, char *why, size_t whysz)
{
	int64_t n;
	if (go_atoi(v, strlen(v), minor, 32, &n) && n > 0)
		return GT_GO_USED;
	SAY(why, whysz, "Go ignores GOMAXPROCS=%.40s (not a positive int32) and picks its own", v);
	return GT_GO_IGNORED;
}

enum gt_go_verdict gt_go_gogc(const char *v, int minor, char *why, size_t whysz)
{
	int64_t n;
	if (strcmp(v, "off") == 0 || go_atoi(v, strlen(v), minor, 32, &n))
		return GT_GO_USED;
	SAY(why, whysz, "Go ignores GOGC=%.40s (not off or an int32) and uses 100", v);
	return GT_GO_IGNORED;
}
