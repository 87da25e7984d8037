#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/podman-precreate.sh - gotune-hook as a Podman precreate hook.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/podman-precreate.sh
#
# Podman runs the witness (tests/witness) with --cpus 0.5 --memory 200m and a
# hooks dir holding a precreate drop-in that runs `gotune-hook precreate
# --policy P` (Podman passes the full spec on stdin and uses stdout as the new
# spec; the hook gets an empty environment and its stderr is discarded).
# Checked: Podman alone (the defaults); the drop-in (tuned); the same with the
# spec going in and out captured (only process.env may change); policy
# named by GOTUNE_POLICY in hook.env; --env GOMAXPROCS=3 kept; --annotation
# gotune.io/disable=true; a corrupt policy (fail open; the stderr is caught by
# a small shell drop-in, since Podman drops it); `podman exec` into a
# running container: Go's defaults with the drop-in, tuned with
# --runtime gotune-runc; the go126 witness in a Podman pod created with
# --cpus, which only the pod's cgroup holds.
#
# Podman gets its own --root/--runroot/--tmpdir (vfs) under a temp dir, so the
# host's storage is not touched. It uses runc: Podman's default crun refuses
# this machine's hybrid cgroup layout. --rootfs is a boolean flag: it must be
# the last option, right before the rootfs dir and the command.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd podman runc

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
mkdir -p "$GT_TMP/podman/root" "$GT_TMP/podman/runroot" "$GT_TMP/podman/tmp"
HOOKS=$GT_TMP/hooks
mkdir -p "$HOOKS/none"
POLICY=$(gt_policy "$GT_TMP/policy.json" '{}')
BAD_POLICY=$(gt_policy "$GT_TMP/policy-corrupt.json" '{ "strict": ')

PODMAN=(podman --root "$GT_TMP/podman/root" --runroot "$GT_TMP/podman/runroot"
	--tmpdir "$GT_TMP/podman/tmp" --storage-driver vfs --runtime "$(command -v runc)"
	--cgroup-manager cgroupfs --events-backend file)

mapfile -t TUNED < <(gt_checks_tuned)
mapfile -t DEFAULT < <(gt_checks_default)
mapfile -t KEEP3 < <(gt_checks_keep3)

# dropin DIR FILE PATH [ENV-JSON] -- ARGS...: a precreate hooks.d drop-in.
dropin() {
	local dir=$1 file=$2 path=$3 envj='null'
	shift 3
	if [ "$1" != -- ]; then envj=$1; shift; fi
	shift
	mkdir -p "$dir"
	jq -n --arg path "$path" --argjson args "$(gt_json_list "$@")" --argjson env "$envj" '{
		version: "1.0.0",
		hook: ({path: $path, args: $args} + (if $env then {env: $env} else {} end)),
		when: {always: true},
		stages: ["precreate"]
	}' >"$dir/$file"
}

# podman_run NAME HOOKSDIR [podman run options]: run the witness (or
# $ENTRY), 0.5 CPU, 200 MiB.
podman_run() {
	local name=$1 hooks=$2 id=$GT_ID-$1
	shift 2
	gt_defer "${PODMAN[@]}" rm -f "$id"
	gt_run "$name" "${PODMAN[@]}" --hooks-dir "$hooks" run --rm --name "$id" --net none \
		--ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --cpus 0.5 --memory 200m \
		"$@" --rootfs "$ROOTFS" "${ENTRY:-/witness}"
}

# matrix_run NAME ENTRY [ANNOTATION]: one witness of the matrix through the
# precreate drop-in.
matrix_run() {
	ENTRY=$2 podman_run "$1" "$HOOKS/gotune" ${3:+--annotation "$3"}
}

# --- 1. baseline: Podman alone (an empty hooks dir: no host hook applies)
podman_run baseline "$HOOKS/none"
if [ "$(cat "$GT_TMP/runs/baseline.rc")" != 0 ]; then
	skip_all "podman cannot run a container here: $(head -c 300 "$GT_TMP/runs/baseline.err" | tr '\n' ' ')"
fi
gt_expect baseline "podman alone: Go defaults (GOMAXPROCS=$GT_HOST_CPUS, no memory limit)" -- "${DEFAULT[@]}"

