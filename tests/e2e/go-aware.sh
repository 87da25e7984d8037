#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/go-aware.sh - decisions made from the real binary in the image,
# through the runc wrapper, with real Go 1.19, 1.26 and 1.27 binaries
# (tests/gobuild names each toolchain and go.mod line):
#   - plan names the Go version and the build setting each decision rests
#     on: containermaxprocs from the default since go1.25, from the binary's
#     DefaultGODEBUG (go.mod go 1.19, //go:debug), from the container's or
#     gotune's GODEBUG;
#   - a Go 1.26 binary built with a GOEXPERIMENT (version
#     "go1.26.8-X:nogreenteagc"; older Go wrote " X:") is still known as
#     Go 1.26;
#   - gotune.io/godebug=containermaxprocs=0 on a Go 1.26 image with tracking
#     deferred: GOMAXPROCS is set, since Go will not track;
#   - Go's own tracking stays alive when gotune defers: the Go 1.26 witness
#     follows a cpuset narrowed under it (runc update), a Go 1.19 one cannot;
#   - a copy of the Go 1.19 witness patched to say go1.18.9 gets no
#     GOMEMLIMIT; a shell entrypoint that starts Go gets both; go_only
#     leaves the shell alone; a stripped binary is still read;
#   - the prestart audit uses the same facts.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/go-aware.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc python3
gt_need_hook "go-aware decisions" || tap_done

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
gt_matrix_rootfs "$ROOTFS"
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
patch_version "$ROOTFS/witness" "$ROOTFS/witness-118" go1.18.9 || bail_out "cannot patch the witness"
printf '#!/bin/sh\nexec /witness\n' >"$ROOTFS/start.sh"
chmod 755 "$ROOTFS/start.sh"
POLICY=$(gt_policy "$GT_TMP/policy.json" '{}')
DEFER=$(gt_policy "$GT_TMP/defer.json" "{\"gomaxprocs\": {\"tracking\": \"defer\"}, \"log_file\": \"$GT_TMP/log.jsonl\"}")
GO_ONLY=$(gt_policy "$GT_TMP/go-only.json" '{"go_only": true}')
RUNC=$(command -v runc)

# bundle NAME ENTRY [ANNOTATION...]: the witness bundle with process.args =
# [ENTRY]; prints its dir.
bundle() {
	local b=$GT_TMP/b-$1 e=$2 a
	shift 2
	local -a anns=()
	for a in "$@"; do anns+=(--annotation "$a"); done
	gt_make_bundle "$b" "$ROOTFS" ${anns[@]+"${anns[@]}"} >&2
	jq --arg e "$e" '.process.args = [$e]' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	printf '%s\n' "$b"
}

# run NAME ENTRY POLICY [ANNOTATION...]: plan it, then run it through the wrapper.
run() {
	local name=$1 entry=$2 policy=$3 b
	shift 3
	b=$(bundle "$name" "$entry" "$@")
	"$GOTUNE_HOOK" plan --policy "$policy" --bundle "$b" >"$GT_TMP/runs/$name.plan" 2>&1
	"$GOTUNE_HOOK" plan --json --policy "$policy" --bundle "$b" >"$GT_TMP/runs/$name.json" 2>&1
	gt_run "$name" "$GOTUNE_HOOK" runtime --policy "$policy" --runtime "$RUNC" -- --root "$GT_TMP/runc-state" \
		run --bundle "$b" "$GT_ID-$name"
}

# expect_json NAME DESC JQ-FILTER: the plan --json of run NAME satisfies it.
expect_json() {
	if jq -e "$3" "$GT_TMP/runs/$1.json" >/dev/null 2>&1; then
		tap_ok "$2"
	else
		tap_not_ok "$2"
		tap_diag "jq filter: $3"
		tap_diag_file "plan --json" "$GT_TMP/runs/$1.json"
	fi
}

