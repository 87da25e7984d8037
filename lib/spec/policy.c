#include "policy.h"
#include "fileio.h"
#include "json.h"
#include "json_scan.h"
#include "nearmiss.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gt_policy_defaults(struct gt_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->settings = (struct gt_settings){
		.enabled = true,
		.go_aware = true,
		.maxprocs_enabled = true,
		.rounding = GT_ROUND_CEIL,
		/* Measured (README "Modern Go"): on a quota below 2 CPUs Go's
		 * own floor of 2 Ps gets the container throttled. */
		.tracking = GT_TRACK_BELOW_FLOOR,
		.minimum = 1,
		.memlimit_enabled = true,
		.ratio_ppm = 900000,
		/* A tmpfs is charged only as it fills, so its size is a worst
		 * case. Counting the 64 MiB /dev/shm every runtime mounts made
		 * the memlimit bench's 140 MiB heap under 200 MiB 4x slower
		 * (GOMEMLIMIT 122 instead of 180 MiB; README), for a /dev/shm
		 * nothing wrote to: only volumes someone asked for count by
		 * default, and they may take at most half of the budget. */
		.tmpfs = GT_TMPFS_VOLUMES,
		.tmpfs_floor_ppm = 500000,
		.pod_limits = true,
		.prewarm = {
			.mode = GT_PW_WILLNEED,
			/* Off by default: on the project's machine no mode made a
			 * cold start faster by warming whole closures, and
			 * resolving one costs the hook a few ms of cold metadata
			 * reads (tests/bench/coldstart.py; figures in the README). */
			.closure = false,
			.max_set_bytes = 64u << 20,
			.budget = GT_PW_DEFAULT_BUDGET,
		},
	};
	p->confine = true;
	snprintf(p->settings.profile_dir, sizeof(p->settings.profile_dir), "%s", GT_PROFILE_DEFAULT_DIR);
	/* Unlike max_set_bytes (whole files), a profile holds only what a
	 * start touched: clang's 223 MiB closure replays as 63-67 MiB, and a
	 * program with a few hundred MiB of libraries fits. */
	p->settings.profile_max_bytes = 256u << 20;
	p->settings.profile_interval_ms = 10;
	p->settings.profile_settle_ms = 300;
	p->settings.profile_max_ms = 5000;
	p->settings.profile_max_count = 1000;
	/* Issue 29: one image (one tenant's) keeps at most 16 profiles, so
	 * it cannot push everyone else's out of max_count; two recorders and
	 * four detached readers at a time on a node. */
	p->settings.profile_max_per_image = 16;
	p->workers = (struct gt_workers){ .max_recorders = 2, .max_readers = 4, .cgroup = true };
	snprintf(p->source, sizeof(p->source), "built-in defaults");
}

/* What Go's runtime reads from GOGC: "off", or an integer where any
 * negative value also means off (Go: GOGC=-1). Bounded to 9 digits so it
 * fits Go's int32. */
bool gt_valid_gogc(const char *s)
{
	if (strcmp(s, "off") == 0)
		return true;
	if (*s == '-')
		s++;
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

/* strtod alone would take "  0.5", "0x1p-1", "5e-1" and "inf" and refuse
 * "0.5 ": an annotation is a plain decimal, digits with at most one '.',
 * nothing else, at most 16 bytes. */
int gt_parse_ratio_text(const char *s, uint32_t *ppm)
{
	size_t n = strlen(s), digits = strspn(s, "0123456789");
	if (n == 0 || n > 16)
		return -1;
	const char *rest = s + digits;
	if (*rest == '.') {
		size_t frac = strspn(rest + 1, "0123456789");
		digits += frac;
		rest += 1 + frac;
	}
	if (digits == 0 || *rest != '\0')
		return -1;
	return gt_parse_ratio(s, ppm);
}

int gt_parse_fraction(const char *s, uint32_t *ppm)
{
	char *end;
	errno = 0;
	double r = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(r >= 0.0 && r <= 1.0))
		return -1;
	*ppm = (uint32_t)lround(r * 1e6);
	return 0;
}

