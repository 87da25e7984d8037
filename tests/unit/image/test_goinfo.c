/* Go build info: real Go binaries of this system, synthesized images for
 * the inline form (with and without section headers, with DefaultGODEBUG)
 * and the pointer form of Go < 1.18, version strings as toolchains write
 * them, DefaultGODEBUG longer than the buffer, and truncated/garbled
 * copies (an answer or an error, never a crash: run under ASan/UBSan).
 * Binaries built by each Go in the matrix: tests/cli/goinfo-real.sh. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "goinfo.h"
#include "tap.h"

#define SENT_START "0w\xaf\x0c\x92t\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6"
#define SENT_END "\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2"

static unsigned char img[16384];

/* ELF64 LE: one PT_LOAD (RW, file offset 0 = vaddr 0x400000) over the
 * whole image; build info at 0x1000; optional section headers naming it
 * at 0x3c00. Module info up to about 8 KiB fits either form. */
static size_t synth(int inline_form, int with_sections, const char *version, const char *modinfo_body)
{
	memset(img, 0, sizeof(img));
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_phoff = 64;
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 1;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + 64);
	ph->p_type = PT_LOAD;
	ph->p_flags = PF_R | PF_W;
	ph->p_offset = 0;
	ph->p_vaddr = 0x400000;
	ph->p_filesz = ph->p_memsz = sizeof(img);

	static char mi[0x2000];
	size_t mlen = (size_t)snprintf(mi, sizeof(mi), "%s%s", SENT_START, modinfo_body);
	size_t vlen = strlen(version);
	if (mlen + 16 > sizeof(mi) || vlen > 127) {
		fprintf(stderr, "synth: build info too large for the image\n");
		abort();
	}
	memcpy(mi + mlen, SENT_END, 16);
	mlen += 16;
	unsigned char *b = img + 0x1000;
	memcpy(b, "\xff Go buildinf:", 14);
	b[14] = 8;
	if (inline_form) {
		b[15] = 2;
		size_t o = 32;
		b[o++] = (unsigned char)vlen;
		memcpy(b + o, version, vlen);
		o += vlen;
		b[o++] = (unsigned char)(0x80 | (mlen & 0x7f));
		b[o++] = (unsigned char)(mlen >> 7);
		memcpy(b + o, mi, mlen);
	} else {
		b[15] = 0;
		/* string headers at 0x1800 and 0x1810, data at 0x1900 and 0x1a00 */
		uint64_t vptr = 0x400000 + 0x1800, mptr = 0x400000 + 0x1810;
		memcpy(b + 16, &vptr, 8);
		memcpy(b + 24, &mptr, 8);
		uint64_t hdr[4] = { 0x400000 + 0x1900, vlen, 0x400000 + 0x1a00, mlen };
		memcpy(img + 0x1800, hdr, sizeof(hdr));
		memcpy(img + 0x1900, version, vlen);
		memcpy(img + 0x1a00, mi, mlen);
	}
	if (with_sections) {
		/* section 0 null, 1 .shstrtab, 2 .go.buildinfo */
		const char names[] = "\0.shstrtab\0.go.buildinfo";
		memcpy(img + 0x3c00, names, sizeof(names));
		Elf64_Shdr *sh = (Elf64_Shdr *)(img + 0x3d00);
		sh[1].sh_name = 1;
		sh[1].sh_offset = 0x3c00;
		sh[1].sh_size = sizeof(names);
		sh[2].sh_name = 11;
		sh[2].sh_offset = 0x1000;
		sh[2].sh_size = 0x2c00;
		eh->e_shoff = 0x3d00;
		eh->e_shentsize = sizeof(Elf64_Shdr);
		eh->e_shnum = 3;
		eh->e_shstrndx = 1;
	}
	return sizeof(img);
}

static int parse(size_t n, struct gt_goinfo *g)
{
	struct gt_elf_src s = { .fd = -1, .buf = img, .len = n };
	gt_err_t err = NULL;
	int r = gt_goinfo_read(&s, g, &err);
	gt_err_free(&err);
	return r;
}

