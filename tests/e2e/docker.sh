#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/docker.sh - gotune-runc as a Docker Engine runtime.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/docker.sh
#
# Starts Debian's dockerd (docker.io 20.10) with its own --data-root,
# --exec-root, socket, pidfile and daemon.json (no bridge, no iptables, no
# ip-masq; it starts its own containerd under the exec-root), imports a
# busybox + witness rootfs with `docker import`, and runs the witness with
# `--cpus 0.5 --memory 200m`. daemon.json names the runtimes as README
# "Docker" shows them:
#   gotune         {"path": "/.../gotune-runc"}           (README, verbatim)
#   gotune-policy  gotune-hook with runtimeArgs ["runtime", "--policy", P, "--"]
#   gotune-bad     the same with a corrupt policy (fail open)
# and "default-runtime": "gotune". Checked: plain runc (the defaults);
# `gotune-hook doctor` on this host sees the running dockerd's daemon.json
# wired (and the corrupt policy of gotune-bad); after gotune-runc is
# removed with daemon.json left as it was, doctor names the leftover
# default-runtime and every `docker run` fails as it says; after README's
# Uninstall steps (daemon.json edited, dockerd reloaded), runs work and
# doctor finds nothing of gotune's;
# --runtime gotune and the default runtime (tuned); a policy through
# runtimeArgs (ratio 0.5, log_file with a short `ms`); the user's -e
# GOMAXPROCS kept; exec, stop and rm through the wrapper, and `docker exec`
# tuned as the container (an -e of the caller's kept); nothing of
# gotune's in `docker logs`, even when it has something to say.
# dockerd (and its containerd) is stopped at exit.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
if [ ! -x /usr/sbin/dockerd ] || [ ! -x /usr/bin/docker ]; then
	skip_all "dockerd not found (package docker.io)"
fi
gt_require_cmd runc tar

RUNC=$(command -v runc)
DK=$GT_TMP/docker
mkdir -p "$DK"
DOCKER=(/usr/bin/docker -H "unix://$DK/docker.sock")

mapfile -t TUNED < <(gt_checks_tuned)
mapfile -t DEFAULT < <(gt_checks_default)
mapfile -t KEEP3 < <(gt_checks_keep3)

LINK=none
POLICY=$GT_TMP/policy-half.json
BAD_POLICY=$(gt_policy "$GT_TMP/policy-corrupt.json" '{ "strict": ')
LOG_FILE=$GT_TMP/gotune-log.json
gt_policy "$POLICY" "{\"gomemlimit\": {\"ratio\": 0.5}, \"log_file\": \"$LOG_FILE\", \"runtime\": \"$RUNC\"}" >/dev/null
if [ "$GT_HAVE_HOOK" -eq 1 ]; then
	# A link of this run's own: the uninstall below removes it.
	mkdir -p "$GT_TMP/bin"
	LINK=$GT_TMP/bin/gotune-runc
	ln -s "$GOTUNE_HOOK" "$LINK"
fi
# README "Docker": the runtimes entry as shown there, this build's path.
README_JSON=$(gt_readme_line '{ "runtimes": { "gotune": { "path": "/usr/local/bin/gotune-runc" } } }')
README_JSON=${README_JSON//\/usr\/local\/bin\/gotune-runc/$LINK}
jq -n --argjson readme "$README_JSON" --arg hook "$GOTUNE_HOOK" --arg pol "$POLICY" --arg bad "$BAD_POLICY" '{
	"runtimes": ($readme.runtimes + {
		"gotune-policy": {"path": $hook, "runtimeArgs": ["runtime", "--policy", $pol, "--"]},
		"gotune-bad": {"path": $hook, "runtimeArgs": ["runtime", "--policy", $bad, "--"]}
	}),
	"default-runtime": (if $readme.runtimes.gotune.path == "none" then "runc" else "gotune" end),
	"log-driver": "json-file"
}' >"$DK/daemon.json"

# shellcheck disable=SC2317 # run at exit by gt_defer
gt_dockerd_stop() {
	local id pid
	for id in $(timeout 10 "${DOCKER[@]}" ps -aq 2>/dev/null); do
		timeout 20 "${DOCKER[@]}" rm -f "$id" >/dev/null 2>&1
	done
	gt_stop_pid "$(cat "$DK/docker.pid" 2>/dev/null)"
	# Its containerd and shims, found by the exec-root in their arguments.
	grep -lsF -- "$DK/exec" /proc/[0-9]*/cmdline | cut -d/ -f3 |
		while read -r pid; do kill -KILL "$pid" 2>/dev/null; done
	return 0
}

