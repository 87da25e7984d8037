#include "json_scan.h"

#include <string.h>

unsigned gt_json_depth(const char *s, size_t len, unsigned max_depth, size_t *where)
{
	unsigned depth = 0, deepest = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > deepest) {
				deepest = depth;
				if (deepest > max_depth) {
					if (where != NULL)
						*where = i;
					return deepest;
				}
			}
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return deepest;
}

size_t gt_json_skip_ws(const char *s, size_t len, size_t pos)
{
	/* yajl also takes \v and \f for whitespace (JSON does not): the scan
	 * must skip exactly what yajl skipped, or the offsets drift. */
	while (pos < len && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\v' ||
			     s[pos] == '\f'))
		pos++;
	return pos;
}

static size_t string_end(const char *s, size_t len, size_t pos)
{
	for (pos++; pos < len; pos++) {
		if (s[pos] == '\\')
			pos++;
		else if (s[pos] == '"')
			return pos + 1;
	}
	return len;
}

size_t gt_json_value_end(const char *s, size_t len, size_t pos)
{
	if (pos >= len)
		return len;
	if (s[pos] == '"')
		return string_end(s, len, pos);
	if (s[pos] == '{' || s[pos] == '[') {
		unsigned depth = 0;
		while (pos < len) {
			char c = s[pos];
			if (c == '"') {
				pos = string_end(s, len, pos);
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return pos + 1;
			pos++;
		}
		return len;
	}
	/* number, true, false, null */
	while (pos < len && strchr(",}] \t\r\n\v\f", s[pos]) == NULL)
		pos++;
	return pos;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Compares the raw string literal s[start..end) (quotes included) with an
 * ASCII key, resolving escapes: "\u0070rocess" is still "process". */
static bool key_equals(const char *s, size_t start, size_t end, const char *key)
{
	size_t i = start + 1, stop = end - 1;
	for (; i < stop; key++) {
		char c = s[i];
		if (c == '\\' && i + 1 < stop) {
			char e = s[i + 1];
			i += 2;
			switch (e) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': {
				if (i + 4 > stop)
					return false;
				int v = 0;
				for (int k = 0; k < 4; k++) {
					int h = hexval(s[i + (size_t)k]);
					if (h < 0)
						return false;
					v = v * 16 + h;
				}
				i += 4;
				if (v == 0 || v > 0x7f)
					return false;
				c = (char)v;
				break;
			}
			default: c = e; break;
			}
		} else {
			i++;
		}
		if (*key == '\0' || *key != c)
			return false;
	}
	return *key == '\0';
}

unsigned gt_json_member(const char *s, size_t len, size_t obj, const char *key, struct gt_span *val)
{
	return gt_json_member_key(s, len, obj, key, NULL, val);
}

unsigned gt_json_member_key(const char *s, size_t len, size_t obj, const char *key, size_t *key_at,
			    struct gt_span *val)
{
	unsigned found = 0;
	size_t pos = gt_json_skip_ws(s, len, obj + 1);
	while (pos < len && s[pos] == '"') {
		size_t kstart = pos, kend = string_end(s, len, pos);
		bool match = key_equals(s, pos, kend, key);
		pos = gt_json_skip_ws(s, len, kend);
		pos = gt_json_skip_ws(s, len, pos + 1); /* ':' */
		size_t vend = gt_json_value_end(s, len, pos);
		if (match) {
			found++;
			if (key_at != NULL)
				*key_at = kstart;
			val->start = pos;
			val->end = vend;
		}
		pos = gt_json_skip_ws(s, len, vend);
		if (pos < len && s[pos] == ',')
			pos = gt_json_skip_ws(s, len, pos + 1);
	}
	return found;
}

void gt_json_elements(const char *s, size_t len, size_t arr,
		      void (*fn)(void *ctx, struct gt_span elem), void *ctx)
{
	size_t pos = gt_json_skip_ws(s, len, arr + 1);
	while (pos < len && s[pos] != ']') {
		size_t end = gt_json_value_end(s, len, pos);
		fn(ctx, (struct gt_span){ pos, end });
		pos = gt_json_skip_ws(s, len, end);
		if (pos < len && s[pos] == ',')
			pos = gt_json_skip_ws(s, len, pos + 1);
	}
}

bool gt_json_is_empty_container(const char *s, size_t len, size_t pos)
{
	size_t next = gt_json_skip_ws(s, len, pos + 1);
	return next < len && (s[next] == '}' || s[next] == ']');
}

size_t gt_json_quote(const char *str, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	out[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)str; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			out[n++] = '\\';
			out[n++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			out[n++] = '\\';
			out[n++] = 'u';
			out[n++] = '0';
			out[n++] = '0';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 0xf];
		} else {
			out[n++] = (char)*p;
		}
	}
	out[n++] = '"';
	out[n] = '\0';
	return n;
}

void gt_json_line_col(const char *s, size_t len, size_t off, unsigned *line, unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80) {
			(*col)++;	/* a character, not a UTF-8 continuation byte */
		}
	}
}
