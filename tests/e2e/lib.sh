# shellcheck shell=bash
# tests/e2e/lib.sh - helpers shared by the gotune end-to-end tests.
#
# Each tests/e2e/*.sh script sources this file, calls gt_init, drives one real
# container runtime and asserts on what the witness (tests/witness, a static
# Go program) printed inside the container. Output is TAP: one "ok N - ..." or
# "not ok N - ..." line per check, diagnostics as "# ..." lines, the plan
# "1..N" at the end (or "1..0 # SKIP reason" alone when the runtime cannot run
# here at all).
#
# Inputs (environment):
#   GOTUNE_HOOK      path to the gotune-hook binary (required). The special
#                    value "none" runs only the baseline checks (no gotune) and
#                    reports every gotune check as skipped.
#   GOTUNE_BUILDDIR  scratch and cache directory (the witness binary and the Go
#                    build cache live there); default: a temporary directory
#                    removed at exit.
#   GT_TIMEOUT       seconds one runtime command may take (default 60).
#   GT_KEEP          1 keeps the per-test temporary directory for inspection.
#
# Everything a test starts is registered with gt_defer and undone at exit
# (also on failure or interrupt), in reverse order, each step bounded in time.

set -u
set -o pipefail

GT_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GT_SRCDIR=$(cd "$GT_LIBDIR/../.." && pwd)
GT_NAME=$(basename "$0" .sh)
GT_TIMEOUT=${GT_TIMEOUT:-60}

# The limits every test container gets, and what gotune must derive from them.
GT_CPU_QUOTA=50000
GT_CPU_PERIOD=100000
GT_MEM_LIMIT=209715200                 # 200 MiB
GT_EXPECT_MEMLIMIT=188743680           # floor(0.9 * 200 MiB) = 180 MiB
GT_UNSET_MEMLIMIT=9223372036854775807  # debug.SetMemoryLimit(-1) when unset
GT_HOST_CPUS=$(nproc)
# Go accepts only this form for GOMEMLIMIT (it refuses to start otherwise).
GT_GOMEMLIMIT_RE='^[0-9]+(([KMGT]i)?B)?$'

_gt_n=0
_gt_failed=0
_gt_done=0
_gt_defers=()
GT_TMP=
GT_HAVE_HOOK=0

# ---------------------------------------------------------------- TAP output

# tap_diag LINE...: each argument (and each line inside it) as a "# " line.
tap_diag() {
	local l
	for l in "$@"; do
		printf '%s\n' "$l" | sed 's/^/# /'
	done
}

# tap_diag_file LABEL FILE [MAXLINES]: a file's content as diagnostics.
tap_diag_file() {
	local label=$1 file=$2 max=${3:-40}
	if [ ! -e "$file" ]; then
		tap_diag "$label: (no file $file)"
	elif [ ! -s "$file" ]; then
		tap_diag "$label: (empty)"
	else
		tap_diag "$label:"
		head -n "$max" "$file" | sed 's/^/#   /'
	fi
}

tap_ok() {
	_gt_n=$((_gt_n + 1))
	printf 'ok %d - %s\n' "$_gt_n" "$1"
}

tap_not_ok() {
	_gt_n=$((_gt_n + 1))
	_gt_failed=$((_gt_failed + 1))
	printf 'not ok %d - %s\n' "$_gt_n" "$1"
}

# tap_skip DESC REASON
tap_skip() {
	_gt_n=$((_gt_n + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_gt_n" "$1" "$2"
}

# skip_all REASON: the whole script cannot run here. Only before any test.
skip_all() {
	printf '1..0 # SKIP %s\n' "$1"
	_gt_done=1
	exit 0
}

bail_out() {
	printf 'Bail out! %s\n' "$1"
	_gt_done=1
	exit 1
}

# tap_done: print the plan and exit 0 when every check passed, 1 otherwise.
tap_done() {
	printf '1..%d\n' "$_gt_n"
	_gt_done=1
	[ "$_gt_failed" -eq 0 ] && exit 0
	exit 1
}

# ------------------------------------------------------------ setup/cleanup

# gt_defer CMD ARGS...: run CMD at exit (last registered runs first), bounded
# by `timeout` (a shell function is run as is: it must bound its own steps).
gt_defer() {
	local s
	s=$(printf '%q ' "$@")
	if ! declare -F "$1" >/dev/null; then
		s="timeout -k 5 30 $s"
	fi
	_gt_defers+=("$s")
}

_gt_exit() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	for ((i = ${#_gt_defers[@]} - 1; i >= 0; i--)); do
		eval "${_gt_defers[i]}" >/dev/null 2>&1 </dev/null || true
	done
	if [ -n "$GT_TMP" ] && [ -d "$GT_TMP" ]; then
		if [ "${GT_KEEP:-0}" = 1 ]; then
			printf '# kept %s\n' "$GT_TMP"
		else
			# Never follow a stray mount out of the temp dir.
			grep -F " $GT_TMP/" /proc/self/mounts | awk '{print $2}' | sort -r |
				while read -r m; do umount -l "$m" 2>/dev/null || true; done
			rm -rf --one-file-system "$GT_TMP"
		fi
	fi
	if [ "$_gt_done" -eq 0 ]; then
		_gt_n=$((_gt_n + 1))
		printf 'not ok %d - %s ended early (status %d)\n1..%d\n' "$_gt_n" "$GT_NAME" "$rc" "$_gt_n"
		exit 1
	fi
	exit "$rc"
}

# gt_require_root / gt_require_cmd: skip the whole script when unmet.
gt_require_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root"
}

gt_require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c not found"
	done
}

# gt_init: check inputs, make the temp dir, install the cleanup trap.
# Sets GT_TMP, GT_HAVE_HOOK, GOTUNE_HOOK (absolute), GOTUNE_BUILDDIR.
gt_init() {
	trap _gt_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	if [ -z "${GOTUNE_HOOK+set}" ] || [ -z "$GOTUNE_HOOK" ]; then
		bail_out "GOTUNE_HOOK is not set (path to gotune-hook, or 'none' for the baseline only)"
	fi
	if [ "$GOTUNE_HOOK" = none ]; then
		GT_HAVE_HOOK=0
	elif [ -f "$GOTUNE_HOOK" ] && [ -x "$GOTUNE_HOOK" ]; then
		GOTUNE_HOOK=$(realpath "$GOTUNE_HOOK")
		GT_HAVE_HOOK=1
	else
		bail_out "GOTUNE_HOOK=$GOTUNE_HOOK is not an executable file"
	fi
	gt_require_root
	gt_require_cmd jq timeout unshare flock nproc
	[ -x /bin/busybox ] || skip_all "/bin/busybox not found (package busybox-static)"
	GT_TMP=$(mktemp -d "/tmp/gt-e2e.XXXXXX") || bail_out "mktemp failed"
	chmod 755 "$GT_TMP"
	if [ -z "${GOTUNE_BUILDDIR:-}" ]; then
		GOTUNE_BUILDDIR=$GT_TMP/build
	fi
	mkdir -p "$GOTUNE_BUILDDIR" "$GT_TMP/runs" || bail_out "cannot create $GOTUNE_BUILDDIR"
	GOTUNE_BUILDDIR=$(realpath "$GOTUNE_BUILDDIR")
	# A unique, short prefix for container names: rerunnable, parallel-safe.
	# shellcheck disable=SC2034 # used by the test scripts
	GT_ID="gt$$$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
	gt_witness
	tap_diag "$GT_NAME: host CPUs $GT_HOST_CPUS, gotune-hook ${GOTUNE_HOOK}, tmp $GT_TMP"
}

# gt_need_hook DESC: true when gotune-hook is there; else records a SKIP.
gt_need_hook() {
	[ "$GT_HAVE_HOOK" -eq 1 ] && return 0
	tap_skip "$1" "GOTUNE_HOOK=none (baseline only)"
	return 1
}

# gt_runc_link: path of a gotune-runc symlink to GOTUNE_HOOK (the build's
# BUILDDIR/hook/gotune-runc when present, else one made in GT_TMP).
gt_runc_link() {
	local built
	built=$(dirname "$GOTUNE_HOOK")/gotune-runc
	if [ -L "$built" ] && [ "$(realpath "$built")" = "$GOTUNE_HOOK" ]; then
		printf '%s\n' "$built"
		return
	fi
	mkdir -p "$GT_TMP/bin"
	ln -sf "$GOTUNE_HOOK" "$GT_TMP/bin/gotune-runc"
	printf '%s\n' "$GT_TMP/bin/gotune-runc"
}

# ----------------------------------------------------------------- witness

# gt_gobuild VARIANT SRCDIR OUT [go build flags...]: tests/gobuild, with
# the toolchain it names as a TAP diagnostic. Returns 3 (and sets
# GT_GOBUILD_WHY) when that Go is not on this machine, so callers can skip
# visibly; bails out when a build fails.
gt_gobuild() {
	local line rc
	line=$(GOCACHE="$GOTUNE_BUILDDIR/go-cache" "$GT_SRCDIR/tests/gobuild" "$@" 2>"$GT_TMP/gobuild.err")
	rc=$?
	case $rc in
	0) tap_diag "$line" ;;
	3) GT_GOBUILD_WHY=${line#*: skipped: }; return 3 ;;
	*)
		tap_diag_file "tests/gobuild $*" "$GT_TMP/gobuild.err"
		bail_out "cannot build $2 as $1"
		;;
	esac
}