int gt_tmpfs_mode_parse(const char *s, enum gt_tmpfs_mode *out)
{
	static const enum gt_tmpfs_mode all[] = { GT_TMPFS_OFF, GT_TMPFS_VOLUMES, GT_TMPFS_ALL };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, gt_tmpfs_mode_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -1;
}

const char *gt_tmpfs_mode_name(enum gt_tmpfs_mode m)
{
	switch (m) {
	case GT_TMPFS_OFF: return "off";
	case GT_TMPFS_VOLUMES: return "volumes";
	case GT_TMPFS_ALL: return "all";
	}
	return "?";
}

int gt_tracking_parse(const char *s, enum gt_tracking *out)
{
	static const enum gt_tracking all[] = { GT_TRACK_DEFER, GT_TRACK_BELOW_FLOOR, GT_TRACK_ALWAYS };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, gt_tracking_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -1;
}

const char *gt_tracking_name(enum gt_tracking t)
{
	switch (t) {
	case GT_TRACK_DEFER: return "defer";
	case GT_TRACK_BELOW_FLOOR: return "below-floor";
	case GT_TRACK_ALWAYS: return "always";
	}
	return "?";
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

int gt_settings_prewarm_add(struct gt_settings *s, const char *path)
{
	struct gt_prewarm_settings *pw = &s->prewarm;
	size_t n = strlen(path);
	if (path[0] != '/' || n >= GT_PREWARM_PATH_MAX || pw->n_files == GT_PREWARM_FILES_MAX)
		return -1;
	for (size_t i = 0; i < pw->n_files; i++)
		if (strcmp(pw->files[i], path) == 0)
			return 0;
	memcpy(pw->files[pw->n_files++], path, n + 1);
	return 0;
}

static const struct gt_policy_key keys[] = {
	{ "$schema", "string" },
	{ "enabled", "boolean" },
	{ "strict", "boolean" },
	{ "confine", "boolean" },
	{ "override", "boolean" },
	{ "go_aware", "boolean" },
	{ "go_only", "boolean" },
	{ "fix_invalid", "boolean" },
	{ "pod_limits", "boolean" },
	{ "runtime", "string" },
	{ "log_file", "string" },
	{ "gomaxprocs", "object" },
	{ "gomaxprocs.enabled", "boolean" },
	{ "gomaxprocs.rounding", "string" },
	{ "gomaxprocs.minimum", "integer" },
	{ "gomaxprocs.shares", "boolean" },
	{ "gomaxprocs.tracking", "string" },
	{ "gomaxprocs.affinity", "string" },
	{ "gomemlimit", "object" },
	{ "gomemlimit.enabled", "boolean" },
	{ "gomemlimit.ratio", "number" },
	{ "gomemlimit.tmpfs", "string" },
	{ "gomemlimit.tmpfs_floor", "number" },
	{ "gogc", "string" },
	{ "godebug", "object" },
	{ "prewarm", "object" },
	{ "prewarm.mode", "string" },
	{ "prewarm.closure", "boolean" },
	{ "prewarm.files", "array" },
	{ "prewarm.max_set_bytes", "integer" },
	{ "prewarm.max_bytes", "integer" },
	{ "prewarm.max_file_bytes", "integer" },
	{ "prewarm.max_files", "integer" },
	{ "prewarm.max_ms", "integer" },
	{ "profile", "object" },
	{ "profile.record", "boolean" },
	{ "profile.dir", "string" },
	{ "profile.max_bytes", "integer" },
	{ "profile.interval_ms", "integer" },
	{ "profile.settle_ms", "integer" },
	{ "profile.max_ms", "integer" },
	{ "profile.max_count", "integer" },
	{ "profile.max_per_image", "integer" },
	{ "profile.record_only", "object" },
	{ "workers", "object" },
	{ "workers.max_recorders", "integer" },
	{ "workers.max_readers", "integer" },
	{ "workers.cgroup", "boolean" },
	{ "nri", "object" },
	{ "nri.prestart_hook", "string" },
	{ "mode", "string" },
	{ "metrics", "object" },
	{ "metrics.file", "string" },
	{ NULL, NULL },
};

const struct gt_policy_key *gt_policy_keys(void)
{
	return keys;
}

struct ctx {
	struct gt_policy *p;
	const char *origin;
	const char *text;
	size_t len;
	gt_err_t *err;
};

/* Where the member named by a dotted path sits in the text (its key's
 * opening quote), or SIZE_MAX. GODEBUG names may hold dots themselves, so
 * at each level the longest part of the path that is a member wins. */
static size_t locate(const char *text, size_t len, const char *path)
{
	size_t obj = gt_json_skip_ws(text, len, 0), at = SIZE_MAX;
	const char *rest = path;
	for (unsigned depth = 0; *rest != '\0' && depth < 8 && obj < len && text[obj] == '{'; depth++) {
		size_t n = strlen(rest);
		bool found = false;
		while (n > 0 && n < 256) {
			char seg[256];
			memcpy(seg, rest, n);
			seg[n] = '\0';
			struct gt_span v;
			size_t k;
			if (gt_json_member_key(text, len, obj, seg, &k, &v) > 0) {
				at = k;
				obj = v.start;
				rest += n;
				if (*rest == '.')
					rest++;
				found = true;
				break;
			}
			const char *dot = memrchr(rest, '.', n);
			n = dot != NULL ? (size_t)(dot - rest) : 0;
		}
		if (!found)
			break;
	}
	return at;
}

/* "policy FILE:LINE:COLUMN: " as compilers write it, so an editor (or a
 * person) goes straight to the place; the key's place when it is found. */
static int positioned(gt_err_t *err, const char *origin, const char *text, size_t len, size_t at, const char *msg)
{
	if (at == SIZE_MAX || at > len)
		return gt_error(err, 0, "policy %s: %s", origin, msg);
	unsigned line, col;
	gt_json_line_col(text, len, at, &line, &col);
	return gt_error(err, 0, "policy %s:%u:%u: %s", origin, line, col, msg);
}

/* The key the writer most likely meant: a near miss among its siblings
 * ("gomemlimit.ratoi": "gomemlimit.ratio"), else the same name at another
 * level ("ratio" at the top: "gomemlimit.ratio"). */
static void suggest(const char *key, char *out, size_t outsz)
{
	out[0] = '\0';
	const char *dot = strrchr(key, '.');
	size_t plen = dot != NULL ? (size_t)(dot - key) : 0;
	const char *leaf = dot != NULL ? dot + 1 : key;
	const char *leaves[64];
	size_t n = 0;
	for (const struct gt_policy_key *k = keys; k->path != NULL && n + 1 < 64; k++) {
		const char *kd = strrchr(k->path, '.');
		size_t kplen = kd != NULL ? (size_t)(kd - k->path) : 0;
		if (kplen == plen && strncmp(k->path, key, plen) == 0)
			leaves[n++] = kd != NULL ? kd + 1 : k->path;
	}
	leaves[n] = NULL;
	const char *near = gt_near_miss(leaf, leaves);
	if (near != NULL) {
		snprintf(out, outsz, "%.*s%s%s", (int)plen, key, plen ? "." : "", near);
		return;
	}
	for (const struct gt_policy_key *k = keys; k->path != NULL; k++) {
		const char *kd = strrchr(k->path, '.');
		if (kd != NULL && strcmp(kd + 1, leaf) == 0 && strcmp(k->path, key) != 0) {
			snprintf(out, outsz, "%s", k->path);
			return;
		}
	}
}

static int bad(struct ctx *c, const char *key, const char *why)
{
	char msg[600];
	snprintf(msg, sizeof(msg), "key \"%.200s\" %s", key, why);
	return positioned(c->err, c->origin, c->text, c->len, locate(c->text, c->len, key), msg);
}

static int unknown(struct ctx *c, const char *key)
{
	char near[128], why[200] = "is unknown";
	suggest(key, near, sizeof(near));
	if (near[0] != '\0')
		snprintf(why, sizeof(why), "is unknown; did you mean \"%s\"?", near);
	return bad(c, key, why);
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

/* An absolute path; "" stands for none, the default of the keys that have
 * one, so a policy can hold every key at its default. */
static int want_path(struct ctx *c, const char *key, yajl_val v, char *out, size_t outsz)
{
	if (!YAJL_IS_STRING(v))
		return bad(c, key, "must be a string");
	const char *s = YAJL_GET_STRING(v);
	if (s[0] == '\0' && strcmp(key, "profile.dir") != 0) {
		out[0] = '\0';
		return 0;
	}
	if (s[0] != '/' || strlen(s) >= outsz)
		return bad(c, key, strcmp(key, "profile.dir") == 0 ? "must be an absolute path"
								   : "must be an absolute path, or \"\" for none");
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
		} else if (strcmp(k, "tracking") == 0) {
			if (!YAJL_IS_STRING(v) || gt_tracking_parse(YAJL_GET_STRING(v), &s->tracking) < 0)
				return bad(c, "gomaxprocs.tracking", "must be \"defer\", \"below-floor\" or \"always\"");
		} else if (strcmp(k, "affinity") == 0) {
			const char *a = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
			if (strcmp(a, "cgroup") == 0)
				s->affinity_inherit = false;
			else if (strcmp(a, "inherit") == 0)
				s->affinity_inherit = true;
			else
				return bad(c, "gomaxprocs.affinity", "must be \"cgroup\" or \"inherit\"");
		} else if (strcmp(k, "minimum") == 0) {
			int64_t m;
			if (gt_json_int64(v, &m) < 0 || m < 1 || m > 4096)
				return bad(c, "gomaxprocs.minimum", "must be an integer from 1 to 4096");
			s->minimum = (unsigned)m;
		} else {
			char full[256];
			snprintf(full, sizeof(full), "gomaxprocs.%s", k);
			return unknown(c, full);
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
		} else if (strcmp(k, "tmpfs") == 0) {
			if (!YAJL_IS_STRING(v) || gt_tmpfs_mode_parse(YAJL_GET_STRING(v), &s->tmpfs) < 0)
				return bad(c, "gomemlimit.tmpfs", "must be \"off\", \"volumes\" or \"all\"");
		} else if (strcmp(k, "tmpfs_floor") == 0) {
			if (!YAJL_IS_NUMBER(v) || gt_parse_fraction(YAJL_GET_NUMBER(v), &s->tmpfs_floor_ppm) < 0)
				return bad(c, "gomemlimit.tmpfs_floor", "must be a number from 0 to 1");
		} else {
			char full[256];
			snprintf(full, sizeof(full), "gomemlimit.%s", k);
			return unknown(c, full);
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

static int want_u64(struct ctx *c, const char *key, yajl_val v, uint64_t lo, uint64_t hi, uint64_t *out)
{
	int64_t x;
	if (gt_json_int64(v, &x) < 0 || x < 0 || (uint64_t)x < lo || (uint64_t)x > hi) {
		char why[96];
		snprintf(why, sizeof(why), "must be an integer from %llu to %llu", (unsigned long long)lo,
			 (unsigned long long)hi);
		return bad(c, key, why);
	}
	*out = (uint64_t)x;
	return 0;
}

static int apply_prewarm(struct ctx *c, yajl_val obj)
{
	struct gt_prewarm_settings *pw = &c->p->settings.prewarm;
	if (!YAJL_IS_OBJECT(obj))
		return bad(c, "prewarm", "must be an object");
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		uint64_t u = 0;
		if (strcmp(k, "mode") == 0) {
			if (!YAJL_IS_STRING(v) || gt_pw_mode_parse(YAJL_GET_STRING(v), &pw->mode) < 0)
				return bad(c, "prewarm.mode", "must be \"off\", \"willneed\", \"populate\" or \"background\"");
		} else if (strcmp(k, "closure") == 0) {
			if (want_bool(c, "prewarm.closure", v, &pw->closure) < 0)
				return -1;
		} else if (strcmp(k, "files") == 0) {
			if (!YAJL_IS_ARRAY(v))
				return bad(c, "prewarm.files", "must be an array of absolute paths");
			for (size_t j = 0; j < v->u.array.len; j++) {
				yajl_val f = v->u.array.values[j];
				if (!YAJL_IS_STRING(f) || gt_settings_prewarm_add(&c->p->settings, YAJL_GET_STRING(f)) < 0)
					return bad(c, "prewarm.files",
						   "must hold at most 32 absolute paths shorter than 256 bytes");
			}
		} else if (strcmp(k, "max_set_bytes") == 0) {
			if (want_u64(c, "prewarm.max_set_bytes", v, 0, UINT64_C(1) << 40, &pw->max_set_bytes) < 0)
				return -1;
		} else if (strcmp(k, "max_bytes") == 0) {
			if (want_u64(c, "prewarm.max_bytes", v, 0, UINT64_C(1) << 40, &pw->budget.max_bytes) < 0)
				return -1;
		} else if (strcmp(k, "max_file_bytes") == 0) {
			if (want_u64(c, "prewarm.max_file_bytes", v, 0, UINT64_C(1) << 40, &pw->budget.max_file_bytes) < 0)
				return -1;
		} else if (strcmp(k, "max_files") == 0) {
			if (want_u64(c, "prewarm.max_files", v, 0, 4096, &u) < 0)
				return -1;
			pw->budget.max_files = (unsigned)u;
		} else if (strcmp(k, "max_ms") == 0) {
			if (want_u64(c, "prewarm.max_ms", v, 0, 60000, &u) < 0)
				return -1;
			pw->budget.max_ms = (unsigned)u;
		} else {
			char full[256];
			snprintf(full, sizeof(full), "prewarm.%.200s", k);
			return unknown(c, full);
		}
	}
	return 0;
}

/* Issue 29's node-wide knobs: profile.record_only, workers. */
static int apply_record_only(struct ctx *c, yajl_val obj)
{
	struct gt_policy *p = c->p;
	static const char why[] = "must map annotation names to arrays of values (a trailing * matches a prefix); "
				  "at most 16 values in all, names under 128 bytes, values under 256";
	if (!YAJL_IS_OBJECT(obj))
		return bad(c, "profile.record_only", why);
	p->record_only_set = true;
	p->n_record_only = 0;
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		if (!YAJL_IS_ARRAY(v) || k[0] == '\0' || strlen(k) >= sizeof(p->record_only[0].key))
			return bad(c, "profile.record_only", why);
		for (size_t j = 0; j < v->u.array.len; j++) {
			yajl_val e = v->u.array.values[j];
			if (!YAJL_IS_STRING(e) || strlen(e->u.string) >= sizeof(p->record_only[0].value) ||
			    p->n_record_only == GT_RECORD_ONLY_MAX)
				return bad(c, "profile.record_only", why);
			struct gt_record_rule *r = &p->record_only[p->n_record_only++];
			snprintf(r->key, sizeof(r->key), "%s", k);
			snprintf(r->value, sizeof(r->value), "%s", e->u.string);
		}
	}
	return 0;
}

static int apply_workers(struct ctx *c, yajl_val obj)
{
	struct gt_workers *w = &c->p->workers;
	if (!YAJL_IS_OBJECT(obj))
		return bad(c, "workers", "must be an object");
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		uint64_t u = 0;
		if (strcmp(k, "cgroup") == 0) {
			if (want_bool(c, "workers.cgroup", v, &w->cgroup) < 0)
				return -1;
		} else if (strcmp(k, "max_recorders") == 0 || strcmp(k, "max_readers") == 0) {
			bool rec = strcmp(k, "max_recorders") == 0;
			if (want_u64(c, rec ? "workers.max_recorders" : "workers.max_readers", v, 0, 64, &u) < 0)
				return -1;
			*(rec ? &w->max_recorders : &w->max_readers) = (unsigned)u;
		} else {
			char full[256];
			snprintf(full, sizeof(full), "workers.%.200s", k);
			return bad(c, full, "is unknown");
		}
	}
	return 0;
}

