#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "policy.h"
#include "report.h"
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

/* Issue 24: a limit on the pod's cgroup is enforced, but Go >= 1.25 reads
 * only the cgroup it runs in; and a Kubernetes container without a limit
 * of its own shares its pod's. */
static void pod_limits_go_sees_not(void)
{
	struct gt_settings s = defaults();
	struct gt_image go126 = { .inspected = true, .go = { .is_go = true, .version = "go1.26.8", .major = 1,
						     .minor = 26, .patch = 8 } };
	img = &go126;
	/* Podman pod --cpus 1.5 on 16 CPUs, the container with shares only. */
	struct gt_limits l = cpu(0, 100000, 16);
	struct gt_pod_limits pod = { .has_quota = true, .quota = 150000, .period = 100000, .found = true,
				      .where = "cgroup v2 /machine.slice/machine-libpod_pod_x.slice" };
	gt_limits_apply_pod(&l, &pod, false);
	struct gt_plan p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "2", "pod quota 1.5 CPU, go1.26 tracking: set 2 (Go sees no limit, picks 16)");
	ok(strstr(p.d[GT_GOMAXPROCS].reason, "which Go does not read: it would pick 16") != NULL,
	   "and says Go would not see the pod's limit: %s", p.d[GT_GOMAXPROCS].reason);
	s.tracking = GT_TRACK_ALWAYS;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "2", "tracking always: set");
	s.tracking = GT_TRACK_DEFER;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "tracking defer: left to Go");
	ok(strstr(p.d[GT_GOMAXPROCS].reason, "Go picks 16 itself: it reads only its own cgroup") != NULL,
	   "defer says what Go will pick and why: %s", p.d[GT_GOMAXPROCS].reason);
	s = defaults();
	/* The container's own quota above its parent's: Go tracks its own. */
	l = cpu(400000, 100000, 16);
	gt_limits_apply_pod(&l, &pod, false);
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "2", "own quota 4 CPU under a pod's 1.5: set 2 (Go would pick 4)");
	ok(strstr(p.d[GT_GOMAXPROCS].reason, "it would pick 4") != NULL, "Go's pick from its own quota: %s",
	   p.d[GT_GOMAXPROCS].reason);
	/* The container's own quota is the lower one: the ordinary rule. */
	l = cpu(50000, 100000, 16);
	gt_limits_apply_pod(&l, &pod, false);
	p = plan_of(&l, &s, NULL);
	ok(!l.quota_from_pod && p.d[GT_GOMAXPROCS].action == GT_ACT_SET &&
		   strstr(p.d[GT_GOMAXPROCS].reason, "Go would pick 2") != NULL,
	   "own quota below the pod's: decided as before: %s", p.d[GT_GOMAXPROCS].reason);
	/* Go 1.24-style binary (no tracking): set, as before. */
	snprintf(go126.go.default_godebug, sizeof(go126.go.default_godebug), "containermaxprocs=0");
	l = cpu(0, 100000, 16);
	gt_limits_apply_pod(&l, &pod, false);
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "2", "go.mod < 1.25 (containermaxprocs=0): set 2");
	go126.go.default_godebug[0] = '\0';

	/* unified cpuset.cpus caps what Go runs on, applied over cpu.cpus. */
	struct gt_host h;
	gt_host_fixed(&h, 16);
	gt_limits_init(&l, &h);
	gt_limits_set_quota(&l, 400000);
	gt_limits_set_cpus(&l, "0-7", &h);
	struct gt_notes notes = { 0 };
	gt_limits_apply_unified(&l, "cpuset.cpus", "0-1", &h, &notes);
	is_int(l.cpuset_cpus, 2, "unified cpuset.cpus 0-1 over cpu.cpus 0-7");
	img = NULL;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "quota 4 CPUs on cpuset 2: Go already runs 2");
	gt_limits_apply_unified(&l, "cpuset.cpus", "0-2,x", &h, &notes);
	ok(notes.n == 1 && l.cpuset_cpus == 2, "a malformed cpuset.cpus is noted and ignored");
	gt_limits_set_quota(&l, 100000);
	gt_limits_apply_unified(&l, "cpuset.cpus", "3", &h, &notes);
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "quota 1 CPU, cpuset 1 CPU: Go picks 1");

	/* Devel toolchains: read from DefaultGODEBUG like releases. */
	struct gt_image dev = { .inspected = true, .go = { .is_go = true, .version = "devel go1.27-abcdef Tue",
						   .major = 1, .minor = 27, .devel = true } };
	img = &dev;
	s.tracking = GT_TRACK_DEFER;
	l = cpu(50000, 100000, 16);
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "devel go1.27, defer: Go tracks; not set");
	ok(strstr(p.d[GT_GOMAXPROCS].basis, "a development build: read as go1.27") != NULL, "basis says devel: %s",
	   p.d[GT_GOMAXPROCS].basis);
	snprintf(dev.go.default_godebug, sizeof(dev.go.default_godebug), "containermaxprocs=0");
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "1", "devel go1.27 with go.mod < 1.25 (DefaultGODEBUG): set");
	struct gt_image old = { .inspected = true, .go = { .is_go = true, .version = "devel +abcdef Tue", .major = -1 } };
	img = &old;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "1", "devel without a version: fixed at start, set");
	ok(strstr(p.d[GT_GOMAXPROCS].basis, "no version to read") != NULL, "and the plan says so: %s",
	   p.d[GT_GOMAXPROCS].basis);
	s = defaults();

	/* An ephemeral container in a Kubernetes pod whose cgroup holds the sum
	 * of its siblings' limits: it gets what their GOMEMLIMITs leave. */
	img = NULL;
	l = cpu(0, 100000, 16);
	struct gt_pod_limits mpod = { .has_memory = true, .memory = 128 << 20, .found = true,
				       .where = "cgroup v1 /kubepods/burstable/pod1" };
	gt_limits_apply_pod(&l, &mpod, true);
	ok(l.memory_shared, "no limit of its own in a Kubernetes pod: shared");
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMEMLIMIT].value, "13421772", "GOMEMLIMIT = 128MiB x (1 - 0.9)");
	ok(strstr(p.d[GT_GOMEMLIMIT].reason, "gets what their GOMEMLIMITs leave") != NULL, "reason: %s",
	   p.d[GT_GOMEMLIMIT].reason);
	l = cpu(0, 100000, 16);
	gt_limits_apply_pod(&l, &mpod, false);
	p = plan_of(&l, &s, NULL);
	ok(!l.memory_shared && strcmp(p.d[GT_GOMEMLIMIT].value, "120795955") == 0 &&
		   strstr(p.d[GT_GOMEMLIMIT].reason, "x 0.90") != NULL,
	   "outside Kubernetes (a Podman pod, a --cgroup-parent) the pod's limit is the container's: %s",
	   p.d[GT_GOMEMLIMIT].value);
	l = cpu(0, 100000, 16);
	l.has_memory = true;
	l.memory = 256 << 20;
	gt_limits_apply_pod(&l, &mpod, true);
	p = plan_of(&l, &s, NULL);
	ok(!l.memory_shared && strstr(p.d[GT_GOMEMLIMIT].reason, "x 0.90") != NULL,
	   "a limit of its own above the pod's: the pod's x 0.90, not shared");
}

