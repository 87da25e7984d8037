/* The wrapper's exec: a process exec'd into a container gets the variables
 * gotune gave the container. Engines build the exec process from their own
 * copy of the image's env (Docker, containerd's CRI), so without this
 * `docker exec` and `crictl exec` run untuned. The container's bundle comes
 * from the runtime's own `state`; what gotune wrote comes from the record
 * in its config.json (GT_TUNE_MARK). Fail-open: the exec always runs. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "confine.h"
#include "counters.h"
#include "fileio.h"
#include "hook.h"
#include "json.h"
#include "event.h"
#include "log.h"
#include "execrec.h"
#include "rtstate.h"
#include "runtime_exec.h"
#include "spec.h"
#include "statedir.h"
#include "tune.h"
#include "waitchild.h"

/* runc and crun answer `state` in milliseconds; a runtime that hangs must
 * not hold the exec longer than this. */
#define STATE_TIMEOUT_MS 3000
#define STATE_MAX_BYTES (64u << 10)
/* The child's answer: "OK" or "ERR", then NUL-separated entries or the
 * message. */
#define ANSWER_MAX 4096

/* Reads fd until EOF, at most max bytes, waiting no longer than the time
 * left until deadline_ms after t0. */
static int read_bounded(int fd, char *buf, size_t max, size_t *len, const struct timespec *t0, double deadline_ms)
{
	*len = 0;
	for (;;) {
		double left = deadline_ms - gt_elapsed_ms(t0);
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, (int)left + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		ssize_t n = read(fd, buf + *len, max - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		*len += (size_t)n;
		if (*len == max)
			return -EFBIG;
	}
}

/* The bundle of container id, from `RUNTIME GLOBAL-OPTIONS state ID`: the
 * same root and cgroup options the exec itself was given. */
static int state_bundle(const char *runtime, char *const argv[], int subcmd, const char *id, char *bundle,
			size_t bundlesz, gt_err_t *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char **args = calloc((size_t)subcmd + 3, sizeof(*args));
	if (args == NULL)
		return gt_error(err, ENOMEM, "state");
	args[0] = (char *)runtime;
	for (int i = 1; i < subcmd; i++)
		args[i] = argv[i];
	args[subcmd] = "state";
	args[subcmd + 1] = (char *)id;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		free(args);
		return gt_error(err, errno, "state: pipe");
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		free(args);
		return gt_error(err, errno, "state: fork");
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(fds[1], STDOUT_FILENO);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execv(runtime, args);
		_exit(127);
	}
	free(args);
	close(fds[1]);
	cleanup_buf struct gt_buf out = { .data = malloc(STATE_MAX_BYTES + 1) };
	int rr = out.data == NULL ? -ENOMEM : read_bounded(fds[0], out.data, STATE_MAX_BYTES, &out.len, &t0,
							  STATE_TIMEOUT_MS);
	close(fds[0]);
	if (rr < 0)
		kill(pid, SIGKILL);
	int status = 0;
	/* Its output is over (EOF) or it was killed: it ends at once. */
	gt_wait_child(pid, 1000, &status);
	if (rr < 0)
		return gt_error(err, -rr, "%s state %s", runtime, id);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return gt_error(err, 0, "%s state %s failed (status %d)", runtime, id,
				WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	out.data[out.len] = '\0';
	cleanup_yajl yajl_val tree = NULL;
	yajl_val b = NULL;
	if (gt_json_parse(out.data, out.len, "runtime state", &tree, err) < 0)
		return -1;
	if (gt_json_get(tree, "bundle", &b) != 1 || !YAJL_IS_STRING(b) || YAJL_GET_STRING(b)[0] != '/')
		return gt_error(err, 0, "%s state %s names no absolute bundle", runtime, id);
	if (snprintf(bundle, bundlesz, "%s", YAJL_GET_STRING(b)) >= (int)bundlesz)
		return gt_error(err, ENAMETOOLONG, "bundle");
	return 0;
}

/* The edits for the process from mark, written into the process file when
 * there is one (parsed here: in the confined child). Fills entries
 * (NUL-separated "K=V") with what the process gets. */
static int apply_mark(const struct gt_rt_args *ra, const struct gt_exec_mark *mark, bool audit, char *entries,
		      size_t entsz, size_t *entlen, gt_err_t *err)
{
	cleanup_buf struct gt_buf ptext = { 0 };
	cleanup_spec struct gt_spec proc;
	memset(&proc, 0, sizeof(proc));
	const char *const *env = ra->exec_env;
	size_t n_env = (size_t)ra->n_exec_env;
	char dir_buf[PATH_MAX], base_buf[PATH_MAX];
	cleanup_close int pfd = -1;
	const char *base = NULL;
	if (ra->process != NULL) {
		snprintf(dir_buf, sizeof(dir_buf), "%s", ra->process);
		snprintf(base_buf, sizeof(base_buf), "%s", ra->process);
		base = basename(base_buf);
		pfd = open(dirname(dir_buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pfd < 0)
			return gt_error(err, errno, "open the directory of %s", ra->process);
		if (gt_read_file_at(pfd, base, GT_SPEC_MAX_BYTES, &ptext, err) < 0 ||
		    gt_spec_parse_process(&proc, ptext.data, ptext.len, err) < 0)
			return gt_error_wrap(err, "%s", ra->process);
		env = proc.env;
		n_env = proc.n_env;
	}

	struct gt_env_edit edits[GT_NVARS];
	size_t n = 0;
	if (gt_tune_exec_apply(mark, env, n_env, edits, &n, err) < 0)
		return -1;
	/* On the command line every -e is the caller's own choice. */
	for (size_t i = 0; ra->process == NULL && i < n; i++)
		if (edits[i].index != GT_ENV_APPEND) {
			free(edits[i].entry);
			edits[i--] = edits[--n];
		}
	int ret = 0;
	*entlen = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(edits[i].entry) + 1;
		if (*entlen + l > entsz) {
			ret = gt_error(err, E2BIG, "exec env");
			break;
		}
		memcpy(entries + *entlen, edits[i].entry, l);
		*entlen += l;
	}
	if (ret == 0 && n > 0 && ra->process != NULL && !audit) {
		cleanup_buf struct gt_buf out = { 0 };
		ret = gt_spec_render(&proc, edits, n, &out, err);
		if (ret == 0)
			ret = gt_write_atomic_at(pfd, base, out.data, out.len, err);
	}
	for (size_t i = 0; i < n; i++)
		free(edits[i].entry);
	return ret;
}

/* In the confined child: what the process gets when the mark comes from
 * the container's config in bundle (mark NULL), or from a record. */
static int compute(const struct gt_rt_args *ra, const char *bundle, const struct gt_exec_mark *given, bool audit,
		   char *entries, size_t entsz, size_t *entlen, gt_err_t *err)
{
	if (given != NULL)
		return apply_mark(ra, given, audit, entries, entsz, entlen, err);
	cleanup_close int bfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return gt_error(err, errno, "open bundle %s", bundle);
	cleanup_buf struct gt_buf cfg = { 0 };
	cleanup_spec struct gt_spec config;
	memset(&config, 0, sizeof(config));
	if (gt_read_file_at(bfd, "config.json", GT_SPEC_MAX_BYTES, &cfg, err) < 0 ||
	    gt_spec_parse(&config, cfg.data, cfg.len, err) < 0)
		return gt_error_wrap(err, "%s/config.json", bundle);
	cleanup_exec_mark struct gt_exec_mark mark;
	gt_tune_exec_mark(&config, &mark);
	return apply_mark(ra, &mark, audit, entries, entsz, entlen, err);
}

/* Runs compute in a confined child (the config and the process file are
 * parsed there) and reads its answer. */
static int compute_confined(const struct gt_rt_args *ra, const struct gt_policy *policy, const char *bundle,
			    const struct gt_exec_mark *mark, char *entries, size_t entsz, size_t *entlen, gt_err_t *err)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return gt_error(err, errno, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return gt_error(err, errno, "fork");
	}
	if (pid == 0) {
		close(fds[0]);
		hook_confine(policy, GT_PHASE_TUNE);
		char buf[ANSWER_MAX];
		size_t len = 0;
		gt_err_t cerr = NULL;
		int r = compute(ra, bundle, mark, policy->settings.audit, buf + 3, sizeof(buf) - 3, &len, &cerr);
		if (r == 0) {
			memcpy(buf, "OK", 3);
			len += 3;
		} else {
			len = (size_t)snprintf(buf, sizeof(buf), "ERR%c%s", '\0', gt_err_msg(cerr)) + 1;
			if (len > sizeof(buf))
				len = sizeof(buf);
		}
		ssize_t w = write(fds[1], buf, len);
		_exit(w == (ssize_t)len ? 0 : 1);
	}
	close(fds[1]);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char buf[ANSWER_MAX + 1];
	size_t len = 0;
	int rr = read_bounded(fds[0], buf, ANSWER_MAX, &len, &t0, STATE_TIMEOUT_MS);
	close(fds[0]);
	if (rr < 0)
		kill(pid, SIGKILL);
	int status = 0;
	gt_wait_child(pid, 1000, &status);
	buf[len] = '\0';
	if (rr < 0 || len < 3 || !WIFEXITED(status))
		return gt_error(err, rr < 0 ? -rr : 0, "the exec child gave no answer");
	if (strcmp(buf, "OK") != 0)
		return gt_error(err, 0, "%s", len > 4 ? buf + 4 : "failed");
	if (len - 3 > entsz)
		return gt_error(err, E2BIG, "the exec child's answer");
	*entlen = len - 3;
	memcpy(entries, buf + 3, *entlen);
	return 0;
}

