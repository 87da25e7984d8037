#!/usr/bin/env bash
# CPU quota scenario (issue #8, scenario 2): two Go workloads in runc
# containers limited to 0.5, 1.0 and 1.5 CPU (period 100000 us), with the
# default env (Go runs as many Ps as the host has CPUs) and through
# gotune-runc (GOMAXPROCS from the quota), alternating.
#   A  gctree: a GC-heavy parallel job (pointer trees built and dropped by 8
#      goroutines, a fixed amount of work); the elapsed time it prints.
#   B  httpalloc: a net/http server (host network namespace, loopback) that
#      builds HTTP_RECORDS small objects per request, loaded by wrk from the host; requests/s
#      and the latency p50/p99 wrk reports (--latency).
# At 0.5 and 1.0 CPU: default env vs gotune (rounding ceil, the default). At
# 1.5 CPU ceil gives 2 (= what Go picks by itself on a 2-CPU host), so that
# cell compares gotune's two rounding modes instead: the annotation
# gotune.io/rounding ceil vs floor. Per run, the container cgroup's cpu.stat
# (nr_throttled, throttled time; cgroup v1 or v2) over the measured window:
# the container's whole life for A, the wrk window for B.
# Writes OUTDIR/cpuquota.md (medians and ratios) and, with gnuplot,
# OUTDIR/cpuquota.png.
#   tests/bench/cpuquota.sh [--smoke] [BUILDDIR] [OUTDIR]
#   RUNS=5 runs per cell and variant; WRK_SECONDS=10; WRK_THREADS=2;
#   WRK_CONNECTIONS=32; PORT=18080; HTTP_RECORDS=512 (work per request);
#   BOOST=1: the bench's parent cgroup gets cpu.shares 10240 (v2: cpu.weight
#   1000) and wrk runs at nice -10, so other work on the host takes less CPU
#   from the measured containers (the quota still binds them); BOOST=0: off.
# --smoke: one run per cell, short runs; fails unless every cell produced
# numbers and the GOMAXPROCS expected; writes files only when OUTDIR is given.
set -euo pipefail
cd "$(dirname "$0")/../.."
smoke=0
if [ "${1:-}" = --smoke ]; then smoke=1; shift; fi
build=${1:-build}
if [ $smoke = 1 ]; then out=${2:-}; else out=${2:-tests/bench/plots}; fi
case $build in /*) hook=$build/hook/gotune-hook ;; *) hook=$PWD/$build/hook/gotune-hook ;; esac
[ -x "$hook" ] || { echo "build first: meson setup $build && ninja -C $build" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (runc, cgroups)" >&2; exit 1; }
for c in runc wrk jq awk; do
	command -v "$c" >/dev/null || { echo "$c not found (bash .ci/deps test; apt-get install wrk)" >&2; exit 1; }
done
runc=$(command -v runc)
port=${PORT:-18080}
records=${HTTP_RECORDS:-512}
wrk_t=${WRK_THREADS:-2}
wrk_c=${WRK_CONNECTIONS:-32}
if [ $smoke = 1 ]; then
	runs=1 wrk_s=2 trees=60
else
	runs=${RUNS:-5} wrk_s=${WRK_SECONDS:-10} trees=400
fi
host_cpus=$(nproc)
t_start=$(date +%s)
# hostbusy: CPU seconds the whole host has spent busy since boot (/proc/stat,
# USER_HZ ticks: user system irq softirq steal; not nice: work at a positive
# nice value, such as a background fuzzer at 19, yields to the bench).
hostbusy() { awk '$1 == "cpu" {printf "%.2f\n", ($2 + $4 + $7 + $8 + $9) / 100; exit}' /proc/stat; }
b0=$(hostbusy)
sleep 2
idle0=$(awk -v a="$b0" -v b="$(hostbusy)" -v n="$host_cpus" 'BEGIN {printf "%.0f", 100 * (b - a) / (2 * n)}')
if [ "$idle0" -gt 10 ]; then
	echo "cpuquota: warning: the host is ${idle0}% busy before the run; other work on this machine skews the figures" >&2
fi

work=$(mktemp -d /var/tmp/gotune-cpuquota.XXXXXX)
cg_parent=gotune-bench-$$
ids=()
cleanup() {
	local id d
	for id in ${ids[@]+"${ids[@]}"}; do
		timeout 20 "$runc" delete -f "$id" >/dev/null 2>&1 || true
	done
	for d in /sys/fs/cgroup/*/"$cg_parent" /sys/fs/cgroup/"$cg_parent"; do
		rmdir "$d" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