# gt_witness: build tests/witness with Go 1.19 (go.mod 'go 1.19') into
# GOTUNE_BUILDDIR (rebuilt when its sources change) and set GT_WITNESS: the
# witness of the suites' common checks, whose Go never tracks the CPU limit
# itself. The other Go versions run in gt_matrix_* below. Safe to call from
# parallel tests.
gt_witness() {
	(
		flock -w 300 9 || exit 1
		gt_gobuild go119 "$GT_SRCDIR/tests/witness" "$GOTUNE_BUILDDIR/witness-go119"
	) 9>"$GOTUNE_BUILDDIR/witness.lock"
	case $? in
	0) ;;
	3) skip_all "the witness needs $("$GT_SRCDIR/tests/gobuild" --go 1.19 2>&1 >/dev/null)" ;;
	*) bail_out "cannot build the witness" ;;
	esac
	GT_WITNESS=$GOTUNE_BUILDDIR/witness-go119
}

# ---------------------------------------------------------- witness matrix
#
# The witness as every Go the project supports builds it (tests/gobuild):
#   go119          Go 1.19, go.mod go 1.19: GOMAXPROCS fixed at start
#   go126          Go 1.26, go.mod go 1.26: sets GOMAXPROCS from the CPU
#                  limit itself (at least 2) and tracks it
#   go126-mod119   Go 1.26, go.mod go 1.19: tracking off (DefaultGODEBUG)
#   go126-godebug  Go 1.26, //go:debug containermaxprocs=0: tracking off
#   go127          Go 1.27 (GOTOOLCHAIN=go1.27.3), go.mod go 1.27: tracks
# A variant whose Go is not on this machine is skipped visibly.
GT_MATRIX=(go119 go126 go126-mod119 go126-godebug go127)
declare -A GT_MATRIX_WHY=()
GT_MATRIX_HAVE=()
# Set to 0 where the runtime does not enforce the spec's CPU quota (crun in
# this machine's private cgroup2 namespace): Go then sees no limit at all.
GT_CPU_ENFORCED=1

# gt_matrix_rootfs ROOTFS: ROOTFS/witness-VARIANT for each variant that
# builds here; sets GT_MATRIX_HAVE and GT_MATRIX_WHY[VARIANT] (why not).
gt_matrix_rootfs() {
	local v out
	GT_MATRIX_HAVE=()
	for v in "${GT_MATRIX[@]}"; do
		out=$GOTUNE_BUILDDIR/witness-$v
		if (
			flock -w 300 9 || exit 1
			gt_gobuild "$v" "$GT_SRCDIR/tests/witness" "$out"
			rc=$?
			[ $rc = 3 ] && printf '%s\n' "$GT_GOBUILD_WHY" >"$out.why"
			exit $rc
		) 9>"$GOTUNE_BUILDDIR/witness.lock"; then
			cp "$out" "$1/witness-$v"
			GT_MATRIX_HAVE+=("$v")
		else
			GT_MATRIX_WHY[$v]=$(cat "$out.why" 2>/dev/null || echo "build failed")
		fi
	done
}

# gt_matrix_tracks VARIANT: its Go sets GOMAXPROCS from the CPU limit itself.
gt_matrix_tracks() {
	case $1 in go126 | go127) return 0 ;; *) return 1 ;; esac
}

