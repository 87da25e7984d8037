#include "plan.h"
#include "memfmt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const gt_var_names[GT_NVARS] = { "GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG" };

const char *gt_action_name(enum gt_action a)
{
	switch (a) {
	case GT_ACT_SKIPPED: return "skipped";
	case GT_ACT_KEPT: return "kept";
	case GT_ACT_SET: return "set";
	case GT_ACT_REPLACED: return "replaced";
	case GT_ACT_MERGED: return "merged";
	}
	return "?";
}

long gt_env_find(const char *const *env, size_t n_env, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; i < n_env; i++)
		if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
			return (long)i;
	return -1;
}

static const char *env_value(const char *const *env, size_t n_env, const char *key)
{
	long i = gt_env_find(env, n_env, key);
	return i < 0 ? NULL : env[i] + strlen(key) + 1;
}

#define DECIDE(d, act, ...) \
	do { \
		(d)->action = (act); \
		snprintf((d)->reason, sizeof((d)->reason), __VA_ARGS__); \
	} while (0)

/* Handles the cases common to every variable; returns true when decided. */
static bool decided_by_env(struct gt_decision *d, const char *var, const struct gt_settings *s,
			   const char *const *env, size_t n_env, bool var_enabled)
{
	if (!s->enabled) {
		DECIDE(d, GT_ACT_SKIPPED, "gotune disabled for this container");
		return true;
	}
	if (!var_enabled) {
		DECIDE(d, GT_ACT_SKIPPED, "switched off by policy or annotation");
		return true;
	}
	const char *cur = env_value(env, n_env, var);
	if (cur != NULL && !s->override) {
		snprintf(d->value, sizeof(d->value), "%s", cur);
		DECIDE(d, GT_ACT_KEPT, "user set %s=%.60s", var, cur);
		return true;
	}
	return false;
}

static void set_or_replace(struct gt_decision *d, const char *var, const char *const *env, size_t n_env)
{
	const char *cur = env_value(env, n_env, var);
	if (cur != NULL) {
		size_t len = strlen(d->reason);
		snprintf(d->reason + len, sizeof(d->reason) - len, " (override; was %s=%.40s)", var, cur);
		d->action = GT_ACT_REPLACED;
	} else {
		d->action = GT_ACT_SET;
	}
}

static uint64_t div_round(uint64_t a, uint64_t b, enum gt_rounding r)
{
	return r == GT_ROUND_CEIL ? a / b + (a % b != 0) : a / b;
}

/* What the entrypoint's Go runtime does about GOMAXPROCS by itself. Go >=
 * 1.25 sets it from the cgroup CPU limit (at least 2, never above the
 * CPUs it may run on) and re-checks it about once a second, unless
 * GODEBUG containermaxprocs=0: from the environment (the container's own
 * or the one gotune adds), else the binary's DefaultGODEBUG (go.mod < 1.25
 * or a //go:debug line). An explicit GOMAXPROCS turns that tracking off. */
struct go_cpu {
	bool known;		/* an inspected Go binary with a release version */
	bool tracks;
	char basis[200];
};

static void go_cpu_facts(const struct gt_image *img, const char *godebug, const char *godebug_from,
			 struct go_cpu *out)
{
	memset(out, 0, sizeof(*out));
	const struct gt_goinfo *g = &img->go;
	if (!img->inspected) {
		snprintf(out->basis, sizeof(out->basis), "%.160s", img->note);
		return;
	}
	if (!g->is_go) {
		snprintf(out->basis, sizeof(out->basis), "entrypoint %.120s is not a Go binary", img->note);
		return;
	}
	if (g->major < 0) {
		snprintf(out->basis, sizeof(out->basis), "%.60s: not a release version", g->version);
		return;
	}
	out->known = true;
	if (!gt_goinfo_at_least(g, 1, 25)) {
		snprintf(out->basis, sizeof(out->basis), "%.60s: GOMAXPROCS fixed at start (container-aware from go1.25)",
			 g->version);
		return;
	}
	char v[16];
	const char *from;
	if (godebug != NULL && gt_godebug_value(godebug, "containermaxprocs", v, sizeof(v)))
		from = godebug_from;
	else if (gt_godebug_value(g->default_godebug, "containermaxprocs", v, sizeof(v)))
		from = "the binary's DefaultGODEBUG";
	else {
		snprintf(v, sizeof(v), "1");
		from = "the default since go1.25";
	}
	out->tracks = strcmp(v, "0") != 0;
	snprintf(out->basis, sizeof(out->basis), "%.60s: containermaxprocs=%s from %s", g->version, v, from);
}

