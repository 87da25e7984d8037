/* The operator's policy (/etc/gotune/policy.json) and the settings it
 * yields; annotations may then adjust the per-container part. */
#ifndef GOTUNE_POLICY_H
#define GOTUNE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pwmode.h"
#include "statedir.h"

#define GT_POLICY_DEFAULT_PATH "/etc/gotune/policy.json"
#define GT_PROFILE_DEFAULT_DIR GT_STATE_DIR "/profiles"
#define GT_POLICY_MAX_BYTES (1u << 20)
#define GT_GODEBUG_MAX 32u
#define GT_GODEBUG_TOKEN_MAX 64

#define GT_PREWARM_FILES_MAX 32u
#define GT_PREWARM_PATH_MAX 256

enum gt_rounding { GT_ROUND_CEIL, GT_ROUND_FLOOR };

/* Which memory-backed mounts come out of the GOMEMLIMIT budget. */
enum gt_tmpfs_mode {
	GT_TMPFS_OFF,
	GT_TMPFS_VOLUMES,	/* sized tmpfs volumes, not the runtime's /dev/shm and /run */
	GT_TMPFS_ALL,		/* every sized, writable tmpfs, /dev/shm and /run too */
};

/* What to do with GOMAXPROCS when the entrypoint's Go (>= 1.25) sets it
 * from the CPU limit by itself and tracks it: any explicit value turns
 * that tracking off. */
enum gt_tracking {
	GT_TRACK_DEFER,		/* never set: Go's own choice, kept up to date */
	GT_TRACK_BELOW_FLOOR,	/* set only when the quota is below Go's floor of 2 */
	GT_TRACK_ALWAYS,	/* set as for older Go */
};

struct gt_prewarm_settings {
	enum gt_pw_mode mode;
	bool closure;		/* the entrypoint, its interpreter and libraries */
	uint64_t max_set_bytes;	/* a larger set is not warmed at all */
	struct gt_pw_budget budget;
	size_t n_files;		/* listed files or directories, inside the rootfs */
	char files[GT_PREWARM_FILES_MAX][GT_PREWARM_PATH_MAX];
};

struct gt_kv {
	char key[GT_GODEBUG_TOKEN_MAX + 1];
	char value[GT_GODEBUG_TOKEN_MAX + 1];
};

/* What one container gets; policy first, annotations on top. */
struct gt_settings {
	bool enabled;
	bool override;
	bool go_aware;		/* decide per binary from its Go build info */
	bool go_only;		/* leave containers whose entrypoint is not Go alone */
	bool maxprocs_enabled;
	enum gt_rounding rounding;
	enum gt_tracking tracking;
	unsigned minimum;
	bool shares;
	/* Cap GOMAXPROCS by this process's own CPU affinity too, for runtimes
	 * that pass it on to the container (runc < 1.2.7 / 1.3.1, crun <
	 * 1.9.2, on Linux >= 6.2); newer ones reset the container's affinity
	 * to its cgroup's cpuset, which is the default cap. */
	bool affinity_inherit;
	bool memlimit_enabled;
	uint32_t ratio_ppm;	/* GOMEMLIMIT = limit * ratio_ppm / 1e6 */
	/* Sized, writable tmpfs mounts come out of the memory budget before
	 * the ratio; GOMEMLIMIT stays at least tmpfs_floor_ppm x ratio x
	 * limit. */
	enum gt_tmpfs_mode tmpfs;
	uint32_t tmpfs_floor_ppm;
	/* Limits of the cgroup the container is created under (its pod's)
	 * count where the container has none or a higher one. */
	bool pod_limits;
	/* Replace a GOMEMLIMIT the container sets that would make Go abort
	 * at start with the planned value (off: such a value is reported
	 * and kept). */
	bool fix_invalid;
	char gogc[16];		/* "" when not requested */
	size_t n_godebug;
	struct gt_kv godebug[GT_GODEBUG_MAX];
	struct gt_prewarm_settings prewarm;
	bool profile_record;	/* poststart records the start-up working set */
	char profile_dir[256];	/* where profiles live; replayed when present */
	uint64_t profile_max_bytes;	/* of a profile replayed per start; the rest is left out */
	unsigned profile_interval_ms;	/* between samples */
	unsigned profile_settle_ms;	/* stop when nothing new was touched this long */
	unsigned profile_max_ms;	/* and in any case after this long */
	unsigned profile_max_count;	/* profiles kept in profile_dir; oldest go first */
	unsigned profile_max_per_image;	/* of those, per image (or per entrypoint without one) */
	/* Audit mode: everything is planned and logged as what it would set,
	 * and nothing is changed (policy "mode": "audit", or the annotation
	 * gotune.io/mode: audit for one container). */
	bool audit;
	bool audit_by_annotation;
};