/* The container's exec record, when there is one and it proves to still
 * describe the container with this id (gt_execrec_check): 1. 0 when there
 * is none to use (then the runtime is asked); a stale one is removed. */
static int from_record(const struct gt_rt_args *ra, const char *runtime, struct gt_execrec *rec, char *why,
		       size_t whysz)
{
	enum gt_rt_kind kind = gt_rt_kind_of(runtime);
	char root[PATH_MAX], path[PATH_MAX];
	if (kind == GT_RT_UNKNOWN || !gt_rt_id_ok(ra->id) || gt_rt_root(kind, ra->root, root, sizeof(root)) < 0 ||
	    gt_execrec_path(GT_EXEC_RECORD_DIR, root, ra->id, path, sizeof(path)) < 0) {
		snprintf(why, whysz, "no record for this runtime");
		return 0;
	}
	cleanup_err gt_err_t err = NULL;
	if (gt_execrec_read(path, rec, &err) < 0) {
		snprintf(why, whysz, "%s", err->errno_ == ENOENT ? "no record" : gt_err_msg(err));
		return 0;
	}
	if (strcmp(rec->runtime, runtime) != 0 || strcmp(rec->root, root) != 0 || strcmp(rec->id, ra->id) != 0)
		gt_error(&err, 0, "the record at %s is another container's", path);
	else
		gt_execrec_check(rec, kind, &err);
	if (err == NULL)
		return 1;
	snprintf(why, whysz, "stale record (%.200s)", gt_err_msg(err));
	unlink(path);
	return 0;
}

