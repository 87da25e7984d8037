#!/usr/bin/env bash
# tests/e2e/containerd17-nri.sh - the checks of containerd2-nri.sh on the
# pinned containerd 1.7 (.ci/pins, NRI v0.8, built by `.ci/deps test`):
# NRI turned on with hook/nri/containerd-nri.toml in a config of version 2,
# the plugin external and runtime-started (its event mask 0x88, with
# UpdateContainer, accepted), Go 1.19 and 1.26 witnesses tuned as planned,
# a containerd restart, a plugin that exits or hangs, and the wrapper as
# the runc BinaryName.
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/containerd17-nri.sh
GT_CTRD_PIN=CONTAINERD17 exec bash "$(dirname "$0")/containerd2-nri.sh"