static struct gt_image go_image(int minor, const char *default_godebug)
{
	struct gt_image g = { .inspected = true };
	if (minor < 0)
		return g; /* inspected, not Go (a shell, a C program) */
	g.go.is_go = true;
	g.go.major = 1;
	g.go.minor = minor;
	snprintf(g.go.version, sizeof(g.go.version), "go1.%d.3", minor);
	snprintf(g.go.default_godebug, sizeof(g.go.default_godebug), "%s", default_godebug);
	return g;
}

/* gt_tune_spec inspects the image only when the plan without it changes
 * something: that is right only if what the image tells never adds a
 * change. Over limits, env values (valid, invalid, for old and new Go),
 * policies and images: a plan without changes stays so with any image. */
static void image_only_takes_away(void)
{
	static const char *const values[] = { NULL, "1", "+5", "0x10", "100MiB", "+100MiB", "5GB", "off", "-1",
					      "abc", "" };
	const int minors[] = { -1, 17, 19, 21, 25, 26 };
	const char *godebugs[] = { "", "containermaxprocs=0" };
	unsigned cases = 0, wrong = 0;
	for (int lim = 0; lim < 6; lim++)
		for (int pol = 0; pol < 5; pol++)
			for (size_t a = 0; a < sizeof(values) / sizeof(values[0]); a++)
				for (size_t b = 0; b < sizeof(values) / sizeof(values[0]); b++) {
					struct gt_limits l = cpu(lim & 1 ? 50000 : 0, 100000, 2);
					gt_limits_set_memory(&l, lim & 2 ? 200 << 20 : 0);
					if (lim >= 4) {
						l.has_shares = true;
						l.shares = 3072;
					}
					struct gt_settings st = defaults();
					st.go_only = pol == 1;
					st.fix_invalid = pol != 2;
					st.tracking = pol == 3 ? GT_TRACK_DEFER : st.tracking;
					st.shares = pol == 4;
					char e1[64], e2[64];
					const char *env[3] = { NULL, NULL, NULL };
					size_t n = 0;
					if (values[a] != NULL) {
						snprintf(e1, sizeof(e1), "GOMAXPROCS=%s", values[a]);
						env[n++] = e1;
					}
					if (values[b] != NULL) {
						snprintf(e2, sizeof(e2), "GOMEMLIMIT=%s", values[b]);
						env[n++] = e2;
					}
					struct gt_plan bare = { 0 };
					gt_plan_make(&bare, &l, &st, env, n, NULL);
					if (gt_plan_changes(&bare))
						continue;
					for (size_t m = 0; m < sizeof(minors) / sizeof(minors[0]); m++)
						for (size_t g = 0; g < 2; g++) {
							struct gt_image im = go_image(minors[m], godebugs[g]);
							struct gt_plan full = { 0 };
							gt_plan_make(&full, &l, &st, env, n, &im);
							cases++;
							if (gt_plan_changes(&full) && wrong++ < 3)
								printf("# changes with go1.%d: limits %d policy %d env %s %s\n",
								       minors[m], lim, pol, n > 0 ? env[0] : "",
								       n > 1 ? env[1] : "");
						}
				}
	ok(cases > 1000 && wrong == 0,
	   "a plan that changes nothing without the image changes nothing with it (%u cases, %u wrong)", cases, wrong);
}