bool gt_policy_may_record(const struct gt_policy *p, const char *(*get)(void *ctx, const char *key), void *ctx)
{
	if (!p->record_only_set)
		return true;
	for (size_t i = 0; i < p->n_record_only; i++) {
		const struct gt_record_rule *r = &p->record_only[i];
		const char *v = get(ctx, r->key);
		size_t n = strlen(r->value);
		if (v == NULL)
			continue;
		if (n > 0 && r->value[n - 1] == '*' ? strncmp(v, r->value, n - 1) == 0 : strcmp(v, r->value) == 0)
			return true;
	}
	return false;
}

static int apply_profile(struct ctx *c, yajl_val obj)
{
	struct gt_settings *s = &c->p->settings;
	if (!YAJL_IS_OBJECT(obj))
		return bad(c, "profile", "must be an object");
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		if (strcmp(k, "record") == 0) {
			if (want_bool(c, "profile.record", v, &s->profile_record) < 0)
				return -1;
		} else if (strcmp(k, "dir") == 0) {
			if (want_path(c, "profile.dir", v, s->profile_dir, sizeof(s->profile_dir)) < 0)
				return -1;
		} else if (strcmp(k, "max_bytes") == 0) {
			if (want_u64(c, "profile.max_bytes", v, 0, UINT64_C(1) << 40, &s->profile_max_bytes) < 0)
				return -1;
		} else if (strcmp(k, "record_only") == 0) {
			if (apply_record_only(c, v) < 0)
				return -1;
		} else if (strcmp(k, "interval_ms") == 0 || strcmp(k, "settle_ms") == 0 || strcmp(k, "max_ms") == 0 ||
			   strcmp(k, "max_count") == 0 || strcmp(k, "max_per_image") == 0) {
			static const struct {
				const char *key;
				uint64_t lo, hi;
			} lim[] = { { "interval_ms", 1, 1000 }, { "settle_ms", 10, 60000 }, { "max_ms", 10, 60000 },
				    { "max_count", 1, 100000 }, { "max_per_image", 1, 100000 } };
			unsigned *dst[] = { &s->profile_interval_ms, &s->profile_settle_ms, &s->profile_max_ms,
					    &s->profile_max_count, &s->profile_max_per_image };
			for (size_t j = 0; j < 5; j++) {
				if (strcmp(k, lim[j].key) != 0)
					continue;
				char full[64];
				snprintf(full, sizeof(full), "profile.%s", lim[j].key);
				uint64_t u;
				if (want_u64(c, full, v, lim[j].lo, lim[j].hi, &u) < 0)
					return -1;
				*dst[j] = (unsigned)u;
			}
		} else {
			char full[256];
			snprintf(full, sizeof(full), "profile.%.200s", k);
			return unknown(c, full);
		}
	}
	return 0;
}

