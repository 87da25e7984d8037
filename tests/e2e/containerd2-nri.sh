#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/containerd2-nri.sh - gotune on containerd 2.x through CRI: the
# NRI plugin (external and runtime-started) and the wrapper as runc's
# BinaryName.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/containerd2-nri.sh
#
# containerd and crictl are the versions pinned in .ci/pins, built by
# `.ci/deps test` with `go install` (NRI v0.12 inside containerd 2.4).
# containerd runs with its own config, root, state, sockets and NRI dirs
# under a temp dir; the CRI plugin serves host-network pods (no CNI);
# images are imported from rootfs tars (no registry). Every pod is made
# with `crictl runp`, `create` and `start`, 0.5 CPU and 200 MiB, and runs
# the witness as Go 1.19 or Go 1.26 (go.mod go 1.26) builds it; what it
# printed must be what `gotune-hook plan` plans for the same limits and
# annotations. Cases:
#   - no plugin: Go's defaults (NRI on, nothing adjusts);
#   - the external plugin started with the README's command: both Go
#     versions tuned; a pod annotation, a container annotation that
#     overrides it, gotune.io/disable; a container without limits untouched;
#     a bind of a sized tmpfs mounted after the plugin read its mount table
#     (an emptyDir in memory): counted;
#   - crictl update of a running tuned container: containerd sends the
#     plugin UpdateContainer, the plugin names the stale values, the
#     update succeeds;
#   - containerd restarted under the running plugin: it registers again
#     and the next pod is tuned;
#   - the plugin stopped (SIGTERM), then hanging (SIGSTOP) past NRI's
#     request timeout: the container is created, untuned, and starts;
#   - the plugin installed with the README's `gotune-hook nri-install`
#     (link + .conf, registration checked) and started by containerd,
#     beside a dangling pre-installed plugin (NRI >= v0.8 only warns):
#     tuned by the .conf's policy; its start-up lines are in log_file;
#   - gotune-runc as the runc shim's BinaryName: tuned, and `crictl exec`
#     into the container tuned as the container.
# GT_CTRD_PIN=CONTAINERD17 runs the same on the pinned containerd 1.7
# (tests/e2e/containerd17-nri.sh).

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc python3
gt_containerd2_init

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
GT_MATRIX=(go119 go126)
gt_matrix_rootfs "$ROOTFS"
gt_containerd2_config
gt_containerd2_start || skip_all "containerd $GT_CTRD2_VERSION does not start here"
tap_diag "$("$GT_CTRD2_BIN/containerd" --version), config version $GT_CTRD_CONFIG_VERSION, crictl $CRICTL_VERSION (.ci/pins)"
if ! gt_containerd2_images "$ROOTFS"; then
	tap_diag_file "import" "$GT_CTRD2_DIR/import.log"
	bail_out "cannot import the test images"
fi
CLOG=$GT_CTRD2_DIR/containerd.log
mapfile -t DEFAULT < <(gt_checks_default)

# witness VARIANT: the entrypoint for that Go, or "" (and a SKIP) when it
# cannot be built here.
have() { [ -z "${GT_MATRIX_WHY[$1]+set}" ]; }

# --- 1. no plugin: NRI is on, nothing adjusts
gt_crictl_run baseline /witness-go119
if [ "$(cat "$GT_TMP/runs/baseline.rc")" != 0 ]; then
	tap_diag_file "crictl" "$GT_TMP/runs/baseline.err"
	tail -n 30 "$CLOG" >"$GT_TMP/clog-tail"
	tap_diag_file "containerd log" "$GT_TMP/clog-tail"
	skip_all "crictl cannot run a pod here: $(head -c 300 "$GT_TMP/runs/baseline.err" | tr '\n' ' ')"
fi
gt_expect baseline "containerd $GT_CTRD2_VERSION + crictl, no plugin: Go defaults" -- "${DEFAULT[@]}"

