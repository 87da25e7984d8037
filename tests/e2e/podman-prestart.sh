#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/podman-prestart.sh - the shipped Podman hooks dir (precreate +
# prestart drop-ins, as meson installs them in share/gotune/podman-hooks.d):
# one container gets both the tuned env and the listed file warmed, after
# the page cache was dropped. Then the whole directory as shipped on a new
# user's host, default policy: a container annotated gotune.io/record=true
# is recorded (the prestart drop-in starts the recorder: there is no
# recording drop-in) and its next cold start replays the profile; one
# without the annotation is not recorded.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/podman-prestart.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd podman runc fincore
[ -w /proc/sys/vm/drop_caches ] || skip_all "cannot drop the page cache here"
gt_need_hook "podman with the shipped drop-ins" || tap_done
BUILD=$(dirname "$GOTUNE_HOOK")
[ -f "$BUILD/gotune-precreate.json" ] && [ -f "$BUILD/gotune-prestart.json" ] ||
	skip_all "drop-ins not built next to $GOTUNE_HOOK"

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
mkdir -p "$ROOTFS/data" "$GT_TMP/podman/root" "$GT_TMP/podman/runroot" "$GT_TMP/podman/tmp" "$GT_TMP/hooks"
head -c $((4 << 20)) /dev/urandom >"$ROOTFS/data/model.bin"
POLICY=$(gt_policy "$GT_TMP/policy.json" "{\"log_file\": \"$GT_TMP/decisions.jsonl\"}")
# The shipped drop-ins, pointed at this build and this test's policy.
for f in gotune-precreate.json gotune-prestart.json; do
	jq --arg hook "$GOTUNE_HOOK" --arg policy "$POLICY" \
		'.hook.path = $hook | .hook.args += ["--policy", $policy]' "$BUILD/$f" >"$GT_TMP/hooks/$f"
done
PODMAN=(podman --root "$GT_TMP/podman/root" --runroot "$GT_TMP/podman/runroot"
	--tmpdir "$GT_TMP/podman/tmp" --storage-driver vfs --runtime "$(command -v runc)"
	--cgroup-manager cgroupfs --events-backend file --hooks-dir "$GT_TMP/hooks")

sync
echo 3 >/proc/sys/vm/drop_caches
id=$GT_ID-pw
gt_defer "${PODMAN[@]}" rm -f "$id"
gt_run pw "${PODMAN[@]}" run --rm --name "$id" --net none \
	--ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --cpus 0.5 --memory 200m \
	--annotation gotune.io/prewarm-files=/data/model.bin --rootfs "$ROOTFS" /witness
mapfile -t TUNED < <(gt_checks_tuned)
gt_expect pw "podman + shipped drop-ins: env tuned by precreate" -- "${TUNED[@]}"
pct=$(gt_wait_resident "$ROOTFS/data/model.bin")
if [ "$pct" -ge 99 ]; then
	tap_ok "podman + shipped drop-ins: the listed file was warmed by prestart ($pct% resident)"
else
	tap_not_ok "podman + shipped drop-ins: the listed file was warmed by prestart ($pct% resident)"
	tap_diag_file "decisions.jsonl" "$GT_TMP/decisions.jsonl"
fi
if gt_wait_jq "$GT_TMP/decisions.jsonl" \
	'any(.[]; .entry == "prestart" and (.detail | test("GOMAXPROCS=1 \\(as planned\\) GOMEMLIMIT=180MiB \\(as planned\\)")))'; then
	tap_ok "prestart's audit sees the env precreate planned"
else
	tap_not_ok "prestart's audit sees the env precreate planned"
	tap_diag_file "decisions.jsonl" "$GT_TMP/decisions.jsonl"
fi

# The shipped directory, only the binary's path changed: a new user's host
# (no state directory, no policy, no syslog: lines in the fallback log).
gt_fresh_host
mkdir -p "$GT_TMP/shipped"
for f in gotune-precreate.json gotune-prestart.json; do
	jq --arg hook "$GOTUNE_HOOK" '.hook.path = $hook' "$BUILD/$f" >"$GT_TMP/shipped/$f"
done
FRESH_PODMAN=("${GT_FRESH[@]}" "${PODMAN[@]/#$GT_TMP\/hooks/$GT_TMP/shipped}")
# fallback_lines ID: the fallback log's lines for container ID (Podman's
# full id: the hooks see that), polled until the recorder's is there.
fallback_lines() {
	for _ in $(seq 50); do
		grep -q " recorder id=$1 " "$GT_STATE_HOST/gotune.log" 2>/dev/null && break
		sleep 0.1
	done
	grep -F "id=$1 " "$GT_STATE_HOST/gotune.log" 2>/dev/null
}
podman_run() { # NAME [PODMAN-RUN-ARGS...]: runs /witness, prints the container's full id
	local name=$1 id=$GT_ID-$1
	shift
	gt_defer "${FRESH_PODMAN[@]}" rm -f "$id"
	gt_run "$name" "${FRESH_PODMAN[@]}" run --name "$id" --net none \
		--ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --cpus 0.5 --memory 200m "$@" --rootfs "$ROOTFS" /witness
	"${FRESH_PODMAN[@]}" inspect --format '{{.Id}}' "$id" 2>/dev/null
}
# The witness lives a few ms: on a busy host it can start and end between
# two of the recorder's looks; up to three starts (each adds to the profile).
# gotune-hook is read back in after the cache drop above: on a node it runs
# for every container and is hot.
cat "$GOTUNE_HOOK" >/dev/null
for try in 1 2 3; do
	full=$(podman_run "rec$try" --annotation gotune.io/record=true)
	lines=$(fallback_lines "$full")
	[[ $lines == *" recorder id=$full recorded: "* ]] && break
	tap_diag "start $try not recorded: $(grep -F " recorder id=$full " <<<"$lines" | sed 's/.*recorder id=[0-9a-f]* //')"
