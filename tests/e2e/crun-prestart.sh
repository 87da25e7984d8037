#!/usr/bin/env bash
# tests/e2e/crun-prestart.sh - the prestart/createRuntime checks of
# runc-prestart.sh, with crun (in a private mount namespace with cgroup2,
# --cgroup-manager=disabled: see crun-wrapper.sh).
#
#   GOTUNE_HOOK=build/hook/gotune-hook tests/e2e/crun-prestart.sh
GT_PRESTART_RUNTIME=crun exec bash "$(dirname "$0")/runc-prestart.sh"
