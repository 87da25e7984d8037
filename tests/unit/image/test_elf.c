/* The ELF reader on real binaries of this system, on synthesized 32-bit
 * and big-endian images, and on truncated and garbled copies (which must
 * give an answer or an error, never a crash: run under ASan/UBSan). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfread.h"
#include "pagemarks.h"
#include "prewarm.h"
#include "tap.h"

static int read_path(const char *path, struct gt_elf *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -2;
	gt_err_t err = NULL;
	int r = gt_elf_read_fd(fd, e, &err);
	if (r < 0)
		printf("# %s: %s\n", path, gt_err_msg(err));
	gt_err_free(&err);
	close(fd);
	return r;
}

static int has(const struct gt_elf *e, const char *lib)
{
	for (size_t i = 0; i < e->n_needed; i++)
		if (strcmp(e->needed[i], lib) == 0)
			return 1;
	return 0;
}

static void put16(unsigned char *p, uint16_t v, int be)
{
	p[be ? 0 : 1] = (unsigned char)(v >> 8);
	p[be ? 1 : 0] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v, int be)
{
	for (int i = 0; i < 4; i++)
		p[be ? 3 - i : i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v, int be)
{
	for (int i = 0; i < 8; i++)
		p[be ? 7 - i : i] = (unsigned char)(v >> (8 * i));
}

/* A minimal image: one PT_LOAD covering the file at vaddr 0, a PT_INTERP,
 * a PT_DYNAMIC with DT_NEEDED, DT_RUNPATH, DT_STRTAB, DT_STRSZ. */
static size_t synth(unsigned char *b, int bits, int be)
{
	memset(b, 0, 1024);
	const char strtab[] = "\0libfoo.so.1\0$ORIGIN/../lib\0/lib/ld-test.so\0";
	size_t ehsz = bits == 64 ? 64 : 52, phsz = bits == 64 ? 56 : 32, dsz = bits == 64 ? 16 : 8;
	size_t phoff = ehsz, interp_off = 300, str_off = 400, dyn_off = 600;
	memcpy(b, ELFMAG, SELFMAG);
	b[EI_CLASS] = bits == 64 ? ELFCLASS64 : ELFCLASS32;
	b[EI_DATA] = be ? ELFDATA2MSB : ELFDATA2LSB;
	b[EI_VERSION] = EV_CURRENT;
	put16(b + 16, ET_DYN, be);
	put16(b + 18, bits == 64 ? EM_PPC64 : EM_386, be);
	if (bits == 64) {
		put64(b + 32, phoff, be);
		put16(b + 54, (uint16_t)phsz, be);
		put16(b + 56, 3, be);
	} else {
		put32(b + 28, (uint32_t)phoff, be);
		put16(b + 42, (uint16_t)phsz, be);
		put16(b + 44, 3, be);
	}
	struct { uint32_t type; uint64_t off, size; } ph[3] = {
		{ PT_LOAD, 0, 1024 }, { PT_INTERP, interp_off, 16 }, { PT_DYNAMIC, dyn_off, 5 * dsz } };
	for (int i = 0; i < 3; i++) {
		unsigned char *p = b + phoff + (size_t)i * phsz;
		put32(p, ph[i].type, be);
		if (bits == 64) {
			put64(p + 8, ph[i].off, be);
			put64(p + 16, ph[i].off, be);
			put64(p + 32, ph[i].size, be);
			put64(p + 40, ph[i].size, be);
		} else {
			put32(p + 4, (uint32_t)ph[i].off, be);
			put32(p + 8, (uint32_t)ph[i].off, be);
			put32(p + 16, (uint32_t)ph[i].size, be);
			put32(p + 20, (uint32_t)ph[i].size, be);
		}
	}
	memcpy(b + interp_off, "/lib/ld-test.so", 16);
	memcpy(b + str_off, strtab, sizeof(strtab));
	uint64_t dyn[5][2] = { { DT_NEEDED, 1 }, { DT_RUNPATH, 13 }, { DT_STRTAB, str_off },
			       { DT_STRSZ, sizeof(strtab) }, { DT_NULL, 0 } };
	for (int i = 0; i < 5; i++) {
		unsigned char *p = b + dyn_off + (size_t)i * dsz;
		if (bits == 64) {
			put64(p, dyn[i][0], be);
			put64(p + 8, dyn[i][1], be);
		} else {
			put32(p, (uint32_t)dyn[i][0], be);
			put32(p + 4, (uint32_t)dyn[i][1], be);
		}
	}
	return 1024;
}

