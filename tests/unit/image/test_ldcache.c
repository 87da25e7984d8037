/* ld.so.cache: this system's cache, a synthetic one for flag matching and
 * order, and truncated/garbled copies (no crash; run under ASan/UBSan). */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "ldcache.h"
#include "tap.h"

static size_t synth(unsigned char *b)
{
	/* header 48, 3 entries of 24, then strings */
	memset(b, 0, 512);
	memcpy(b, "glibc-ld.so.cache1.1", 20);
	uint32_t n = 3, slen = 100;
	memcpy(b + 20, &n, 4);
	memcpy(b + 24, &slen, 4);
	const char *strs[] = { "libx.so.1", "/lib32/libx.so.1", "/lib64/libx.so.1", "/lib64/libx-second.so.1" };
	uint32_t off[4];
	size_t at = 48 + 3 * 24;
	for (int i = 0; i < 4; i++) {
		off[i] = (uint32_t)at;
		memcpy(b + at, strs[i], strlen(strs[i]) + 1);
		at += strlen(strs[i]) + 1;
	}
	int32_t flags[3] = { 0x0003, 0x0303, 0x0303 };
	uint32_t vals[3] = { off[1], off[2], off[3] };
	for (int i = 0; i < 3; i++) {
		unsigned char *e = b + 48 + i * 24;
		memcpy(e, &flags[i], 4);
		memcpy(e + 4, &off[0], 4);
		memcpy(e + 8, &vals[i], 4);
	}
	return at;
}

int main(void)
{
	struct gt_buf buf = { 0 };
	gt_err_t err = NULL;
	struct gt_ldcache *c = NULL;
	int32_t x86_64 = gt_ldcache_flags_for(64, EM_X86_64);
	is_int(x86_64, 0x0303, "x86-64 flags");

	if (gt_read_file_at(AT_FDCWD, "/etc/ld.so.cache", 16u << 20, &buf, &err) == 0) {
		ok(gt_ldcache_parse((const unsigned char *)buf.data, buf.len, &c, &err) == 0, "system cache parses");
		const char *libc = c != NULL ? gt_ldcache_lookup(c, "libc.so.6", x86_64) : NULL;
		struct stat st;
		ok(libc != NULL && stat(libc, &st) == 0, "libc.so.6 found at an existing path (%s)", libc ? libc : "-");
		ok(c != NULL && gt_ldcache_lookup(c, "libnotthere.so.9", x86_64) == NULL, "unknown soname");
		gt_ldcache_free(c);
		c = NULL;

		int total = 0;
		for (size_t cut = 0; cut < buf.len && cut < 8192; cut += 37, total++) {
			if (gt_ldcache_parse((const unsigned char *)buf.data, cut, &c, &err) == 0)
				gt_ldcache_free(c);
			gt_err_free(&err);
		}
		srand(7);
		unsigned char *copy = malloc(buf.len);
		for (int i = 0; i < 1000; i++, total++) {
			memcpy(copy, buf.data, buf.len);
			for (int k = 0; k < 6; k++)
				copy[(size_t)rand() % (buf.len < 4096 ? buf.len : 4096)] = (unsigned char)rand();
			if (gt_ldcache_parse(copy, buf.len, &c, &err) == 0) {
				gt_ldcache_lookup(c, "libc.so.6", x86_64);
				gt_ldcache_free(c);
			}
			gt_err_free(&err);
		}
		free(copy);
		ok(total > 1000, "%d truncated and garbled caches: no crash", total);
	} else {
		ok(1, "# SKIP no /etc/ld.so.cache here");
		gt_err_free(&err);
	}
	gt_buf_free(&buf);

	unsigned char b[512];
	size_t n = synth(b);
	ok(gt_ldcache_parse(b, n, &c, &err) == 0, "synthetic cache parses");
	is_str(gt_ldcache_lookup(c, "libx.so.1", x86_64), "/lib64/libx.so.1",
	       "the entry for this arch, first in file order");
	is_str(gt_ldcache_lookup(c, "libx.so.1", gt_ldcache_flags_for(32, EM_386)), "/lib32/libx.so.1",
	       "i386 entry for a 32-bit object");
	ok(gt_ldcache_lookup(c, "libx.so.1", gt_ldcache_flags_for(64, EM_AARCH64)) == NULL, "no aarch64 entry");
	gt_ldcache_free(c);
	uint32_t huge = 0x7fffffff;
	memcpy(b + 20, &huge, 4);
	ok(gt_ldcache_parse(b, n, &c, &err) < 0, "entry count past the end refused: %s", gt_err_msg(err));
	gt_err_free(&err);
	ok(gt_ldcache_parse((const unsigned char *)"ld.so-1.7.0", 11, &c, &err) < 0, "old header alone refused");
	gt_err_free(&err);
	return tap_done();
}
