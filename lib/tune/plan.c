#include "plan.h"
#include "goenv.h"
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
	for (size_t i = n_env; i > 0; i--)
		if (strncmp(env[i - 1], key, klen) == 0 && env[i - 1][klen] == '=')
			return (long)(i - 1);
	return -1;
}

size_t gt_env_count(const char *const *env, size_t n_env, const char *key)
{
	size_t klen = strlen(key), n = 0;
	for (size_t i = 0; i < n_env; i++)
		n += strncmp(env[i], key, klen) == 0 && env[i][klen] == '=';
	return n;
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

/* The entrypoint's Go minor version when known (go_aware and an
 * inspected Go 1.x binary), else -1. */
static int go_minor(const struct gt_settings *s, const struct gt_image *img)
{
	if (!s->go_aware || img == NULL || !img->inspected || !img->go.is_go || img->go.major != 1)
		return -1;
	return img->go.minor;
}

/* Handles the cases common to every variable; returns true when decided.
 * A value the container sets is kept (unless override), with the reason
 * Go would not use it when that is so; with fix_invalid a value that
 * makes Go abort is not kept but planned over (*fix gets why). */
static bool decided_by_env(struct gt_decision *d, const char *var, const struct gt_settings *s,
			   const char *const *env, size_t n_env, bool var_enabled, const char *problem, bool aborts,
			   char *fix, size_t fixsz)
{
	if (!s->enabled) {
		DECIDE(d, GT_ACT_SKIPPED, "gotune disabled for this container");
		return true;
	}
	const char *cur = env_value(env, n_env, var);
	bool bad = cur != NULL && problem != NULL && problem[0] != '\0';
	if (!var_enabled && !bad) {
		DECIDE(d, GT_ACT_SKIPPED, "switched off by policy or annotation");
		return true;
	}
	if (cur != NULL && (!s->override || !var_enabled)) {
		if (bad && aborts && s->fix_invalid && var_enabled) {
			snprintf(fix, fixsz, "%s", problem);
			return false;
		}
		snprintf(d->value, sizeof(d->value), "%s", cur);
		if (bad)
			DECIDE(d, GT_ACT_KEPT, "user set %s=%.60s; %s%s", var, cur, problem,
			       aborts && !s->fix_invalid ? " (fix_invalid replaces it)" : "");
		else
			DECIDE(d, GT_ACT_KEPT, "user set %s=%.60s", var, cur);
		return true;
	}
	return false;
}

static void set_or_replace(struct gt_decision *d, const char *var, const char *const *env, size_t n_env,
			   const char *fix)
{
	const char *cur = env_value(env, n_env, var);
	size_t len = strlen(d->reason);
	if (cur != NULL && fix != NULL && fix[0] != '\0') {
		snprintf(d->reason + len, sizeof(d->reason) - len, " (fix_invalid; was %s=%.40s: %s)", var, cur, fix);
		d->action = GT_ACT_REPLACED;
	} else if (cur != NULL) {
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
		/* Only development builds from before go1.21 write no version, and
		 * container-aware GOMAXPROCS came with go1.25. */
		snprintf(out->basis, sizeof(out->basis), "%.60s: no version to read: taken as fixed at start", g->version);
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
	char dev[48] = "";
	if (g->devel)
		snprintf(dev, sizeof(dev), " (a development build: read as go%d.%d)", g->major, g->minor);
	snprintf(out->basis, sizeof(out->basis), "%.60s: containermaxprocs=%s from %s%s", g->version, v, from, dev);
}

/* Where the cap on GOMAXPROCS comes from, when it is not the host's online
 * CPUs or the container's own cpuset. */
static const char *cap_origin(const struct gt_limits *l, const struct gt_settings *s, uint64_t cap)
{
	if (l->cpuset_cpus > 0 || cap >= (uint64_t)l->host_cpus)
		return "";
	if (s->affinity_inherit && l->affinity_cpus > 0 && cap == (uint64_t)l->affinity_cpus &&
	    (l->pod_cpus == 0 || l->affinity_cpus < l->pod_cpus))
		return " (this process's affinity, gomaxprocs.affinity=inherit)";
	return " (the pod cgroup's cpuset)";
}

static void plan_maxprocs(struct gt_decision *d, const struct gt_limits *l, const struct gt_settings *s,
			  const char *const *env, size_t n_env, const struct gt_image *img,
			  const struct gt_decision *godebug)
{
	const char *cur = env_value(env, n_env, "GOMAXPROCS");
	char problem[200] = "", fix[8];
	if (cur != NULL)
		gt_go_maxprocs(cur, go_minor(s, img), problem, sizeof(problem));
	if (decided_by_env(d, "GOMAXPROCS", s, env, n_env, s->maxprocs_enabled, problem, false, fix, sizeof(fix)))
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
	char from[200];
	const char *rnd = s->rounding == GT_ROUND_CEIL ? "ceil" : "floor";
	if (l->has_quota) {
		n = div_round((uint64_t)l->quota, l->period, s->rounding);
		snprintf(from, sizeof(from), "quota %" PRId64 "/%" PRIu64 "%s%.90s (%s)", l->quota, l->period,
			 l->quota_from[0] ? " from " : "", l->quota_from, rnd);
	} else if (s->shares && l->has_shares && l->shares > 2) {
		/* 1024 shares is one CPU of request (Kubernetes writes
		 * milliCPU * 1024 / 1000); 2 is the "no request" floor. Go
		 * reads no shares: with no quota it uses every CPU. */
		n = div_round(l->shares, 1024, s->rounding);
		if (l->weight > 0)
			snprintf(from, sizeof(from), "shares %" PRIu64 "/1024 from unified cpu.weight %" PRIu64 " (%s)",
				 l->shares, l->weight, rnd);
		else
			snprintf(from, sizeof(from), "shares %" PRIu64 "/1024 (%s)", l->shares, rnd);
	} else if (l->quota_from[0] != '\0') {
		DECIDE(d, GT_ACT_SKIPPED, "no CPU quota (%.120s)", l->quota_from);
		return;
	} else {
		DECIDE(d, GT_ACT_SKIPPED, "no CPU quota");
		return;
	}
	if (n < s->minimum)
		n = s->minimum;
	uint64_t cap = (uint64_t)gt_limits_cpu_cap(l, s->affinity_inherit);
	const char *origin = cap_origin(l, s, cap);
	if (n >= cap) {
		DECIDE(d, GT_ACT_SKIPPED, "%s -> %" PRIu64 ", not below the %" PRIu64 " CPUs Go uses by itself%s", from,
		       n, cap, origin);
		return;
	}
	if (go.tracks && l->has_quota) {
		/* Go's own pick: ceil of the quota of the cgroup it runs in, at
		 * least 2, at most the cap; the CPUs it may use where that cgroup
		 * has no quota. A pod's limit it does not read. */
		bool leaf = l->quota_from_pod ? l->leaf_has_quota : true;
		uint64_t own = !leaf ? cap
				       : l->quota_from_pod ? div_round((uint64_t)l->leaf_quota, l->leaf_period, GT_ROUND_CEIL)
							   : div_round((uint64_t)l->quota, l->period, GT_ROUND_CEIL);
		own = own < 2 ? 2 : own;
		own = own > cap ? cap : own;
		const char *t = gt_tracking_name(s->tracking);
		/* A limit on the pod's cgroup Go would not track at all: only
		 * defer leaves that to Go. Its own, below-floor leaves to Go
		 * where Go's floor of 2 is no worse. */
		bool pod = l->quota_from_pod;
		if (s->tracking == GT_TRACK_DEFER || n >= own ||
		    (!pod && s->tracking == GT_TRACK_BELOW_FLOOR && n >= 2)) {
			DECIDE(d, GT_ACT_SKIPPED, "%.150s -> %" PRIu64 "; Go picks %" PRIu64 " itself%s (tracking: %s)", from, n,
			       own, !pod ? " and tracks the limit" : n >= own ? "" : ": it reads only its own cgroup, not the pod's limit",
			       t);
			return;
		}
		snprintf(d->value, sizeof(d->value), "%" PRIu64, n);
		DECIDE(d, GT_ACT_SET, "%.150s -> %" PRIu64 " of %" PRIu64 " CPUs%.40s; %s %" PRIu64 " (tracking: %s, turns Go's tracking off)",
		       from, n, cap, origin,
		       pod ? "the limit is the pod cgroup's, which Go does not read: it would pick" : "Go would pick", own, t);
		set_or_replace(d, "GOMAXPROCS", env, n_env, NULL);
		return;
	}
	snprintf(d->value, sizeof(d->value), "%" PRIu64, n);
	DECIDE(d, GT_ACT_SET, "%s -> %" PRIu64 " of %" PRIu64 " CPUs%s", from, n, cap, origin);
	set_or_replace(d, "GOMAXPROCS", env, n_env, NULL);
}

/* What a GOMEMLIMIT the container sets does, given its limits: empty
 * when Go uses it and it can help. *aborts when Go stops at start on it. */
static void memlimit_problem(const char *cur, const struct gt_limits *l, int minor, char *out, size_t outsz,
			     bool *aborts)
{
	uint64_t bytes;
	*aborts = gt_go_memlimit(cur, minor, &bytes, out, outsz) == GT_GO_ABORTS;
	if (out[0] != '\0' || bytes == INT64_MAX)
		return;
	char lim[32];
	if (l->has_memory && bytes > (uint64_t)l->memory) {
		gt_memhuman((uint64_t)l->memory, lim, sizeof(lim));
		snprintf(out, outsz, "above the container's memory limit %s: the kernel OOM-kills it before the GC "
			 "holds the heap under that", lim);
	} else if (l->has_high && bytes > (uint64_t)l->high) {
		gt_memhuman((uint64_t)l->high, lim, sizeof(lim));
		snprintf(out, outsz, "above the container's memory.high %s: the kernel throttles and reclaims before "
			 "the GC reacts", lim);
	}
}

/* ppm as a fraction with two decimals, "0.90". */
static void ppm_str(uint32_t ppm, char *out, size_t outsz)
{
	unsigned h = (unsigned)((ppm + 5000u) / 10000u);
	snprintf(out, outsz, "%u.%02u", h / 100u, h % 100u);
}

static void plan_memlimit(struct gt_decision *d, const struct gt_limits *l, const struct gt_settings *s,
			  const char *const *env, size_t n_env, const struct gt_image *img)
{
	const char *cur = env_value(env, n_env, "GOMEMLIMIT");
	char problem[240] = "", fix[240] = "";
	bool aborts = false;
	if (cur != NULL)
		memlimit_problem(cur, l, go_minor(s, img), problem, sizeof(problem), &aborts);
	if (decided_by_env(d, "GOMEMLIMIT", s, env, n_env, s->memlimit_enabled, problem, aborts, fix, sizeof(fix)))
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
	if (!l->has_memory && !l->has_high) {
		if (fix[0] != '\0') {
			/* Nothing to plan, but the value must go: "off" is what Go
			 * does with no GOMEMLIMIT at all. */
			snprintf(d->value, sizeof(d->value), "off");
			DECIDE(d, GT_ACT_REPLACED, "no memory limit: off, Go's default");
			set_or_replace(d, "GOMEMLIMIT", env, n_env, fix);
			return;
		}
		if (l->memory_from[0] != '\0')
			DECIDE(d, GT_ACT_SKIPPED, "no memory limit (%.120s)", l->memory_from);
		else
			DECIDE(d, GT_ACT_SKIPPED, "no memory limit");
		return;
	}
	/* The kernel reclaims and throttles at memory.high; the heap must stay
	 * under whichever line comes first. */
	bool by_high = l->has_high && (!l->has_memory || l->high < l->memory);
	uint64_t base = by_high ? (uint64_t)l->high : (uint64_t)l->memory;
	char what[200], lim[32], b[32];
	gt_memhuman(base, b, sizeof(b));
	if (by_high && l->has_memory) {
		gt_memhuman((uint64_t)l->memory, lim, sizeof(lim));
		snprintf(what, sizeof(what), "memory.high %.24s (%.80s; below the limit %.24s)", b, l->high_from, lim);
	} else if (by_high) {
		snprintf(what, sizeof(what), "memory.high %.24s (%.100s)", b, l->high_from);
	} else {
		snprintf(what, sizeof(what), "memory limit %.24s%s%.100s%s", b, l->memory_from[0] ? " (" : "",
			 l->memory_from, l->memory_from[0] ? ")" : "");
	}
	char ratio[16], flr[16];
	ppm_str(s->ratio_ppm, ratio, sizeof(ratio));
	ppm_str(s->tmpfs_floor_ppm, flr, sizeof(flr));
	uint64_t tmpfs = gt_tmpfs_counted(l, s->tmpfs);
	uint64_t v;
	char why[sizeof(d->reason)];
	if (l->memory_shared && !by_high) {
		/* The limit is the sum of the other containers' budgets, whose
		 * GOMEMLIMITs aim at ratio x theirs: this one gets what they
		 * leave. Two Go runtimes aiming at ratio x one cgroup would
		 * together pass it. */
		v = gt_mem_scale(base, 1000000u - s->ratio_ppm);
		snprintf(why, sizeof(why), "%.200s shared with the pod's containers that have limits of their own: "
			 "this one has none, and gets what their GOMEMLIMITs leave: x (1 - %s)", what, ratio);
	} else if (tmpfs > 0) {
		/* A tmpfs is charged to the same cgroup as it fills. Its size is
		 * the worst case, so it may not take the budget below the floor. */
		uint64_t budget = base > tmpfs ? base - tmpfs : 0;
		uint64_t floor = gt_mem_scale(gt_mem_scale(base, s->ratio_ppm), s->tmpfs_floor_ppm);
		char t[32], bud[32], fl[32];
		gt_memhuman(tmpfs, t, sizeof(t));
		gt_memhuman(budget, bud, sizeof(bud));
		v = gt_mem_scale(budget, s->ratio_ppm);
		if (v < floor) {
			gt_memhuman(floor, fl, sizeof(fl));
			snprintf(why, sizeof(why), "%.200s - tmpfs %.24s = %.24s x %s is below the floor %s x %s x %.24s = %.24s",
				 what, t, bud, ratio, flr, ratio, b, fl);
			v = floor;
		} else {
			snprintf(why, sizeof(why), "%.200s - tmpfs %.24s = %.24s x %s", what, t, bud, ratio);
		}
	} else {
		v = gt_mem_scale(base, s->ratio_ppm);
		if (l->tmpfs_bytes > 0) {
			char t[32];
			gt_memhuman(l->tmpfs_bytes, t, sizeof(t));
			snprintf(why, sizeof(why), "%.200s x %s (tmpfs %.24s not subtracted: gomemlimit.tmpfs %s)", what,
				 ratio, t, gt_tmpfs_mode_name(s->tmpfs));
		} else {
			snprintf(why, sizeof(why), "%.200s x %s", what, ratio);
		}
	}
	if (v == 0) {
		DECIDE(d, GT_ACT_SKIPPED, "%s too small", what);
		return;
	}
	gt_memfmt(v, d->value, sizeof(d->value));
	DECIDE(d, GT_ACT_SET, "%s", why);
	set_or_replace(d, "GOMEMLIMIT", env, n_env, fix);
}

static void plan_gogc(struct gt_decision *d, const struct gt_settings *s, const char *const *env, size_t n_env,
		      const struct gt_image *img)
{
	const char *cur = env_value(env, n_env, "GOGC");
	char problem[200] = "", fix[8];
	if (cur != NULL)
		gt_go_gogc(cur, go_minor(s, img), problem, sizeof(problem));
	if (s->enabled && s->gogc[0] == '\0' && (cur == NULL || problem[0] == '\0')) {
		DECIDE(d, GT_ACT_SKIPPED, "not requested");
		return;
	}
	if (decided_by_env(d, "GOGC", s, env, n_env, s->gogc[0] != '\0', problem, false, fix, sizeof(fix)))
		return;
	snprintf(d->value, sizeof(d->value), "%s", s->gogc);
	DECIDE(d, GT_ACT_SET, "requested by policy or annotation");
	set_or_replace(d, "GOGC", env, n_env, NULL);
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
	unsigned added = 0, replaced = 0;
	if (cur != NULL && strlen(cur) < sizeof(out))
		snprintf(out, sizeof(out), "%s", cur);
	else if (cur != NULL) {
		DECIDE(d, GT_ACT_KEPT, "the container's GODEBUG is too long to merge");
		snprintf(d->value, sizeof(d->value), "%.1000s", cur);
		return;
	}
	for (size_t i = 0; i < s->n_godebug; i++) {
		const struct gt_kv *kv = &s->godebug[i];
		/* The key may be in the value more than once; Go takes the last
		 * (internal/godebug parse: later settings override earlier
		 * ones), so an override rewrites every copy. */
		size_t klen = strlen(kv->key);
		char next[sizeof(out)];
		size_t nlen = 0;
		unsigned found = 0;
		bool overflow = false;
		for (const char *p = out; *p != '\0';) {
			size_t n = strcspn(p, ",");
			bool match = n > klen && strncmp(p, kv->key, klen) == 0 && p[klen] == '=';
			found += match;
			int w = match && s->override
					? snprintf(next + nlen, sizeof(next) - nlen, "%s%s=%s", nlen ? "," : "", kv->key,
						   kv->value)
					: snprintf(next + nlen, sizeof(next) - nlen, "%s%.*s", nlen ? "," : "", (int)n, p);
			if (w < 0 || (size_t)w >= sizeof(next) - nlen) {
				overflow = true;
				break;
			}
			nlen += (size_t)w;
			p += n;
			if (*p == ',')
				p++;
		}
		if (found > 0 && !s->override)
			continue;
		if (!overflow && found == 0) {
			int w = snprintf(next + nlen, sizeof(next) - nlen, "%s%s=%s", nlen ? "," : "", kv->key, kv->value);
			overflow = w < 0 || (size_t)w >= sizeof(next) - nlen;
		}
		if (overflow) {
			DECIDE(d, GT_ACT_KEPT, "merged GODEBUG would be too long");
			snprintf(d->value, sizeof(d->value), "%s", cur != NULL ? cur : "");
			return;
		}
		memcpy(out, next, sizeof(out));
		if (found > 0)
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
	for (int v = 0; v < GT_NVARS && settings->enabled; v++) {
		size_t k = gt_env_count(env, n_env, gt_var_names[v]);
		if (k > 1)
			gt_note(&plan->notes, "process.env has %s %zu times; runc and crun give the container the last (%.40s)",
				gt_var_names[v], k, env_value(env, n_env, gt_var_names[v]));
	}
	/* GODEBUG first: a containermaxprocs key it adds decides GOMAXPROCS. */
	plan_godebug(&plan->d[GT_GODEBUG], settings, env, n_env);
	plan_maxprocs(&plan->d[GT_GOMAXPROCS], limits, settings, env, n_env, &plan->image, &plan->d[GT_GODEBUG]);
	plan_memlimit(&plan->d[GT_GOMEMLIMIT], limits, settings, env, n_env, image);
	plan_gogc(&plan->d[GT_GOGC], settings, env, n_env, image);
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
