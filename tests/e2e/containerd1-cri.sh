#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/containerd1-cri.sh - README's containerd 1.6/1.7 setting, as a
# user applies it: Debian's shipped /etc/containerd/config.toml plus the
# README's version 2 runc table, copied from README.md here (so an edit of
# the README that breaks pods fails this test), on Debian's containerd
# 1.6.20 and on the pinned containerd 1.7 (.ci/pins; skipped, saying why,
# where `.ci/deps test` has not built it). The only changes made to those
# lines are this run's private paths (root, state, sockets, CNI dirs, the
# wrapper's path) and what this machine needs for a pod at all: a local
# sandbox image (no registry) and restrict_oom_score_adj (root here lacks
# CAP_SYS_RESOURCE). Pods are host-network (no CNI), made with crictl runp,
# create and start, 0.5 CPU / 200 MiB, running the witness as Go 1.19
# (go.mod go 1.19) and Go 1.26 (go.mod go 1.26) build it. Per containerd:
#   - `crictl info`: runc has runtimeType io.containerd.runc.v2 and the
#     wrapper as BinaryName;
#   - both witnesses tuned as `gotune-hook plan` plans for those limits;
#   - `ctr run` of the same image under that config: Go's defaults
#     (BinaryName is CRI's), and `ctr run --runc-binary`: tuned;
#   - the table without runtime_type (README's text before it was fixed):
#     `crictl info` shows no runtime type and the pod fails with
#     "container.Runtime.Name must be set";
# and `gotune-hook nri-install --check` warns about that config, not
# about the README's.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/containerd1-cri.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd runc python3 containerd ctr
SHIPPED=/etc/containerd/config.toml
[ -f "$SHIPPED" ] || skip_all "no $SHIPPED (Debian's containerd package ships it)"
README_FIRST='# /etc/containerd/config.toml, containerd 1.6 and 1.7 (config version 2)'
BLOCK=$(gt_readme_block "$README_FIRST")
tap_diag "README's lines:" "$BLOCK"
# Debian's conffile as shipped, or what this host made of it.
want=$(dpkg-query -W -f='${Conffiles}\n' containerd 2>/dev/null | awk -v f="$SHIPPED" '$1 == f { print $2 }')
if [ -n "$want" ] && [ "$(md5sum <"$SHIPPED" | cut -d' ' -f1)" = "$want" ]; then
	tap_diag "$SHIPPED: as the containerd package ships it"
else
	tap_diag "$SHIPPED: differs from the package's (used as this host has it)"
fi
# shellcheck source=/dev/null # .ci/pins: the pinned versions
. "$GT_SRCDIR/.ci/pins"

# The shim's runc state of the k8s.io namespace (no Root in README's
# table: runc's default), removed when this run made it.
[ -e /run/containerd/runc/k8s.io ] || gt_defer rmdir /run/containerd/runc/k8s.io

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
GT_MATRIX=(go119 go126)
gt_matrix_rootfs "$ROOTFS"
mapfile -t DEFAULT < <(gt_checks_default)
mapfile -t TUNED < <(gt_checks_tuned)
LINK=
[ "$GT_HAVE_HOOK" -eq 1 ] && LINK=$(gt_runc_link)

# cri_config BLOCK: the host's config with this run's paths, plus BLOCK
# (the wrapper's path made this run's), as GT_CTRD2_DIR/config.toml.
cri_config() {
	local d=$GT_CTRD2_DIR block=$1
	block=${block//\/usr\/local\/bin\/gotune-runc/${LINK:-/usr/local/bin/gotune-runc}}
	{
		printf 'root = "%s"\nstate = "%s"\n' "$d/root" "$d/state"
		sed -e "s#/var/lib/containerd/opt#$d/opt#" -e "s#/usr/lib/cni#$d/cni/bin#" -e "s#/etc/cni/net.d#$d/cni/conf#" "$SHIPPED" |
			awk '{ print } $0 ~ /^[ \t]*\[plugins\."io\.containerd\.grpc\.v1\.cri"\][ \t]*$/ {
				print "    sandbox_image = \"gotune.test/pause:1\""
				print "    restrict_oom_score_adj = true"; n++ }
				END { if (n != 1) exit 1 }' || return 1
		printf '\n[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s"\n[metrics]\n  address = ""\n\n' \
			"$GT_CTRD2_SOCK" "$GT_CTRD2_SOCK.ttrpc"
		printf '%s\n' "$block"
	} >"$d/config.toml"
}

# ctr_run NAME [ctr run options]: the witness image with 0.5 CPU / 200 MiB
# through `ctr run` (not CRI), its output in runs/NAME.
ctr_run() {
	local name=$1
	shift
	gt_run "$name" "${GT_CTR2[@]}" run --rm --cpu-quota "$GT_CPU_QUOTA" --cpu-period "$GT_CPU_PERIOD" \
		--memory-limit "$GT_MEM_LIMIT" "$@" gotune.test/witness:1 "$GT_ID-$name"
}

