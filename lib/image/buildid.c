#include "buildid.h"

#include <stdint.h>
#include <string.h>

#define NT_GNU_BUILD_ID 3
#define NT_GO_BUILDID 4
/* Notes are small; a segment larger than this is not worth walking. */
#define NOTE_SEGMENT_MAX 65536u
#define ID_BYTES_MAX 128u	/* Go's is 83 bytes of text */

static uint32_t word(const unsigned char *p, int big)
{
	return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		   : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static void hex(const char *prefix, const unsigned char *d, size_t n, char out[GT_BUILD_ID_MAX])
{
	static const char digits[] = "0123456789abcdef";
	size_t k = strlen(prefix);
	memcpy(out, prefix, k);
	if (n > ID_BYTES_MAX)
		n = ID_BYTES_MAX;
	for (size_t i = 0; i < n; i++) {
		out[k++] = digits[d[i] >> 4];
		out[k++] = digits[d[i] & 15];
	}
	out[k] = '\0';
}

int gt_build_id(const struct gt_elf_src *s, const struct gt_elf *e, char out[GT_BUILD_ID_MAX])
{
	char go[GT_BUILD_ID_MAX] = "";
	for (size_t i = 0; i < e->n_notes; i++) {
		uint64_t len = e->notes[i].filesz, a = e->notes[i].align;
		if (len > NOTE_SEGMENT_MAX)
			continue;
		unsigned char seg[NOTE_SEGMENT_MAX];
		if (gt_elf_src_read(s, e->notes[i].offset, seg, (size_t)len) < 0)
			continue;
		for (uint64_t off = 0; off + 12 <= len;) {
			uint32_t namesz = word(seg + off, e->big_endian), descsz = word(seg + off + 4, e->big_endian),
				 type = word(seg + off + 8, e->big_endian);
			uint64_t name = off + 12, desc = name + round_up(namesz, a), next = desc + round_up(descsz, a);
			if (namesz > len || descsz > len || next > len || desc + descsz > len)
				break;
			if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(seg + name, "GNU", 4) == 0 && descsz > 0) {
				hex("gnu:", seg + desc, descsz, out);
				return 1;	/* the GNU one wins: it names the whole link */
			}
			if (type == NT_GO_BUILDID && (namesz == 3 || namesz == 4) && memcmp(seg + name, "Go", 3) == 0 &&
			    descsz > 0 &&
			    go[0] == '\0')
				hex("go:", seg + desc, descsz, go);
			if (next <= off)
				break;
			off = next;
		}
	}
	if (go[0] != '\0') {
		memcpy(out, go, strlen(go) + 1);
		return 1;
	}
	out[0] = '\0';
	return 0;
}

int gt_build_id_fd(int fd, char out[GT_BUILD_ID_MAX])
{
	out[0] = '\0';
	struct gt_elf e;
	struct gt_elf_src src;
	gt_err_t err = NULL;
	int r = 0;
	if (gt_elf_src_open(fd, &src, &err) < 0) {
		gt_err_free(&err);
		return 0;
	}
	if (gt_elf_read_headers(&src, &e, &err) == 0) {
		r = gt_build_id(&src, &e, out);
		gt_elf_free(&e);
	}
	gt_err_free(&err);
	gt_elf_src_release(&src);
	return r;
}