static void plan_maxprocs(struct gt_decision *d, const struct gt_limits *l, const struct gt_settings *s,
			  const char *const *env, size_t n_env, const struct gt_image *img,
			  const struct gt_decision *godebug)
{
	if (decided_by_env(d, "GOMAXPROCS", s, env, n_env, s->maxprocs_enabled))
		return;
	struct go_cpu go = { 0 };
	if (s->go_aware) {
		/* Decide against the GODEBUG the container will really get. */
		bool ours = godebug->action == GT_ACT_SET || godebug->action == GT_ACT_MERGED ||
			    godebug->action == GT_ACT_REPLACED;
		go_cpu_facts(img, ours ? godebug->value : env_value(env, n_env, "GODEBUG"),
			     ours ? "the GODEBUG gotune adds" : "the container's GODEBUG", &go);
		snprintf(d->basis, sizeof(d->basis), "%s", go.basis);
	}
	uint64_t n;
	char from[120];
	const char *rnd = s->rounding == GT_ROUND_CEIL ? "ceil" : "floor";
	if (l->has_quota) {
		n = div_round((uint64_t)l->quota, l->period, s->rounding);
		snprintf(from, sizeof(from), "quota %" PRId64 "/%" PRIu64 " (%s)", l->quota, l->period, rnd);
	} else if (s->shares && l->has_shares && l->shares > 2) {
		/* 1024 shares is one CPU of request (Kubernetes writes
		 * milliCPU * 1024 / 1000); 2 is the "no request" floor. Go
		 * reads no shares: with no quota it uses every CPU. */
		n = div_round(l->shares, 1024, s->rounding);
		snprintf(from, sizeof(from), "shares %" PRIu64 "/1024 (%s)", l->shares, rnd);
	} else {
		DECIDE(d, GT_ACT_SKIPPED, "no CPU quota");
		return;
	}
	if (n < s->minimum)
		n = s->minimum;
	uint64_t cap = (uint64_t)gt_limits_cpu_cap(l);
	if (n >= cap) {
		DECIDE(d, GT_ACT_SKIPPED, "%s -> %" PRIu64 ", not below the %" PRIu64 " CPUs Go uses by itself", from,
		       n, cap);
		return;
	}
	if (go.tracks && l->has_quota) {
		/* Go's own pick: ceil(quota), at least 2, at most the cap. */
		uint64_t own = div_round((uint64_t)l->quota, l->period, GT_ROUND_CEIL);
		own = own < 2 ? 2 : own;
		own = own > cap ? cap : own;
		const char *t = gt_tracking_name(s->tracking);
		if (s->tracking == GT_TRACK_DEFER ||
		    (s->tracking == GT_TRACK_BELOW_FLOOR && (n >= 2 || n >= own))) {
			DECIDE(d, GT_ACT_SKIPPED, "%s -> %" PRIu64 "; Go picks %" PRIu64 " itself and tracks the limit (tracking: %s)",
			       from, n, own, t);
			return;
		}
		snprintf(d->value, sizeof(d->value), "%" PRIu64, n);
		DECIDE(d, GT_ACT_SET, "%s -> %" PRIu64 " of %" PRIu64 " CPUs; Go would pick %" PRIu64 " (tracking: %s, turns Go's tracking off)",
		       from, n, cap, own, t);
		set_or_replace(d, "GOMAXPROCS", env, n_env);
		return;
	}
	snprintf(d->value, sizeof(d->value), "%" PRIu64, n);
	DECIDE(d, GT_ACT_SET, "%s -> %" PRIu64 " of %" PRIu64 " CPUs", from, n, cap);
	set_or_replace(d, "GOMAXPROCS", env, n_env);
}

