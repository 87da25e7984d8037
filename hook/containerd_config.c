/* A containerd config.toml checked for the CRI runtime tables that fail
 * every pod on containerd 1.6 and 1.7 (see containerd_config.h for why).
 * The reader follows the TOML a containerd config holds: tables, dotted
 * and quoted keys, strings of the four kinds, arrays and inline tables
 * over several lines, comments. It only records key paths; values other
 * than short strings and scalars are skipped. */
#include "containerd_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

#define SEG_MAX 128	/* a key segment, unescaped */
#define PATH_SEGS 16	/* segments in a key path */
#define DEPTH_MAX 16	/* arrays and inline tables inside each other */
#define VALUE_MAX 256	/* a string value kept for the check */
#define RUNTIMES_MAX 32 /* runtime names remembered per CRI section */

struct path {
	size_t n;
	char seg[PATH_SEGS][SEG_MAX];
};

/* Where each containerd version keeps CRI's runtimes, by config version. */
static const char *const cri_plugin[4] = { NULL, "cri", "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime" };

struct runtime {
	char name[SEG_MAX];
	bool has_type;
};

struct state {
	const char *s, *end;
	struct path table;
	int version;
	char default_rt[4][SEG_MAX];
	struct runtime rt[4][RUNTIMES_MAX];
	size_t n_rt[4];
	bool rt_overflow;
};

static void skip_blank(struct state *st)
{
	while (st->s < st->end && (*st->s == ' ' || *st->s == '\t'))
		st->s++;
}

/* Blanks, newlines and comments (between array items). */
static void skip_space(struct state *st)
{
	for (;;) {
		skip_blank(st);
		if (st->s < st->end && *st->s == '#') {
			while (st->s < st->end && *st->s != '\n')
				st->s++;
		}
		if (st->s < st->end && (*st->s == '\n' || *st->s == '\r')) {
			st->s++;
			continue;
		}
		return;
	}
}

static bool starts(const struct state *st, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(st->end - st->s) >= n && memcmp(st->s, lit, n) == 0;
}

/* A string at st->s (opening quote included); its text, escapes taken
 * as the character after the backslash (enough for names and types), is
 * copied into out when out is not NULL and it fits. */
static int string(struct state *st, char *out, size_t outsz, gt_err_t *err)
{
	char q = *st->s;
	bool multi = starts(st, q == '"' ? "\"\"\"" : "'''");
	size_t n = 0;
	bool fits = true;
	st->s += multi ? 3 : 1;
	while (st->s < st->end) {
		char c = *st->s;
		if (multi ? starts(st, q == '"' ? "\"\"\"" : "'''") : c == q) {
			st->s += multi ? 3 : 1;
			/* A closing run of more than three quotes keeps the extra
			 * ones in the string. */
			while (multi && st->s < st->end && *st->s == q)
				st->s++;
			if (out != NULL)
				out[fits ? n : 0] = '\0';
			return 0;
		}
		if (!multi && (c == '\n' || c == '\r'))
			break;
		if (q == '"' && c == '\\' && st->end - st->s >= 2) {
			st->s++;
			c = *st->s;
		}
		if (out != NULL && fits) {
			if (n + 1 < outsz)
				out[n++] = c;
			else
				fits = false;
		}
		st->s++;
	}
	return gt_error(err, 0, "an unterminated string");
}

static bool bare_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* A dotted key (bare or quoted segments) appended to p. */
static int key(struct state *st, struct path *p, gt_err_t *err)
{
	for (;;) {
		skip_blank(st);
		if (p->n >= PATH_SEGS)
			return gt_error(err, 0, "a key of more than %d parts", PATH_SEGS);
		char *seg = p->seg[p->n];
		if (st->s < st->end && (*st->s == '"' || *st->s == '\'')) {
			if (starts(st, "\"\"\"") || starts(st, "'''"))
				return gt_error(err, 0, "a multi-line string as a key");
			seg[0] = '\0';
			if (string(st, seg, SEG_MAX, err) < 0)
				return -1;
		} else {
			size_t n = 0;
			while (st->s < st->end && bare_key_char(*st->s)) {
				if (n + 1 >= SEG_MAX)
					return gt_error(err, 0, "a key longer than %d bytes", SEG_MAX - 1);
				seg[n++] = *st->s++;
			}
			if (n == 0)
				return gt_error(err, 0, "a key expected");
			seg[n] = '\0';
		}
		p->n++;
		skip_blank(st);
		if (st->s < st->end && *st->s == '.') {
			st->s++;
			continue;
		}
		return 0;
	}
}

