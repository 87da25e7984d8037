#include "json.h"
#include "json_scan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

/* yajl_tree_parse accepts comments, which the engines' JSON decoders do
 * not; a strict pass first also gives the byte offset of an error. */
static int strict_check(const char *text, size_t len, const char *what, size_t *where, gt_err_t *err)
{
	yajl_handle h = yajl_alloc(NULL, NULL, NULL);
	if (h == NULL)
		return gt_error(err, ENOMEM, "%s", what);
	yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
	/* yajl_complete_parse parses an empty buffer, so its byte count is
	 * of that buffer: a document that ends too early fails at its end. */
	bool at_end = false;
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		at_end = true;
	}
	int ret = 0;
	if (st != yajl_status_ok) {
		size_t off = at_end ? len : yajl_get_bytes_consumed(h);
		*where = off;
		unsigned char *m = yajl_get_error(h, 0, (const unsigned char *)text, len);
		char *nl = m != NULL ? strchr((char *)m, '\n') : NULL;
		if (nl != NULL)
			*nl = '\0';
		ret = gt_error(err, 0, "%s: invalid JSON at byte %zu: %s", what, off,
			       m != NULL ? (char *)m : "parse error");
		if (m != NULL)
			yajl_free_error(h, m);
	}
	yajl_free(h);
	return ret;
}

int gt_json_parse(const char *text, size_t len, const char *what, yajl_val *out, gt_err_t *err)
{
	size_t where;
	return gt_json_parse_at(text, len, what, out, &where, err);
}

int gt_json_parse_at(const char *text, size_t len, const char *what, yajl_val *out, size_t *where, gt_err_t *err)
{
	*out = NULL;
	*where = SIZE_MAX;
	const char *nul = memchr(text, '\0', len);
	if (nul != NULL) {
		*where = (size_t)(nul - text);
		return gt_error(err, 0, "%s: invalid JSON at byte %zu: NUL byte", what, *where);
	}
	size_t deep = 0;
	if (gt_json_depth(text, len, GT_JSON_MAX_DEPTH, &deep) > GT_JSON_MAX_DEPTH) {
		*where = deep;
		return gt_error(err, 0, "%s: nested deeper than %d levels at byte %zu", what,
				GT_JSON_MAX_DEPTH, deep);
	}
	if (strict_check(text, len, what, where, err) < 0)
		return -1;
	char ebuf[256] = "";
	*out = yajl_tree_parse(text, ebuf, sizeof(ebuf));
	if (*out == NULL)
		return gt_error(err, 0, "%s: %s", what, ebuf[0] != '\0' ? ebuf : "out of memory");
	return 0;
}

int gt_json_get(yajl_val obj, const char *key, yajl_val *out)
{
	*out = NULL;
	if (!YAJL_IS_OBJECT(obj))
		return 0;
	int found = 0;
	for (size_t i = 0; i < obj->u.object.len; i++) {
		if (strcmp(obj->u.object.keys[i], key) == 0) {
			if (found)
				return -1;
			found = 1;
			*out = obj->u.object.values[i];
		}
	}
	return found;
}

yajl_val gt_json_path(yajl_val root, const char *const *path)
{
	yajl_val v = root;
	for (; *path != NULL; path++) {
		yajl_val next;
		if (gt_json_get(v, *path, &next) != 1)
			return NULL;
		v = next;
	}
	return v;
}

static bool is_plain_integer(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int gt_json_int64(yajl_val v, int64_t *out)
{
	if (!YAJL_IS_NUMBER(v) || !is_plain_integer(YAJL_GET_NUMBER(v)))
		return -1;
	errno = 0;
	char *end;
	long long x = strtoll(YAJL_GET_NUMBER(v), &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = x;
	return 0;
}

int gt_json_uint64(yajl_val v, uint64_t *out)
{
	if (!YAJL_IS_NUMBER(v) || !is_plain_integer(YAJL_GET_NUMBER(v)) || YAJL_GET_NUMBER(v)[0] == '-')
		return -1;
	errno = 0;
	char *end;
	unsigned long long x = strtoull(YAJL_GET_NUMBER(v), &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = x;
	return 0;
}

void gt_gen_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void gt_gen_kv(yajl_gen g, const char *k, const char *v)
{
	gt_gen_str(g, k);
	gt_gen_str(g, v);
}
