#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/runc-wrapper.sh - gotune-hook as a runc wrapper, driving real runc.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/runc-wrapper.sh
#
# A container limited to 0.5 CPU and 200 MiB runs the witness (tests/witness);
# the Go runtime inside reports what it decided. Checked (gt_wrapper_suite in
# lib.sh): runc alone (the defaults); `gotune-hook runtime --policy P
# --runtime runc -- ...`; the gotune-runc symlink with GOTUNE_POLICY; the
# create+start path; a spec that already sets GOMAXPROCS; the disable
# annotation; a corrupt policy (fail open); a spec with no limits; pass-through
# of other subcommands. runc gets `--root DIR` before the subcommand, as
# containerd's shim passes it. Then: prewarm from the wrapper, and one bundle
# run three times with changed limits and a user's own GOMEMLIMIT.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc

WS_LABEL=runc
WS_RUNTIME=$(command -v runc)
WS_PREFIX=()
WS_GLOBAL=(--root "$GT_TMP/runc-state")
WS_ROOTFS=$GT_TMP/rootfs
mkdir -p "$GT_TMP/runc-state"
gt_make_rootfs "$WS_ROOTFS"

gt_wrapper_suite

# The wrapper warms what the policy lists (no prestart hook, no profile
# directory): its detached reader runs while runc sets the container up. The
# file is larger than what a detached worker queues at once (8 MiB): the
# reader reads the rest in order, and says how much.
d="gotune-runc with prewarm.files in the policy: the listed file is resident after the run"
if gt_need_hook "$d" && [ -w /proc/sys/vm/drop_caches ] && command -v fincore >/dev/null; then
	mkdir -p "$WS_ROOTFS/data"
	head -c $((24 << 20)) /dev/urandom >"$WS_ROOTFS/data/model.bin"
	pw=$(gt_policy "$GT_TMP/pw.json" "{\"runtime\": \"$WS_RUNTIME\", \"log_file\": \"$GT_TMP/pw.jsonl\",
		\"profile\": {\"dir\": \"$GT_TMP/no-profiles\"}, \"prewarm\": {\"files\": [\"/data/model.bin\"]}}")
	b=$(ws_bundle warm)
	sync
	echo 3 >/proc/sys/vm/drop_caches
	ws_run warm "$b" env GOTUNE_POLICY="$pw" "$(gt_runc_link)"
	pct=$(gt_wait_resident "$WS_ROOTFS/data/model.bin")
	if [ "$pct" -ge 99 ] && gt_wait_jq "$GT_TMP/pw.jsonl" \
		'any(.[]; .entry == "runtime-prewarm" and (.detail | test("prewarm willneed: 1 files .*MiB of it read in order")))'; then
		tap_ok "$d ($pct%), and the reader logged it, with what it read in order"
	else
		tap_not_ok "$d ($pct%)"
		tap_diag_file pw.jsonl "$GT_TMP/pw.jsonl"
	fi
	# workers.max_readers: a reader over the node's limit is skipped, and
	# says so (0 here: the limit is always reached).
	pw0=$(gt_policy "$GT_TMP/pw0.json" "{\"runtime\": \"$WS_RUNTIME\", \"log_file\": \"$GT_TMP/pw0.jsonl\",
		\"profile\": {\"dir\": \"$GT_TMP/no-profiles\"}, \"prewarm\": {\"files\": [\"/data/model.bin\"]},
		\"workers\": {\"max_readers\": 0}}")
	sync
	echo 3 >/proc/sys/vm/drop_caches
	ws_run warm0 "$b" env GOTUNE_POLICY="$pw0" "$(gt_runc_link)"
	if gt_wait_jq "$GT_TMP/pw0.jsonl" 'any(.[]; .entry == "runtime-prewarm" and .outcome == "skipped"
		and (.detail | test("no reader may run .*workers.max_readers.*not warmed")))' &&
		[ "$(gt_resident_pct "$WS_ROOTFS/data/model.bin")" -lt 50 ] && [ "$(cat "$GT_TMP/runs/warm0.rc")" = 0 ]; then
		tap_ok "workers.max_readers reached: the reader is skipped, one line says so, the container runs"
	else
		tap_not_ok "workers.max_readers reached: the reader is skipped, one line says so, the container runs"
		tap_diag_file pw0.jsonl "$GT_TMP/pw0.jsonl"
	fi
	rm -f "$WS_ROOTFS/data/model.bin"