static bool path_is(const struct path *p, size_t from, size_t n, const char *const *segs)
{
	if (p->n < from + n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(p->seg[from + i], segs[i]) != 0)
			return false;
	return true;
}

/* What a key path (or a table header) says about CRI's runtimes: STR is
 * the value when it is a short string, else NULL. */
static void note(struct state *st, const struct path *p, const char *str, const char *scalar)
{
	if (p->n == 1 && strcmp(p->seg[0], "version") == 0 && scalar != NULL) {
		char *endp;
		long v = strtol(scalar, &endp, 10);
		st->version = (*endp == '\0' && v > 0 && v < 100) ? (int)v : -1;
		return;
	}
	for (int v = 1; v <= 3; v++) {
		const char *const prefix[] = { "plugins", cri_plugin[v], "containerd" };
		if (!path_is(p, 0, 3, prefix))
			continue;
		if (p->n == 4 && strcmp(p->seg[3], "default_runtime_name") == 0 && str != NULL) {
			snprintf(st->default_rt[v], SEG_MAX, "%s", str);
			return;
		}
		if (p->n < 5 || strcmp(p->seg[3], "runtimes") != 0)
			return;
		struct runtime *r = NULL;
		for (size_t i = 0; i < st->n_rt[v]; i++)
			if (strcmp(st->rt[v][i].name, p->seg[4]) == 0)
				r = &st->rt[v][i];
		if (r == NULL) {
			if (st->n_rt[v] >= RUNTIMES_MAX) {
				st->rt_overflow = true;
				return;
			}
			r = &st->rt[v][st->n_rt[v]++];
			snprintf(r->name, sizeof(r->name), "%s", p->seg[4]);
			r->has_type = false;
		}
		if (p->n == 6 && strcmp(p->seg[5], "runtime_type") == 0 && str != NULL && str[0] != '\0')
			r->has_type = true;
		return;
	}
}

static int value(struct state *st, const struct path *p, int depth, gt_err_t *err);

/* KEY = VALUE, the key relative to base. */
static int keyval(struct state *st, const struct path *base, int depth, gt_err_t *err)
{
	struct path p = *base;
	if (key(st, &p, err) < 0)
		return -1;
	if (st->s >= st->end || *st->s != '=')
		return gt_error(err, 0, "'=' expected after key %s", p.seg[p.n - 1]);
	st->s++;
	skip_blank(st);
	return value(st, &p, depth, err);
}

static int value(struct state *st, const struct path *p, int depth, gt_err_t *err)
{
	if (depth > DEPTH_MAX)
		return gt_error(err, 0, "arrays or inline tables nested more than %d deep", DEPTH_MAX);
	if (st->s >= st->end)
		return gt_error(err, 0, "a value expected");
	char c = *st->s;
	if (c == '"' || c == '\'') {
		char text[VALUE_MAX];
		text[0] = '\0';
		if (string(st, text, sizeof(text), err) < 0)
			return -1;
		note(st, p, text, NULL);
		return 0;
	}
	if (c == '[') {
		st->s++;
		for (;;) {
			skip_space(st);
			if (st->s < st->end && *st->s == ']') {
				st->s++;
				return 0;
			}
			if (value(st, p, depth + 1, err) < 0)
				return -1;
			skip_space(st);
			if (st->s < st->end && *st->s == ',') {
				st->s++;
				continue;
			}
			if (st->s < st->end && *st->s == ']') {
				st->s++;
				return 0;
			}
			return gt_error(err, 0, "',' or ']' expected in an array");
		}
	}
	if (c == '{') {
		st->s++;
		note(st, p, NULL, NULL);
		skip_blank(st);
		if (st->s < st->end && *st->s == '}') {
			st->s++;
			return 0;
		}
		for (;;) {
			if (keyval(st, p, depth + 1, err) < 0)
				return -1;
			skip_blank(st);
			if (st->s < st->end && *st->s == ',') {
				st->s++;
				continue;
			}
			if (st->s < st->end && *st->s == '}') {
				st->s++;
				return 0;
			}
			return gt_error(err, 0, "',' or '}' expected in an inline table");
		}
	}
	/* A number, boolean or date: up to the next delimiter. */
	char text[64];
	size_t n = 0;
	while (st->s < st->end && strchr(",]}#\r\n", *st->s) == NULL) {
		if (n + 1 < sizeof(text))
			text[n++] = *st->s;
		st->s++;
	}
	while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
		n--;
	if (n == 0)
		return gt_error(err, 0, "a value expected");
	text[n] = '\0';
	note(st, p, NULL, text);
	return 0;
}

