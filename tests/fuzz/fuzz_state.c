/* OCI state JSON as hooks get it on stdin, and working-set profiles. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct gt_state st;
	gt_err_t err = NULL;
	gt_state_parse(text, size, &st, &err);
	gt_err_free(&err);
	static struct gt_profile prof;
	gt_profile_parse(text, size, &prof, &err);
	gt_profile_free(&prof);
	gt_err_free(&err);
	free(text);
	return 0;
}
