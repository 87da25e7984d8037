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
	char version[64];	/* "go1.19.8" */
	int major, minor, patch;	/* 1, 19, 8; -1 when the version is not a release */
	char path[256];		/* main package path */
	char mod[256];		/* main module path */
	char default_godebug[512];
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