# flavour LABEL BINDIR: every check on the containerd in BINDIR.
flavour() {
	local L=$1 bin=$2 d v name info
	gt_containerd_cri_init "$bin" "$GT_TMP/ctrd-$L"

	cri_config "$BLOCK" || bail_out "$SHIPPED has no [plugins.\"io.containerd.grpc.v1.cri\"] table to add the sandbox image to"
	d="$L with Debian's config + README's table: containerd starts and CRI answers"
	if ! gt_containerd2_start; then
		tap_not_ok "$d"
		return
	fi
	tap_ok "$d"
	tap_diag "$("$bin/containerd" --version)"
	if ! gt_containerd2_images "$ROOTFS"; then
		tap_diag_file "import" "$GT_CTRD2_DIR/import.log"
		bail_out "cannot import the test images into $L"
	fi

	d="$L: crictl info: runc is runtimeType io.containerd.runc.v2 with BinaryName ${LINK:-(none)}"
	info=$(timeout 30 "${GT_CRICTL[@]}" info 2>&1)
	if jq -e --arg b "${LINK:-/usr/local/bin/gotune-runc}" '.config.containerd.runtimes.runc
		| .runtimeType == "io.containerd.runc.v2" and .options.BinaryName == $b' <<<"$info" >/dev/null; then
		tap_ok "$d"
	else
		tap_not_ok "$d"
		tap_diag "runc: $(jq -c '.config.containerd.runtimes.runc' <<<"$info" 2>&1 | head -c 600)"
	fi

	for v in go119 go126; do
		name=$L-$v
		d="$L, README's table, $v witness via crictl: tuned as planned"
		gt_need_hook "$d" || continue
		if [ -n "${GT_MATRIX_WHY[$v]+set}" ]; then
			tap_skip "$d" "${GT_MATRIX_WHY[$v]}"
			continue
		fi
		gt_crictl_run "$name" "/witness-$v"
		mapfile -t checks < <(gt_plan_expect "$name")
		checks+=("GOVERSION~^go1\\.${v#go1}(\\.| |$)")
		gt_expect "$name" "$d: $(printf '%s\n' "${checks[@]}" | grep '^ENV_' | paste -sd ' ')" -- "${checks[@]}" "${TUNED[@]}"
	done

	d="$L: ctr run under the same config (BinaryName is CRI's): Go defaults"
	ctr_run "$L-ctr"
	gt_expect "$L-ctr" "$d" -- "${DEFAULT[@]}"
	d="$L: ctr run --runc-binary gotune-runc: tuned"
	if gt_need_hook "$d"; then
		ctr_run "$L-ctr-runc" --runc-binary "$LINK"
		gt_expect "$L-ctr-runc" "$d" -- "${TUNED[@]}"
	fi

	# README's table before the fix: options alone.
	gt_containerd2_halt
	cri_config "$(grep -v runtime_type <<<"$BLOCK" | grep -v 'containerd.runtimes.runc]$')" || bail_out "cri_config"
	d="$L, the table without runtime_type: crictl info shows runc without a type"
	if gt_containerd2_start; then
		info=$(timeout 30 "${GT_CRICTL[@]}" info 2>&1)
		if jq -e '.config.containerd.runtimes.runc | (.runtimeType // "") == "" and (.options.BinaryName // "") != ""' \
			<<<"$info" >/dev/null; then
			tap_ok "$d"
		else
			tap_not_ok "$d"
			tap_diag "runc: $(jq -c '.config.containerd.runtimes.runc' <<<"$info" 2>&1 | head -c 600)"
		fi
		d="$L, the table without runtime_type: the pod fails (container.Runtime.Name must be set)"
		gt_crictl_run "$L-notype" /witness-go119
		if [ "$(cat "$GT_TMP/runs/$L-notype.rc")" != 0 ] &&
			grep -q 'container.Runtime.Name must be set' "$GT_TMP/runs/$L-notype.err"; then
			tap_ok "$d"
		else
			tap_not_ok "$d"
			tap_diag_file "crictl" "$GT_TMP/runs/$L-notype.err"
		fi
	else
		tap_not_ok "$d"
	fi
	if [ "$_gt_failed" -gt 0 ]; then
		tail -n 30 "$GT_CTRD2_DIR/containerd.log" >"$GT_TMP/clog-tail"
		tap_diag_file "$L containerd log (last lines)" "$GT_TMP/clog-tail"
	fi
	gt_containerd2_stop
}

# --- nri-install's check: the README's config passes, the old one warns
d="nri-install --check: no warning about Debian's config + README's table"
c=$GT_TMP/check
mkdir -p "$c"
if gt_need_hook "$d"; then
	{ cat "$SHIPPED"; printf '%s\n' "$BLOCK"; } >"$c/good.toml"
	{ cat "$SHIPPED"; grep -v runtime_type <<<"$BLOCK" | grep -v 'containerd.runtimes.runc]$'; } >"$c/bad.toml"
	# Only the config's lines matter here: no plugin is installed.
	gt_run check-good "$GOTUNE_HOOK" nri-install --check --plugin-dir "$c/none" --containerd-config "$c/good.toml"
	if ! grep -q 'warning' "$GT_TMP/runs/check-good.err"; then tap_ok "$d"; else
		tap_not_ok "$d"
		_gt_run_diag check-good
	fi
	d="nri-install --check: Debian's config + the table without runtime_type: warned, naming runtime_type"
	gt_run check-bad "$GOTUNE_HOOK" nri-install --check --plugin-dir "$c/none" --containerd-config "$c/bad.toml"
	gt_expect_stderr check-bad "$d" 'warning: .*runtimes\.runc\] has no runtime_type'
fi

flavour debian-1.6 /usr/bin
if [ -x "$CONTAINERD17_BIN/containerd" ]; then
	flavour "$CONTAINERD17_VERSION" "$CONTAINERD17_BIN"
else
	tap_skip "containerd $CONTAINERD17_VERSION: README's table" \
		"not built here ($CONTAINERD17_BIN; .ci/deps test builds it)"
fi
tap_done
