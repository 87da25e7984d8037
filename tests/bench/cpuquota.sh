#!/usr/bin/env bash
# CPU quota scenario: two Go workloads in runc containers limited to 0.5,
# 1.0, 1.5 and 2.0 CPU (period 100000 us), each built by every Go of
# GO_VARIANTS (tests/gobuild names the toolchain and go.mod line: go119 runs
# as many Ps as the host has CPUs; go126, go.mod go 1.26, sets GOMAXPROCS
# from the quota itself, at least 2, and tracks it), with the default env
# (plain runc: Go's own choice) and through gotune-runc with the default
# policy (as installed), alternating.
#   A  gctree: a GC-heavy parallel job (pointer trees built and dropped by 8
#      goroutines, a fixed amount of work); the elapsed time it prints.
#   B  httpalloc: a net/http server (host network namespace, loopback) that
#      builds HTTP_RECORDS small objects per request, loaded by wrk from the host; requests/s
#      and the latency p50/p99 wrk reports (--latency).
#   C  resize: httpalloc started at 0.5 CPU, wrk for RESIZE_A seconds, then
#      `runc update --cpu-quota 200000` (2 CPUs) under the running server,
#      RESIZE_SETTLE seconds for Go's own tracking to notice, and wrk for
#      WRK_SECONDS more; GOMAXPROCS asked of the server after. An explicit
#      GOMAXPROCS stays what it was at start; Go >= 1.25's own follows.
#      Variants: default env, gotune, and for a Go that tracks the hand knob
#      gotune.io/gomaxprocs-tracking=defer beside them.
# At 1.5 CPU the hand knob gotune.io/rounding=floor runs beside the default
# (ceil). Per run, the container cgroup's cpu.stat (nr_throttled, throttled
# time; cgroup v1 or v2) over the measured window: the container's whole life
# for A, the wrk window for B.
# Writes OUTDIR/cpuquota.md (medians and ratios) and, with gnuplot,
# OUTDIR/cpuquota.png.
#   tests/bench/cpuquota.sh [--smoke] [BUILDDIR] [OUTDIR]
#   RUNS=5 runs per cell and variant; QUOTAS="0.5 1.0 1.5 2.0" (CPUs);
#   GO_VARIANTS="go119 go126" (tests/gobuild variants; one whose Go is not
#   here is left out with a warning); SCENARIOS="gctree http resize";
#   WRK_SECONDS=10; WRK_THREADS=2; WRK_CONNECTIONS=32; PORT=18080;
#   HTTP_RECORDS=512 (work per request); RESIZE_A=5; RESIZE_SETTLE=2;
#   BOOST=1: the bench's parent cgroup gets cpu.shares 10240 (v2: cpu.weight
#   1000) and wrk runs at nice -10, so other work on the host takes less CPU
#   from the measured containers (the quota still binds them); BOOST=0: off.
# --smoke: one run per cell, short runs, quota 0.5 only; fails unless
# every cell produced numbers and the GOMAXPROCS expected; writes files only
# when OUTDIR is given.
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
	runs=1 wrk_s=${WRK_SECONDS:-2} trees=60 resize_a=1 settle=1.5 quotas=${QUOTAS:-0.5}
else
	runs=${RUNS:-5} wrk_s=${WRK_SECONDS:-10} trees=400 resize_a=${RESIZE_A:-5} settle=${RESIZE_SETTLE:-2}
	quotas=${QUOTAS:-0.5 1.0 1.5 2.0}
fi
read -r -a scenarios <<<"${SCENARIOS:-gctree http resize}"
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

mkdir -p "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/sys" "$work/rootfs/tmp"
go_variants=()
go_desc=()
for gv in ${GO_VARIANTS:-go119 go126}; do
	ok=1
	for w in gctree httpalloc; do
		GOCACHE="$work/go-cache" tests/gobuild "$gv" "tests/bench/workloads/$w" "$work/rootfs/$w-$gv" \
			>"$work/gobuild.txt" 2>&1 || ok=0
	done
	if [ $ok = 1 ]; then
		go_variants+=("$gv")
		go_desc+=("$(sed 's/ (cached)$//' "$work/gobuild.txt")")
	else
		echo "cpuquota: warning: $gv left out: $(cat "$work/gobuild.txt")" >&2
	fi