done
if gt_witness_complete "$GT_TMP/runs/rec$try.out" && [[ $lines == *" prestart id=$full done: "*"record: recording the working set of pid "*" from its exec into $GT_STATE/profiles"* ]] &&
	[[ $lines == *" recorder id=$full recorded: "* ]] && grep -qs '^entry /witness' "$GT_STATE_HOST"/profiles/*.profile; then
	tap_ok "shipped drop-ins, default policy: gotune.io/record=true records the container from its exec (start $try)"
else
	tap_not_ok "shipped drop-ins, default policy: gotune.io/record=true records the container from its exec"
	_gt_run_diag "rec$try"
	tap_diag_file "fallback log" "$GT_STATE_HOST/gotune.log"
fi
sync
echo 3 >/proc/sys/vm/drop_caches
full=$(podman_run replay)
for _ in $(seq 50); do
	grep -q " prestart id=$full done: " "$GT_STATE_HOST/gotune.log" 2>/dev/null && break
	sleep 0.1
done
line=$(grep -F " prestart id=$full done: " "$GT_STATE_HOST/gotune.log" 2>/dev/null)
if gt_witness_complete "$GT_TMP/runs/replay.out" && [[ $line == *"; profile "*" replayed: 1 of 1 files, "* ]] &&
	[[ $line != *"record: "* ]] && ! grep -q " recorder id=$full " "$GT_STATE_HOST/gotune.log"; then
	tap_ok "without the annotation: no recorder; the next cold start replays the profile"
else
	tap_not_ok "without the annotation: no recorder; the next cold start replays the profile"
	tap_diag "prestart line: ${line:-none}"
	tap_diag_file "fallback log" "$GT_STATE_HOST/gotune.log"
fi

# What the lines and `plan` say of gotune's values and the user's (issue
# 24): precreate and prestart name a container by the same (full) id; a
# GOMAXPROCS the user sets is kept and the audit says so, not that it
# "differs"; `plan` on the bundle Podman ran (its StaticDir) credits a
# precreate-tuned value to gotune.
full=$(podman_run user2 --env GOMAXPROCS=2)
for _ in $(seq 50); do
	grep -q " prestart id=$full done: " "$GT_STATE_HOST/gotune.log" 2>/dev/null && break
	sleep 0.1
done
pre=$(grep -F " precreate id=$full " "$GT_STATE_HOST/gotune.log" 2>/dev/null)
line=$(grep -F " prestart id=$full done: " "$GT_STATE_HOST/gotune.log" 2>/dev/null)
if [ -n "$full" ] && [[ $pre == *" precreate id=$full tuned: "* ]] && [ -n "$line" ]; then
	tap_ok "precreate and prestart name the container by the same id (${#full} characters)"
else
	tap_not_ok "precreate and prestart name the container by the same id"
	tap_diag_file "fallback log" "$GT_STATE_HOST/gotune.log"
fi
if [[ $line == *"GOMAXPROCS=2 (the container's own, kept) GOMEMLIMIT=180MiB (as planned)"* ]]; then
	tap_ok "--env GOMAXPROCS=2: the prestart audit says the container's own, kept"
else
	tap_not_ok "--env GOMAXPROCS=2: the prestart audit says the container's own, kept"
	tap_diag "prestart line: ${line:-none}"
fi
gt_expect user2 "--env GOMAXPROCS=2: the witness runs with 2" -- GOMAXPROCS=2 ENV_GOMAXPROCS=2 \
	"MEMLIMIT=$GT_EXPECT_MEMLIMIT"
for c in replay user2; do
	b=$("${FRESH_PODMAN[@]}" inspect --format '{{.StaticDir}}' "$GT_ID-$c" 2>/dev/null)
	"${GT_FRESH[@]}" "$GOTUNE_HOOK" plan --bundle "$b" >"$GT_TMP/runs/plan-$c.txt" 2>&1
done
if grep -q "^GOMAXPROCS  set       1 .*GOMAXPROCS=1 in the env is gotune's own, unchanged" "$GT_TMP/runs/plan-replay.txt" &&
	! grep -q "^warning" "$GT_TMP/runs/plan-replay.txt" &&
	grep -q "^GOMAXPROCS  kept      2              user set GOMAXPROCS=2" "$GT_TMP/runs/plan-user2.txt" &&
	grep -q "^podman update --cpus/--memory restart the container" "$GT_TMP/runs/plan-replay.txt"; then
	tap_ok "plan --bundle \$(podman inspect -f '{{.StaticDir}}' ID): gotune's value credited to gotune, the user's to the user, Podman's command in the advice"
else
	tap_not_ok "plan --bundle on Podman's bundles: gotune's value credited to gotune, the user's to the user"
fi
tap_diag_file "plan --bundle (precreate-tuned)" "$GT_TMP/runs/plan-replay.txt"
tap_diag_file "plan --bundle (--env GOMAXPROCS=2)" "$GT_TMP/runs/plan-user2.txt"
tap_done
