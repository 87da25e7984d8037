#!/usr/bin/env bash
# Audit mode, the counters file and annotation warnings, through precreate,
# the wrapper (create and exec, against a recording runtime) and plan; the
# NRI plugin's side is in tests/nri/test_nri.py, real runtimes in
# tests/e2e/counters.sh. TAP output.
set -u
hook=$(realpath "${GOTUNE_HOOK:?path to gotune-hook}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi; }
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok 0 "$d"; else ok 1 "$d"; fi; }
spec='{"process":{"env":["A=1"]},"linux":{"resources":{"cpu":{"quota":50000},"memory":{"limit":209715200}}}}'
printf '%s' "$spec" >"$tmp/spec.json"
printf '{}' >"$tmp/empty.json"
export GOTUNE_POLICY=$tmp/empty.json

# --- audit mode from the policy: computed, logged as "would", nothing changed
printf '{"mode": "audit", "log_file": "%s/audit.jsonl"}' "$tmp" >"$tmp/audit.json"
"$hook" precreate --policy "$tmp/audit.json" <"$tmp/spec.json" >"$tmp/out" 2>"$tmp/err"
ok $? "audit: precreate exits 0"
check "audit: precreate prints the spec unchanged" cmp "$tmp/spec.json" "$tmp/out"
check "audit: the line says what it would set" grep -q 'precreate id=- audit: GOMAXPROCS=1 (would set: quota 50000/100000' "$tmp/err"
check "audit: ... GOMEMLIMIT too" grep -q 'GOMEMLIMIT=180MiB (would set: memory limit 200MiB x 0.90)' "$tmp/err"
check "audit: log_file has outcome audit and the planned values" \
	jq -e '.outcome == "audit" and .mode == "audit" and .vars.GOMAXPROCS.value == "1"' "$tmp/audit.jsonl"
"$hook" plan --policy "$tmp/audit.json" "$tmp/spec.json" >"$tmp/plan" 2>&1
check "audit: plan shows the mode and where it comes from" grep -q '^mode:   audit (policy "mode"): nothing is changed' "$tmp/plan"
check "audit: plan shows the env unchanged" grep -q '^resulting process.env (unchanged):' "$tmp/plan"
"$hook" plan "$tmp/spec.json" >"$tmp/plan" 2>&1
check "enforce: plan says so" grep -q '^mode:   enforce$' "$tmp/plan"
"$hook" plan --json --policy "$tmp/audit.json" "$tmp/spec.json" >"$tmp/plan.json"
check "audit: plan --json .mode" jq -e '.mode == "audit" and .changed == false and .vars.GOMEMLIMIT.action == "set"' "$tmp/plan.json"

# --- audit from an annotation, for one container
jq -c '.annotations = {"gotune.io/mode": "audit"}' "$tmp/spec.json" >"$tmp/ann.json"
"$hook" precreate <"$tmp/ann.json" >"$tmp/out" 2>"$tmp/err"
check "gotune.io/mode=audit: precreate leaves that container alone" cmp "$tmp/ann.json" "$tmp/out"
check "... and says what it would set" grep -q 'audit: GOMAXPROCS=1 (would set' "$tmp/err"
"$hook" plan "$tmp/ann.json" >"$tmp/plan" 2>&1
check "... and plan names the annotation" grep -q '^mode:   audit (annotation gotune.io/mode)' "$tmp/plan"
jq -c '.annotations = {"gotune.io/mode": "enforce"}' "$tmp/spec.json" >"$tmp/ann2.json"
"$hook" precreate --policy "$tmp/audit.json" <"$tmp/ann2.json" >"$tmp/out" 2>"$tmp/err"
check "gotune.io/mode=enforce cannot leave the policy's audit" cmp "$tmp/ann2.json" "$tmp/out"
check "... and the line says so" grep -q "gotune.io/mode=enforce: the policy's audit mode stands" "$tmp/err"