go_variant=${GO_VARIANT:-go119}
for w in gctree httpalloc; do
	GOCACHE="$work/go-cache" tests/gobuild "$go_variant" "tests/bench/workloads/$w" "$work/$w" >"$work/gobuild.txt" ||
		{ cat "$work/gobuild.txt" >&2; exit 1; }
done
go_desc=$(sed 's/^[^:]*: //' "$work/gobuild.txt")
mkdir -p "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/sys" "$work/rootfs/tmp"
cp "$work/gctree" "$work/httpalloc" "$work/rootfs/"
echo '{}' >"$work/policy.json"

if [ -f /sys/fs/cgroup/cgroup.controllers ]; then cgv=2; else cgv=1; fi
boost=${BOOST:-1}
wrk_prio=()
if [ "$boost" = 1 ]; then
	# runc creates the containers' cgroups under this parent; its weight is
	# what the containers get against the host's other processes.
	if [ $cgv = 1 ]; then
		mkdir -p "/sys/fs/cgroup/cpu/$cg_parent" && echo 10240 >"/sys/fs/cgroup/cpu/$cg_parent/cpu.shares" || boost=0
	else
		{ echo +cpu >/sys/fs/cgroup/cgroup.subtree_control && mkdir -p "/sys/fs/cgroup/$cg_parent" &&
			echo 1000 >"/sys/fs/cgroup/$cg_parent/cpu.weight"; } 2>/dev/null || boost=0
	fi
	[ "$boost" = 1 ] || echo "cpuquota: warning: could not raise the bench cgroup's CPU weight" >&2
	wrk_prio=(nice -n -10)
fi
# cpustat ID: "nr_throttled throttled_usec usage_usec" of the container's cgroup.
cpustat() {
	if [ $cgv = 2 ]; then
		awk '$1 == "nr_throttled" {n = $2} $1 == "throttled_usec" {u = $2} $1 == "usage_usec" {c = $2}
			END {printf "%d %d %d\n", n, u, c}' "/sys/fs/cgroup/$cg_parent/$1/cpu.stat"
	else
		awk 'FNR == NR && $1 == "nr_throttled" {n = $2} FNR == NR && $1 == "throttled_time" {u = $2 / 1000}
			FNR != NR {c = $1 / 1000} END {printf "%d %d %d\n", n, u, c}' \
			"/sys/fs/cgroup/cpu/$cg_parent/$1/cpu.stat" "/sys/fs/cgroup/cpuacct/$cg_parent/$1/cpuacct.usage"
	fi
}
# cpusec USEC: seconds with 2 decimals
cpusec() { awk -v u="$1" 'BEGIN {printf "%.2f", u / 1e6}'; }

# bundle DIR ID QUOTA VARIANT ARGS...: a bundle running ARGS with QUOTA
# (us per 100000), in cgroup /$cg_parent/ID, in the host network namespace.
bundle() {
	local b=$1 id=$2 quota=$3 variant=$4 ann='{}'
	shift 4
	case $variant in
	ceil | floor) ann=$(jq -cn --arg r "$variant" '{"gotune.io/rounding": $r}') ;;
	esac
	rm -rf "$b"
	mkdir -p "$b"
	"$runc" spec --bundle "$b"
	local args
	args=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
	jq --arg root "$work/rootfs" --arg cg "/$cg_parent/$id" --argjson quota "$quota" \
		--argjson ann "$ann" --argjson args "$args" '
		.root = {path: $root, readonly: true} | .process.terminal = false
		| .process.args = $args
		| .linux.resources.cpu = {quota: $quota, period: 100000}
		| .linux.cgroupsPath = $cg
		| .linux.namespaces |= map(select(.type != "network"))
		| if ($ann | length) > 0 then .annotations = $ann else . end' \
		<"$b/config.json" >"$b/c.json"
	mv "$b/c.json" "$b/config.json"
}

