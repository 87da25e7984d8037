/* cpuset lists, GOMEMLIMIT values (whatever is formatted must parse back
 * in Go's grammar to the same number; whatever Go is said to take without
 * a sign is what gotune's own grammar takes), cgroup and tmpfs values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgvalue.h"
#include "cpuset.h"
#include "goenv.h"
#include "memfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	gt_cpuset_count(text);
	uint64_t v;
	bool ours = gt_memparse(text, &v);
	char why[256];
	uint64_t go;
	enum gt_go_verdict vd = gt_go_memlimit(text, 19, &go, why, sizeof(why));
	/* Unsigned, a value is Go's exactly when it is gotune's grammar. */
	if (text[0] != '-' && text[0] != '+' && strcmp(text, "off") != 0 && size > 0 &&
	    strlen(text) == size && (vd == GT_GO_USED) != ours)
		abort();
	if (vd == GT_GO_USED && ours && go != v)
		abort();
	gt_go_memlimit(text, 26, &go, why, sizeof(why));
	gt_go_maxprocs(text, -1, why, sizeof(why));
	gt_go_gogc(text, 26, why, sizeof(why));
	bool unl;
	gt_cg_memory(text, &unl, &v);
	struct gt_cpu_max cm;
	gt_cg_cpu_max(text, &cm);
	gt_cg_cpu_weight(text, &v);
	gt_tmpfs_size(text, UINT64_C(1) << 33, &v);
	struct gt_cpumask m;
	if (gt_cpuset_parse(text, &m) != gt_cpuset_count(text))
		abort();
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
