/* What runc and crun keep of a container on disk, read without running
 * them: where their state lives, and the facts of it the wrapper's exec
 * checks a record against. Read here, checked against runc 1.1.5 and crun
 * 1.8.1; any other runtime, or a layout these readers do not recognize, is
 * "unknown" and the caller asks the runtime itself. */
#ifndef GOTUNE_RTSTATE_H
#define GOTUNE_RTSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fileio.h"

enum gt_rt_kind { GT_RT_UNKNOWN, GT_RT_RUNC, GT_RT_CRUN };

/* By the runtime binary's name: "runc" or "crun". */
enum gt_rt_kind gt_rt_kind_of(const char *runtime_path);

/* The runtime's state root as it will use it: root_opt (its --root) when
 * given, else its default for this process (euid, XDG_RUNTIME_DIR). -1 when
 * the default cannot be told without more than a getenv. */
int gt_rt_root(enum gt_rt_kind kind, const char *root_opt, char *out, size_t outsz);

/* Whether id can name a directory under a state root as the runtime would
 * (no '/', not "." or "..", not empty, bounded). */
int gt_rt_id_ok(const char *id);

/* runc's <root>/<id>/state.json (libcontainer's saveState), the parts the
 * exec check needs: the bundle `runc state` would print (the last
 * "bundle=" label: runc's utils.Annotations keeps the last) and when the
 * container was created. */
struct gt_runc_state {
	char bundle[4096];
	int64_t created_ns;	/* CLOCK_REALTIME, from "created" */
	int64_t init_pid;	/* "init_process_pid"; 0 when missing */
};
#define GT_RUNC_STATE_MAX (4u << 20)
int gt_runc_state_read(const char *root, const char *id, struct gt_runc_state *st, gt_err_t *err);
/* The same from text (for tests). */
int gt_runc_state_parse(const char *text, size_t len, const char *id, struct gt_runc_state *st, gt_err_t *err);

/* crun's byte-for-byte copy of the config a container was created from,
 * <root>/<id>/config.json (libcrun_copy_config_file). */
int gt_crun_config_read(const char *root, const char *id, size_t max, struct gt_buf *out, gt_err_t *err);

#endif