done
[ ${#go_variants[@]} -gt 0 ] || { echo "cpuquota: no Go to build the workloads" >&2; exit 1; }
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
	floor) ann='{"gotune.io/rounding": "floor"}' ;;
	defer | always) ann=$(jq -cn --arg t "$variant" '{"gotune.io/gomaxprocs-tracking": $t}') ;;
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
# to BUNDLE/out, BUNDLE/err); default = plain runc, else through gotune
# (gotune: the default policy, as installed; floor, defer, always: the
# same with a hand knob, set by bundle's annotation).
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
# run_gctree QUOTA GO:VARIANT I: one run; appends to runs.tsv.
run_gctree() {
	local quota=$1 v=$2 id b st='' i
	local gv=${v%%:*} var=${v#*:}
	n=$((n + 1))
	id=cq$$-a$n
	b=$work/b-$id
	bundle "$b" "$id" "$quota" "$var" "/gctree-$gv" -trees "$trees"
	local h0 h1 pid
	create "$var" "$b" "$id" || fail "create failed ($v, quota $quota): $(cat "$b/err")"
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

# http_start QUOTA GO:VARIANT ID BUNDLE: httpalloc created, started and
# listening.
http_start() {
	local quota=$1 v=$2 id=$3 b=$4 i
	local gv=${v%%:*} var=${v#*:}
	! port_open || fail "something already listens on 127.0.0.1:$port (PORT=...)"
	bundle "$b" "$id" "$quota" "$var" "/httpalloc-$gv" -addr "127.0.0.1:$port" -records "$records"
	create "$var" "$b" "$id" || fail "create failed ($v, quota $quota): $(cat "$b/err")"
	"$runc" start "$id" || fail "start failed"
	for i in $(seq 200); do
		port_open && break
		sleep 0.05
	done
	port_open || fail "httpalloc does not listen on $port: $(cat "$b/out" "$b/err")"
}

# wrk_window ID SECONDS FILE: load the server for SECONDS, wrk's report in
# FILE; prints "rps p50 p99 nr_throttled throttled_ms cpu_s other_s".
wrk_window() {
	local id=$1 secs=$2 f=$3 n0 u0 c0 n1 u1 c1 h0 h1 other errs
	read -r n0 u0 c0 < <(cpustat "$id")
	h0=$(hostbusy)
	"${wrk_prio[@]}" wrk -t"$wrk_t" -c"$wrk_c" -d"${secs}s" --latency "http://127.0.0.1:$port/" >"$f" 2>&1 ||
		fail "wrk failed: $(cat "$f")"
	read -r n1 u1 c1 < <(cpustat "$id")
	h1=$(hostbusy)
	other=$(awk -v a="$h0" -v b="$h1" -v c="$((c1 - c0))" 'BEGIN {printf "%.2f", b - a - c / 1e6}')
	errs=$(grep -E '^ *(Socket errors|Non-2xx)' "$f" | tr -s ' ' || true)
	[ -z "$errs" ] || echo "  wrk reported: $errs" >&2
	local rps p50 p99
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$f")
	p50=$(ms "$(awk '/Latency Distribution/ {d = 1} d && $1 == "50%" {print $2; exit}' "$f")")
	p99=$(ms "$(awk '/Latency Distribution/ {d = 1} d && $1 == "99%" {print $2; exit}' "$f")")
	echo "${rps:--} ${p50:--} ${p99:--} $((n1 - n0)) $(((u1 - u0) / 1000)) $(cpusec $((c1 - c0))) $other"
}

# run_http QUOTA GO:VARIANT I: one run; appends to runs.tsv.
run_http() {
	local quota=$1 v=$2 id b
	n=$((n + 1))
	id=cq$$-b$n
	b=$work/b-$id
	http_start "$quota" "$v" "$id" "$b"
	local rps p50 p99 thr_n thr_ms cpu other gmp
	read -r rps p50 p99 thr_n thr_ms cpu other < <(wrk_window "$id" "$wrk_s" "$b/wrk")
	"$runc" delete -f "$id" >/dev/null 2>&1 || true
	gmp=$(gomaxprocs_of "$b/out")
	printf 'http\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$quota" "$v" "$3" "${gmp:--}" "$rps" \
		"$p50" "$p99" "$thr_n" "$thr_ms" "$cpu" "$other" >>"$runs_tsv"
	echo "  http quota $quota $v #$3: GOMAXPROCS ${gmp:-?}, $rps req/s, p50 $p50 ms, p99 $p99 ms, throttled $thr_n x, $thr_ms ms, CPU $cpu s, host CPU outside it $other s (wrk included)"
	rm -rf "$b"
}

# run_resize QUOTA GO:VARIANT I: the server starts at QUOTA, is loaded for
# RESIZE_A s, gets 2 CPUs (runc update) and RESIZE_SETTLE s, is loaded for
# WRK_SECONDS; appends one row per phase (resize-a, resize-b) to runs.tsv,
# GOMAXPROCS being what the server says at the end of the phase.
run_resize() {
	local quota=$1 v=$2 id b gmp_a gmp_b
	n=$((n + 1))
	id=cq$$-c$n
	b=$work/b-$id
	http_start "$quota" "$v" "$id" "$b"
	local rps p50 p99 thr_n thr_ms cpu other
	read -r rps p50 p99 thr_n thr_ms cpu other < <(wrk_window "$id" "$resize_a" "$b/wrk-a")
	gmp_a=$(curl_gomaxprocs)
	printf 'resize-a\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$quota" "$v" "$3" "${gmp_a:--}" "$rps" \
		"$p50" "$p99" "$thr_n" "$thr_ms" "$cpu" "$other" >>"$runs_tsv"
	"$runc" update --cpu-quota 200000 --cpu-period 100000 "$id" || fail "runc update failed"
	sleep "$settle"
	read -r rps p50 p99 thr_n thr_ms cpu other < <(wrk_window "$id" "$wrk_s" "$b/wrk-b")
	gmp_b=$(curl_gomaxprocs)
	printf 'resize-b\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$quota" "$v" "$3" "${gmp_b:--}" "$rps" \
		"$p50" "$p99" "$thr_n" "$thr_ms" "$cpu" "$other" >>"$runs_tsv"
	"$runc" delete -f "$id" >/dev/null 2>&1 || true
	echo "  resize $v #$3: at $quota GOMAXPROCS ${gmp_a:-?}; after update to 2 CPUs GOMAXPROCS ${gmp_b:-?}, $rps req/s, p99 $p99 ms"
	rm -rf "$b"
}
# curl_gomaxprocs: the server's GOMAXPROCS now (bash's /dev/tcp: no curl needed).
curl_gomaxprocs() {
	local line
	exec 4<>"/dev/tcp/127.0.0.1/$port" || return 0
	printf 'GET /gomaxprocs HTTP/1.0\r\nHost: x\r\n\r\n' >&4
	line=$(tr -d '\r' <&4 | tail -n1)
	exec 4<&-
	case $line in '' | *[!0-9]*) echo - ;; *) echo "$line" ;; esac
}

# tracks GO: that build sets GOMAXPROCS from the CPU limit itself.
tracks() { case $1 in go126 | go127) return 0 ;; *) return 1 ;; esac; }
us() { awk -v c="$1" 'BEGIN {printf "%d", c * 100000}'; }

