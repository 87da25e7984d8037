#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/hostile.sh - bad bundles and hostile images against the wrapper
# and the prestart hook, with real runc: gotune never crashes or hangs,
# passes what it refuses through unchanged (the container starts whenever
# runc alone would start it, with the same exit status when runc alone
# would not), says why in one log line, and never touches a file outside
# the rootfs, even while the image swaps files and links under it.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/hostile.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc
gt_require_cmd fincore
gt_require_cmd python3
gt_need_hook "hostile inputs" || tap_done

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
WRAP=$(gt_runc_link)
LOG=$GT_TMP/decisions.jsonl
POLICY=$(gt_policy "$GT_TMP/policy.json" "{\"log_file\": \"$LOG\", \"runtime\": \"$(command -v runc)\"}")
export GOTUNE_POLICY=$POLICY
STATE=(--root "$GT_TMP/runc-state")
n=0

# bundle NAME JQ-FILTER: a witness bundle (0.5 CPU, 200 MiB) edited by jq.
bundle() {
	local b=$GT_TMP/b-$1
	gt_make_bundle "$b" "$ROOTFS"
	if [ -n "$2" ]; then
		jq "$2" "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	fi
	printf '%s\n' "$b"
}

# both NAME BUNDLE: the same bundle once through plain runc (on a copy) and
# once through the wrapper; timings in ms into NAME.ms.
both() {
	local name=$1 b=$2
	cp -a "$b" "$b.plain"
	gt_run "$name-plain" runc "${STATE[@]}" run --bundle "$b.plain" "$GT_ID-$name-p"
	local t0=$(date +%s%N)
	gt_run "$name" "$WRAP" "${STATE[@]}" run --bundle "$b" "$GT_ID-$name"
	echo $(( ($(date +%s%N) - t0) / 1000000 )) >"$GT_TMP/runs/$name.ms"
}

# last_log_matches ERE: the newest decision line's error or outcome.
last_log_matches() {
	tail -n 1 "$LOG" | jq -r '(.error // "") + " " + .outcome' | grep -Eq -- "$1"
}

# 1. 10 000 annotations: parsed, tuned, started.
b=$(bundle many-ann '.annotations = ([range(10000) | {key: "example.com/a\(.)", value: "v\(.)"}] | from_entries)')
both many-ann "$b"
gt_expect many-ann "10 000 annotations: tuned and started ($(cat "$GT_TMP/runs/many-ann.ms") ms)" -- $(gt_checks_tuned)

# 2. JSON nested 5000 deep (in a field runc ignores): refused with a
# message, passed through, started untouched.
b=$(bundle deep '')
python3 - "$b/config.json" <<'PY'
import json, sys
p = sys.argv[1]
text = open(p).read().rstrip()
assert text.endswith("}")
open(p, "w").write(text[:-1] + ', "x-deep": ' + "[" * 5000 + "]" * 5000 + "}")
PY
cp "$b/config.json" "$GT_TMP/deep.orig"
both deep "$b"
gt_expect deep "JSON nested 5000 deep: passed through, the container starts with Go's defaults" -- \
	GOMAXPROCS="$GT_HOST_CPUS" MEMLIMIT="$GT_UNSET_MEMLIMIT"
if cmp -s "$b/config.json" "$GT_TMP/deep.orig" && last_log_matches 'nest|depth'; then
	tap_ok "... config.json byte for byte unchanged, and the log says why: $(tail -n1 "$LOG" | jq -r .error)"
else
	tap_not_ok "... config.json unchanged and a log line about nesting"
	tap_diag_file log "$LOG"
fi

# 3. A config.json over the 16 MiB bound (an 18 MiB annotation): passed
# through whole; runc starts it.
b=$(bundle big '.annotations["example.com/blob"] = ("x" * 18874368)')
cp "$b/config.json" "$GT_TMP/big.orig"
both big "$b"
gt_expect big "an 18 MiB config.json: passed through, started ($(cat "$GT_TMP/runs/big.ms") ms)" -- \
	GOMAXPROCS="$GT_HOST_CPUS"
if cmp -s "$b/config.json" "$GT_TMP/big.orig" && last_log_matches 'larger than'; then
	tap_ok "... unchanged, and the log names the bound"
else
	tap_not_ok "... unchanged, and the log names the bound"
	tail -n1 "$LOG" | cut -c1-300 | sed 's/^/# /'
fi