/* The block cache of file reads must give exactly the file's bytes for
 * any offset and length (across block boundaries, at the end), and fail
 * once the file has shrunk under it. */
static void cache_matches_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		ok(0, "%s readable", path);
		return;
	}
	size_t len = (size_t)st.st_size;
	unsigned char *all = malloc(len), *a = malloc(GT_ELF_CACHE_BLOCK + 1), *b = malloc(GT_ELF_CACHE_BLOCK + 1);
	struct gt_elf_cache *cache = malloc(sizeof(*cache));
	struct gt_elf_src mem = { .fd = -1, .buf = all, .len = len };
	struct gt_elf_src file = gt_elf_src_fd(fd, len, cache);
	int bad = 0;
	if (all == NULL || a == NULL || b == NULL || cache == NULL || pread(fd, all, len, 0) != (ssize_t)len)
		bad = -1;
	srand(7);
	for (int i = 0; i < 5000 && bad == 0; i++) {
		size_t n = (size_t)rand() % (i % 10 == 0 ? GT_ELF_CACHE_BLOCK + 1 : 64) + 1;
		uint64_t off = i % 3 == 0 ? (uint64_t)(rand() % 8 + 1) * GT_ELF_CACHE_BLOCK - n / 2
					  : (uint64_t)rand() % len;
		int rm = gt_elf_src_read(&mem, off, a, n), rf = gt_elf_src_read(&file, off, b, n);
		if (rm != rf || (rm == 0 && memcmp(a, b, n) != 0))
			bad = i + 1;
	}
	ok(bad == 0, "cached reads of %s equal its bytes (5000 reads; first wrong: %d)", path, bad);
	ok(gt_elf_src_read(&file, len - 4, a, 8) < 0 && gt_elf_src_read(&file, len - 4, a, 4) == 0,
	   "a read past the end fails, one up to it works");
	free(all);
	free(a);
	free(b);
	free(cache);
	close(fd);
}

static void cache_sees_shrink(void)
{
	char path[] = "/tmp/gotune-elfcache-XXXXXX";
	int fd = mkstemp(path);
	unsigned char block[4096] = { 1 }, out[16];
	for (int i = 0; i < 16 && fd >= 0; i++)
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			break;
	struct gt_elf_cache *cache = malloc(sizeof(*cache));
	struct gt_elf_src file = gt_elf_src_fd(fd, 16 * 4096, cache);
	bool ok_before = gt_elf_src_read(&file, 40000, out, 16) == 0;
	if (ftruncate(fd, 4096) < 0)
		ok_before = false;
	ok(ok_before && gt_elf_src_read(&file, 50000, out, 16) < 0,
	   "a file that shrank after its size was taken: the read past its new end fails");
	free(cache);
	close(fd);
	unlink(path);
}

/* A copy of path on a disk (not tmpfs: its pages cannot be evicted),
 * evicted; its fd, or -1 where eviction did not work. */
static int cold_copy(const char *path, char *tmp)
{
	int in = open(path, O_RDONLY | O_CLOEXEC), out = mkstemp(tmp);
	char buf[65536];
	ssize_t n;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	if (in >= 0)
		close(in);
	if (out < 0)
		return -1;
	fsync(out);
	posix_fadvise(out, 0, 0, POSIX_FADV_DONTNEED);
	uint64_t pages = 0, resident = 1;
	gt_err_t err = NULL;
	bool cold = gt_residency(out, 0, 4096 * 64, &pages, &resident, &err) == 0 && pages == 64 && resident == 0;
	gt_err_free(&err);
	close(out);
	return cold ? open(tmp, O_RDONLY | O_CLOEXEC) : -1;
}

/* Reading a cold library's headers leaves no PG_readahead mark: ld.so
 * faulting on a marked page read ahead up to the device's readahead from
 * there, at the program's class, beside the replay (gt_elf_src_fd). A
 * plain read of the same copy marks a page: the check can see marks. */
static void headers_leave_no_marks(const char *path)
{
	char tmp[] = "/var/tmp/gotune-elfmarks-XXXXXX";
	int fd = cold_copy(path, tmp);
	struct gt_elf e;
	gt_err_t err = NULL;
	long mine = -1, plain = -1;
	if (fd >= 0 && gt_elf_read_fd(fd, &e, &err) == 0) {
		gt_elf_free(&e);
		mine = marked_pages(fd, 0, 4096 * 64);
	}
	gt_err_free(&err);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	strcpy(tmp, "/var/tmp/gotune-elfmarks-XXXXXX");
	fd = cold_copy(path, tmp);
	if (fd >= 0) {
		char buf[832];
		if (pread(fd, buf, sizeof(buf), 0) > 0)
			plain = marked_pages(fd, 0, 4096 * 64);
		close(fd);
	}
	unlink(tmp);
	if (mine < 0 || plain < 0) {
		ok(1, "# SKIP no eviction on /var/tmp or no frame numbers in pagemap (not root)");
		ok(1, "# SKIP the same");
		return;
	}
	ok(plain > 0, "a plain read of a cold %s's first page marks %ld page(s) PG_readahead", path, plain);
	is_int(mine, 0, "reading its ELF headers marks none");
}