static void plan_memlimit(struct gt_decision *d, const struct gt_limits *l, const struct gt_settings *s,
			  const char *const *env, size_t n_env, const struct gt_image *img)
{
	if (decided_by_env(d, "GOMEMLIMIT", s, env, n_env, s->memlimit_enabled))
		return;
	if (s->go_aware && img != NULL && img->inspected && img->go.is_go && img->go.major >= 0) {
		bool has = gt_goinfo_at_least(&img->go, 1, 19);
		snprintf(d->basis, sizeof(d->basis), "%.60s: %s", img->go.version,
			 has ? "reads GOMEMLIMIT (go1.19+)" : "predates GOMEMLIMIT (go1.19)");
		if (!has) {
			DECIDE(d, GT_ACT_SKIPPED, "%s ignores GOMEMLIMIT (new in go1.19)", img->go.version);
			return;
		}
	}
	if (!l->has_memory) {
		DECIDE(d, GT_ACT_SKIPPED, "no memory limit");
		return;
	}
	uint64_t v = gt_mem_scale((uint64_t)l->memory, s->ratio_ppm);
	char lim[32];
	gt_memhuman((uint64_t)l->memory, lim, sizeof(lim));
	if (v == 0) {
		DECIDE(d, GT_ACT_SKIPPED, "memory limit %s too small", lim);
		return;
	}
	gt_memfmt(v, d->value, sizeof(d->value));
	DECIDE(d, GT_ACT_SET, "memory limit %s x %.2f", lim, (double)s->ratio_ppm / 1e6);
	set_or_replace(d, "GOMEMLIMIT", env, n_env);
}

static void plan_gogc(struct gt_decision *d, const struct gt_settings *s, const char *const *env, size_t n_env)
{
	if (decided_by_env(d, "GOGC", s, env, n_env, s->gogc[0] != '\0')) {
		if (s->enabled && s->gogc[0] == '\0')
			DECIDE(d, GT_ACT_SKIPPED, "not requested");
		return;
	}
	snprintf(d->value, sizeof(d->value), "%s", s->gogc);
	DECIDE(d, GT_ACT_SET, "requested by policy or annotation");
	set_or_replace(d, "GOGC", env, n_env);
}

/* GODEBUG is merged key by key: the container's own keys win unless the
 * policy overrides, and keys it does not mention are always kept. */
static void plan_godebug(struct gt_decision *d, const struct gt_settings *s, const char *const *env, size_t n_env)
{
	if (!s->enabled) {
		DECIDE(d, GT_ACT_SKIPPED, "gotune disabled for this container");
		return;
	}
	if (s->n_godebug == 0) {
		DECIDE(d, GT_ACT_SKIPPED, "not requested");
		return;
	}
	const char *cur = env_value(env, n_env, "GODEBUG");
	char out[sizeof(d->value)] = "";
	size_t len = 0;
	unsigned added = 0, replaced = 0;
	if (cur != NULL && strlen(cur) < sizeof(out))
		len = (size_t)snprintf(out, sizeof(out), "%s", cur);
	else if (cur != NULL) {
		DECIDE(d, GT_ACT_KEPT, "the container's GODEBUG is too long to merge");
		snprintf(d->value, sizeof(d->value), "%.1000s", cur);
		return;
	}
	for (size_t i = 0; i < s->n_godebug; i++) {
		const struct gt_kv *kv = &s->godebug[i];
		/* Find key=... as a whole comma-separated item of out. */
		size_t klen = strlen(kv->key);
		char *item = NULL;
		for (char *p = out; p != NULL && *p != '\0';) {
			if (strncmp(p, kv->key, klen) == 0 && p[klen] == '=') {
				item = p;
				break;
			}
			p = strchr(p, ',');
			if (p != NULL)
				p++;
		}
		if (item != NULL && !s->override)
			continue;
		char tail[sizeof(out)] = "";
		if (item != NULL) {
			char *end = strchr(item, ',');
			snprintf(tail, sizeof(tail), "%s", end != NULL ? end : "");
			len = (size_t)(item - out);
			out[len] = '\0';
		}
		int w = snprintf(out + len, sizeof(out) - len, "%s%s=%s%s", (item == NULL && len > 0) ? "," : "",
				 kv->key, kv->value, tail);
		if (w < 0 || (size_t)w >= sizeof(out) - len) {
			DECIDE(d, GT_ACT_KEPT, "merged GODEBUG would be too long");
			snprintf(d->value, sizeof(d->value), "%s", cur != NULL ? cur : "");
			return;
		}
		len = strlen(out);
		if (item != NULL)
			replaced++;
		else
			added++;
	}
	snprintf(d->value, sizeof(d->value), "%s", out);
	if (added == 0 && replaced == 0) {
		DECIDE(d, GT_ACT_KEPT, "container already sets every requested key");
		return;
	}
	if (cur == NULL)
		DECIDE(d, GT_ACT_SET, "%u key(s) from policy or annotation", added);
	else
		DECIDE(d, GT_ACT_MERGED, "%u key(s) added, %u overridden", added, replaced);
}