# 4. A 100 MB env array. runc itself spends over 100 s of CPU on such a
# spec (measured here), so the runtime behind the wrapper is /bin/true:
# what is checked is gotune's part, a quick pass-through.
b=$(bundle hugeenv '.process.env += [range(100000) | "V\(.)=" + ("y" * 1000)]')
cp "$b/config.json" "$GT_TMP/hugeenv.orig"
t0=$(date +%s%N)
gt_run hugeenv "$GOTUNE_HOOK" runtime --runtime /bin/true -- "${STATE[@]}" create --bundle "$b" "$GT_ID-he"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$(cat "$GT_TMP/runs/hugeenv.rc")" = 0 ] && [ "$ms" -lt 5000 ] && cmp -s "$b/config.json" "$GT_TMP/hugeenv.orig" &&
	last_log_matches 'larger than'; then
	tap_ok "a 100 MB env array: passed through unchanged in $ms ms, the runtime still called, the bound logged"
else
	tap_not_ok "a 100 MB env array: passed through unchanged, quickly ($ms ms, rc $(cat "$GT_TMP/runs/hugeenv.rc"))"
	tail -n1 "$LOG" | cut -c1-300 | sed 's/^/# /'
fi
rm -f "$b/config.json" "$GT_TMP/hugeenv.orig"

# 5. Truncated and invalid config.json: runc's own error and status.
for kind in truncated invalid; do
	b=$(bundle "$kind" '')
	if [ "$kind" = truncated ]; then
		head -c 700 "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	else
		printf '{"ociVersion": "1.0.2", "process": nope}' >"$b/config.json"
	fi
	cp "$b/config.json" "$GT_TMP/$kind.orig"
	both "$kind" "$b"
	p=$(cat "$GT_TMP/runs/$kind-plain.rc") w=$(cat "$GT_TMP/runs/$kind.rc")
	if [ "$p" = "$w" ] && [ "$w" != 0 ] && cmp -s "$b/config.json" "$GT_TMP/$kind.orig" &&
		last_log_matches 'invalid JSON at byte|premature'; then
		tap_ok "$kind config.json: unchanged, runc's exit status ($w), log: $(tail -n1 "$LOG" | jq -r .error | cut -c1-80)"
	else
		tap_not_ok "$kind config.json: unchanged, runc's exit status (plain $p, wrapper $w)"
		tail -n1 "$LOG" | cut -c1-300 | sed 's/^/# /'
	fi
done

# 6. Missing rootfs: runc refuses; so do we, the same way.
b=$(bundle norootfs ".root.path = \"$GT_TMP/does-not-exist\"")
both norootfs "$b"
p=$(cat "$GT_TMP/runs/norootfs-plain.rc") w=$(cat "$GT_TMP/runs/norootfs.rc")
if [ "$p" = "$w" ] && [ "$w" != 0 ]; then
	tap_ok "missing rootfs: runc's exit status ($w), no crash"
else
	tap_not_ok "missing rootfs: runc's exit status (plain $p, wrapper $w)"
fi

# 7. A rootfs that is a symlink: runc refuses it by itself ("not an
# absolute path, or a symlink"); the wrapper must not change that outcome.
ln -s "$ROOTFS" "$GT_TMP/rootfs-link"
b=$(bundle rootlink ".root.path = \"$GT_TMP/rootfs-link\"")
both rootlink "$b"
p=$(cat "$GT_TMP/runs/rootlink-plain.rc") w=$(cat "$GT_TMP/runs/rootlink.rc")
if [ "$p" = "$w" ]; then
	tap_ok "a rootfs that is a symlink: the same outcome as plain runc (exit $w)"
else
	tap_not_ok "a rootfs that is a symlink: plain runc $p, wrapper $w"
fi

# 8. The image swaps paths between files and links out of the rootfs while
# the prestart hook runs, and truncates a file it is warming. A host file
# the links point at is evicted first; it must still be cold afterwards.
SECRET=$GT_TMP/host-secret
mkdir -p "$SECRET" "$ROOTFS/data" "$ROOTFS/real"
head -c $((8 << 20)) /dev/urandom >"$SECRET/file"
cp "$SECRET/file" "$ROOTFS/real/file"
cp "$GT_WITNESS" "$ROOTFS/real/app"
head -c $((32 << 20)) /dev/zero >"$ROOTFS/real/shrinking"
evict() { python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)' "$1"; }
resident_kib() { fincore --bytes --noheadings --raw --output RES "$1" | awk '{print int($1/1024)}'; }
sync
evict "$SECRET/file"
b=$GT_TMP/b-race
mkdir -p "$b"
ln -sfn "$ROOTFS" "$b/rootfs"
cat >"$b/config.json" <<JSON
{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["/app"],"env":["PATH=/bin"],"cwd":"/"},
 "annotations":{"gotune.io/prewarm-files":"/data/file,/app,/real/shrinking"},
 "linux":{"resources":{"cpu":{"quota":50000},"memory":{"limit":209715200}}}}
