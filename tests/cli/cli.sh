#!/usr/bin/env bash
# The gotune-hook command line without a container runtime: fail-open
# behaviour of precreate, the wrapper's argument passing, atomic rewrite,
# strict mode, loop detection, plan and help. TAP output.
set -u
hook=$(realpath "${GOTUNE_HOOK:?path to gotune-hook}")
fixtures=${GOTUNE_FIXTURES:?path to tests/fixtures}
hookdir=$(cd "$(dirname "$hook")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi; }
check() { local d=$1; shift; "$@" >/dev/null 2>&1; ok $? "$d"; }

echo '{}' >"$tmp/empty-policy.json"
export GOTUNE_POLICY=$tmp/empty-policy.json
spec='{"process":{"env":["A=1"]},"linux":{"resources":{"cpu":{"quota":50000},"memory":{"limit":209715200}}}}'

# precreate: tuned output is valid and carries the variables
printf '%s' "$spec" | "$hook" precreate >"$tmp/out" 2>"$tmp/err"
ok $? "precreate exits 0"
check "precreate adds GOMAXPROCS and GOMEMLIMIT" grep -q '"A=1","GOMAXPROCS=1","GOMEMLIMIT=180MiB"' "$tmp/out"
check "precreate logs one line to stderr, not stdout" test "$(wc -l <"$tmp/err")" -eq 1
check "stdout holds only the spec" jq -e . "$tmp/out"

# precreate fail-open: bad input is echoed byte for byte
for input in 'not json' '{"process":' '' '{"process":{"env":[1]}}' "$(printf '{"a":"\x01"}')"; do
	printf '%s' "$input" >"$tmp/in"
	"$hook" precreate <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	cmp -s "$tmp/in" "$tmp/out"
	ok $(( rc != 0 || $? != 0 )) "precreate echoes invalid input unchanged: $(printf '%q' "$input" | cut -c1-30)"
done
check "the log line says why" grep -q 'invalid JSON at byte' <(printf 'not json' | "$hook" precreate 2>&1 >/dev/null)

# over the 16 MiB bound: passed through whole, not truncated
{ printf '{"process":{},"pad":"'; head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' 'x'; printf '"}'; } >"$tmp/big"
"$hook" precreate <"$tmp/big" >"$tmp/out" 2>"$tmp/err"
rc=$?
cmp -s "$tmp/big" "$tmp/out"
ok $(( rc != 0 || $? != 0 )) "a 17 MiB spec passes through byte for byte"
check "and the log names the bound" grep -q 'larger than 16777216' "$tmp/err"

# corrupt policy: fail-open, exit 0, unchanged, message names the file
printf '{ "strict": ' >"$tmp/bad-policy.json"
printf '%s' "$spec" >"$tmp/in"
"$hook" precreate --policy "$tmp/bad-policy.json" <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
rc=$?
cmp -s "$tmp/in" "$tmp/out"
ok $(( rc != 0 || $? != 0 )) "corrupt policy: spec unchanged, exit 0"
check "corrupt policy: log names the file, line and column, and offset" grep -q "bad-policy.json:1:13: invalid JSON at byte 12" "$tmp/err"
printf '{"gomaxprocs":{"rouding":"floor"}}' >"$tmp/typo-policy.json"
"$hook" precreate --policy "$tmp/typo-policy.json" <"$tmp/in" 2>&1 >/dev/null | grep -q '"gomaxprocs.rouding" is unknown'
ok $? "policy typo: log names the key"

# a bad command line in a hooks.d file must not fail containers
printf '%s' "$spec" | "$hook" precreate --bogus-option 2>/dev/null | grep -q '"GOMAXPROCS=1"'
ok $? "precreate with an unknown option still tunes and exits 0"

# strict: an error becomes a failure
printf '{"strict":true}' >"$tmp/strict.json"
printf 'nope' | "$hook" precreate --policy "$tmp/strict.json" >/dev/null 2>&1
ok $(( $? != 1 )) "strict policy: bad spec exits 1"

# policy file for the JSON-lines log
printf '{"log_file":"%s"}' "$tmp/decisions.jsonl" >"$tmp/log-policy.json"
printf '%s' "$spec" | "$hook" precreate --policy "$tmp/log-policy.json" >/dev/null 2>&1
check "log_file gets one JSON object per decision" jq -e '.entry == "precreate" and .outcome == "tuned" and .vars.GOMAXPROCS.value == "1"' "$tmp/decisions.jsonl"
check "log_file: ms is a short decimal (not 19 digits)" grep -Eq '"ms":[0-9]+(\.[0-9]{1,3})?,' "$tmp/decisions.jsonl"

# annotations
printf '%s' '{"annotations":{"gotune.io/gogc":"50","gotune.io/memory-ratio":"0.5"},"process":{"env":[]},"linux":{"resources":{"memory":{"limit":209715200}}}}' |
	"$hook" precreate 2>/dev/null >"$tmp/out"
check "annotations: GOGC and ratio" jq -e '.process.env == ["GOMEMLIMIT=100MiB","GOGC=50"]' "$tmp/out"

# the wrapper: a recording runtime shows the exact argument vector
cat >"$tmp/fake-runtime" <<'SH'
#!/bin/sh
printf '%s\n' "$0" "$@" > "$FAKE_OUT"
SH
chmod +x "$tmp/fake-runtime"
mkdir -p "$tmp/bundle"
printf '%s' "$spec" >"$tmp/bundle/config.json"
chmod 0604 "$tmp/bundle/config.json"
export FAKE_OUT=$tmp/argv
"$hook" runtime --runtime "$tmp/fake-runtime" -- --root /r --log /l create --bundle "$tmp/bundle" --pid-file /p cid 2>"$tmp/err"
ok $? "wrapper exits with the runtime's status"
printf '%s\n' "$tmp/fake-runtime" --root /r --log /l create --bundle "$tmp/bundle" --pid-file /p cid >"$tmp/argv.want"
check "wrapper passes the argument vector unchanged" cmp "$tmp/argv" "$tmp/argv.want"
check "wrapper rewrote config.json" jq -e '.process.env == ["A=1","GOMAXPROCS=1","GOMEMLIMIT=180MiB"]' "$tmp/bundle/config.json"
check "rewrite keeps the file mode" test "$(stat -c %a "$tmp/bundle/config.json")" = 604
check "no temp file left behind" test "$(find "$tmp/bundle" -name '.config.json.gotune-*' | wc -l)" -eq 0
check "wrapper is silent on stderr when all went well (its stderr is the container's)" test ! -s "$tmp/err"
printf '%s' "$spec" >"$tmp/bundle/config.json"
"$hook" runtime --runtime "$tmp/fake-runtime" -- --log "$tmp/runc-log.json" --log-format json create --bundle "$tmp/bundle" cidj 2>"$tmp/err"
check "with --log-format json the line goes to the runtime's log as JSON" jq -es 'any(.[]; (.msg | test("runtime id=cidj tuned")) and .level == "info")' "$tmp/runc-log.json"
check "and nothing to stderr" test ! -s "$tmp/err"
printf '%s' "$spec" >"$tmp/bundle/config.json"
"$hook" runtime --runtime "$tmp/fake-runtime" -- --log="$tmp/runc-log.txt" create --bundle "$tmp/bundle" cidt 2>/dev/null
check "with a text --log, a logfmt line" grep -q '^time=".*" level=info msg="gotune: runtime id=cidt tuned' "$tmp/runc-log.txt"
printf '{ "strict": ' >"$tmp/bad-policy2.json"
"$hook" runtime --policy "$tmp/bad-policy2.json" --runtime "$tmp/fake-runtime" -- create --bundle "$tmp/bundle" cide 2>"$tmp/err"
check "a fail-open warning still reaches stderr when the runtime has no log" grep -q 'bad-policy2.json' "$tmp/err"

cp "$tmp/bundle/config.json" "$tmp/before"
"$hook" runtime --runtime "$tmp/fake-runtime" -- create --bundle "$tmp/bundle" cid2 2>/dev/null
check "second create: nothing to change, file untouched" cmp "$tmp/before" "$tmp/bundle/config.json"

(cd "$tmp/bundle" && printf '%s' "$spec" >config.json && "$hook" runtime --runtime "$tmp/fake-runtime" -- run cid3 2>/dev/null)
check "run without --bundle tunes the current directory" jq -e '.process.env | index("GOMAXPROCS=1")' "$tmp/bundle/config.json"

printf '%s' "$spec" >"$tmp/bundle/config.json"
for sub in start state kill delete features; do
	"$hook" runtime --runtime "$tmp/fake-runtime" -- "$sub" --bundle "$tmp/bundle" x 2>/dev/null
	grep -qx "$sub" "$tmp/argv"
	ok $? "wrapper passes '$sub' straight through"
done
check "pass-through subcommands leave config.json alone" grep -q '^{"process":{"env":\["A=1"\]}' "$tmp/bundle/config.json"

cat >"$tmp/failing-runtime" <<'SH'
#!/bin/sh
exit 42
SH
chmod +x "$tmp/failing-runtime"
"$hook" runtime --runtime "$tmp/failing-runtime" -- state x 2>/dev/null
ok $(( $? != 42 )) "wrapper returns the runtime's exit status"

printf 'garbage' >"$tmp/bundle/config.json"
"$hook" runtime --runtime "$tmp/fake-runtime" -- create --bundle "$tmp/bundle" bad 2>"$tmp/err"
rc=$?
ok $(( rc != 0 )) "wrapper with a corrupt config.json still execs the runtime"
check "and leaves it as it was" test "$(cat "$tmp/bundle/config.json")" = garbage

# loop detection: a runtime that is gotune itself is refused
"$hook" runtime --runtime "$hook" -- state x >/dev/null 2>"$tmp/err"
rc=$?
ok $(( rc != 127 )) "runtime pointing at gotune is refused"
check "with a message that says so" grep -q 'is gotune itself' "$tmp/err"
mkdir -p "$tmp/loop"
ln -s "$hook" "$tmp/loop/runc"
ln -s "$hook" "$tmp/loop/crun"
PATH=$tmp/loop "$hookdir/gotune-runc" state x >/dev/null 2>"$tmp/err"
ok $(( $? != 127 )) "gotune-runc finding only itself on PATH refuses to loop"
check "and says how to fix it" grep -q 'no real runtime found' "$tmp/err"

# gotune-runc --runtime PATH: taken by the wrapper, never seen by the runtime
mkdir -p "$tmp/rt-bundle"
printf '%s' "$spec" >"$tmp/rt-bundle/config.json"
"$hookdir/gotune-runc" --runtime "$tmp/fake-runtime" --root /r run --bundle "$tmp/rt-bundle" cidr 2>"$tmp/err"
ok $? "gotune-runc --runtime PATH runs PATH"
printf '%s\n' "$tmp/fake-runtime" --root /r run --bundle "$tmp/rt-bundle" cidr >"$tmp/argv.want"
check "and PATH gets the arguments without --runtime" cmp "$tmp/argv" "$tmp/argv.want"
check "and the bundle was tuned" jq -e '.process.env | index("GOMAXPROCS=1")' "$tmp/rt-bundle/config.json"
"$hookdir/gotune-crun" --runtime="$tmp/fake-runtime" state cidr 2>/dev/null
printf '%s\n' "$tmp/fake-runtime" state cidr >"$tmp/argv.want"
check "gotune-crun --runtime=PATH too" cmp "$tmp/argv" "$tmp/argv.want"

# crun's argument forms. -bDIR / -fFILE are crun's (runc refuses them):
# the bundle crun reads is tuned, not the working directory's config.json.
mkdir -p "$tmp/c9/bundle" "$tmp/c9/sub" "$tmp/c9/wc/rootfs/bin"
printf '%s' "$spec" >"$tmp/c9/config.json"
printf '%s' "$spec" >"$tmp/c9/bundle/config.json"
(cd "$tmp/c9" && "$hookdir/gotune-crun" --runtime "$tmp/fake-runtime" create -bbundle id1 2>/dev/null)
check "gotune-crun create -bbundle: bundle/config.json tuned" jq -e '.process.env | index("GOMAXPROCS=1")' "$tmp/c9/bundle/config.json"
check "and ./config.json left alone" cmp "$tmp/c9/config.json" <(printf '%s' "$spec")
printf '%s' "$spec" >"$tmp/c9/alt.json"
(cd "$tmp/c9" && "$hookdir/gotune-crun" --runtime "$tmp/fake-runtime" run -falt.json -bbundle id2 2>/dev/null)
check "-fFILE: that file tuned" jq -e '.process.env | index("GOMAXPROCS=1")' "$tmp/c9/alt.json"
# Forms runc and crun read differently are not tuned, and the line says why.
for form in -b=bundle -bundle --bun; do
	printf '%s' "$spec" >"$tmp/c9/bundle/config.json"
	(cd "$tmp/c9" && "$hookdir/gotune-crun" --runtime "$tmp/fake-runtime" create "$form" bundle id3 2>"$tmp/err")
	ok $? "gotune-crun create $form bundle: the runtime still runs"
	check "$form: nothing tuned" cmp "$tmp/c9/bundle/config.json" <(printf '%s' "$spec")
	check "$form: the warning names the form" grep -q -- "$form: runc and crun read" "$tmp/err"
done
# --config is read from the working directory (as crun does, realpath
# before it enters the bundle), the rootfs from the bundle.
cp /bin/true "$tmp/c9/wc/rootfs/bin/x"
jq -c '.root = {path: "rootfs"} | .process.args = ["/bin/x"]' <<<"$spec" >"$tmp/c9/sub/alt.json"
printf '{"log_file":"%s"}' "$tmp/c9/log.json" >"$tmp/c9/policy.json"
(cd "$tmp/c9" && GOTUNE_POLICY=$tmp/c9/policy.json "$hookdir/gotune-crun" --runtime "$tmp/fake-runtime" run --config sub/alt.json --bundle wc id4 2>/dev/null)
check "--config sub/alt.json --bundle wc: ./sub/alt.json tuned" jq -e '.process.env | index("GOMAXPROCS=1")' "$tmp/c9/sub/alt.json"
check "and the image is looked up in wc/rootfs" jq -e 'select(.id == "id4") | .image.note == "/bin/x"' "$tmp/c9/log.json"

# One id length for every entry point: a 200-byte id is logged whole by
# the wrapper and by prestart.
long_id=$(printf 'c%.0s' $(seq 200))
printf '%s' "$spec" >"$tmp/rt-bundle/config.json"
"$hook" runtime --policy "$tmp/bad-policy2.json" --runtime "$tmp/fake-runtime" -- create --bundle "$tmp/rt-bundle" "$long_id" 2>"$tmp/err"
check "the wrapper logs a 200-byte id whole" grep -q "runtime id=$long_id " "$tmp/err"
printf '{"ociVersion":"1.0.2","id":"%s","status":"creating","pid":1,"bundle":"%s"}' "$long_id" "$tmp/rt-bundle" |
	"$hook" prestart --policy "$tmp/bad-policy2.json" 2>"$tmp/err"
check "prestart logs the same id whole" grep -q "prestart id=$long_id " "$tmp/err"
# A hand-run prestart with a broken policy still names its container.
printf '{"ociVersion":"1.0.2","id":"hand-run","status":"creating","pid":1,"bundle":"%s"}' "$tmp/rt-bundle" |
	"$hook" prestart --policy "$tmp/bad-policy2.json" 2>"$tmp/err"
check "prestart with a broken policy names its container" grep -q "prestart id=hand-run passthrough (policy .*bad-policy2.json" "$tmp/err"

# confinement: what the kernel reports for each phase, and what is refused
# The recorder keeps CAP_DAC_READ_SEARCH (2) and CAP_SYS_PTRACE (19).
record_capeff=$(printf '%016x' $(( (1 << 2) | (1 << 19) )))
out=$("$hook" confine-check tune 2>&1)
rc=$?
rec_out=$("$hook" confine-check record 2>&1)
rec_rc=$?
if echo "$out" | grep -q 'not in this build'; then
	ok 0 "confine-check # SKIP confinement not in this build (sanitizers or -Dconfine=disabled)"
elif echo "$out" | grep -q 'violations: kill'; then
	# The debug build: the first call outside the list ends the process.
	echo "$out" | grep -q $'^Seccomp:\t2'
	ok $? "kill build: the tune phase is filtered"
	ok $(( rc != 128 + 31 )) "kill build: the first forbidden call (socket(AF_INET)) kills with SIGSYS (status $rc)"
	! echo "$out" | grep -q '^socket(AF_INET)'
	ok $? "kill build: and nothing runs after it"
	echo "$rec_out" | grep -q $'^Seccomp:\t2' && echo "$rec_out" | grep -q $'^CapEff:\t'"$record_capeff"
	ok $? "kill build: the record phase is filtered and keeps only DAC_READ_SEARCH and SYS_PTRACE"
	ok $(( rec_rc != 128 + 31 )) "kill build: the record phase dies of SIGSYS at socket(AF_INET) too (status $rec_rc)"
else
	echo "$out" | grep -q $'^Seccomp:\t2' && echo "$out" | grep -q $'^NoNewPrivs:\t1'
	ok $? "tune phase: seccomp filter and no_new_privs are on"
	echo "$out" | grep -q $'^CapEff:\t000000000000000f'
	ok $? "tune phase keeps only CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER"
	for what in execve 'socket(AF_INET)' ptrace 'setuid(0)' chdir; do
		echo "$out" | grep -q "^$what *denied"
		ok $? "tune phase refuses $what"
	done
	echo "$out" | grep -q '^socket(AF_UNIX) *allowed'
	ok $? "tune phase still reaches syslog (AF_UNIX)"
	"$hook" confine-check prewarm 2>&1 | grep -q $'^CapEff:\t000000000000000c'
	ok $? "prewarm phase keeps only DAC_READ_SEARCH and FOWNER"
	# The wrapper's tuning child: the tune phase's capabilities, and of
	# prctl only what its reader needs to confine itself further.
	wrap_out=$("$hook" confine-check wrap 2>&1)
	echo "$wrap_out" | grep -q $'^Seccomp:\t2' && echo "$wrap_out" | grep -q $'^CapEff:\t000000000000000f'
	ok $? "wrap phase: filtered, with the tune phase's capabilities"
	for what in execve 'socket(AF_INET)' ptrace 'setuid(0)' chdir 'prctl(dumpable)'; do
		echo "$wrap_out" | grep -q "^$what *denied"
		ok $? "wrap phase refuses $what"
	done
	echo "$rec_out" | grep -q $'^Seccomp:\t2' && echo "$rec_out" | grep -q $'^NoNewPrivs:\t1'
	ok $? "record phase: seccomp filter and no_new_privs are on"
	echo "$rec_out" | grep -q $'^CapEff:\t'"$record_capeff"
	ok $? "record phase keeps only DAC_READ_SEARCH and SYS_PTRACE (CapEff $record_capeff)"
	# SYS_PTRACE is kept for /proc/PID access checks; ptrace(2) itself stays refused.
	for what in execve 'socket(AF_INET)' ptrace; do
		echo "$rec_out" | grep -q "^$what *denied"
		ok $? "record phase refuses $what"
	done
	# The replay hook until the spec says whether it also starts a
	# recorder: the prewarm and record phases' capabilities, and of prctl
	# only what stacking either phase on it needs.
	hook_out=$("$hook" confine-check hook 2>&1)
	echo "$hook_out" | grep -q $'^Seccomp:\t2' && echo "$hook_out" | grep -q $'^CapEff:\t'"$(printf '%016x' $(( (1 << 2) | (1 << 3) | (1 << 19) )))"
	ok $? "hook phase: filtered, with only DAC_READ_SEARCH, FOWNER and SYS_PTRACE"
	for what in execve 'socket(AF_INET)' ptrace 'setuid(0)' chdir 'prctl(dumpable)'; do
		echo "$hook_out" | grep -q "^$what *denied"
		ok $? "hook phase refuses $what"
	done
	# The runtime exec'd by the wrapper must inherit none of it.
	cat >"$tmp/status-runtime" <<'SH'
#!/bin/sh
grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status > "$FAKE_OUT"
SH
	chmod +x "$tmp/status-runtime"
	printf '%s' "$spec" >"$tmp/bundle/config.json"
	"$hook" runtime --runtime "$tmp/status-runtime" -- create --bundle "$tmp/bundle" conf 2>/dev/null
	grep -q $'^Seccomp:\t0' "$FAKE_OUT" && grep -q $'^NoNewPrivs:\t0' "$FAKE_OUT" &&
		test "$(grep CapEff "$FAKE_OUT" | cut -f2)" = "$(grep CapEff /proc/self/status | cut -f2)"
	ok $? "the runtime exec'd by the wrapper has no filter, no no_new_privs, all our capabilities"
	check "and the confined child still tuned the spec" jq -e '.process.env | index("GOMAXPROCS=1")' "$tmp/bundle/config.json"
fi
printf '{"confine":false}' >"$tmp/noconf.json"
printf '%s' "$spec" | "$hook" precreate --policy "$tmp/noconf.json" 2>/dev/null | grep -q GOMAXPROCS
ok $? "confine: false in the policy still tunes (debugging switch)"

# crun --config: a relative path is crun's working directory's
mkdir -p "$tmp/b2"
printf '%s' "$spec" >"$tmp/b2/alt.json"
(cd "$tmp" && "$hook" runtime --runtime "$tmp/fake-runtime" -- run --config b2/alt.json --bundle "$tmp/b2" c 2>/dev/null)
check "crun --config names the spec file" jq -e '.process.env | index("GOMEMLIMIT=180MiB")' "$tmp/b2/alt.json"

# plan
printf '%s' "$spec" >"$tmp/spec.json"
"$hook" plan --host-cpus 4 "$tmp/spec.json" >"$tmp/out" 2>&1
check "plan shows the decision and reason" grep -q 'GOMAXPROCS  set       1              quota 50000/100000 (ceil) -> 1 of 4 CPUs' "$tmp/out"
check "plan says what to do after a resize, with a plain runtime's command" \
	grep -q '^a change of its limits (runc update, crun update) restart the container to retune it$' "$tmp/out"
"$hook" plan --host-cpus 2 "$fixtures/podman-config.json" >"$tmp/out" 2>&1
check "... with Podman's for a Podman spec" grep -q '^podman update --cpus/--memory restart the container' "$tmp/out"
"$hook" plan --host-cpus 2 "$fixtures/crio-v2-config.json" >"$tmp/out" 2>&1
check "... with kubectl's for a CRI spec" grep -q '^an in-place resize (kubectl patch pod --subresource resize) restart' "$tmp/out"
# A precreate-tuned spec (Podman keeps the record annotation): plan credits
# gotune's values to gotune, not to the user; the precreate line names the
# container by the id runc and the prestart hook use (from cgroupsPath).
"$hook" precreate <"$fixtures/podman-config.json" >"$tmp/tuned.json" 2>"$tmp/err"
check "precreate records what it wrote in the annotation gotune.io/env" \
	jq -e '.annotations["gotune.io/env"] | fromjson == {"GOMAXPROCS": {"wrote": "1"}, "GOMEMLIMIT": {"wrote": "180MiB"}}' "$tmp/tuned.json"
check "precreate's line names the container by its 64-character id" \
	grep -q 'precreate id=c8a45ad8df2aa8b02d11f04c7d12b7ec7da00869ed830f56486a0a4af0d76dbe tuned' "$tmp/err"
"$hook" plan --host-cpus 2 "$tmp/tuned.json" >"$tmp/out" 2>&1
check "plan on a precreate-tuned spec: gotune's own value, unchanged, and no warning" \
	sh -c 'grep -q "GOMAXPROCS  set       1 .*GOMAXPROCS=1 in the env is gotune'"'"'s own, unchanged" "$1" && ! grep -q "^warning" "$1"' - "$tmp/out"
jq '.process.env += ["GOMAXPROCS=1"]' "$fixtures/podman-config.json" >"$tmp/user1.json"
"$hook" plan --host-cpus 2 "$tmp/user1.json" >"$tmp/out" 2>&1
check "the same value set by the user is the user's" grep -q 'GOMAXPROCS  kept      1              user set GOMAXPROCS=1$' "$tmp/out"
"$hook" plan --json "$tmp/spec.json" >"$tmp/out"
check "plan --json" jq -e '.vars.GOMEMLIMIT.value == "180MiB" and .changed == true' "$tmp/out"
printf '%s' "$spec" | "$hook" plan - >/dev/null
ok $? "plan reads stdin"
"$hook" plan "$tmp/nonexistent.json" >/dev/null 2>&1
ok $(( $? != 1 )) "plan on a missing file fails with 1"

# help and version
"$hook" --help | grep -q 'GOMEMLIMIT = floor(memory.limit x 0.9)'
ok $? "--help explains the rules"
"$hook" --version | grep -q '^gotune-hook [0-9]'
ok $? "--version"
"$hook" bogus >/dev/null 2>&1
ok $(( $? != 2 )) "unknown command is a usage error"

# Every command's --help: usage on stdout, exit 0. The list must cover every
# command the top-level help names, so a new command cannot be missed.
cmds=(precreate runtime prestart createRuntime prewarm record poststart profile "profile record" "profile show" nri
	nri-install nri-status doctor confine-check plan)
for c in $("$hook" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-zA-Z-]*\).*/\1/p'); do
	found=1
	for k in "${cmds[@]}"; do [ "$k" = "$c" ] && found=0; done
	ok $found "--help's command $c has a --help check below"
done
for c in "${cmds[@]}"; do
	# shellcheck disable=SC2086
	"$hook" $c --help </dev/null >"$tmp/help" 2>"$tmp/help-err"
	rc=$?
	ok $(( rc != 0 )) "$c --help exits 0 (got $rc)"
	check "$c --help prints its usage on stdout" grep -q "usage: gotune-hook $c\|usage: gotune-hook .*${c%% *}" "$tmp/help"
done
check "--help shows prewarm --mode" grep -q 'prewarm --root DIR \[--mode' <("$hook" --help)
check "--help lists gotune.io/record" grep -q 'gotune.io/record=true' <("$hook" --help)
# profile record reads --policy: a broken one is named, not ignored.
echo '{"profile":' >"$tmp/bad-profile-policy.json"
"$hook" profile record --policy "$tmp/bad-profile-policy.json" --bundle "$tmp" --pid $$ >/dev/null 2>"$tmp/err"
rc=$?
ok $(( rc != 1 )) "profile record --policy BAD fails (got $rc)"
check "profile record names the policy it was given" grep -q 'bad-profile-policy.json' "$tmp/err"

# ---- limits as engines write them (cgroup v2 unified, memory.high, tmpfs,
# pod-level limits, invalid user values, duplicates); fixtures in
# tests/fixtures (README there says where each came from)
v() { jq -r --arg v "$2" '.vars[$v] | "\(.action) \(.value // "-")"' "$1"; }
review=$tmp/review.json
jq '.linux.resources = {memory: {limit: 1073741824}, cpu: {quota: 50000, period: 100000},
	unified: {"memory.max": "max", "cpu.max": "max 100000"}}' "$fixtures/runc-spec-v2.json" >"$review"
