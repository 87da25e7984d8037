/* Policy documents and annotation values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "annotations.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_value;
static const char *get(void *ctx, const char *key)
{
	(void)ctx;
	(void)key;
	return fuzz_value;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct gt_policy p;
	gt_policy_defaults(&p);
	gt_err_t err = NULL;
	gt_policy_parse(&p, text, size, "fuzz", &err);
	gt_err_free(&err);
	/* the same bytes as every annotation's value */
	struct gt_notes notes = { 0 };
	fuzz_value = text;
	gt_annotations_apply(&p.settings, get, NULL, &notes);
	free(text);
	return 0;
}