/* Version strings as real toolchains write them: experiments (" X:" before
 * Go 1.26, "-X:" from it), vendor builds, pre-releases; and what is not a
 * release. */
static void versions(void)
{
	static const struct {
		const char *v;
		int major, minor, patch;
	} t[] = {
		{ "go1.25.3 X:greenteagc", 1, 25, 3 },
		{ "go1.26.8-X:nogreenteagc", 1, 26, 8 },
		{ "go1.26.8-X:nogreenteagc,jsonv2,simd,runtimesecret,goroutineleakprofile", 1, 26, 8 },
		{ "go1.22.9 (Red Hat 1.22.9-2.el9_5)", 1, 22, 9 },
		{ "go1.21.0-bigcorp", 1, 21, 0 },
		{ "go1.26rc1", 1, 26, 0 },
		{ "go1.25beta2", 1, 25, 0 },
		{ "go1.26rc2-X:jsonv2", 1, 26, 0 },
		{ "devel go1.27-abcdef1234 Tue Jan 6 10:00:00 2026 +0000", 1, 27, 0 },
		{ "devel +abcdef1234 Tue Jan 6 10:00:00 2020 +0000", -1, -1, -1 },
		{ "devel go1.x-abc", -1, -1, -1 },
		{ "go1.25x", -1, -1, -1 },
		{ "go1.26rc", -1, -1, -1 },
		{ "go1.22.9rc1", -1, -1, -1 },
		{ "go1.2.3.4", -1, -1, -1 },
		{ "go1.1000000", -1, -1, -1 },
		{ "go1", -1, -1, -1 },
		{ "go1.", -1, -1, -1 },
		{ "go.1.2", -1, -1, -1 },
	};
	const char *body = "path\tx\nbuild\tGOOS=linux\n";
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct gt_goinfo g;
		int r = parse(synth(1, 1, t[i].v, body), &g);
		char want[32];
		if (t[i].major < 0)
			snprintf(want, sizeof(want), "not a release");
		else
			snprintf(want, sizeof(want), "%d.%d.%d", t[i].major, t[i].minor, t[i].patch);
		ok(r == 0 && g.is_go && g.major == t[i].major && g.minor == t[i].minor && g.patch == t[i].patch &&
			   strcmp(g.version, t[i].v) == 0,
		   "version \"%s\": %s (got %d.%d.%d)", t[i].v, want, g.major, g.minor, g.patch);
	}
}

static struct gt_goinfo *godebug_of(const char *list)
{
	static struct gt_goinfo g;
	static char body[0x1f00];
	snprintf(body, sizeof(body), "path\tx\nbuild\tDefaultGODEBUG=%s\nbuild\tCGO_ENABLED=0\n", list);
	if (parse(synth(1, 1, "go1.26.8", body), &g) != 0)
		memset(&g, 0, sizeof(g));
	return &g;
}

/* DefaultGODEBUG longer than the old 512-byte buffer (real), and longer
 * than the new one (synthetic): whole items or nothing. */