"$hook" plan --json --host-cpus 4 "$review" >"$tmp/p.json"
check "review case: memory.limit 1GiB + quota 50000 under unified max/max plans nothing (runc writes unified last)" \
	jq -e '.changed == false and .vars.GOMAXPROCS.action == "skipped" and .vars.GOMEMLIMIT.action == "skipped"' "$tmp/p.json"
check "... and names the unified keys that won" jq -e '(.limits.cpu_quota_from | test("cpu.max=\"max 100000\" over quota 50000")) and (.limits.memory_limit_from | test("memory.max=\"max\" over memory.limit 1GiB"))' "$tmp/p.json"
"$hook" plan --host-cpus 4 "$review" >"$tmp/p.txt"
check "plan's table shows the source" grep -q 'cpu quota     none (unified cpu.max="max 100000" over quota 50000)' "$tmp/p.txt"

# Podman --cgroup-conf on v2, captured (memory.high 400m, cpu.max max, --tmpfs /scratch:size=100m)
"$hook" plan --json --host-cpus 2 "$fixtures/podman-v2-config.json" >"$tmp/p.json"
check "podman --cgroup-conf: cpu.max max removes --cpus 0.5" jq -e '.vars.GOMAXPROCS.action == "skipped" and (.vars.GOMAXPROCS.reason | test("unified cpu.max"))' "$tmp/p.json"
check "podman --cgroup-conf: 0.9 x (memory.high 400m - tmpfs 100MiB) = 270MiB" test "$(v "$tmp/p.json" GOMEMLIMIT)" = "set 270MiB"
# Its /dev/shm is a bind of Podman's own 128 MiB tmpfs: found in the mount table.
src=$(jq -r '.mounts[] | select(.destination == "/dev/shm") | .source' "$fixtures/podman-v2-config.json")
printf '22 1 0:21 / / rw - ext4 /dev/root rw\n40 22 0:50 / %s rw,nosuid - tmpfs shm rw,size=131072k,mode=1777\n' "$src" >"$tmp/mountinfo"
"$hook" plan --json --host-cpus 2 --mountinfo "$tmp/mountinfo" "$fixtures/podman-v2-config.json" >"$tmp/p.json"
check "podman: the 128 MiB /dev/shm is found and, by default (volumes), not counted" \
	jq -e '.limits.tmpfs_bytes == 239075328 and .limits.tmpfs_subtracted == 104857600 and .vars.GOMEMLIMIT.value == "270MiB"' "$tmp/p.json"
