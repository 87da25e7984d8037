/* Just enough of ELF to know what the loader will read: PT_INTERP, the
 * DT_NEEDED list with RPATH/RUNPATH/SONAME, and the load segments. Every
 * offset and size comes from the image and is checked before use. */
#ifndef GOTUNE_ELFREAD_H
#define GOTUNE_ELFREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define GT_ELF_MAX_NEEDED 256
#define GT_ELF_MAX_LOADS 64
#define GT_ELF_MAX_PHDRS 512
#define GT_ELF_MAX_STR 4096
#define GT_ELF_MAX_NOTES 16

struct gt_elf_load {
	uint64_t offset, filesz, vaddr, memsz;
	bool exec, write;
};

struct gt_elf {
	int bits;		/* 32 or 64 */
	bool big_endian;
	uint16_t machine, type;
	char *interp;
	size_t n_needed;
	char **needed;
	char *rpath, *runpath, *soname;
	size_t n_loads;
	struct gt_elf_load loads[GT_ELF_MAX_LOADS];
	size_t n_notes;		/* PT_NOTE segments, for the build ID */
	struct {
		uint64_t offset, filesz, align;
	} notes[GT_ELF_MAX_NOTES];
	uint64_t shoff;		/* section headers, for readers that need a section */
	uint16_t shentsize, shnum, shstrndx;
};

/* The readers walk headers, dynamic entries and section names a few bytes
 * at a time: a few aligned blocks of the file kept in memory turn some 240
 * preads of a typical binary into 10. */
#define GT_ELF_CACHE_BLOCKS 4
#define GT_ELF_CACHE_BLOCK 16384u
struct gt_elf_cache {
	uint64_t off[GT_ELF_CACHE_BLOCKS];
	uint32_t len[GT_ELF_CACHE_BLOCKS];	/* 0: empty slot */
	unsigned next;
	unsigned char data[GT_ELF_CACHE_BLOCKS][GT_ELF_CACHE_BLOCK];
};

/* Where an image's bytes are: a file (pread, through cache when not NULL)
 * or memory. */
struct gt_elf_src {
	int fd;
	const unsigned char *buf;	/* NULL for the file */
	uint64_t len;
	struct gt_elf_cache *cache;
};

/* A file source with an empty cache in c. */
struct gt_elf_src gt_elf_src_fd(int fd, uint64_t len, struct gt_elf_cache *c);

/* A source for the file open on fd with a cache of its own (plain preads
 * when memory is short); gt_elf_src_release frees it. */
int gt_elf_src_open(int fd, struct gt_elf_src *s, gt_err_t *err);
void gt_elf_src_release(struct gt_elf_src *s);

/* The ELF headers from s, for a caller that goes on reading the same
 * source (build ID, Go build info) through its cache. As gt_elf_read_fd. */
int gt_elf_read_src(const struct gt_elf_src *s, struct gt_elf *out, gt_err_t *err);

/* As gt_elf_read_src, up to the program headers only (loads and notes:
 * no interpreter, no dynamic entries). */
int gt_elf_read_headers(const struct gt_elf_src *s, struct gt_elf *out, gt_err_t *err);

/* Reads n bytes at off; -1 if any of them is outside the image. */
int gt_elf_src_read(const struct gt_elf_src *s, uint64_t off, void *dst, size_t n);

/* File offset and size of the section called name; -1 if there is none
 * (stripped of section headers) or the headers are malformed. */
int gt_elf_section(const struct gt_elf_src *s, const struct gt_elf *e, const char *name, uint64_t *off,
		   uint64_t *size);

/* Reads the ELF headers of a regular file with pread (no mapping: a file
 * that shrinks under us cannot SIGBUS the hook). Not an ELF file: -1 with
 * errno_ ENOEXEC; malformed: -1 with "malformed ELF: ...". */
int gt_elf_read_fd(int fd, struct gt_elf *out, gt_err_t *err);

/* The same over bytes in memory (tests, fuzzing). */
int gt_elf_parse(const unsigned char *buf, size_t len, struct gt_elf *out, gt_err_t *err);

void gt_elf_free(struct gt_elf *e);

/* File offset of [vaddr, vaddr+len) through the load segments. */
int gt_elf_vaddr_to_offset(const struct gt_elf *e, uint64_t vaddr, uint64_t len, uint64_t *off);

#endif