if [ "$GT_HAVE_HOOK" -eq 1 ]; then
	# The drop-in as shipped.
	dropin "$HOOKS/gotune" 50-gotune.json "$GOTUNE_HOOK" -- gotune-hook precreate --policy "$POLICY"
	# The same, through a shell drop-in that keeps the spec going in and
	# coming out. (Two `tee` drop-ins around the hook would not do: Podman
	# re-encodes the spec between hooks, so [] turns into absent fields.)
	mkdir -p "$GT_TMP/bin"
	printf '#!/bin/sh\n/usr/bin/tee %q | %q precreate --policy %q | /usr/bin/tee %q\n' \
		"$GT_TMP/spec-before.json" "$GOTUNE_HOOK" "$POLICY" "$GT_TMP/spec-after.json" \
		>"$GT_TMP/bin/hook-capture"
	chmod +x "$GT_TMP/bin/hook-capture"
	dropin "$HOOKS/capture" 50-gotune.json "$GT_TMP/bin/hook-capture" -- hook-capture
	# Policy named by GOTUNE_POLICY in hook.env (Podman's only way to give
	# the hook an environment).
	dropin "$HOOKS/env" 50-gotune.json "$GOTUNE_HOOK" "$(gt_json_list "GOTUNE_POLICY=$POLICY")" -- \
		gotune-hook precreate
	# A corrupt policy; a shell drop-in keeps the stderr Podman would drop.
	printf '#!/bin/sh\nexec %q precreate --policy %q 2>>%q\n' \
		"$GOTUNE_HOOK" "$BAD_POLICY" "$GT_TMP/runs/corrupt.hook-stderr" >"$GT_TMP/bin/hook-corrupt"
	chmod +x "$GT_TMP/bin/hook-corrupt"
	dropin "$HOOKS/corrupt" 50-gotune.json "$GT_TMP/bin/hook-corrupt" -- hook-corrupt
fi

# --- 2. the precreate drop-in
d="podman + precreate drop-in: GOMAXPROCS=1, MEMLIMIT=$GT_EXPECT_MEMLIMIT"
if gt_need_hook "$d"; then
	podman_run gotune "$HOOKS/gotune"
	gt_expect gotune "$d" -- "${TUNED[@]}"
	podman_run capture "$HOOKS/capture"
	gt_expect capture "podman + precreate (spec captured around the hook): tuned" \
		"$GT_TMP/spec-before.json" -- "${TUNED[@]}"
	gt_check_env_only "podman + precreate: the spec out differs from the spec in only by the env" \
		"$GT_TMP/spec-before.json" "$GT_TMP/spec-after.json"
fi

# --- 2a. the witness as each Go builds it
gt_matrix_rootfs "$ROOTFS"
gt_matrix_cases "podman + precreate" matrix_run

# --- 2b. the drop-in the build ships (hook/podman-precreate.json.in), with
# its path pointed at GOTUNE_HOOK and the policy appended to its args
d="podman + the build's gotune-precreate.json (path, policy adjusted): tuned"
if gt_need_hook "$d"; then
	shipped=$(dirname "$GOTUNE_HOOK")/gotune-precreate.json
	if [ -f "$shipped" ]; then
		mkdir -p "$HOOKS/shipped"
		jq --arg path "$GOTUNE_HOOK" --arg policy "$POLICY" \
			'.hook.path = $path | .hook.args += ["--policy", $policy]' \
			"$shipped" >"$HOOKS/shipped/gotune-precreate.json"
		podman_run shipped "$HOOKS/shipped"
		gt_expect shipped "$d" -- "${TUNED[@]}"
	else
		tap_skip "$d" "no $shipped in the build"
	fi
fi

# --- 3. policy from GOTUNE_POLICY in hook.env
d="podman + precreate, policy from GOTUNE_POLICY in hook.env: tuned"
if gt_need_hook "$d"; then
	podman_run hookenv "$HOOKS/env"
	gt_expect hookenv "$d" -- "${TUNED[@]}"
fi

