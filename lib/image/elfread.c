#include "elfread.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define src gt_elf_src
#define src_read gt_elf_src_read

/* The headers are read with no readahead (FMODE_RANDOM: mm/readahead.c
 * page_cache_sync_ra then reads just the pages asked for). A normal read
 * of a cold library's first page read 16 pages and marked the fifth
 * PG_readahead; the program's loader, faulting on that page, then read
 * ahead up to the device's readahead from the next page not cached, at
 * the program's own I/O class (page_cache_async_ra): 14 times a clang
 * start, up to 8 MiB each at 8 MiB readahead, beside the replay (ftrace,
 * readahead events, 2026-12-07). The advice is the open file's, not the
 * page cache's: the loader's own reads are as before. */
struct gt_elf_src gt_elf_src_fd(int fd, uint64_t len, struct gt_elf_cache *c)
{
	if (fd >= 0)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
	if (c != NULL) {
		memset(c->len, 0, sizeof(c->len));
		c->next = 0;
	}
	return (struct gt_elf_src){ .fd = fd, .buf = NULL, .len = len, .cache = c };
}

/* Up to n bytes at off; how many were read (short at end of file). */
static size_t pread_full(int fd, void *dst, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, (char *)dst + got, n - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* The cache slot holding the block at base, read in if need be. */
static int cache_slot(const struct gt_elf_src *s, uint64_t base)
{
	struct gt_elf_cache *c = s->cache;
	for (int i = 0; i < GT_ELF_CACHE_BLOCKS; i++)
		if (c->len[i] != 0 && c->off[i] == base)
			return i;
	int i = (int)(c->next++ % GT_ELF_CACHE_BLOCKS);
	uint64_t want = s->len - base < GT_ELF_CACHE_BLOCK ? s->len - base : GT_ELF_CACHE_BLOCK;
	c->off[i] = base;
	c->len[i] = (uint32_t)pread_full(s->fd, c->data[i], (size_t)want, base);
	return c->len[i] == 0 ? -1 : i;
}

int gt_elf_src_read(const struct gt_elf_src *s, uint64_t off, void *dst, size_t n)
{
	if (off > s->len || n > s->len - off)
		return -1;
	if (s->buf != NULL) {
		memcpy(dst, s->buf + off, n);
		return 0;
	}
	if (s->cache == NULL || n > GT_ELF_CACHE_BLOCK)
		return pread_full(s->fd, dst, n, off) == n ? 0 : -1;
	/* At most two blocks: n fits in one. A file that shrank since its
	 * size was taken gives short blocks, and the read fails. */
	for (size_t done = 0; done < n;) {
		uint64_t at = off + done, base = at - at % GT_ELF_CACHE_BLOCK;
		int i = cache_slot(s, base);
		if (i < 0 || at - base >= s->cache->len[i])
			return -1;
		size_t take = (size_t)(s->cache->len[i] - (at - base));
		if (take > n - done)
			take = n - done;
		memcpy((char *)dst + done, s->cache->data[i] + (at - base), take);
		done += take;
	}
	return 0;
}

struct rd {
	bool be;
	int bits;
};

static uint16_t u16(const struct rd *r, const unsigned char *p)
{
	unsigned hi = r->be ? p[0] : p[1], lo = r->be ? p[1] : p[0];
	return (uint16_t)((hi << 8 | lo) & 0xffffu);
}

static uint32_t u32(const struct rd *r, const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[r->be ? 3 - i : i] << (8 * i);
	return v;
}

static uint64_t u64(const struct rd *r, const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[r->be ? 7 - i : i] << (8 * i);
	return v;
}

/* A word: 4 bytes in ELF32, 8 in ELF64. */
static uint64_t word(const struct rd *r, const unsigned char *p)
{
	return r->bits == 64 ? u64(r, p) : u32(r, p);
}

void gt_elf_free(struct gt_elf *e)
{
	free(e->interp);
	for (size_t i = 0; i < e->n_needed; i++)
		free(e->needed[i]);
	free(e->needed);
	free(e->rpath);
	free(e->runpath);
	free(e->soname);
	memset(e, 0, sizeof(*e));
}

int gt_elf_vaddr_to_offset(const struct gt_elf *e, uint64_t vaddr, uint64_t len, uint64_t *off)
{
	for (size_t i = 0; i < e->n_loads; i++) {
		const struct gt_elf_load *l = &e->loads[i];
		if (vaddr >= l->vaddr && vaddr - l->vaddr <= l->filesz && len <= l->filesz - (vaddr - l->vaddr)) {
			*off = l->offset + (vaddr - l->vaddr);
			return 0;
		}
	}
	return -1;
}

/* A NUL-terminated string at off, at most max bytes. */
static char *read_str(const struct src *s, uint64_t off, uint64_t limit)
{
	char buf[GT_ELF_MAX_STR];
	uint64_t avail = limit > off ? limit - off : 0;
	size_t n = avail < sizeof(buf) ? (size_t)avail : sizeof(buf);
	if (n == 0)
		return NULL;
	/* Read what is there: a short read near the end is fine if a NUL is in it. */
	while (n > 0 && src_read(s, off, buf, n) < 0)
		n /= 2;
	char *nul = n > 0 ? memchr(buf, '\0', n) : NULL;
	return nul != NULL ? strdup(buf) : NULL;
}

/* headers_only: the program headers (loads, notes) and no more, for a
 * reader that needs only those (the build ID): the dynamic section and
 * its strings are two more reads, cold ones when the hook matches a
 * profile's files before a start. */
static int parse(const struct src *s, struct gt_elf *e, bool headers_only, gt_err_t *err)
{
	memset(e, 0, sizeof(*e));
	unsigned char eh[64];
	if (src_read(s, 0, eh, 16) < 0 || memcmp(eh, ELFMAG, SELFMAG) != 0)
		return gt_error(err, ENOEXEC, "not an ELF file");
	struct rd r = { .be = eh[EI_DATA] == ELFDATA2MSB, .bits = eh[EI_CLASS] == ELFCLASS64 ? 64 : 32 };
	if ((eh[EI_CLASS] != ELFCLASS32 && eh[EI_CLASS] != ELFCLASS64) ||
	    (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB))
		return gt_error(err, 0, "malformed ELF: bad class or data encoding");
	size_t ehsz = r.bits == 64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (src_read(s, 0, eh, ehsz) < 0)
		return gt_error(err, 0, "malformed ELF: truncated header");
	e->bits = r.bits;
	e->big_endian = r.be;
	e->type = u16(&r, eh + 16);
	e->machine = u16(&r, eh + 18);
	uint64_t phoff = r.bits == 64 ? u64(&r, eh + 32) : u32(&r, eh + 28);
	e->shoff = r.bits == 64 ? u64(&r, eh + 40) : u32(&r, eh + 32);
	e->shentsize = u16(&r, eh + (r.bits == 64 ? 58 : 46));
	e->shnum = u16(&r, eh + (r.bits == 64 ? 60 : 48));
	e->shstrndx = u16(&r, eh + (r.bits == 64 ? 62 : 50));
	uint16_t phentsize = u16(&r, eh + (r.bits == 64 ? 54 : 42));
	uint16_t phnum = u16(&r, eh + (r.bits == 64 ? 56 : 44));
	size_t want = r.bits == 64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (phnum == 0)
		return 0;
	if (phnum > GT_ELF_MAX_PHDRS || phentsize < want)
		return gt_error(err, 0, "malformed ELF: %u program headers of %u bytes", phnum, phentsize);

	uint64_t dyn_off = 0, dyn_size = 0, interp_off = 0, interp_size = 0;
	bool has_dyn = false, has_interp = false;
	for (uint16_t i = 0; i < phnum; i++) {
		unsigned char ph[sizeof(Elf64_Phdr)];
		if (src_read(s, phoff + (uint64_t)i * phentsize, ph, want) < 0)
			return gt_error(err, 0, "malformed ELF: program header %u outside the file", i);
		uint32_t type = u32(&r, ph);
		uint64_t off, vaddr, filesz, memsz;
		uint32_t flags;
		if (r.bits == 64) {
			flags = u32(&r, ph + 4);
			off = u64(&r, ph + 8);
			vaddr = u64(&r, ph + 16);
			filesz = u64(&r, ph + 32);
			memsz = u64(&r, ph + 40);
		} else {
			off = u32(&r, ph + 4);
			vaddr = u32(&r, ph + 8);
			filesz = u32(&r, ph + 16);
			memsz = u32(&r, ph + 20);
			flags = u32(&r, ph + 24);
		}
		if (type == PT_LOAD && e->n_loads < GT_ELF_MAX_LOADS) {
			e->loads[e->n_loads++] = (struct gt_elf_load){ off, filesz, vaddr, memsz, (flags & PF_X) != 0,
								      (flags & PF_W) != 0 };
		} else if (type == PT_NOTE && e->n_notes < GT_ELF_MAX_NOTES) {
			uint64_t align = r.bits == 64 ? u64(&r, ph + 48) : u32(&r, ph + 28);
			e->notes[e->n_notes].offset = off;
			e->notes[e->n_notes].filesz = filesz;
			e->notes[e->n_notes].align = align == 8 ? 8 : 4;
			e->n_notes++;
		} else if (type == PT_INTERP && !has_interp) {
			has_interp = true;
			interp_off = off;
			interp_size = filesz;
		} else if (type == PT_DYNAMIC && !has_dyn) {
			has_dyn = true;
			dyn_off = off;
			dyn_size = filesz;
		}
	}
	if (headers_only)
		return 0;
	if (has_interp) {
		if (interp_size == 0 || interp_size > GT_ELF_MAX_STR)
			return gt_error(err, 0, "malformed ELF: PT_INTERP of %llu bytes", (unsigned long long)interp_size);
		e->interp = read_str(s, interp_off, interp_off + interp_size);
		if (e->interp == NULL)
			return gt_error(err, 0, "malformed ELF: PT_INTERP is not a string inside the file");
	}
	if (!has_dyn)
		return 0;

	/* First pass over the dynamic section: where the string table is. */
	size_t dsz = r.bits == 64 ? 16 : 8;
	uint64_t count = dyn_size / dsz;
	if (count > 4096)
		count = 4096;
	uint64_t strtab = 0, strsz = 0;
	bool has_strtab = false;
	for (uint64_t i = 0; i < count; i++) {
		unsigned char d[16];
		if (src_read(s, dyn_off + i * dsz, d, dsz) < 0)
			return gt_error(err, 0, "malformed ELF: dynamic section outside the file");
		uint64_t tag = word(&r, d), val = word(&r, d + dsz / 2);
		if (tag == DT_NULL)
			break;
		if (tag == DT_STRTAB) {
			strtab = val;
			has_strtab = true;
		} else if (tag == DT_STRSZ) {
			strsz = val;
		}
	}
	uint64_t str_off;
	if (!has_strtab)
		return 0;
	if (strsz == 0 || gt_elf_vaddr_to_offset(e, strtab, strsz, &str_off) < 0)
		return gt_error(err, 0, "malformed ELF: string table not in a load segment");

	/* Second pass: the strings. */
	e->needed = calloc(GT_ELF_MAX_NEEDED, sizeof(*e->needed));
	if (e->needed == NULL)
		return gt_error(err, ENOMEM, "ELF");
	for (uint64_t i = 0; i < count; i++) {
		unsigned char d[16];
		if (src_read(s, dyn_off + i * dsz, d, dsz) < 0)
			break;
		uint64_t tag = word(&r, d), val = word(&r, d + dsz / 2);
		if (tag == DT_NULL)
			break;
		char **slot = NULL;
		if (tag == DT_NEEDED && e->n_needed < GT_ELF_MAX_NEEDED)
			slot = &e->needed[e->n_needed];
		else if (tag == DT_RPATH && e->rpath == NULL)
			slot = &e->rpath;
		else if (tag == DT_RUNPATH && e->runpath == NULL)
			slot = &e->runpath;
		else if (tag == DT_SONAME && e->soname == NULL)
			slot = &e->soname;
		if (slot == NULL)
			continue;
		if (val >= strsz)
			return gt_error(err, 0, "malformed ELF: string offset %llu past the string table",
					(unsigned long long)val);
		*slot = read_str(s, str_off + val, str_off + strsz);
		if (*slot == NULL)
			return gt_error(err, 0, "malformed ELF: unterminated dynamic string");
		if (tag == DT_NEEDED)
			e->n_needed++;
	}
	return 0;
}

int gt_elf_src_open(int fd, struct gt_elf_src *s, gt_err_t *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return gt_error(err, errno, "stat");
	*s = gt_elf_src_fd(fd, (uint64_t)st.st_size, malloc(sizeof(struct gt_elf_cache)));
	return 0;
}

void gt_elf_src_release(struct gt_elf_src *s)
{
	free(s->cache);
	s->cache = NULL;
}

int gt_elf_read_src(const struct gt_elf_src *s, struct gt_elf *out, gt_err_t *err)
{
	if (parse(s, out, false, err) < 0) {
		gt_elf_free(out);
		return -1;
	}
	return 0;
}

int gt_elf_read_headers(const struct gt_elf_src *s, struct gt_elf *out, gt_err_t *err)
{
	if (parse(s, out, true, err) < 0) {
		gt_elf_free(out);
		return -1;
	}
	return 0;
}

int gt_elf_parse(const unsigned char *buf, size_t len, struct gt_elf *out, gt_err_t *err)
{
	struct src s = { .fd = -1, .buf = buf, .len = len };
	return gt_elf_read_src(&s, out, err);
}

int gt_elf_read_fd(int fd, struct gt_elf *out, gt_err_t *err)
{
	struct src s;
	if (gt_elf_src_open(fd, &s, err) < 0)
		return -1;
	int ret = gt_elf_read_src(&s, out, err);
	gt_elf_src_release(&s);
	return ret;
}

int gt_elf_section(const struct gt_elf_src *s, const struct gt_elf *e, const char *name, uint64_t *off,
		   uint64_t *size)
{
	struct rd r = { .be = e->big_endian, .bits = e->bits };
	size_t want = e->bits == 64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	if (e->shoff == 0 || e->shnum == 0 || e->shnum > 4096 || e->shentsize < want || e->shstrndx >= e->shnum)
		return -1;
	unsigned char sh[sizeof(Elf64_Shdr)];
	/* sh_offset, sh_size of section i */
	uint64_t names_off, names_size;
	if (src_read(s, e->shoff + (uint64_t)e->shstrndx * e->shentsize, sh, want) < 0)
		return -1;
	names_off = e->bits == 64 ? u64(&r, sh + 24) : u32(&r, sh + 16);
	names_size = e->bits == 64 ? u64(&r, sh + 32) : u32(&r, sh + 20);
	size_t nlen = strlen(name);
	for (uint16_t i = 0; i < e->shnum; i++) {
		if (src_read(s, e->shoff + (uint64_t)i * e->shentsize, sh, want) < 0)
			return -1;
		uint32_t n = u32(&r, sh);
		char buf[64];
		if (n >= names_size || nlen + 1 > sizeof(buf) || names_size - n < nlen + 1 ||
		    src_read(s, names_off + n, buf, nlen + 1) < 0)
			continue;
		if (memcmp(buf, name, nlen + 1) != 0)
			continue;
		*off = e->bits == 64 ? u64(&r, sh + 24) : u32(&r, sh + 16);
		*size = e->bits == 64 ? u64(&r, sh + 32) : u32(&r, sh + 20);
		return 0;
	}
	return -1;
}
