#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/load.sh - LOAD_N (default 100) containers created at once with
# real runc through gotune-runc, each with the prestart hook in its
# config.json and its own memory limit: all start, each sees the GOMEMLIMIT
# of its own limit (no spec shared or mixed up), and no config.json is left
# corrupt. The same load with plain runc and no hook is the baseline; both
# wall times are printed.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/load.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc
gt_need_hook "load" || tap_done
N=${LOAD_N:-100}

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
WRAP=$(gt_runc_link)
POLICY=$(gt_policy "$GT_TMP/policy.json" "{\"runtime\": \"$(command -v runc)\"}")
export GOTUNE_POLICY=$POLICY
STATE=(--root "$GT_TMP/runc-state")

# make VARIANT I: bundle I; container I gets (100 + I) MiB.
make() {
	local b=$GT_TMP/$1-$2 mem=$(( (100 + $2) << 20 ))
	mkdir -p "$b"
	jq --argjson mem "$mem" --arg hook "$GOTUNE_HOOK" --arg policy "$POLICY" --arg v "$1" '
		.linux.resources.memory.limit = $mem
		| if $v == "gotune" then
			.hooks.prestart = [{path: $hook, args: ["gotune-hook", "prestart", "--policy", $policy], timeout: 30}]
		  else . end' "$GT_TMP/template.json" >"$b/config.json"
}

gt_make_bundle "$GT_TMP/template" "$ROOTFS"
mv "$GT_TMP/template/config.json" "$GT_TMP/template.json"

# load VARIANT RUNTIME: all N at once; prints the wall time in ms.
load() {
	local v=$1 rt=$2 i t0
	for i in $(seq "$N"); do make "$v" "$i"; done
	t0=$(date +%s%N)
	for i in $(seq "$N"); do
		timeout -k 5 300 "$rt" "${STATE[@]}" run --bundle "$GT_TMP/$v-$i" "$GT_ID-$v-$i" \
			</dev/null >"$GT_TMP/$v-$i.out" 2>"$GT_TMP/$v-$i.err" &
	done
	wait
	echo $(( ($(date +%s%N) - t0) / 1000000 ))
}

plain_ms=$(load plain runc)
gotune_ms=$(load gotune "$WRAP")
tap_diag "$N containers at once: plain runc $plain_ms ms, gotune-runc + prestart hook $gotune_ms ms" \
	"(ratio $(awk -v a="$gotune_ms" -v b="$plain_ms" 'BEGIN{printf "%.2f", a/b}'))"

started=0 right=0 wrong=()
for i in $(seq "$N"); do
	out=$GT_TMP/gotune-$i.out
	gt_witness_complete "$out" && started=$((started + 1))
	want=$(( ((100 + i) << 20) * 9 / 10 ))
	got=$(gt_witness_get "$out" MEMLIMIT 2>/dev/null)
	if [ "$got" = "$want" ]; then right=$((right + 1)); else wrong+=("$i: got '$got' want $want"); fi
done
plain_started=0
for i in $(seq "$N"); do gt_witness_complete "$GT_TMP/plain-$i.out" && plain_started=$((plain_started + 1)); done
if [ "$plain_started" -eq "$N" ]; then
	tap_ok "baseline: all $N plain runc containers started"
else
	tap_not_ok "baseline: $plain_started of $N plain runc containers started"
fi
if [ "$started" -eq "$N" ]; then
	tap_ok "all $N containers started through gotune-runc with the prestart hook"
else
	tap_not_ok "$started of $N containers started through gotune"
	for i in $(seq "$N"); do
		gt_witness_complete "$GT_TMP/gotune-$i.out" || { tap_diag_file "container $i stderr" "$GT_TMP/gotune-$i.err" 5; break; }
	done
fi
if [ "$right" -eq "$N" ]; then
	tap_ok "each container saw the GOMEMLIMIT of its own limit (100..$((100 + N)) MiB x 0.9)"
else
	tap_not_ok "$right of $N containers saw their own GOMEMLIMIT"
	tap_diag "${wrong[@]:0:5}"
fi
bad=0
for i in $(seq "$N"); do
	jq -e --argjson mem $(( (100 + i) << 20 )) '.linux.resources.memory.limit == $mem and
		(.process.env | map(select(startswith("GOMEMLIMIT="))) | length == 1)' \
		"$GT_TMP/gotune-$i/config.json" >/dev/null 2>&1 || bad=$((bad + 1))
done
leftover=$(find "$GT_TMP" -name '.config.json.gotune-*' | wc -l)
if [ "$bad" -eq 0 ] && [ "$leftover" -eq 0 ]; then
	tap_ok "every config.json is whole, its own, tuned once; no temp files left"
else
	tap_not_ok "$bad config.json files wrong, $leftover temp files left"
fi
tap_done