printf '{"gomemlimit": {"tmpfs": "all"}}' >"$tmp/tmpfs-all.json"
"$hook" plan --json --policy "$tmp/tmpfs-all.json" --host-cpus 2 --mountinfo "$tmp/mountinfo" "$fixtures/podman-v2-config.json" >"$tmp/p.json"
check "tmpfs all: 0.9 x (400 - 228) MiB is under the floor: 0.5 x 0.9 x 400MiB = 180MiB" \
	jq -e '.vars.GOMEMLIMIT.value == "180MiB" and (.vars.GOMEMLIMIT.reason | test("below the floor 0.50 x 0.90 x 400MiB"))' "$tmp/p.json"

# containerd CRI and CRI-O on v2 (written from their code): MemoryQoS
# unified memory.high 255012864 below the 256Mi limit, an emptyDir
# (medium: Memory, sizeLimit 64Mi) and the sandbox's 64 MiB /dev/shm.
for f in containerd-cri-v2-config.json crio-v2-config.json; do
	shm=$(jq -r '.mounts[] | select(.destination == "/dev/shm") | .source' "$fixtures/$f")
	ed=$(jq -r '.mounts[] | select(.destination == "/cache") | .source' "$fixtures/$f")
	sa=$(jq -r '.mounts[] | select(.destination | test("serviceaccount")) | .source' "$fixtures/$f")
	printf '22 1 0:21 / / rw - ext4 /dev/root rw\n41 22 0:51 / %s rw - tmpfs shm rw,size=65536k\n42 22 0:52 / %s rw - tmpfs tmpfs rw,size=65536k\n43 22 0:53 / %s rw - tmpfs tmpfs rw,size=262144k\n' \
		"$shm" "$ed" "$sa" >"$tmp/mountinfo-$f"
	"$hook" plan --json --host-cpus 2 --mountinfo "$tmp/mountinfo-$f" "$fixtures/$f" >"$tmp/p.json"
	# 0.9 x (255012864 - 64 MiB) = 169113600 = 165150KiB
	check "$f: GOMAXPROCS 1, GOMEMLIMIT 0.9 x (memory.high - emptyDir 64MiB); not the read-only token, not /dev/shm" \
		jq -e '.vars.GOMAXPROCS.value == "1" and .vars.GOMEMLIMIT.value == "165150KiB" and .limits.tmpfs_subtracted == 67108864' "$tmp/p.json"
