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
check "corrupt policy: log names the file and offset" grep -q "bad-policy.json: invalid JSON at byte" "$tmp/err"
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
	echo "$rec_out" | grep -q $'^Seccomp:\t2' && echo "$rec_out" | grep -q $'^NoNewPrivs:\t1'
	ok $? "record phase: seccomp filter and no_new_privs are on"
	echo "$rec_out" | grep -q $'^CapEff:\t'"$record_capeff"
	ok $? "record phase keeps only DAC_READ_SEARCH and SYS_PTRACE (CapEff $record_capeff)"
	# SYS_PTRACE is kept for /proc/PID access checks; ptrace(2) itself stays refused.
	for what in execve 'socket(AF_INET)' ptrace; do
		echo "$rec_out" | grep -q "^$what *denied"
		ok $? "record phase refuses $what"
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

# crun --config
mkdir -p "$tmp/b2"
printf '%s' "$spec" >"$tmp/b2/alt.json"
"$hook" runtime --runtime "$tmp/fake-runtime" -- run --config alt.json --bundle "$tmp/b2" c 2>/dev/null
check "crun --config names the spec file" jq -e '.process.env | index("GOMEMLIMIT=180MiB")' "$tmp/b2/alt.json"

# plan
printf '%s' "$spec" >"$tmp/spec.json"
"$hook" plan --host-cpus 4 "$tmp/spec.json" >"$tmp/out" 2>&1
check "plan shows the decision and reason" grep -q 'GOMAXPROCS  set       1              quota 50000/100000 (ceil) -> 1 of 4 CPUs' "$tmp/out"
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

# nri-install: link, config, and one registration as the runtime would
# start the plugin; nothing is left behind that would fail to start.
ni=$tmp/nri-install
mkdir -p "$ni"
printf '{"gomemlimit":{"ratio":0.5},"log_file":"%s"}\n' "$ni/log.json" >"$ni/policy.json"
"$hook" nri-install --plugin-dir "$ni/plugins" --conf-dir "$ni/conf.d" --policy "$ni/policy.json" >"$ni/out" 2>"$ni/err"
ok $? "nri-install: exit 0 when the plugin registers through the link"
check "nri-install: the link leads to this gotune-hook" test "$(readlink "$ni/plugins/50-gotune")" = "$hook"
check "nri-install: the policy is the plugin's .conf" cmp "$ni/policy.json" "$ni/conf.d/50-gotune.conf"
check "nri-install: it says the plugin registered and subscribed" grep -q 'registered as 50-gotune in .* subscribed to CreateContainer' "$ni/out"
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

# real fixtures through precreate: output parses and differs only in env
shopt -s nullglob
for f in "$fixtures"/*.json; do
	"$hook" precreate <"$f" >"$tmp/out" 2>/dev/null
	jq -e --slurpfile a "$f" '(. | del(.process.env)) == ($a[0] | del(.process.env))' "$tmp/out" >/dev/null
	ok $? "precreate on $(basename "$f"): only process.env differs"
done

echo "1..$n"
[ "$failed" -eq 0 ]
