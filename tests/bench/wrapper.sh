#!/usr/bin/env bash
# `runc run` of a trivial container through gotune-runc against plain
# `runc run`, alternating. The wrapper's cost is one exec, a read of
# config.json, the plan, and an atomic rewrite (fsync included). Then
# `runc exec --process FILE` into a running tuned container, where the
# wrapper also runs `runc state` and rewrites the process file.
# usage: tests/bench/wrapper.sh [BUILDDIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
runs=${2:-30}
case $build in /*) hook=$build/hook/gotune-hook ;; *) hook=$PWD/$build/hook/gotune-hook ;; esac
[ -x "$hook" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
runc=$(command -v runc)
# The bundle directory decides what fsync costs: containerd and CRI-O keep
# bundles on tmpfs (/run; /dev/shm here, where /run is on disk), Podman
# under /var/lib. BUNDLE_PARENT picks.
work=$(mktemp -d "${BUNDLE_PARENT:-/dev/shm}/gotune-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/sys"
cp /bin/busybox "$work/rootfs/bin/busybox"
ln -s busybox "$work/rootfs/bin/true"
ln -s busybox "$work/rootfs/bin/sleep"
runc spec --bundle "$work"
jq --arg root "$work/rootfs" '.root = {path: $root, readonly: true} | .process.terminal = false
	| .process.args = ["/bin/true"]
	| .linux.resources.cpu = {quota: 50000, period: 100000}
	| .linux.resources.memory = {limit: 209715200}' "$work/config.json" >"$work/pristine.json"
echo '{}' >"$work/policy.json"
# Every run starts from the untuned spec, so the wrapper really rewrites it.
setup="cp $work/pristine.json $work/config.json"
echo "runc run /bin/true (0.5 CPU, 200 MiB) via $runc, bundle in $work ($(stat -f -c %T "$work")), $runs alternating runs each"
python3 tests/bench/timing.py "$runs" \
	runc "$runc run --bundle $work bench-plain-{i}" \
	gotune-runc "$hook runtime --policy $work/policy.json --runtime $runc -- run --bundle $work bench-wrap-{i}" \
	--setup "$setup"

# exec: a container created through the wrapper (so its config carries
# gotune's record), then /bin/true exec'd with a process file as
# containerd's shim writes one (the image's env only), fresh each time.
ex=$work/exec
mkdir -p "$ex"
jq '.process.args = ["/bin/sleep", "600"]' "$work/pristine.json" >"$ex/config.json"
id=bench-exec-$$
trap '$runc delete -f $id >/dev/null 2>&1; rm -rf "$work"' EXIT
"$hook" runtime --policy "$work/policy.json" --runtime "$runc" -- run --detach --bundle "$ex" "$id" </dev/null >/dev/null
jq '.process | {args: ["/bin/true"], env: .env, cwd: "/", user: .user}' "$work/pristine.json" >"$ex/process.json"
echo "runc exec --process FILE /bin/true into a running tuned container, $runs alternating runs each"
python3 tests/bench/timing.py "$runs" \
	runc "$runc exec --process $ex/p.json $id" \
	gotune-runc "$hook runtime --policy $work/policy.json --runtime $runc -- exec --process $ex/p.json $id" \
	--setup "cp $ex/process.json $ex/p.json"
