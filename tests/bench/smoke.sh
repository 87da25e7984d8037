#!/usr/bin/env bash
# The benchmark suite's smoke mode as a TAP test (CI): every scenario runs
# once, briefly, and must write its figures. Skips itself where the
# scenarios cannot run (not root, no runc).
#   tests/bench/smoke.sh BUILDDIR
set -u
cd "$(dirname "$0")/../.."
build=${1:?build dir}
[ "$(id -u)" -eq 0 ] || { echo "1..0 # SKIP benchmarks need root"; exit 0; }
command -v runc >/dev/null || { echo "1..0 # SKIP runc not installed"; exit 0; }
out=$(mktemp -d /var/tmp/gotune-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
tests/bench/run --smoke "$build" "$out" >"$out/summary.txt" 2>&1
rc=$?
n=0
while read -r line; do
	case $line in
	ok:*) n=$((n + 1)); echo "ok $n - ${line#ok: }" ;;
	MISSING:*) n=$((n + 1)); echo "not ok $n - ${line#MISSING: }" ;;
	*) echo "# $line" ;;
	esac
done <"$out/summary.txt"
for f in "$out"/*.txt; do
	[ "$f" = "$out/summary.txt" ] && continue
	grep -q . "$f" && ! grep -q '^ok\|^MISSING' "$f" && [ $rc -ne 0 ] && tail -5 "$f" | sed "s|^|# $(basename "$f"): |"
done
n=$((n + 1))
if [ $rc -eq 0 ]; then echo "ok $n - tests/bench/run --smoke exits 0"; else echo "not ok $n - tests/bench/run --smoke exits $rc"; fi
echo "1..$n"
[ $rc -eq 0 ]