# create VARIANT BUNDLE ID: create the container (stdout/stderr of its init
# to BUNDLE/out, BUNDLE/err); default = plain runc, else through gotune.
create() {
	ids+=("$3")
	if [ "$1" = default ]; then
		"$runc" create --bundle "$2" "$3" >"$2/out" 2>"$2/err" </dev/null
	else
		"$hook" runtime --policy "$work/policy.json" --runtime "$runc" -- \
			create --bundle "$2" "$3" >"$2/out" 2>"$2/err" </dev/null
	fi
}

status() { "$runc" state "$1" 2>/dev/null | jq -r .status; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
gomaxprocs_of() { sed -n 's/^GOMAXPROCS=\([0-9]*\).*/\1/p' "$1" | head -n1; }
fail() { echo "cpuquota: $*" >&2; exit 1; }

# ms VALUE-WITH-UNIT (wrk: 850.00us, 1.23ms, 2.01s) -> milliseconds
ms() { awk -v v="$1" 'BEGIN {
	if (v ~ /us$/) printf "%.3f", v / 1000; else if (v ~ /ms$/) printf "%.3f", v + 0;
	else if (v ~ /m$/) printf "%.3f", v * 60000; else if (v ~ /s$/) printf "%.3f", v * 1000;
	else print "-" }'; }

runs_tsv=$work/runs.tsv
: >"$runs_tsv"
n=0
# run_gctree QUOTA VARIANT I: one run; appends to runs.tsv.
run_gctree() {
	local quota=$1 v=$2 id b st='' i
	n=$((n + 1))
	id=cq$$-a$n
	b=$work/b-$id
	bundle "$b" "$id" "$quota" "$v" /gctree -trees "$trees"
	local h0 h1 pid
	create "$v" "$b" "$id" || fail "create failed ($v, quota $quota): $(cat "$b/err")"
	pid=$("$runc" state "$id" | jq -r .pid)
	h0=$(hostbusy)
	"$runc" start "$id" || fail "start failed"
	# Wait for the container's process to end without running anything
	# heavier than sleep meanwhile (a runc per poll would eat CPU too).
	for i in $(seq 3000); do
		[ -r "/proc/$pid/stat" ] || break
		read -r _ _ st _ <"/proc/$pid/stat" || break
		[ "$st" = Z ] && break
		sleep 0.05
	done
	h1=$(hostbusy)
	[ "$(status "$id")" = stopped ] || fail "gctree did not finish in 150 s"
	read -r thr_n thr_us cpu_us < <(cpustat "$id")
	"$runc" delete -f "$id" >/dev/null 2>&1 || true
	local gmp secs
	gmp=$(gomaxprocs_of "$b/out")
	secs=$(sed -n 's/^elapsed=//p' "$b/out")
	local other
	other=$(awk -v a="$h0" -v b="$h1" -v c="$cpu_us" 'BEGIN {printf "%.2f", b - a - c / 1e6}')
	printf 'gctree\t%s\t%s\t%s\t%s\t%s\t-\t-\t%s\t%s\t%s\t%s\n' "$quota" "$v" "$3" "${gmp:--}" "${secs:--}" \
		"$thr_n" "$((thr_us / 1000))" "$(cpusec "$cpu_us")" "$other" >>"$runs_tsv"
	echo "  gctree quota $quota $v #$3: GOMAXPROCS ${gmp:-?}, ${secs:-?} s, throttled $thr_n x, $((thr_us / 1000)) ms, CPU $(cpusec "$cpu_us") s, host CPU outside it $other s"
	rm -rf "$b"
}

# run_http QUOTA VARIANT I: one run; appends to runs.tsv.
run_http() {
	local quota=$1 v=$2 id b i n0 u0 c0 n1 u1 c1
	n=$((n + 1))
	id=cq$$-b$n
	b=$work/b-$id
	! port_open || fail "something already listens on 127.0.0.1:$port (PORT=...)"
	bundle "$b" "$id" "$quota" "$v" /httpalloc -addr "127.0.0.1:$port" -records "$records"
	create "$v" "$b" "$id" || fail "create failed ($v, quota $quota): $(cat "$b/err")"
	"$runc" start "$id" || fail "start failed"
	for i in $(seq 200); do
		port_open && break
		sleep 0.05
	done
	port_open || fail "httpalloc does not listen on $port: $(cat "$b/out" "$b/err")"
	read -r n0 u0 c0 < <(cpustat "$id")
	local h0 h1 other
	h0=$(hostbusy)
	"${wrk_prio[@]}" wrk -t"$wrk_t" -c"$wrk_c" -d"${wrk_s}s" --latency "http://127.0.0.1:$port/" >"$b/wrk" 2>&1 ||
		fail "wrk failed: $(cat "$b/wrk")"
	read -r n1 u1 c1 < <(cpustat "$id")
	h1=$(hostbusy)
	other=$(awk -v a="$h0" -v b="$h1" -v c="$((c1 - c0))" 'BEGIN {printf "%.2f", b - a - c / 1e6}')
	"$runc" delete -f "$id" >/dev/null 2>&1 || true
	local gmp rps p50 p99 errs
	gmp=$(gomaxprocs_of "$b/out")
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$b/wrk")
	p50=$(ms "$(awk '/Latency Distribution/ {d = 1} d && $1 == "50%" {print $2; exit}' "$b/wrk")")
	p99=$(ms "$(awk '/Latency Distribution/ {d = 1} d && $1 == "99%" {print $2; exit}' "$b/wrk")")
	errs=$(grep -E '^ *(Socket errors|Non-2xx)' "$b/wrk" | tr -s ' ' || true)
	[ -z "$errs" ] || echo "  wrk reported: $errs" >&2
	printf 'http\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$quota" "$v" "$3" "${gmp:--}" "${rps:--}" \
		"${p50:--}" "${p99:--}" "$((n1 - n0))" "$(((u1 - u0) / 1000))" "$(cpusec $((c1 - c0)))" "$other" >>"$runs_tsv"
	echo "  http quota $quota $v #$3: GOMAXPROCS ${gmp:-?}, ${rps:-?} req/s, p50 ${p50:-?} ms, p99 ${p99:-?} ms, throttled $((n1 - n0)) x, $(((u1 - u0) / 1000)) ms, CPU $(cpusec $((c1 - c0))) s, host CPU outside it $other s (wrk included)"
	rm -rf "$b"
}

# The cells: quota (us per 100000 us), baseline variant, compared variant.
cells=("50000 default ceil" "100000 default ceil" "150000 ceil floor")
echo "cpuquota: $host_cpus host CPUs, cgroup v$cgv, $runs run(s) per cell and variant, wrk ${wrk_s}s -t$wrk_t -c$wrk_c, gctree -trees $trees, httpalloc -records $records"
for scen in gctree http; do
	for cell in "${cells[@]}"; do
		read -r quota va vb <<<"$cell"
		for i in $(seq "$runs"); do
			# A B, then B A: drift and warm-up effects hit both alike.
			if [ $((i % 2)) = 1 ]; then order="$va $vb"; else order="$vb $va"; fi
			for v in $order; do "run_$scen" "$quota" "$v" "$i"; done
		done
	done
done

# ------------------------------------------------------------ summary
# median SCEN QUOTA VARIANT COLUMN (6 metric, 7 p50, 8 p99, 9 nr_throttled,
# 10 ms, 11 CPU s, 12 host CPU s outside the container); "" matches any.
median() {
	awk -F'\t' -v s="$1" -v q="$2" -v v="$3" -v c="$4" \
		'$1 == s && (q == "" || $2 == q) && (v == "" || $3 == v) && $c != "-" {print $c}' "$runs_tsv" | sort -g |
		awk '{a[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
seen() { # distinct GOMAXPROCS values seen
	awk -F'\t' -v s="$1" -v q="$2" -v v="$3" '$1 == s && $2 == q && $3 == v {print $5}' "$runs_tsv" |
		sort -u | paste -sd, -
}
expect_gmp() { # QUOTA VARIANT: what Go should run with
	local q=$1 v=$2 want
	case $v in
	default) want=$host_cpus ;;
	ceil) want=$(((q + 99999) / 100000)) ;;
	floor) want=$((q / 100000)) ;;
	esac
	[ "$want" -ge 1 ] || want=1
	[ "$want" -le "$host_cpus" ] || want=$host_cpus
	echo "$want"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || a + 0 == 0) print "-"; else printf "%.2f", b / a}'; }