/usr/sbin/dockerd --data-root "$DK/data" --exec-root "$DK/exec" --pidfile "$DK/docker.pid" \
	-H "unix://$DK/docker.sock" --bridge=none --iptables=false --ip-masq=false \
	--config-file "$DK/daemon.json" </dev/null >"$DK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
gt_defer gt_dockerd_stop
if ! gt_wait_daemon "$DOCKERD_PID" 150 timeout 5 "${DOCKER[@]}" version; then
	tap_diag_file "dockerd log" "$DK/dockerd.log" 30
	skip_all "dockerd does not start here"
fi
tap_diag "$("${DOCKER[@]}" version --format 'dockerd {{.Server.Version}}, containerd {{range .Server.Components}}{{if eq .Name "containerd"}}{{.Version}}{{end}}{{end}}' 2>&1)"

# The image: busybox + the witness, from a rootfs tar (no registry).
ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
IMAGE=gotune-witness:$GT_ID
if ! tar -C "$ROOTFS" -c . | timeout 120 "${DOCKER[@]}" import - "$IMAGE" >"$GT_TMP/import.log" 2>&1; then
	tap_diag_file "docker import" "$GT_TMP/import.log"
	bail_out "docker import failed"
fi

# drun NAME [docker run options] [-- CMD...]: the witness (or CMD) with 0.5
# CPU and 200 MiB, no network, removed afterwards.
drun() {
	local name=$1
	shift
	local opts=() cmd=(/witness)
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then
			shift
			cmd=("$@")
			break
		fi
		opts+=("$1")
		shift
	done
	gt_run "$name" "${DOCKER[@]}" run --name "$GT_ID-$name" --network none --cpus 0.5 --memory 200m \
		${opts[@]+"${opts[@]}"} "$IMAGE" "${cmd[@]}"
	"${DOCKER[@]}" logs "$GT_ID-$name" >"$GT_TMP/runs/$name.logs" 2>&1
	timeout 30 "${DOCKER[@]}" rm -f "$GT_ID-$name" >/dev/null 2>&1
}

# --- 1. baseline: plain runc
drun baseline --runtime runc
if [ "$(cat "$GT_TMP/runs/baseline.rc")" != 0 ]; then
	tap_diag_file "dockerd log" "$DK/dockerd.log" 30
	skip_all "docker cannot run a container here: $(head -c 300 "$GT_TMP/runs/baseline.err" | tr '\n' ' ')"
fi
gt_expect baseline "docker run --runtime runc: Go defaults (GOMAXPROCS=$GT_HOST_CPUS, no memory limit)" -- "${DEFAULT[@]}"

# --- 2. --runtime gotune: README's command, with this run's socket,
# name, no network, and the image and its command for IMAGE
d="docker run --runtime gotune --cpus 0.5 --memory 200m (README): GOMAXPROCS=1, MEMLIMIT=$GT_EXPECT_MEMLIMIT"
if gt_need_hook "$d"; then
	read -r -a cmd <<<"$(gt_readme_line 'docker run --runtime gotune')"
	argv=("${DOCKER[@]}")
	for a in "${cmd[@]:1}"; do
		if [ "$a" = IMAGE ]; then argv+=(--name "$GT_ID-runtime" --network none "$IMAGE" /witness); else argv+=("$a"); fi
	done
	gt_run runtime "${argv[@]}"
	"${DOCKER[@]}" logs "$GT_ID-runtime" >"$GT_TMP/runs/runtime.logs" 2>&1
	timeout 30 "${DOCKER[@]}" rm -f "$GT_ID-runtime" >/dev/null 2>&1
	gt_expect runtime "$d" -- "${TUNED[@]}"
fi

# --- 3. "default-runtime": "gotune"
d="docker run (default-runtime gotune): tuned"
if gt_need_hook "$d"; then
	drun default
	gt_expect default "$d" -- "${TUNED[@]}"
fi

# --- 4. a policy through runtimeArgs: ratio 0.5, and a log_file line
d="docker run --runtime gotune-policy (runtimeArgs --policy): GOMEMLIMIT from ratio 0.5"
if gt_need_hook "$d"; then
	drun policy --runtime gotune-policy
	gt_expect policy "$d" -- GOMAXPROCS=1 "MEMLIMIT=$((GT_MEM_LIMIT / 2))" ENV_GOMEMLIMIT=100MiB
	d="docker + runtimeArgs policy: log_file has the container's line, ms a short decimal"
	if gt_wait_jq "$LOG_FILE" 'map(select(.entry == "runtime" and .outcome == "tuned")) | length >= 1' &&
		grep -Eq '"ms":[0-9]+(\.[0-9]{1,3})?[,}]' "$LOG_FILE"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file "log_file" "$LOG_FILE"
	fi