static int apply_nri(struct ctx *c, yajl_val obj)
{
	if (!YAJL_IS_OBJECT(obj))
		return bad(c, "nri", "must be an object");
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		if (strcmp(k, "prestart_hook") == 0) {
			if (want_path(c, "nri.prestart_hook", v, c->p->nri_prestart_hook,
				      sizeof(c->p->nri_prestart_hook)) < 0)
				return -1;
		} else {
			char full[256];
			snprintf(full, sizeof(full), "nri.%.200s", k);
			return unknown(c, full);
		}
	}
	return 0;
}

static int apply_metrics(struct ctx *c, yajl_val obj)
{
	if (!YAJL_IS_OBJECT(obj))
		return bad(c, "metrics", "must be an object");
	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *k = obj->u.object.keys[i];
		if (strcmp(k, "file") == 0) {
			if (want_path(c, "metrics.file", obj->u.object.values[i], c->p->metrics_file,
				      sizeof(c->p->metrics_file)) < 0)
				return -1;
		} else {
			char full[256];
			snprintf(full, sizeof(full), "metrics.%.200s", k);
			return unknown(c, full);
		}
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
	if (strcmp(k, "confine") == 0)
		return want_bool(c, k, v, &p->confine);
	if (strcmp(k, "override") == 0)
		return want_bool(c, k, v, &p->settings.override);
	if (strcmp(k, "go_aware") == 0)
		return want_bool(c, k, v, &p->settings.go_aware);
	if (strcmp(k, "go_only") == 0)
		return want_bool(c, k, v, &p->settings.go_only);
	if (strcmp(k, "fix_invalid") == 0)
		return want_bool(c, k, v, &p->settings.fix_invalid);
	if (strcmp(k, "pod_limits") == 0)
		return want_bool(c, k, v, &p->settings.pod_limits);
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
	if (strcmp(k, "prewarm") == 0)
		return apply_prewarm(c, v);
	if (strcmp(k, "profile") == 0)
		return apply_profile(c, v);
	if (strcmp(k, "nri") == 0)
		return apply_nri(c, v);
	if (strcmp(k, "metrics") == 0)
		return apply_metrics(c, v);
	if (strcmp(k, "mode") == 0) {
		const char *m = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
		if (strcmp(m, "enforce") != 0 && strcmp(m, "audit") != 0)
			return bad(c, k, "must be \"enforce\" or \"audit\"");
		p->settings.audit = strcmp(m, "audit") == 0;
		return 0;
	}
	if (strcmp(k, "workers") == 0)
		return apply_workers(c, v);
	if (strcmp(k, "gogc") == 0) {
		/* "": not set, the default. */
		if (!YAJL_IS_STRING(v) || (YAJL_GET_STRING(v)[0] != '\0' && !gt_valid_gogc(YAJL_GET_STRING(v))))
			return bad(c, k, "must be \"off\" or a string of digits such as \"100\" (\"\": not set)");
		snprintf(p->settings.gogc, sizeof(p->settings.gogc), "%s", YAJL_GET_STRING(v));
		return 0;
	}
	return unknown(c, k);
}

