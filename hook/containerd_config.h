/* A containerd config.toml read for the settings that break every CRI pod
 * once gotune's runtime table is added: containerd 1.6 and 1.7 decode the
 * CRI plugin's config with go-toml v1, which builds the `runtimes` map
 * afresh from the file (pelletier/go-toml v1.9.5 marshal.go, valueFromTree:
 * reflect.MakeMap, each entry from a zero Runtime). A runtime table that
 * only sets `options.BinaryName` then has no runtime_type, and a file that
 * defines some runtime but not the default one loses that one. containerd
 * 2.x decodes with go-toml v2 into its defaults (unmarshaler.go: an existing
 * map entry is copied before the file's keys are applied), so version 3
 * configs keep the type. Checked for real by tests/e2e/containerd1-cri.sh. */
#ifndef GOTUNE_CONTAINERD_CONFIG_H
#define GOTUNE_CONTAINERD_CONFIG_H

#include <stddef.h>

#include "err.h"

/* The largest config read (containerd's own are a few KiB). */
#define GT_CTRD_CONFIG_MAX (1 << 20)
#define GT_CTRD_FINDINGS_MAX 8

struct gt_ctrd_findings {
	int version;	/* the config's `version`, 1 when absent (as containerd reads it) */
	size_t n;
	char msg[GT_CTRD_FINDINGS_MAX][512];
};

/* Reads TEXT as TOML and fills F with what would fail CRI pods (each
 * message says what breaks and what to add). Returns -1 with err only when
 * the text is not TOML this reader follows; F then holds nothing. */
int gt_containerd_config_check(const char *text, size_t len, struct gt_ctrd_findings *f, gt_err_t *err);

/* The same for the file at PATH (a regular file, at most
 * GT_CTRD_CONFIG_MAX bytes); its `imports` are not followed. */
int gt_containerd_config_check_file(const char *path, struct gt_ctrd_findings *f, gt_err_t *err);

#endif