# --- 4. GOMAXPROCS already set is kept
d="podman + precreate: --env GOMAXPROCS=3 is kept (GOMEMLIMIT still added)"
if gt_need_hook "$d"; then
	podman_run keep3 "$HOOKS/gotune" --env GOMAXPROCS=3
	gt_expect keep3 "$d" -- "${KEEP3[@]}"
fi

# --- 5. annotation gotune.io/disable=true
d="podman + precreate: --annotation gotune.io/disable=true leaves the env alone"
if gt_need_hook "$d"; then
	podman_run disable "$HOOKS/gotune" --annotation gotune.io/disable=true
	gt_expect disable "$d" -- "${DEFAULT[@]}"
fi

# --- 6. corrupt policy: fail open
d="podman + precreate: corrupt policy fails open (container starts, defaults)"
if gt_need_hook "$d"; then
	podman_run corrupt "$HOOKS/corrupt"
	gt_expect corrupt "$d" -- "${DEFAULT[@]}"
	cat "$GT_TMP/runs/corrupt.hook-stderr" >>"$GT_TMP/runs/corrupt.err" 2>/dev/null
	gt_expect_stderr corrupt "podman + precreate: corrupt policy is reported on the hook's stderr" 'policy'
fi

# --- 7. podman exec. Podman builds an exec's process from the container's
# spec as it was before the hooks ran (podman v4.3.1
# libpod/oci_conmon_exec_common.go, prepareProcessExec: a copy of
# c.config.Spec.Process; precreate edits only the bundle's copy, and no hook
# runs at exec): the precreate drop-in cannot tune an exec. The runtime
# wrapper, which sees `exec --process FILE`, does (README "Podman").
# exec_case NAME DESC PODMAN... -- CHECKS...: a detached sleeper in a
# 0.5 CPU / 200 MiB container made by PODMAN..., then a plain `podman
# exec` of the witness into it.
exec_case() {
	local name=$1 desc=$2 id=$GT_ID-$1
	shift 2
	local pm=()
	while [ "$1" != -- ]; do pm+=("$1"); shift; done
	shift
	gt_defer "${pm[@]}" rm -f "$id"
	if gt_run "$name-start" "${pm[@]}" run -d --name "$id" --net none \
		--ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --cpus 0.5 --memory 200m \
		--rootfs "$ROOTFS" /bin/sleep 120; then
		# A plain `podman exec`: the container keeps its runtime.
		gt_run "$name" "${PODMAN[@]}" exec "$id" /witness
	else
		cp "$GT_TMP/runs/$name-start.err" "$GT_TMP/runs/$name.err"
		echo 1 >"$GT_TMP/runs/$name.rc"
	fi
	gt_expect "$name" "$desc" -- "$@"
	timeout 30 "${pm[@]}" rm -f "$id" >/dev/null 2>&1
}
d="podman + precreate drop-in: podman exec into the tuned container gets Go's defaults (no hook runs at exec)"
if gt_need_hook "$d"; then
	exec_case exec-precreate "$d" "${PODMAN[@]}" --hooks-dir "$HOOKS/gotune" -- "${DEFAULT[@]}"
fi
d="podman --runtime gotune-runc: podman exec gets the container's tuning"
if gt_need_hook "$d"; then
	PODMAN_W=("${PODMAN[@]}")
	for i in "${!PODMAN_W[@]}"; do
		[ "${PODMAN_W[i]}" = --runtime ] && PODMAN_W[i + 1]=$(gt_runc_link)
	done
	exec_case exec-wrapper "$d" "${PODMAN_W[@]}" --hooks-dir "$HOOKS/none" -- "${TUNED[@]}"
fi

