#include "goinfo.h"
#include "cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "\xff Go buildinf:"
#define MAGIC_LEN 14
#define HEADER 32
#define FLAG_BIG_ENDIAN 0x1
#define FLAG_INLINE 0x2
#define MAX_SEARCH (1u << 20)	/* bytes of a data segment searched for the magic */
#define MAX_MODINFO (64u << 10)

static uint64_t load_uint(const unsigned char *p, int size, bool be)
{
	uint64_t v = 0;
	for (int i = 0; i < size; i++)
		v |= (uint64_t)p[be ? size - 1 - i : i] << (8 * i);
	return v;
}

/* Reads a uvarint at *off; bounded to 10 bytes. */
static int uvarint(const struct gt_elf_src *s, uint64_t *off, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 10; i++) {
		unsigned char b;
		if (gt_elf_src_read(s, *off + (uint64_t)i, &b, 1) < 0)
			return -1;
		*v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*off += (uint64_t)i + 1;
			return 0;
		}
	}
	return -1;
}

/* A length-prefixed string; out gets a NUL-terminated copy (truncated to
 * outsz - 1 bytes of a string no longer than max). */
static int read_bytes(const struct gt_elf_src *s, uint64_t off, uint64_t len, char *out, size_t outsz)
{
	size_t n = len < outsz - 1 ? (size_t)len : outsz - 1;
	if (gt_elf_src_read(s, off, out, n) < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* Pointer form (before Go 1.18): two pointers to Go string headers. */
static int pointer_string(const struct gt_elf_src *s, const struct gt_elf *e, uint64_t ptr, int psz, bool be,
			  char *out, size_t outsz, uint64_t *len_out)
{
	unsigned char hdr[16];
	uint64_t off;
	if (gt_elf_vaddr_to_offset(e, ptr, (uint64_t)psz * 2, &off) < 0 ||
	    gt_elf_src_read(s, off, hdr, (size_t)psz * 2) < 0)
		return -1;
	uint64_t data = load_uint(hdr, psz, be), len = load_uint(hdr + psz, psz, be);
	if (len > MAX_MODINFO || gt_elf_vaddr_to_offset(e, data, len, &off) < 0)
		return -1;
	if (len_out != NULL)
		*len_out = len;
	return read_bytes(s, off, len, out, outsz);
}

/* At most 5 decimal digits at *p: no overflow, and no version has more. */
static bool number(const char **p, int *out)
{
	int v = 0, n = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++, n++) {
		if (n == 5)
			return false;
		v = v * 10 + (**p - '0');
	}
	*out = v;
	return n > 0;
}

/* What may follow "goM.m[.p]" in a release: nothing, an experiment or
 * vendor suffix ("-X:nogreenteagc" as Go 1.26 writes it, " X:greenteagc" as
 * older Go does, "-bigcorp", " (Red Hat 1.22.9-2.el9_5)"), or, right after
 * the minor, a pre-release ("rc1", "beta2") that may carry such a suffix. */
static bool release_tail(const char *p, bool had_patch)
{
	static const char *const pre[] = { "rc", "beta", "alpha" };
	for (size_t i = 0; !had_patch && i < sizeof(pre) / sizeof(pre[0]); i++) {
		size_t l = strlen(pre[i]);
		if (strncmp(p, pre[i], l) == 0 && p[l] >= '0' && p[l] <= '9') {
			int n;
			p += l;
			if (!number(&p, &n))
				return false;
			break;
		}
	}
	return *p == '\0' || *p == ' ' || *p == '-';
}

static void parse_version(struct gt_goinfo *g)
{
	g->major = g->minor = g->patch = -1;
	const char *p = g->version;
	int a, b, c = 0;
	g->devel = strncmp(p, "devel ", 6) == 0;
	if (g->devel) {
		/* cmd/dist: "devel go1.27-abcdef1234 Tue Jan 6 ...". */
		p += 6;
		if (strncmp(p, "go", 2) != 0)
			return;
		p += 2;
		if (!number(&p, &a) || *p++ != '.' || !number(&p, &b) || (*p != '-' && *p != ' '))
			return;
		g->major = a;
		g->minor = b;
		g->patch = 0;
		return;
	}
	if (strncmp(p, "go", 2) != 0)
		return;
	p += 2;
	if (!number(&p, &a) || *p++ != '.' || !number(&p, &b))
		return;
	bool had_patch = *p == '.';
	if (had_patch) {
		p++;
		if (!number(&p, &c))
			return;
	}
	if (!release_tail(p, had_patch))
		return;
	g->major = a;
	g->minor = b;
	g->patch = c;
}

/* A list too long for out loses whole items from its end, never part of
 * one: "x509usepolicies=0" cut to "x509usepolicies" is another setting. */
static bool copy_godebug(char *out, size_t outsz, const char *list)
{
	size_t n = strlen(list);
	if (n < outsz) {
		memcpy(out, list, n + 1);
		return false;
	}
	size_t keep = outsz - 1;
	while (keep > 0 && list[keep] != ',')
		keep--;
	memcpy(out, list, keep);
	out[keep] = '\0';
	return true;
}

/* Module info lines: "path\t...", "mod\tPATH\tVERSION\t...", "build\tK=V". */
static void parse_modinfo(struct gt_goinfo *g, char *mi, size_t n)
{
	/* Go wraps the text in 16-byte sentinels (the closing one holds a NUL,
	 * so the length is the one read, not strlen). */
	if (n >= 33 && mi[n - 17] == '\n') {
		mi[n - 16] = '\0';
		mi += 16;
	}
	for (char *line = mi; line != NULL && *line != '\0';) {
		char *next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		char *tab = strchr(line, '\t');
		if (tab != NULL) {
			*tab++ = '\0';
			if (strcmp(line, "path") == 0) {
				snprintf(g->path, sizeof(g->path), "%s", tab);
			} else if (strcmp(line, "mod") == 0) {
				size_t l = strcspn(tab, "\t");
				snprintf(g->mod, sizeof(g->mod), "%.*s", (int)(l < 255 ? l : 255), tab);
			} else if (strcmp(line, "build") == 0) {
				char *eq = strchr(tab, '=');
				if (eq != NULL) {
					*eq++ = '\0';
					if (strcmp(tab, "DefaultGODEBUG") == 0)
						g->default_godebug_cut =
							copy_godebug(g->default_godebug, sizeof(g->default_godebug), eq);
					else if (strcmp(tab, "CGO_ENABLED") == 0)
						snprintf(g->cgo_enabled, sizeof(g->cgo_enabled), "%s", eq);
					else if (strcmp(tab, "GOOS") == 0)
						snprintf(g->goos, sizeof(g->goos), "%s", eq);
					else if (strcmp(tab, "GOARCH") == 0)
						snprintf(g->goarch, sizeof(g->goarch), "%s", eq);
				}
			}
		}
		line = next;
	}
}

/* The magic at a 16-byte boundary in the first MAX_SEARCH bytes of l. */
static int search_load(const struct gt_elf_src *s, const struct gt_elf_load *l, uint64_t *at)
{
	uint64_t end = l->filesz < MAX_SEARCH ? l->filesz : MAX_SEARCH;
	unsigned char chunk[4096];
	for (uint64_t p = 0; p + MAGIC_LEN <= end; p += sizeof(chunk) - 16) {
		size_t n = end - p < sizeof(chunk) ? (size_t)(end - p) : sizeof(chunk);
		if (gt_elf_src_read(s, l->offset + p, chunk, n) < 0)
			return -1;
		for (size_t k = 0; k + MAGIC_LEN <= n; k += 16) {
			if (memcmp(chunk + k, MAGIC, MAGIC_LEN) == 0) {
				*at = l->offset + p + k;
				return 0;
			}
		}
		if (n < sizeof(chunk))
			break;
	}
	return -1;
}

/* Finds the build info header: the .go.buildinfo section, or, without
 * section headers (sstrip), the magic in a writable, non-executable load
 * segment: the first one, except in an internally linked PIE, where
 * .data.rel.ro has a writable segment of its own before it. (go version -m
 * looks in the first only, and Go 1.27's not at all without sections.) */
static int locate(const struct gt_elf_src *s, const struct gt_elf *e, uint64_t *at)
{
	uint64_t off, size;
	if (gt_elf_section(s, e, ".go.buildinfo", &off, &size) == 0) {
		*at = off;
		return 0;
	}
	for (size_t i = 0; i < e->n_loads; i++) {
		const struct gt_elf_load *l = &e->loads[i];
		if (l->write && !l->exec && search_load(s, l, at) == 0)
			return 0;
	}
	return -1;
}

int gt_goinfo_read(const struct gt_elf_src *s, struct gt_goinfo *g, gt_err_t *err)
{
	memset(g, 0, sizeof(*g));
	g->major = g->minor = g->patch = -1;
	struct gt_elf e;
	if (gt_elf_read_src(s, &e, err) < 0)
		return -1;
	uint64_t at, mi_len = 0;
	unsigned char h[HEADER];
	if (locate(s, &e, &at) < 0 || gt_elf_src_read(s, at, h, HEADER) < 0 || memcmp(h, MAGIC, MAGIC_LEN) != 0) {
		gt_elf_free(&e);
		return 0; /* ELF, but not Go */
	}
	int psz = h[14];
	bool be = (h[15] & FLAG_BIG_ENDIAN) != 0;
	cleanup_free char *mi = calloc(1, MAX_MODINFO + 1);
	if (mi == NULL) {
		gt_elf_free(&e);
		return gt_error(err, ENOMEM, "Go build info");
	}
	int ret = 0;
	if (h[15] & FLAG_INLINE) {
		uint64_t off = at + HEADER, vlen, mlen = 0;
		if (uvarint(s, &off, &vlen) < 0 || vlen > 1024 ||
		    read_bytes(s, off, vlen, g->version, sizeof(g->version)) < 0)
			ret = gt_error(err, 0, "malformed Go build info: version");
		off += vlen;
		if (ret == 0 && (uvarint(s, &off, &mlen) < 0 || mlen > MAX_MODINFO ||
				 read_bytes(s, off, mlen, mi, MAX_MODINFO + 1) < 0))
			ret = gt_error(err, 0, "malformed Go build info: module info");
		mi_len = mlen;
	} else if (psz == 4 || psz == 8) {
		uint64_t vptr = load_uint(h + 16, psz, be), mptr = load_uint(h + 16 + psz, psz, be);
		if (pointer_string(s, &e, vptr, psz, be, g->version, sizeof(g->version), NULL) < 0)
			ret = gt_error(err, 0, "malformed Go build info: version pointer");
		else if (pointer_string(s, &e, mptr, psz, be, mi, MAX_MODINFO + 1, &mi_len) < 0)
			mi_len = 0; /* old binaries may lack module info */
	} else {
		ret = gt_error(err, 0, "malformed Go build info: pointer size %d", psz);
	}
	gt_elf_free(&e);
	if (ret < 0)
		return -1;
	g->is_go = true;
	parse_version(g);
	parse_modinfo(g, mi, mi_len > MAX_MODINFO ? MAX_MODINFO : (size_t)mi_len);
	return 0;
}

int gt_goinfo_read_fd(int fd, struct gt_goinfo *out, gt_err_t *err)
{
	struct gt_elf_src s;
	if (gt_elf_src_open(fd, &s, err) < 0)
		return -1;
	int ret = gt_goinfo_read(&s, out, err);
	gt_elf_src_release(&s);
	return ret;
}

bool gt_goinfo_at_least(const struct gt_goinfo *g, int major, int minor)
{
	if (g->major < 0)
		return false;
	return g->major > major || (g->major == major && g->minor >= minor);
}

bool gt_godebug_value(const char *list, const char *key, char *out, size_t outsz)
{
	bool found = false;
	size_t klen = strlen(key);
	for (const char *p = list; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ",");
		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			size_t vl = n - klen - 1;
			snprintf(out, outsz, "%.*s", (int)vl, p + klen + 1);
			found = true;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return found;
}
