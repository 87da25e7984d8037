#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/crio.sh - gotune on CRI-O, the pinned release (.ci/pins, NRI
# v0.11), through every way README gives: the NRI plugin external and
# started by CRI-O from its plugin dir, the oci-hooks.d drop-ins in
# hooks_dir, and gotune-runc as runc's runtime_path.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/crio.sh
#
# CRI-O is built from its module source by `GOTUNE_CRIO=1 .ci/deps test`
# (750 to 900 s on this 2-core machine: not in a fresh CI run's hour, so
# the script skips, saying so, where it is not built), with Debian's conmon
# and runc. It runs with its own config, root, runroot (vfs), sockets,
# hooks, NRI and runc dirs under a temp dir; images are pulled from
# rootfs tars into its storage with Podman (no registry); pods are
# host-network (no CNI) with a container PID namespace, so CRI-O starts no
# infra container (root here cannot set the pause container's
# oom_score_adj -998). The witness runs as Go 1.19 and Go 1.26 (go.mod
# go 1.26) build it, 0.5 CPU / 200 MiB; what it printed must be what
# `gotune-hook plan` plans.

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc conmon podman python3
# shellcheck source=/dev/null # .ci/pins: the pinned versions
. "$GT_SRCDIR/.ci/pins"
[ -x "$CRIO_BIN/crio" ] && [ -x "$CRIO_BIN/pinns" ] ||
	skip_all "CRI-O $CRIO_VERSION not built here ($CRIO_BIN; GOTUNE_CRIO=1 .ci/deps test builds it, 750-900 s)"
# The pinned crictl, the CRI helpers of lib.sh on CRI-O's socket.
gt_containerd_cri_init "$CRIO_BIN" "$GT_TMP/crio"
D=$GT_CTRD2_DIR
GT_CTRD2_SOCK=$D/crio.sock
GT_NRI_SOCK=$D/nri/nri.sock
printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\n' \
	"$GT_CTRD2_SOCK" "$GT_CTRD2_SOCK" >"$D/crictl.yaml"
GT_CRICTL_POD_NS='{"pid": 1}'
mkdir -p "$D/conf.d" "$D/hooks.d" "$D/cni/net.d" "$D/cni/bin"
printf '{"default": [{"type": "insecureAcceptAnything"}]}\n' >"$D/policy.json"

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
GT_MATRIX=(go119 go126)
gt_matrix_rootfs "$ROOTFS"
have() { [ -z "${GT_MATRIX_WHY[$1]+set}" ]; }
mapfile -t DEFAULT < <(gt_checks_default)
mapfile -t TUNED < <(gt_checks_tuned)
LOG_FILE=$GT_TMP/decisions.jsonl
POLICY=$(gt_policy "$GT_TMP/policy.json" "{\"log_file\": \"$LOG_FILE\"}")

# crio_config RUNTIME-PATH: CRI-O's config, runc at RUNTIME-PATH.
crio_config() {
	cat >"$D/crio.conf" <<-EOT
		[crio]
		root = "$D/root"
		runroot = "$D/runroot"
		storage_driver = "vfs"
		log_dir = "$D/logs"
		version_file = "$D/version"
		version_file_persist = "$D/version-persist"
		clean_shutdown_file = "$D/clean.shutdown"

		[crio.api]
		listen = "$GT_CTRD2_SOCK"
		stream_address = "127.0.0.1"
		stream_port = "0"

		[crio.runtime]
		default_runtime = "runc"
		cgroup_manager = "cgroupfs"
		pinns_path = "$CRIO_BIN/pinns"
		hooks_dir = ["$D/hooks.d"]
		namespaces_dir = "$D/ns"
		container_exits_dir = "$D/exits"
		container_attach_socket_dir = "$D/attach"
		[crio.runtime.runtimes.runc]
		runtime_path = "$1"
		runtime_type = "oci"
		runtime_root = "$D/runc"
		monitor_path = "$(command -v conmon)"
		monitor_cgroup = "pod"

		[crio.image]
		pause_image = "gotune.test/pause:1"
		pause_command = ""
		signature_policy = "$D/policy.json"

		[crio.network]
		network_dir = "$D/cni/net.d"
		plugin_dirs = ["$D/cni/bin"]

		[crio.nri]
		enable_nri = true
		nri_listen = "$GT_NRI_SOCK"
		nri_plugin_dir = "$D/nri/plugins"
		nri_plugin_config_dir = "$D/nri/conf.d"
	EOT
}