# --- 8. a Podman pod's CPU limit (issue 24): `podman pod create --cpus`
# puts the quota on the pod's cgroup (the parent of the container's
# cgroupsPath), which the container has none of. Go >= 1.25 reads only the
# cgroup it runs in ("We only read the limit from the leaf cgroup",
# runtime/cgroup_linux.go), so the Go 1.26 witness (go.mod 1.26) would see
# no limit; gotune reads the pod's cgroup and sets GOMAXPROCS, and says Go
# would not have seen it.
# With --cpus 0.5: 1, where Go alone picks 2; with --cpus 1.5: 2 on this
# 2-CPU host either way (ceil 1.5 is 2), which the plan says. Podman puts
# a pod's limits on its cgroup only with an infra container (without one
# they are dropped), whose image Podman builds from catatonit; the infra
# container gets the sandbox's rlimits through containers.conf, as there
# is no --ulimit for it.
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n' >"$GT_TMP/containers.conf"
podpod() { # NAME "POD-CREATE-OPTIONS" [podman run options]: the go126 witness in a new pod
	local name=$1 pod=$GT_ID-$1-pod popts
	read -ra popts <<<"$2"
	shift 2
	gt_defer "${PODMAN[@]}" pod rm -f "$pod"
	CONTAINERS_CONF=$GT_TMP/containers.conf "${PODMAN[@]}" pod create --network none "${popts[@]}" --name "$pod" \
		>"$GT_TMP/runs/$name.pod" 2>&1 || return 1
	CONTAINERS_CONF=$GT_TMP/containers.conf ENTRY=/witness-go126 podman_run "$name" "$@" --pod "$pod"
}
d="podman pod create --cpus 0.5 --memory 200m, go126 witness (go.mod 1.26) without a limit of its own"
if [ -n "${GT_MATRIX_WHY[go126]+set}" ]; then
	tap_skip "$d" "${GT_MATRIX_WHY[go126]}"
elif gt_need_hook "$d"; then
	# podman_run's own --cpus/--memory would give the container a limit:
	# this one runs with none (PODRUN), in the pod.
	podman_run() {
		local name=$1 hooks=$2 id=$GT_ID-$1
		shift 2
		gt_defer "${PODMAN[@]}" rm -f "$id"
		gt_run "$name" env CONTAINERS_CONF="$GT_TMP/containers.conf" "${PODMAN[@]}" --hooks-dir "$hooks" \
			run --rm --name "$id" "$@" --rootfs "$ROOTFS" "${ENTRY:-/witness}"
	}
	if ! podpod pod-none "--cpus 0.5 --memory 200m" "$HOOKS/none"; then
		tap_skip "$d" "podman cannot create a pod here: $(head -c 300 "$GT_TMP/runs/pod-none.pod" | tr '\n' ' ')"
	else
		gt_expect pod-none "$d, Podman alone: Go picks 2 (it does not see its pod's quota), no memory limit" -- \
			GOMAXPROCS=2 ENV_GOMAXPROCS= "MEMLIMIT=$GT_UNSET_MEMLIMIT"
		# A Podman pod's limit is its containers' own budget (not a
		# Kubernetes pod's sum of others': Podman writes CRI-O's
		# annotation names, but names itself as the manager).
		podpod pod-gotune "--cpus 0.5 --memory 200m" "$HOOKS/capture"
		gt_expect pod-gotune "$d, precreate drop-in: GOMAXPROCS=1 from the pod's quota, GOMEMLIMIT 0.9 x the pod's 200 MiB" -- \
			GOMAXPROCS=1 ENV_GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT"
		# The pod's cgroup really holds the quota, and the plan says Go
		# would not read it.
		"$GOTUNE_HOOK" plan --policy "$POLICY" "$GT_TMP/spec-before.json" >"$GT_TMP/runs/pod-plan.txt" 2>&1
		if grep -q "cpu quota     50000 per 100000 us period from pod cgroup" "$GT_TMP/runs/pod-plan.txt" &&
			grep -q "the limit is the pod cgroup's, which Go does not read: it would pick 2" "$GT_TMP/runs/pod-plan.txt"; then
			tap_ok "$d: plan reads the pod cgroup's quota and says Go would not see it"
		else
			tap_not_ok "$d: plan reads the pod cgroup's quota and says Go would not see it"
		fi
		tap_diag_file "gotune-hook plan on the spec Podman gave the hook" "$GT_TMP/runs/pod-plan.txt"
		podpod pod15 "--cpus 1.5" "$HOOKS/capture"
		gt_expect pod15 "podman pod create --cpus 1.5, go126 witness: GOMAXPROCS=2 (ceil 1.5 on 2 CPUs: nothing to set)" -- \
			GOMAXPROCS=2 ENV_GOMAXPROCS=
	fi
fi

tap_done
