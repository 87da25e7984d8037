#!/usr/bin/env bash
# gotune-hook precreate on a real Podman spec against `cat` of the same
# file: the filter's whole cost as Podman sees it (exec, read, tune, write).
# usage: tests/bench/precreate.sh [BUILDDIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
runs=${2:-300}
spec=tests/fixtures/podman-config.json
case $build in /*) hook=$build/hook/gotune-hook ;; *) hook=$PWD/$build/hook/gotune-hook ;; esac
[ -x "$hook" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
policy=$(mktemp)
trap 'rm -f "$policy"' EXIT
echo '{}' >"$policy"
echo "precreate on $spec ($(stat -c %s "$spec") bytes), $runs alternating runs each"
"$hook" plan --policy "$policy" "$spec" | sed -n '/^VARIABLE/,/^$/p'
python3 tests/bench/timing.py "$runs" cat "cat" gotune-precreate "$hook precreate --policy $policy" --stdin "$spec"
