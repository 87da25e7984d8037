#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/containerd-wrapper.sh - gotune-hook as containerd's runc binary.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/containerd-wrapper.sh
#
# Starts a private containerd 1.6 (its own config: root, state and sockets
# under a temp dir; the CRI plugin off), then runs the witness with
# `ctr run --rm --runc-binary WRAPPER --cpus 0.5 --memory-limit 209715200
# --rootfs DIR ID /witness`. containerd's runc shim calls the wrapper as it
# calls runc: `WRAPPER --root R --log L --log-format json create --bundle B
# --pid-file P ID`, then start, state, delete, ...
#
# WRAPPER is either a generated shell script that execs `gotune-hook runtime
# --policy P --runtime RUNC -- "$@"`, or the gotune-runc symlink, with the
# policy named by GOTUNE_POLICY in containerd's environment (the shim and the
# runtime inherit it). Checked: ctr alone (the defaults); both wrappers
# (tuned); --env GOMAXPROCS=3 kept; --annotation gotune.io/disable=true;
# a corrupt policy (fail open); --annotation gotune.io/record=true recorded
# by the wrapper without a hook.
# containerd is stopped, and every container of this run removed, at exit.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd containerd ctr containerd-shim-runc-v2 runc

RUNC=$(command -v runc)
ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
POLICY=$(gt_policy "$GT_TMP/policy.json" '{}')
POLICY_RT=$(gt_policy "$GT_TMP/policy-runtime.json" "{\"runtime\": \"$RUNC\"}")
BAD_POLICY=$(gt_policy "$GT_TMP/policy-corrupt.json" '{ "strict": ')

mapfile -t TUNED < <(gt_checks_tuned)
mapfile -t DEFAULT < <(gt_checks_default)
mapfile -t KEEP3 < <(gt_checks_keep3)

# --- a private containerd (GOTUNE_POLICY reaches the wrapper through
# containerd -> shim -> runtime)
gt_containerd_start GOTUNE_POLICY="$POLICY_RT"

# ctr_run NAME [ctr run options]: the witness (or $ENTRY) with 0.5 CPU
# and 200 MiB.
ctr_run() {
	local name=$1 id=$GT_ID-$1
	shift
	gt_run "$name" "${GT_CTR[@]}" run --rm --cpus 0.5 --memory-limit "$GT_MEM_LIMIT" \
		"$@" --rootfs "$ROOTFS" "$id" "${ENTRY:-/witness}" ${ENTRY_ARGS[@]+"${ENTRY_ARGS[@]}"}
	# On a failure the task may linger: remove it now, not only at exit.
	if [ "$(cat "$GT_TMP/runs/$name.rc")" != 0 ]; then
		gt_ctr_remove "$id"
	fi
}

# --- 1. baseline: ctr with plain runc
ctr_run baseline --runc-binary "$RUNC"
if [ "$(cat "$GT_TMP/runs/baseline.rc")" != 0 ]; then
	tap_diag_file "containerd log" "$GT_CTRD_DIR/containerd.log" 30
	skip_all "ctr cannot run a container here: $(head -c 300 "$GT_TMP/runs/baseline.err" | tr '\n' ' ')"
fi
gt_expect baseline "ctr + runc alone: Go defaults (GOMAXPROCS=$GT_HOST_CPUS, no memory limit)" -- \
	"${DEFAULT[@]}"

if [ "$GT_HAVE_HOOK" -eq 1 ]; then
	mkdir -p "$GT_TMP/bin"
	# wrapper-script POLICY: a runc-compatible script around gotune-hook.
	wrapper_script() {
		local w
		w=$GT_TMP/bin/runc-gotune-$(basename "$1" .json)
		printf '#!/bin/sh\nexec %q runtime --policy %q --runtime %q -- "$@"\n' \
			"$GOTUNE_HOOK" "$1" "${2:-$RUNC}" >"$w"
		chmod +x "$w"
		printf '%s\n' "$w"
	}
	# The shim gives runc --log BUNDLE/log.json, and the bundle is gone
	# once ctr returns: this runtime keeps a copy of that log for the test.
	RUNC_KEEPLOG=$GT_TMP/bin/runc-keeplog
	cat >"$RUNC_KEEPLOG" <<KEEP
#!/bin/sh
log=
prev=
for a in "\$@"; do
	[ "\$prev" = --log ] && log=\$a
	prev=\$a
done
$RUNC "\$@"
rc=\$?
[ -n "\$log" ] && cat "\$log" >>$GT_TMP/runtime-log.json
exit \$rc
KEEP
	chmod +x "$RUNC_KEEPLOG"
	WRAP=$(wrapper_script "$POLICY")
	WRAP_BAD=$(wrapper_script "$BAD_POLICY" "$RUNC_KEEPLOG")
	LINK=$(gt_runc_link)
fi

# --- 2. the wrapper script
d="ctr --runc-binary wrapper script: GOMAXPROCS=1, MEMLIMIT=$GT_EXPECT_MEMLIMIT"
if gt_need_hook "$d"; then
	ctr_run wrapper --runc-binary "$WRAP"
	gt_expect wrapper "$d" -- "${TUNED[@]}"
