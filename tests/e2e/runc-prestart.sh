#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# shellcheck disable=SC2016 # jq filters passed to gt_wait_jq name $id on purpose
# tests/e2e/runc-prestart.sh - gotune-hook as an OCI hook (prestart and
# createRuntime) in runc's config.json: after the page cache is dropped, the
# files gotune warms are resident when the container has run, and they are
# not without the hook. The container runs the witness and never reads the
# 24 MiB data file listed in gotune.io/prewarm-files, so its residency is
# gotune's doing alone. It is larger than what a detached worker queues at
# once (8 MiB): under runc the hook's child reads the rest in order.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/runc-prestart.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd fincore
[ -w /proc/sys/vm/drop_caches ] || skip_all "cannot drop the page cache here"
# GT_PRESTART_RUNTIME=crun runs the same checks with crun (crun-prestart.sh).
if [ "${GT_PRESTART_RUNTIME:-runc}" = crun ]; then
	gt_require_cmd crun
	mkdir -p "$GT_TMP/bin" "$GT_TMP/crun-state"
	printf '#!/bin/sh\nmount -t cgroup2 none /sys/fs/cgroup || exit 125\nexec "$@"\n' >"$GT_TMP/bin/in-cgroup2-ns"
	chmod +x "$GT_TMP/bin/in-cgroup2-ns"
	RUNC=(unshare -m "$GT_TMP/bin/in-cgroup2-ns" crun --cgroup-manager=disabled --root "$GT_TMP/crun-state")
else
	gt_require_cmd runc
	RUNC=(runc --root "$GT_TMP/runc-state")
fi

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
mkdir -p "$ROOTFS/data"
head -c $((24 << 20)) /dev/urandom >"$ROOTFS/data/model.bin"
POLICY=$(gt_policy "$GT_TMP/policy.json" "{\"log_file\": \"$GT_TMP/decisions.jsonl\"}")

# run_with STAGE MODE NAME: a container whose config.json calls gotune at STAGE
# ("none" for no hook) in prewarm MODE; prints the data file's residency.
run_with() {
	local stage=$1 mode=$2 name=$3 b=$GT_TMP/b-$3
	gt_make_bundle "$b" "$ROOTFS" --annotation gotune.io/prewarm-files=/data/model.bin \
		--annotation gotune.io/prewarm="$mode"
	if [ "$stage" != none ]; then
		jq --arg hook "$GOTUNE_HOOK" --arg policy "$POLICY" --arg stage "$stage" \
			'.hooks[$stage] = [{path: $hook, args: ["gotune-hook", $stage, "--policy", $policy], timeout: 10}]' \
			"$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
	gt_run "$name" "${RUNC[@]}" run --bundle "$b" "$GT_ID-$name"
	# Nothing to wait for without the hook or with prewarm off.
	if [ "$mode" = off ] || [ "$stage" = none ]; then
		gt_resident_pct "$ROOTFS/data/model.bin"
	else
		gt_wait_resident "$ROOTFS/data/model.bin"
	fi
}

pct=$(run_with none willneed plain)
if [ "$pct" -lt 10 ]; then
	tap_ok "without the hook the data file stays cold after the run ($pct% resident)"
else
	tap_not_ok "without the hook the data file stays cold after the run ($pct% resident)"
fi
gt_expect plain "the witness runs without the hook" -- "GOMAXPROCS~^[0-9]+$"

if gt_need_hook "prestart hook warms the listed file"; then
	for stage in prestart createRuntime; do
		for mode in willneed populate background; do
			pct=$(run_with "$stage" "$mode" "$stage-$mode")
			if [ "$pct" -ge 99 ]; then
				tap_ok "$stage hook, $mode: the listed file is resident ($pct%)"
			else
				tap_not_ok "$stage hook, $mode: the listed file is resident ($pct%)"
				_gt_run_diag "$stage-$mode"
			fi
			gt_expect "$stage-$mode" "$stage hook, $mode: the container still runs" -- "GOMAXPROCS~^[0-9]+$"
		done
	done
	pct=$(run_with prestart off off)
	if [ "$pct" -lt 10 ]; then
		tap_ok "gotune.io/prewarm=off: nothing warmed ($pct%)"
	else
		tap_not_ok "gotune.io/prewarm=off: nothing warmed ($pct%)"
	fi
	# runc shows a hook's output only when it fails: the policy's log_file
	# is where the line is.
	if gt_wait_jq "$GT_TMP/decisions.jsonl" \
		'any(.[]; .id == $id and .entry == "prestart" and (.detail | test("prewarm populate: .* -> 100%")))' \
		--arg id "$GT_ID-prestart-populate"; then
		tap_ok "the hook's log line reports the prewarm and the residency after it"
	else
		tap_not_ok "the hook's log line reports the prewarm and the residency after it"
		tap_diag_file "decisions.jsonl" "$GT_TMP/decisions.jsonl"
	fi
	# Under runc the hook lets the runtime go once the recorder question is
	# settled and a detached child queues the reads (willneed), finishes
	# the audit and the line; crun gets it all from the hook itself.
	if [ "${GT_PRESTART_RUNTIME:-runc}" = crun ]; then
		d="under crun the hook writes its line itself" want='| not' order=''
	else
		d="the line says when the hook returned to the runtime (its child queued the head of the set, read the rest in order and wrote it)"
		want='' order='-> [0-9]+%, .*MiB of it read in order.*'
	fi
	if gt_wait_jq "$GT_TMP/decisions.jsonl" \
		"any(.[]; .id == \$id and .entry == \"prestart\" and (.detail | test(\"env GOMAXPROCS.*prewarm willneed: .*${order}returned to the runtime after [0-9.]+ms\") $want))" \
		--arg id "$GT_ID-prestart-willneed"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file "decisions.jsonl" "$GT_TMP/decisions.jsonl"
	fi
	# Background: the hook only forks; the detached reader resolves the set,
	# warms it and logs its own line. Under crun, whose hook timeout misses
	# the reader's exit, the hook warms synchronously and says so.
	if [ "${GT_PRESTART_RUNTIME:-runc}" = crun ]; then
		d="background under crun: warmed synchronously by the hook, which says why"
		want='any(.[]; .id == $id and .entry == "prestart"
			and (.detail | test("prewarm populate: 1 files .* -> 100%.*not safe under crun")))'
	else
		d="background: the hook returns after the fork, the reader logs the warmed file"
		want='any(.[]; .id == $id and .entry == "prestart" and (.detail | test("^prewarm background: reader [0-9]+ ")))
			and any(.[]; .id == $id and .entry == "prewarm-reader" and (.detail | test("1 files .* -> 100%")))'
	fi
	if gt_wait_jq "$GT_TMP/decisions.jsonl" "$want" --arg id "$GT_ID-prestart-background"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file "decisions.jsonl" "$GT_TMP/decisions.jsonl"
	fi
fi
tap_done