# prestart's env check knows audit mode: nothing was meant to set the values.
mkdir -p "$tmp/ab/rootfs"
jq -c '.root = {path: "rootfs"} | .process.args = ["/x"]' "$tmp/ann.json" >"$tmp/ab/config.json"
printf '{"ociVersion":"1.0.2","id":"aud","status":"creating","pid":1,"bundle":"%s"}' "$tmp/ab" |
	"$hook" prestart 2>"$tmp/err"
check "audit: prestart says the values are not set because of audit mode, not that tuning is not wired" \
	grep -q 'GOMEMLIMIT=180MiB (not set: audit mode; enforce would set it)' "$tmp/err"

# --- the wrapper: create in audit mode leaves config.json as it was
cat >"$tmp/fake-runtime" <<'SH'
#!/bin/sh
# state ID: what runc answers, the bundle from FAKE_BUNDLE; else the argv.
for a in "$@"; do
	if [ "$a" = state ]; then printf '{"id":"x","bundle":"%s"}' "$FAKE_BUNDLE"; exit 0; fi
done
printf '%s\n' "$@" >"$FAKE_OUT"
SH
chmod +x "$tmp/fake-runtime"
export FAKE_OUT=$tmp/argv FAKE_BUNDLE=$tmp/bundle
mkdir -p "$tmp/bundle"
cp "$tmp/spec.json" "$tmp/bundle/config.json"
"$hook" runtime --policy "$tmp/audit.json" --runtime "$tmp/fake-runtime" -- --log "$tmp/rt.log" --log-format json \
	create --bundle "$tmp/bundle" ctr1 2>/dev/null
check "audit: the wrapper leaves config.json byte for byte" cmp "$tmp/spec.json" "$tmp/bundle/config.json"
check "audit: the wrapper's line in the runtime's log" \
	jq -es 'any(.[]; .msg | test("runtime id=ctr1 audit: GOMAXPROCS=1 \\(would set"))' "$tmp/rt.log"
# exec: a container tuned in enforce, an exec while the policy says audit
"$hook" runtime --runtime "$tmp/fake-runtime" -- create --bundle "$tmp/bundle" ctr1 2>/dev/null
check "enforce: the wrapper tuned it" jq -e '.process.env | index("GOMAXPROCS=1")' "$tmp/bundle/config.json"
printf '{"env": ["PATH=/bin"], "args": ["/w"], "cwd": "/"}' >"$tmp/process.json"
cp "$tmp/process.json" "$tmp/process.before"
"$hook" runtime --policy "$tmp/audit.json" --runtime "$tmp/fake-runtime" -- --log "$tmp/rt.log" --log-format json \
	exec --process "$tmp/process.json" ctr1 2>/dev/null
check "audit: exec --process leaves the process file alone" cmp "$tmp/process.before" "$tmp/process.json"
check "... and says what it would add" \
	jq -es 'any(.[]; .msg | test("runtime-exec id=ctr1 audit: would add \\(audit mode, nothing changed\\): GOMAXPROCS=1 GOMEMLIMIT=180MiB"))' "$tmp/rt.log"
"$hook" runtime --policy "$tmp/audit.json" --runtime "$tmp/fake-runtime" -- exec ctr1 /w 2>/dev/null
printf 'exec\nctr1\n/w\n' >"$tmp/argv.want"
check "audit: inline exec gets no -e" cmp "$tmp/argv.want" "$tmp/argv"
"$hook" runtime --runtime "$tmp/fake-runtime" -- exec ctr1 /w 2>/dev/null
check "enforce: inline exec gets -e for each" grep -qx 'GOMAXPROCS=1' "$tmp/argv"