# have VARIANT DESC: true when that witness was built here, else a SKIP.
have() {
	[ -z "${GT_MATRIX_WHY[$1]+set}" ] && return 0
	tap_skip "$2" "${GT_MATRIX_WHY[$1]}"
	return 1
}

# --- which Go and which setting decided, as plan says it
d="go1.19 witness: both set; plan: GOMAXPROCS fixed at start, reads GOMEMLIMIT"
run go119 /witness-go119 "$POLICY"
gt_expect go119 "$d" -- GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT" GOVERSION~^go1\\.19
expect_json go119 "plan --json names go1.19's basis for each variable" '
	(.vars.GOMAXPROCS.basis | test("^go1\\.19\\.[0-9]+: GOMAXPROCS fixed at start"))
	and (.vars.GOMEMLIMIT.basis | test("^go1\\.19\\.[0-9]+: reads GOMEMLIMIT"))'

d="go1.26 witness (go.mod go 1.26), tracking deferred: no GOMAXPROCS, Go picks 2 itself"
if have go126 "$d"; then
	run go126-defer /witness-go126 "$DEFER"
	gt_expect go126-defer "$d" -- ENV_GOMAXPROCS= "GOMAXPROCS=$([ "$GT_HOST_CPUS" -gt 2 ] && echo 2 || echo "$GT_HOST_CPUS")" \
		ENV_GOMEMLIMIT=180MiB "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
	expect_json go126-defer "plan --json: skipped because Go tracks, basis the go1.25 default" '
		.vars.GOMAXPROCS.action == "skipped"
		and (.vars.GOMAXPROCS.reason | test("Go picks 2 itself and tracks the limit \\(tracking: defer\\)"))
		and (.vars.GOMAXPROCS.basis | test("^go1\\.26\\.[0-9]+: containermaxprocs=1 from the default since go1.25$"))'
	if gt_wait_jq "$GT_TMP/log.jsonl" '
		map(select(.entry == "runtime" and (.id // "" | endswith("-go126-defer"))))
		| any(.vars.GOMAXPROCS.basis // "" | test("^go1\\.26\\.[0-9]+: containermaxprocs=1 from the default since go1.25$"))'; then
		tap_ok "the wrapper's log_file line carries the basis too"
	else
		tap_not_ok "the wrapper's log_file line carries the basis too"
		tap_diag_file log "$GT_TMP/log.jsonl"
	fi
	if grep -q '^ *go: go1\.26\.[0-9]*: containermaxprocs=1 from the default since go1.25$' "$GT_TMP/runs/go126-defer.plan"; then
		tap_ok "plan's table says which Go and setting decided"
	else
		tap_not_ok "plan's table says which Go and setting decided"
		tap_diag_file plan "$GT_TMP/runs/go126-defer.plan"
	fi
fi

d="go1.26 witness, default policy (below-floor): 0.5 CPU is below Go's floor of 2: GOMAXPROCS=1"
if have go126 "$d"; then
	run go126 /witness-go126 "$POLICY"
	gt_expect go126 "$d" -- ENV_GOMAXPROCS=1 GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
	expect_json go126 "plan --json: set, and says what Go would have picked" '
		.vars.GOMAXPROCS.action == "set"
		and (.vars.GOMAXPROCS.reason | test("Go would pick 2 \\(tracking: below-floor"))'
fi

for v in go126-mod119 go126-godebug; do
	d="$v witness, tracking deferred: Go will not track, so GOMAXPROCS=1; basis DefaultGODEBUG"
	if have "$v" "$d"; then
		run "$v" "/witness-$v" "$DEFER"
		gt_expect "$v" "$d" -- ENV_GOMAXPROCS=1 GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
		expect_json "$v" "$v: plan --json basis is containermaxprocs=0 from the binary's DefaultGODEBUG" '
			.vars.GOMAXPROCS.basis | test("^go1\\.26\\.[0-9]+: containermaxprocs=0 from the binary.s DefaultGODEBUG$")'
	fi
done

d="go1.27 witness, tracking deferred: no GOMAXPROCS; basis the go1.25 default"
if have go127 "$d"; then
	run go127-defer /witness-go127 "$DEFER"
	gt_expect go127-defer "$d" -- ENV_GOMAXPROCS= ENV_GOMEMLIMIT=180MiB GOVERSION~^go1\\.27
	expect_json go127-defer "go1.27: plan --json basis" '
		.vars.GOMAXPROCS.basis | test("^go1\\.27\\.[0-9]+: containermaxprocs=1 from the default since go1.25$")'
fi

# --- a version string with a suffix: any GOEXPERIMENT build
d="go1.26 built with GOEXPERIMENT=nogreenteagc (version 'go1.26.N-X:nogreenteagc'): still Go 1.26, tracking deferred"
if have go126 "$d"; then
	if GOEXPERIMENT=nogreenteagc gt_gobuild go126 "$GT_SRCDIR/tests/witness" "$GOTUNE_BUILDDIR/witness-go126-xexp"; then
		cp "$GOTUNE_BUILDDIR/witness-go126-xexp" "$ROOTFS/witness-xexp"
		run xexp /witness-xexp "$DEFER"
		gt_expect xexp "$d" -- ENV_GOMAXPROCS= "GOVERSION~^go1\\.26\\.[0-9]+[- ]X:nogreenteagc$"
		expect_json xexp "plan --json reads the suffixed version as go1.26" '
			(.image.go_version | test("^go1\\.26\\.[0-9]+[- ]X:nogreenteagc$"))
			and (.vars.GOMAXPROCS.basis | test("containermaxprocs=1 from the default since go1.25"))'
	else
		tap_skip "$d" "${GT_GOBUILD_WHY:-cannot build}"
	fi
fi

# --- a GODEBUG gotune adds that turns tracking off
d="go1.26, tracking deferred, annotation gotune.io/godebug=containermaxprocs=0: GOMAXPROCS=1 (Go will not track)"
if have go126 "$d"; then
	run godebug /witness-go126 "$DEFER" gotune.io/godebug=containermaxprocs=0
	gt_expect godebug "$d" -- ENV_GOMAXPROCS=1 GOMAXPROCS=1
	expect_json godebug "plan --json: GODEBUG set first, GOMAXPROCS decided against it" '
		.vars.GODEBUG.value == "containermaxprocs=0"
		and (.vars.GOMAXPROCS.basis | test("containermaxprocs=0 from the GODEBUG gotune adds"))'
fi

# --- Go's own tracking, alive when gotune defers: the cpuset narrowed to
# one CPU under a running container.
watch_case() { # NAME ENTRY POLICY [ANNOTATION...]
	local name=$1 entry=$2 policy=$3 b id=$GT_ID-$1 pid
	shift 3
	b=$(bundle "$name" "$entry" "$@")
	jq '.process.args += ["watch", "4"]' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	gt_defer "$RUNC" --root "$GT_TMP/runc-state" delete -f "$id"
	gt_run "$name" "$GOTUNE_HOOK" runtime --policy "$policy" --runtime "$RUNC" -- --root "$GT_TMP/runc-state" \
		run --bundle "$b" "$id" &
	pid=$!
	for _ in $(seq 40); do
		[ "$("$RUNC" --root "$GT_TMP/runc-state" state "$id" 2>/dev/null | jq -r .status)" = running ] && break
		sleep 0.05
	done
	sleep 0.5
	"$RUNC" --root "$GT_TMP/runc-state" update --cpuset-cpus 0 "$id" >>"$GT_TMP/runs/$name.update" 2>&1
	wait "$pid"
}
d="go1.26 witness, tracking deferred: follows a cpuset narrowed to 1 CPU while it runs (2 -> 1)"
if [ "$GT_HOST_CPUS" -lt 2 ]; then
	tap_skip "$d" "needs 2 CPUs"
elif have go126 "$d"; then
	watch_case watch126 /witness-go126 "$DEFER"
	if grep -q '^WATCH GOMAXPROCS=2 ' "$GT_TMP/runs/watch126.out" &&
		grep -q '^WATCH GOMAXPROCS=1 ' "$GT_TMP/runs/watch126.out"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file "runc update" "$GT_TMP/runs/watch126.update"
		_gt_run_diag watch126
	fi
	d="go1.19 witness, same cpuset change: stays at its start value (no tracking before go1.25)"
	watch_case watch119 /witness-go119 "$DEFER" gotune.io/gomaxprocs=off
	if grep -q '^WATCH GOMAXPROCS=2 ' "$GT_TMP/runs/watch119.out" &&
		! grep -q '^WATCH GOMAXPROCS=1 ' "$GT_TMP/runs/watch119.out"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		_gt_run_diag watch119
	fi
fi

# --- older Go, scripts, go_only, stripped binaries
run go118 /witness-118 "$POLICY"
gt_expect go118 "binary says go1.18.9: GOMAXPROCS set, no GOMEMLIMIT" -- \
	GOMAXPROCS=1 "ENV_GOMEMLIMIT=" "MEMLIMIT=$GT_UNSET_MEMLIMIT"
run shell /start.sh "$POLICY"
gt_expect shell "a shell entrypoint that starts Go: both set" -- GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
run shellonly /start.sh "$GO_ONLY"
gt_expect shellonly "go_only policy: the shell entrypoint is left alone" -- \
	"GOMAXPROCS=$GT_HOST_CPUS" "MEMLIMIT=$GT_UNSET_MEMLIMIT"
if grep -q 'go_only policy: the entrypoint is not a Go binary (/start.sh' "$GT_TMP/runs/shellonly.plan"; then
	tap_ok "go_only: plan says the entrypoint is not Go"
else
	tap_not_ok "go_only: plan says the entrypoint is not Go"
	tap_diag_file plan "$GT_TMP/runs/shellonly.plan"
fi
run goonly /witness "$GO_ONLY"
gt_expect goonly "go_only policy: a Go entrypoint is tuned" -- GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
# A stripped binary (-s -w: no symbol tables) still has its build info.
gt_gobuild go119 "$GT_SRCDIR/tests/witness" "$GOTUNE_BUILDDIR/witness-go119-stripped" -ldflags='-s -w' ||
	bail_out "cannot build a stripped witness: ${GT_GOBUILD_WHY:-}"
cp "$GOTUNE_BUILDDIR/witness-go119-stripped" "$ROOTFS/witness-stripped"
run stripped /witness-stripped "$POLICY"
gt_expect stripped "stripped go1.19 binary: both set" -- GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
if grep -q '^image: .*/witness-stripped: Go go1' "$GT_TMP/runs/stripped.plan"; then
	tap_ok "plan reads the stripped binary's Go version"
else
	tap_not_ok "plan reads the stripped binary's Go version"
	tap_diag_file plan "$GT_TMP/runs/stripped.plan"
fi

# --- prestart's audit uses the same image facts: a go1.26 entrypoint
# without GOMAXPROCS under tracking defer is "not needed", not "MISSING".
d="prestart audit of the go1.26 container, tracking deferred: GOMAXPROCS not needed, GOMEMLIMIT as planned"
if have go126 "$d"; then
	b=$GT_TMP/b-go126-defer
	printf '{"ociVersion":"1.0.2","id":"a126","status":"creating","pid":1,"bundle":"%s"}' "$b" |
		"$GOTUNE_HOOK" prestart --policy "$DEFER" 2>"$GT_TMP/runs/audit.err"
	if grep -q 'GOMAXPROCS=- (not needed) GOMEMLIMIT=180MiB (as planned)' "$GT_TMP/runs/audit.err"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file stderr "$GT_TMP/runs/audit.err"
	fi
fi
tap_done