/* Who may be recorded: a container whose annotation key has one of the
 * values (a trailing '*' matches a prefix), for any rule. Meant for the
 * annotations an engine writes itself (a pod's namespace, the image). */
#define GT_RECORD_ONLY_MAX 16u
struct gt_record_rule {
	char key[128];
	char value[256];
};

/* gotune's own detached workers on this node (issue 29): how many at
 * once, and whether recorders run in its capped cgroup. */
struct gt_workers {
	unsigned max_recorders;
	unsigned max_readers;
	bool cgroup;
};

struct gt_policy {
	struct gt_settings settings;
	bool strict;
	bool confine;		/* seccomp + capability drops for untrusted input */
	char runtime[4096];	/* "" to search PATH */
	char log_file[4096];	/* "" for no JSON-lines log */
	/* The NRI plugin adds this host binary as a prestart hook ("" for
	 * none), so prewarm runs for containers it tunes. */
	char nri_prestart_hook[4096];
	char source[4096];	/* file it came from, or "built-in defaults" */
	char sha256[65];	/* of the policy text; "" for the built-in defaults */
	/* Prometheus counters of what gotune did, kept in this file ("" for
	 * none): the node_exporter textfile collector's format. */
	char metrics_file[4096];
	/* Node-wide, never from an annotation: */
	struct gt_workers workers;
	bool record_only_set;	/* profile.record_only given: only its rules record */
	size_t n_record_only;
	struct gt_record_rule record_only[GT_RECORD_ONLY_MAX];
};

/* Whether profile.record_only lets a container with these annotations be
 * recorded (always, when the policy has no such list). */
bool gt_policy_may_record(const struct gt_policy *p, const char *(*get)(void *ctx, const char *key), void *ctx);

void gt_policy_defaults(struct gt_policy *p);

/* Validates and applies a policy document (JSON text) over the defaults.
 * Unknown keys and wrong types are errors naming the key, origin, line and
 * column ("policy FILE:LINE:COL: ..."), with the key most likely meant.
 * On an error *p is unchanged but for runtime, log_file and metrics_file,
 * taken from a document that is valid JSON where it names them well, and
 * sha256, of the broken text: its passthroughs are still logged and
 * counted there, under its own name. */
int gt_policy_parse(struct gt_policy *p, const char *text, size_t len, const char *origin, gt_err_t *err);

/* Loads a policy file. A missing file is not an error when missing_ok (the
 * default path: no policy means defaults). */
int gt_policy_load(struct gt_policy *p, const char *path, bool missing_ok, gt_err_t *err);

/* Value checks shared by the policy and the annotations. */
bool gt_valid_gogc(const char *s);
bool gt_valid_godebug_token(const char *s, bool is_key);
/* A ratio in (0, 1] as parts per million: gt_parse_ratio takes a JSON
 * number's text, gt_parse_ratio_text the annotation grammar (a plain
 * decimal: 0.8, .8, 1, 1.0). */
int gt_parse_ratio(const char *s, uint32_t *ppm);
int gt_parse_ratio_text(const char *s, uint32_t *ppm);
/* A fraction from 0 to 1 inclusive. */
int gt_parse_fraction(const char *s, uint32_t *ppm);
int gt_tracking_parse(const char *s, enum gt_tracking *out);
const char *gt_tracking_name(enum gt_tracking t);
int gt_tmpfs_mode_parse(const char *s, enum gt_tmpfs_mode *out);
const char *gt_tmpfs_mode_name(enum gt_tmpfs_mode m);
/* Adds a path to the prewarm list (absolute, no NUL, bounded); -1 if full
 * or invalid. */
int gt_settings_prewarm_add(struct gt_settings *s, const char *path);
/* Adds or replaces key in the settings' GODEBUG list. */
int gt_settings_godebug_set(struct gt_settings *s, const char *key, const char *value);

/* The keys the policy accepts, with their JSON types, for the schema test. */
struct gt_policy_key {
	const char *path;	/* "gomemlimit.ratio" */
	const char *type;	/* JSON Schema type */
};
const struct gt_policy_key *gt_policy_keys(void);

#endif