r1() { awk -v x="$1" 'BEGIN {if (x == "-") print "-"; else printf "%.1f", x}'; }
r2() { awk -v x="$1" 'BEGIN {if (x == "-") print "-"; else printf "%.2f", x}'; }
r3() { awk -v x="$1" 'BEGIN {if (x == "-") print "-"; else printf "%.3f", x}'; }
label() { case $1 in default) echo "default env" ;; ceil) echo "gotune ceil" ;; floor) echo "gotune floor" ;; esac; }

bad=0
table=$work/cpuquota.md
dat=$work/cpuquota.dat
{
	echo "CPU quota scenario (\`tests/bench/cpuquota.sh\`): $(date -u +%Y-%m-%d), $host_cpus CPUs," \
		"kernel $(uname -r), cgroup v$cgv, $("$runc" --version | head -n1), workloads $go_variant ($go_desc);" \
		"medians of $runs run(s) per row, variants alternating; wrk -t$wrk_t -c$wrk_c -d${wrk_s}s from the host" \
		"against httpalloc -records $records; gctree -trees $trees;" \
		"host ${idle0}% busy just before the run; BOOST=$boost."
	echo
	echo "| scenario | CPU quota | variant | GOMAXPROCS seen | median time s / req/s | p50 ms | p99 ms | nr_throttled | throttled ms | CPU used s | ratio |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
} >"$table"
: >"$dat"
declare -A M
for scen in gctree http; do
	for cell in "${cells[@]}"; do
		read -r quota va vb <<<"$cell"
		qlabel=$(awk -v q="$quota" 'BEGIN {printf "%.1f", q / 100000}')
		for v in "$va" "$vb"; do
			for c in 6 7 8 9 10 11; do M[$scen,$quota,$v,$c]=$(median "$scen" "$quota" "$v" "$c"); done
			got=$(seen "$scen" "$quota" "$v")
			want=$(expect_gmp "$quota" "$v")
			mark=
			if [ "$got" != "$want" ]; then
				mark=" (expected $want)"
				bad=1
				echo "cpuquota: $scen quota $qlabel $v: GOMAXPROCS seen '$got', expected $want" >&2
			fi
			if [ "${M[$scen,$quota,$v,6]}" = - ] ||
				{ [ $scen = http ] && { [ "${M[$scen,$quota,$v,7]}" = - ] || [ "${M[$scen,$quota,$v,8]}" = - ]; }; }; then
				bad=1
				echo "cpuquota: $scen quota $qlabel $v: no numbers" >&2
			fi
			rat=-
			if [ "$v" = "$vb" ]; then
				if [ $scen = gctree ]; then
					rat="time x$(ratio "${M[$scen,$quota,$va,6]}" "${M[$scen,$quota,$vb,6]}")"
				else
					rat="req/s x$(ratio "${M[$scen,$quota,$va,6]}" "${M[$scen,$quota,$vb,6]}"), p99 x$(ratio "${M[$scen,$quota,$va,8]}" "${M[$scen,$quota,$vb,8]}")"
				fi
			fi
			if [ $scen = gctree ]; then metric=$(r3 "${M[$scen,$quota,$v,6]}"); else metric=$(r1 "${M[$scen,$quota,$v,6]}"); fi
			echo "| $scen | $qlabel | $(label "$v") | $got$mark | $metric | $(r2 "${M[$scen,$quota,$v,7]}") | $(r2 "${M[$scen,$quota,$v,8]}") | ${M[$scen,$quota,$v,9]} | ${M[$scen,$quota,$v,10]} | $(r2 "${M[$scen,$quota,$v,11]}") | $rat |" >>"$table"
		done
	done
