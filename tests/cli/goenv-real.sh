#!/usr/bin/env bash
# User values of GOMEMLIMIT and GOMAXPROCS judged by real Go runtimes: for
# each value, the witness (tests/witness) built by each Go of tests/gobuild
# runs on the host with it in its environment, and `gotune-hook plan` on a
# bundle whose entrypoint is that same binary must say what the runtime did:
# "Go aborts at start" exactly when it aborted (GOMEMLIMIT), "Go ignores"
# exactly when the runtime's GOMAXPROCS is not the value (GOMAXPROCS). A Go
# this machine lacks is a TAP SKIP with gobuild's reason. TAP output.
set -u
hook=$(realpath "${GOTUNE_HOOK:?path to gotune-hook}")
tests=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
if [ -n "${GOTUNE_BUILDDIR:-}" ]; then
	out=$GOTUNE_BUILDDIR/goenv-real
	mkdir -p "$out"
else
	out=$tmp/out
	mkdir -p "$out"
fi
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }

command -v jq >/dev/null || { echo "1..0 # SKIP jq not installed"; exit 0; }
echo '{}' >"$tmp/policy.json"
export GOTUNE_POLICY=$tmp/policy.json

# Values around the edges of both readings (Go 1.19-1.25 atoi64, Go >= 1.26
# strconv.ParseInt): a sign, a unit Go does not know, overflow, spaces.
memlimits=(180MiB 180M -0 -1 +5MiB 1KB 0B 5B 8589934591GiB 8589934592GiB off OFF " 5" 0x10 1.5GiB 100KiB)
maxprocs=(1 0 -1 +1 two 2147483648 " 1")

for v in go119 go126 go127; do
	bin=$out/witness-$v
	line=$(GOCACHE="$out/go-cache" "$tests/gobuild" "$v" "$tests/witness" "$bin" 2>"$tmp/gobuild.err")
	rc=$?
	if [ $rc = 3 ]; then
		skip "$v: GOMEMLIMIT and GOMAXPROCS values" "${line#*: skipped: }"
		continue
	elif [ $rc != 0 ]; then
		ok 1 "$v: build the witness"
		sed 's/^/# /' "$tmp/gobuild.err"
		continue
	fi
	echo "# $line"
	b=$tmp/bundle-$v
	mkdir -p "$b/rootfs"
	cp "$bin" "$b/rootfs/witness"
	for val in "${memlimits[@]}"; do
		GOMEMLIMIT=$val "$bin" >"$tmp/run.out" 2>"$tmp/run.err"
		rc=$?
		jq -n --arg e "GOMEMLIMIT=$val" '{ociVersion: "1.0.2", root: {path: "rootfs"},
			process: {args: ["/witness"], env: [$e], cwd: "/"},
			linux: {resources: {memory: {limit: 209715200}}}}' >"$b/config.json"
		"$hook" plan --json --host-cpus 2 --bundle "$b" >"$tmp/plan.json" 2>/dev/null
		said=$(jq -r '.vars.GOMEMLIMIT.reason' "$tmp/plan.json")
		aborted=0
		[ $rc -ne 0 ] && grep -q 'malformed GOMEMLIMIT' "$tmp/run.err" && aborted=1
		predicted=0
		case $said in *"Go aborts at start"*) predicted=1 ;; esac
		ok $((aborted != predicted)) "$v GOMEMLIMIT='$val': Go $([ $aborted = 1 ] && echo aborts || echo runs), gotune says so"
		if [ $aborted != $predicted ]; then
			echo "#   exit $rc: $(head -c 200 "$tmp/run.err" | tr '\n' ' ')"
			echo "#   plan: $said"
		fi
	done
	for val in "${maxprocs[@]}"; do
		got=$(GOMAXPROCS=$val "$bin" 2>/dev/null | sed -n 's/^GOMAXPROCS=//p')
		jq -n --arg e "GOMAXPROCS=$val" '{ociVersion: "1.0.2", root: {path: "rootfs"},
			process: {args: ["/witness"], env: [$e], cwd: "/"},
			linux: {resources: {cpu: {quota: 50000}}}}' >"$b/config.json"
		"$hook" plan --json --host-cpus 2 --bundle "$b" >"$tmp/plan.json" 2>/dev/null
		said=$(jq -r '.vars.GOMAXPROCS.reason' "$tmp/plan.json")
		# Go used the value when its GOMAXPROCS is the number written.
		used=0
		num=${val#+}
		[ "$got" = "$num" ] && used=1
		predicted=1
		case $said in *"Go ignores"*) predicted=0 ;; esac
		ok $((used != predicted)) "$v GOMAXPROCS='$val': Go $([ $used = 1 ] && echo uses it || echo "ignores it ($got)"), gotune says so"
		[ $used != $predicted ] && echo "#   plan: $said"
	done
done

echo "1..$n"
[ "$failed" -eq 0 ]
