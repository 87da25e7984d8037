#include "pwmode.h"

#include <stddef.h>
#include <string.h>

static const char *const mode_names[] = { "off", "willneed", "populate", "background" };

int gt_pw_mode_parse(const char *s, enum gt_pw_mode *mode)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*mode = (enum gt_pw_mode)i;
			return 0;
		}
	}
	return -1;
}

const char *gt_pw_mode_name(enum gt_pw_mode mode)
{
	if (mode == GT_PW_DETACHED)
		return "willneed";
	return (size_t)mode < sizeof(mode_names) / sizeof(mode_names[0]) ? mode_names[mode] : "?";
}