# gt_checks_matrix VARIANT TRACKING: the checks for that witness in a 0.5 CPU
# / 200 MiB container tuned with policy gomaxprocs.tracking=TRACKING.
gt_checks_matrix() {
	local v=$1 t=$2 go_ver own
	go_ver=${v%%-*}
	go_ver=go1.${go_ver#go1}
	printf '%s\n' "MEMLIMIT=$GT_EXPECT_MEMLIMIT" "ENV_GOMEMLIMIT=180MiB" "GOVERSION~^${go_ver//./\\.}(\\.| |$)"
	if gt_matrix_tracks "$v" && [ "$t" = defer ]; then
		# Go's own choice: ceil(0.5) raised to its floor of 2, at most the
		# CPUs it may use; all of them when no quota is enforced.
		own=$GT_HOST_CPUS
		[ "$GT_CPU_ENFORCED" = 1 ] && [ "$own" -gt 2 ] && own=2
		printf '%s\n' "GOMAXPROCS=$own" ENV_GOMAXPROCS=
	elif [ "$GT_HOST_CPUS" -gt 1 ]; then
		printf '%s\n' GOMAXPROCS=1 ENV_GOMAXPROCS=1
	else
		printf '%s\n' GOMAXPROCS=1 ENV_GOMAXPROCS=
	fi
}

# gt_matrix_cases LABEL RUNFN: every witness of the matrix through one entry
# point, with the default policy and with the annotation
# gotune.io/gomaxprocs-tracking=defer (which only a Go that tracks the
# limit may heed: the others must still get GOMAXPROCS). RUNFN NAME ENTRY
# [ANNOTATION] runs ENTRY (/witness-VARIANT) in a 0.5 CPU / 200 MiB
# container tuned by gotune, into gt_run's NAME.
gt_matrix_cases() {
	local label=$1 runfn=$2 v d t name
	local -a checks
	for v in "${GT_MATRIX[@]}"; do
		for t in below-floor defer; do
			if [ "$t" = below-floor ]; then
				d="$label, $v witness, default policy"
			else
				d="$label, $v witness, annotation gotune.io/gomaxprocs-tracking=defer"
			fi
			mapfile -t checks < <(gt_checks_matrix "$v" "$t")
			d+=": $(printf '%s\n' "${checks[@]}" | grep -E '^(GOMAXPROCS|ENV_GOMAXPROCS)=' | paste -sd ' ')"
			gt_need_hook "$d" || continue
			if [ -n "${GT_MATRIX_WHY[$v]+set}" ]; then
				tap_skip "$d" "${GT_MATRIX_WHY[$v]}"
				continue
			fi
			name=matrix-$v-$t
			if [ "$t" = defer ]; then
				"$runfn" "$name" "/witness-$v" gotune.io/gomaxprocs-tracking=defer
			else
				"$runfn" "$name" "/witness-$v"
			fi
			gt_expect "$name" "$d" -- "${checks[@]}"
		done
	done
}

# gt_make_rootfs DIR: busybox + /witness; everything a runtime needs to mount.
gt_make_rootfs() {
	local d=$1
	mkdir -p "$d"/bin "$d"/proc "$d"/sys "$d"/dev "$d"/tmp "$d"/etc "$d"/run "$d"/root
	cp /bin/busybox "$d/bin/busybox"
	local a
	for a in sh cat ls env echo sleep true false id; do
		ln -sf busybox "$d/bin/$a"
	done
	cp "$GT_WITNESS" "$d/witness"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$d/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
	: >"$d/etc/hosts"
	: >"$d/etc/resolv.conf"
	: >"$d/etc/hostname"
}

# gt_json_list ARG...: a JSON array of the arguments, as strings. (Each goes
# in as the value of --arg: jq 1.6 reads an argument such as --policy after
# --args as one of its own options.)
gt_json_list() {
	local i=0 a
	local -a opts=()
	for a in "$@"; do
		opts+=(--arg "a$i" "$a")
		i=$((i + 1))
	done
	jq -cn --argjson n "$i" '[range($n) as $i | $ARGS.named["a\($i)"]]' ${opts[@]+"${opts[@]}"}
}

# gt_json_map K=V...: a JSON object from K=V arguments (split at the first =).
gt_json_map() {
	gt_json_list "$@" | jq -c 'map({(.[:index("=")]): .[index("=")+1:]}) | add // {}'
}

# gt_make_bundle BUNDLE ROOTFS [--env K=V]... [--annotation K=V]... [--no-limits]
# An OCI bundle from `runc spec`, running /witness with 0.5 CPU and 200 MiB.
gt_make_bundle() {
	local b=$1 rootfs=$2 limits=true
	shift 2
	local envs=() anns=()
	while [ $# -gt 0 ]; do
		case $1 in
		--env) envs+=("$2"); shift 2 ;;
		--annotation) anns+=("$2"); shift 2 ;;
		--no-limits) limits=false; shift ;;
		*) bail_out "gt_make_bundle: unknown option $1" ;;
		esac
	done
	mkdir -p "$b"
	rm -f "$b/config.json"
	runc spec --bundle "$b" || bail_out "runc spec failed"
	local envj annj
	envj=$(gt_json_list ${envs[@]+"${envs[@]}"})
	annj=$(gt_json_map ${anns[@]+"${anns[@]}"})
	if ! jq --arg root "$(realpath "$rootfs")" --argjson env "$envj" --argjson ann "$annj" \
		--argjson limits "$limits" \
		--argjson quota "$GT_CPU_QUOTA" --argjson period "$GT_CPU_PERIOD" \
		--argjson mem "$GT_MEM_LIMIT" '
		.process.args = ["/witness"]
		| .process.terminal = false
		| .root = {path: $root, readonly: true}
		| .hostname = "gotune-e2e"
		| .process.env += $env
		| if ($ann | length) > 0 then .annotations = ((.annotations // {}) + $ann) else . end
		| if $limits then
			.linux.resources.cpu = {quota: $quota, period: $period}
			| .linux.resources.memory = {limit: $mem}
		  else . end' "$b/config.json" >"$b/config.json.new"; then
		bail_out "editing $b/config.json failed"
	fi
	mv -f "$b/config.json.new" "$b/config.json"
}

# gt_policy FILE JSON-TEXT: write a policy file (the text is written as is, so
# a corrupt policy can be written too). Prints FILE.
gt_policy() {
	printf '%s\n' "$2" >"$1"
	printf '%s\n' "$1"
}

# gt_fresh_host: prepares a host as a new user's is (tests/freshhost.sh),
# for commands run through "${GT_FRESH[@]}". Sets GT_STATE (the state
# directory, as gotune sees it), GT_STATE_HOST (the same directory seen
# from here, once made) and GT_FRESH.
gt_fresh_host() {
	GT_STATE=$("$GOTUNE_HOOK" --version | sed -n 's/^state directory //p')
	[ -n "$GT_STATE" ] || bail_out "gotune-hook --version names no state directory"
	# shellcheck source=../freshhost.sh
	. "$GT_SRCDIR/tests/freshhost.sh"
	GT_STATE_HOST=$(gt_fresh_enter "$GT_TMP/fresh" "$GT_STATE") || bail_out "cannot prepare a fresh host"
	GT_FRESH=(unshare -m --propagation private "$GT_TMP/fresh/enter")
	"${GT_FRESH[@]}" test ! -e "$GT_STATE" || bail_out "the fresh host still has $GT_STATE"
}

# gt_stop_pid PID [TENTHS]: SIGTERM to PID, up to TENTHS tenths of a
# second (100) for it to go, then SIGKILL; reaped when it is this shell's
# child. Every daemon the tests start is stopped this way.
gt_stop_pid() {
	local p=$1 n=${2:-100}
	[ -n "$p" ] || return 0
	if kill -TERM "$p" 2>/dev/null; then
		for _ in $(seq "$n"); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
	fi
	wait "$p" 2>/dev/null
	return 0
}

# gt_wait_daemon PID TRIES CMD...: runs CMD (output dropped) every 0.2 s
# until it succeeds (0), TRIES times at most, or until PID, the daemon CMD
# asks, has exited (1): a daemon that died is not waited for.
gt_wait_daemon() {
	local p=$1 n=$2
	shift 2
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$p" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# gt_resident_pct PATH: percentage of PATH's pages in the page cache.
gt_resident_pct() {
	fincore --bytes --noheadings --raw --output RES,SIZE "$1" | awk '{ printf "%d\n", $2 ? 100 * $1 / $2 : 0 }'
}

# gt_wait_resident PATH: polls for up to 5 s until PATH is at least 99%
# resident (willneed and detached readers only queue the reads); prints the
# last percentage.
gt_wait_resident() {
	local pct=0
	for _ in $(seq 50); do
		pct=$(gt_resident_pct "$1")
		[ "$pct" -ge 99 ] && break
		sleep 0.1
	done
	printf '%s\n' "$pct"
}

# gt_wait_jq FILE FILTER [JQ-ARGS...]: true once `jq -es FILTER FILE`
# holds, polled for up to 5 s: gotune's detached workers (the prestart
# hook's audit child, background readers, the wrapper's reader) write their
# lines after the runtime has gone on.
gt_wait_jq() {
	local file=$1 filter=$2
	shift 2
	for _ in $(seq 50); do
		jq -es "$@" "$filter" "$file" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ------------------------------------------------------------------- runs

# gt_run NAME CMD...: run CMD bounded by GT_TIMEOUT, stdin /dev/null; its
# stdout, stderr and exit status go to GT_TMP/runs/NAME.{out,err,rc}.
gt_run() {
	local name=$1 rc
	shift
	local r=$GT_TMP/runs/$name
	printf '%q ' "$@" >"$r.cmd"
	timeout -k 5 "$GT_TIMEOUT" "$@" </dev/null >"$r.out" 2>"$r.err"
	rc=$?
	printf '%d\n' "$rc" >"$r.rc"
	return "$rc"
}

# gt_witness_get FILE KEY: the value the witness printed for KEY.
gt_witness_get() {
	local line
	line=$(grep -m1 "^$2=" "$1") || return 1
	printf '%s\n' "${line#*=}"
}

# gt_witness_complete FILE: all six witness lines are there.
gt_witness_complete() {
	local k
	for k in GOMAXPROCS MEMLIMIT ENV_GOMAXPROCS ENV_GOMEMLIMIT NUMCPU GOVERSION; do
		grep -q "^$k=" "$1" || return 1
	done
}

_gt_run_diag() {
	local r=$GT_TMP/runs/$1
	tap_diag "command: $(cat "$r.cmd" 2>/dev/null)" "exit status: $(cat "$r.rc" 2>/dev/null)"
	tap_diag_file "stdout" "$r.out"
	tap_diag_file "stderr" "$r.err"
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		tap_diag "spec $2 (process.env, annotations, linux.resources):"
		jq -c '{env: .process.env, annotations, resources: .linux.resources}' "$2" 2>&1 |
			sed 's/^/#   /'
	fi
}

# gt_witness_check FILE CHECK...: one line for each CHECK (gt_expect's
# KEY=VALUE or KEY~REGEX) that the witness output in FILE does not meet.
gt_witness_check() {
	local f=$1 c k v got
	shift
	for c in "$@"; do
		k=${c%%[=~]*}
		v=${c:${#k}+1}
		got=$(gt_witness_get "$f" "$k")
		case ${c:${#k}:1} in
		'~') printf '%s\n' "$got" | grep -Eq -- "$v" || echo "$k: got '$got', wanted /$v/" ;;
		'=') [ "$got" = "$v" ] || echo "$k: got '$got', wanted '$v'" ;;
		*) echo "bad check $c" ;;
		esac
	done
}

# gt_expect NAME DESC [SPEC] -- CHECK...: one TAP point. The run NAME must
# have exited 0 and printed the full witness output, and every CHECK must hold:
#   KEY=VALUE   the witness printed exactly VALUE for KEY
#   KEY~REGEX   the witness value for KEY matches the extended REGEX
# SPEC (optional) is a spec file shown in the diagnostics on failure.
gt_expect() {
	local name=$1 desc=$2 spec=
	shift 2
	if [ "${1:-}" != -- ]; then spec=$1; shift; fi
	[ "${1:-}" = -- ] && shift
	local r=$GT_TMP/runs/$name bad=()
	local rc
	rc=$(cat "$r.rc" 2>/dev/null || echo "?")
	if [ "$rc" != 0 ]; then
		bad+=("exit status $rc, wanted 0")
	elif ! gt_witness_complete "$r.out"; then
		bad+=("witness output incomplete")
	else
		mapfile -t bad < <(gt_witness_check "$r.out" "$@")
	fi
	if [ ${#bad[@]} -eq 0 ]; then
		tap_ok "$desc"
	else
		tap_not_ok "$desc"
		tap_diag "${bad[@]}"
		_gt_run_diag "$name" "$spec"
	fi
}

# gt_expect_stderr NAME DESC ERE: the run's stderr matches ERE (case-insensitive).
gt_expect_stderr() {
	local r=$GT_TMP/runs/$1
	if grep -Eqi -- "$3" "$r.err"; then
		tap_ok "$2"
	else
		tap_not_ok "$2"
		tap_diag "stderr does not match /$3/i"
		_gt_run_diag "$1"
	fi
}

# The checks every runtime test makes, as words for gt_expect.
# Tuned by gotune for 0.5 CPU and 200 MiB:
gt_checks_tuned() {
	printf '%s\n' GOMAXPROCS=1 "MEMLIMIT=$GT_EXPECT_MEMLIMIT" "ENV_GOMEMLIMIT~$GT_GOMEMLIMIT_RE"
	# On a 1-CPU host ceil(0.5) is not lower than what Go picks: nothing to set.
	if [ "$GT_HOST_CPUS" -gt 1 ]; then printf '%s\n' ENV_GOMAXPROCS=1; fi
	printf '%s\n' "NUMCPU=$GT_HOST_CPUS"
}
# What Go does with no help (the defaults):
gt_checks_default() {
	printf '%s\n' "GOMAXPROCS=$GT_HOST_CPUS" "MEMLIMIT=$GT_UNSET_MEMLIMIT" \
		ENV_GOMAXPROCS= ENV_GOMEMLIMIT= "NUMCPU=$GT_HOST_CPUS"
}
# A spec that already has GOMAXPROCS=3 keeps it; GOMEMLIMIT is still added:
gt_checks_keep3() {
	printf '%s\n' GOMAXPROCS=3 ENV_GOMAXPROCS=3 "MEMLIMIT=$GT_EXPECT_MEMLIMIT" \
		"ENV_GOMEMLIMIT~$GT_GOMEMLIMIT_RE"
}

# gt_spec_has_env SPEC KEY: the spec's process.env has KEY=...
gt_spec_has_env() {
	jq -e --arg k "$2=" '.process.env // [] | any(startswith($k))' "$1" >/dev/null 2>&1
}

# ------------------------------------------- runc-compatible runtime suite
#
# gt_wrapper_suite runs the same checks against any runc-compatible runtime
# (runc, crun) driven directly and through the gotune wrapper. Set first:
#   WS_LABEL     name in the test descriptions ("runc", "crun")
#   WS_RUNTIME   absolute path of the real runtime
#   WS_PREFIX    array: command every runtime call is run under (may be empty)
#   WS_GLOBAL    array: the runtime's global options (must include --root DIR)
#   WS_ROOTFS    the rootfs made by gt_make_rootfs
# Each case: `PREFIX CMD GLOBAL run --bundle B ID`, where CMD is the runtime,
# `gotune-hook runtime --policy P --runtime RUNTIME --` or gotune-runc.

# ws_bundle NAME [gt_make_bundle options]: a fresh bundle; prints its dir. The
# spec as written is kept beside it as config.orig.json.
ws_bundle() {
	local b=$GT_TMP/bundles/$1
	shift
	gt_make_bundle "$b" "$WS_ROOTFS" "$@" >&2
	cp "$b/config.json" "$b/config.orig.json"
	printf '%s\n' "$b"
}

# ws_rt ARGS...: the runtime itself, with prefix and global options.
ws_rt() {
	"${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" "$@"
}

# ws_run NAME BUNDLE CMD...: `PREFIX CMD GLOBAL run --bundle BUNDLE ID`, with
# a unique ID that is deleted at exit whatever happens.
ws_run() {
	local name=$1 b=$2 id=$GT_ID-$1
	shift 2
	gt_defer "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" delete -f "$id"
	gt_run "$name" "${WS_PREFIX[@]}" "$@" "${WS_GLOBAL[@]}" run --bundle "$b" "$id"
}

# ws_matrix_run NAME ENTRY [ANNOTATION]: the wrapper (gt_wrapper_suite's
# wrap) runs ENTRY in a fresh bundle (for gt_matrix_cases).
ws_matrix_run() {
	local b
	b=$(ws_bundle "$1" ${3:+--annotation "$3"})
	jq --arg e "$2" '.process.args = [$e]' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
	ws_run "$1" "$b" "${wrap[@]}"
}

# gt_check_env_only DESC ORIG NEW: NEW is valid JSON, differs from ORIG only
# in process.env and gotune's record of what it wrote (the top-level
# "gotune.io/env", which runtimes ignore, or the annotation of that name,
# which precreate writes: Podman keeps it), keeps every ORIG env entry in
# order and adds exactly GOMAXPROCS and GOMEMLIMIT, the two recorded.
gt_check_env_only() {
	local desc=$1 orig=$2 new=$3 why=
	if ! jq -e . "$new" >/dev/null 2>&1; then
		why="$new is missing or not valid JSON"
	elif ! diff <(jq -S 'del(.process.env) | if .annotations == {} then del(.annotations) else . end' "$orig") \
		<(jq -S 'del(.process.env, ."gotune.io/env", .annotations."gotune.io/env")
			| if .annotations == {} then del(.annotations) else . end' "$new") >"$GT_TMP/diff.txt" 2>&1; then
		why="the spec changed outside process.env and gotune.io/env"
	elif ! jq -e '(."gotune.io/env" // (.annotations."gotune.io/env" // "null" | fromjson)) as $m
		| if $m then (.process.env | map(select(test("^GO(MAXPROCS|MEMLIMIT)=")) | split("=") | {(.[0]): {wrote: .[1]}})
		| add) == $m else true end' "$new" >/dev/null 2>&1; then
		why="gotune.io/env does not record exactly the GOMAXPROCS and GOMEMLIMIT written"
	elif ! jq -e -n --slurpfile a "$orig" --slurpfile b "$new" '
		($a[0].process.env) as $o | ($b[0].process.env) as $n
		| ($n | map(select(IN($o[]) | not))) as $added
		| ($n | map(select(IN($o[])))) == $o
		  and ($added | all(test("^(GOMAXPROCS|GOMEMLIMIT)=")))
		  and ($added | length) == 2' >/dev/null; then
		why="process.env is not the original plus GOMAXPROCS and GOMEMLIMIT"
	fi
	if [ -z "$why" ]; then
		tap_ok "$desc"
	else
		tap_not_ok "$desc"
		tap_diag "$why"
		tap_diag_file "diff (before vs after, without process.env)" "$GT_TMP/diff.txt"
		tap_diag "env before: $(jq -c .process.env "$orig" 2>&1)"
		tap_diag "env after:  $(jq -c .process.env "$new" 2>&1)"
	fi
}

gt_wrapper_suite() {
	local L=$WS_LABEL b d id r st
	local policy policy_rt bad_policy link
	local -a tuned default keep3 wrap
	policy=$(gt_policy "$GT_TMP/policy.json" '{}')
	policy_rt=$(gt_policy "$GT_TMP/policy-runtime.json" "{\"runtime\": \"$WS_RUNTIME\"}")
	bad_policy=$(gt_policy "$GT_TMP/policy-corrupt.json" '{ "strict": ')
	mapfile -t tuned < <(gt_checks_tuned)
	mapfile -t default < <(gt_checks_default)
	mapfile -t keep3 < <(gt_checks_keep3)
	wrap=("$GOTUNE_HOOK" runtime --policy "$policy" --runtime "$WS_RUNTIME" --)

	# --- baseline: the runtime alone, the same container
	b=$(ws_bundle baseline)
	ws_run baseline "$b" "$WS_RUNTIME"
	gt_expect baseline "$L alone: Go defaults (GOMAXPROCS=$GT_HOST_CPUS, no memory limit)" \
		"$b/config.orig.json" -- "${default[@]}"

	# --- the wrapper, spelled out
	d="$L via gotune-hook runtime -- run: GOMAXPROCS=1, MEMLIMIT=$GT_EXPECT_MEMLIMIT"
	if gt_need_hook "$d"; then
		b=$(ws_bundle wrapper)
		ws_run wrapper "$b" "${wrap[@]}"
		gt_expect wrapper "$d" "$b/config.orig.json" -- "${tuned[@]}"
		gt_check_env_only "$L via wrapper: BUNDLE/config.json rewritten, only process.env changed" \
			"$b/config.orig.json" "$b/config.json"
	fi

	# --- the witness as each Go builds it
	gt_matrix_rootfs "$WS_ROOTFS"
	gt_matrix_cases "$L via wrapper" ws_matrix_run

	# --- the gotune-runc symlink, policy (naming the runtime) from GOTUNE_POLICY
	d="$L via gotune-runc symlink + GOTUNE_POLICY: tuned"
	if gt_need_hook "$d"; then
		link=$(gt_runc_link)
		b=$(ws_bundle symlink)
		ws_run symlink "$b" env GOTUNE_POLICY="$policy_rt" "$link"
		gt_expect symlink "$d" "$b/config.orig.json" -- "${tuned[@]}"
	fi

	# --- the build's gotune-LABEL symlink (gotune-runc, gotune-crun), policy
	# {}: the runtime is found on PATH by the name the wrapper was called by
	d="$L via the build's gotune-$L symlink, policy {} (runtime found on PATH): tuned"
	if gt_need_hook "$d"; then
		link=$(dirname "$GOTUNE_HOOK")/gotune-$L
		if [ -L "$link" ]; then
			b=$(ws_bundle bylink)
			ws_run bylink "$b" env GOTUNE_POLICY="$policy" \
				PATH="$(dirname "$WS_RUNTIME"):/usr/sbin:/usr/bin:/sbin:/bin" "$link"
			gt_expect bylink "$d" "$b/config.orig.json" -- "${tuned[@]}"
		else
			tap_skip "$d" "no $link in the build"
		fi
	fi

	# --- create + start (the path containerd and other engines take)
	d="$L via wrapper: create then start: tuned"
	if gt_need_hook "$d"; then
		b=$(ws_bundle create)
		id=$GT_ID-create
		r=$GT_TMP/runs/create
		gt_defer "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" delete -f "$id"
		# create hands its own stdout to the container: the witness lines land
		# in runs/create.out.
		if gt_run create "${WS_PREFIX[@]}" "${wrap[@]}" "${WS_GLOBAL[@]}" create --bundle "$b" "$id"; then
			timeout -k 5 "$GT_TIMEOUT" "${WS_PREFIX[@]}" "${wrap[@]}" "${WS_GLOBAL[@]}" start "$id" \
				</dev/null >>"$r.err" 2>&1 || echo "start failed: $?" >>"$r.err"
			for _ in $(seq 100); do
				st=$(ws_rt state "$id" 2>/dev/null | jq -r .status)
				[ "$st" = stopped ] && break
				sleep 0.1
			done
			ws_rt delete -f "$id" >>"$r.err" 2>&1
		fi
		gt_expect create "$d" "$b/config.orig.json" -- "${tuned[@]}"
	fi

	# --- exec: a process exec'd into a tuned container gets its tuning. The
	# process file carries the env an engine builds from its own copy of
	# the image's (Docker, containerd's CRI): no GOMAXPROCS/GOMEMLIMIT.
	d="$L via wrapper: exec --process FILE (an engine's env, without gotune's): tuned as the container"
	if gt_need_hook "$d"; then
		b=$(ws_bundle exec)
		jq '.process.args = ["/bin/sleep", "120"]' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
		id=$GT_ID-exec
		r=$GT_TMP/exec-process
		jq '.process | {args: ["/witness"], env: [.env[] | select(startswith("GO") | not)], cwd: "/", user: .user}' \
			"$b/config.orig.json" >"$r.json"
		cp "$r.json" "$r-plain.json"
		gt_defer "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" delete -f "$id"
		if gt_run exec-create "${WS_PREFIX[@]}" "${wrap[@]}" "${WS_GLOBAL[@]}" create --bundle "$b" "$id" &&
			gt_run exec-start "${WS_PREFIX[@]}" "${wrap[@]}" "${WS_GLOBAL[@]}" start "$id"; then
			gt_run exec-plain "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" exec --process "$r-plain.json" "$id"
			gt_run exec-process "${WS_PREFIX[@]}" "${wrap[@]}" "${WS_GLOBAL[@]}" exec --process "$r.json" "$id"
			gt_run exec-inline3 "${WS_PREFIX[@]}" "${wrap[@]}" "${WS_GLOBAL[@]}" exec -e GOMAXPROCS=3 "$id" /witness
		fi
		gt_expect exec-plain "$L alone: exec --process FILE: Go defaults (what the wrapper is for)" -- "${default[@]}"
		gt_expect exec-process "$d" -- "${tuned[@]}"
		gt_expect exec-inline3 "$L via wrapper: exec -e GOMAXPROCS=3 ID CMD: the caller's value kept, GOMEMLIMIT added" \
			-- "${keep3[@]}"
		ws_rt delete -f "$id" >/dev/null 2>&1
	fi

	# --- exec from gotune's own record (written at create, checked against
	# the runtime's state), never from a stale one. Each exec's log line
	# says where its variables came from.
	d="$L via wrapper: exec into a tuned container: tuned from gotune's record, no \`$L state\`"
	if gt_need_hook "$d"; then
		local xlog=$GT_TMP/exec-record.jsonl xpol b2 p
		local -a wrapl
		xpol=$(gt_policy "$GT_TMP/policy-exec-record.json" "{\"log_file\": \"$xlog\"}")
		wrapl=("$GOTUNE_HOOK" runtime --policy "$xpol" --runtime "$WS_RUNTIME" --)
		b=$(ws_bundle xrec)
		jq '.process.args = ["/bin/sleep", "120"]' "$b/config.json" >"$b/c.json" && mv "$b/c.json" "$b/config.json"
		b2=$(ws_bundle xrec-nolimits --no-limits)
		jq '.process.args = ["/bin/sleep", "120"]' "$b2/config.json" >"$b2/c.json" && mv "$b2/c.json" "$b2/config.json"
		id=$GT_ID-xrec
		p=$GT_TMP/xrec-process
		jq '.process | {args: ["/witness"], env: [.env[] | select(startswith("GO") | not)], cwd: "/", user: .user}' \
			"$b/config.orig.json" >"$p.json"
		# xrec_exec NAME: a fresh engine-style process file, exec'd through
		# the wrapper.
		xrec_exec() {
			cp "$p.json" "$p-$1.json"
			gt_run "$1" "${WS_PREFIX[@]}" "${wrapl[@]}" "${WS_GLOBAL[@]}" exec --process "$p-$1.json" "$id"
		}
		# xrec_check NAME DESC SOURCE-ERE CHECK...: the witness checks and
		# the source, in one TAP point.
		xrec_check() {
			local name=$1 desc=$2 want=$3 src
			shift 3
			src=$(jq -rs --arg id "$id" '[.[] | select(.entry == "runtime-exec" and .id == $id)] | last | .detail // ""' \
				"$xlog" 2>/dev/null | sed -n 's/.*; from //p')
			if printf '%s\n' "$src" | grep -Eq -- "$want"; then
				gt_expect "$name" "$desc" -- "$@"
			else
				tap_not_ok "$desc"
				tap_diag "the exec's variables came from '$src', wanted /$want/"
			fi
		}
		gt_defer "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" delete -f "$id"
		gt_run xrec-create "${WS_PREFIX[@]}" "${wrapl[@]}" "${WS_GLOBAL[@]}" create --bundle "$b" "$id" &&
			gt_run xrec-start "${WS_PREFIX[@]}" "${wrapl[@]}" "${WS_GLOBAL[@]}" start "$id"
		xrec_exec xrec-1
		xrec_check xrec-1 "$d" "^gotune's record$" "${tuned[@]}"

		# Deleted behind the wrapper's back, the id taken again by a
		# container without limits that the runtime alone created: the
		# record is stale, and the exec gets what that container has.
		ws_rt delete -f "$id" >/dev/null 2>&1
		gt_run xrec-create2 "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" create --bundle "$b2" "$id" &&
			gt_run xrec-start2 "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" start "$id"
		xrec_exec xrec-2
		xrec_check xrec-2 "$L via wrapper: the container deleted by $L alone and its id reused without limits: the stale record is not used (Go defaults)" \
			"^the runtime's state: stale record" "${default[@]}"
		# A delete through the wrapper takes the record away.
		gt_run xrec-delete "${WS_PREFIX[@]}" "${wrapl[@]}" "${WS_GLOBAL[@]}" delete -f "$id"
		gt_run xrec-create3 "${WS_PREFIX[@]}" "${wrapl[@]}" "${WS_GLOBAL[@]}" create --bundle "$b2" "$id" &&
			gt_run xrec-start3 "${WS_PREFIX[@]}" "${wrapl[@]}" "${WS_GLOBAL[@]}" start "$id"
		xrec_exec xrec-3
		xrec_check xrec-3 "$L via wrapper: an untuned container's record gives nothing, and no \`$L state\` is asked" \
			"^gotune's record$" "${default[@]}"
		gt_run xrec-delete3 "${WS_PREFIX[@]}" "${wrapl[@]}" "${WS_GLOBAL[@]}" delete -f "$id"
		gt_run xrec-create4 "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" create --bundle "$b" "$id" &&
			gt_run xrec-start4 "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" start "$id"
		xrec_exec xrec-4
		xrec_check xrec-4 "$L via wrapper: delete through the wrapper removed the record: the next exec asks $L (its config, tuned before: tuned)" \
			"^the runtime's state: no record$" "${tuned[@]}"
		ws_rt delete -f "$id" >/dev/null 2>&1
	fi

	# --- no --bundle: the bundle is the working directory, as for runc itself
	d="$L via wrapper: run without --bundle (bundle = working dir): tuned"
	if gt_need_hook "$d"; then
		b=$(ws_bundle cwd)
		id=$GT_ID-cwd
		gt_defer "${WS_PREFIX[@]}" "$WS_RUNTIME" "${WS_GLOBAL[@]}" delete -f "$id"
		gt_run cwd env -C "$b" "${WS_PREFIX[@]}" "${wrap[@]}" "${WS_GLOBAL[@]}" run "$id"
		gt_expect cwd "$d" "$b/config.orig.json" -- "${tuned[@]}"
	fi

	# --- GOMAXPROCS already in the spec is kept
	d="$L via wrapper: spec env GOMAXPROCS=3 is kept (GOMEMLIMIT still added)"
	if gt_need_hook "$d"; then
		b=$(ws_bundle keep3 --env GOMAXPROCS=3)
		ws_run keep3 "$b" "${wrap[@]}"
		gt_expect keep3 "$d" "$b/config.orig.json" -- "${keep3[@]}"
	fi

	# --- annotation gotune.io/disable=true
	d="$L via wrapper: annotation gotune.io/disable=true leaves the env alone"
	if gt_need_hook "$d"; then
		b=$(ws_bundle disable --annotation gotune.io/disable=true)
		ws_run disable "$b" "${wrap[@]}"
		gt_expect disable "$d" "$b/config.orig.json" -- "${default[@]}"
	fi

	# --- corrupt policy: fail open, and say why on stderr
	d="$L via wrapper: corrupt policy fails open (container starts, defaults)"
	if gt_need_hook "$d"; then
		b=$(ws_bundle corrupt)
		ws_run corrupt "$b" "$GOTUNE_HOOK" runtime --policy "$bad_policy" --runtime "$WS_RUNTIME" --
		gt_expect corrupt "$d" "$b/config.orig.json" -- "${default[@]}"
		gt_expect_stderr corrupt "$L via wrapper: corrupt policy is reported on stderr" 'policy'
	fi

	# --- no limits in the spec: nothing to set
	d="$L via wrapper: spec without limits: env untouched"
	if gt_need_hook "$d"; then
		b=$(ws_bundle nolimits --no-limits)
		ws_run nolimits "$b" "${wrap[@]}"
		gt_expect nolimits "$d" "$b/config.orig.json" -- "${default[@]}"
	fi

	# --- other subcommands pass straight through
	d="$L via wrapper: --version and state pass through"
	if gt_need_hook "$d"; then
		"$WS_RUNTIME" --version >"$GT_TMP/version.want" 2>&1
		gt_run version "${wrap[@]}" --version
		ws_rt state "$GT_ID-nosuch" >"$GT_TMP/state.want" 2>&1
		echo $? >"$GT_TMP/state.rc"
		gt_run state "${WS_PREFIX[@]}" "${wrap[@]}" "${WS_GLOBAL[@]}" state "$GT_ID-nosuch"
		if cmp -s "$GT_TMP/version.want" "$GT_TMP/runs/version.out" &&
			[ "$(cat "$GT_TMP/runs/state.rc")" = "$(cat "$GT_TMP/state.rc")" ]; then
			tap_ok "$d"
		else
			tap_not_ok "$d"
			tap_diag_file "$L --version" "$GT_TMP/version.want"
			tap_diag_file "wrapper --version" "$GT_TMP/runs/version.out"
			tap_diag_file "wrapper --version stderr" "$GT_TMP/runs/version.err"
			tap_diag "state of a missing container: $L exit $(cat "$GT_TMP/state.rc"), wrapper exit $(cat "$GT_TMP/runs/state.rc")"
		fi
	fi
}

# ------------------------------------------------------ a private containerd

# gt_containerd_start [VAR=VALUE...]: start containerd 1.6 with its own config
# (root, state and sockets under GT_TMP/ctrd; the CRI plugin off), the given
# variables in its environment (the shim and the runtime inherit them). Sets
# GT_CTRD_DIR, GT_CTRD_SOCK, GT_CTRD_NS (unique to this run) and GT_CTR (the
# ctr command line with address and namespace). Stopped at exit, after every
# task and container of this run is removed. Skips the script when
# containerd does not come up.
gt_containerd_start() {
	GT_CTRD_DIR=$GT_TMP/ctrd
	GT_CTRD_SOCK=$GT_CTRD_DIR/containerd.sock
	GT_CTRD_NS=gotune-e2e-$GT_ID
	GT_CTR=(ctr -a "$GT_CTRD_SOCK" -n "$GT_CTRD_NS")
	local d=$GT_CTRD_DIR
	mkdir -p "$d"
	cat >"$d/config.toml" <<-EOT
		version = 2
		root = "$d/root"
		state = "$d/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
		  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
		  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

		[grpc]
		  address = "$GT_CTRD_SOCK"

		[ttrpc]
		  address = "$GT_CTRD_SOCK.ttrpc"

		[metrics]
		  address = ""
	EOT
	env "$@" containerd --config "$d/config.toml" --log-level info \
		</dev/null >"$d/containerd.log" 2>&1 &
	GT_CTRD_PID=$!
	gt_defer gt_containerd_stop
	if ! gt_wait_daemon "$GT_CTRD_PID" 100 timeout 5 ctr -a "$GT_CTRD_SOCK" version; then
		tap_diag_file "containerd log" "$d/containerd.log" 30
		skip_all "containerd does not start here"
	fi
}

# gt_ctr_remove ID: kill and delete a task and its container, if there.
gt_ctr_remove() {
	timeout 10 "${GT_CTR[@]}" tasks kill -s SIGKILL "$1" >/dev/null 2>&1
	timeout 10 "${GT_CTR[@]}" tasks delete -f "$1" >/dev/null 2>&1
	timeout 10 "${GT_CTR[@]}" containers delete "$1" >/dev/null 2>&1
	return 0
}

# gt_containerd_stop: remove what this run left, stop containerd, then end any
# shim still serving it (found by the socket path in its arguments).
gt_containerd_stop() {
	local id pid
	for id in $(timeout 10 "${GT_CTR[@]}" containers ls -q 2>/dev/null); do
		gt_ctr_remove "$id"
	done
	gt_stop_pid "${GT_CTRD_PID:-}" 50
	grep -lsF -- "$GT_CTRD_SOCK" /proc/[0-9]*/cmdline | cut -d/ -f3 |
		while read -r pid; do kill -KILL "$pid" 2>/dev/null; done
	# The shim's runc state dir for this run's namespace (outside GT_TMP).
	rmdir "/run/containerd/runc/$GT_CTRD_NS" 2>/dev/null
	return 0
}

# ----------------------------------------------- containerd 2.x, with CRI

# gt_readme_line PREFIX: the first line of README.md that starts with
# PREFIX (the commands the README shows are the ones the tests run; a test
# substitutes only its private paths). Bails out when there is none.
gt_readme_line() {
	local l
	l=$(awk -v p="$1" '{ sub(/^[ \t]+/, "") } index($0, p) == 1 { print; exit }' "$GT_SRCDIR/README.md")
	[ -n "$l" ] || bail_out "README.md has no line starting with '$1'"
	printf '%s\n' "$l"
}

# gt_readme_block FIRST-LINE: the fenced code block of README.md whose
# first line is FIRST-LINE, that line included, without the fences (a
# config the README gives, as a user copies it). Bails out when there is
# none.
gt_readme_block() {
	local b
	b=$(awk -v f="$1" '/^```/ { if (on) exit; fence = 1; next }
		fence && $0 == f { on = 1 } fence = 0; on { print }' "$GT_SRCDIR/README.md")
	[ -n "$b" ] || bail_out "README.md has no code block starting with '$1'"
	printf '%s\n' "$b"
}

# gt_containerd2_init [DIR]: find the pinned containerd 2.x and crictl
# (.ci/pins, built by `.ci/deps test`); skips the script, saying why, when
# they are not there. Sets GT_CTRD2_BIN and GT_CRICTL_BIN, and the
# containerd the helpers below drive: its root DIR (GT_TMP/ctrd2).
# With GT_CTRD_PIN=CONTAINERD17 (tests/e2e/containerd17-nri.sh) it is the
# pinned containerd 1.7 instead, whose config is version 2. Sets
# GT_CTRD2_VERSION too.
gt_containerd2_init() {
	# shellcheck source=/dev/null # .ci/pins: the pinned versions
	. "$GT_SRCDIR/.ci/pins"
	local pin=${GT_CTRD_PIN:-CONTAINERD2} b
	local bin_var=${pin}_BIN ver_var=${pin}_VERSION
	GT_CTRD2_VERSION=${!ver_var}
	GT_CTRD_CONFIG_VERSION=3
	[ "$pin" = CONTAINERD2 ] || GT_CTRD_CONFIG_VERSION=2
	for b in containerd containerd-shim-runc-v2 ctr; do
		[ -x "${!bin_var}/$b" ] ||
			skip_all "containerd $GT_CTRD2_VERSION not built here (${!bin_var}/$b; .ci/deps test builds it)"
	done
	gt_containerd_cri_init "${!bin_var}" "${1:-}"
}

# gt_containerd_cri_init BINDIR [DIR]: a private containerd of BINDIR (its
# containerd, shim and ctr) with CRI, in DIR (default GT_TMP/ctrd2),
# driven by the pinned crictl: sets
# GT_CTRD2_BIN, GT_CRICTL_BIN, GT_CTRD2_DIR, the sockets, GT_CRICTL and
# GT_CTR2 for gt_containerd2_start, gt_containerd2_images and
# gt_crictl_run; stopped at exit. Skips the script without crictl.
gt_containerd_cri_init() {
	# shellcheck source=/dev/null # .ci/pins: the pinned versions
	. "$GT_SRCDIR/.ci/pins"
	GT_CTRD2_BIN=$1
	GT_CRICTL_BIN=$CRICTL_BIN/crictl
	[ -x "$GT_CRICTL_BIN" ] || skip_all "crictl $CRICTL_VERSION not built here ($GT_CRICTL_BIN; .ci/deps test builds it)"
	gt_containerd2_use "${2:-$GT_TMP/ctrd2}"
	mkdir -p "$GT_CTRD2_DIR/logs" "$GT_CTRD2_DIR/nri/plugins" "$GT_CTRD2_DIR/nri/conf.d"
	printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\n' \
		"$GT_CTRD2_SOCK" "$GT_CTRD2_SOCK" >"$GT_CTRD2_DIR/crictl.yaml"
	gt_defer gt_containerd2_stop
}

# gt_containerd2_use DIR: the helpers below drive the containerd whose root
# is DIR (a suite with one per node switches between them): GT_CTRD2_DIR,
# its sockets GT_CTRD2_SOCK and GT_NRI_SOCK, GT_CRICTL, GT_CTR2. Where
# GT_CTRD2_NS holds a command prefix (nsenter into a node's namespaces),
# gt_containerd2_start runs containerd through it.
gt_containerd2_use() {
	GT_CTRD2_DIR=$1
	GT_CTRD2_SOCK=$GT_CTRD2_DIR/containerd.sock
	GT_NRI_SOCK=$GT_CTRD2_DIR/nri/nri.sock
	GT_CRICTL=("$GT_CRICTL_BIN" --config "$GT_CTRD2_DIR/crictl.yaml")
	GT_CTR2=("$GT_CTRD2_BIN/ctr" -a "$GT_CTRD2_SOCK" -n k8s.io)
}

# gt_containerd2_config [BINARYNAME]: containerd's config (version 3, valid
# for 2.0 to 2.4): root, state, sockets, runc's state and NRI's socket and
# plugin dirs under GT_CTRD2_DIR; NRI on with the settings of
# hook/nri/containerd-nri.toml; the CRI plugin serving host-network pods
# (no CNI), its sandbox image the local gotune.test/pause:1;
# restrict_oom_score_adj because root here lacks CAP_SYS_RESOURCE; the runc
# table in full, as README gives it. With BINARYNAME, runc is that binary
# (the wrapper).
gt_containerd2_config() {
	local d=$GT_CTRD2_DIR nri
	# The NRI section exactly as shipped, with this run's paths.
	nri=$(sed -e "s#/var/run/nri/nri.sock#$GT_NRI_SOCK#" -e "s#/opt/nri/plugins#$d/nri/plugins#" \
		-e "s#/etc/nri/conf.d#$d/nri/conf.d#" -e '/^#/d' "$GT_SRCDIR/hook/nri/containerd-nri.toml")
	if [ "${GT_CTRD_CONFIG_VERSION:-3}" = 2 ]; then
		# containerd 1.7: the same settings in config version 2, the
		# runc table in full (README "containerd").
		cat >"$d/config.toml" <<-EOT
			version = 2
			root = "$d/root"
			state = "$d/state"
			disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
			  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
			  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
			  "io.containerd.internal.v1.opt"]

			[grpc]
			  address = "$GT_CTRD2_SOCK"
			[ttrpc]
			  address = "$GT_CTRD2_SOCK.ttrpc"
			[metrics]
			  address = ""

			[plugins."io.containerd.grpc.v1.cri"]
			  sandbox_image = "gotune.test/pause:1"
			  restrict_oom_score_adj = true
			  stream_server_address = "127.0.0.1"
			  [plugins."io.containerd.grpc.v1.cri".cni]
			    bin_dir = "$d/cni/bin"
			    conf_dir = "$d/cni/conf"
			  [plugins."io.containerd.grpc.v1.cri".containerd]
			    snapshotter = "overlayfs"
			  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
			    runtime_type = "io.containerd.runc.v2"
			    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
			      Root = "$d/runc"
			      BinaryName = "${1:-}"

			$nri
		EOT
		return
	fi
	cat >"$d/config.toml" <<-EOT
		version = 3
		root = "$d/root"
		state = "$d/state"
		temp = "$d/tmp"
		disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
		  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.blockfile",
		  "io.containerd.snapshotter.v1.erofs", "io.containerd.differ.v1.erofs",
		  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
		  "io.containerd.internal.v1.opt"]

		[grpc]
		  address = "$GT_CTRD2_SOCK"
		[ttrpc]
		  address = "$GT_CTRD2_SOCK.ttrpc"
		[metrics]
		  address = ""

		[plugins."io.containerd.cri.v1.images"]
		  snapshotter = "overlayfs"
		  [plugins."io.containerd.cri.v1.images".pinned_images]
		    sandbox = "gotune.test/pause:1"

		[plugins."io.containerd.cri.v1.runtime"]
		  restrict_oom_score_adj = true
		  [plugins."io.containerd.cri.v1.runtime".cni]
		    bin_dirs = ["$d/cni/bin"]
		    conf_dir = "$d/cni/conf"
		  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
		    runtime_type = "io.containerd.runc.v2"
		  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
		    Root = "$d/runc"
		    BinaryName = "${1:-}"

		[plugins."io.containerd.grpc.v1.cri"]
		  stream_server_address = "127.0.0.1"

		$nri
	EOT
}

# gt_containerd2_start: start (or restart) containerd with the current
# config, the pinned shim first on its PATH; waits until CRI answers.
# Its log accumulates in GT_CTRD2_DIR/containerd.log.
gt_containerd2_start() {
	gt_cri_start "$GT_CTRD2_DIR/containerd.log" ${GT_CTRD2_NS[@]+"${GT_CTRD2_NS[@]}"} env PATH="$GT_CTRD2_BIN:$PATH" \
		"$GT_CTRD2_BIN/containerd" --config "$GT_CTRD2_DIR/config.toml" --log-level info
}

# gt_cri_start LOG CMD...: start a CRI daemon (containerd, CRI-O) as
# GT_CTRD2_PID, its output appended to LOG, and wait up to 60 s until
# crictl info answers; on failure LOG's first lines are diagnostics.
gt_cri_start() {
	local log=$1
	shift
	"$@" </dev/null >>"$log" 2>&1 &
	GT_CTRD2_PID=$!
	gt_wait_daemon "$GT_CTRD2_PID" 300 timeout 5 "${GT_CRICTL[@]}" info && return 0
	tap_diag_file "$(basename "$log" .log) log" "$log" 40
	return 1
}

# gt_containerd2_halt: stop containerd (SIGTERM, then SIGKILL), leaving
# pods and shims as a restart would find them.
gt_containerd2_halt() {
	gt_stop_pid "${GT_CTRD2_PID:-}"
	GT_CTRD2_PID=
	return 0
}

# gt_containerd2_stop: remove every pod of this run, stop containerd, end
# any shim or plugin still serving this run (found by its paths).
gt_containerd2_stop() {
	local p
	if [ -n "${GT_CTRD2_PID:-}" ]; then
		for p in $(timeout 10 "${GT_CRICTL[@]}" pods -q 2>/dev/null); do
			timeout 20 "${GT_CRICTL[@]}" stopp "$p" >/dev/null 2>&1
			timeout 20 "${GT_CRICTL[@]}" rmp -f "$p" >/dev/null 2>&1
		done
	fi
	gt_containerd2_halt
	grep -lsF -- "$GT_CTRD2_DIR" /proc/[0-9]*/cmdline | cut -d/ -f3 |
		while read -r p; do kill -KILL "$p" 2>/dev/null; done
	return 0
}

# gt_containerd2_images ROOTFS: import ROOTFS (entrypoint /witness) as
# gotune.test/witness:1 and a busybox sleeper as the sandbox image
# gotune.test/pause:1, into containerd's k8s.io namespace (no registry).
gt_containerd2_images() {
	local p=$GT_CTRD2_DIR/pause-rootfs
	mkdir -p "$p/bin" "$p/proc" "$p/dev" "$p/sys" "$p/etc"
	cp /bin/busybox "$p/bin/busybox"
	ln -sf busybox "$p/bin/sleep"
	python3 "$GT_LIBDIR/oci_archive.py" "$p" gotune.test/pause:1 "$GT_CTRD2_DIR/pause.tar" \
		/bin/sleep 2147483647 || return 1
	python3 "$GT_LIBDIR/oci_archive.py" "$1" gotune.test/witness:1 "$GT_CTRD2_DIR/witness.tar" /witness || return 1
	timeout 120 "${GT_CTR2[@]}" images import "$GT_CTRD2_DIR/pause.tar" >"$GT_CTRD2_DIR/import.log" 2>&1 &&
		timeout 120 "${GT_CTR2[@]}" images import "$GT_CTRD2_DIR/witness.tar" >>"$GT_CTRD2_DIR/import.log" 2>&1
}

# gt_crictl_run NAME ENTRY [--pod-ann K=V]... [--ann K=V]... [--no-limits]
# [--exec] [--keep] [--mount HOST:CONTAINER]...: a host-network pod with one container running ENTRY (0.5 CPU,
# 200 MiB unless --no-limits), created with crictl runp, create and start;
# waits for the container to exit, then writes its output (from the CRI
# log) to GT_TMP/runs/NAME.out, its exit code to NAME.rc and crictl's
# errors to NAME.err; the pod is removed. The wall time of
# runp+create+start is in NAME.ms. GT_CRICTL_POD_NS (JSON) adds to the
# pod's namespace_options and is the container's. With --exec the container runs a sleep
# and ENTRY is run in it with `crictl exec` (its output and status are
# NAME.out and NAME.rc). With --keep the container runs a sleep and is
# left running: its pod and container IDs are in NAME.pod and NAME.cid
# (gt_crictl_rmp removes it).
gt_crictl_run() {
	local name=$1 entry=$2 limits=true exec=false keep=false
	shift 2
	local pann=() cann=() r=$GT_TMP/runs/$name d=$GT_CTRD2_DIR pod cid st= mounts='[]'
	while [ $# -gt 0 ]; do
		case $1 in
		--mount) mounts=$(jq -c --arg h "${2%%:*}" --arg c "${2#*:}" '. + [{host_path: $h, container_path: $c}]' <<<"$mounts"); shift 2 ;;
		--exec) exec=true; shift ;;
		--keep) keep=true; shift ;;
		--pod-ann) pann+=("$2"); shift 2 ;;
		--ann) cann+=("$2"); shift 2 ;;
		--no-limits) limits=false; shift ;;
		*) bail_out "gt_crictl_run: unknown option $1" ;;
		esac
	done
	jq -n --arg name "$name" --arg uid "$GT_ID-$name" --arg logs "$d/logs/$name" \
		--argjson ann "$(gt_json_map ${pann[@]+"${pann[@]}"})" '{
		metadata: {name: $name, namespace: "gotune-e2e", uid: $uid},
		log_directory: $logs,
		linux: {security_context: {namespace_options: ({network: 2} + $ns)}},
		annotations: $ann}' --argjson ns "${GT_CRICTL_POD_NS:-{\}}" >"$r.pod.json"
	jq -n --arg entry "$entry" --argjson limits "$limits" --argjson exec "$exec" --argjson keep "$keep" \
		--argjson quota "$GT_CPU_QUOTA" --argjson period "$GT_CPU_PERIOD" --argjson mem "$GT_MEM_LIMIT" \
		--argjson ann "$(gt_json_map ${cann[@]+"${cann[@]}"})" '{
		metadata: {name: "witness"},
		image: {image: "gotune.test/witness:1"},
		command: (if $exec or $keep then ["/bin/sleep", "300"] else [$entry] end),
		log_path: "witness.log",
		annotations: $ann,
		mounts: $mounts,
		linux: ({resources: (if $limits then {cpu_period: $period, cpu_quota: $quota,
			memory_limit_in_bytes: $mem} else {} end)}
			+ if $ns == {} then {} else {security_context: {namespace_options: $ns}} end)}' \
		--argjson ns "${GT_CRICTL_POD_NS:-{\}}" --argjson mounts "$mounts" >"$r.ctr.json"
	: >"$r.err"
	local t0 t1
	t0=$(date +%s%N)
	printf 'crictl runp %s; create; start\n' "$r.pod.json" >"$r.cmd"
	if pod=$(timeout -k 5 "$GT_TIMEOUT" "${GT_CRICTL[@]}" runp "$r.pod.json" 2>>"$r.err") &&
		cid=$(timeout -k 5 "$GT_TIMEOUT" "${GT_CRICTL[@]}" create "$pod" "$r.ctr.json" "$r.pod.json" 2>>"$r.err") &&
		timeout -k 5 "$GT_TIMEOUT" "${GT_CRICTL[@]}" start "$cid" >/dev/null 2>>"$r.err"; then
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000000)) >"$r.ms"
		if [ "$keep" = true ]; then
			echo "$pod" >"$r.pod"
			echo "$cid" >"$r.cid"
			return 0
		fi
		if [ "$exec" = true ]; then
			timeout -k 5 "$GT_TIMEOUT" "${GT_CRICTL[@]}" exec "$cid" "$entry" >"$r.exec.out" 2>>"$r.err"
			echo $? >"$r.rc"
			timeout 30 "${GT_CRICTL[@]}" stopp "$pod" >/dev/null 2>&1
			timeout 30 "${GT_CRICTL[@]}" rmp -f "$pod" >/dev/null 2>&1
			mv "$r.exec.out" "$r.out"
			return 0
		fi
		for _ in $(seq 150); do
			st=$(timeout 10 "${GT_CRICTL[@]}" inspect -o json "$cid" 2>/dev/null | jq -r '.status.state + " " + (.status.exitCode|tostring)')
			[ "${st%% *}" = CONTAINER_EXITED ] && break
			sleep 0.2
		done
		if [ "${st%% *}" = CONTAINER_EXITED ]; then
			echo "${st#* }" >"$r.rc"
		else
			echo "container state: $st" >>"$r.err"
			echo 124 >"$r.rc"
		fi
	else
		echo 1 >"$r.rc"
		date +%s%N | awk -v t0="$t0" '{ printf "%d\n", ($1 - t0) / 1000000 }' >"$r.ms"
	fi
	# CRI log lines: TIMESTAMP STREAM TAG MESSAGE
	cut -d' ' -f4- "$d/logs/$name/witness.log" >"$r.out" 2>/dev/null || : >"$r.out"
	if [ -n "${pod:-}" ]; then
		timeout 30 "${GT_CRICTL[@]}" stopp "$pod" >/dev/null 2>&1
		timeout 30 "${GT_CRICTL[@]}" rmp -f "$pod" >/dev/null 2>&1
	fi
	return 0
}

