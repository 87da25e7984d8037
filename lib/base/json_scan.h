/* Byte-level navigation of JSON text that yajl has already accepted.
 *
 * yajl gives values but not where they sit in the text; gotune edits only
 * process.env and must leave every other byte of config.json as the engine
 * wrote it (number text, escapes, key order, whitespace), so the edit is a
 * splice at offsets found here. */
#ifndef GOTUNE_JSON_SCAN_H
#define GOTUNE_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>

struct gt_span {
	size_t start;	/* offset of the first byte of the value */
	size_t end;	/* offset one past its last byte */
};

/* Deepest nesting of objects and arrays; a bound checked before yajl builds
 * a tree (yajl frees trees recursively, so depth is stack depth). Returns the
 * depth, and the offset where max_depth was first exceeded in *where. */
unsigned gt_json_depth(const char *s, size_t len, unsigned max_depth, size_t *where);

size_t gt_json_skip_ws(const char *s, size_t len, size_t pos);

/* Offset just past the value starting at pos (valid JSON assumed). */
size_t gt_json_value_end(const char *s, size_t len, size_t pos);

/* Finds member key of the object starting at obj (the '{'). Returns how many
 * members have that key (0, 1, or more for a duplicate) and the span of the
 * last one's value. Keys are compared after unescaping. */
unsigned gt_json_member(const char *s, size_t len, size_t obj, const char *key, struct gt_span *val);

/* The same, also giving the offset of the last match's key (its opening
 * quote) in *key_at when key_at is not NULL. */
unsigned gt_json_member_key(const char *s, size_t len, size_t obj, const char *key, size_t *key_at,
			    struct gt_span *val);

/* Line and column (both from 1; a column counts characters, not UTF-8
 * bytes, as editors do) of byte off in s: what a person looks for when an
 * error names a place in a file they wrote. */
void gt_json_line_col(const char *s, size_t len, size_t off, unsigned *line, unsigned *col);

/* Calls fn for each element of the array starting at arr (the '['). */
void gt_json_elements(const char *s, size_t len, size_t arr,
		      void (*fn)(void *ctx, struct gt_span elem), void *ctx);

/* True when the object or array starting at pos has no members. */
bool gt_json_is_empty_container(const char *s, size_t len, size_t pos);

/* Appends the JSON string literal for str (quotes included) to out, which
 * must have room for 6 * strlen(str) + 3 bytes. Returns the length written. */
size_t gt_json_quote(const char *str, char *out);

#endif