# The cells: "SCENARIO QUOTA_US BASE COMPARED..." (variants GO:VARIANT).
cells=()
for scen in "${scenarios[@]}"; do
	case $scen in
	gctree | http)
		for q in $quotas; do
			for gv in "${go_variants[@]}"; do
				c="$scen $(us "$q") $gv:default $gv:gotune"
				[ "$q" = 1.5 ] && c+=" $gv:floor"
				cells+=("$c")
			done
		done
		;;
	resize)
		for gv in "${go_variants[@]}"; do
			c="resize 50000 $gv:default $gv:gotune"
			tracks "$gv" && c+=" $gv:defer"
			cells+=("$c")
		done
		;;
	*) echo "cpuquota: unknown scenario $scen" >&2; exit 2 ;;
	esac
done
echo "cpuquota: $host_cpus host CPUs, cgroup v$cgv, $runs run(s) per cell and variant, wrk ${wrk_s}s -t$wrk_t -c$wrk_c, gctree -trees $trees, httpalloc -records $records"
printf 'cpuquota: %s\n' "${go_desc[@]}"
for cell in "${cells[@]}"; do
	read -r -a f <<<"$cell"
	scen=${f[0]} quota=${f[1]}
	vs=("${f[@]:2}")
	for i in $(seq "$runs"); do
		# Each run starts one later in the list: drift and warm-up effects
		# hit every variant alike.
		for k in "${!vs[@]}"; do
			"run_$scen" "$quota" "${vs[$(((k + i) % ${#vs[@]}))]}" "$i"
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

