/* The plugin's policy file, read again when it changes. A Kubernetes
 * ConfigMap volume updates by writing a new directory and swapping the
 * ..data link to it, so the file behind the path gets a new inode; an
 * edit in place changes its size or times. One stat per check finds both;
 * the file is read only when one did change. */
#include "log.h"
#include "session.h"
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static bool same_ts(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* The identity of what the path leads to now; false when unchanged. */
static bool changed(struct gt_nri_watch *w)
{
	struct stat st;
	bool exists = stat(w->path, &st) == 0;
	if (!exists)
		memset(&st, 0, sizeof(st));
	if (exists == w->exists && (!exists || (st.st_dev == w->dev && st.st_ino == w->ino && st.st_size == w->size &&
						same_ts(st.st_mtim, w->mtime) && same_ts(st.st_ctim, w->ctime))))
		return false;
	w->exists = exists;
	w->dev = st.st_dev;
	w->ino = st.st_ino;
	w->size = st.st_size;
	w->mtime = st.st_mtim;
	w->ctime = st.st_ctim;
	return true;
}

void gt_nri_policy_seed(struct gt_nri_plugin *pl)
{
	if (pl->watch.path != NULL)
		(void)changed(&pl->watch);
}

void gt_nri_policy_check(struct gt_nri_plugin *pl)
{
	struct gt_nri_watch *w = &pl->watch;
	if (w->path == NULL || !changed(w))
		return;
	struct gt_policy p;
	gt_policy_defaults(&p);
	gt_err_t err = NULL;
	if (gt_policy_load(&p, w->path, w->missing_ok, &err) == 0) {
		/* A touch, or the same text written again: nothing to say. */
		bool same = w->ok && strcmp(p.sha256, pl->base.sha256) == 0 && strcmp(p.source, pl->base.source) == 0;
		bool was_waiting = pl->waiting;
		pl->base = p;
		if (!pl->from_runtime)
			pl->policy = p;
		w->ok = true;
		w->error[0] = '\0';
		pl->waiting = false;
		if (was_waiting)
			gt_log(LOG_INFO, "nri: policy %s is valid now (sha256 %.12s); registering", p.source,
			       p.sha256[0] ? p.sha256 : "none");
		else if (!same)
			gt_log(LOG_INFO, "nri: policy %s reloaded (sha256 %.12s)%s", p.source, p.sha256[0] ? p.sha256 : "none",
			       pl->from_runtime ? "; the runtime's plugin config stays in force" : "");
	} else {
		snprintf(w->error, sizeof(w->error), "%s", gt_err_msg(err));
		w->ok = false;
		if (pl->waiting)
			gt_log(LOG_ERR, "nri: %s; still not registering until it is fixed", w->error);
		else
			gt_log(LOG_WARNING, "nri: %s; keeping the policy in force: %s (sha256 %.12s)", w->error,
			       pl->policy.source, pl->policy.sha256[0] ? pl->policy.sha256 : "none");
	}
	gt_err_free(&err);
	gt_nri_status_write(pl);
}
