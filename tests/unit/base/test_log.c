/* gt_log_escape: what every log line goes through. */
#include <string.h>

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
	return tap_done();
}
