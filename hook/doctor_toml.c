/* The few TOML forms the engines' configs use, read without a library:
 * enough to find which runtime binary an engine calls and which hooks
 * directories it reads. Anything else is stepped over. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "doctor.h"

struct rd {
	const char *s;
	size_t len, pos;
	unsigned line;
};

static void skip_blank(struct rd *r, bool newlines)
{
	while (r->pos < r->len) {
		char c = r->s[r->pos];
		if (c == ' ' || c == '\t' || c == '\r') {
			r->pos++;
		} else if (c == '\n' && newlines) {
			r->line++;
			r->pos++;
		} else if (c == '#') {
			while (r->pos < r->len && r->s[r->pos] != '\n')
				r->pos++;
		} else {
			break;
		}
	}
}

/* A string at pos ("basic", 'literal'); multi-line forms are stepped over
 * and read as "". Returns 0, -1 when unterminated. */
static int string(struct rd *r, char *out, size_t outsz)
{
	char q = r->s[r->pos];
	size_t n = 0;
	if (r->pos + 2 < r->len && r->s[r->pos + 1] == q && r->s[r->pos + 2] == q) {
		const char *end = NULL;
		for (size_t i = r->pos + 3; i + 2 < r->len && end == NULL; i++)
			if (r->s[i] == q && r->s[i + 1] == q && r->s[i + 2] == q)
				end = r->s + i;
		if (end == NULL)
			return -1;
		for (const char *p = r->s + r->pos; p < end; p++)
			r->line += *p == '\n';
		r->pos = (size_t)(end - r->s) + 3;
		out[0] = '\0';
		return 0;
	}
	for (r->pos++; r->pos < r->len; r->pos++) {
		char c = r->s[r->pos];
		if (c == '\n')
			return -1;
		if (c == q) {
			r->pos++;
			out[n < outsz ? n : outsz - 1] = '\0';
			return 0;
		}
		if (c == '\\' && q == '"' && r->pos + 1 < r->len) {
			c = r->s[++r->pos];
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
		}
		if (n + 1 < outsz)
			out[n++] = c;
	}
	return -1;
}

/* A key or a table name: segments separated by dots, each bare or quoted. */
static int key_path(struct rd *r, char segs[][256], size_t *n, char end)
{
	*n = 0;
	for (;;) {
		skip_blank(r, false);
		if (r->pos >= r->len || *n == DOCTOR_TOML_SEGS)
			return -1;
		char c = r->s[r->pos];
		if (c == '"' || c == '\'') {
			if (string(r, segs[*n], sizeof(segs[*n])) < 0)
				return -1;
		} else {
			size_t k = 0;
			while (r->pos < r->len && (isalnum((unsigned char)r->s[r->pos]) || r->s[r->pos] == '_' ||
						   r->s[r->pos] == '-')) {
				if (k + 1 < sizeof(segs[*n]))
					segs[*n][k++] = r->s[r->pos];
				r->pos++;
			}
			if (k == 0)
				return -1;
			segs[*n][k] = '\0';
		}
		(*n)++;
		skip_blank(r, false);
		if (r->pos < r->len && r->s[r->pos] == '.') {
			r->pos++;
			continue;
		}
		return r->pos < r->len && r->s[r->pos] == end ? 0 : -1;
	}
}

/* Steps over a value it does not keep, brackets and strings included. */
static int skip_value(struct rd *r)
{
	int depth = 0;
	char tmp[8];
	while (r->pos < r->len) {
		char c = r->s[r->pos];
		if (c == '"' || c == '\'') {
			if (string(r, tmp, sizeof(tmp)) < 0)
				return -1;
			continue;
		}
		if (c == '[' || c == '{')
			depth++;
		else if ((c == ']' || c == '}') && depth > 0 && --depth == 0) {
			r->pos++;
			return 0;
		} else if (depth == 0 && (c == '\n' || c == ',' || c == ']' || c == '}' || c == '#'))
			return 0;
		if (c == '\n')
			r->line++;
		r->pos++;
	}
	return depth == 0 ? 0 : -1;
}