bad=0
table=$work/cpuquota.md
dat=$work/cpuquota.dat
{
	echo "CPU quota scenario (\`tests/bench/cpuquota.sh\`): $(date -u +%Y-%m-%d), $host_cpus CPUs," \
		"kernel $(uname -r), cgroup v$cgv, $("$runc" --version | head -n1);" \
		"medians of $runs run(s) per row, variants alternating; wrk -t$wrk_t -c$wrk_c -d${wrk_s}s from the host" \
		"against httpalloc -records $records; gctree -trees $trees;" \
		"host ${idle0}% busy just before the run; BOOST=$boost."
	echo
	echo "Workloads built by tests/gobuild:"
	printf -- '- %s\n' "${go_desc[@]}"
	echo
	echo "| scenario | Go | CPU quota | variant | GOMAXPROCS seen | median time s / req/s | p50 ms | p99 ms | nr_throttled | throttled ms | CPU used s | ratio |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$table"
: >"$dat"
declare -A M
# own GO QUOTA_US: what that Go picks by itself.
own() {
	local n=$host_cpus c
	if tracks "$1"; then
		c=$((($2 + 99999) / 100000))
		[ "$c" -ge 2 ] || c=2
		[ "$c" -le "$n" ] || c=$n
		n=$c
	fi
	echo "$n"
}
# planned GO VARIANT QUOTA_US: GOMAXPROCS gotune sets, or "" (none).
planned() {
	local gv=$1 var=$2 q=$3 want
	[ "$var" = default ] && return
	if [ "$var" = floor ]; then want=$((q / 100000)); else want=$(((q + 99999) / 100000)); fi
	[ "$want" -ge 1 ] || want=1
	[ "$want" -lt "$host_cpus" ] || return
	if tracks "$gv"; then
		case $var in
		defer) return ;;
		always) ;;
		*) [ "$want" -lt 2 ] || return ;;
		esac
	fi
	echo "$want"
}
# expect_gmp SCEN QUOTA_US GO:VARIANT: what Go should run with (resize-b:
# after the update to 2 CPUs; an explicit value stays, Go's own follows).
expect_gmp() {
	local scen=$1 q=$2 gv=${3%%:*} var=${3#*:} p
	p=$(planned "$gv" "$var" "$q")
	if [ -n "$p" ]; then echo "$p"; return; fi
	[ "$scen" = resize-b ] && q=200000
	own "$gv" "$q"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || a + 0 == 0) print "-"; else printf "%.2f", b / a}'; }
r1() { awk -v x="$1" 'BEGIN {if (x == "-") print "-"; else printf "%.1f", x}'; }
r2() { awk -v x="$1" 'BEGIN {if (x == "-") print "-"; else printf "%.2f", x}'; }
r3() { awk -v x="$1" 'BEGIN {if (x == "-") print "-"; else printf "%.3f", x}'; }
label() {
	case $1 in
	default) echo "default env" ;;
	gotune) echo "gotune (default policy)" ;;
	floor) echo "gotune, rounding floor" ;;
	defer) echo "gotune, tracking defer" ;;
	always) echo "gotune, tracking always" ;;
	esac
}
gover() { sed -n "s/^$1: built by .* (\(go[0-9.]*\)), go.mod '\(go [0-9.]*\)'.*/\1, \2/p" <<<"$(printf '%s\n' "${go_desc[@]}")"; }

