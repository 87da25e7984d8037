#include "policy.h"
#include "fileio.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gt_policy_defaults(struct gt_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->settings = (struct gt_settings){
		.enabled = true,
		.maxprocs_enabled = true,
		.rounding = GT_ROUND_CEIL,
		.minimum = 1,
		.memlimit_enabled = true,
		.ratio_ppm = 900000,
	};
	snprintf(p->source, sizeof(p->source), "built-in defaults");
}

bool gt_valid_gogc(const char *s)
{
	if (strcmp(s, "off") == 0)
		return true;
	size_t n = strlen(s);
	if (n == 0 || n > 9)
		return false;
	return strspn(s, "0123456789") == n;
}

/* GODEBUG is a comma-separated k=v list: a token with ',' or '=' would
 * smuggle in other settings, so keys and values keep to a narrow set. */
bool gt_valid_godebug_token(const char *s, bool is_key)
{
	size_t n = strlen(s);
	if (n == 0 || n > GT_GODEBUG_TOKEN_MAX)
		return false;
	const char *ok = is_key ? "abcdefghijklmnopqrstuvwxyz0123456789_."
				: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	return strspn(s, ok) == n;
}

int gt_parse_ratio(const char *s, uint32_t *ppm)
{
	char *end;
	errno = 0;
	double r = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(r > 0.0 && r <= 1.0))
		return -1;
	long v = lround(r * 1e6);
	if (v <= 0)
		return -1;
	*ppm = (uint32_t)v;
	return 0;
}

int gt_settings_godebug_set(struct gt_settings *s, const char *key, const char *value)
{
	size_t i;
	for (i = 0; i < s->n_godebug; i++)
		if (strcmp(s->godebug[i].key, key) == 0)
			break;
	if (i == s->n_godebug) {
		if (s->n_godebug == GT_GODEBUG_MAX)
			return -1;
		s->n_godebug++;
	}
	snprintf(s->godebug[i].key, sizeof(s->godebug[i].key), "%s", key);
	snprintf(s->godebug[i].value, sizeof(s->godebug[i].value), "%s", value);
	return 0;
}

static const struct gt_policy_key keys[] = {
	{ "$schema", "string" },
	{ "enabled", "boolean" },
	{ "strict", "boolean" },
	{ "override", "boolean" },
	{ "runtime", "string" },
	{ "log_file", "string" },
	{ "gomaxprocs", "object" },
	{ "gomaxprocs.enabled", "boolean" },
	{ "gomaxprocs.rounding", "string" },
	{ "gomaxprocs.minimum", "integer" },
	{ "gomaxprocs.shares", "boolean" },
	{ "gomemlimit", "object" },
	{ "gomemlimit.enabled", "boolean" },
	{ "gomemlimit.ratio", "number" },
	{ "gogc", "string" },
	{ "godebug", "object" },
	{ NULL, NULL },
};

const struct gt_policy_key *gt_policy_keys(void)
{
	return keys;
}

struct ctx {
	struct gt_policy *p;
	const char *origin;
	gt_err_t *err;
};

static int bad(struct ctx *c, const char *key, const char *why)
{
	return gt_error(c->err, 0, "policy %s: key \"%s\" %s", c->origin, key, why);
}

static int want_bool(struct ctx *c, const char *key, yajl_val v, bool *out)
{
	if (YAJL_IS_TRUE(v))
		*out = true;
	else if (YAJL_IS_FALSE(v))
		*out = false;
	else
		return bad(c, key, "must be true or false");
	return 0;
}

static int want_path(struct ctx *c, const char *key, yajl_val v, char *out, size_t outsz)
{
	if (!YAJL_IS_STRING(v))
		return bad(c, key, "must be a string");
	const char *s = YAJL_GET_STRING(v);
	if (s[0] != '/' || strlen(s) >= outsz)
		return bad(c, key, "must be an absolute path");
	snprintf(out, outsz, "%s", s);
	return 0;
}

static int apply_gomaxprocs(struct ctx *c, yajl_val obj)
{
	struct gt_settings *s = &c->p->settings;
	if (!YAJL_IS_OBJECT(obj))
		return bad(c, "gomaxprocs", "must be an object");
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		if (strcmp(k, "enabled") == 0) {
			if (want_bool(c, "gomaxprocs.enabled", v, &s->maxprocs_enabled) < 0)
				return -1;
		} else if (strcmp(k, "shares") == 0) {
			if (want_bool(c, "gomaxprocs.shares", v, &s->shares) < 0)
				return -1;
		} else if (strcmp(k, "rounding") == 0) {
			const char *r = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
			if (strcmp(r, "ceil") == 0)
				s->rounding = GT_ROUND_CEIL;
			else if (strcmp(r, "floor") == 0)
				s->rounding = GT_ROUND_FLOOR;
			else
				return bad(c, "gomaxprocs.rounding", "must be \"ceil\" or \"floor\"");
		} else if (strcmp(k, "minimum") == 0) {
			int64_t m;
			if (gt_json_int64(v, &m) < 0 || m < 1 || m > 4096)
				return bad(c, "gomaxprocs.minimum", "must be an integer from 1 to 4096");
			s->minimum = (unsigned)m;
		} else {
			char full[256];
			snprintf(full, sizeof(full), "gomaxprocs.%s", k);
			return bad(c, full, "is unknown");
		}
	}
	return 0;
}

