/* gt_log_escape: what every log line goes through; gt_log_time_at: the
 * time on every line, against the C library's gmtime_r. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tap.h"

int main(void)
{
	char out[256];
	gt_log_escape("plain text: /usr/bin/app 50%", out, sizeof(out));
	is_str(out, "plain text: /usr/bin/app 50%", "printable ASCII is left alone");
	gt_log_escape("a\nb\rc\td\\e", out, sizeof(out));
	is_str(out, "a\\nb\\rc\\td\\\\e", "newline, CR, tab and backslash");
	gt_log_escape("\x1b[2J\x07\x01\x7f", out, sizeof(out));
	is_str(out, "\\x1b[2J\\x07\\x01\\x7f", "ESC, BEL, other C0 controls and DEL as \\xNN");
	gt_log_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb9", out, sizeof(out));
	is_str(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb9", "UTF-8 of 2, 3 and 4 bytes stands");
	gt_log_escape("\xc2\x9b" "31m \xc2\x85", out, sizeof(out));
	is_str(out, "\\xc2\\x9b31m \\xc2\\x85", "the C1 controls (CSI, NEL) in UTF-8 are escaped");
	gt_log_escape("\x9b" "31m \xff \xc3(", out, sizeof(out));
	is_str(out, "\\x9b31m \\xff \\xc3(", "bytes that are not UTF-8 (a raw CSI, a cut sequence) are escaped");
	char small[8];
	size_t n = gt_log_escape("abc\ndef", small, sizeof(small));
	is_str(small, "abc\\nde", "cut to the buffer");
	is_int(n, 7, "... and the length says so");
	n = gt_log_escape("abcdef\n", small, sizeof(small));
	is_str(small, "abcdef", "an escape that does not fit is left out whole, never cut in two");
	static const time_t at[] = { 0, 86399, 951782400 /* 2000-02-29 */, 951868800 /* 2000-03-01 */,
				     1709164800 /* 2024-02-29 */, 1796601600, 4107542400 /* 2100-03-01 */,
				     4102444799 /* 2099-12-31T23:59:59 */, 253402300799 /* 9999-12-31 */ };
	bool all = true;
	char want[64], got[64];
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct tm tm;
		gmtime_r(&at[i], &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.042Z", &tm);
		gt_log_time_at(&(struct timespec){ .tv_sec = at[i], .tv_nsec = 42999999 }, got, sizeof(got));
		if (strcmp(want, got) != 0) {
			printf("# %lld: %s, gmtime_r says %s\n", (long long)at[i], got, want);
			all = false;
		}
	}
	/* Every day for 400 years from 1970, at a second before midnight. */
	for (time_t t = 86399; t < (time_t)146097 * 86400 && all; t += 86400) {
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
		gt_log_time_at(&(struct timespec){ .tv_sec = t }, got, sizeof(got));
		if (strcmp(want, got) != 0) {
			printf("# %lld: %s, gmtime_r says %s\n", (long long)t, got, want);
			all = false;
		}
	}
	ok(all, "UTC times as gmtime_r gives them: leap days, centuries, 400 years of days, milliseconds cut");
	gt_log_time_at(&(struct timespec){ .tv_sec = 1796601600 + 3723, .tv_nsec = 5000000 }, got, sizeof(got));
	is_str(got, "2026-12-07T01:02:03.005Z", "the format of every line");
	return tap_done();
}
