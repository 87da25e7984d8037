/* ELF headers and build IDs, Go build info and ld.so.cache from image bytes.
 * The same bytes are also read as a file (a memfd), through the block cache
 * the hooks use: both readings must agree, or the cache served wrong bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buildid.h"
#include "elfread.h"
#include "goinfo.h"
#include "ldcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int as_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	if (fd < 0)
		fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) < 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	return fd;
}

static void same_elf(const struct gt_elf *a, const struct gt_elf *b)
{
	if ((a->interp == NULL) != (b->interp == NULL) || (a->interp != NULL && strcmp(a->interp, b->interp) != 0) ||
	    a->n_needed != b->n_needed || a->n_loads != b->n_loads)
		abort();
	for (size_t i = 0; i < a->n_needed; i++)
		if (strcmp(a->needed[i], b->needed[i]) != 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gt_err_t err = NULL;
	struct gt_elf e, ef;
	struct gt_elf_src s = { .fd = -1, .buf = data, .len = size };
	int fd = as_file(data, size);
	int rm = gt_elf_parse(data, size, &e, &err);
	gt_err_free(&err);
	int rf = gt_elf_read_fd(fd, &ef, &err);
	gt_err_free(&err);
	if (rm != rf)
		abort();
	if (rm == 0) {
		same_elf(&e, &ef);
		/* The build ID's headers-only read sees the same segments. */
		struct gt_elf eh;
		if (gt_elf_read_headers(&s, &eh, &err) < 0 || eh.n_loads != e.n_loads || eh.n_notes != e.n_notes ||
		    memcmp(eh.notes, e.notes, sizeof(e.notes)) != 0)
			abort();
		gt_elf_free(&eh);
		char id[GT_BUILD_ID_MAX] = "", idf[GT_BUILD_ID_MAX] = "";
		int bm = gt_build_id(&s, &e, id), bf = gt_build_id_fd(fd, idf);
		if (bm != bf || strcmp(id, idf) != 0)
			abort();
		gt_elf_free(&e);
		gt_elf_free(&ef);
	}
	struct gt_goinfo g, gf;
	int gm = gt_goinfo_read(&s, &g, &err);
	gt_err_free(&err);
	int gfr = gt_goinfo_read_fd(fd, &gf, &err);
	gt_err_free(&err);
	if (gm != gfr || (gm == 0 && (g.is_go != gf.is_go || strcmp(g.version, gf.version) != 0 ||
				       strcmp(g.path, gf.path) != 0)))
		abort();
	struct gt_ldcache *c = NULL;
	if (gt_ldcache_parse(data, size, &c, &err) == 0) {
		gt_ldcache_lookup(c, "libc.so.6", gt_ldcache_flags_for(64, 62));
		gt_ldcache_free(c);
	}
	gt_err_free(&err);
	return 0;
}
