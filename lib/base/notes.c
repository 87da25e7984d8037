#include "notes.h"

#include <stdarg.h>
#include <stdio.h>

void gt_note(struct gt_notes *notes, const char *fmt, ...)
{
	if (notes->n == GT_NOTES_MAX) {
		notes->dropped++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(notes->text[notes->n++], GT_NOTE_LEN, fmt, ap);
	va_end(ap);
}
