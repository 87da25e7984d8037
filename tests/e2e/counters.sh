#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/counters.sh - the counters file under concurrent containers, on
# real runc through gotune-runc (issue 26): COUNTERS_N (default 50)
# containers created at once, a mix of what gotune does to them:
#   2/5 tuned   (0.5 CPU, 200 MiB)
#   1/5 kept    (the same limits, GOMAXPROCS=3 and GOMEMLIMIT=100MiB of their own)
#   1/5 skipped (no limits)
#   1/5 audit   (the limits, annotation gotune.io/mode: audit)
# each checked by what its witness printed (audit: Go's defaults, nothing
# changed), then the counters file must hold exactly those numbers. Then
# execs into a running container at once (gotune_exec_total), and
# containers under a broken policy that still names the counters file
# (passthrough, untuned). No count may be lost.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/counters.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc
gt_need_hook "counters" || tap_done
N=${COUNTERS_N:-50}
[ $((N % 5)) -eq 0 ] || bail_out "COUNTERS_N must be a multiple of 5"
RUNC=$(command -v runc)
ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
WRAP=$(gt_runc_link)
M=$GT_TMP/textfile/gotune.prom
POLICY=$(gt_policy "$GT_TMP/policy.json" "{\"runtime\": \"$RUNC\", \"metrics\": {\"file\": \"$M\"}}")
STATE=(--root "$GT_TMP/runc-state")
KEEP3=(GOMAXPROCS=3 ENV_GOMAXPROCS=3 MEMLIMIT=104857600 ENV_GOMEMLIMIT=100MiB)
mapfile -t TUNED < <(gt_checks_tuned)
mapfile -t DEFAULT < <(gt_checks_default)

kind() { # kind I: what container I is
	case $(($1 % 5)) in
	0 | 1) echo tuned ;;
	2) echo kept ;;
	3) echo skipped ;;
	4) echo audit ;;
	esac
}
for i in $(seq "$N"); do
	b=$GT_TMP/b$i
	case $(kind "$i") in
	tuned) gt_make_bundle "$b" "$ROOTFS" ;;
	kept) gt_make_bundle "$b" "$ROOTFS" --env GOMAXPROCS=3 --env GOMEMLIMIT=100MiB ;;
	skipped) gt_make_bundle "$b" "$ROOTFS" --no-limits ;;
	audit) gt_make_bundle "$b" "$ROOTFS" --annotation gotune.io/mode=audit ;;
	esac
done

t0=$(date +%s%N)
for i in $(seq "$N"); do
	GOTUNE_POLICY=$POLICY timeout -k 5 120 "$WRAP" "${STATE[@]}" run --bundle "$GT_TMP/b$i" "$GT_ID-$i" \
		</dev/null >"$GT_TMP/runs/c$i.out" 2>"$GT_TMP/runs/c$i.err" &
done
wait
tap_diag "$N containers at once through gotune-runc with a counters file: $(( ($(date +%s%N) - t0) / 1000000 )) ms"

declare -A want=([tuned]=0 [kept]=0 [skipped]=0 [audit]=0)
wrong=()
for i in $(seq "$N"); do
	k=$(kind "$i")
	want[$k]=$((want[$k] + 1))
	case $k in
	tuned) checks=("${TUNED[@]}") ;;
	kept) checks=("${KEEP3[@]}") ;;
	*) checks=("${DEFAULT[@]}") ;;
	esac
	if ! gt_witness_complete "$GT_TMP/runs/c$i.out" || [ -n "$(gt_witness_check "$GT_TMP/runs/c$i.out" "${checks[@]}")" ]; then
		wrong+=("container $i ($k): $(tr '\n' ' ' <"$GT_TMP/runs/c$i.out" | cut -c1-160) $(head -c 200 "$GT_TMP/runs/c$i.err")")
	fi
