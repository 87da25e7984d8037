#!/usr/bin/env bash
# Memory limit scenario: a Go program keeps a live heap of a fraction of the
# container's memory limit and churns garbage on top, in a runc container
# with 200 MiB and 0.5 CPU, with the default env (plain runc) and through
# gotune-runc, alternating. Counts OOM kills (exit 137) and times the runs
# that finish. Writes a Markdown table and, when gnuplot is there, a PNG.
#   tests/bench/memlimit.sh [BUILDDIR] [RUNS] [OUTDIR]
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
go_variant=${GO_VARIANT:-go119}
GOCACHE="$work/go-cache" tests/gobuild "$go_variant" tests/bench/workloads/gcheap "$work/gcheap" >&2
mkdir -p "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/sys"
cp "$work/gcheap" "$work/rootfs/gcheap"
echo '{}' >"$work/policy.json"
limit_mib=200
read -r -a fractions <<<"${FRACTIONS:-0.20 0.30 0.40 0.50 0.60 0.70}"

bundle() { # DIR LIVE_MIB
	runc spec --bundle "$1"
	jq --arg root "$work/rootfs" --arg live "$2" '
		.root = {path: $root, readonly: true} | .process.terminal = false
		| .process.args = ["/gcheap", "-live", $live, "-churn", "1500"]
		| .linux.resources.cpu = {quota: 50000, period: 100000}
		| .linux.resources.memory = {limit: 209715200}' "$1/config.json" >"$1/c.json"
	mv "$1/c.json" "$1/config.json"
}

# run CASE LIVE I: prints "exit seconds"
run() {
	local b=$work/b-$1-$3
	rm -rf "$b"
	mkdir -p "$b"
	bundle "$b" "$2"
	local t0 t1 rc
	t0=$(date +%s.%N)
	if [ "$1" = default ]; then
		runc run --bundle "$b" "ml-$1-$3-$$" >/dev/null 2>&1 && rc=0 || rc=$?
	else
		"$hook" runtime --policy "$work/policy.json" --runtime "$(command -v runc)" -- \
			run --bundle "$b" "ml-$1-$3-$$" >/dev/null 2>&1 && rc=0 || rc=$?
	fi
	t1=$(date +%s.%N)
	runc delete -f "ml-$1-$3-$$" >/dev/null 2>&1 || true
	echo "$rc $(echo "$t1 - $t0" | bc)"
}

table=$out/memlimit.md
data=$out/memlimit.dat
{
	echo "| live heap (of 200 MiB) | default: OOM-killed | default: median s | gotune: OOM-killed | gotune: median s |"
	echo "|---|---|---|---|---|"
} >"$table"
: >"$data"
for f in "${fractions[@]}"; do
	live=$(printf '%.0f' "$(echo "$limit_mib * $f" | bc)")
	declare -A oom=([default]=0 [gotune]=0)
	declare -A times=([default]="" [gotune]="")
	for i in $(seq "$runs"); do
		for c in default gotune; do
			read -r rc secs < <(run "$c" "$live" "$f-$i")
			if [ "$rc" = 137 ]; then
				oom[$c]=$((oom[$c] + 1))
			elif [ "$rc" = 0 ]; then
				times[$c]="${times[$c]} $secs"
			else
				echo "unexpected exit $rc ($c, live $live MiB)" >&2
			fi
		done
	done
	med() { [ -z "$1" ] && { echo "-"; return; }; printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
	md=$(med "${times[default]}")
	mg=$(med "${times[gotune]}")
	echo "| ${f} (${live} MiB) | ${oom[default]}/$runs | $md | ${oom[gotune]}/$runs | $mg |" >>"$table"
	echo "$f ${oom[default]} ${oom[gotune]} $runs" >>"$data"
	echo "live $live MiB: default OOM ${oom[default]}/$runs (median ${md}s), gotune OOM ${oom[gotune]}/$runs (median ${mg}s)"
	unset oom times
done
cat "$table"
if command -v gnuplot >/dev/null; then
	gnuplot <<GP
set terminal pngcairo size 720,420 font ",11"
set output "$out/memlimit.png"
set title "Go job in a 200 MiB / 0.5 CPU runc container: OOM kills out of $runs runs"
set xlabel "live heap, fraction of the memory limit"
set ylabel "runs OOM-killed (exit 137)"
set yrange [0:$runs + 1]
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set key top left
plot "$data" using 2:xtic(1) title "default env" lc rgb "#c0392b", "" using 3 title "with gotune" lc rgb "#2e86c1"
GP
	echo "plot: $out/memlimit.png"
fi