/* From a policy that is readable JSON but invalid, what says where gotune
 * reports and what it runs (runtime, log_file, metrics.file) still holds
 * when it is well formed itself, and its SHA-256 names it in the counters: the containers that pass through are
 * then logged and counted where the operator looks, and the wrapper still
 * finds the runtime it was given. */
static void salvage(struct gt_policy *p, yajl_val tree)
{
	static const char *const runtime[] = { "runtime", NULL }, *const log_file[] = { "log_file", NULL },
				 *const metrics[] = { "metrics", "file", NULL };
	const struct {
		const char *const *path;
		char *out;
		size_t size;
	} keep[] = {
		{ runtime, p->runtime, sizeof(p->runtime) },
		{ log_file, p->log_file, sizeof(p->log_file) },
		{ metrics, p->metrics_file, sizeof(p->metrics_file) },
	};
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		yajl_val v = gt_json_path(tree, keep[i].path);
		if (YAJL_IS_STRING(v) && v->u.string[0] == '/' && strlen(v->u.string) < keep[i].size)
			snprintf(keep[i].out, keep[i].size, "%s", v->u.string);
	}
}

int gt_policy_parse(struct gt_policy *p, const char *text, size_t len, const char *origin, gt_err_t *err)
{
	char what[4200];
	snprintf(what, sizeof(what), "policy %s", origin);
	cleanup_yajl yajl_val tree = NULL;
	size_t where;
	if (gt_json_parse_at(text, len, what, &tree, &where, err) < 0) {
		/* The parser's message, placed by line and column. */
		cleanup_err gt_err_t perr = *err;
		*err = NULL;
		const char *m = gt_err_msg(perr);
		size_t wl = strlen(what);
		if (strncmp(m, what, wl) == 0 && strncmp(m + wl, ": ", 2) == 0)
			m += wl + 2;
		return positioned(err, origin, text, len, where, m);
	}
	if (!YAJL_IS_OBJECT(tree))
		return positioned(err, origin, text, len, gt_json_skip_ws(text, len, 0), "must be a JSON object");
	struct gt_policy next = *p;
	struct ctx c = { &next, origin, text, len, err };
	for (size_t i = 0; i < tree->u.object.len; i++) {
		yajl_val dup;
		int r = gt_json_get(tree, tree->u.object.keys[i], &dup) < 0
				? bad(&c, tree->u.object.keys[i], "appears twice")
				: apply_top(&c, tree->u.object.keys[i], tree->u.object.values[i]);
		if (r < 0) {
			salvage(p, tree);
			gt_sha256_of(text, len, p->sha256);
			return -1;
		}
	}
	snprintf(next.source, sizeof(next.source), "%s", origin);
	gt_sha256_of(text, len, next.sha256);
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