done
if [ ${#wrong[@]} -eq 0 ]; then
	tap_ok "all $N containers ran, each as its kind says: ${want[tuned]} tuned, ${want[kept]} kept their own, ${want[skipped]} without limits, ${want[audit]} in audit mode with Go's defaults"
else
	tap_not_ok "${#wrong[@]} of $N containers saw something else than their kind"
	tap_diag "${wrong[@]:0:5}"
fi

line() { printf 'gotune_containers_total{entry="runtime",outcome="%s"} %s' "$1" "$2"; }
d="the counters file holds exactly tuned ${want[tuned]}, kept ${want[kept]}, skipped ${want[skipped]}, audit ${want[audit]}, passthrough 0 for entry runtime"
bad=()
for o in tuned kept skipped audit; do grep -qxF "$(line "$o" "${want[$o]}")" "$M" || bad+=("$o"); done
grep -qxF "$(line passthrough 0)" "$M" || bad+=(passthrough)
if [ ${#bad[@]} -eq 0 ]; then tap_ok "$d"; else tap_not_ok "$d"; tap_diag "wrong: ${bad[*]}"; tap_diag_file "$M" "$M"; fi
d="the file is replaced whole (no temp file left, 0644, every line a comment or a sample)"
if [ "$(find "$(dirname "$M")" -name '.gotune.prom.*' | wc -l)" -eq 0 ] && [ "$(stat -c %a "$M")" = 644 ] &&
	! grep -Evq '^(# (HELP|TYPE) .*|gotune_[a-z_]+\{[a-z0-9_]+="[^"]*"(,[a-z0-9_]+="[^"]*")*\} [0-9]+)$' "$M"; then
	tap_ok "$d"
else
	tap_not_ok "$d"
	tap_diag_file "$M" "$M"
fi

# execs at once into one running container, tuned as the container is
E=$((N / 2))
gt_make_bundle "$GT_TMP/long" "$ROOTFS"
jq '.process.args = ["/bin/sleep", "120"]' "$GT_TMP/long/config.json" >"$GT_TMP/long/c" && mv "$GT_TMP/long/c" "$GT_TMP/long/config.json"
GOTUNE_POLICY=$POLICY timeout 30 "$WRAP" "${STATE[@]}" run -d --bundle "$GT_TMP/long" "$GT_ID-long" \
	</dev/null >"$GT_TMP/runs/long.out" 2>"$GT_TMP/runs/long.err"
gt_defer "$RUNC" "${STATE[@]}" delete -f "$GT_ID-long"
for i in $(seq "$E"); do
	GOTUNE_POLICY=$POLICY timeout -k 5 60 "$WRAP" "${STATE[@]}" exec "$GT_ID-long" /witness \
		</dev/null >"$GT_TMP/runs/e$i.out" 2>"$GT_TMP/runs/e$i.err" &
done
wait
tuned=0
for i in $(seq "$E"); do
	[ "$(gt_witness_get "$GT_TMP/runs/e$i.out" ENV_GOMEMLIMIT)" = 180MiB ] && tuned=$((tuned + 1))
done
d="$E execs at once: each process got the container's GOMEMLIMIT, and gotune_exec_total{outcome=\"tuned\"} is $E"
if [ "$tuned" -eq "$E" ] && grep -qxF "gotune_exec_total{outcome=\"tuned\"} $E" "$M"; then
	tap_ok "$d"
else
	tap_not_ok "$d"
	tap_diag "$tuned of $E tuned; $(grep exec_total "$M" | tr '\n' ' ')"
	tap_diag_file "exec 1 stderr" "$GT_TMP/runs/e1.err"
fi

# A broken policy that still names the counters file: each container passes
# through untuned, and each is counted.
P=$((N / 5))
BROKEN=$(gt_policy "$GT_TMP/broken.json" "{\"runtime\": \"$RUNC\", \"metrics\": {\"file\": \"$M\"}, \"gomemlimit\": {\"ratoi\": 0.5}}")
for i in $(seq "$P"); do gt_make_bundle "$GT_TMP/p$i" "$ROOTFS"; done
for i in $(seq "$P"); do
	GOTUNE_POLICY=$BROKEN timeout -k 5 120 "$WRAP" "${STATE[@]}" --log "$GT_TMP/runs/p$i.log" --log-format json \
		run --bundle "$GT_TMP/p$i" "$GT_ID-p$i" </dev/null >"$GT_TMP/runs/p$i.out" 2>"$GT_TMP/runs/p$i.err" &
done
wait
untuned=0 warned=0
for i in $(seq "$P"); do
	[ "$(gt_witness_get "$GT_TMP/runs/p$i.out" ENV_GOMEMLIMIT)" = "" ] && gt_witness_complete "$GT_TMP/runs/p$i.out" &&
		untuned=$((untuned + 1))
	jq -es --arg id "$GT_ID-p$i" 'any(.[]; .level == "warning" and (.msg | contains("runtime id=" + $id + " passthrough (policy")))' \
		"$GT_TMP/runs/p$i.log" >/dev/null 2>&1 && warned=$((warned + 1))
done
d="a broken policy: $P containers at once run untuned, each logged at warning level with its id, and passthrough is $P"
if [ "$untuned" -eq "$P" ] && [ "$warned" -eq "$P" ] && grep -qxF "$(line passthrough "$P")" "$M"; then
	tap_ok "$d"
else
	tap_not_ok "$d"
	tap_diag "untuned $untuned, warned $warned; $(grep passthrough "$M" | tr '\n' ' ')"
	tap_diag_file "run 1 log" "$GT_TMP/runs/p1.log"
fi
sha=$(sha256sum "$BROKEN" | cut -d' ' -f1)
d="gotune_info names the policy of the last update: the broken one, by its SHA-256"
if grep -qxF "gotune_info{version=\"$("$GOTUNE_HOOK" --version | sed -n '1s/gotune-hook //p')\",policy_sha256=\"$sha\"} 1" "$M"; then
	tap_ok "$d"
else
	tap_not_ok "$d"
	tap_diag "want $sha"
	tap_diag_file "$M" "$M"
fi
tap_done
