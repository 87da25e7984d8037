#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/crun-wrapper.sh - gotune-hook as a runtime wrapper, driving crun.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/crun-wrapper.sh
#
# The same checks as runc-wrapper.sh (gt_wrapper_suite in lib.sh), with crun.
# crun refuses this machine's hybrid cgroup v1 layout, so every crun call
# (direct or through the wrapper) runs in a private mount namespace
# (`unshare -m`) with cgroup2 mounted on /sys/fs/cgroup, and crun gets
# `--cgroup-manager=disabled`: the limits are not enforced, but the spec still
# carries them, and the env the container gets is what is checked. The
# wrapper thus also meets a crun-only global option before the subcommand.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd crun

# A tiny helper run by `unshare -m`: mount cgroup2 privately, then exec.
mkdir -p "$GT_TMP/bin"
cat >"$GT_TMP/bin/in-cgroup2-ns" <<'SH'
#!/bin/sh
mount -t cgroup2 none /sys/fs/cgroup || { echo "in-cgroup2-ns: mount cgroup2 failed" >&2; exit 125; }
exec "$@"
SH
chmod +x "$GT_TMP/bin/in-cgroup2-ns"

WS_LABEL=crun
WS_RUNTIME=$(command -v crun)
WS_PREFIX=(unshare -m "$GT_TMP/bin/in-cgroup2-ns")
WS_GLOBAL=(--cgroup-manager=disabled --root "$GT_TMP/crun-state")
WS_ROOTFS=$GT_TMP/rootfs
# --cgroup-manager=disabled: the quota is in the spec but not enforced.
GT_CPU_ENFORCED=0
mkdir -p "$GT_TMP/crun-state"
gt_make_rootfs "$WS_ROOTFS"

# crun cannot run here at all? Then skip the whole script.
b=$(ws_bundle probe)
if ! ws_run probe "$b" "$WS_RUNTIME"; then
	skip_all "crun cannot run a container here: $(head -c 200 "$GT_TMP/runs/probe.err" | tr '\n' ' ')"
fi

gt_wrapper_suite

# crun's own argument forms, run by the real crun: the attached -bDIR, from
# a directory whose own config.json has no limits (the wrapper once tuned
# that one), and --config FILE taken from the working directory while the
# rootfs stays in the bundle.
d="gotune-crun run -bDIR: crun runs DIR's spec and that one is tuned"
if gt_need_hook "$d"; then
	b=$(ws_bundle attached)
	mkdir -p "$GT_TMP/cwd-attached"
	jq 'del(.linux.resources)' "$b/config.json" >"$GT_TMP/cwd-attached/config.json"
	cp "$GT_TMP/cwd-attached/config.json" "$GT_TMP/cwd-attached/config.orig.json"
	crun_link=$(dirname "$GOTUNE_HOOK")/gotune-crun
	mapfile -t tuned < <(gt_checks_tuned)
	gt_defer "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" delete -f "$GT_ID-attached"
	(cd "$GT_TMP/cwd-attached" && gt_run attached "${WS_PREFIX[@]}" "$crun_link" --runtime "$WS_RUNTIME" \
		"${WS_GLOBAL[@]}" run "-b$b" "$GT_ID-attached")
	gt_expect attached "$d" "$b/config.json" -- "${tuned[@]}"
	if cmp -s "$GT_TMP/cwd-attached/config.json" "$GT_TMP/cwd-attached/config.orig.json"; then
		tap_ok "and the working directory's config.json is left alone"
	else
		tap_not_ok "and the working directory's config.json is left alone"
	fi
	d="gotune-crun run --config sub/alt.json --bundle DIR: crun reads ./sub/alt.json, tuned"
	b=$(ws_bundle config)
	mkdir -p "$GT_TMP/cwd-config/sub"
	mv "$b/config.json" "$GT_TMP/cwd-config/sub/alt.json"
	gt_defer "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" delete -f "$GT_ID-config"
	(cd "$GT_TMP/cwd-config" && gt_run config "${WS_PREFIX[@]}" "$crun_link" --runtime "$WS_RUNTIME" \
		"${WS_GLOBAL[@]}" run --config sub/alt.json --bundle "$b" "$GT_ID-config")
	gt_expect config "$d" "$GT_TMP/cwd-config/sub/alt.json" -- "${tuned[@]}"
fi

# gotune.io/record=true and no hook: the wrapper starts the recorder, which
# finds the init's pid in crun's status (<root>/<id>/status). crun writes it
# about when the init execs, so the recording may start from then; the
# witness watches for 0.3 s, so that a recorder woken late on a busy host
# still sees it run (a program of a few ms can be over by then).
d="gotune-crun with the annotation gotune.io/record=true alone: the wrapper records the witness"
if gt_need_hook "$d"; then
	b=$(ws_bundle record --annotation gotune.io/record=true)
	jq '.process.args = ["/witness", "watch", "0.3"]' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	rpolicy=$(gt_policy "$GT_TMP/policy-record.json" "{\"log_file\": \"$GT_TMP/record.jsonl\",
		\"profile\": {\"dir\": \"$GT_TMP/profiles\"}}")
	ws_run record "$b" env GOTUNE_POLICY="$rpolicy" "$(dirname "$GOTUNE_HOOK")/gotune-crun" --runtime "$WS_RUNTIME"
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
tap_done
