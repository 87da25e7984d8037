#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "policy.h"
#include "tap.h"

static struct gt_settings defaults(void)
{
	struct gt_policy p;
	gt_policy_defaults(&p);
	return p.settings;
}

static struct gt_limits cpu(int64_t quota, uint64_t period, int host)
{
	struct gt_limits l = { 0 };
	l.has_quota = quota > 0;
	l.quota = quota;
	l.period = period;
	l.host_cpus = host;
	return l;
}

static const struct gt_image *img; /* what the next plan_of knows of the image */

static struct gt_plan plan_of(const struct gt_limits *l, const struct gt_settings *s, const char *const *env)
{
	struct gt_plan p = { 0 };
	size_t n = 0;
	while (env != NULL && env[n] != NULL)
		n++;
	gt_plan_make(&p, l, s, env, n, img);
	return p;
}

int main(void)
{
	struct gt_settings s = defaults();
	struct gt_limits l;
	struct gt_plan p;

	l = cpu(50000, 100000, 2);
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SET, "half a CPU on 2 CPUs: set");
	is_str(p.d[GT_GOMAXPROCS].value, "1", "ceil(0.5) = 1");
	is_str(p.d[GT_GOMAXPROCS].reason, "quota 50000/100000 (ceil) -> 1 of 2 CPUs", "reason names the inputs");

	l = cpu(150000, 100000, 8);
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "2", "ceil(1.5) = 2");
	s.rounding = GT_ROUND_FLOOR;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "1", "floor(1.5) = 1");
	l = cpu(50000, 100000, 8);
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "1", "floor(0.5) is raised to the minimum 1");
	s = defaults();
	s.minimum = 3;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "3", "minimum knob");
	s = defaults();

	l = cpu(400000, 100000, 2);
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "quota of 4 CPUs on a 2-CPU host: Go already picks 2");
	l = cpu(200000, 100000, 2);
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "equal to the host: not set");

	l = cpu(300000, 100000, 16);
	l.cpuset_cpus = 2;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "cpuset of 2 caps a 3-CPU quota");
	l = cpu(100000, 100000, 16);
	l.cpuset_cpus = 4;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "1", "quota below cpuset");

	l = cpu(0, 100000, 16);
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "no quota: skipped");
	is_str(p.d[GT_GOMAXPROCS].reason, "no CPU quota", "reason for no quota");

	l.has_shares = true;
	l.shares = 2048;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "shares ignored by default");
	s.shares = true;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "2", "shares mode: 2048 shares -> 2");
	l.shares = 512;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "1", "shares mode: 512 shares -> 1");
	l.shares = 2;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "shares mode: 2 shares means no request");
	s = defaults();

	/* memory */
	l = cpu(0, 100000, 2);
	l.has_memory = true;
	l.memory = 209715200;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMEMLIMIT].action, GT_ACT_SET, "memory limit: set");
	is_str(p.d[GT_GOMEMLIMIT].value, "180MiB", "0.9 x 200MiB");
	is_str(p.d[GT_GOMEMLIMIT].reason, "memory limit 200MiB x 0.90", "memory reason");
	s.ratio_ppm = 750000;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMEMLIMIT].value, "150MiB", "ratio knob");
	s.memlimit_enabled = false;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMEMLIMIT].action, GT_ACT_SKIPPED, "per-variable off");
	s = defaults();
	l.has_memory = false;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMEMLIMIT].reason, "no memory limit", "no memory limit");

	/* never clobber, override */
	l = cpu(50000, 100000, 2);
	l.has_memory = true;
	l.memory = 209715200;
	const char *env1[] = { "PATH=/bin", "GOMAXPROCS=3", "GOMEMLIMIT=1GiB", NULL };
	p = plan_of(&l, &s, env1);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_KEPT, "user GOMAXPROCS kept");
	is_str(p.d[GT_GOMAXPROCS].reason, "user set GOMAXPROCS=3", "kept reason");
	is_int(p.d[GT_GOMEMLIMIT].action, GT_ACT_KEPT, "user GOMEMLIMIT kept");
	ok(!gt_plan_changes(&p), "nothing to change");
	s.override = true;
	p = plan_of(&l, &s, env1);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_REPLACED, "override replaces");
	is_str(p.d[GT_GOMAXPROCS].value, "1", "override value");
	struct gt_env_edit *edits;
	size_t n_edits;
	gt_err_t err = NULL;
	ok(gt_plan_edits(&p, env1, 3, &edits, &n_edits, &err) == 0, "edits");
	is_int(n_edits, 2, "two replacements");
	is_int(edits[0].index, 1, "GOMAXPROCS replaced in place");
	is_str(edits[0].entry, "GOMAXPROCS=1", "new entry");
	gt_env_edits_free(edits, n_edits);
	s = defaults();

	const char *env_prefix[] = { "GOMAXPROCSX=9", "XGOMAXPROCS=9", NULL };
	p = plan_of(&l, &s, env_prefix);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SET, "similar names are other variables");

	/* disabled */
	s.enabled = false;
	p = plan_of(&l, &s, NULL);
	ok(!gt_plan_changes(&p), "disabled: no change");
	is_str(p.d[GT_GOMAXPROCS].reason, "gotune disabled for this container", "disabled reason");
	s = defaults();

	/* GOGC */
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOGC].action, GT_ACT_SKIPPED, "GOGC only when asked");
	snprintf(s.gogc, sizeof(s.gogc), "50");
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOGC].value, "50", "GOGC set by policy");
	const char *env_gogc[] = { "GOGC=off", NULL };
	p = plan_of(&l, &s, env_gogc);
	is_int(p.d[GT_GOGC].action, GT_ACT_KEPT, "user GOGC kept");
	s = defaults();

	/* GODEBUG merge */
	gt_settings_godebug_set(&s, "madvdontneed", "1");
	gt_settings_godebug_set(&s, "gctrace", "0");
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GODEBUG].value, "madvdontneed=1,gctrace=0", "GODEBUG set from policy");
	const char *env_gd[] = { "GODEBUG=gctrace=1,http2client=0", NULL };
	p = plan_of(&l, &s, env_gd);
	is_int(p.d[GT_GODEBUG].action, GT_ACT_MERGED, "GODEBUG merged");
	is_str(p.d[GT_GODEBUG].value, "gctrace=1,http2client=0,madvdontneed=1", "container's keys win, new keys added");
	s.override = true;
	p = plan_of(&l, &s, env_gd);
	is_str(p.d[GT_GODEBUG].value, "gctrace=0,http2client=0,madvdontneed=1", "override replaces a key in place");
	const char *env_gd2[] = { "GODEBUG=xgctrace=5", NULL };
	p = plan_of(&l, &s, env_gd2);
	is_str(p.d[GT_GODEBUG].value, "xgctrace=5,madvdontneed=1,gctrace=0", "key match is whole-key");
	s.override = false;
	const char *env_gd3[] = { "GODEBUG=madvdontneed=0,gctrace=2", NULL };
	p = plan_of(&l, &s, env_gd3);
	is_int(p.d[GT_GODEBUG].action, GT_ACT_KEPT, "all keys present: kept");
	s = defaults();

	/* Go-aware decisions: a Go >= 1.25 entrypoint tracks the CPU limit
	 * itself (at least 2 Ps); the tracking policy says when gotune still
	 * sets GOMAXPROCS. */
	struct gt_image go125 = { .inspected = true, .go = { .is_go = true, .version = "go1.25.3", .major = 1,
							     .minor = 25, .patch = 3 } };
	img = &go125;
	s.tracking = GT_TRACK_DEFER;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "go1.25, tracking defer: GOMAXPROCS left to the runtime");
	is_str(p.d[GT_GOMAXPROCS].reason,
	       "quota 50000/100000 (ceil) -> 1; Go picks 2 itself and tracks the limit (tracking: defer)", "and says why");
	is_str(p.d[GT_GOMAXPROCS].basis, "go1.25.3: containermaxprocs=1 from the default since go1.25",
	       "and which Go and setting decided");
	is_int(p.d[GT_GOMEMLIMIT].action, GT_ACT_SET, "go1.25: GOMEMLIMIT still set");
	is_str(p.d[GT_GOMEMLIMIT].basis, "go1.25.3: reads GOMEMLIMIT (go1.19+)", "GOMEMLIMIT names its basis");
	s = defaults();
	p = plan_of(&l, &s, NULL);
	is_int(s.tracking, GT_TRACK_BELOW_FLOOR, "default tracking policy: below-floor");
	is_str(p.d[GT_GOMAXPROCS].value, "1", "below-floor: 0.5 CPU is below Go's floor of 2: set 1");
	is_str(p.d[GT_GOMAXPROCS].reason,
	       "quota 50000/100000 (ceil) -> 1 of 2 CPUs; Go would pick 2 (tracking: below-floor, turns Go's tracking off)",
	       "and says what Go would have picked");
	struct gt_limits l4 = cpu(150000, 100000, 4);
	p = plan_of(&l4, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "below-floor: 1.5 CPU (ceil 2) is Go's own pick: deferred");
	s.rounding = GT_ROUND_FLOOR;
	p = plan_of(&l4, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "1", "below-floor + floor rounding: 1.5 CPU -> 1 is below 2: set");
	l4 = cpu(250000, 100000, 4);
	p = plan_of(&l4, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "below-floor + floor rounding: 2.5 CPU -> 2: deferred");
	s.tracking = GT_TRACK_ALWAYS;
	p = plan_of(&l4, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "2", "always: floor(2.5) = 2 set although Go tracks");
	s = defaults();
	s.tracking = GT_TRACK_DEFER;
	snprintf(go125.go.default_godebug, sizeof(go125.go.default_godebug), "panicnil=1,containermaxprocs=0");
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SET, "DefaultGODEBUG containermaxprocs=0: set");
	is_str(p.d[GT_GOMAXPROCS].basis, "go1.25.3: containermaxprocs=0 from the binary's DefaultGODEBUG",
	       "basis names DefaultGODEBUG");
	const char *env_on[] = { "GODEBUG=containermaxprocs=1", NULL };
	p = plan_of(&l, &s, env_on);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "container's GODEBUG wins over DefaultGODEBUG");
	go125.go.default_godebug[0] = '\0';
	const char *env_off[] = { "GODEBUG=x=1,containermaxprocs=0", NULL };
	p = plan_of(&l, &s, env_off);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SET, "container's GODEBUG containermaxprocs=0: set");
	is_str(p.d[GT_GOMAXPROCS].basis, "go1.25.3: containermaxprocs=0 from the container's GODEBUG",
	       "basis names the container's GODEBUG");
	/* A GODEBUG that gotune adds and that turns tracking off: decided
	 * against the merged value (was: skipped, so the container ran every
	 * CPU's worth of Ps on half a CPU). */
	gt_settings_godebug_set(&s, "containermaxprocs", "0");
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GODEBUG].value, "containermaxprocs=0", "policy GODEBUG containermaxprocs=0 is added");
	is_str(p.d[GT_GOMAXPROCS].value, "1", "and GOMAXPROCS is set, since Go will not track");
	is_str(p.d[GT_GOMAXPROCS].basis, "go1.25.3: containermaxprocs=0 from the GODEBUG gotune adds",
	       "basis names gotune's own GODEBUG");
	const char *env_on2[] = { "GODEBUG=containermaxprocs=1", NULL };
	p = plan_of(&l, &s, env_on2);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "the container's own key is kept (no override): Go tracks");
	s.override = true;
	p = plan_of(&l, &s, env_on2);
	is_str(p.d[GT_GOMAXPROCS].value, "1", "override replaces it with containermaxprocs=0: set");
	s = defaults();
	s.tracking = GT_TRACK_DEFER;
	/* Shares mode: with no quota Go tracks nothing and runs every CPU. */
	s.shares = true;
	struct gt_limits ls = cpu(0, 0, 8);
	ls.has_shares = true;
	ls.shares = 2048;
	p = plan_of(&ls, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "2", "shares mode on go1.25 without a quota: ceil(2048/1024) = 2");
	s = defaults();
	s.go_aware = false;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SET, "go_aware off: defaults");
	s = defaults();
	struct gt_image go118 = { .inspected = true, .go = { .is_go = true, .version = "go1.18.10", .major = 1,
							     .minor = 18, .patch = 10 } };
	img = &go118;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMEMLIMIT].action, GT_ACT_SKIPPED, "go1.18: no GOMEMLIMIT");
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SET, "go1.18: GOMAXPROCS set");
	struct gt_image devel = { .inspected = true, .go = { .is_go = true, .version = "devel +abc", .major = -1 } };
	img = &devel;
	p = plan_of(&l, &s, NULL);
	ok(p.d[GT_GOMAXPROCS].action == GT_ACT_SET && p.d[GT_GOMEMLIMIT].action == GT_ACT_SET,
	   "unknown version: defaults");
	struct gt_image shell = { .inspected = true, .note = "/bin/sh" };
	img = &shell;
	p = plan_of(&l, &s, NULL);
	ok(p.d[GT_GOMAXPROCS].action == GT_ACT_SET && p.d[GT_GOMEMLIMIT].action == GT_ACT_SET,
	   "not Go (a shell that starts Go): defaults");
	s.go_only = true;
	p = plan_of(&l, &s, NULL);
	ok(!gt_plan_changes(&p), "go_only: a non-Go entrypoint is left alone");
	img = &go118;
	p = plan_of(&l, &s, NULL);
	ok(gt_plan_changes(&p), "go_only: a Go entrypoint is tuned");
	/* No image to inspect (NRI): go_only cannot tell, so the rules apply
	 * and the plan says so rather than claim the entrypoint is not Go. */
	img = NULL;
	p = plan_of(&l, &s, NULL);
	ok(p.d[GT_GOMAXPROCS].action == GT_ACT_SET && p.d[GT_GOMEMLIMIT].action == GT_ACT_SET,
	   "go_only, image not inspected: the rules apply");
	is_str(p.image.note, "image not inspected", "the plan says the image was not inspected");
	ok(p.notes.n == 1 && strstr(p.notes.text[0], "go_only not applied: image not inspected") != NULL,
	   "and warns that go_only was not applied");
	ok(strstr(p.d[GT_GOMAXPROCS].reason, "not a Go binary") == NULL, "no reason claims the entrypoint is not Go");
	return tap_done();
}