# --- counters: exact counts per outcome and entry point
m=$tmp/metrics/gotune.prom
printf '{"metrics": {"file": "%s"}}' "$m" >"$tmp/m.json"
printf '{"mode": "audit", "metrics": {"file": "%s"}}' "$m" >"$tmp/ma.json"
pc() { "$hook" precreate --policy "$1" >/dev/null 2>&1; }
pc "$tmp/m.json" <"$tmp/spec.json"                                               # tuned
pc "$tmp/m.json" <"$tmp/spec.json"                                               # tuned
printf '{"process":{"env":["GOMAXPROCS=2","GOMEMLIMIT=1GiB"]},"linux":{"resources":{"cpu":{"quota":50000},"memory":{"limit":209715200}}}}' |
	pc "$tmp/m.json"                                                              # kept
printf '{"process":{"env":[]}}' | pc "$tmp/m.json"                              # skipped
pc "$tmp/ma.json" <"$tmp/spec.json"                                              # audit
printf 'not json' | pc "$tmp/m.json"                                            # passthrough
want() { printf 'gotune_containers_total{entry="%s",outcome="%s"} %s\n' "$1" "$2" "$3"; }
for o in "tuned 2" "kept 1" "skipped 1" "audit 1" "passthrough 1"; do
	set -- $o
	check "counters: precreate $1 = $2" grep -qxF "$(want precreate "$1" "$2")" "$m"
done
check "counters: every series is there, zeros included (3 entry points x 5 outcomes + 5 exec + 2 workers)" \
	test "$(grep -c '^gotune_containers_total{' "$m") $(grep -c '^gotune_exec_total{' "$m") $(grep -c '^gotune_workers_skipped_total{' "$m")" = "15 5 2"
check "counters: HELP and TYPE for each family" test "$(grep -c '^# TYPE gotune_[a-z_]* \(counter\|gauge\)$' "$m")" = 4
sha=$(sha256sum "$tmp/m.json" | cut -d' ' -f1)
check "counters: gotune_info names the version and the policy's sha256" \
	grep -qx "gotune_info{version=\"$("$hook" --version | sed -n '1s/gotune-hook //p')\",policy_sha256=\"$sha\"} 1" "$m"
check "counters: the file is readable by all (node_exporter runs as its own user)" test "$(stat -c %a "$m")" = 644
check "counters: no temp file left, the lock beside it" \
	test "$(find "$tmp/metrics" -name '.gotune.prom.*' | wc -l) $(find "$tmp/metrics" -name gotune.prom.lock | wc -l)" = "0 1"
# The wrapper and its exec
cp "$tmp/spec.json" "$tmp/bundle/config.json"
"$hook" runtime --policy "$tmp/m.json" --runtime "$tmp/fake-runtime" -- create --bundle "$tmp/bundle" c2 2>/dev/null
"$hook" runtime --policy "$tmp/m.json" --runtime "$tmp/fake-runtime" -- exec c2 /w 2>/dev/null
"$hook" runtime --policy "$tmp/m.json" --runtime "$tmp/fake-runtime" -- exec --env GOMAXPROCS=3 --env GOMEMLIMIT=9MiB c2 /w 2>/dev/null
check "counters: runtime tuned 1" grep -qxF "$(want runtime tuned 1)" "$m"
check "counters: exec tuned 1" grep -qxF 'gotune_exec_total{outcome="tuned"} 1' "$m"
check "counters: exec skipped 1 (the caller set both)" grep -qxF 'gotune_exec_total{outcome="skipped"} 1' "$m"
# A broken policy that still names its metrics file: the passthrough is counted,
# and the line (warning level) names the container.
printf '{"metrics": {"file": "%s"}, "gomemlimit": {"ratoi": 0.5}}' "$m" >"$tmp/broken.json"
jq -c '.hostname = "web-1"' "$tmp/spec.json" | "$hook" precreate --policy "$tmp/broken.json" >/dev/null 2>"$tmp/err"
check "a broken policy's passthrough is counted" grep -qxF "$(want precreate passthrough 2)" "$m"
check "... and the line names the container and the key" grep -q 'precreate id=web-1 passthrough (policy .*broken.json:1:[0-9]*: key "gomemlimit.ratoi" is unknown; did you mean "gomemlimit.ratio"?)' "$tmp/err"
"$hook" runtime --policy "$tmp/broken.json" --runtime "$tmp/fake-runtime" -- --log "$tmp/rt2.log" --log-format json exec c2 /w 2>/dev/null
check "a broken policy: every exec is logged at warning level, with the container" \
	jq -es 'any(.[]; .level == "warning" and (.msg | test("runtime-exec id=c2 passthrough \\(policy")))' "$tmp/rt2.log"
