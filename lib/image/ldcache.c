#include "ldcache.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OLD_MAGIC "ld.so-1.7.0"
#define NEW_MAGIC "glibc-ld.so.cache"
#define NEW_VERSION "1.1"
#define NEW_HEADER 48u	/* magic 17, version 3, nlibs, len_strings, flags+pad, ext offset, unused[3] */
#define NEW_ENTRY 24u	/* flags, key, value, osversion, hwcap (u64) */
#define OLD_HEADER 16u	/* magic 11 + pad to 12, nlibs */
#define OLD_ENTRY 12u

#define FLAG_TYPE_MASK 0x00ff
#define FLAG_ELF_LIBC6 0x0003
#define FLAG_ARCH_MASK 0xff00

struct entry {
	int32_t flags;
	char *key, *value;
};

struct gt_ldcache {
	size_t n;
	struct entry *e;
};

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4); /* the cache is in host byte order */
	return v;
}

int32_t gt_ldcache_flags_for(int bits, uint16_t machine)
{
	int32_t arch = 0;
	switch (machine) {
	case EM_X86_64: arch = bits == 64 ? 0x0300 : 0x0800; break;
	case EM_AARCH64: arch = 0x0a00; break;
	case EM_PPC64: arch = 0x0500; break;
	case EM_S390: arch = bits == 64 ? 0x0400 : 0; break;
	case EM_ARM: arch = 0x0900; break;
	case EM_RISCV: arch = 0x1000; break;
	case EM_MIPS: arch = bits == 64 ? 0x0700 : 0; break;
	default: arch = 0; break;
	}
	return FLAG_ELF_LIBC6 | arch;
}

/* A string at off that ends with a NUL inside the buffer. */
static char *str_at(const unsigned char *buf, size_t len, uint64_t off)
{
	if (off >= len)
		return NULL;
	const unsigned char *nul = memchr(buf + off, '\0', len - off > 4096 ? 4096 : len - off);
	return nul != NULL ? strdup((const char *)buf + off) : NULL;
}

void gt_ldcache_free(struct gt_ldcache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->e[i].key);
		free(c->e[i].value);
	}
	free(c->e);
	free(c);
}

size_t gt_ldcache_count(const struct gt_ldcache *c)
{
	return c->n;
}

int gt_ldcache_parse(const unsigned char *buf, size_t len, struct gt_ldcache **out, gt_err_t *err)
{
	*out = NULL;
	size_t start = 0;
	/* The old format's table comes first when both are present; skip it. */
	if (len >= OLD_HEADER && memcmp(buf, OLD_MAGIC, sizeof(OLD_MAGIC) - 1) == 0) {
		uint64_t n = rd32(buf + 12);
		uint64_t end = OLD_HEADER + n * OLD_ENTRY;
		start = (size_t)((end + 7) & ~UINT64_C(7));
		if (n > GT_LDCACHE_MAX_ENTRIES || start > len)
			return gt_error(err, 0, "ld.so.cache: old table runs past the end");
	}
	if (len - start < NEW_HEADER || memcmp(buf + start, NEW_MAGIC, sizeof(NEW_MAGIC) - 1) != 0 ||
	    memcmp(buf + start + 17, NEW_VERSION, 3) != 0)
		return gt_error(err, 0, "ld.so.cache: not in the glibc-ld.so.cache1.1 format");
	uint64_t nlibs = rd32(buf + start + 20);
	if (nlibs > GT_LDCACHE_MAX_ENTRIES || NEW_HEADER + nlibs * NEW_ENTRY > len - start)
		return gt_error(err, 0, "ld.so.cache: %llu entries do not fit in %zu bytes", (unsigned long long)nlibs,
				len);
	struct gt_ldcache *c = calloc(1, sizeof(*c));
	if (c == NULL || (nlibs > 0 && (c->e = calloc((size_t)nlibs, sizeof(*c->e))) == NULL)) {
		free(c);
		return gt_error(err, ENOMEM, "ld.so.cache");
	}
	/* String offsets are relative to the new header; an entry whose
	 * strings do not resolve is skipped, not trusted. */
	const unsigned char *base = buf + start;
	size_t blen = len - start;
	for (uint64_t i = 0; i < nlibs; i++) {
		const unsigned char *p = base + NEW_HEADER + i * NEW_ENTRY;
		char *k = str_at(base, blen, rd32(p + 4)), *v = str_at(base, blen, rd32(p + 8));
		if (k == NULL || v == NULL || v[0] != '/') {
			free(k);
			free(v);
			continue;
		}
		int32_t flags;
		memcpy(&flags, p, 4);
		c->e[c->n++] = (struct entry){ flags, k, v };
	}
	*out = c;
	return 0;
}

const char *gt_ldcache_lookup(const struct gt_ldcache *c, const char *soname, int32_t want)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct entry *e = &c->e[i];
		if ((e->flags & FLAG_TYPE_MASK) != (want & FLAG_TYPE_MASK) ||
		    (e->flags & FLAG_ARCH_MASK) != (want & FLAG_ARCH_MASK))
			continue;
		if (strcmp(e->key, soname) == 0)
			return e->value;
	}
	return NULL;
}
