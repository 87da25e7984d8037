#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for
# SECONDS (default 20) on a seed corpus made from the project's fixtures and
# real files of this machine. Any crash fails the run; the crashing input is
# left in the work dir and becomes a regression test.
#   tests/fuzz/run.sh [SECONDS] [WORKDIR]
# FUZZ_RUNS=N also stops each target after N executions (a campaign of
# "10 million executions or SECONDS, whichever comes first");
# FUZZ_TARGETS="elf nri" runs only those.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
work=${2:-}
if [ -z "$work" ]; then
	work=$(mktemp -d /tmp/gotune-fuzz.XXXXXX)
	trap '[ "$failed" -eq 0 ] && rm -rf "$work"' EXIT
fi
command -v clang >/dev/null || { echo "1..0 # SKIP clang not installed"; exit 0; }
mkdir -p "$work"
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
for d in lib/*/; do flags+=("-I$d"); done
# Everything but the confinement (which needs the build's generated BPF
# and is not reached from the parsers).
libs=()
for f in lib/*/*.c; do
	case $f in lib/base/confine.c | lib/base/seccomp_rules.c | lib/base/gen_seccomp.c) ;; *) libs+=("$f") ;; esac
done
n=0 failed=0
seed() { # TARGET: a corpus dir with seeds
	local d=$work/corpus-$1
	mkdir -p "$d"
	case $1 in
	spec) cp tests/fixtures/*.json tests/fuzz/regressions/spec-* "$d/"
		# both a spec and an exec process file (the wrapper's exec path)
		printf '{"env":["PATH=/bin","GODEBUG=a=1"],"args":["sh"],"process":{"env":["GODEBUG=a=1"]},"linux":{"resources":{"cpu":{"quota":50000},"memory":{"limit":209715200}}}}' >"$d/exec1" ;;
	policy) cp schema/policy.example.json "$d/"; echo '{"gomaxprocs":{"rounding":"floor"},"prewarm":{"files":["/a"]}}' >"$d/p1" ;;
	state) printf '{"ociVersion":"1.0.2","id":"x","status":"creating","pid":1,"bundle":"/b"}' >"$d/s1"
		printf 'gotune-profile 1\nentry /bin/app\t100\t5\nfile /lib/libc.so.6\t8192\t7\t0+4096,4096+100\n' >"$d/p1" ;;
	small) printf '0-3,8,10-11' >"$d/c1"; printf '180MiB' >"$d/m1" ;;
	profile) printf 'gotune-profile 4\nentry /bin/app\t100\t5\t-\t%s\nimage -\t-\nsettled 1\nfile /bin/app\t100000\t5\t-\t0+4096@3,4096+4096@1,16384+100\nfile /lib/libc.so.6\t8192\t7\tgnu:ab\t0+4096\n' \
			"$(printf '%064d' 0)" >"$d/p4"
		printf 'gotune-profile 3\nentry /bin/app\t100\t5\t-\nfile /bin/app\t1000000\t5\t-\t0+4096@3,8192+4096@1\n\0' >"$d/p3"
		head -c 6000 /dev/urandom >>"$d/p3"
		cp tests/fuzz/regressions/profile-* "$d/" ;;
	nri) python3 tests/fuzz/nri_seeds.py "$d" ;;
	elf) for f in /bin/true /etc/ld.so.cache /usr/sbin/runc; do [ -f "$f" ] && head -c 65536 "$f" >"$d/$(basename "$f")"; done ;;
	esac
}
for t in ${FUZZ_TARGETS:-spec policy state small elf nri profile}; do
	n=$((n + 1))
	exe=$work/fuzz_$t
	if ! clang "${flags[@]}" "tests/fuzz/fuzz_$t.c" "${libs[@]}" -lyajl -lm -o "$exe" 2>"$work/build-$t.log"; then
		echo "not ok $n - fuzz_$t builds"; sed 's/^/# /' "$work/build-$t.log" | head -20; failed=$((failed + 1)); continue
	fi
	seed "$t"
	runs=()
	[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
	if (cd "$work" && "$exe" -max_total_time="$secs" ${runs[@]+"${runs[@]}"} -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		"corpus-$t" >"fuzz-$t.log" 2>&1); then
		echo "ok $n - fuzz_$t: $(grep -o 'Done [0-9]* runs in [0-9]* second' "$work/fuzz-$t.log" | head -1)s, $(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/fuzz-$t.log" | tail -1), no crash"
	else
		echo "not ok $n - fuzz_$t found a crash (input left in $work)"
		grep -E 'ERROR|SUMMARY|Test unit written' "$work/fuzz-$t.log" | head -5 | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
