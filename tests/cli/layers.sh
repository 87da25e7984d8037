#!/usr/bin/env bash
# lib/ is one folder per stage of the pipeline, a stack:
#   base < spec < image < tune < warm < nri
# A file may include headers of its own folder and of the folders below
# it, never of one above (see lib/meson.build). Also: every header any
# file in lib/ or hook/ includes with quotes exists in exactly one folder
# (or is the generated seccomp_bpf.h), and no file is left in lib/ itself.
#   tests/cli/layers.sh [SRCDIR]
set -uo pipefail
src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
stages=(base spec image tune warm nri)
declare -A rank home
for i in "${!stages[@]}"; do rank[${stages[$i]}]=$i; done
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }

for s in "${stages[@]}"; do
	for h in "$src/lib/$s"/*.h; do
		b=$(basename "$h")
		if [ -n "${home[$b]:-}" ]; then
			ok 1 "$b is in one folder (found in ${home[$b]} and $s)"
		fi
		home[$b]=$s
	done
done
home[seccomp_bpf.h]=base

stray=$(find "$src/lib" -maxdepth 1 -name '*.[ch]' | wc -l)
ok $((stray != 0)) "no source file left in lib/ itself ($stray)"

for s in "${stages[@]}"; do
	bad=()
	for f in "$src/lib/$s"/*.[ch]; do
		while read -r inc; do
			to=${home[$inc]:-}
			if [ -z "$to" ]; then
				bad+=("$(basename "$f") includes $inc, which no folder holds")
			elif [ "${rank[$to]}" -gt "${rank[$s]}" ]; then
				bad+=("$(basename "$f") includes $to/$inc, above $s")
			fi
		done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
	done
	ok ${#bad[@]} "lib/$s includes only its own folder and those below it"
	for b in "${bad[@]}"; do echo "#   $b"; done
done

# The adapters may use any stage, but only headers that exist.
bad=()
for f in "$src"/hook/*.[ch]; do
	while read -r inc; do
		[ -n "${home[$inc]:-}" ] || [ -f "$src/hook/$inc" ] || bad+=("$(basename "$f") includes $inc")
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done
ok ${#bad[@]} "hook/ includes only headers of lib/ or hook/"
for b in "${bad[@]}"; do echo "#   $b"; done

# The check itself can fail: a header of a higher stage included from a
# lower one is caught.
if [ "${GT_LAYERS_PROBE:-}" != 1 ]; then
	probe=$(mktemp -d)
	trap 'rm -rf "$probe"' EXIT
	for s in "${stages[@]}"; do mkdir -p "$probe/lib/$s"; done
	mkdir -p "$probe/hook"
	echo '#include "plan.h"' >"$probe/lib/base/x.c"
	: >"$probe/lib/tune/plan.h"
	GT_LAYERS_PROBE=1 bash "$0" "$probe" >"$probe/out" 2>&1
	grep -q '^not ok .*lib/base includes only' "$probe/out" && grep -q 'x.c includes tune/plan.h, above base' "$probe/out"
	ok $? "an include of tune/plan.h from base is reported (self-check)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
