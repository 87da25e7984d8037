#include <regex.h>
#include <stdint.h>

#include "memfmt.h"
#include "tap.h"

/* Go's grammar for GOMEMLIMIT; anything else makes a Go program abort. */
static regex_t go_grammar;

static int go_accepts(const char *s)
{
	uint64_t v;
	return regexec(&go_grammar, s, 0, NULL, 0) == 0 && gt_memparse(s, &v);
}

int main(void)
{
	if (regcomp(&go_grammar, "^[0-9]+(([KMGT]i)?B)?$", REG_EXTENDED | REG_NOSUB) != 0)
		return 99;
	char buf[64];

	gt_memfmt(188743680, buf, sizeof(buf));
	is_str(buf, "180MiB", "0.9 x 200MiB");
	gt_memfmt(1024, buf, sizeof(buf));
	is_str(buf, "1KiB", "KiB");
	gt_memfmt(1000, buf, sizeof(buf));
	is_str(buf, "1000", "not a multiple of 1024: plain bytes");
	gt_memfmt(UINT64_C(3) << 40, buf, sizeof(buf));
	is_str(buf, "3TiB", "TiB");
	gt_memfmt(UINT64_C(5) << 50, buf, sizeof(buf));
	is_str(buf, "5120TiB", "beyond TiB stays in TiB");
	gt_memfmt(0, buf, sizeof(buf));
	is_str(buf, "0", "zero");

	is_int(gt_mem_scale(209715200, 900000), 188743680, "floor(200MiB x 0.9)");
	is_int(gt_mem_scale(1000001, 900000), 900000, "floor rounds down");
	is_int(gt_mem_scale((UINT64_C(1) << 62) - 1, 1000000), (UINT64_C(1) << 62) - 1, "ratio 1 is identity near 2^62");
	is_int(gt_mem_scale((UINT64_C(1) << 62) - 1, 999999), 4611681406741369475ULL, "no overflow near 2^62");

	/* Every value we produce must be accepted by Go and mean the same. */
	int bad = 0;
	uint64_t seeds[] = { 1, 7, 1023, 1024, 1025, 4096, 65536, 1u << 20, 3u << 20, (1u << 30) + 1,
			     UINT64_C(1) << 40, (UINT64_C(1) << 62) - 1, UINT64_C(123456789012345) };
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		for (uint32_t ppm = 100000; ppm <= 1000000; ppm += 50000) {
			uint64_t v = gt_mem_scale(seeds[i], ppm), back = 0;
			gt_memfmt(v, buf, sizeof(buf));
			if (!go_accepts(buf) || !gt_memparse(buf, &back) || back != v) {
				if (bad++ < 5)
					printf("# %llu -> \"%s\" -> %llu\n", (unsigned long long)v, buf,
					       (unsigned long long)back);
			}
		}
	}
	is_int(bad, 0, "every formatted value matches Go's grammar and parses back");

	uint64_t v;
	ok(gt_memparse("180MiB", &v) && v == 188743680, "parse MiB");
	ok(gt_memparse("42B", &v) && v == 42, "parse B");
	ok(!gt_memparse("180MB", &v), "MB is not Go's grammar");
	ok(!gt_memparse("1.5GiB", &v), "fractions are not accepted");
	ok(!gt_memparse("-1", &v), "negative");
	ok(!gt_memparse("", &v), "empty");
	ok(!gt_memparse("8388608TiB", &v), "overflows int64 once scaled");
	ok(gt_memparse("8388607TiB", &v), "largest TiB value");
	ok(!gt_memparse("9223372036854775808", &v), "2^63 is out of range");
	return tap_done();
}
