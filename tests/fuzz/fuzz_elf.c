/* ELF headers and build IDs, Go build info and ld.so.cache from image bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "buildid.h"
#include "elfread.h"
#include "goinfo.h"
#include "ldcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gt_err_t err = NULL;
	struct gt_elf e;
	struct gt_elf_src s = { .fd = -1, .buf = data, .len = size };
	if (gt_elf_parse(data, size, &e, &err) == 0) {
		char id[GT_BUILD_ID_MAX];
		gt_build_id(&s, &e, id);
		gt_elf_free(&e);
	}
	gt_err_free(&err);
	struct gt_goinfo g;
	gt_goinfo_read(&s, &g, &err);
	gt_err_free(&err);
	struct gt_ldcache *c = NULL;
	if (gt_ldcache_parse(data, size, &c, &err) == 0) {
		gt_ldcache_lookup(c, "libc.so.6", gt_ldcache_flags_for(64, 62));
		gt_ldcache_free(c);
	}
	gt_err_free(&err);
	return 0;
}