done

# Pod-level limits: the container has a CPU request only; its pod cgroup
# (the slice of its systemd cgroupsPath) has the limits. A copy of a v2
# host, then the same pod on a v1 host with the cgroupfs driver. In a
# Kubernetes pod (CRI annotations) such a container shares the limit with
# containers that have their own: the kubelet limits the pod cgroup only
# when every container declares a limit, and gives a container without one
# the pod-level limit where spec.resources sets it (kuberuntime
# getMemoryLimit), so this is an ephemeral (kubectl debug) container; it
# gets what the others' GOMEMLIMITs leave, 0.1 of the pod's. Without CRI
# annotations (a Podman pod, a --cgroup-parent) the pod's limit is its own.
f=$fixtures/containerd-cri-v2-podlevel-config.json
slice=$(jq -r '.linux.cgroupsPath | split(":")[0]' "$f")
pod=$tmp/cg2/kubepods.slice/kubepods-burstable.slice/$slice
mkdir -p "$pod"
echo "cpuset cpu io memory pids" >"$tmp/cg2/cgroup.controllers"
echo 536870912 >"$pod/memory.max"
echo max >"$pod/memory.high"
echo "100000 100000" >"$pod/cpu.max"
echo 0-3 >"$pod/cpuset.cpus.effective"
"$hook" plan --json --host-cpus 4 --cgroupfs "$tmp/cg2" "$f" >"$tmp/p.json"
check "pod-level limits on v2, Kubernetes: GOMAXPROCS 1 from the pod's cpu.max, GOMEMLIMIT 0.1 x 512MiB (shared)" \
	jq -e '.vars.GOMAXPROCS.value == "1" and .vars.GOMEMLIMIT.value == "53687091" and (.vars.GOMEMLIMIT.reason | test("leave: x \\(1 - 0.90\\)")) and (.limits.pod | test("cgroup v2 /kubepods.slice/kubepods-burstable.slice/"))' "$tmp/p.json"
