/* cpuset lists and GOMEMLIMIT values: whatever is formatted must parse
 * back in Go's grammar to the same number. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"
#include "memfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	gt_cpuset_count(text);
	uint64_t v;
	gt_memparse(text, &v);
	if (size >= 12) {
		uint64_t bytes;
		uint32_t ppm;
		memcpy(&bytes, data, 8);
		memcpy(&ppm, data + 8, 4);
		bytes &= (UINT64_C(1) << 62) - 1;
		ppm = ppm % 1000000 + 1;
		char buf[64];
		uint64_t scaled = gt_mem_scale(bytes, ppm), back;
		gt_memfmt(scaled, buf, sizeof(buf));
		if (!gt_memparse(buf, &back) || back != scaled)
			abort();
	}
	free(text);
	return 0;
}