void hook_exec_forget(const struct gt_rt_args *ra, const char *runtime)
{
	enum gt_rt_kind kind = gt_rt_kind_of(runtime);
	char root[PATH_MAX], path[PATH_MAX];
	if (kind != GT_RT_UNKNOWN && gt_rt_id_ok(ra->id) && gt_rt_root(kind, ra->root, root, sizeof(root)) == 0 &&
	    gt_execrec_path(GT_EXEC_RECORD_DIR, root, ra->id, path, sizeof(path)) == 0)
		unlink(path);
}

char **hook_exec_tune(const struct gt_rt_args *ra, const char *runtime, int argc, char *argv[],
		      const struct gt_policy *policy, const struct timespec *t0)
{
	char bundle[PATH_MAX], entries[ANSWER_MAX], detail[ANSWER_MAX + 400] = "", why[300] = "";
	size_t entlen = 0;
	cleanup_err gt_err_t err = NULL;
	struct gt_log_event ev = { .entry = "runtime-exec", .id = ra->id != NULL ? ra->id : "" };
	enum gt_outcome outcome = GT_OUT_PASSTHROUGH;
	bool audit = policy->settings.audit;
	cleanup_free struct gt_execrec *rec = malloc(sizeof(*rec));
	int found = 0, ok = -1;
	const char *source = "";
	if (ra->id == NULL)
		gt_error(&err, 0, "exec names no container");
	else if (ra->refuse != NULL)
		gt_error(&err, 0, "%s: more --env options than the wrapper reads; left alone", ra->refuse);
	else if (rec == NULL)
		gt_error(&err, ENOMEM, "exec");
	else if ((found = from_record(ra, runtime, rec, why, sizeof(why))) == 1) {
		/* Nothing to give (an untuned container): no child, no file. */
		bool none = true;
		for (int v = 0; v < GT_NVARS; v++)
			none &= rec->mark.wrote[v] == NULL;
		source = "gotune's record";
		/* The inline form reads nothing but its own arguments. */
		ok = none ? 0
			  : ra->process == NULL ? apply_mark(ra, &rec->mark, audit, entries, sizeof(entries), &entlen, &err)
						: compute_confined(ra, policy, NULL, &rec->mark, entries, sizeof(entries),
								   &entlen, &err);
	} else if (state_bundle(runtime, argv, ra->subcmd, ra->id, bundle, sizeof(bundle), &err) == 0) {
		source = "the runtime's state";
		ok = compute_confined(ra, policy, bundle, NULL, entries, sizeof(entries), &entlen, &err);
	}
	if (ok == 0) {
		outcome = entlen == 0 ? GT_OUT_SKIPPED : audit ? GT_OUT_AUDIT : GT_OUT_TUNED;
		size_t dl = 0;
		if (audit && entlen > 0)
			dl = (size_t)snprintf(detail, sizeof(detail), "would add (audit mode, nothing changed):");
		for (size_t i = 0; i < entlen; i += strlen(entries + i) + 1)
			dl += (size_t)snprintf(detail + dl, sizeof(detail) - dl, "%s%s", dl ? " " : "", entries + i);
		if (entlen == 0)
			dl = (size_t)snprintf(detail, sizeof(detail),
					      "nothing to add (no variable gotune wrote that the process lacks)");
		snprintf(detail + dl, sizeof(detail) - dl, "; from %s%s%s", source, found ? "" : ": ", found ? "" : why);
	}
	ev.outcome = gt_outcome_name(outcome);
	ev.error = err != NULL ? gt_err_msg(err) : NULL;
	ev.detail = detail;
	ev.ms = gt_elapsed_ms(t0);
	gt_log_event(&ev, policy->log_file);
	gt_counters_count(policy->metrics_file, GT_COUNT_EXEC, NULL, outcome, policy->sha256);
	if (entlen == 0 || ra->process != NULL || audit)
		return argv;

	/* The inline form: each variable as "-e K=V" right after "exec". */
	size_t n = 0;
	for (size_t i = 0; i < entlen; i += strlen(entries + i) + 1)
		n++;
	char **nargv = calloc((size_t)argc + 2 * n + 1, sizeof(*nargv));
	if (nargv == NULL)
		return argv;
	int k = 0;
	for (int i = 0; i <= ra->subcmd; i++)
		nargv[k++] = argv[i];
	for (size_t i = 0; i < entlen; i += strlen(entries + i) + 1) {
		nargv[k++] = "-e";
		nargv[k++] = strdup(entries + i);
		if (nargv[k - 1] == NULL) {
			free(nargv);
			return argv;
		}
	}
	for (int i = ra->subcmd + 1; i < argc; i++)
		nargv[k++] = argv[i];
	nargv[k] = NULL;
	return nargv;
}