# gt_crictl_rmp FILE: stop and remove the pod whose ID FILE holds (a pod
# gt_crictl_run --keep left running).
gt_crictl_rmp() {
	local pod
	pod=$(cat "$1" 2>/dev/null) || return 0
	timeout 30 "${GT_CRICTL[@]}" stopp "$pod" >/dev/null 2>&1
	timeout 30 "${GT_CRICTL[@]}" rmp -f "$pod" >/dev/null 2>&1
	return 0
}

# gt_plan_expect NAME [K=V annotation...]: the checks that say the witness
# saw what `gotune-hook plan --json` plans for a spec with the same
# limits (0.5 CPU, 200 MiB) and annotations and no image to inspect (NRI
# answers before the image is mounted): GOMAXPROCS and GOMEMLIMIT as
# planned (set) or absent (any other decision), and the Go runtime's view.
# GT_PLAN_MOUNTS: the spec's mounts (a JSON array), read against this
# host's mount table as the plugin reads it.
gt_plan_expect() {
	local spec=$GT_TMP/runs/$1.plan-spec.json mp ml
	jq -n --argjson quota "$GT_CPU_QUOTA" --argjson period "$GT_CPU_PERIOD" --argjson mem "$GT_MEM_LIMIT" \
		--argjson ann "$(gt_json_map "${@:2}")" --argjson mounts "${GT_PLAN_MOUNTS:-[]}" '{ociVersion: "1.0.2",
		process: {args: ["/witness"], env: []}, root: {path: "no-rootfs"},
		annotations: $ann, mounts: $mounts,
		linux: {resources: {cpu: {quota: $quota, period: $period}, memory: {limit: $mem}}}}' >"$spec"
	[ -f "$GT_TMP/policy-empty.json" ] || printf '{}\n' >"$GT_TMP/policy-empty.json"
	"$GOTUNE_HOOK" plan --json --policy "${GT_PLAN_POLICY:-$GT_TMP/policy-empty.json}" "$spec" \
		>"$GT_TMP/runs/$1.plan.json" 2>"$GT_TMP/runs/$1.plan.err" || true
	mp=$(jq -r 'if .vars.GOMAXPROCS.action == "set" then .vars.GOMAXPROCS.value else "" end' "$GT_TMP/runs/$1.plan.json")
	ml=$(jq -r 'if .vars.GOMEMLIMIT.action == "set" then .vars.GOMEMLIMIT.value else "" end' "$GT_TMP/runs/$1.plan.json")
	printf '%s\n' "ENV_GOMAXPROCS=$mp" "ENV_GOMEMLIMIT=$ml"
	[ -n "$mp" ] && printf '%s\n' "GOMAXPROCS=$mp"
	if [ -n "$ml" ]; then
		printf '%s\n' "MEMLIMIT=$(gt_memlimit_bytes "$ml")"
	else
		printf '%s\n' "MEMLIMIT=$GT_UNSET_MEMLIMIT"
	fi
}

# gt_memlimit_bytes VALUE: a GOMEMLIMIT value (180MiB, 188743680B, ...) in bytes.
gt_memlimit_bytes() {
	local v=$1 n
	n=${v%%[!0-9]*}
	case ${v#"$n"} in
	KiB) echo $((n << 10)) ;; MiB) echo $((n << 20)) ;; GiB) echo $((n << 30)) ;; TiB) echo $((n << 40)) ;;
	*) echo "$n" ;;
	esac
}