void gt_plan_make(struct gt_plan *plan, const struct gt_limits *limits, const struct gt_settings *settings,
		  const char *const *env, size_t n_env, const struct gt_image *image)
{
	struct gt_notes notes = plan->notes;
	memset(plan, 0, sizeof(*plan));
	plan->notes = notes;
	plan->limits = *limits;
	plan->settings = *settings;
	if (image != NULL)
		plan->image = *image;
	else
		snprintf(plan->image.note, sizeof(plan->image.note), "image not inspected");
	/* go_only needs the image: where none could be inspected (NRI has
	 * no rootfs yet) the rules apply, and the plan says so. */
	if (settings->go_only && plan->image.inspected && !plan->image.go.is_go) {
		for (int v = 0; v < GT_NVARS; v++)
			DECIDE(&plan->d[v], GT_ACT_SKIPPED, "go_only policy: the entrypoint is not a Go binary (%.100s)",
			       plan->image.note);
		return;
	}
	if (settings->go_only && settings->enabled && !plan->image.inspected)
		gt_note(&plan->notes, "go_only not applied: %.100s; the rules apply", plan->image.note);
	if (plan->image.go.default_godebug_cut)
		gt_note(&plan->notes, "the entrypoint's DefaultGODEBUG is longer than %zu bytes: settings past that were not read",
			sizeof(plan->image.go.default_godebug) - 1);
	/* GODEBUG first: a containermaxprocs key it adds decides GOMAXPROCS. */
	plan_godebug(&plan->d[GT_GODEBUG], settings, env, n_env);
	plan_maxprocs(&plan->d[GT_GOMAXPROCS], limits, settings, env, n_env, &plan->image, &plan->d[GT_GODEBUG]);
	plan_memlimit(&plan->d[GT_GOMEMLIMIT], limits, settings, env, n_env, image);
	plan_gogc(&plan->d[GT_GOGC], settings, env, n_env);
}

static bool changes(enum gt_action a)
{
	return a == GT_ACT_SET || a == GT_ACT_REPLACED || a == GT_ACT_MERGED;
}

bool gt_plan_changes(const struct gt_plan *plan)
{
	for (int v = 0; v < GT_NVARS; v++)
		if (changes(plan->d[v].action))
			return true;
	return false;
}

void gt_env_edits_free(struct gt_env_edit *edits, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(edits[i].entry);
	free(edits);
}

int gt_plan_edits(const struct gt_plan *plan, const char *const *env, size_t n_env, struct gt_env_edit **edits,
		  size_t *n_edits, gt_err_t *err)
{
	*edits = NULL;
	*n_edits = 0;
	size_t cap = GT_NVARS;
	for (int v = 0; v < GT_NVARS; v++)
		if (plan->d[v].action == GT_ACT_REPLACED || plan->d[v].action == GT_ACT_MERGED)
			cap += n_env;
	struct gt_env_edit *e = calloc(cap, sizeof(*e));
	if (e == NULL)
		return gt_error(err, ENOMEM, "env edits");
	size_t n = 0;
	for (int v = 0; v < GT_NVARS; v++) {
		const struct gt_decision *d = &plan->d[v];
		if (!changes(d->action))
			continue;
		char *entry;
		if (asprintf(&entry, "%s=%s", gt_var_names[v], d->value) < 0) {
			gt_env_edits_free(e, n);
			return gt_error(err, ENOMEM, "env edits");
		}
		if (d->action == GT_ACT_SET) {
			e[n++] = (struct gt_env_edit){ GT_ENV_APPEND, entry };
			continue;
		}
		/* Every copy of the variable gets the new value: which copy a
		 * program sees depends on the program. */
		size_t klen = strlen(gt_var_names[v]);
		bool first = true;
		for (size_t i = 0; i < n_env; i++) {
			if (strncmp(env[i], gt_var_names[v], klen) != 0 || env[i][klen] != '=')
				continue;
			char *copy = first ? entry : strdup(entry);
			first = false;
			if (copy == NULL) {
				gt_env_edits_free(e, n);
				return gt_error(err, ENOMEM, "env edits");
			}
			e[n++] = (struct gt_env_edit){ i, copy };
		}
		if (first)
			free(entry);
	}
	*edits = e;
	*n_edits = n;
	return 0;
}