# plugin_wait N: containerd's log says "50-gotune" registered N times.
plugin_wait() {
	for _ in $(seq 400); do
		[ "$(grep -c 'registered as \\"50-gotune\\"' "$CLOG")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# tuned_case NAME DESC ENTRY [gt_crictl_run options] -- [annotations for plan]
tuned_case() {
	local name=$1 desc=$2 entry=$3 go_ver
	shift 3
	local opts=() anns=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	anns=("$@")
	gt_crictl_run "$name" "$entry" ${opts[@]+"${opts[@]}"}
	mapfile -t checks < <(gt_plan_expect "$name" ${anns[@]+"${anns[@]}"})
	go_ver=${entry#/witness-go1}
	checks+=("GOVERSION~^go1\\.${go_ver:0:2}(\\.| |$)")
	gt_expect "$name" "$desc: $(printf '%s\n' "${checks[@]}" | grep '^ENV_' | paste -sd ' ')" -- "${checks[@]}"
}

PLUGIN_PID=
if [ "$GT_HAVE_HOOK" -eq 1 ]; then
	# README "Kubernetes", by hand: the external plugin (this run's socket).
	cmd=$(gt_readme_line 'gotune-hook nri --socket /var/run/nri/nri.sock')
	cmd=${cmd//\/var\/run\/nri\/nri.sock/$GT_NRI_SOCK}
	read -r -a argv <<<"$cmd"
	argv[0]=$GOTUNE_HOOK
	tap_diag "external plugin: ${argv[*]}"
	"${argv[@]}" </dev/null >"$GT_TMP/plugin.log" 2>&1 &
	PLUGIN_PID=$!
	gt_defer kill -KILL "$PLUGIN_PID"
	gt_defer kill -CONT "$PLUGIN_PID"
fi

# --- 2. the external plugin
d="external NRI plugin registers with containerd $GT_CTRD2_VERSION"
if gt_need_hook "$d"; then
	if plugin_wait 1; then tap_ok "$d"; else
		tap_not_ok "$d"
		tap_diag_file "plugin" "$GT_TMP/plugin.log"
	fi
fi
for v in go119 go126; do
	d="external plugin, $v witness, 0.5 CPU / 200 MiB: as planned"
	gt_need_hook "$d" || continue
	have "$v" || { tap_skip "$d" "${GT_MATRIX_WHY[$v]}"; continue; }
	tuned_case "ext-$v" "$d" "/witness-$v"
done
d="external plugin: pod annotation gotune.io/memory-ratio=0.5"
if gt_need_hook "$d"; then
	tuned_case ext-podann "$d" /witness-go119 --pod-ann gotune.io/memory-ratio=0.5 -- gotune.io/memory-ratio=0.5
fi
d="external plugin: the container's gotune.io/memory-ratio=0.8 wins over the pod's 0.5"
if gt_need_hook "$d"; then
	tuned_case ext-ctrann "$d" /witness-go119 --pod-ann gotune.io/memory-ratio=0.5 \
		--ann gotune.io/memory-ratio=0.8 -- gotune.io/memory-ratio=0.8
fi
d="external plugin: container annotation gotune.io/disable=true: untouched"
if gt_need_hook "$d"; then
	gt_crictl_run ext-disable /witness-go119 --ann gotune.io/disable=true
	gt_expect ext-disable "$d" -- "${DEFAULT[@]}"
fi
d="external plugin: a container without limits: untouched"
if gt_need_hook "$d"; then
	gt_crictl_run ext-nolimits /witness-go119 --no-limits
	gt_expect ext-nolimits "$d" -- "${DEFAULT[@]}"
fi
# A memory-backed volume (a Kubernetes emptyDir with medium: Memory is a
# tmpfs the kubelet mounts on the host just before the container starts),
# mounted after the plugin has read its mount table for the containers
# above: the plugin reads the table again only when the kernel says it
# changed, so a missed change would leave the volume uncounted.
d="external plugin: a bind of a 64 MiB tmpfs mounted after the plugin read its mount table: counted, GOMEMLIMIT as planned with it"
if gt_need_hook "$d"; then
	vol=$GT_TMP/vol-memory
	mkdir -p "$vol"
	if mount -t tmpfs -o size=64m gotune-vol "$vol"; then
		gt_defer umount -l "$vol"
		mounts=$(jq -nc --arg s "$vol" '[{destination: "/cache", type: "bind", source: $s, options: ["rbind", "rw"]}]')
		mapfile -t without < <(gt_plan_expect ext-vol-none)
		mapfile -t checks < <(GT_PLAN_MOUNTS=$mounts gt_plan_expect ext-vol)
		if [ "${checks[1]}" = "${without[1]}" ]; then
			tap_not_ok "$d"
			tap_diag "gotune-hook plan counts no tmpfs: ${checks[1]} with the volume, ${without[1]} without"
		else
			gt_crictl_run ext-vol /witness-go119 --mount "$vol:/cache"
			gt_expect ext-vol "$d (${without[1]} without it)" -- "${checks[@]}"
		fi
	else
		tap_skip "$d" "cannot mount a tmpfs here"
	fi
fi

# --- 2a. an in-place update (crictl update): containerd asks the plugin
# (it subscribed to UpdateContainer, events 0x88), which answers with no
# change and says what went stale; the update goes through.
d="external plugin: crictl update of a tuned container succeeds, and the plugin names the stale values"
if gt_need_hook "$d"; then
	gt_crictl_run upd /witness-go119 --keep
	cid=$(cat "$GT_TMP/runs/upd.cid" 2>/dev/null)
	gt_run upd-update "${GT_CRICTL[@]}" update --cpu-period "$GT_CPU_PERIOD" --cpu-quota 150000 --memory 402653184 "$cid"
	for _ in $(seq 30); do grep -q 'resized: GOMAXPROCS=1 no longer matches' "$GT_TMP/plugin.log" && break; sleep 0.1; done
	if [ -n "$cid" ] && [ "$(cat "$GT_TMP/runs/upd-update.rc")" = 0 ] &&
		grep -q 'resized: GOMAXPROCS=1 no longer matches.*GOMEMLIMIT=180MiB no longer matches' "$GT_TMP/plugin.log"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		_gt_run_diag upd-update
		tap_diag_file "plugin" "$GT_TMP/plugin.log"
	fi
	gt_crictl_rmp "$GT_TMP/runs/upd.pod"
fi

# --- 3. containerd restarted under the running plugin
d="containerd restarted: the plugin registers again, the next pod is tuned"
if gt_need_hook "$d"; then
	gt_containerd2_halt
	if gt_containerd2_start && plugin_wait 2; then
		tuned_case ext-restart "$d" /witness-go119
	else
		tap_not_ok "$d"
		tap_diag_file "plugin" "$GT_TMP/plugin.log"
	fi
fi

# --- 4. a plugin that is gone, or hangs, never fails a container
d="the plugin stopped (SIGTERM, exited): the container starts, untouched"
if gt_need_hook "$d"; then
	kill -TERM "$PLUGIN_PID"
	wait "$PLUGIN_PID" 2>/dev/null
	gt_crictl_run gone /witness-go119
	gt_expect gone "$d" -- "${DEFAULT[@]}"
fi
d="the plugin hanging (SIGSTOP) past NRI's request timeout (2s): the container starts, untouched"
if gt_need_hook "$d"; then
	"${argv[@]}" </dev/null >>"$GT_TMP/plugin.log" 2>&1 &
	PLUGIN_PID=$!
	gt_defer kill -KILL "$PLUGIN_PID"
	gt_defer kill -CONT "$PLUGIN_PID"
	if plugin_wait 3; then
		kill -STOP "$PLUGIN_PID"
		gt_crictl_run hang /witness-go119
		gt_expect hang "$d" -- "${DEFAULT[@]}"
		ms=$(cat "$GT_TMP/runs/hang.ms")
		d="the hanging plugin was waited for (runp+create+start ${ms} ms >= 2000) and then closed by containerd"
		if [ "$ms" -ge 2000 ] && grep -Eq 'closing plugin 50-gotune, failed to handle CreateContainer request' "$CLOG"; then
			tap_ok "$d"
		else
			tap_not_ok "$d"
			grep -i nri "$CLOG" | tail -n 10 >"$GT_TMP/clog-nri"
			tap_diag_file "containerd log (NRI lines)" "$GT_TMP/clog-nri"
		fi
	else
		tap_not_ok "$d"
		tap_diag "the restarted plugin did not register"
	fi
	kill -KILL "$PLUGIN_PID" 2>/dev/null
	kill -CONT "$PLUGIN_PID" 2>/dev/null
	wait "$PLUGIN_PID" 2>/dev/null
fi

# --- 5. started by containerd from its plugin dir (README's nri-install)
LOG_FILE=$GT_TMP/nri-log.json
POLICY=$GT_TMP/nri-policy.json
gt_policy "$POLICY" "{\"gomemlimit\": {\"ratio\": 0.5}, \"log_file\": \"$LOG_FILE\"}" >/dev/null
d="nri-install (README command): links, configures and registers the plugin once"
if gt_need_hook "$d"; then
	gt_containerd2_halt
	cmd=$(gt_readme_line 'gotune-hook nri-install')
	cmd=${cmd//\/opt\/nri\/plugins/$GT_CTRD2_DIR/nri/plugins}
	cmd=${cmd//\/etc\/nri\/conf.d/$GT_CTRD2_DIR/nri/conf.d}
	cmd=${cmd//\/etc\/gotune\/nri-policy.json/$POLICY}
	read -r -a iargv <<<"$cmd"
	iargv[0]=$GOTUNE_HOOK
	gt_run install "${iargv[@]}"
	if [ "$(cat "$GT_TMP/runs/install.rc")" = 0 ] && grep -q 'registered as 50-gotune' "$GT_TMP/runs/install.out" &&
		[ "$(readlink "$GT_CTRD2_DIR/nri/plugins/50-gotune")" = "$GOTUNE_HOOK" ] &&
		cmp -s "$POLICY" "$GT_CTRD2_DIR/nri/conf.d/50-gotune.conf"; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		_gt_run_diag install
	fi
	# A broken pre-installed plugin beside it: NRI >= v0.8 warns and
	# goes on (v0.4 to v0.6, containerd 1.7.0-1.7.25, would exit).
	ln -sf "$GT_TMP/no-such-plugin" "$GT_CTRD2_DIR/nri/plugins/40-broken"
	: >"$LOG_FILE"
	d="containerd starts the plugin from its plugin dir (beside a dangling one) and it registers"
	if gt_containerd2_start && plugin_wait 4; then tap_ok "$d"; else
		tap_not_ok "$d"
		grep -i nri "$CLOG" | tail -n 10 >"$GT_TMP/clog-nri"
		tap_diag_file "containerd log (NRI lines)" "$GT_TMP/clog-nri"
	fi
	GT_PLAN_POLICY=$POLICY
	for v in go119 go126; do
		d="runtime-started plugin, $v witness, policy from its .conf (ratio 0.5)"
		have "$v" || { tap_skip "$d" "${GT_MATRIX_WHY[$v]}"; continue; }
		tuned_case "rs-$v" "$d" "/witness-$v"
	done
	GT_PLAN_POLICY=
	d="runtime-started plugin: its start-up lines and decisions reach log_file"
	if gt_wait_jq "$LOG_FILE" '(map(select(.entry == "nri" and (.msg // "" | test("registered as 50-gotune")))) | length >= 1)
		and (map(select(.msg // "" | test("configured by containerd"))) | length >= 1)
		and (map(select(.outcome == "tuned")) | length >= 1)'; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file "log_file" "$LOG_FILE"
	fi
	rm -f "$GT_CTRD2_DIR/nri/plugins/50-gotune" "$GT_CTRD2_DIR/nri/plugins/40-broken"
fi

# --- 6. the wrapper as the runc shim's BinaryName (no plugin)
d="gotune-runc as containerd $GT_CTRD2_VERSION's runc BinaryName: tuned"
if gt_need_hook "$d"; then
	gt_containerd2_halt
	gt_containerd2_config "$(gt_runc_link)"
	grep -q 'BinaryName = "/' "$GT_CTRD2_DIR/config.toml" || bail_out "no BinaryName in the config"
	if gt_containerd2_start; then
		mapfile -t TUNED < <(gt_checks_tuned)
		for v in go119 go126; do
			d="gotune-runc as containerd $GT_CTRD2_VERSION's runc BinaryName, $v witness: tuned"
			have "$v" || { tap_skip "$d" "${GT_MATRIX_WHY[$v]}"; continue; }
			gt_crictl_run "bin-$v" "/witness-$v"
			gt_expect "bin-$v" "$d" -- "${TUNED[@]}" "GOVERSION~^go1\\.${v#go1}"
		done
		# crictl exec: containerd's CRI builds the exec process from the
		# image's env; the wrapper adds what the container got.
		d="gotune-runc as BinaryName: crictl exec into the tuned container: tuned as the container"
		gt_crictl_run bin-exec /witness-go119 --exec
		gt_expect bin-exec "$d" -- "${TUNED[@]}"
		d="gotune-runc as BinaryName: a container without limits is untouched"
		gt_crictl_run bin-nolimits /witness-go119 --no-limits
		gt_expect bin-nolimits "$d" -- "${DEFAULT[@]}"
	else
		tap_not_ok "$d"
	fi
fi

if [ "$_gt_failed" -gt 0 ]; then
	tail -n 40 "$CLOG" >"$GT_TMP/clog-tail"
	tap_diag_file "containerd log (last lines)" "$GT_TMP/clog-tail"
	tap_diag_file "plugin log" "$GT_TMP/plugin.log"
fi
tap_done