done
for cell in "${cells[@]}"; do
	read -r quota va vb <<<"$cell"
	qlabel=$(awk -v q="$quota" 'BEGIN {printf "%.1f", q / 100000}')
	[ "$va" = default ] || qlabel="$qlabel ($va/$vb)"
	printf '"%s"\t%s\t%s\t%s\t%s\t%s\t%s\n' "$qlabel" \
		"${M[gctree,$quota,$va,6]}" "${M[gctree,$quota,$vb,6]}" \
		"${M[http,$quota,$va,6]}" "${M[http,$quota,$vb,6]}" \
		"${M[http,$quota,$va,8]}" "${M[http,$quota,$vb,8]}" >>"$dat"
done
{
	echo
	echo "ratio: the second row of a pair over the first (gotune / default; at 1.5 CPU floor / ceil)."
	echo "GOMAXPROCS seen: what the program printed at start (runtime.GOMAXPROCS(0))."
	echo "Throttling: the container cgroup's cpu.stat (nr_throttled periods; throttled time summed over the CPUs' run queues," \
		"so it can exceed the wall time) and CPU time used (cpuacct.usage or usage_usec); gctree over the container's life," \
		"http over the wrk window (${wrk_s} s: a server held to its quota uses quota x ${wrk_s} s)."
	echo "wrk runs on the same $host_cpus CPUs as the server, outside its cgroup. Host CPU used outside the container" \
		"per run (/proc/stat busy, niced work excluded, minus the container's usage), median: gctree $(r2 "$(median gctree "" "" 12)") s" \
		"(from start to exit: the wait loop only; more means other work on the host), http $(r2 "$(median http "" "" 12)") s (wrk and loopback included)."
	og=$(median gctree "" "" 12)
	if awk -v o="$og" 'BEGIN {exit !(o > 0.2)}'; then
		echo
		echo "**Warning:** other work ran on the host during this run (median $og CPU s per gctree run outside its container);" \
			"the figures are skewed (less so with BOOST=1)."
		echo "cpuquota: warning: other work on the host during the run ($og CPU s per gctree run)" >&2
	fi
} >>"$table"
cat "$table"

