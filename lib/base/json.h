/* yajl trees with the bounds and checks every gotune input needs. */
#ifndef GOTUNE_JSON_H
#define GOTUNE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "err.h"

#define GT_JSON_MAX_DEPTH 64

static inline void gt_yajl_free_p(yajl_val *v) { yajl_tree_free(*v); }
#define cleanup_yajl __attribute__((cleanup(gt_yajl_free_p)))

/* Parses NUL-terminated text of length len: strict JSON (no comments, no
 * trailing data, valid UTF-8), nesting at most GT_JSON_MAX_DEPTH. Errors
 * name the byte offset. what names the input in messages. */
int gt_json_parse(const char *text, size_t len, const char *what, yajl_val *out, gt_err_t *err);
/* The same, with the offset of the error in *where (SIZE_MAX when the
 * error has no place, such as out of memory). */
int gt_json_parse_at(const char *text, size_t len, const char *what, yajl_val *out, size_t *where, gt_err_t *err);

/* Looks up key in an object. Returns 1 and sets *out when present once, 0
 * when absent (or obj is not an object), -1 when the key is duplicated:
 * engines written in Go take the last one, yajl the first, so a duplicate
 * makes the meaning unclear and is treated as malformed. */
int gt_json_get(yajl_val obj, const char *key, yajl_val *out);

/* Strict integer parsing from a yajl number's text: no fraction, no
 * exponent, in range. Returns 0 on success. */
int gt_json_int64(yajl_val v, int64_t *out);
int gt_json_uint64(yajl_val v, uint64_t *out);

/* Walks a path of object keys; NULL if any step is absent, duplicated, or
 * not an object. */
yajl_val gt_json_path(yajl_val root, const char *const *path);

/* yajl_gen helpers for NUL-terminated strings. */
void gt_gen_str(yajl_gen g, const char *s);
void gt_gen_kv(yajl_gen g, const char *k, const char *v);

#endif
