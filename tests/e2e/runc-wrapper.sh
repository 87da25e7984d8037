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
# containerd's shim passes it.

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
# directory): its detached reader runs while runc sets the container up.
d="gotune-runc with prewarm.files in the policy: the listed file is resident after the run"
if gt_need_hook "$d" && [ -w /proc/sys/vm/drop_caches ] && command -v fincore >/dev/null; then
	mkdir -p "$WS_ROOTFS/data"
	head -c $((4 << 20)) /dev/urandom >"$WS_ROOTFS/data/model.bin"
	pw=$(gt_policy "$GT_TMP/pw.json" "{\"runtime\": \"$WS_RUNTIME\", \"log_file\": \"$GT_TMP/pw.jsonl\",
		\"profile\": {\"dir\": \"$GT_TMP/no-profiles\"}, \"prewarm\": {\"files\": [\"/data/model.bin\"]}}")
	b=$(ws_bundle warm)
	sync
	echo 3 >/proc/sys/vm/drop_caches
	ws_run warm "$b" env GOTUNE_POLICY="$pw" "$(gt_runc_link)"
	pct=$(gt_wait_resident "$WS_ROOTFS/data/model.bin")
	if [ "$pct" -ge 99 ] && gt_wait_jq "$GT_TMP/pw.jsonl" \
		'any(.[]; .entry == "runtime-prewarm" and (.detail | test("1 files")))'; then
		tap_ok "$d ($pct%), and the reader logged it"
	else
		tap_not_ok "$d ($pct%)"
		tap_diag_file pw.jsonl "$GT_TMP/pw.jsonl"
	fi
	rm -f "$WS_ROOTFS/data/model.bin"
elif gt_need_hook "$d"; then
	tap_skip "$d" "cannot drop the page cache or no fincore here"
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