int main(void)
{
	struct gt_elf e;
	gt_err_t err = NULL;

	cache_matches_file("/bin/ls");
	cache_sees_shrink();
	headers_leave_no_marks("/lib/x86_64-linux-gnu/libc.so.6");
	ok(read_path("/bin/ls", &e) == 0, "/bin/ls parses");
	is_int(e.bits, 64, "64-bit");
	is_int(e.machine, EM_X86_64, "x86-64");
	is_str(e.interp, "/lib64/ld-linux-x86-64.so.2", "PT_INTERP");
	ok(has(&e, "libc.so.6"), "needs libc.so.6");
	ok(e.n_loads >= 2, "load segments (%zu)", e.n_loads);
	gt_elf_free(&e);

	ok(read_path("/bin/busybox", &e) == 0, "static busybox parses");
	ok(e.interp == NULL && e.n_needed == 0, "static: no interpreter, no libraries");
	gt_elf_free(&e);

	if (read_path("/lib/x86_64-linux-gnu/libyajl.so.2", &e) == 0)
		is_str(e.soname, "libyajl.so.2", "shared object's SONAME");
	else
		ok(0, "libyajl.so.2 readable");
	gt_elf_free(&e);

	int fd = open("/etc/hostname", O_RDONLY);
	ok(gt_elf_read_fd(fd, &e, &err) < 0 && err->errno_ == ENOEXEC, "a text file is not ELF (ENOEXEC)");
	gt_err_free(&err);
	close(fd);

	unsigned char img[1024];
	for (int bits = 32; bits <= 64; bits += 32) {
		for (int be = 0; be <= 1; be++) {
			size_t n = synth(img, bits, be);
			int r = gt_elf_parse(img, n, &e, &err);
			ok(r == 0, "synthetic %d-bit %s parses %s", bits, be ? "big-endian" : "little-endian",
			   r < 0 ? gt_err_msg(err) : "");
			gt_err_free(&err);
			is_str(e.interp, "/lib/ld-test.so", "  interpreter");
			ok(e.n_needed == 1 && strcmp(e.needed[0], "libfoo.so.1") == 0, "  DT_NEEDED");
			is_str(e.runpath, "$ORIGIN/../lib", "  DT_RUNPATH");
			gt_elf_free(&e);
		}
	}

	/* Truncated and garbled copies of a real binary. */
	fd = open("/bin/ls", O_RDONLY);
	struct stat st;
	fstat(fd, &st);
	size_t len = (size_t)st.st_size;
	unsigned char *ls = malloc(len);
	if (read(fd, ls, len) != (ssize_t)len)
		return 99;
	close(fd);
	int survived = 0, total = 0;
	for (size_t cut = 0; cut < 4096 && cut < len; cut += 64, total++) {
		gt_elf_parse(ls, cut, &e, &err);
		gt_elf_free(&e);
		gt_err_free(&err);
		survived++;
	}
	srand(42);
	unsigned char *copy = malloc(len);
	for (int i = 0; i < 2000; i++, total++) {
		memcpy(copy, ls, len);
		for (int k = 0; k < 8; k++) {
			size_t at = (size_t)rand() % (len < 8192 ? len : 8192);
			copy[at] = (unsigned char)rand();
		}
		gt_elf_parse(copy, len, &e, &err);
		gt_elf_free(&e);
		gt_err_free(&err);
		survived++;
	}
	/* Also the synthetic image garbled: its dynamic section is small. */
	for (int i = 0; i < 2000; i++, total++) {
		size_t n = synth(img, 64, 0);
		for (int k = 0; k < 4; k++)
			img[(size_t)rand() % n] = (unsigned char)rand();
		gt_elf_parse(img, n, &e, &err);
		gt_elf_free(&e);
		gt_err_free(&err);
		survived++;
	}
	is_int(survived, total, "%d truncated and garbled images: no crash", total);
	free(copy);
	free(ls);
	return tap_done();
}