fi

# --- 5. the user's env is kept
d="docker run --runtime gotune -e GOMAXPROCS=3: kept (GOMEMLIMIT still added)"
if gt_need_hook "$d"; then
	drun keep3 --runtime gotune -e GOMAXPROCS=3
	gt_expect keep3 "$d" -- "${KEEP3[@]}"
fi

# --- 6. nothing of gotune's in `docker logs`, even when it warns (a
# corrupt policy: fail open, the warning goes to the runtime's log)
d="docker run --runtime gotune-bad (corrupt policy): fails open, Go defaults"
if gt_need_hook "$d"; then
	drun corrupt --runtime gotune-bad
	gt_expect corrupt "$d" -- "${DEFAULT[@]}"
	d="docker logs: only the container's own output (tuned run and corrupt-policy run)"
	if [ "$(grep -c . "$GT_TMP/runs/runtime.logs")" = 6 ] && gt_witness_complete "$GT_TMP/runs/runtime.logs" &&
		! grep -qi gotune "$GT_TMP/runs/runtime.logs" "$GT_TMP/runs/corrupt.logs" \
			"$GT_TMP/runs/corrupt.out" "$GT_TMP/runs/corrupt.err"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file "docker logs (tuned)" "$GT_TMP/runs/runtime.logs"
		tap_diag_file "docker logs (corrupt policy)" "$GT_TMP/runs/corrupt.logs"
		tap_diag_file "docker run stderr (corrupt policy)" "$GT_TMP/runs/corrupt.err"
	fi
fi

