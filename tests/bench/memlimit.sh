#!/usr/bin/env bash
# Memory limit scenario: a Go program keeps a live heap of a fraction of the
# container's memory limit and churns garbage on top, in a runc container
# with 200 MiB and 0.5 CPU, with the default env (plain runc) and through
# gotune-runc with the default policy (as installed), alternating, for each
# Go of GO_VARIANTS (tests/gobuild names the toolchain and go.mod line; no
# Go sets a memory limit by itself). Counts OOM kills (exit 137) and times
# the runs that finish. Writes a Markdown table and, when gnuplot is there,
# a PNG.
#   tests/bench/memlimit.sh [BUILDDIR] [RUNS] [OUTDIR]
#   FRACTIONS="0.20 0.30 0.40 0.50 0.60 0.70" (live heap, of the limit);
#   GO_VARIANTS="go119 go126" (a variant whose Go is not here is left out
#   with a warning).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
runs=${2:-10}
out=${3:-tests/bench/results}
case $build in /*) hook=$build/hook/gotune-hook ;; *) hook=$PWD/$build/hook/gotune-hook ;; esac
[ -x "$hook" ] || { echo "build first" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d /var/tmp/gotune-memlimit.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/sys"
go_variants=()
go_desc=()
for gv in ${GO_VARIANTS:-go119 go126}; do
	if GOCACHE="$work/go-cache" tests/gobuild "$gv" tests/bench/workloads/gcheap "$work/rootfs/gcheap-$gv" \
		>"$work/gobuild.txt" 2>&1; then
		go_variants+=("$gv")
		go_desc+=("$(cat "$work/gobuild.txt")")
	else
		echo "memlimit: warning: $gv left out: $(cat "$work/gobuild.txt")" >&2
	fi
done
[ ${#go_variants[@]} -gt 0 ] || { echo "memlimit: no Go to build the workload" >&2; exit 1; }
echo '{}' >"$work/policy.json"
limit_mib=200
read -r -a fractions <<<"${FRACTIONS:-0.20 0.30 0.40 0.50 0.60 0.70}"

bundle() { # DIR LIVE_MIB GO
	runc spec --bundle "$1"
	jq --arg root "$work/rootfs" --arg live "$2" --arg bin "/gcheap-$3" '
		.root = {path: $root, readonly: true} | .process.terminal = false
		| .process.args = [$bin, "-live", $live, "-churn", "1500"]
		| .linux.resources.cpu = {quota: 50000, period: 100000}
		| .linux.resources.memory = {limit: 209715200}' "$1/config.json" >"$1/c.json"
	mv "$1/c.json" "$1/config.json"
}

# run CASE LIVE GO I: prints "exit seconds"
run() {
	local id=ml-$1-$3-$4-$$ b=$work/b-$1-$3-$4
	rm -rf "$b"
	mkdir -p "$b"
	bundle "$b" "$2" "$3"
	local t0 t1 rc
	t0=$(date +%s.%N)
	if [ "$1" = default ]; then
		runc run --bundle "$b" "$id" >/dev/null 2>&1 && rc=0 || rc=$?
	else
		"$hook" runtime --policy "$work/policy.json" --runtime "$(command -v runc)" -- \
			run --bundle "$b" "$id" >/dev/null 2>&1 && rc=0 || rc=$?
	fi
	t1=$(date +%s.%N)
	runc delete -f "$id" >/dev/null 2>&1 || true
	echo "$rc $(echo "$t1 - $t0" | bc)"
}

table=$out/memlimit.md
data=$out/memlimit.dat
{
	echo "Memory limit scenario (\`tests/bench/memlimit.sh\`): $(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r)," \
		"$(runc --version | head -n1); 200 MiB and 0.5 CPU; $runs runs per row, default env and gotune alternating."
	echo
	echo "Workload built by tests/gobuild:"
	printf -- '- %s\n' "${go_desc[@]}"
	echo
	echo "| Go | live heap (of 200 MiB) | default: OOM-killed | default: median s | gotune: OOM-killed | gotune: median s |"
	echo "|---|---|---|---|---|---|"
} >"$table"
: >"$data"
# shellcheck disable=SC2086 # the times are a space-separated list on purpose
med() { [ -z "$1" ] && { echo "-"; return; }; printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {printf "%.2f\n", (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for gv in "${go_variants[@]}"; do
	gover=$(sed -n "s/^$gv: built by .* (\(go[0-9.]*\)), go.mod '\(go [0-9.]*\)'.*/\1, \2/p" <<<"$(printf '%s\n' "${go_desc[@]}")")
	for f in "${fractions[@]}"; do
		live=$(printf '%.0f' "$(echo "$limit_mib * $f" | bc)")
		declare -A oom=([default]=0 [gotune]=0)
		declare -A times=([default]="" [gotune]="")
		for i in $(seq "$runs"); do
			for c in default gotune; do
				read -r rc secs < <(run "$c" "$live" "$gv" "$f-$i")
				if [ "$rc" = 137 ]; then
					oom[$c]=$((oom[$c] + 1))
				elif [ "$rc" = 0 ]; then
					times[$c]="${times[$c]} $secs"
				else
					echo "unexpected exit $rc ($c, $gv, live $live MiB)" >&2
				fi
			done
		done
		md=$(med "${times[default]}")
		mg=$(med "${times[gotune]}")
		echo "| $gover | ${f} (${live} MiB) | ${oom[default]}/$runs | $md | ${oom[gotune]}/$runs | $mg |" >>"$table"
		echo "\"$f $gv\" ${oom[default]} ${oom[gotune]} $runs" >>"$data"
		echo "$gv live $live MiB: default OOM ${oom[default]}/$runs (median ${md}s), gotune OOM ${oom[gotune]}/$runs (median ${mg}s)"
		unset oom times
	done
done
cat "$table"
if command -v gnuplot >/dev/null; then
	gnuplot <<GP
set terminal pngcairo size 860,420 font ",11"
set output "$out/memlimit.png"
set title "Go job in a 200 MiB / 0.5 CPU runc container: OOM kills out of $runs runs"
set xlabel "live heap, fraction of the memory limit; Go build"
set ylabel "runs OOM-killed (exit 137)"
set yrange [0:$runs + 1]
set xtics rotate by -30
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set key top left
plot "$data" using 2:xtic(1) title "default env" lc rgb "#c0392b", "" using 3 title "with gotune" lc rgb "#2e86c1"
GP
fi