fi

# --- 2a. the witness as each Go builds it, through the wrapper script
# shellcheck disable=SC2317 # called by gt_matrix_cases
matrix_run() { # NAME ENTRY [ANNOTATION]
	ENTRY=$2 ctr_run "$1" --runc-binary "$WRAP" ${3:+--annotation "$3"}
}
gt_matrix_rootfs "$ROOTFS"
gt_matrix_cases "ctr + wrapper" matrix_run

# --- 3. the gotune-runc symlink, policy from containerd's GOTUNE_POLICY
d="ctr --runc-binary gotune-runc (GOTUNE_POLICY in containerd's env): tuned"
if gt_need_hook "$d"; then
	ctr_run symlink --runc-binary "$LINK"
	gt_expect symlink "$d" -- "${TUNED[@]}"
fi

# --- 4. GOMAXPROCS already set is kept
d="ctr + wrapper: --env GOMAXPROCS=3 is kept (GOMEMLIMIT still added)"
if gt_need_hook "$d"; then
	ctr_run keep3 --runc-binary "$WRAP" --env GOMAXPROCS=3
	gt_expect keep3 "$d" -- "${KEEP3[@]}"
fi

# --- 5. annotation gotune.io/disable=true
d="ctr + wrapper: --annotation gotune.io/disable=true leaves the env alone"
if gt_need_hook "$d"; then
	ctr_run disable --runc-binary "$WRAP" --annotation gotune.io/disable=true
	gt_expect disable "$d" -- "${DEFAULT[@]}"
fi

# --- 6. corrupt policy: fail open. The runtime's stderr is the container's
# stderr under containerd (runc hands its stdio to the container), so the
# wrapper must say why in the runtime's --log, never in the container's
# output.
d="ctr + wrapper: corrupt policy fails open (container starts, defaults)"
if gt_need_hook "$d"; then
	ctr_run corrupt --runc-binary "$WRAP_BAD"
	gt_expect corrupt "$d" -- "${DEFAULT[@]}"
	if grep -q 'gotune' "$GT_TMP/runs/corrupt.err"; then
		tap_not_ok "ctr + wrapper: nothing of gotune's in the container's stderr"
		_gt_run_diag corrupt
	else
		tap_ok "ctr + wrapper: nothing of gotune's in the container's stderr"
	fi
	if jq -e 'select(.msg | test("gotune: runtime .*policy-corrupt\\.json(:[0-9]+:[0-9]+)?: invalid JSON")) | .level == "warning"' \
		"$GT_TMP/runtime-log.json" >/dev/null 2>&1; then
		tap_ok "ctr + wrapper: the corrupt policy is reported in the runtime's JSON log"
	else
		tap_not_ok "ctr + wrapper: the corrupt policy is reported in the runtime's JSON log"
		tap_diag_file "runtime log" "$GT_TMP/runtime-log.json"
	fi
fi

# --- 7. --annotation gotune.io/record=true and no hook: the wrapper starts
# the recorder itself. containerd's shim calls `create` then `start`; the
# recorder finds the init's pid in runc's state under the shim's --root and
# waits for the exec, as a createRuntime hook's recorder does (woken after
# `start` on a busy host, it samples from then). The witness watches for
# 0.3 s: a look every few ms can miss a program that is over in a few
# ("ended before a look saw it run").
d="ctr + wrapper: --annotation gotune.io/record=true records the witness, no hook"
if gt_need_hook "$d"; then
	REC_POLICY=$(gt_policy "$GT_TMP/policy-record.json" "{\"runtime\": \"$RUNC\", \"log_file\": \"$GT_TMP/record.jsonl\",
		\"profile\": {\"dir\": \"$GT_TMP/profiles\"}}")
	WRAP_REC=$(wrapper_script "$REC_POLICY")
	ENTRY_ARGS=(watch 0.3)
	ctr_run record --runc-binary "$WRAP_REC" --annotation gotune.io/record=true
	ENTRY_ARGS=()
	gt_wait_jq "$GT_TMP/record.jsonl" 'any(.[]; .id == $id and .entry == "recorder")' --arg id "$GT_ID-record"
	rec=$(jq -rs --arg id "$GT_ID-record" 'map(select(.id == $id and .entry == "recorder")) | .[0] |
		"\(.outcome) \(.detail // .error)"' "$GT_TMP/record.jsonl" 2>/dev/null)
	if [ "$(cat "$GT_TMP/runs/record.rc")" = 0 ] && [[ $rec == "recorded pid "* ]] &&
		grep -q '^file /witness' "$GT_TMP/profiles"/*.profile 2>/dev/null; then
		tap_ok "$d: ${rec:0:120}"
	else
		tap_not_ok "$d"
		tap_diag "recorder: ${rec:-no line}"
		_gt_run_diag record
	fi
fi

if [ "$_gt_failed" -gt 0 ]; then
	tail -n 30 "$GT_CTRD_DIR/containerd.log" >"$GT_TMP/containerd-tail.log"
	tap_diag_file "containerd log (last lines)" "$GT_TMP/containerd-tail.log"
fi
tap_done