check "... and counted" grep -qxF 'gotune_exec_total{outcome="passthrough"} 1' "$m"
# A file that is not ours: rewritten in our form, counting from 0 where unreadable
printf 'garbage\ngotune_containers_total{entry="nri",outcome="tuned"} 41\n' >"$m"
"$hook" precreate --policy "$tmp/m.json" <"$tmp/spec.json" >/dev/null 2>&1
check "counters: a count it can read is kept (41 + 0), garbage dropped, the new one added" \
	sh -c "grep -qxF '$(want nri tuned 41)' '$m' && grep -qxF '$(want precreate tuned 1)' '$m' && ! grep -q garbage '$m'"
# Concurrent containers never lose a count.
rm -f "$m"
for i in $(seq 50); do "$hook" precreate --policy "$tmp/m.json" <"$tmp/spec.json" >/dev/null 2>&1 & done
wait
check "50 precreates at once: tuned 50 exactly" grep -qxF "$(want precreate tuned 50)" "$m"
# A writer stuck with the lock: the container goes on within the bound, uncounted, and says so.
flock "$m.lock" sleep 4 &
holder=$!
sleep 0.3
t0=$(date +%s%N)
"$hook" precreate --policy "$tmp/m.json" <"$tmp/spec.json" >"$tmp/out" 2>"$tmp/err"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
check "a stuck lock: the spec is still tuned" grep -q GOMAXPROCS=1 "$tmp/out"
check "... within the 2 s bound (${ms} ms)" test "$ms" -lt 3000
check "... and the line says the count is lost" grep -q 'metrics lock .*: Connection timed out: this container is not counted' "$tmp/err"

# --- annotations: an unknown key, a near miss, a bad value: named, at warning level
jq -c '.annotations = {"gotune.io/gomemlimt": "off", "gotune.io/rounding": "round", "gotune.io/frobnicate": "1"}' \
	"$tmp/spec.json" >"$tmp/a.json"
"$hook" plan "$tmp/a.json" >"$tmp/plan" 2>&1
check "plan names the misspelled key and the one meant" \
	grep -q '^warning: annotation gotune.io/gomemlimt is unknown; did you mean gotune.io/gomemlimit? ignored' "$tmp/plan"
check "plan names an unknown key" grep -q '^warning: annotation gotune.io/frobnicate is unknown; ignored' "$tmp/plan"
check "plan names the bad value" grep -q '^warning: annotation gotune.io/rounding="round": expected ceil or floor; ignored' "$tmp/plan"
cp "$tmp/a.json" "$tmp/bundle/config.json"
"$hook" runtime --runtime "$tmp/fake-runtime" -- --log "$tmp/rt3.log" --log-format json create --bundle "$tmp/bundle" c3 2>/dev/null
check "the log line is at warning level and names them" \
	jq -es 'any(.[]; .level == "warning" and (.msg | test("runtime id=c3 tuned: .*warning: annotation gotune.io/gomemlimt is unknown; did you mean gotune.io/gomemlimit\\?")))' "$tmp/rt3.log"
cp "$tmp/spec.json" "$tmp/bundle/config.json"
"$hook" runtime --runtime "$tmp/fake-runtime" -- --log "$tmp/rt4.log" --log-format json create --bundle "$tmp/bundle" c4 2>/dev/null
check "a line with nothing wrong stays at info level" jq -es 'any(.[]; .level == "info" and (.msg | test("runtime id=c4 tuned")))' "$tmp/rt4.log"

echo "1..$n"
[ "$failed" -eq 0 ]
