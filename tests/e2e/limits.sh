#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/limits.sh - limits as real clusters write them, on real runtimes.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/limits.sh
#
# What the kernel of this machine lets be enforced (cgroup v1 hybrid: the
# memory and cpu controllers are v1; cgroup2 has none of them), and how each
# case is checked:
#
# - A pod-level limit: runc (v1, enforced) runs a container that has no
#   limits of its own under a parent cgroup made here with 200 MiB and 0.5
#   CPU, named by cgroupsPath (as the kubelet's pod cgroup is). gotune-runc
#   with the default policy reads the parent from /sys/fs/cgroup; the Go
#   witness inside reports GOMAXPROCS and its memory limit. Without gotune
#   it sees neither.
# - A sized tmpfs volume: runc with 200 MiB / 0.5 CPU (enforced) and a
#   40 MiB tmpfs: GOMEMLIMIT is 0.9 x 160 MiB; the runtime's own 64 MiB
#   /dev/shm is not counted by default.
# - Podman (precreate, runc, v1, enforced) with --tmpfs /scratch:size=40m;
#   with gomemlimit.tmpfs "all", also its /dev/shm, a bind of Podman's own
#   tmpfs found in the host's mount table.
# - The CPU affinity runc 1.1.5 passes on: `taskset -c 0 gotune-runc run`
#   with a 0.5 CPU quota; the container's Go sees 1 CPU. Default policy:
#   GOMAXPROCS=1 is set (the affinity is not a cap: newer runtimes reset
#   it); gomaxprocs.affinity=inherit caps at 1 and leaves Go its own 1.
# - linux.resources.unified (memory.max, memory.high, cpu.max): runc refuses
#   unified on cgroup v1, so crun runs it in a private cgroup2 namespace
#   with --cgroup-manager=disabled (tests/e2e/crun-wrapper.sh): the limits
#   are NOT enforced there; the checks are on the env the container got and
#   what its Go runtime made of it, and the test output says so.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
POLICY=$(gt_policy "$GT_TMP/policy.json" '{}')
mkdir -p "$GT_TMP/runc-state"
RUNC=(runc --root "$GT_TMP/runc-state")

# bundle NAME [gt_make_bundle options] [-- JQ-FILTER]: a fresh bundle
# (0.5 CPU, 200 MiB unless --no-limits), edited by JQ-FILTER.
bundle() {
	local name=$1 b=$GT_TMP/bundles/$1 filter=.
	shift
	local -a opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ "${1:-}" = -- ] && filter=$2
	gt_make_bundle "$b" "$ROOTFS" ${opts[@]+"${opts[@]}"} >&2
	jq "$filter" "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	cp "$b/config.json" "$b/config.orig.json"
	printf '%s\n' "$b"
}

# run_runc NAME BUNDLE [PREFIX...]: `PREFIX gotune-hook runtime --policy P
# --runtime runc -- run` (PREFIX "none" for plain runc).
run_runc() {
	local name=$1 b=$2 id=$GT_ID-$1
	shift 2
	gt_defer "${RUNC[@]}" delete -f "$id"
	if [ "${1:-}" = none ]; then
		shift
		gt_run "$name" "$@" "${RUNC[@]}" run --bundle "$b" "$id"
	else
		gt_run "$name" "$@" "$GOTUNE_HOOK" runtime --policy "${RUN_POLICY:-$POLICY}" \
			--runtime "$(command -v runc)" -- --root "$GT_TMP/runc-state" run --bundle "$b" "$id"
	fi
}

# --------------------------------------------------- 1. pod-level limits
# A parent cgroup in the v1 memory and cpu hierarchies with the limits; the
# container's cgroupsPath puts it beneath.
POD=$GT_ID-pod
mem_root=/sys/fs/cgroup/memory
cpu_root=$(for d in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpu,cpuacct; do [ -f "$d/cpu.cfs_quota_us" ] && echo "$d" && break; done)
d="pod-level limits: runc under a parent cgroup of 200 MiB / 0.5 CPU"
if [ -f "$mem_root/memory.limit_in_bytes" ] && [ -n "$cpu_root" ] && mkdir "$mem_root/$POD" "$cpu_root/$POD" 2>/dev/null; then
	gt_defer rmdir "$mem_root/$POD" "$cpu_root/$POD"
	echo "$GT_MEM_LIMIT" >"$mem_root/$POD/memory.limit_in_bytes"
	echo "$GT_CPU_PERIOD" >"$cpu_root/$POD/cpu.cfs_period_us"
	echo "$GT_CPU_QUOTA" >"$cpu_root/$POD/cpu.cfs_quota_us"
	tap_diag "pod cgroup: $mem_root/$POD memory.limit_in_bytes=$(cat "$mem_root/$POD/memory.limit_in_bytes"), $cpu_root/$POD cpu.cfs_quota_us=$(cat "$cpu_root/$POD/cpu.cfs_quota_us")"
	b=$(bundle pod-plain --no-limits -- ".linux.cgroupsPath = \"/$POD/plain\"")
	run_runc pod-plain "$b" none
	mapfile -t default < <(gt_checks_default)
	gt_expect pod-plain "$d, plain runc: Go sees no limit (GOMAXPROCS=$GT_HOST_CPUS, MEMLIMIT unset)" "$b/config.json" \
		-- "${default[@]}"
	dd="$d, gotune-runc (default policy): the parent's limits from /sys/fs/cgroup"
	if gt_need_hook "$dd"; then
		b=$(bundle pod-tuned --no-limits -- ".linux.cgroupsPath = \"/$POD/tuned\"")
		run_runc pod-tuned "$b"
		mapfile -t tuned < <(gt_checks_tuned)
		gt_expect pod-tuned "$dd: GOMAXPROCS=1, MEMLIMIT=$GT_EXPECT_MEMLIMIT" "$b/config.json" -- "${tuned[@]}"
	fi
	# The kernel enforces the parent's limit on the container: a shell in
	# the same place sees its cgroup under the pod's.
	b=$(bundle pod-where --no-limits -- ".linux.cgroupsPath = \"/$POD/where\" | .process.args = [\"/bin/cat\", \"/proc/self/cgroup\"]")
	run_runc pod-where "$b" none
	if grep -q "memory:/$POD/where\$" "$GT_TMP/runs/pod-where.out"; then
		tap_ok "$d: the container's memory cgroup is under the pod's (memory:/$POD/where), whose limit the kernel enforces"
	else
		tap_not_ok "$d: the container's memory cgroup is under the pod's"
		tap_diag_file out "$GT_TMP/runs/pod-where.out"
		tap_diag_file err "$GT_TMP/runs/pod-where.err"
	fi
