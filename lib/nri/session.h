/* The NRI plugin's life with a runtime: register, take Configure (the
 * runtime's plugin config may replace the policy), answer Synchronize and
 * CreateContainer, and, as an external plugin, reconnect with backoff when
 * the runtime restarts. Never fails a container: any problem of ours is an
 * empty adjustment and a log line. */
#ifndef GOTUNE_SESSION_H
#define GOTUNE_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "err.h"
#include "hostinfo.h"
#include "mountinfo.h"
#include "policy.h"

/* The policy file as last read: the plugin reads it again when it changes
 * (a ConfigMap volume swaps its ..data link: a new inode behind the same
 * path), keeping the last good policy when the new text is broken. */
struct gt_nri_watch {
	const char *path;	/* NULL: no file to watch */
	bool missing_ok;	/* the default path: no file means the defaults */
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	bool ok;		/* the file as it is now is the policy in force */
	char error[600];	/* why not */
};

struct gt_nri_plugin {
	const char *name, *idx;
	struct gt_policy base;		/* from the policy file */
	struct gt_policy policy;	/* what is in force: base, or the runtime's config */
	struct gt_host host;
	struct gt_mounts_watch mounts;	/* host.mounts_watch: read again only once changed */
	volatile sig_atomic_t *stop;	/* set by a signal handler: end at the next chance */
	struct gt_nri_watch watch;
	bool from_runtime;		/* the runtime's plugin config is in force */
	bool registered;		/* with the runtime, now */
	bool waiting;			/* not registering: no valid policy yet */
	const char *status_file;	/* NULL: none (see status.h) */
};

enum gt_nri_end { GT_NRI_CLOSED, GT_NRI_STOPPED };

/* One connection, from registration until the runtime closes it (or stop
 * is set). -1 with err on a failure of the connection. */
int gt_nri_session(struct gt_nri_plugin *pl, int fd, bool *registered, enum gt_nri_end *end, gt_err_t *err);

/* Started by the runtime: serves the connection it handed over (fd) until
 * it closes. -1 when that ended in an error, which is logged. */
int gt_nri_serve_fd(struct gt_nri_plugin *pl, int fd);

/* Reads the policy file again when it changed since it was last read:
 * before each CreateContainer and every GT_NRI_WATCH_MS while idle. A
 * broken new text leaves the policy in force as it was, and says so at
 * warning level once per change. */
#define GT_NRI_WATCH_MS 2000
void gt_nri_policy_check(struct gt_nri_plugin *pl);

/* Records what the policy file is now (before its first read: a change
 * in between is then seen as one). */
void gt_nri_policy_seed(struct gt_nri_plugin *pl);

/* An external plugin: dials socket_path, serves, and dials again with
 * backoff (0.5 s doubling to 30 s, reset once registered) until stop. */
void gt_nri_run(struct gt_nri_plugin *pl, const char *socket_path);

#endif
