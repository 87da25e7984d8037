/* An ELF file's build ID: the GNU build-id note (NT_GNU_BUILD_ID) or Go's
 * (NT_GO_BUILDID), which name a binary's content across copies, layers and
 * rebuilt images whose mtimes differ. */
#ifndef GOTUNE_BUILDID_H
#define GOTUNE_BUILDID_H

#include <stddef.h>

#include "elfread.h"

/* "gnu:" or "go:" + hex of up to 128 bytes of the ID. */
#define GT_BUILD_ID_MAX 264

/* 1 and the ID in out, 0 when the file has none (or is not ELF). Reads
 * only the note segments, each bounded; never fails otherwise. */
int gt_build_id(const struct gt_elf_src *s, const struct gt_elf *e, char out[GT_BUILD_ID_MAX]);
int gt_build_id_fd(int fd, char out[GT_BUILD_ID_MAX]);

#endif
