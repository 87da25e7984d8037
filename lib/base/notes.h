/* A short list of human-readable warnings gathered while planning (a
 * malformed limit, an unknown annotation); they go into the plan and the
 * log line instead of stopping anything. */
#ifndef GOTUNE_NOTES_H
#define GOTUNE_NOTES_H

#include <stddef.h>

#define GT_NOTES_MAX 8
#define GT_NOTE_LEN 160

struct gt_notes {
	size_t n;
	size_t dropped;
	char text[GT_NOTES_MAX][GT_NOTE_LEN];
};

void gt_note(struct gt_notes *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