crio_start() {
	gt_cri_start "$D/crio.log" "$CRIO_BIN/crio" --config "$D/crio.conf" --config-dir "$D/conf.d" --log-level info
}

# tuned_case NAME DESC ENTRY [-- annotations for plan]
tuned_case() {
	local name=$1 desc=$2 entry=$3 v
	gt_crictl_run "$name" "$entry"
	mapfile -t checks < <(gt_plan_expect "$name")
	v=${entry#/witness-go1}
	checks+=("GOVERSION~^go1\\.${v:0:2}(\\.| |$)")
	gt_expect "$name" "$desc: $(printf '%s\n' "${checks[@]}" | grep '^ENV_' | paste -sd ' ')" -- "${checks[@]}"
}


crio_config "$(command -v runc)"
crio_start || skip_all "CRI-O $CRIO_VERSION does not start here"
tap_diag "$("$CRIO_BIN/crio" --version 2>&1 | head -1), conmon $(conmon --version | head -1)"
# The images, into CRI-O's storage through Podman.
PM=(podman --root "$D/root" --runroot "$D/runroot" --storage-driver vfs --events-backend file)
mkdir -p "$D/pause-rootfs/bin" "$D/pause-rootfs/proc" "$D/pause-rootfs/dev" "$D/pause-rootfs/sys"
cp /bin/busybox "$D/pause-rootfs/bin/busybox"
ln -sf busybox "$D/pause-rootfs/bin/sleep"
# pm_image TAR NAME: the OCI archive pulled into the storage, tagged NAME.
pm_image() {
	local id
	id=$(timeout 120 "${PM[@]}" pull -q "oci-archive:$1" 2>>"$D/import.log") &&
		timeout 60 "${PM[@]}" tag "$id" "$2" >>"$D/import.log" 2>&1
}
python3 "$GT_LIBDIR/oci_archive.py" "$D/pause-rootfs" gotune.test/pause:1 "$D/pause.tar" /bin/sleep 2147483647 &&
	python3 "$GT_LIBDIR/oci_archive.py" "$ROOTFS" gotune.test/witness:1 "$D/witness.tar" /witness &&
	pm_image "$D/pause.tar" gotune.test/pause:1 && pm_image "$D/witness.tar" gotune.test/witness:1 ||
	{ tap_diag_file import "$D/import.log"; bail_out "cannot put the test images into CRI-O's storage"; }

# --- 1. CRI-O alone
gt_crictl_run baseline /witness-go119
if [ "$(cat "$GT_TMP/runs/baseline.rc")" != 0 ]; then
	tap_diag_file "crictl" "$GT_TMP/runs/baseline.err"
	tail -n 30 "$D/crio.log" >"$GT_TMP/log-tail"
	tap_diag_file "CRI-O log" "$GT_TMP/log-tail"
	skip_all "crictl cannot run a pod on CRI-O here: $(head -c 300 "$GT_TMP/runs/baseline.err" | tr '\n' ' ')"
fi
gt_expect baseline "CRI-O $CRIO_VERSION alone (NRI on, no plugin): Go defaults" -- "${DEFAULT[@]}"

# --- 2. the external plugin (README's command, this run's socket)
if gt_need_hook "external NRI plugin on CRI-O"; then
	"$GOTUNE_HOOK" nri --socket "$GT_NRI_SOCK" --policy "$POLICY" </dev/null >"$GT_TMP/plugin.log" 2>&1 &
	PLUGIN=$!
	gt_defer kill -KILL "$PLUGIN"
	d="external NRI plugin registers with CRI-O $CRIO_VERSION"
	for _ in $(seq 50); do grep -q 'registered as 50-gotune' "$GT_TMP/plugin.log" && break; sleep 0.1; done
	if grep -q 'registered as 50-gotune' "$GT_TMP/plugin.log"; then tap_ok "$d"; else
		tap_not_ok "$d"
		tap_diag_file plugin "$GT_TMP/plugin.log"
	fi
	for v in go119 go126; do
		d="CRI-O, external plugin, $v witness, 0.5 CPU / 200 MiB: as planned"
		have "$v" || { tap_skip "$d" "${GT_MATRIX_WHY[$v]}"; continue; }
		tuned_case "ext-$v" "$d" "/witness-$v"
	done
	gt_stop_pid "$PLUGIN"
fi

# --- 3. the plugin started by CRI-O from nri_plugin_dir, plus the
# oci-hooks.d drop-ins as shipped (the binary's path and the policy set)
d="CRI-O restarted with the plugin installed (nri-install) and oci-hooks.d in hooks_dir: it starts"
if gt_need_hook "$d"; then
	gt_containerd2_halt
	for f in gotune-prestart.json; do
		jq --arg hook "$GOTUNE_HOOK" --arg policy "$POLICY" '.hook.path = $hook | .hook.args += ["--policy", $policy]' \
			"$(dirname "$GOTUNE_HOOK")/$f" >"$D/hooks.d/$f" || bail_out "no $f in the build"
	done
	gt_run install "$GOTUNE_HOOK" nri-install --plugin-dir "$D/nri/plugins" --conf-dir "$D/nri/conf.d" --policy "$POLICY"
	if [ "$(cat "$GT_TMP/runs/install.rc")" = 0 ] && crio_start; then tap_ok "$d"; else
		tap_not_ok "$d"
		_gt_run_diag install
	fi
	for v in go119 go126; do
		d="CRI-O, plugin started by CRI-O, $v witness: as planned"
		have "$v" || { tap_skip "$d" "${GT_MATRIX_WHY[$v]}"; continue; }
		tuned_case "rs-$v" "$d" "/witness-$v"
	done
	d="CRI-O ran the oci-hooks.d prestart drop-in; its audit saw the env the plugin planned"
	if gt_wait_jq "$LOG_FILE" \
		'any(.[]; .entry == "prestart" and (.detail | test("GOMAXPROCS=1 \\(as planned\\) GOMEMLIMIT=180MiB \\(as planned\\)")))'; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag_file "log_file" "$LOG_FILE"
	fi
	rm -f "$D/nri/plugins/50-gotune" "$D/hooks.d/"*
fi

# --- 4. gotune-runc as runc's runtime_path (README "CRI-O")
d="gotune-runc as CRI-O's runtime_path: tuned"
if gt_need_hook "$d"; then
	gt_containerd2_halt
	crio_config "$(gt_runc_link)"
	if crio_start; then
		for v in go119 go126; do
			d="gotune-runc as CRI-O's runtime_path, $v witness: tuned"
			have "$v" || { tap_skip "$d" "${GT_MATRIX_WHY[$v]}"; continue; }
			gt_crictl_run "path-$v" "/witness-$v"
			gt_expect "path-$v" "$d" -- "${TUNED[@]}" "GOVERSION~^go1\\.${v#go1}"
		done
		d="gotune-runc as runtime_path: crictl exec into the tuned container: tuned as the container"
		gt_crictl_run path-exec /witness-go119 --exec
		gt_expect path-exec "$d" -- "${TUNED[@]}"
	else
		tap_not_ok "$d"
	fi
fi

if [ "$_gt_failed" -gt 0 ]; then
	tail -n 40 "$D/crio.log" >"$GT_TMP/log-tail"
	tap_diag_file "CRI-O log (last lines)" "$GT_TMP/log-tail"
fi
tap_done