JSON
racer() {
	local i=0
	while :; do
		i=$((i + 1))
		# /data: a real directory, then a link to the host directory
		# (absolute and relative), swapped atomically by rename.
		ln -sfn "$SECRET" "$ROOTFS/data.new" && mv -T "$ROOTFS/data.new" "$ROOTFS/data" 2>/dev/null
		ln -sfn "../../../../../../../../..$SECRET" "$ROOTFS/data.new" && mv -T "$ROOTFS/data.new" "$ROOTFS/data" 2>/dev/null
		ln -sfn real "$ROOTFS/data.new" && mv -T "$ROOTFS/data.new" "$ROOTFS/data" 2>/dev/null
		# /app: the witness, then a link to the host file
		ln -sfn "$SECRET/file" "$ROOTFS/app.new" && mv -T "$ROOTFS/app.new" "$ROOTFS/app"
		ln -f "$ROOTFS/real/app" "$ROOTFS/app.new" && mv -T "$ROOTFS/app.new" "$ROOTFS/app"
		# a file being warmed shrinks to nothing and grows back
		truncate -s 0 "$ROOTFS/real/shrinking"
		truncate -s 32M "$ROOTFS/real/shrinking"
	done
}
racer &
RACER=$!
gt_defer kill "$RACER"
fails=0 slow=0 runs=0
# willneed twice: by hand (stderr a file) the hook warms in the same
# process; with stderr a pipe, as a runtime runs it, a detached child of
# the hook finds the set, queues its head and reads the rest in order after
# the hook has returned.
run_hook() { printf '%s' "$state" | timeout 20 "$GOTUNE_HOOK" prestart --policy "$GT_TMP/pw-$mode.json" >/dev/null; }
for mode in willneed willneed-child populate background; do
	echo "{\"prewarm\":{\"mode\":\"${mode%-child}\",\"closure\":true}}" >"$GT_TMP/pw-$mode.json"
	for i in $(seq 60); do
		runs=$((runs + 1))
		state="{\"ociVersion\":\"1.0.2\",\"id\":\"race$i\",\"status\":\"creating\",\"pid\":1,\"bundle\":\"$b\"}"
		t0=$(date +%s%N)
		if [ "$mode" = willneed-child ]; then
			run_hook 2> >(cat >>"$GT_TMP/race.err") || fails=$((fails + 1))
		else
			run_hook 2>>"$GT_TMP/race.err" || fails=$((fails + 1))
		fi
		[ $(( ($(date +%s%N) - t0) / 1000000 )) -gt 5000 ] && slow=$((slow + 1))
	done
done
# The detached children (background readers, willneed's queueing child)
# must be done before the host file's residency says anything; they keep
# the hook's argv, and so this test's policy paths.
for _ in $(seq 100); do
	pgrep -f "$GT_TMP/pw-" >/dev/null || break
	sleep 0.1
done
kill "$RACER" 2>/dev/null
wait "$RACER" 2>/dev/null
if [ "$fails" -eq 0 ] && [ "$slow" -eq 0 ]; then
	tap_ok "$runs prestart runs while the image swaps links and truncates a warmed file: all exit 0 within 5 s"
else
	tap_not_ok "prestart under a racing image: $fails failed, $slow over 5 s"
	tap_diag_file stderr "$GT_TMP/race.err" 20
fi
res=$(resident_kib "$SECRET/file")
if [ "$res" -eq 0 ]; then
	tap_ok "the host file the links point at was never read (0 KiB resident of 8192)"
else
	tap_not_ok "the host file the links point at is $res KiB resident: something read it"
fi
if grep -q 'Bus error\|SIGBUS\|core dumped' "$GT_TMP/race.err"; then
	tap_not_ok "no SIGBUS from the truncated file"
else
	tap_ok "no SIGBUS from the truncated file"
