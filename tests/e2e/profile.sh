#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2016 # jq filters passed to gt_wait_jq name $id on purpose
# tests/e2e/profile.sh - working-set profiles with runc: a poststart hook
# (gotune.io/record=true) records what a dynamically linked program (perl,
# with its libraries copied into the rootfs) touched at start; the next
# start of the same image replays exactly those ranges from prestart, after
# the page cache was dropped.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/profile.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc perl ldd fincore
gt_need_hook "profiles" || tap_done
[ -w /proc/sys/vm/drop_caches ] || skip_all "cannot drop the page cache here"

ROOTFS=$GT_TMP/rootfs
mkdir -p "$ROOTFS/proc" "$ROOTFS/dev" "$ROOTFS/sys" "$ROOTFS/tmp"
for f in /usr/bin/perl $(ldd /usr/bin/perl | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
	mkdir -p "$ROOTFS$(dirname "$f")"
	cp -L "$f" "$ROOTFS$f"
done
PROFILES=$GT_TMP/profiles
POLICY=$(gt_policy "$GT_TMP/policy.json" "{\"log_file\": \"$GT_TMP/decisions.jsonl\", \"profile\": {\"dir\": \"$PROFILES\"}, \"prewarm\": {\"mode\": \"populate\"}}")

bundle() { # DIR
	runc spec --bundle "$1"
	jq --arg root "$ROOTFS" --arg hook "$GOTUNE_HOOK" --arg policy "$POLICY" '
		.root = {path: $root, readonly: true} | .process.terminal = false
		| .process.args = ["/usr/bin/perl", "-e", "select(undef, undef, undef, 0.3); print qq(hello\n)"]
		| .annotations = {"gotune.io/record": "true"}
		| .hooks = {
			prestart: [{path: $hook, args: ["gotune-hook", "prestart", "--policy", $policy], timeout: 10}],
			poststart: [{path: $hook, args: ["gotune-hook", "poststart", "--policy", $policy], timeout: 10}]
		  }' "$1/config.json" >"$1/c.json" && mv "$1/c.json" "$1/config.json"
}

b=$GT_TMP/b1
mkdir -p "$b"
bundle "$b"
gt_run first runc --root "$GT_TMP/runc-state" run --bundle "$b" "$GT_ID-first"
if grep -qx hello "$GT_TMP/runs/first.out"; then tap_ok "first run: the program runs with the hooks"; else
	tap_not_ok "first run: the program runs with the hooks"; _gt_run_diag first; fi
for _ in $(seq 50); do
	ls "$PROFILES"/*.profile >/dev/null 2>&1 && break
	sleep 0.1
done
prof=$(ls "$PROFILES"/*.profile 2>/dev/null | head -1)
if [ -n "$prof" ]; then
	tap_ok "poststart left a profile ($(basename "$prof"))"
else
	tap_not_ok "poststart left a profile"
	tap_diag_file decisions "$GT_TMP/decisions.jsonl"
	tap_done
fi
"$GOTUNE_HOOK" profile show "$prof" >"$GT_TMP/show.txt" 2>&1
if grep -q '^entry /usr/bin/perl' "$GT_TMP/show.txt" && grep -q 'libc.so.6' "$GT_TMP/show.txt"; then
	tap_ok "the profile names the entrypoint and libc"
else
	tap_not_ok "the profile names the entrypoint and libc"
	tap_diag_file show "$GT_TMP/show.txt"
fi
bytes=$(awk '/bytes to warm/ {print $3}' "$GT_TMP/show.txt")
total=$(du -cb "$ROOTFS"/usr/bin/perl "$ROOTFS"/lib/x86_64-linux-gnu/* "$ROOTFS"/lib64/* 2>/dev/null | tail -1 | cut -f1)
if [ -n "$bytes" ] && [ "$bytes" -gt 0 ] && [ "$bytes" -lt "$total" ]; then
	tap_ok "the profile holds less than the whole files ($bytes of $total bytes)"
else
	tap_not_ok "the profile holds less than the whole files (${bytes:-?} of $total bytes)"
	tap_diag_file show "$GT_TMP/show.txt"
fi
grep -q 'ld-linux\|/usr/bin/perl' "$prof" && ! grep -q 'content' "$prof"
[ $? -eq 0 ] && tap_ok "only paths, sizes, mtimes and offsets are stored" || tap_not_ok "only paths, sizes, mtimes and offsets are stored"

# The recorder, confined while it runs, for a container of another uid whose
# entrypoint only that uid may read: /proc/PID/{maps,root} then need
# CAP_SYS_PTRACE (another uid), /proc/PID/pagemap (0400, owned by uid 1000)
# and the entrypoint CAP_DAC_READ_SEARCH. A recorder lacking either writes
# no profile or an empty one; one killed by its filter (the kill build)
# writes none. The container lives 2 s and the policy waits 3 s for the set
# to settle, so the recorder is there to be looked at.
UROOTFS=$GT_TMP/rootfs-uid1000
cp -a "$ROOTFS" "$UROOTFS"
chown 1000:1000 "$UROOTFS/usr/bin/perl" && chmod 0500 "$UROOTFS/usr/bin/perl"
UPROFILES=$GT_TMP/profiles-uid1000
UPOLICY=$(gt_policy "$GT_TMP/policy-uid1000.json" "{\"profile\": {\"dir\": \"$UPROFILES\", \"settle_ms\": 3000}}")
bu=$GT_TMP/bu
mkdir -p "$bu"
bundle "$bu"
jq --arg root "$UROOTFS" --arg hook "$GOTUNE_HOOK" --arg policy "$UPOLICY" '
	.root.path = $root | .process.user = {uid: 1000, gid: 1000}
	| .process.args = ["/usr/bin/perl", "-e", "select(undef, undef, undef, 2); print qq(hello\n)"]
	| .hooks = {poststart: [{path: $hook, args: ["gotune-hook", "poststart", "--policy", $policy], timeout: 10}]}' \
	"$bu/config.json" >"$bu/c.json" && mv "$bu/c.json" "$bu/config.json"
# recorder_status POLICY OUT: the status of the detached recorder started
# for POLICY (a gotune-hook poststart leading its own session) once it is
# confined, and its scheduling policy (stat field 41) once it is SCHED_IDLE
# (5); each polled for up to 5 s.
recorder_status() {
	local pid='' p
	for _ in $(seq 100); do
		for p in $(pgrep -f -- "gotune-hook poststart --policy $1\$"); do
			[ "$(cut -d' ' -f6 "/proc/$p/stat" 2>/dev/null)" = "$p" ] && pid=$p
		done
		[ -n "$pid" ] && grep -q $'^Seccomp:\t2' "/proc/$pid/status" 2>/dev/null && break
		sleep 0.05
	done
	[ -n "$pid" ] || return 1
	grep -E '^(Seccomp|NoNewPrivs|CapEff):' "/proc/$pid/status" >"$2" 2>/dev/null
	for _ in $(seq 100); do
		[ "$(cut -d' ' -f41 "/proc/$pid/stat" 2>/dev/null)" = 5 ] && break
		sleep 0.05
	done
	printf 'policy:\t%s\n' "$(cut -d' ' -f41 "/proc/$pid/stat" 2>/dev/null)" >>"$2"
}
gt_run uid1000 runc --root "$GT_TMP/runc-state" run --bundle "$bu" "$GT_ID-uid1000" &
runpid=$!
recorder_status "$UPOLICY" "$GT_TMP/recorder.status"
found=$?
wait "$runpid"
if grep -qx hello "$GT_TMP/runs/uid1000.out"; then tap_ok "uid 1000 run: the program runs with the recorder"; else
	tap_not_ok "uid 1000 run: the program runs with the recorder"; _gt_run_diag uid1000; fi
# The record phase keeps CAP_DAC_READ_SEARCH (2) and CAP_SYS_PTRACE (19).
capeff=$(printf '%016x' $(( (1 << 2) | (1 << 19) )))
if "$GOTUNE_HOOK" confine-check record 2>&1 | grep -q 'not in this build'; then
	tap_skip "the recorder runs confined" "confinement not in this build"
elif [ "$found" -eq 0 ] && grep -q $'^Seccomp:\t2' "$GT_TMP/recorder.status" &&
	grep -q $'^NoNewPrivs:\t1' "$GT_TMP/recorder.status" && grep -q $'^CapEff:\t'"$capeff" "$GT_TMP/recorder.status"; then
	tap_ok "the recorder runs confined: seccomp filter, no_new_privs, CapEff $capeff"
else
	tap_not_ok "the recorder runs confined: seccomp filter, no_new_privs, CapEff $capeff"
	tap_diag_file "recorder status (found: $found)" "$GT_TMP/recorder.status"
fi
# SCHED_IDLE after its first round: sched_setscheduler passes the filter.
if grep -q $'^policy:\t5$' "$GT_TMP/recorder.status"; then
	tap_ok "the confined recorder still moves itself to SCHED_IDLE"
else
	tap_not_ok "the confined recorder still moves itself to SCHED_IDLE"
	tap_diag_file "recorder status" "$GT_TMP/recorder.status"
fi
for _ in $(seq 50); do
	ls "$UPROFILES"/*.profile >/dev/null 2>&1 && break
	sleep 0.1
done
uprof=$(ls "$UPROFILES"/*.profile 2>/dev/null | head -1)
"$GOTUNE_HOOK" profile show "${uprof:-/nonexistent}" >"$GT_TMP/show-uid1000.txt" 2>&1
if grep -q '^entry /usr/bin/perl' "$GT_TMP/show-uid1000.txt" && grep -q 'libc.so.6' "$GT_TMP/show-uid1000.txt" &&
	grep -q ' /usr/bin/perl$' "$GT_TMP/show-uid1000.txt"; then
	tap_ok "a uid 1000 container with an owner-only entrypoint: the profile names perl and libc"
else
	tap_not_ok "a uid 1000 container with an owner-only entrypoint: the profile names perl and libc"
	tap_diag_file show "$GT_TMP/show-uid1000.txt"
fi

sync
echo 3 >/proc/sys/vm/drop_caches
b2=$GT_TMP/b2
mkdir -p "$b2"
bundle "$b2"
gt_run second runc --root "$GT_TMP/runc-state" run --bundle "$b2" "$GT_ID-second"
if grep -qx hello "$GT_TMP/runs/second.out"; then tap_ok "second run: the program runs"; else
	tap_not_ok "second run: the program runs"; _gt_run_diag second; fi
if gt_wait_jq "$GT_TMP/decisions.jsonl" 'any(.[]; .id == $id and .entry == "prestart" and (.detail | test("prewarm populate: .* -> 100%.*profile [0-9a-f]+ replayed")))' \
	--arg id "$GT_ID-second"; then
	tap_ok "prestart replayed the profile, every profiled page resident after"
else
	tap_not_ok "prestart replayed the profile, every profiled page resident after"
	tap_diag_file decisions "$GT_TMP/decisions.jsonl"
fi

# plan tells whether a profile would be replayed, and what it holds.
GOTUNE_POLICY=$POLICY "$GOTUNE_HOOK" plan --bundle "$b2" >"$GT_TMP/plan.txt" 2>&1
if grep -q "matched for /usr/bin/perl: [0-9]* files, [0-9]* ranges, [0-9]* bytes replayed at prestart" "$GT_TMP/plan.txt"; then
	tap_ok "plan shows the matching profile: $(grep -o 'matched for.*' "$GT_TMP/plan.txt")"
else
	tap_not_ok "plan shows the matching profile"
	tap_diag_file plan "$GT_TMP/plan.txt"
fi

# Engines without the prestart hook: gotune-runc replays the profile itself,
# detached, after the page cache was dropped.
bw=$GT_TMP/bw
mkdir -p "$bw"
bundle "$bw"
jq 'del(.hooks) | .annotations = {}' "$bw/config.json" >"$bw/c.json" && mv "$bw/c.json" "$bw/config.json"
WRAP=$(gt_runc_link)
sync
echo 3 >/proc/sys/vm/drop_caches
GOTUNE_POLICY=$POLICY gt_run wrapped "$WRAP" --root "$GT_TMP/runc-state" run --bundle "$bw" "$GT_ID-wrapped"
if grep -qx hello "$GT_TMP/runs/wrapped.out" && gt_wait_jq "$GT_TMP/decisions.jsonl" \
	'any(.[]; .id == $id and .entry == "runtime-prewarm" and (.detail | test("profile [0-9a-f]+ replayed")))' \
	--arg id "$GT_ID-wrapped"; then
	tap_ok "gotune-runc replays the profile itself (no prestart hook in the spec)"
else
	tap_not_ok "gotune-runc replays the profile itself (no prestart hook in the spec)"
	_gt_run_diag wrapped
	tail -n 3 "$GT_TMP/decisions.jsonl" | cut -c1-300 | sed 's/^/# /'
fi

# Identity is the build ID: perl and libc carry GNU build-id notes.
want=$(readelf -n /usr/bin/perl 2>/dev/null | awk '/Build ID/ {print $3; exit}')
if [ -n "$want" ] && grep -q "^entry /usr/bin/perl	[0-9]*	[0-9-]*	gnu:$want\$" "$prof"; then
	tap_ok "the profile keys perl by its GNU build ID ($want, as readelf reads it)"
else
	tap_not_ok "the profile keys perl by its GNU build ID (${want:-readelf found none})"
	head -3 "$prof" | cut -c1-200 | sed 's/^/# /'
fi

# replayed RUN: the detail prestart logged for run RUN.
replayed() {
	gt_wait_jq "$GT_TMP/decisions.jsonl" 'any(.[]; .id == $id and .entry == "prestart")' --arg id "$GT_ID-$1"
	jq -rs --arg id "$GT_ID-$1" 'map(select(.id == $id and .entry == "prestart")) | .[0].detail // ""' \
		"$GT_TMP/decisions.jsonl"
}
# A copy of the same binaries with new mtimes (an image rebuilt or pulled
# again): still the same build IDs, so the profile still applies, whole.
find "$ROOTFS" -type f -exec touch -d '2030-01-01 00:00' {} +
b3=$GT_TMP/b3
mkdir -p "$b3"
bundle "$b3"
gt_run third runc --root "$GT_TMP/runc-state" run --bundle "$b3" "$GT_ID-third"
d=$(replayed third)
if grep -qx hello "$GT_TMP/runs/third.out" && [[ $d == *"profile "*" replayed"* ]] && [[ $d != *"changed since recording"* ]]; then
	tap_ok "new mtimes, same build IDs: the profile is replayed whole"
else
	tap_not_ok "new mtimes, same build IDs: the profile is replayed whole"
	tap_diag "detail: $d"
fi
# A different perl (one byte of its build ID changed): its profile is not
# this binary's, so nothing is replayed for it.
python3 - "$ROOTFS/usr/bin/perl" "$want" <<'PY'
import sys
path, want = sys.argv[1], bytes.fromhex(sys.argv[2])
data = bytearray(open(path, "rb").read())
i = data.find(want)
assert i > 0, "build ID bytes not found"
data[i] ^= 0xFF
open(path, "wb").write(data)
PY
b4=$GT_TMP/b4
mkdir -p "$b4"
bundle "$b4"
gt_run fourth runc --root "$GT_TMP/runc-state" run --bundle "$b4" "$GT_ID-fourth"
d=$(replayed fourth)
if grep -qx hello "$GT_TMP/runs/fourth.out" && [[ $d != *"replayed"* ]]; then
	tap_ok "a changed entrypoint (new build ID): no profile replayed for it"
else
	tap_not_ok "a changed entrypoint (new build ID): no profile replayed for it"
	tap_diag "detail: $d"
fi

# A hostile start-up: a program that maps a 1 TiB (sparse) file, touches a
# page in every GiB of it, and forks 300 children. The recorder must stay
# bounded (time, pages read, profile size) and runc must not wait for it.
if ! command -v gcc >/dev/null; then
	tap_skip "hostile recording" "gcc not installed (needed to build the test program)"
	tap_done
fi
cat >"$GT_TMP/hog.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(void)
{
	int fd = open("/huge", O_RDONLY);
	size_t len = (size_t)1 << 40;
	volatile char *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (fd < 0 || p == MAP_FAILED)
		return 1;
	char sum = 0;
	for (size_t off = 0; off < len; off += (size_t)1 << 30)
		sum += p[off];
	for (int i = 0; i < 300; i++)
		if (fork() == 0) {
			sleep(2);
			_exit(0);
		}
	sleep(2);
	printf("hog done %d\n", sum);
	return 0;
}
C
HOGROOT=$GT_TMP/hogroot
mkdir -p "$HOGROOT/proc" "$HOGROOT/dev" "$HOGROOT/sys"
gcc -static -O1 -o "$HOGROOT/hog" "$GT_TMP/hog.c" && truncate -s 1T "$HOGROOT/huge" ||
	bail_out "cannot build the hog program"
bh=$GT_TMP/bhog
mkdir -p "$bh"
runc spec --bundle "$bh"
jq --arg root "$HOGROOT" --arg hook "$GOTUNE_HOOK" --arg policy "$POLICY" '
	.root = {path: $root, readonly: true} | .process.terminal = false | .process.args = ["/hog"]
	| .process.cwd = "/"
	| .annotations = {"gotune.io/record": "true"}
	| .hooks = {poststart: [{path: $hook, args: ["gotune-hook", "poststart", "--policy", $policy], timeout: 10}]}' \
	"$bh/config.json" >"$bh/c.json" && mv "$bh/c.json" "$bh/config.json"
# Baseline: the same bundle without the hook.
jq 'del(.hooks)' "$bh/config.json" >"$bh/plain.json"
mkdir -p "$bh/plain" && mv "$bh/plain.json" "$bh/plain/config.json"
# A first run warms the page cache (the file's holes), then with and
# without the recorder.
gt_run hog-warm runc --root "$GT_TMP/runc-state" run --bundle "$bh/plain" "$GT_ID-hogw"
t0=$(date +%s%N)
gt_run hog runc --root "$GT_TMP/runc-state" run --bundle "$bh" "$GT_ID-hog"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
t0=$(date +%s%N)
gt_run hog-plain runc --root "$GT_TMP/runc-state" run --bundle "$bh/plain" "$GT_ID-hogp"
base=$(( ($(date +%s%N) - t0) / 1000000 ))
# The recorder runs under SCHED_IDLE: it may not slow the start by more
# than noise (a quarter, plus half a second).
if grep -q '^hog done' "$GT_TMP/runs/hog.out" && [ "$ms" -le $(( base * 5 / 4 + 500 )) ]; then
	tap_ok "the hog (1 TiB mapping, 300 children) with the recorder: $ms ms, without: $base ms"
else
	tap_not_ok "the hog with the recorder: $ms ms, without: $base ms"
	_gt_run_diag hog
fi
# The recorder stops within its 5 s bound.
for _ in $(seq 80); do
	pgrep -f "gotune-hook poststart" >/dev/null || break
	sleep 0.1
done
if pgrep -f "gotune-hook poststart" >/dev/null; then
	tap_not_ok "the recorder is still running 8 s after the start"
else
	tap_ok "the recorder finished within its time bound"
fi
hogprof=$(grep -l '^entry /hog' "$PROFILES"/*.profile 2>/dev/null | head -1)
size=$(stat -c %s "$hogprof" 2>/dev/null || echo 0)
if [ -n "$hogprof" ] && [ "$size" -lt 65536 ] && grep -q '^file /huge' "$hogprof"; then
	tap_ok "its profile is small ($size bytes) and covers only the front of the 1 TiB file"
	"$GOTUNE_HOOK" profile show "$hogprof" 2>&1 | sed 's/^/# /' | head -5
else
	tap_not_ok "a small profile for the hog (${hogprof:-none}, $size bytes)"
fi
tap_done