jq 'del(.annotations)' "$f" >"$tmp/noncri.json"
"$hook" plan --json --host-cpus 4 --cgroupfs "$tmp/cg2" "$tmp/noncri.json" >"$tmp/p.json"
check "the same without CRI annotations (a --cgroup-parent): GOMEMLIMIT 0.9 x 512MiB" \
	jq -e '.vars.GOMAXPROCS.value == "1" and .vars.GOMEMLIMIT.value == "483183820"' "$tmp/p.json"
# Podman writes CRI-O's annotation names into its own pods' containers, and
# names itself: not a Kubernetes pod.
jq '.annotations = {"io.container.manager": "libpod", "io.kubernetes.cri-o.SandboxID": "abc"}' "$f" >"$tmp/podman-pod.json"
"$hook" plan --json --host-cpus 4 --cgroupfs "$tmp/cg2" "$tmp/podman-pod.json" >"$tmp/p.json"
check "a Podman pod's container (CRI-O's annotation names, io.container.manager libpod): GOMEMLIMIT 0.9 x 512MiB" \
	jq -e '.vars.GOMEMLIMIT.value == "483183820"' "$tmp/p.json"
"$hook" plan --host-cpus 4 --cgroupfs "$tmp/cg2" "$f" >"$tmp/p.txt"
check "plan says where the pod limit came from" grep -q 'memory limit  536870912 bytes (512MiB) from pod cgroup v2 /kubepods.slice' "$tmp/p.txt"
printf '{"pod_limits": false}' >"$tmp/nopod.json"
"$hook" plan --json --policy "$tmp/nopod.json" --host-cpus 4 --cgroupfs "$tmp/cg2" "$f" >"$tmp/p.json"
check "pod_limits false: the pod's cgroup is not read" jq -e '.changed == false' "$tmp/p.json"
uid=$(jq -r '.annotations["io.kubernetes.cri.sandbox-uid"]' "$f")
jq --arg p "/kubepods/burstable/pod$uid/ctr1" '.linux.cgroupsPath = $p' "$f" >"$tmp/v1pod.json"
mkdir -p "$tmp/cg1/memory/kubepods/burstable/pod$uid" "$tmp/cg1/cpu,cpuacct/kubepods/burstable/pod$uid"
echo 268435456 >"$tmp/cg1/memory/kubepods/burstable/pod$uid/memory.limit_in_bytes"
echo 50000 >"$tmp/cg1/cpu,cpuacct/kubepods/burstable/pod$uid/cpu.cfs_quota_us"
echo 100000 >"$tmp/cg1/cpu,cpuacct/kubepods/burstable/pod$uid/cpu.cfs_period_us"
"$hook" plan --json --host-cpus 4 --cgroupfs "$tmp/cg1" "$tmp/v1pod.json" >"$tmp/p.json"
check "pod-level limits on v1 (cgroupfs driver), Kubernetes: 0.5 CPU -> 1, 256MiB x 0.1 (shared)" \
	jq -e '.vars.GOMAXPROCS.value == "1" and .vars.GOMEMLIMIT.value == "26843545" and (.limits.pod | test("cgroup v1 /kubepods/burstable/pod"))' "$tmp/p.json"
