#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tests/e2e/podman-prestart.sh - the shipped Podman hooks dir (precreate +
# prestart drop-ins, as meson installs them in share/gotune/podman-hooks.d):
# one container gets both the tuned env and the listed file warmed, after
# the page cache was dropped.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/podman-prestart.sh

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
gt_init
gt_require_cmd podman runc fincore
[ -w /proc/sys/vm/drop_caches ] || skip_all "cannot drop the page cache here"
gt_need_hook "podman with the shipped drop-ins" || tap_done
BUILD=$(dirname "$GOTUNE_HOOK")
[ -f "$BUILD/gotune-precreate.json" ] && [ -f "$BUILD/gotune-prestart.json" ] ||
	skip_all "drop-ins not built next to $GOTUNE_HOOK"

ROOTFS=$GT_TMP/rootfs
gt_make_rootfs "$ROOTFS"
mkdir -p "$ROOTFS/data" "$GT_TMP/podman/root" "$GT_TMP/podman/runroot" "$GT_TMP/podman/tmp" "$GT_TMP/hooks"
head -c $((4 << 20)) /dev/urandom >"$ROOTFS/data/model.bin"
POLICY=$(gt_policy "$GT_TMP/policy.json" "{\"log_file\": \"$GT_TMP/decisions.jsonl\"}")
# The shipped drop-ins, pointed at this build and this test's policy.
for f in gotune-precreate.json gotune-prestart.json; do
	jq --arg hook "$GOTUNE_HOOK" --arg policy "$POLICY" \
		'.hook.path = $hook | .hook.args += ["--policy", $policy]' "$BUILD/$f" >"$GT_TMP/hooks/$f"
done
PODMAN=(podman --root "$GT_TMP/podman/root" --runroot "$GT_TMP/podman/runroot"
	--tmpdir "$GT_TMP/podman/tmp" --storage-driver vfs --runtime "$(command -v runc)"
	--cgroup-manager cgroupfs --events-backend file --hooks-dir "$GT_TMP/hooks")

sync
echo 3 >/proc/sys/vm/drop_caches
id=$GT_ID-pw
gt_defer "${PODMAN[@]}" rm -f "$id"
gt_run pw "${PODMAN[@]}" run --rm --name "$id" --net none \
	--ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --cpus 0.5 --memory 200m \
	--annotation gotune.io/prewarm-files=/data/model.bin --rootfs "$ROOTFS" /witness
mapfile -t TUNED < <(gt_checks_tuned)
gt_expect pw "podman + shipped drop-ins: env tuned by precreate" -- "${TUNED[@]}"
pct=$(gt_wait_resident "$ROOTFS/data/model.bin")
if [ "$pct" -ge 99 ]; then
	tap_ok "podman + shipped drop-ins: the listed file was warmed by prestart ($pct% resident)"
else
	tap_not_ok "podman + shipped drop-ins: the listed file was warmed by prestart ($pct% resident)"
	tap_diag_file "decisions.jsonl" "$GT_TMP/decisions.jsonl"
fi
if gt_wait_jq "$GT_TMP/decisions.jsonl" \
	'any(.[]; .entry == "prestart" and (.detail | test("GOMAXPROCS=1 \\(as planned\\) GOMEMLIMIT=180MiB \\(as planned\\)")))'; then
	tap_ok "prestart's audit sees the env precreate planned"
else
	tap_not_ok "prestart's audit sees the env precreate planned"
	tap_diag_file "decisions.jsonl" "$GT_TMP/decisions.jsonl"
fi
tap_done
