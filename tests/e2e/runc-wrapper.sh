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