jq '.linux.resources.memory.limit = 134217728' "$tmp/v1pod.json" >"$tmp/v1own.json"
"$hook" plan --json --host-cpus 4 --cgroupfs "$tmp/cg1" "$tmp/v1own.json" >"$tmp/p.json"
check "a limit of its own (128MiB) in that pod: 0.9 x its own, the pod's quota" \
	jq -e '.vars.GOMAXPROCS.value == "1" and .vars.GOMEMLIMIT.value == "120795955"' "$tmp/p.json"
jq '.linux.cgroupsPath = "/kubepods/burstable/podgone/ctr1"' "$tmp/v1pod.json" >"$tmp/gone.json"
"$hook" plan --json --host-cpus 4 --cgroupfs "$tmp/cg1" "$tmp/gone.json" >"$tmp/p.json"
check "a pod cgroup that is not there is not taken for one without limits: the plan says not found" \
	jq -e '.changed == false and (.limits.pod | test("not found"))' "$tmp/p.json"
# unified cpuset.cpus (runc and crun write it after cpu.cpus): a quota of 4
# CPUs on a 16-CPU host, run on 2.
jq '.linux.resources.cpu = {"quota": 400000, "period": 100000} | .linux.resources.unified = {"cpuset.cpus": "0-1"} | del(.annotations) | del(.linux.cgroupsPath)' "$f" >"$tmp/cpuset.json"
"$hook" plan --json --host-cpus 16 "$tmp/cpuset.json" >"$tmp/p.json"
check "unified cpuset.cpus 0-1 caps a 4-CPU quota: GOMAXPROCS not set (Go runs 2)" \
	jq -e '.vars.GOMAXPROCS.action == "skipped" and .limits.cpuset_cpus == 2' "$tmp/p.json"