# --- 7. exec, stop and rm pass through the wrapper
d="docker --runtime gotune: run -d, exec, stop, rm pass through"
if gt_need_hook "$d"; then
	c=$GT_ID-life
	bad=()
	gt_run life-run "${DOCKER[@]}" run -d --name "$c" --network none --runtime gotune --cpus 0.5 --memory 200m \
		"$IMAGE" /bin/sleep 300 || bad+=("run -d failed")
	gt_run life-exec "${DOCKER[@]}" exec "$c" /bin/echo exec-ok || bad+=("exec failed")
	grep -qx exec-ok "$GT_TMP/runs/life-exec.out" || bad+=("exec printed '$(head -c 200 "$GT_TMP/runs/life-exec.out")'")
	gt_run life-exec7 "${DOCKER[@]}" exec "$c" /bin/sh -c 'exit 7'
	[ "$(cat "$GT_TMP/runs/life-exec7.rc")" = 7 ] || bad+=("exec exit status $(cat "$GT_TMP/runs/life-exec7.rc"), wanted 7")
	gt_run life-witness "${DOCKER[@]}" exec "$c" /witness || bad+=("exec /witness failed")
	gt_witness_complete "$GT_TMP/runs/life-witness.out" || bad+=("exec /witness: output incomplete")
	# Docker builds the exec process from its own copy of the image's
	# env: the wrapper adds what the container got, and keeps what the
	# caller sets.
	gt_expect life-witness "docker exec: the process gets the container's tuning" -- "${TUNED[@]}"
	gt_run life-witness3 "${DOCKER[@]}" exec -e GOMAXPROCS=3 "$c" /witness
	gt_expect life-witness3 "docker exec -e GOMAXPROCS=3: the caller's value kept, GOMEMLIMIT added" -- "${KEEP3[@]}"
	gt_run life-stop "${DOCKER[@]}" stop -t 1 "$c" || bad+=("stop failed")
	st=$(timeout 10 "${DOCKER[@]}" inspect --format '{{.State.Status}}' "$c" 2>&1)
	[ "$st" = exited ] || bad+=("state after stop: $st")
	gt_run life-rm "${DOCKER[@]}" rm "$c" || bad+=("rm failed")
	timeout 10 "${DOCKER[@]}" inspect "$c" >/dev/null 2>&1 && bad+=("container still there after rm")
	if [ ${#bad[@]} -eq 0 ]; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag "${bad[@]}"
		for r in life-run life-exec life-exec7 life-witness life-stop life-rm; do
			tap_diag_file "$r stderr" "$GT_TMP/runs/$r.err" 5
		done
	fi
fi

# --- 8. doctor on this host, then an uninstall done halfway, then as README says
doctor_checks() {
	local pid out=$GT_TMP/doctor.out rc
	pid=$(cat "$DK/docker.pid")
	"$GOTUNE_HOOK" doctor >"$out" 2>&1
	rc=$?
	d="doctor: the running dockerd's daemon.json is wired (runtime gotune, the default-runtime)"
	if grep -qF "ok      dockerd pid $pid: $DK/daemon.json: runtime \"gotune\" is $LINK, the default-runtime: every container goes through gotune" "$out" &&
		grep -qF "ok      dockerd pid $pid: $DK/daemon.json: runtime \"gotune-policy\" is $GOTUNE_HOOK: containers run with --runtime gotune-policy" "$out" &&
		grep -qF "ok      dockerd pid $pid: runtime \"gotune-policy\": policy $POLICY valid" "$out"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file "doctor" "$out"
	fi
	d="doctor: gotune-bad's corrupt policy is an error, with line and column; exit 1"
	if [ "$rc" = 1 ] && grep -qF "error   dockerd pid $pid: runtime \"gotune-bad\": policy $BAD_POLICY:2:1: invalid JSON" "$out"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag "exit $rc"
		tap_diag_file "doctor" "$out"
	fi
	cp "$out" "$GT_TMP/doctor-wired.out"
	# The issue's misspelled key, as the host's policy.
	printf '{\n  "gomemlimit": {\n    "ratoi": 0.8\n  }\n}\n' >"$GT_TMP/typo.json"
	"$GOTUNE_HOOK" doctor --policy "$GT_TMP/typo.json" >"$out" 2>&1
	rc=$?
	d="doctor with a misspelled policy key: exit 1, file:line:column, the key meant, what it does to containers"
	if [ "$rc" = 1 ] && grep -qF "error   policy $GT_TMP/typo.json:3:5: key \"gomemlimit.ratoi\" is unknown; did you mean \"gomemlimit.ratio\"?" "$out" &&
		grep -qF "error   every container passes through untuned until the policy is fixed" "$out"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file "doctor" "$out"
	fi
	cp "$out" "$GT_TMP/doctor-typo.out"

	# Uninstalled halfway: the binary gone, daemon.json as it was.
	rm -f "$LINK"
	gt_run gone "${DOCKER[@]}" run --rm --network none "$IMAGE" /witness
	"$GOTUNE_HOOK" doctor >"$out" 2>&1
	rc=$?
	d="binary removed, daemon.json left: docker run fails, and doctor names the leftover default-runtime and what it breaks"
	if [ "$(cat "$GT_TMP/runs/gone.rc")" != 0 ] && grep -qF "fork/exec $LINK: no such file or directory" "$GT_TMP/runs/gone.err" &&
		[ "$rc" = 1 ] &&
		grep -qF "error   dockerd pid $pid: $DK/daemon.json: runtime \"gotune\" is $LINK, which is not there (no such file): every docker run fails (\"fork/exec $LINK: no such file or directory\")" "$out"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag "doctor exit $rc"
		tap_diag_file "docker run stderr" "$GT_TMP/runs/gone.err" 5
		tap_diag_file "doctor" "$out"
	fi
	cp "$out" "$GT_TMP/doctor-half.out"

	# README "Uninstall", Docker: the command verbatim (this run's daemon.json),
	# then a reload (systemctl reload docker: SIGHUP).
	local cmd
	cmd=$(gt_readme_line "jq '.\"default-runtime\" = \"runc\"")
	cmd=${cmd//\/etc\/docker\/daemon.json/$DK\/daemon.json}
	if ! (cd "$GT_TMP" && eval "$cmd"); then
		tap_not_ok "README's Uninstall command for Docker runs"
		return
	fi
	local before
	before=$(grep -c 'Reloaded configuration' "$DK/dockerd.log")
	kill -HUP "$pid"
	for _ in $(seq 50); do
		[ "$(grep -c 'Reloaded configuration' "$DK/dockerd.log")" -gt "$before" ] && break
		sleep 0.1
	done
	drun after
	gt_expect after "README's Uninstall (daemon.json edited, dockerd reloaded): docker run works, untuned" -- "${DEFAULT[@]}"
	"$GOTUNE_HOOK" doctor >"$out" 2>&1
	d="... and doctor finds nothing of gotune's in daemon.json"
	if ! grep -q "^  error   dockerd" "$out" && grep -qF "info    dockerd pid $pid: $DK/daemon.json: not wired" "$out"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file "daemon.json" "$DK/daemon.json"
		tap_diag_file "doctor" "$out"
	fi
	cp "$out" "$GT_TMP/doctor-after.out"
}
if gt_need_hook "doctor on a real dockerd"; then
	doctor_checks
fi

if [ "$_gt_failed" -gt 0 ]; then
	tail -n 30 "$DK/dockerd.log" >"$GT_TMP/dockerd-tail.log"
	tap_diag_file "dockerd log (last lines)" "$GT_TMP/dockerd-tail.log"
fi
tap_done