static int apply_gomemlimit(struct ctx *c, yajl_val obj)
{
	struct gt_settings *s = &c->p->settings;
	if (!YAJL_IS_OBJECT(obj))
		return bad(c, "gomemlimit", "must be an object");
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		if (strcmp(k, "enabled") == 0) {
			if (want_bool(c, "gomemlimit.enabled", v, &s->memlimit_enabled) < 0)
				return -1;
		} else if (strcmp(k, "ratio") == 0) {
			if (!YAJL_IS_NUMBER(v) || gt_parse_ratio(YAJL_GET_NUMBER(v), &s->ratio_ppm) < 0)
				return bad(c, "gomemlimit.ratio", "must be a number greater than 0 and at most 1");
		} else {
			char full[256];
			snprintf(full, sizeof(full), "gomemlimit.%s", k);
			return bad(c, full, "is unknown");
		}
	}
	return 0;
}

static int apply_godebug(struct ctx *c, yajl_val obj)
{
	if (!YAJL_IS_OBJECT(obj))
		return bad(c, "godebug", "must be an object of strings");
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		char full[256];
		snprintf(full, sizeof(full), "godebug.%.200s", k);
		if (!gt_valid_godebug_token(k, true))
			return bad(c, full, "is not a valid GODEBUG setting name ([a-z0-9_.], at most 64)");
		if (!YAJL_IS_STRING(v) || !gt_valid_godebug_token(YAJL_GET_STRING(v), false))
			return bad(c, full, "must be a string of [A-Za-z0-9_.-], at most 64");
		if (gt_settings_godebug_set(&c->p->settings, k, YAJL_GET_STRING(v)) < 0)
			return bad(c, "godebug", "has too many settings (at most 32)");
	}
	return 0;
}

static int apply_top(struct ctx *c, const char *k, yajl_val v)
{
	struct gt_policy *p = c->p;
	if (strcmp(k, "$schema") == 0)
		return YAJL_IS_STRING(v) ? 0 : bad(c, k, "must be a string");
	if (strcmp(k, "enabled") == 0)
		return want_bool(c, k, v, &p->settings.enabled);
	if (strcmp(k, "strict") == 0)
		return want_bool(c, k, v, &p->strict);
	if (strcmp(k, "override") == 0)
		return want_bool(c, k, v, &p->settings.override);
	if (strcmp(k, "runtime") == 0)
		return want_path(c, k, v, p->runtime, sizeof(p->runtime));
	if (strcmp(k, "log_file") == 0)
		return want_path(c, k, v, p->log_file, sizeof(p->log_file));
	if (strcmp(k, "gomaxprocs") == 0)
		return apply_gomaxprocs(c, v);
	if (strcmp(k, "gomemlimit") == 0)
		return apply_gomemlimit(c, v);
	if (strcmp(k, "godebug") == 0)
		return apply_godebug(c, v);
	if (strcmp(k, "gogc") == 0) {
		if (!YAJL_IS_STRING(v) || !gt_valid_gogc(YAJL_GET_STRING(v)))
			return bad(c, k, "must be \"off\" or a string of digits such as \"100\"");
		snprintf(p->settings.gogc, sizeof(p->settings.gogc), "%s", YAJL_GET_STRING(v));
		return 0;
	}
	return bad(c, k, "is unknown");
}

int gt_policy_parse(struct gt_policy *p, const char *text, size_t len, const char *origin, gt_err_t *err)
{
	char what[4200];
	snprintf(what, sizeof(what), "policy %s", origin);
	cleanup_yajl yajl_val tree = NULL;
	if (gt_json_parse(text, len, what, &tree, err) < 0)
		return -1;
	if (!YAJL_IS_OBJECT(tree))
		return gt_error(err, 0, "%s: must be a JSON object", what);
	struct gt_policy next = *p;
	struct ctx c = { &next, origin, err };
	for (size_t i = 0; i < tree->u.object.len; i++) {
		yajl_val dup;
		if (gt_json_get(tree, tree->u.object.keys[i], &dup) < 0)
			return bad(&c, tree->u.object.keys[i], "appears twice");
		if (apply_top(&c, tree->u.object.keys[i], tree->u.object.values[i]) < 0)
			return -1;
	}
	snprintf(next.source, sizeof(next.source), "%s", origin);
	*p = next;
	return 0;
}

int gt_policy_load(struct gt_policy *p, const char *path, bool missing_ok, gt_err_t *err)
{
	cleanup_buf struct gt_buf buf = { 0 };
	if (gt_read_file_at(AT_FDCWD, path, GT_POLICY_MAX_BYTES, &buf, err) < 0) {
		if (missing_ok && (*err)->errno_ == ENOENT) {
			gt_err_free(err);
			return 0;
		}
		return gt_error_wrap(err, "policy");
	}
	return gt_policy_parse(p, buf.data, buf.len, path, err);
}