else
	tap_skip "$d" "no writable v1 memory and cpu hierarchies at /sys/fs/cgroup here"
fi

# --------------------------------------------------- 2. a sized tmpfs volume
d="runc 200 MiB / 0.5 CPU with a 40 MiB tmpfs at /scratch: GOMEMLIMIT 0.9 x 160 MiB (the 64 MiB /dev/shm of runc's spec not counted)"
if gt_need_hook "$d"; then
	b=$(bundle tmpfs -- '.mounts += [{destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=40m"]}]')
	run_runc tmpfs "$b"
	gt_expect tmpfs "$d" "$b/config.json" -- GOMAXPROCS=1 MEMLIMIT=150994944 ENV_GOMEMLIMIT=144MiB
fi

# --------------------------------------------------- 3. Podman --tmpfs and its /dev/shm
if command -v podman >/dev/null; then
	mkdir -p "$GT_TMP/podman/root" "$GT_TMP/podman/runroot" "$GT_TMP/podman/tmp"
	PODMAN=(podman --root "$GT_TMP/podman/root" --runroot "$GT_TMP/podman/runroot"
		--tmpdir "$GT_TMP/podman/tmp" --storage-driver vfs --runtime "$(command -v runc)"
		--cgroup-manager cgroupfs --events-backend file)
	ALL=$(gt_policy "$GT_TMP/policy-all.json" '{"gomemlimit": {"tmpfs": "all"}}')
	hooks_for() { # DIR POLICY
		mkdir -p "$1"
		jq -n --arg path "$GOTUNE_HOOK" --arg policy "$2" '{version: "1.0.0",
			hook: {path: $path, args: ["gotune-hook", "precreate", "--policy", $policy]},
			when: {always: true}, stages: ["precreate"]}' >"$1/gotune.json"
	}
	hooks_for "$GT_TMP/hooks-default" "$POLICY"
	hooks_for "$GT_TMP/hooks-all" "$ALL"
	podman_tmpfs() { # NAME HOOKS
		gt_defer "${PODMAN[@]}" rm -f "$GT_ID-$1"
		gt_run "$1" "${PODMAN[@]}" --hooks-dir "$2" run --rm --name "$GT_ID-$1" --net none \
			--ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --cpus 0.5 --memory 200m \
			--tmpfs /scratch:size=40m --rootfs "$ROOTFS" /witness
	}
	d="podman --memory 200m --tmpfs /scratch:size=40m, precreate hook, default policy: GOMEMLIMIT 0.9 x 160 MiB"
	if gt_need_hook "$d"; then
		podman_tmpfs podman-tmpfs "$GT_TMP/hooks-default"
		gt_expect podman-tmpfs "$d" -- GOMAXPROCS=1 MEMLIMIT=150994944 ENV_GOMEMLIMIT=144MiB
		d="the same with gomemlimit.tmpfs all: Podman's 64 MiB /dev/shm (a bind of its own tmpfs) counts too: 0.9 x 96 MiB is under the floor, 90 MiB"
		podman_tmpfs podman-all "$GT_TMP/hooks-all"
		gt_expect podman-all "$d" -- MEMLIMIT=94371840 ENV_GOMEMLIMIT=90MiB
	fi
else
	tap_skip "podman --tmpfs" "podman not installed"
fi

# --------------------------------------------------- 4. the affinity runc passes on
# On 2 CPUs a difference shows only where the quota rounds below the host's
# CPUs and not below the affinity: 0.5 CPU -> 1.
d="taskset -c 0 + quota 0.5 CPU: runc 1.1.5 passes the caller's affinity on (the container's Go sees 1 CPU)"
if [ "$GT_HOST_CPUS" -lt 2 ] || ! command -v taskset >/dev/null; then
	tap_skip "$d" "needs 2 CPUs and taskset"
