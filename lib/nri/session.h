/* The NRI plugin's life with a runtime: register, take Configure (the
 * runtime's plugin config may replace the policy), answer Synchronize and
 * CreateContainer, and, as an external plugin, reconnect with backoff when
 * the runtime restarts. Never fails a container: any problem of ours is an
 * empty adjustment and a log line. */
#ifndef GOTUNE_SESSION_H
#define GOTUNE_SESSION_H

#include <signal.h>
#include <stdbool.h>

#include "err.h"
#include "hostinfo.h"
#include "policy.h"

struct gt_nri_plugin {
	const char *name, *idx;
	struct gt_policy base;		/* from the policy file */
	struct gt_policy policy;	/* what is in force: base, or the runtime's config */
	struct gt_host host;
	volatile sig_atomic_t *stop;	/* set by a signal handler: end at the next chance */
};

enum gt_nri_end { GT_NRI_CLOSED, GT_NRI_STOPPED };

/* One connection, from registration until the runtime closes it (or stop
 * is set). -1 with err on a failure of the connection. */
int gt_nri_session(struct gt_nri_plugin *pl, int fd, bool *registered, enum gt_nri_end *end, gt_err_t *err);

/* Started by the runtime: serves the connection it handed over (fd) until
 * it closes. -1 when that ended in an error, which is logged. */
int gt_nri_serve_fd(struct gt_nri_plugin *pl, int fd);

/* An external plugin: dials socket_path, serves, and dials again with
 * backoff (0.5 s doubling to 30 s, reset once registered) until stop. */
void gt_nri_run(struct gt_nri_plugin *pl, const char *socket_path);

#endif