if [ -n "$out" ]; then
	mkdir -p "$out"
	cp "$table" "$out/cpuquota.md"
	echo "table: $out/cpuquota.md"
	if command -v gnuplot >/dev/null; then
		gnuplot <<-GP
			set terminal pngcairo size 1260,440 font ",10"
			set output "$out/cpuquota.png"
			set datafile separator "\t"
			set style data histogram
			set style histogram cluster gap 1
			set style fill solid 0.8 border -1
			set boxwidth 0.9
			set key below horizontal maxrows 1
			set yrange [0:*]
			set xlabel "CPU quota (CPUs of $host_cpus)"
			set multiplot layout 1,3 title "Go in a runc container under a CPU quota: default env vs gotune (medians of $runs runs)"
			set title "gctree: elapsed s (lower is better)"
			plot "$dat" using 2:xtic(1) title "default (1.5: ceil)" lc rgb "#c0392b", "" using 3 title "gotune (1.5: floor)" lc rgb "#2e86c1"
			set title "httpalloc: requests/s (higher is better)"
			plot "$dat" using 4:xtic(1) title "default (1.5: ceil)" lc rgb "#c0392b", "" using 5 title "gotune (1.5: floor)" lc rgb "#2e86c1"
			set title "httpalloc: p99 latency ms (lower is better)"
			plot "$dat" using 6:xtic(1) title "default (1.5: ceil)" lc rgb "#c0392b", "" using 7 title "gotune (1.5: floor)" lc rgb "#2e86c1"
			unset multiplot
		GP
		echo "plot: $out/cpuquota.png"
	fi
fi
echo "cpuquota: done in $(($(date +%s) - t_start)) s"
if [ $bad != 0 ]; then
	echo "cpuquota: FAILED (missing numbers or unexpected GOMAXPROCS, see above)" >&2
	exit 1
fi
