#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/go-aware.sh - decisions made from the real binary in the image,
# through the runc wrapper: the Go 1.19 witness gets both variables; a copy
# whose build info says go1.25.3 gets GOMEMLIMIT but no GOMAXPROCS (Go 1.25
# tracks the CPU limit itself); one that says go1.18.9 gets GOMAXPROCS but
# no GOMEMLIMIT; a shell entrypoint that runs the witness gets both; with
# the go_only policy the shell is left alone. The version is patched in
# place (same length), so each copy still runs.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/go-aware.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc python3
gt_need_hook "go-aware decisions" || tap_done

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
patch_version() { # SRC DST VERSION (8 bytes, like go1.19.8)
	python3 - "$1" "$2" "$3" <<'PY'
import sys
src, dst, ver = sys.argv[1], sys.argv[2], sys.argv[3].encode()
d = bytearray(open(src, "rb").read())
i = d.find(b"\xff Go buildinf:")
assert i >= 0 and d[i + 15] & 2, "no inline build info"
assert d[i + 32] == len(ver), "version length differs"
d[i + 33:i + 33 + len(ver)] = ver
open(dst, "wb").write(d)
PY
	chmod 755 "$2"
}
patch_version "$ROOTFS/witness" "$ROOTFS/witness-125" go1.25.3 || bail_out "cannot patch the witness"
patch_version "$ROOTFS/witness" "$ROOTFS/witness-118" go1.18.9 || bail_out "cannot patch the witness"
printf '#!/bin/sh\nexec /witness\n' >"$ROOTFS/start.sh"
chmod 755 "$ROOTFS/start.sh"
POLICY=$(gt_policy "$GT_TMP/policy.json" '{}')
GO_ONLY=$(gt_policy "$GT_TMP/go-only.json" '{"go_only": true}')
RUNC=$(command -v runc)

# run NAME ENTRY POLICY: the witness bundle with process.args = [ENTRY]
run() {
	local b=$GT_TMP/b-$1
	gt_make_bundle "$b" "$ROOTFS"
	jq --arg e "$2" '.process.args = [$e]' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	gt_run "$1" "$GOTUNE_HOOK" runtime --policy "$3" --runtime "$RUNC" -- --root "$GT_TMP/runc-state" \
		run --bundle "$b" "$GT_ID-$1"
	"$GOTUNE_HOOK" plan --policy "$3" --bundle "$b" >"$GT_TMP/runs/$1.plan" 2>&1
}

# A stripped binary (-s -w: no symbol tables) still has its build info.
gt_gobuild go119 "$GT_SRCDIR/tests/witness" "$GOTUNE_BUILDDIR/witness-go119-stripped" -ldflags='-s -w' ||
	bail_out "cannot build a stripped witness: ${GT_GOBUILD_WHY:-}"
cp "$GOTUNE_BUILDDIR/witness-go119-stripped" "$ROOTFS/witness-stripped"

run go119 /witness "$POLICY"
gt_expect go119 "go1.19 witness: GOMAXPROCS=1 and GOMEMLIMIT set" -- GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
run go125 /witness-125 "$POLICY"
gt_expect go125 "binary says go1.25.3: GOMEMLIMIT set, GOMAXPROCS left to the runtime" -- \
	"ENV_GOMAXPROCS=" "ENV_GOMEMLIMIT=180MiB" "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
if grep -q 'go1.25.3 tracks the CPU limit itself' "$GT_TMP/runs/go125.plan"; then
	tap_ok "plan names the Go version and the reason"
else
	tap_not_ok "plan names the Go version and the reason"
	tap_diag_file plan "$GT_TMP/runs/go125.plan"
fi
run go118 /witness-118 "$POLICY"
gt_expect go118 "binary says go1.18.9: GOMAXPROCS set, no GOMEMLIMIT" -- \
	GOMAXPROCS=1 "ENV_GOMEMLIMIT=" "MEMLIMIT=$GT_UNSET_MEMLIMIT"
run shell /start.sh "$POLICY"
gt_expect shell "a shell entrypoint that starts Go: both set" -- GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
run shellonly /start.sh "$GO_ONLY"
gt_expect shellonly "go_only policy: the shell entrypoint is left alone" -- \
	"GOMAXPROCS=$GT_HOST_CPUS" "MEMLIMIT=$GT_UNSET_MEMLIMIT"
run goonly /witness "$GO_ONLY"
gt_expect goonly "go_only policy: a Go entrypoint is tuned" -- GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
run stripped /witness-stripped "$POLICY"
gt_expect stripped "stripped go1.19 binary: both set" -- GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
if grep -q '^image: .*/witness-stripped: Go go1' "$GT_TMP/runs/stripped.plan"; then
	tap_ok "plan reads the stripped binary's Go version"
else
	tap_not_ok "plan reads the stripped binary's Go version"
	tap_diag_file plan "$GT_TMP/runs/stripped.plan"
fi
# prestart's audit uses the same image facts: a go1.25 entrypoint without
# GOMAXPROCS is "not needed", not "MISSING".
b=$GT_TMP/b-go125
printf '{"ociVersion":"1.0.2","id":"a125","status":"creating","pid":1,"bundle":"%s"}' "$b" |
	"$GOTUNE_HOOK" prestart --policy "$POLICY" 2>"$GT_TMP/runs/audit.err"
if grep -q 'GOMAXPROCS=- (not needed) GOMEMLIMIT=180MiB (as planned)' "$GT_TMP/runs/audit.err"; then
	tap_ok "prestart audit of the go1.25 container: GOMAXPROCS not needed, GOMEMLIMIT as planned"
else
	tap_not_ok "prestart audit of the go1.25 container: GOMAXPROCS not needed, GOMEMLIMIT as planned"
	tap_diag_file stderr "$GT_TMP/runs/audit.err"
fi
tap_done