int main(void)
{
	image_only_takes_away();
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
	/* ---- issue 17: limits as real clusters write them ---- */
	img = NULL;
	s = defaults();
	/* memory.high below the limit (Kubernetes MemoryQoS): the heap must
	 * stay under the line where the kernel starts throttling. */
	l = cpu(0, 100000, 2);
	l.has_memory = true;
	l.memory = 200 << 20;
	l.has_high = true;
	l.high = 160 << 20;
	snprintf(l.high_from, sizeof(l.high_from), "unified memory.high");
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMEMLIMIT].value, "144MiB", "GOMEMLIMIT = 0.9 x min(limit, memory.high)");
	is_str(p.d[GT_GOMEMLIMIT].reason, "memory.high 160MiB (unified memory.high; below the limit 200MiB) x 0.90",
	       "the reason names memory.high and the limit");
	l.high = 300 << 20;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMEMLIMIT].value, "180MiB", "memory.high above the limit: the limit");
	l.has_memory = false;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMEMLIMIT].value, "270MiB", "memory.high alone is a limit");

	/* Sized tmpfs: out of the budget, never below half of ratio x limit. */
	l = cpu(0, 100000, 2);
	l.has_memory = true;
	l.memory = 200 << 20;
	gt_limits_add_tmpfs(&l, "/scratch", 40 << 20, "tmpfs size=40m");
	gt_limits_add_tmpfs(&l, "/dev/shm", 64 << 20, "tmpfs size=65536k");
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMEMLIMIT].value, "144MiB", "volumes (default): 0.9 x (200 - 40) MiB");
	is_str(p.d[GT_GOMEMLIMIT].reason, "memory limit 200MiB - tmpfs 40MiB = 160MiB x 0.90", "the subtraction is shown");
	s.tmpfs = GT_TMPFS_ALL;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMEMLIMIT].value[0] != '\0', 1, "all: /dev/shm too");
	is_str(p.d[GT_GOMEMLIMIT].value, "90MiB", "0.9 x (200 - 104) = 86.4 MiB is under the floor 0.5 x 0.9 x 200 = 90 MiB");
	ok(strstr(p.d[GT_GOMEMLIMIT].reason, "is below the floor 0.50 x 0.90 x 200MiB = 90MiB") != NULL,
	   "the floor is shown: %s", p.d[GT_GOMEMLIMIT].reason);
	s.tmpfs_floor_ppm = 0;
	p = plan_of(&l, &s, NULL);
	ok(strcmp(p.d[GT_GOMEMLIMIT].value, "90MiB") != 0 && p.d[GT_GOMEMLIMIT].action == GT_ACT_SET,
	   "floor 0: the full subtraction (%s)", p.d[GT_GOMEMLIMIT].value);
	s = defaults();
	s.tmpfs = GT_TMPFS_OFF;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMEMLIMIT].value, "180MiB", "off: nothing subtracted");
	ok(strstr(p.d[GT_GOMEMLIMIT].reason, "not subtracted: gomemlimit.tmpfs off") != NULL, "and says so");
	s = defaults();

	/* Sources in the reasons. */
	l = cpu(50000, 100000, 2);
	snprintf(l.quota_from, sizeof(l.quota_from), "unified cpu.max");
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].reason, "quota 50000/100000 from unified cpu.max (ceil) -> 1 of 2 CPUs",
	       "the quota's source");
	l = cpu(0, 100000, 2);
	snprintf(l.quota_from, sizeof(l.quota_from), "unified cpu.max=\"max 100000\" over quota 50000");
	snprintf(l.memory_from, sizeof(l.memory_from), "unified memory.max=\"max\" over memory.limit 1GiB");
	p = plan_of(&l, &s, NULL);
	ok(!gt_plan_changes(&p), "the review case plans nothing");
	is_str(p.d[GT_GOMEMLIMIT].reason, "no memory limit (unified memory.max=\"max\" over memory.limit 1GiB)",
	       "and says why");

	/* The cap: the pod cgroup's cpuset; the hook's affinity only with inherit. */
	l = cpu(150000, 100000, 8);
	l.pod_cpus = 2;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "1.5 CPU in a pod cpuset of 2: Go picks 2 by itself");
	ok(strstr(p.d[GT_GOMAXPROCS].reason, "(the pod cgroup's cpuset)") != NULL, "reason: %s", p.d[GT_GOMAXPROCS].reason);
	l.pod_cpus = 0;
	l.affinity_cpus = 1;
	p = plan_of(&l, &s, NULL);
	is_str(p.d[GT_GOMAXPROCS].value, "2", "affinity 1 CPU, default cgroup: not a cap, 2 is set");
	s.affinity_inherit = true;
	p = plan_of(&l, &s, NULL);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SKIPPED, "inherit: Go sees 1 CPU and picks 1 itself");
	s = defaults();

	/* User values Go rejects, and a GOMEMLIMIT above the limit. */
	l = cpu(50000, 100000, 2);
	l.has_memory = true;
	l.memory = 200 << 20;
	const char *bad_ml[] = { "GOMEMLIMIT=180M", NULL };
	p = plan_of(&l, &s, bad_ml);
	is_int(p.d[GT_GOMEMLIMIT].action, GT_ACT_KEPT, "GOMEMLIMIT=180M kept by default (never clobber)");
	ok(strstr(p.d[GT_GOMEMLIMIT].reason, "Go aborts at start on GOMEMLIMIT=180M") != NULL &&
		   strstr(p.d[GT_GOMEMLIMIT].reason, "fix_invalid replaces it") != NULL,
	   "reported with the reason: %s", p.d[GT_GOMEMLIMIT].reason);
	char sum[2048];
	gt_plan_summary(&p, sum, sizeof(sum));
	ok(strstr(sum, "GOMEMLIMIT=180M (kept: user set GOMEMLIMIT=180M; Go aborts") != NULL, "and in the log line");
	s.fix_invalid = true;
	p = plan_of(&l, &s, bad_ml);
	is_int(p.d[GT_GOMEMLIMIT].action, GT_ACT_REPLACED, "fix_invalid: replaced");
	is_str(p.d[GT_GOMEMLIMIT].value, "180MiB", "with the planned value");
	ok(strstr(p.d[GT_GOMEMLIMIT].reason, "(fix_invalid; was GOMEMLIMIT=180M: Go aborts") != NULL, "reason: %s",
	   p.d[GT_GOMEMLIMIT].reason);
	ok(gt_plan_edits(&p, bad_ml, 1, &edits, &n_edits, &err) == 0 && n_edits == 2 && edits[1].index == 0 &&
		   strcmp(edits[1].entry, "GOMEMLIMIT=180MiB") == 0,
	   "the entry is replaced in place");
	gt_env_edits_free(edits, n_edits);
	struct gt_limits nolim = cpu(0, 100000, 2);
	p = plan_of(&nolim, &s, bad_ml);
	is_str(p.d[GT_GOMEMLIMIT].value, "off", "fix_invalid with no memory limit: off, what Go does without one");
	const char *fine_ml[] = { "GOMEMLIMIT=-0", NULL };
	p = plan_of(&l, &s, fine_ml);
	is_int(p.d[GT_GOMEMLIMIT].action, GT_ACT_KEPT, "GOMEMLIMIT=-0 is one Go takes: kept");
	s = defaults();
	const char *big_ml[] = { "GOMEMLIMIT=1GiB", NULL };
	p = plan_of(&l, &s, big_ml);
	ok(p.d[GT_GOMEMLIMIT].action == GT_ACT_KEPT &&
		   strstr(p.d[GT_GOMEMLIMIT].reason, "above the container's memory limit 200MiB") != NULL,
	   "GOMEMLIMIT above the limit: kept and reported: %s", p.d[GT_GOMEMLIMIT].reason);
	s.fix_invalid = true;
	p = plan_of(&l, &s, big_ml);
	is_int(p.d[GT_GOMEMLIMIT].action, GT_ACT_KEPT, "fix_invalid leaves a value Go accepts");
	s = defaults();
	const char *bad_mp[] = { "GOMAXPROCS=two", "GOGC=50%", NULL };
	s.fix_invalid = true;
	p = plan_of(&l, &s, bad_mp);
	ok(p.d[GT_GOMAXPROCS].action == GT_ACT_KEPT && strstr(p.d[GT_GOMAXPROCS].reason, "Go ignores GOMAXPROCS=two") != NULL,
	   "GOMAXPROCS=two: Go ignores it; reported, kept (it does not abort)");
	ok(p.d[GT_GOGC].action == GT_ACT_KEPT && strstr(p.d[GT_GOGC].reason, "Go ignores GOGC=50%") != NULL,
	   "GOGC=50%%: reported though GOGC was not requested");
	s = defaults();
	struct gt_image go118i = { .inspected = true, .go = { .is_go = true, .version = "go1.18.10", .major = 1,
							      .minor = 18, .patch = 10 } };
	img = &go118i;
	s.fix_invalid = true;
	p = plan_of(&l, &s, bad_ml);
	ok(p.d[GT_GOMEMLIMIT].action == GT_ACT_KEPT && strstr(p.d[GT_GOMEMLIMIT].reason, "does not read") != NULL,
	   "go1.18 never reads GOMEMLIMIT: nothing aborts, nothing replaced");
	img = NULL;
	s = defaults();

	/* Duplicates: the last entry is the container's. */
	const char *dup[] = { "GOMAXPROCS=8", "GOMEMLIMIT=1GiB", "GOMAXPROCS=2", "GOMEMLIMIT=100MiB", NULL };
	p = plan_of(&l, &s, dup);
	is_str(p.d[GT_GOMAXPROCS].value, "2", "GOMAXPROCS twice: the last (2) is kept and shown");
	is_str(p.d[GT_GOMEMLIMIT].reason, "user set GOMEMLIMIT=100MiB", "GOMEMLIMIT: the last, not the 1GiB above the limit");
	ok(p.notes.n == 2 && strstr(p.notes.text[0], "GOMAXPROCS 2 times") != NULL, "the plan notes the duplicates");
	is_int(gt_env_find(dup, 4, "GOMAXPROCS"), 2, "gt_env_find returns the last");
	gt_settings_godebug_set(&s, "madvdontneed", "1");
	gt_settings_godebug_set(&s, "http2client", "0");
	const char *gd2[] = { "GODEBUG=madvdontneed=1", "PATH=/bin", "GODEBUG=gctrace=1", NULL };
	p = plan_of(&l, &s, gd2);
	is_str(p.d[GT_GODEBUG].value, "gctrace=1,madvdontneed=1,http2client=0",
	       "policy GODEBUG merged into the last copy: the gctrace=1 the container ran with stays");
	ok(gt_plan_edits(&p, gd2, 3, &edits, &n_edits, &err) == 0, "edits");
	int both = 0;
	for (size_t i = 0; i < n_edits; i++)
		both += (edits[i].index == 0 || edits[i].index == 2) &&
			strcmp(edits[i].entry, "GODEBUG=gctrace=1,madvdontneed=1,http2client=0") == 0;
	is_int(both, 2, "both copies get the merged value, so every runtime gives the same");
	gt_env_edits_free(edits, n_edits);
	s = defaults();
	gt_settings_godebug_set(&s, "http2client", "0");
	s.override = true;
	const char *gd3[] = { "GODEBUG=http2client=1,x=2,http2client=1", NULL };
	p = plan_of(&l, &s, gd3);
	is_str(p.d[GT_GODEBUG].value, "http2client=0,x=2,http2client=0",
	       "override rewrites every copy of a repeated key (Go reads the last)");
	s.override = false;
	p = plan_of(&l, &s, gd3);
	is_int(p.d[GT_GODEBUG].action, GT_ACT_KEPT, "no override: the key is the container's");
	s = defaults();
	/* containermaxprocs decided by the last copy of GODEBUG. */
	img = &go125;
	s.tracking = GT_TRACK_DEFER;
	const char *gd4[] = { "GODEBUG=containermaxprocs=1", "GODEBUG=containermaxprocs=0", NULL };
	p = plan_of(&l, &s, gd4);
	is_int(p.d[GT_GOMAXPROCS].action, GT_ACT_SET, "the last GODEBUG (containermaxprocs=0) decides: set");
	img = NULL;
	s = defaults();
	pod_limits_go_sees_not();
	return tap_done();
}
