#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/oom.sh - what gotune is for, asserted: a Go job whose live heap
# is 60% of a 200 MiB limit (0.5 CPU) is OOM-killed (exit 137) with the
# default env and completes through gotune-runc; at 15% both complete. The
# job is built by Go 1.19, 1.26 and 1.27 (tests/gobuild; go.mod says each
# one's own version): no Go sets a memory limit by itself.
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
POLICY=$(gt_policy "$GT_TMP/policy.json" '{}')
RUNC=$(command -v runc)

# job NAME GO LIVE_MIB default|gotune
job() {
	local b=$GT_TMP/b-$1
	gt_make_bundle "$b" "$ROOTFS"
	jq --arg bin "/gcheap-$2" --arg live "$3" '.process.args = [$bin, "-live", $live, "-churn", "1500"]' \
		"$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	if [ "$4" = default ]; then
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

# No Go sets a memory limit by itself: every version needs GOMEMLIMIT.
for gv in go119 go126 go127; do
	if ! gt_gobuild "$gv" "$GT_SRCDIR/tests/bench/workloads/gcheap" "$GOTUNE_BUILDDIR/gcheap-$gv"; then
		for d in "15% live heap: both complete" "60% live heap: OOM-killed by default, completes with gotune"; do
			tap_skip "$gv: $d" "$GT_GOBUILD_WHY"
		done
		continue
	fi
	cp "$GOTUNE_BUILDDIR/gcheap-$gv" "$ROOTFS/gcheap-$gv"
	job "$gv-low-default" "$gv" 30 default
	expect_rc "$gv-low-default" 0 "$gv: 15% live heap, default env: completes"
	job "$gv-low-gotune" "$gv" 30 gotune
	expect_rc "$gv-low-gotune" 0 "$gv: 15% live heap, gotune: completes"
	job "$gv-high-default" "$gv" 120 default
	expect_rc "$gv-high-default" 137 "$gv: 60% live heap, default env: OOM-killed (the problem)"
	job "$gv-high-gotune" "$gv" 120 gotune
	expect_rc "$gv-high-gotune" 0 "$gv: 60% live heap, gotune (GOMEMLIMIT=180MiB): completes"
	if grep -q '^done live=120MiB' "$GT_TMP/runs/$gv-high-gotune.out"; then
		tap_ok "$gv: and the job printed its result"
	else
		tap_not_ok "$gv: and the job printed its result"
		_gt_run_diag "$gv-high-gotune"
	fi
done
tap_done
