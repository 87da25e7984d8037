/* Working-set profiles past the parser: what a recorder does with what it
 * reads. The input is a profile (parsed, merged into itself and into an
 * empty one, fitted), then its tail drives a stream of range additions
 * (offset, length, time) against the per-file and total bounds, which
 * coarsen instead of failing. Every file must end within its bounds, its
 * ranges sorted and disjoint, and no range may reach past its file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct gt_profile *p)
{
	size_t total = 0;
	if (p->n_files > GT_PROFILE_MAX_FILES)
		abort();
	for (size_t i = 0; i < p->n_files; i++) {
		const struct gt_profile_file *f = &p->files[i];
		if (f->n_ranges > GT_PROFILE_MAX_RANGES)
			abort();
		total += f->n_ranges;
		for (size_t k = 0; k < f->n_ranges; k++) {
			const struct gt_range *r = &f->ranges[k];
			if (r->len == 0 || r->off >= f->size || r->len > f->size - r->off)
				abort();
			if (k > 0 && f->ranges[k - 1].off + f->ranges[k - 1].len > r->off)
				abort();
		}
	}
	if (total > GT_PROFILE_MAX_TOTAL_RANGES)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gt_profile a, b, c;
	gt_err_t err = NULL;
	/* The profile is the text up to a NUL; what follows drives adds. */
	size_t text = strnlen((const char *)data, size);
	if (gt_profile_parse((const char *)data, text, &a, &err) == 0) {
		gt_profile_parse((const char *)data, text, &b, &err);
		gt_profile_merge(&a, &b, &err);
		memset(&c, 0, sizeof(c));
		gt_profile_merge(&c, &a, &err);
		uint64_t all = 0;
		if (gt_profile_new_bytes(&a, &c, 64 << 10, &all) > all)
			abort();
		gt_profile_fit(&a);
		gt_profile_fit(&c);
		check(&a);
		check(&c);
		gt_profile_free(&b);
		gt_profile_free(&c);
	}
	gt_err_free(&err);
	gt_profile_free(&a);
	/* 12 bytes a burst: file (1), offset in pages (3), a count (2) of
	 * one-page ranges every other page from there, their first time (2),
	 * and the file's size in pages (4): a few bursts pass the bounds. */
	memset(&a, 0, sizeof(a));
	/* At most 20 000 ranges an input: the cost of each is what is
	 * checked (amortized O(log n)), not how many a fuzzer can ask for. */
	unsigned budget = 20000;
	for (size_t i = text + 1; i + 12 <= size && budget > 0; i += 12) {
		const uint8_t *o = data + i;
		char path[16] = "/f";
		path[2] = (char)('a' + o[0] % 26);
		uint64_t off = (uint64_t)(o[1] | o[2] << 8 | o[3] << 16) * 4096;
		unsigned count = (unsigned)(o[4] | o[5] << 8) % 8192;
		count = count < budget ? count : budget;
		budget -= count;
		uint32_t t = (uint32_t)(o[6] | o[7] << 8);
		uint64_t fsize = (uint64_t)(o[8] | o[9] << 8 | o[10] << 16 | (uint32_t)o[11] << 24) * 4096 + 4096;
		/* A file keeps the size it was first added with, as in a recording. */
		for (unsigned j = 0; j < count; j++) {
			gt_profile_add_at(&a, path, fsize, 1, off + (uint64_t)j * 8192, 4096, t + j % 7, &err);
			gt_err_free(&err);
		}
	}
	for (size_t i = 0; i < a.n_files; i++)
		gt_profile_file_normalize(&a.files[i]);
	gt_profile_fit(&a);
	check(&a);
	gt_profile_free(&a);
	return 0;
}