jq '.linux.cgroupsPath = "/kubepods/../../../etc/x"' "$f" >"$tmp/evil.json"
"$hook" plan --json --host-cpus 4 --cgroupfs "$tmp/cg1" "$tmp/evil.json" >"$tmp/p.json"
check "a cgroupsPath with .. is not read" jq -e '.changed == false and (.limits.pod | test("not read"))' "$tmp/p.json"

# Values Go rejects: reported by plan and the log line; fix_invalid replaces
# one that would abort.
bad='{"process":{"env":["GOMEMLIMIT=180M","GOMAXPROCS=0"]},"linux":{"resources":{"cpu":{"quota":50000},"memory":{"limit":209715200}}}}'
printf '%s' "$bad" | "$hook" precreate >"$tmp/out" 2>"$tmp/err"
check "GOMEMLIMIT=180M is kept by default (never clobber)" jq -e '.process.env == ["GOMEMLIMIT=180M","GOMAXPROCS=0"]' "$tmp/out"
check "... and the log line says Go aborts on it" grep -q 'GOMEMLIMIT=180M (kept: user set GOMEMLIMIT=180M; Go aborts at start' "$tmp/err"
check "... and that Go ignores GOMAXPROCS=0" grep -q 'Go ignores GOMAXPROCS=0' "$tmp/err"
printf '%s' "$bad" | "$hook" plan - >"$tmp/p.txt"
check "plan reports it too" grep -q 'GOMEMLIMIT  kept      180M           user set GOMEMLIMIT=180M; Go aborts at start' "$tmp/p.txt"
printf '{"fix_invalid": true}' >"$tmp/fix.json"
printf '%s' "$bad" | "$hook" precreate --policy "$tmp/fix.json" >"$tmp/out" 2>"$tmp/err"
check "fix_invalid: GOMEMLIMIT=180M becomes the planned 180MiB; GOMAXPROCS=0 (ignored, not fatal) stays" \
	jq -e '.process.env == ["GOMEMLIMIT=180MiB","GOMAXPROCS=0"]' "$tmp/out"
printf '%s' '{"process":{"env":["GOMEMLIMIT=1GiB"]},"linux":{"resources":{"memory":{"limit":209715200}}}}' |
	"$hook" precreate 2>"$tmp/err" >/dev/null
check "a GOMEMLIMIT above the limit is reported" grep -q "above the container's memory limit 200MiB" "$tmp/err"

# Duplicates: the last entry is the container's.
printf '{"godebug": {"madvdontneed": "1", "http2client": "0"}}' >"$tmp/gd.json"
printf '%s' '{"process":{"env":["GODEBUG=madvdontneed=1","A=1","GODEBUG=gctrace=1"]}}' |
	"$hook" precreate --policy "$tmp/gd.json" >"$tmp/out" 2>"$tmp/err"
check "GODEBUG twice: merged into the last copy, gctrace=1 kept, both copies rewritten alike" \
	jq -e '.process.env == ["GODEBUG=gctrace=1,madvdontneed=1,http2client=0","A=1","GODEBUG=gctrace=1,madvdontneed=1,http2client=0"]' "$tmp/out"
