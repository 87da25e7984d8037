/* SHA-256 against FIPS 180-4's examples and the NIST long message. */
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "tap.h"

int main(void)
{
	char hex[65];
	gt_sha256_of("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty input");
	gt_sha256_of("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "\"abc\"");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	gt_sha256_of(two, strlen(two), hex);
	is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", "448 bits: two blocks");
	struct gt_sha256 s;
	gt_sha256_init(&s);
	char a[1001];
	memset(a, 'a', sizeof(a));
	for (int i = 0; i < 1000; i++)
		gt_sha256_update(&s, a, i % 2 ? 999 : 1001); /* uneven pieces: the buffering */
	gt_sha256_hex(&s, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million 'a' in uneven pieces");
	for (size_t n = 54; n <= 66; n++) { /* around the padding's one-or-two-block edge */
		char one[65], split[65];
		gt_sha256_of(a, n, one);
		gt_sha256_init(&s);
		gt_sha256_update(&s, a, n / 3);
		gt_sha256_update(&s, a, n - n / 3);
		gt_sha256_hex(&s, split);
		if (!ok(strcmp(one, split) == 0, "%zu bytes: whole and in two pieces agree", n))
			break;
	}
	gt_sha256_of(a, 55, hex);
	is_str(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318", "55 bytes (one block)");
	gt_sha256_of(a, 56, hex);
	is_str(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a", "56 bytes (two blocks)");
	return tap_done();
}