static void long_godebug(void)
{
	/* go version -m of a Go 1.26.8 binary whose go.mod says go 1.19 */
	const char *real = "asynctimerchan=1,containermaxprocs=0,cryptocustomrand=1,decoratemappings=0,"
			   "gotestjsonbuildtext=1,gotypesalias=0,httpcookiemaxnum=0,httplaxcontentlength=1,"
			   "httpmuxgo121=1,httpservecontentkeepheaders=1,multipathtcp=0,panicnil=1,randseednop=0,"
			   "rsa1024min=0,tls10server=1,tls3des=1,tlsmlkem=0,tlsrsakex=1,tlssecpmlkem=0,tlssha1=1,"
			   "tlsunsafeekm=1,updatemaxprocs=0,urlmaxqueryparams=0,urlstrictcolons=0,"
			   "winreadlinkvolume=0,winsymlink=0,x509keypairleaf=0,x509negativeserial=1,x509rsacrt=0,"
			   "x509sha256skid=0,x509usepolicies=0";
	struct gt_goinfo *g = godebug_of(real);
	char v[16];
	is_str(g->default_godebug, real, "DefaultGODEBUG of %zu bytes (Go 1.26, go.mod go 1.19) read whole",
	       strlen(real));
	ok(!g->default_godebug_cut && gt_godebug_value(g->default_godebug, "x509usepolicies", v, sizeof(v)) &&
		   strcmp(v, "0") == 0 && gt_godebug_value(g->default_godebug, "updatemaxprocs", v, sizeof(v)),
	   "  its last items are there");
	ok(strcmp(g->cgo_enabled, "0") == 0, "  and the settings after it");

	const size_t cap = sizeof(g->default_godebug);
	static char list[0x1e00];
	size_t n = 0;
	for (int i = 0; n + 16 < sizeof(list) && n < 2 * cap; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%skey%d=%d", i ? "," : "", i, i % 7);
	g = godebug_of(list);
	size_t got = strlen(g->default_godebug);
	ok(g->is_go && g->default_godebug_cut && got > cap - 16 && got < cap &&
		   strncmp(g->default_godebug, list, got) == 0 && list[got] == ',',
	   "a %zu-byte DefaultGODEBUG is cut after its last whole item (%zu bytes kept)", n, got);
	ok(strcmp(g->cgo_enabled, "0") == 0, "  and the settings after it are still read");

	/* the item ends exactly where the buffer does */
	memset(list, 'x', cap - 1);
	memcpy(list, "a=", 2);
	snprintf(list + cap - 1, sizeof(list) - (cap - 1), ",b=1");
	g = godebug_of(list);
	ok(g->default_godebug_cut && strlen(g->default_godebug) == cap - 1 &&
		   strncmp(g->default_godebug, list, cap - 1) == 0,
	   "an item that just fits is kept, the next one dropped");
	/* one item longer than the buffer: nothing rather than half of it */
	memset(list, 'z', cap + 100);
	memcpy(list, "c=1,d=", 6);
	list[cap + 100] = '\0';
	g = godebug_of(list);
	is_str(g->default_godebug, "c=1", "an item that straddles the end is dropped whole");
	memset(list, 'z', cap + 100);
	memcpy(list, "ee=", 3);
	g = godebug_of(list);
	ok(g->default_godebug_cut && g->default_godebug[0] == '\0', "a single item too long: empty, marked cut");
}

int main(void)
{
	struct gt_goinfo g;
	gt_err_t err = NULL;
	const char *system_go[] = { "/usr/sbin/runc", "/usr/bin/containerd", "/usr/bin/ctr", NULL };
	int seen = 0;
	for (const char **p = system_go; *p != NULL; p++) {
		int fd = open(*p, O_RDONLY);
		if (fd < 0)
			continue;
		seen++;
		ok(gt_goinfo_read_fd(fd, &g, &err) == 0 && g.is_go, "%s is a Go binary", *p);
		ok(g.major == 1 && g.minor >= 15, "%s: version %s parsed", *p, g.version);
		ok(strcmp(g.goos, "linux") == 0 && g.goarch[0] != '\0', "%s: GOOS/GOARCH from the module info", *p);
		gt_err_free(&err);
		close(fd);
	}
	if (seen == 0)
		ok(1, "# SKIP no Go binary installed here (runc, containerd)");
	int fd = open("/bin/ls", O_RDONLY);
	ok(gt_goinfo_read_fd(fd, &g, &err) == 0 && !g.is_go, "/bin/ls is ELF but not Go");
	close(fd);

	const char *body = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n"
			   "build\tDefaultGODEBUG=panicnil=1,containermaxprocs=0\nbuild\tCGO_ENABLED=0\n"
			   "build\tGOARCH=arm64\nbuild\tGOOS=linux\n";
	ok(parse(synth(1, 1, "go1.25.3", body), &g) == 0 && g.is_go, "inline form with section headers");
	is_str(g.version, "go1.25.3", "  version");
	ok(g.major == 1 && g.minor == 25 && g.patch == 3, "  version numbers");
	is_str(g.mod, "example.com/app", "  main module");
	is_str(g.default_godebug, "panicnil=1,containermaxprocs=0", "  DefaultGODEBUG");
	is_str(g.cgo_enabled, "0", "  CGO_ENABLED");
	is_str(g.goarch, "arm64", "  GOARCH");
	char v[16];
	ok(gt_godebug_value(g.default_godebug, "containermaxprocs", v, sizeof(v)) && strcmp(v, "0") == 0,
	   "  containermaxprocs=0 found");
	ok(gt_goinfo_at_least(&g, 1, 25) && !gt_goinfo_at_least(&g, 1, 26), "  version comparison");

	ok(parse(synth(1, 0, "go1.21.0", body), &g) == 0 && g.is_go && g.minor == 21,
	   "inline form without section headers: found in the data segment");
	/* an internally linked PIE: .data.rel.ro in a writable segment of its
	 * own before the one that holds the build info */
	size_t len = synth(1, 0, "go1.26.8", body);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + eh->e_phoff);
	eh->e_phnum = 2;
	ph[1] = ph[0];
	ph[0].p_filesz = ph[0].p_memsz = 0x1000;
	ph[1].p_offset = 0x1000;
	ph[1].p_vaddr += 0x1000;
	ph[1].p_filesz = ph[1].p_memsz = len - 0x1000;
	ok(parse(len, &g) == 0 && g.is_go && g.minor == 26,
	   "without section headers: found in the second writable segment (internally linked PIE)");
	ok(parse(synth(0, 1, "go1.17.13", "path\told/app\nmod\told/app\t(devel)\t\n"), &g) == 0 && g.is_go,
	   "pointer form (Go < 1.18)");
	is_str(g.version, "go1.17.13", "  version through the pointers");
	is_str(g.path, "old/app", "  module info through the pointers");
	ok(!gt_goinfo_at_least(&g, 1, 19), "  older than 1.19");
	ok(parse(synth(1, 1, "go1.10", body), &g) == 0 && g.minor == 10 && g.patch == 0, "go1.10 (no patch)");
	ok(parse(synth(1, 1, "devel go1.24-abcdef", body), &g) == 0 && g.major == 1 && g.minor == 24 && g.devel,
	   "a devel version counts as the release it leads to, marked devel");
	ok(parse(synth(1, 1, "go1.24.1", body), &g) == 0 && !g.devel, "a release is not devel");
	versions();
	long_godebug();
	ok(!gt_godebug_value("a=1,b=2", "c", v, sizeof(v)) && gt_godebug_value("x=1,x=2", "x", v, sizeof(v)) &&
		   strcmp(v, "2") == 0,
	   "GODEBUG lookup: absent key, last one wins");

	int total = 0;
	srand(11);
	for (int form = 0; form < 2; form++) {
		size_t n = synth(form, 1, "go1.22.1", body);
		unsigned char pristine[sizeof(img)];
		memcpy(pristine, img, n);
		for (size_t cut = 0; cut < n; cut += 97, total++) {
			memcpy(img, pristine, n);
			parse(cut, &g);
		}
		for (int i = 0; i < 3000; i++, total++) {
			memcpy(img, pristine, n);
			for (int k = 0; k < 4; k++) {
				/* aim at the headers and the build info */
				size_t at = (size_t)rand() % 3 == 0 ? (size_t)rand() % 256 : 0x1000 + (size_t)rand() % 64;
				img[at] = (unsigned char)rand();
			}
			parse(n, &g);
		}
	}
	ok(total > 6000, "%d truncated and garbled images: no crash", total);
	gt_err_free(&err);
	return tap_done();
}