check "... and the log line notes the duplicate" grep -q 'process.env has GODEBUG 2 times' "$tmp/err"
printf '{"override": true, "godebug": {"http2client": "0"}}' >"$tmp/gdo.json"
printf '%s' '{"process":{"env":["GODEBUG=http2client=1,x=2,http2client=1"]}}' |
	"$hook" precreate --policy "$tmp/gdo.json" 2>/dev/null >"$tmp/out"
check "override of a key repeated inside GODEBUG rewrites every copy (Go reads the last)" \
	jq -e '.process.env == ["GODEBUG=http2client=0,x=2,http2client=0"]' "$tmp/out"
printf '%s' '{"process":{"env":["GOMAXPROCS=8","GOMAXPROCS=1"]},"linux":{"resources":{"cpu":{"quota":50000}}}}' |
	"$hook" plan --json - >"$tmp/p.json"
check "GOMAXPROCS twice: the last (1) is the value shown as kept" jq -e '.vars.GOMAXPROCS.value == "1" and .vars.GOMAXPROCS.action == "kept"' "$tmp/p.json"

# nri-install: link, config, and one registration as the runtime would
# start the plugin; nothing is left behind that would fail to start.
ni=$tmp/nri-install
mkdir -p "$ni"
printf '{"gomemlimit":{"ratio":0.5},"log_file":"%s"}\n' "$ni/log.json" >"$ni/policy.json"
"$hook" nri-install --plugin-dir "$ni/plugins" --conf-dir "$ni/conf.d" --policy "$ni/policy.json" >"$ni/out" 2>"$ni/err"
ok $? "nri-install: exit 0 when the plugin registers through the link"
check "nri-install: the link leads to this gotune-hook" test "$(readlink "$ni/plugins/50-gotune")" = "$hook"
check "nri-install: the policy is the plugin's .conf" cmp "$ni/policy.json" "$ni/conf.d/50-gotune.conf"
check "nri-install: it says the plugin registered and subscribed" grep -q 'registered as 50-gotune in .* subscribed to CreateContainer and UpdateContainer' "$ni/out"
check "nri-install: the plugin's start-up lines are in log_file" \
	jq -es 'any(.[]; .entry == "nri" and (.msg | test("registered as 50-gotune")))' "$ni/log.json"
"$hook" nri-install --plugin-dir "$ni/plugins" --conf-dir "$ni/conf.d" --check >"$ni/out" 2>&1
ok $? "nri-install --check: an installed plugin checks out"
printf '{"gomemlimit":{"ratio":"lots"}}\n' >"$ni/bad.json"
"$hook" nri-install --plugin-dir "$ni/p2" --conf-dir "$ni/c2" --policy "$ni/bad.json" >/dev/null 2>"$ni/err"
ok $(( $? != 1 )) "nri-install: a bad policy is refused (exit 1)"
check "nri-install: ... with the key named, and no link made" \
	sh -c "grep -q ratio '$ni/err' && test ! -e '$ni/p2/50-gotune'"
"$hook" nri-install --plugin-dir "$ni/p3" --conf-dir "$ni/c3" --binary /bin/true >/dev/null 2>"$ni/err"
ok $(( $? != 1 )) "nri-install: a binary that does not register fails the install"
check "nri-install: ... and the link it made is removed again" \
	sh -c "test ! -e '$ni/p3/50-gotune' && test ! -L '$ni/p3/50-gotune' && grep -q 'link was removed' '$ni/err'"
ln -s "$ni/nonexistent" "$ni/plugins/60-gotune"
"$hook" nri-install --plugin-dir "$ni/plugins" --idx 60 --check >/dev/null 2>"$ni/err"
ok $(( $? != 1 )) "nri-install --check: a dangling link fails"
install -m 0777 "$hook" "$ni/loose-hook"
"$hook" nri-install --plugin-dir "$ni/p4" --conf-dir "$ni/c4" --binary "$ni/loose-hook" >/dev/null 2>"$ni/err"
ok $(( $? != 1 )) "nri-install: a binary others may write is refused"
# containerd's config: a CRI runc table without runtime_type (README's
# table before it was fixed) fails every pod on containerd 1.6/1.7.
printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  BinaryName = "/usr/local/bin/gotune-runc"\n' >"$ni/ctrd-bad.toml"
"$hook" nri-install --plugin-dir "$ni/plugins" --conf-dir "$ni/conf.d" --containerd-config "$ni/ctrd-bad.toml" --check >"$ni/out" 2>"$ni/err"
ok $? "nri-install --check --containerd-config: a config that breaks pods is a warning, not a failure"
check "nri-install --check: ... the warning names the table and runtime_type" \
	grep -q 'warning: .*ctrd-bad.toml: \[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc\] has no runtime_type' "$ni/err"
printf 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n' >"$ni/ctrd-good.toml"
"$hook" nri-install --plugin-dir "$ni/plugins" --conf-dir "$ni/conf.d" --containerd-config "$ni/ctrd-good.toml" --check >"$ni/out" 2>"$ni/err"
ok $(( $? != 0 )) "nri-install --check --containerd-config: a good config ..."
check "... gives no warning" sh -c "! grep -q warning '$ni/err'"

# real fixtures through precreate: output parses and differs only in env
# and gotune's record of it (the annotation gotune.io/env, which Podman
# keeps, where it wrote something)
shopt -s nullglob
for f in "$fixtures"/*.json; do
	"$hook" precreate <"$f" >"$tmp/out" 2>/dev/null
	jq -e --slurpfile a "$f" 'def bare: del(.process.env) | del(.annotations["gotune.io/env"])
		| if .annotations == {} and ($a[0].annotations == null) then del(.annotations) else . end;
		(. | bare) == ($a[0] | bare)' "$tmp/out" >/dev/null
	ok $? "precreate on $(basename "$f"): only process.env and the gotune.io/env annotation differ"
done

echo "1..$n"
[ "$failed" -eq 0 ]