elif gt_need_hook "$d"; then
	tap_skip "$d" "cannot drop the page cache or no fincore here"
fi

# One bundle run again and again through gotune-runc, as a user reruns a
# bundle by hand: what gotune wrote follows the limits, what the user wrote
# stays. Asserted on what the Go runtime inside decided each time.
d="gotune-runc, a bundle run again after its limits changed: recomputed"
if gt_need_hook "$d"; then
	rp=$(gt_policy "$GT_TMP/reuse.json" "{\"runtime\": \"$WS_RUNTIME\"}")
	b=$(ws_bundle reuse)
	mapfile -t tuned < <(gt_checks_tuned)
	ws_run reuse1 "$b" env GOTUNE_POLICY="$rp" "$(gt_runc_link)"
	gt_expect reuse1 "reused bundle, run 1 (0.5 CPU, 200 MiB): tuned" "$b/config.json" -- "${tuned[@]}"
	if jq -e '."gotune.io/env" == {GOMAXPROCS: {wrote: "1"}, GOMEMLIMIT: {wrote: "180MiB"}}' "$b/config.json" >/dev/null; then
		tap_ok "run 1 records what gotune wrote in config.json's gotune.io/env, and runc runs it"
	else
		tap_not_ok "run 1 records what gotune wrote in config.json's gotune.io/env"
		tap_diag "$(jq -c '."gotune.io/env"' "$b/config.json" 2>&1)"
	fi
	# The user gives the bundle 2 CPUs and 400 MiB (jq rewrites the file,
	# as an editor would).
	jq '.linux.resources.cpu.quota = 200000 | .linux.resources.memory.limit = 419430400' "$b/config.json" >"$b/c.json" &&
		mv "$b/c.json" "$b/config.json"
	ws_rt delete -f "$GT_ID-reuse1" >/dev/null 2>&1
	ws_run reuse2 "$b" env GOTUNE_POLICY="$rp" "$(gt_runc_link)"
	# 2 CPUs is not below the host's CPUs here (GOMAXPROCS is left to Go)
	# when the host has 2; on a bigger host it is set to 2.
	if [ "$GT_HOST_CPUS" -le 2 ]; then want_p=(GOMAXPROCS="$GT_HOST_CPUS" ENV_GOMAXPROCS=); else want_p=(GOMAXPROCS=2 ENV_GOMAXPROCS=2); fi
	gt_expect reuse2 "reused bundle, run 2 (2 CPUs, 400 MiB): GOMAXPROCS and GOMEMLIMIT follow, not the old 1 / 180MiB" \
		"$b/config.json" -- "${want_p[@]}" MEMLIMIT=377487360 ENV_GOMEMLIMIT=360MiB
	# The user sets GOMEMLIMIT themselves and goes back to 0.5 CPU.
	jq '.linux.resources.cpu.quota = 50000 | .process.env = [.process.env[] | select(startswith("GOMEMLIMIT=") | not)] + ["GOMEMLIMIT=100MiB"]' \
		"$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	ws_rt delete -f "$GT_ID-reuse2" >/dev/null 2>&1
	ws_run reuse3 "$b" env GOTUNE_POLICY="$rp" "$(gt_runc_link)"
	gt_expect reuse3 "reused bundle, run 3: the user's GOMEMLIMIT=100MiB kept, GOMAXPROCS=1 from gotune again" \
		"$b/config.json" -- GOMAXPROCS=1 ENV_GOMAXPROCS=1 MEMLIMIT=104857600 ENV_GOMEMLIMIT=100MiB
fi

# runc applies the limits here (cgroup v1): a shell in the same spec reads its
# own cgroup files. Shows the test container is really a limited one.
b=$(ws_bundle limits)
jq '.process.args = ["/bin/sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max"]' \
	"$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
ws_run limits "$b" "$WS_RUNTIME"
d="runc alone: the container's cgroup has the 200 MiB / 0.5 CPU limits"
if grep -q "^$GT_MEM_LIMIT\$" "$GT_TMP/runs/limits.out" && grep -q "^$GT_CPU_QUOTA\\b" "$GT_TMP/runs/limits.out"; then
	tap_ok "$d"
else
	tap_skip "$d" "limits not visible inside the container: $(tr '\n' ' ' <"$GT_TMP/runs/limits.out")"
fi

tap_done