static int value(struct rd *r, struct doctor_toml_value *v)
{
	memset(v, 0, sizeof(*v));
	v->kind = TOML_OTHER;
	char c = r->pos < r->len ? r->s[r->pos] : '\0';
	if (c == '"' || c == '\'') {
		v->kind = TOML_STRING;
		return string(r, v->str, sizeof(v->str));
	}
	if (c == '[') {
		v->kind = TOML_ARRAY;
		r->pos++;
		for (;;) {
			skip_blank(r, true);
			if (r->pos >= r->len)
				return -1;
			c = r->s[r->pos];
			if (c == ']') {
				r->pos++;
				return 0;
			}
			if ((c == '"' || c == '\'') && v->n_items < DOCTOR_TOML_ITEMS) {
				if (string(r, v->items[v->n_items], sizeof(v->items[0])) < 0)
					return -1;
				v->n_items++;
			} else if (skip_value(r) < 0) {
				return -1;
			}
			skip_blank(r, true);
			if (r->pos < r->len && r->s[r->pos] == ',')
				r->pos++;
			else if (r->pos < r->len && r->s[r->pos] != ']')
				return -1;
		}
	}
	if (r->len - r->pos >= 4 && strncmp(r->s + r->pos, "true", 4) == 0) {
		v->kind = TOML_BOOL;
		v->b = true;
		r->pos += 4;
		return 0;
	}
	if (r->len - r->pos >= 5 && strncmp(r->s + r->pos, "false", 5) == 0) {
		v->kind = TOML_BOOL;
		r->pos += 5;
		return 0;
	}
	if (isdigit((unsigned char)c) || c == '-' || c == '+') {
		char num[32];
		size_t k = 0;
		while (r->pos < r->len && k + 1 < sizeof(num) && strchr("+-0123456789_", r->s[r->pos]) != NULL) {
			if (r->s[r->pos] != '_')
				num[k++] = r->s[r->pos];
			r->pos++;
		}
		num[k] = '\0';
		if (r->pos < r->len && strchr(" \t\r\n#,]}", r->s[r->pos]) != NULL && sscanf(num, "%lld", &v->i) == 1)
			v->kind = TOML_INT;
		return skip_value(r);
	}
	return skip_value(r);
}

int doctor_toml(const char *text, size_t len, doctor_toml_fn fn, void *ctx, unsigned *bad_line)
{
	struct rd r = { text, len, 0, 1 };
	char table[DOCTOR_TOML_SEGS][256], key[DOCTOR_TOML_SEGS][256];
	size_t nt = 0, nk = 0;
	static struct doctor_toml_value v;
	while (r.pos < r.len) {
		skip_blank(&r, true);
		if (r.pos >= r.len)
			break;
		size_t before = r.pos;
		if (r.s[r.pos] == '[') {
			bool arr = r.pos + 1 < r.len && r.s[r.pos + 1] == '[';
			r.pos += arr ? 2 : 1;
			if (key_path(&r, table, &nt, ']') < 0)
				goto bad;
			r.pos += arr ? 2 : 1;
		} else {
			if (key_path(&r, key, &nk, '=') < 0)
				goto bad;
			r.pos++;
			skip_blank(&r, false);
			if (value(&r, &v) < 0)
				goto bad;
			const char *segs[2 * DOCTOR_TOML_SEGS];
			size_t n = 0;
			for (size_t i = 0; i < nt; i++)
				segs[n++] = table[i];
			for (size_t i = 0; i < nk && n < 2 * DOCTOR_TOML_SEGS; i++)
				segs[n++] = key[i];
			fn(ctx, segs, n, &v);
		}
		skip_blank(&r, false);
		if (r.pos < r.len && r.s[r.pos] != '\n')
			goto bad;
		if (r.pos == before)	/* never stuck */
			goto bad;
		continue;
bad:
		if (bad_line != NULL)
			*bad_line = r.line;
		return -1;
	}
	return 0;
}

bool doctor_toml_match(const char *const *segs, size_t n, const char *const *pattern)
{
	size_t i = 0;
	for (; pattern[i] != NULL; i++)
		if (i >= n || (strcmp(pattern[i], "*") != 0 && strcmp(pattern[i], segs[i]) != 0))
			return false;
	return i == n;
}

int doctor_toml_file(struct doctor *d, const char *section, const char *path, doctor_toml_fn fn, void *ctx,
		     gt_err_t *err)
{
	cleanup_buf struct gt_buf buf = { 0 };
	if (doctor_read(d, path, &buf, err) < 0)
		return -1;
	unsigned bad = 0;
	if (doctor_toml(buf.data, buf.len, fn, ctx, &bad) < 0)
		doctor_say(d, section, DOCTOR_WARN, "%s:%u: not read past this line (doctor reads a subset of TOML)", path,
			   bad);
	return 0;
}