elif gt_need_hook "$d"; then
	b=$(bundle aff-default)
	run_runc aff-default "$b" taskset -c 0
	gt_expect aff-default "$d; default policy (gomaxprocs.affinity cgroup): the affinity is no cap, GOMAXPROCS=1 is set" \
		"$b/config.json" -- NUMCPU=1 GOMAXPROCS=1 ENV_GOMAXPROCS=1
	RUN_POLICY=$(gt_policy "$GT_TMP/policy-inherit.json" '{"gomaxprocs": {"affinity": "inherit"}}')
	b=$(bundle aff-inherit)
	run_runc aff-inherit "$b" taskset -c 0
	gt_expect aff-inherit "$d; gomaxprocs.affinity inherit: capped at 1 CPU, nothing set, Go picks 1 itself" \
		"$b/config.json" -- NUMCPU=1 GOMAXPROCS=1 ENV_GOMAXPROCS=
	unset RUN_POLICY
fi

# --------------------------------------------------- 5. unified, through crun
if ! command -v crun >/dev/null; then
	tap_skip "unified via crun" "crun not installed"
else
	mkdir -p "$GT_TMP/bin" "$GT_TMP/crun-state"
	cat >"$GT_TMP/bin/in-cgroup2-ns" <<'SH'
#!/bin/sh
mount -t cgroup2 none /sys/fs/cgroup || { echo "in-cgroup2-ns: mount cgroup2 failed" >&2; exit 125; }
exec "$@"
SH
	chmod +x "$GT_TMP/bin/in-cgroup2-ns"
	CRUN=(unshare -m "$GT_TMP/bin/in-cgroup2-ns")
	run_crun() { # NAME BUNDLE [tuned]
		local id=$GT_ID-$1
		gt_defer "${CRUN[@]}" crun --cgroup-manager=disabled --root "$GT_TMP/crun-state" delete -f "$id"
		if [ "${3:-}" = tuned ]; then
			gt_run "$1" "${CRUN[@]}" "$GOTUNE_HOOK" runtime --policy "$POLICY" --runtime "$(command -v crun)" -- \
				--cgroup-manager=disabled --root "$GT_TMP/crun-state" run --bundle "$2" "$id"
		else
			gt_run "$1" "${CRUN[@]}" crun --cgroup-manager=disabled --root "$GT_TMP/crun-state" run --bundle "$2" "$id"
		fi
	}
	tap_diag "unified: NOT ENFORCED here (this host's cgroup2 has no memory or cpu controller; runc refuses unified" \
		"on cgroup v1; crun runs with --cgroup-manager=disabled): the checks are on the env the container got."
	review='.linux.resources = {memory: {limit: 1073741824}, cpu: {quota: 50000, period: 100000},
		unified: {"memory.max": "max", "cpu.max": "max 100000"}}'
	b=$(bundle u-plain -- "$review")
	run_crun u-plain "$b"
	if [ "$(cat "$GT_TMP/runs/u-plain.rc")" != 0 ]; then
		tap_skip "unified via crun" "crun cannot run a container here: $(head -c 200 "$GT_TMP/runs/u-plain.err" | tr '\n' ' ')"
	else
		d="crun, review case (memory.limit 1GiB, quota 50000, unified memory.max=max, cpu.max=\"max 100000\"): env only, not enforced"
		if gt_need_hook "$d"; then
			b=$(bundle u-review -- "$review")
			run_crun u-review "$b" tuned
			gt_expect u-review "$d: no GOMAXPROCS, no GOMEMLIMIT (runc and crun write unified last)" "$b/config.json" \
				-- ENV_GOMAXPROCS= ENV_GOMEMLIMIT= "MEMLIMIT=$GT_UNSET_MEMLIMIT" "GOMAXPROCS=$GT_HOST_CPUS"
			b=$(bundle u-high -- '.linux.resources.unified = {"memory.high": "150m"}')
			run_crun u-high "$b" tuned
			gt_expect u-high "crun, memory.limit 200MiB + unified memory.high=150m: GOMEMLIMIT 0.9 x 150 MiB (env only, not enforced)" \
				"$b/config.json" -- ENV_GOMEMLIMIT=135MiB MEMLIMIT=141557760
			if [ "$GT_HOST_CPUS" -ge 2 ]; then
				b=$(bundle u-cpu -- '.linux.resources.cpu.quota = 400000 | .linux.resources.unified = {"cpu.max": "50000 100000"}')
				run_crun u-cpu "$b" tuned
				gt_expect u-cpu "crun, quota 4 CPUs + unified cpu.max=\"50000 100000\": GOMAXPROCS=1 (env only, not enforced)" \
					"$b/config.json" -- ENV_GOMAXPROCS=1 GOMAXPROCS=1
			else
				tap_skip "crun unified cpu.max" "one CPU: GOMAXPROCS 1 either way"
			fi
		fi
	fi
fi

tap_done