/* The rest of a line after a header or a key/value: blanks, a comment. */
static int line_end(struct state *st, gt_err_t *err)
{
	skip_blank(st);
	if (st->s < st->end && *st->s == '#')
		while (st->s < st->end && *st->s != '\n')
			st->s++;
	if (st->s < st->end && *st->s == '\r')
		st->s++;
	if (st->s < st->end && *st->s != '\n')
		return gt_error(err, 0, "unexpected text after a value");
	return 0;
}

static int parse(struct state *st, gt_err_t *err)
{
	struct path root = { .n = 0 };
	/* Each turn consumes at least one byte, and the text is bounded. */
	while (st->s < st->end) {
		skip_space(st);
		if (st->s >= st->end)
			break;
		if (*st->s == '[') {
			bool array = starts(st, "[[");
			st->s += array ? 2 : 1;
			st->table.n = 0;
			if (key(st, &st->table, err) < 0)
				return -1;
			if (!starts(st, array ? "]]" : "]"))
				return gt_error(err, 0, "a table header without its ']'");
			st->s += array ? 2 : 1;
			note(st, &st->table, NULL, NULL);
		} else if (keyval(st, st->table.n > 0 ? &st->table : &root, 0, err) < 0) {
			return -1;
		}
		if (line_end(st, err) < 0)
			return -1;
	}
	return 0;
}

/* NAME as it may be printed: non-printable bytes as '?'. */
static void printable(char *s)
{
	for (; *s != '\0'; s++)
		if (!isprint((unsigned char)*s))
			*s = '?';
}

static void add(struct gt_ctrd_findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct gt_ctrd_findings *f, const char *fmt, ...)
{
	if (f->n >= GT_CTRD_FINDINGS_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg[f->n], sizeof(f->msg[f->n]), fmt, ap);
	va_end(ap);
	printable(f->msg[f->n]);
	f->n++;
}

int gt_containerd_config_check(const char *text, size_t len, struct gt_ctrd_findings *f, gt_err_t *err)
{
	memset(f, 0, sizeof(*f));
	struct state *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return gt_error(err, errno, "calloc");
	st->s = text;
	st->end = text + len;
	st->version = 1;
	int rc = parse(st, err);
	if (rc < 0) {
		size_t line = 1;
		for (const char *c = text; c < st->s; c++)
			line += *c == '\n';
		gt_error_wrap(err, "line %zu", line);
		free(st);
		return -1;
	}
	f->version = st->version;
	/* Version 3 is read by containerd 2.x alone, which keeps its defaults. */
	int v = st->version;
	if (v == 1 || v == 2) {
		const char *cri = cri_plugin[v];
		const char *def = st->default_rt[v][0] != '\0' ? st->default_rt[v] : "runc";
		bool have_def = false;
		for (size_t i = 0; i < st->n_rt[v]; i++) {
			const struct runtime *r = &st->rt[v][i];
			have_def |= strcmp(r->name, def) == 0;
			if (!r->has_type)
				add(f,
				    "[plugins.\"%s\".containerd.runtimes.%s] has no runtime_type: containerd 1.6 and 1.7 "
				    "replace their default runtimes with this file's, so every pod on it fails "
				    "(\"container.Runtime.Name must be set\"); add runtime_type = \"io.containerd.runc.v2\" "
				    "to that table",
				    cri, r->name);
		}
		if (st->n_rt[v] > 0 && !have_def)
			add(f,
			    "default_runtime_name \"%s\" is not among this file's [plugins.\"%s\".containerd.runtimes.*]: "
			    "containerd 1.6 and 1.7 replace their default runtimes with this file's, and the CRI plugin "
			    "does not load; define [plugins.\"%s\".containerd.runtimes.%s] with runtime_type = "
			    "\"io.containerd.runc.v2\"",
			    def, cri, cri, def);
		if (st->rt_overflow)
			add(f, "more than %d runtimes: only the first %d were checked", RUNTIMES_MAX, RUNTIMES_MAX);
	}
	free(st);
	return 0;
}

int gt_containerd_config_check_file(const char *path, struct gt_ctrd_findings *f, gt_err_t *err)
{
	cleanup_buf struct gt_buf b = { 0 };
	if (gt_read_file_at(AT_FDCWD, path, GT_CTRD_CONFIG_MAX, &b, err) < 0)
		return -1;
	if (gt_containerd_config_check(b.data, b.len, f, err) < 0)
		return gt_error_wrap(err, "%s", path);
	return 0;
}
