/* Which Go built a binary, from its .go.buildinfo: the version string and
 * the module info with its build settings. The binary comes from an image,
 * so every pointer and length is checked and nothing large is allocated. */
#ifndef GOTUNE_GOINFO_H
#define GOTUNE_GOINFO_H

#include <stdbool.h>
#include <stddef.h>

#include "elfread.h"
#include "err.h"

struct gt_goinfo {
	bool is_go;
	char version[128];	/* "go1.19.8", "go1.26.8-X:nogreenteagc,jsonv2" */
	/* 1, 19, 8; -1 when no version can be read. A pre-release counts as its
	 * minor with patch 0 ("go1.26rc1": 1, 26, 0); a suffix after the numbers
	 * (an experiment, a vendor build) is ignored. A development build
	 * ("devel go1.27-abcdef ...", the form since go1.21) counts as the
	 * release it leads to, patch 0, with devel set: its DefaultGODEBUG is
	 * computed against that version as a release's is. One without a
	 * version ("devel +abcdef ...", older) stays -1. */
	int major, minor, patch;
	bool devel;
	char path[256];		/* main package path */
	char mod[256];		/* main module path */
	/* Go 1.26 with go.mod "go 1.19" writes about 520 bytes, and the list
	 * grows with every release. */
	char default_godebug[2048];
	bool default_godebug_cut;	/* longer than the buffer: whole items dropped from the end */
	char cgo_enabled[8];
	char goos[32], goarch[32];
};

/* 0 with is_go true, 0 with is_go false (ELF without build info: a C
 * program, a shell), or -1 when the file is not ELF or is malformed. */
int gt_goinfo_read(const struct gt_elf_src *src, struct gt_goinfo *out, gt_err_t *err);

/* Convenience over a regular file's fd. */
int gt_goinfo_read_fd(int fd, struct gt_goinfo *out, gt_err_t *err);

/* Compares the parsed version with major.minor; false for non-releases. */
bool gt_goinfo_at_least(const struct gt_goinfo *g, int major, int minor);

/* The value of key in a GODEBUG-style list "a=1,b=2" (last one wins, as in
 * Go), copied to out; false when absent. */
bool gt_godebug_value(const char *list, const char *key, char *out, size_t outsz);

#endif