fi
# 9. No forged log line: an annotation and a prewarm path with a newline,
# CR, ESC and BEL, through the wrapper and real runc on a fresh host
# (no syslog: the fallback log) with runc's own --log in JSON. Every line
# is one line, escaped; none starts a line of its own that looks like ours.
gt_fresh_host
evil=$'/data/x\nFAKE gotune[1] error: INJECTED\e[2J\a\rend'
b=$(bundle forge "$(printf '.annotations = {"gotune.io/rounding": %s, "gotune.io/prewarm-files": %s}
	| .hooks = {createRuntime: [{path: %s, args: ["gotune-hook", "createRuntime"]}]}' \
	"$(jq -Rn --arg v $'up\nFAKE gotune[1] warning: runtime id=other tuned\e]0;t\a' '$v')" "$(jq -Rn --arg v "$evil" '$v')" \
	"$(jq -Rn --arg v "$GOTUNE_HOOK" '$v')")")
gt_run forge "${GT_FRESH[@]}" "$WRAP" "${STATE[@]}" --log "$GT_TMP/runc-log.json" --log-format json \
	run --bundle "$b" "$GT_ID-forge"
flog=$GT_STATE_HOST/gotune.log
for _ in $(seq 50); do grep -q createRuntime "$flog" 2>/dev/null && break; sleep 0.1; done
if ! grep -q '^FAKE' "$flog" && ! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$flog" &&
	grep -qF 'up\nFAKE gotune[1] warning' "$flog" && grep -qF '/data/x\nFAKE gotune[1] error: INJECTED\x1b[2J\x07\rend' "$flog"; then
	tap_ok "forged newline, CR, ESC, BEL in an annotation and a prewarm path: escaped in gotune.log, no line forged"
else
	tap_not_ok "forged newline, CR, ESC, BEL in an annotation and a prewarm path: escaped in gotune.log, no line forged"
	tap_diag_file gotune.log "$flog"
fi
if [ -s "$GT_TMP/runc-log.json" ] && jq -es 'all(.[]; type == "object")' "$GT_TMP/runc-log.json" >/dev/null 2>&1 &&
	grep -q 'gotune: runtime' "$GT_TMP/runc-log.json"; then
	tap_ok "... runc's --log (JSON): every line a JSON object, gotune's among them"
else
	tap_not_ok "... runc's --log (JSON): every line a JSON object, gotune's among them"
	tap_diag_file runc-log.json "$GT_TMP/runc-log.json"
fi

# 10. The wrapper waits for its tuning child 3 s at most: a child that
# stops (SIGSTOP here, as a frozen cgroup or a debugger would stop it) is
# killed and runc runs the container. Before, the wrapper waited for ever.
b=$(bundle stopped '.annotations = ([range(20000) | {key: "example.com/a\(.)", value: "v\(.)"}] | from_entries)')
python3 - "$WRAP" "$b" "$GT_ID-stopped" "$GT_TMP/runs/stopped" "${STATE[@]}" <<'PY' >"$GT_TMP/stopped.txt" 2>&1
import os, signal, subprocess, sys, time
wrap, b, cid, out, state = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
t0 = time.monotonic()
p = subprocess.Popen([wrap, *state, "run", "--bundle", b, cid], stdin=subprocess.DEVNULL,
                     stdout=open(out + ".out", "w"), stderr=open(out + ".err", "w"))
stopped = None
while stopped is None and p.poll() is None and time.monotonic() - t0 < 5:
    try:
        kids = open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split()
    except OSError:
        break
    for k in kids:
        try:
            os.kill(int(k), signal.SIGSTOP)
            stopped = int(k)
        except ProcessLookupError:
            pass
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
    rc = "hung"
    os.kill(stopped, signal.SIGKILL)  # left stopped, no longer a child of anyone's
print("stopped %s rc %s after %.1f s" % (stopped, rc, time.monotonic() - t0))
PY
read -r _ kid _ rc _ secs _ <"$GT_TMP/stopped.txt"
if [ "$kid" = None ]; then
	tap_skip "a stopped tuning child" "the child was gone before it could be stopped ($(cat "$GT_TMP/stopped.txt"))"
elif [ "$rc" = 0 ] && grep -q 'the tuning child took over 3000 ms: killed' "$GT_TMP/runs/stopped.err" &&
	gt_witness_complete "$GT_TMP/runs/stopped.out"; then
	tap_ok "a stopped tuning child: killed after 3 s, runc runs the container (the wrapper returned after $secs s)"
else
	tap_not_ok "a stopped tuning child: killed after 3 s, runc runs the container"
	tap_diag_file result "$GT_TMP/stopped.txt"
	tap_diag_file stderr "$GT_TMP/runs/stopped.err"
fi

tap_done
