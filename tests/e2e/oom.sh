#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/oom.sh - what gotune is for, asserted: a Go job whose live heap
# is 60% of a 200 MiB limit (0.5 CPU) is OOM-killed (exit 137) with the
# default env and completes through gotune-runc; at 15% both complete.
# (tests/bench/memlimit.sh sweeps this with 10 runs a size.)
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/oom.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc
gt_need_hook "OOM scenario" || tap_done

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
gt_gobuild go119 "$GT_SRCDIR/tests/bench/workloads/gcheap" "$GOTUNE_BUILDDIR/gcheap-go119" ||
	bail_out "cannot build the gcheap workload: ${GT_GOBUILD_WHY:-}"
cp "$GOTUNE_BUILDDIR/gcheap-go119" "$ROOTFS/gcheap"
POLICY=$(gt_policy "$GT_TMP/policy.json" '{}')
RUNC=$(command -v runc)

# job NAME LIVE_MIB default|gotune
job() {
	local b=$GT_TMP/b-$1
	gt_make_bundle "$b" "$ROOTFS"
	jq --arg live "$2" '.process.args = ["/gcheap", "-live", $live, "-churn", "1500"]' "$b/config.json" >"$b/c.json" &&
		mv "$b/c.json" "$b/config.json"
	if [ "$3" = default ]; then
		gt_run "$1" "$RUNC" --root "$GT_TMP/runc-state" run --bundle "$b" "$GT_ID-$1"
	else
		gt_run "$1" "$GOTUNE_HOOK" runtime --policy "$POLICY" --runtime "$RUNC" -- --root "$GT_TMP/runc-state" \
			run --bundle "$b" "$GT_ID-$1"
	fi
}

expect_rc() { # NAME RC DESC
	local got
	got=$(cat "$GT_TMP/runs/$1.rc")
	if [ "$got" = "$2" ]; then
		tap_ok "$3"
	else
		tap_not_ok "$3 (exit $got, wanted $2)"
		_gt_run_diag "$1"
	fi
}

job low-default 30 default
expect_rc low-default 0 "15% live heap, default env: completes"
job low-gotune 30 gotune
expect_rc low-gotune 0 "15% live heap, gotune: completes"
job high-default 120 default
expect_rc high-default 137 "60% live heap, default env: OOM-killed (the problem)"
job high-gotune 120 gotune
expect_rc high-gotune 0 "60% live heap, gotune (GOMEMLIMIT=180MiB): completes"
if grep -q '^done live=120MiB' "$GT_TMP/runs/high-gotune.out"; then
	tap_ok "and the job printed its result"
else
	tap_not_ok "and the job printed its result"
	_gt_run_diag high-gotune
fi
tap_done