for cell in "${cells[@]}"; do
	read -r -a f <<<"$cell"
	cscen=${f[0]} quota=${f[1]}
	vs=("${f[@]:2}")
	phases=("$cscen")
	[ "$cscen" = resize ] && phases=(resize-a resize-b)
	for scen in "${phases[@]}"; do
		qlabel=$(awk -v q="$quota" 'BEGIN {printf "%.1f", q / 100000}')
		[ "$scen" = resize-a ] && qlabel="$qlabel (before)"
		[ "$scen" = resize-b ] && qlabel="0.5 -> 2.0 (after)"
		for v in "${vs[@]}"; do
			for c in 6 7 8 9 10 11; do M[$scen,$quota,$v,$c]=$(median "$scen" "$quota" "$v" "$c"); done
			got=$(seen "$scen" "$quota" "$v")
			want=$(expect_gmp "$scen" "$quota" "$v")
			mark=
			if [ "$got" != "$want" ]; then
				mark=" (expected $want)"
				bad=1
				echo "cpuquota: $scen quota $qlabel $v: GOMAXPROCS seen '$got', expected $want" >&2
			fi
			if [ "${M[$scen,$quota,$v,6]}" = - ] ||
				{ [ "$scen" != gctree ] && { [ "${M[$scen,$quota,$v,7]}" = - ] || [ "${M[$scen,$quota,$v,8]}" = - ]; }; }; then
				bad=1
				echo "cpuquota: $scen quota $qlabel $v: no numbers" >&2
			fi
			rat=-
			base=${vs[0]}
			if [ "$v" != "$base" ]; then
				if [ "$scen" = gctree ]; then
					rat="time x$(ratio "${M[$scen,$quota,$base,6]}" "${M[$scen,$quota,$v,6]}")"
				else
					rat="req/s x$(ratio "${M[$scen,$quota,$base,6]}" "${M[$scen,$quota,$v,6]}"), p99 x$(ratio "${M[$scen,$quota,$base,8]}" "${M[$scen,$quota,$v,8]}")"
				fi
			fi
			if [ "$scen" = gctree ]; then metric=$(r3 "${M[$scen,$quota,$v,6]}"); else metric=$(r1 "${M[$scen,$quota,$v,6]}"); fi
			echo "| $scen | $(gover "${v%%:*}") | $qlabel | $(label "${v#*:}") | $got$mark | $metric | $(r2 "${M[$scen,$quota,$v,7]}") | $(r2 "${M[$scen,$quota,$v,8]}") | ${M[$scen,$quota,$v,9]} | ${M[$scen,$quota,$v,10]} | $(r2 "${M[$scen,$quota,$v,11]}") | $rat |" >>"$table"
		done
		if [ "$scen" = gctree ] || [ "$scen" = http ]; then
			printf '"%s %s"\t%s\t%s\t%s\n' "$qlabel" "${vs[0]%%:*}" "$scen" \
				"${M[$scen,$quota,${vs[0]},6]}" "${M[$scen,$quota,${vs[1]},6]}" >>"$dat"
		fi
	done
done
{
	echo
	echo "ratio: a row over the first row of its group (default env, Go's own choice)."
	echo "GOMAXPROCS seen: what the program printed at start (runtime.GOMAXPROCS(0)); resize: what the server answered" \
		"at the end of each phase (Go >= 1.25 re-checks its CPU limit about once a second)."
	echo "Throttling: the container cgroup's cpu.stat (nr_throttled periods; throttled time summed over the CPUs' run queues," \
		"so it can exceed the wall time) and CPU time used (cpuacct.usage or usage_usec); gctree over the container's life," \
		"http over the wrk window (${wrk_s} s: a server held to its quota uses quota x ${wrk_s} s); resize: each phase's" \
		"wrk window (${resize_a} s before, ${wrk_s} s after the update, ${settle} s apart)."
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
		grep -P '\tgctree\t' "$dat" | cut -f1,3,4 >"$work/gctree.dat" || true
		grep -P '\thttp\t' "$dat" | cut -f1,3,4 >"$work/http.dat" || true
		gnuplot <<-GP
			set terminal pngcairo size 1260,460 font ",10"
			set output "$out/cpuquota.png"
			set datafile separator "\t"
			set style data histogram
			set style histogram cluster gap 1
			set style fill solid 0.8 border -1
			set boxwidth 0.9
			set key below horizontal maxrows 1
			set yrange [0:*]
			set xtics rotate by -30
			set xlabel "CPU quota (CPUs of $host_cpus), Go build"
			set multiplot layout 1,2 title "Go in a runc container under a CPU quota: default env vs gotune's default policy (medians of $runs runs)"
			set title "gctree: elapsed s (lower is better)"
			plot "$work/gctree.dat" using 2:xtic(1) title "default env" lc rgb "#c0392b", "" using 3 title "gotune" lc rgb "#2e86c1"
			set title "httpalloc: requests/s (higher is better)"
			plot "$work/http.dat" using 2:xtic(1) title "default env" lc rgb "#c0392b", "" using 3 title "gotune" lc rgb "#2e86c1"
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
