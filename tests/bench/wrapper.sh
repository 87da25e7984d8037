#!/usr/bin/env bash
# The wrapper's own cost, each figure the median of paired runs in ABBA
# order against the runtime alone in the same run (tests/bench/timing.py):
#   run, no limits      `runc run /bin/true`: nothing to set, nothing to warm
#   run, limits         the same with 0.5 CPU and 200 MiB: config.json rewritten
#   exec, tuned         `runc exec --process FILE` into a running container
#                       the wrapper tuned (gotune's record; the process
#                       file rewritten in a confined child)
#   exec, untuned       the same into a container without limits the wrapper
#                       created (the record says: nothing to give)
#   exec, no record     the tuned container's exec when it has no record (a
#                       container gotune did not create: `runc state`)
#   floor, exec         `runc run` (no limits) through a static-pie program
#                       that only execs runc (tests/bench/floor.c): what one
#                       more exec in front of the runtime costs on this host
#   floor, exec + fork  the same program forking one child that exits at
#                       once and is waited for: the least a wrapper that
#                       parses the spec in a confined child can cost
# Default policy ({}), bundles on tmpfs (/dev/shm: containerd and CRI-O keep
# theirs under /run; BUNDLE_PARENT picks another place).
# usage: tests/bench/wrapper.sh [BUILDDIR] [PAIRS] [CASES]   (CASES: comma list of
#        run-nolimits,run-limits,exec-tuned,exec-untuned,exec-state,floor-exec,floor-fork;
#        default all)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
runs=${2:-40}
cases=${3:-run-nolimits,run-limits,exec-tuned,exec-untuned,exec-state,floor-exec,floor-fork}
case $build in /*) hook=$build/hook/gotune-hook ;; *) hook=$PWD/$build/hook/gotune-hook ;; esac
[ -x "$hook" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
runc=$(command -v runc)
work=$(mktemp -d "${BUNDLE_PARENT:-/dev/shm}/gotune-bench.XXXXXX")
root=$work/runc-root
ids=()
cleanup() {
	for id in ${ids[@]+"${ids[@]}"}; do "$runc" --root "$root" delete -f "$id" >/dev/null 2>&1 || true; done
	"$hook" runtime --policy "$work/policy.json" --runtime "$runc" -- --root "$root" delete -f bench-exec-tuned \
		>/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/sys" "$root"
cp /bin/busybox "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/true"
ln -s busybox "$work/rootfs/bin/sleep"
runc spec --bundle "$work"
jq --arg root "$work/rootfs" '.root = {path: $root, readonly: true} | .process.terminal = false
	| .process.args = ["/bin/true"]' "$work/config.json" >"$work/nolimits.json"
jq '.linux.resources.cpu = {quota: 50000, period: 100000} | .linux.resources.memory = {limit: 209715200}' \
	"$work/nolimits.json" >"$work/limits.json"
rm "$work/config.json"
echo '{}' >"$work/policy.json"
wrap=("$hook" runtime --policy "$work/policy.json" --runtime "$runc" -- --root "$root")
want() { [[ ,$cases, == *,$1,* ]]; }
echo "# $(uname -r), $("$runc" --version | head -1), $(nproc) CPUs, bundles in $work ($(stat -f -c %T "$work")), $runs pairs each"

# run: every round starts from the untuned spec, so the wrapper really
# rewrites the one with limits.
for kind in nolimits limits; do
	want "run-$kind" || continue
	b=$work/run-$kind
	mkdir -p "$b"
	echo
	echo "run, $kind: runc run /bin/true"
	python3 tests/bench/timing.py "$runs" \
		runc "$runc --root $root run --bundle $b bench-$kind-plain-{i}" \
		gotune-runc "${wrap[*]} run --bundle $b bench-$kind-wrap-{i}" \
		--setup "cp $work/$kind.json $b/config.json"
done

# The floors: the same run as run-nolimits, through tests/bench/floor.c.
for mode in exec fork; do
	want "floor-$mode" || continue
	[ -x "$work/floor" ] || ${CC:-cc} -O2 -static-pie -fPIE -o "$work/floor" tests/bench/floor.c
	b=$work/floor-$mode
	mkdir -p "$b"
	cp "$work/nolimits.json" "$b/config.json"
	echo
	what="execs runc"
	[ $mode = exec ] || what="forks, waits for its child and execs runc"
	echo "floor, $mode: runc run /bin/true through a static program that $what"
	python3 tests/bench/timing.py "$runs" \
		runc "$runc --root $root run --bundle $b bench-floor-$mode-plain-{i}" \
		floor "$work/floor $mode $runc --root $root run --bundle $b bench-floor-$mode-{i}"
done

# exec: long-running containers, /bin/true exec'd with a process file as
# containerd's shim writes one (the image's env only), fresh each time.
jq '.process | {args: ["/bin/true"], env: .env, cwd: "/", user: .user}' "$work/nolimits.json" >"$work/process.json"
start() { # ID SPEC CMD...: a detached /bin/sleep container from the spec file SPEC
	local id=$1 spec=$2 b=$work/$1
	shift 2
	mkdir -p "$b"
	jq '.process.args = ["/bin/sleep", "3600"]' "$spec" >"$b/config.json"
	"$@" run --detach --bundle "$b" "$id" </dev/null >/dev/null
	ids+=("$id")
}
exec_case() { # TITLE ID
	echo
	echo "$1"
	python3 tests/bench/timing.py "$runs" \
		runc "$runc --root $root exec --process $work/p.json $2" \
		gotune-runc "${wrap[*]} exec --process $work/p.json $2" \
		--setup "cp $work/process.json $work/p.json"
}
if want exec-tuned || want exec-state; then
	start bench-exec-tuned "$work/limits.json" "${wrap[@]}"
fi
if want exec-tuned; then
	exec_case "exec, tuned: runc exec --process FILE /bin/true (gotune's record)" bench-exec-tuned
fi
if want exec-untuned; then
	start bench-exec-untuned "$work/nolimits.json" "${wrap[@]}"
	exec_case "exec, untuned: the same into a container without limits (the record: nothing to give)" \
		bench-exec-untuned
fi
if want exec-state; then
	# The tuned config (as the wrapper wrote it) run by runc alone: an
	# exec into a tuned container gotune has no record of (one it did not
	# create) asks `runc state`, and reads the config in its child.
	start bench-exec-state "$work/bench-exec-tuned/config.json" "$runc" --root "$root"
	exec_case "exec, no record: the tuned container's exec without gotune's record (runc state)" bench-exec-state
fi
