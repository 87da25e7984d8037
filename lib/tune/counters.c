#include "counters.h"
#include "cleanup.h"
#include "fileio.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef GOTUNE_VERSION
#define GOTUNE_VERSION "unknown"
#endif

/* Every series is written from the first update on, zeros included: a
 * rate() over a series that appears late misses its first increments. */
static const char *const entries[] = { "precreate", "runtime", "nri" };
#define N_ENTRIES (sizeof(entries) / sizeof(entries[0]))
static const char *const workers[] = { "recorder", "reader" };
#define N_WORKERS (sizeof(workers) / sizeof(workers[0]))
#define FILE_MAX (64u << 10)

static const char *const names[GT_OUT_COUNT] = {
	[GT_OUT_TUNED] = "tuned",
	[GT_OUT_KEPT] = "kept",
	[GT_OUT_SKIPPED] = "skipped",
	[GT_OUT_AUDIT] = "audit",
	[GT_OUT_PASSTHROUGH] = "passthrough",
};

const char *gt_outcome_name(enum gt_outcome o)
{
	return (unsigned)o < GT_OUT_COUNT ? names[o] : "?";
}

enum gt_outcome gt_plan_outcome(const struct gt_plan *plan)
{
	if (gt_plan_changes(plan))
		return plan->settings.audit ? GT_OUT_AUDIT : GT_OUT_TUNED;
	for (int v = 0; v < GT_NVARS; v++)
		if (plan->d[v].action == GT_ACT_KEPT)
			return GT_OUT_KEPT;
	return GT_OUT_SKIPPED;
}

struct counts {
	uint64_t containers[N_ENTRIES][GT_OUT_COUNT];
	uint64_t exec[GT_OUT_COUNT];
	uint64_t skipped[N_WORKERS];
};

/* Reads back the counts from the file's own lines; anything else in it
 * (a hand edit, a torn file from before a crash) is dropped, and a count
 * that cannot be read starts again from 0, which Prometheus reads as a
 * counter reset. */
static void parse(const char *text, struct counts *c)
{
	const char *line = text;
	while (*line != '\0') {
		size_t n = strcspn(line, "\n");
		char buf[256];
		if (n > 0 && n < sizeof(buf) && line[0] != '#') {
			memcpy(buf, line, n);
			buf[n] = '\0';
			char entry[32], outcome[32];
			uint64_t v;
			int used = 0;
			if (sscanf(buf, "gotune_containers_total{entry=\"%31[a-z-]\",outcome=\"%31[a-z]\"} %" SCNu64 "%n",
				   entry, outcome, &v, &used) == 3 && buf[used] == '\0') {
				for (size_t e = 0; e < N_ENTRIES; e++)
					for (int o = 0; o < GT_OUT_COUNT; o++)
						if (strcmp(entry, entries[e]) == 0 && strcmp(outcome, names[o]) == 0)
							c->containers[e][o] = v;
			} else if (sscanf(buf, "gotune_exec_total{outcome=\"%31[a-z]\"} %" SCNu64 "%n", outcome, &v, &used) ==
					   2 && buf[used] == '\0') {
				for (int o = 0; o < GT_OUT_COUNT; o++)
					if (strcmp(outcome, names[o]) == 0)
						c->exec[o] = v;
			} else if (sscanf(buf, "gotune_workers_skipped_total{worker=\"%31[a-z]\"} %" SCNu64 "%n", entry, &v,
					  &used) == 2 && buf[used] == '\0') {
				for (size_t w = 0; w < N_WORKERS; w++)
					if (strcmp(entry, workers[w]) == 0)
						c->skipped[w] = v;
			}
		}
		line += n;
		if (*line == '\n')
			line++;
	}
}

static size_t render(const struct counts *c, const char *sha, char *out, size_t outsz)
{
	size_t n = 0;
#define PUT(...) n += (size_t)snprintf(out + n, n < outsz ? outsz - n : 0, __VA_ARGS__)
	PUT("# HELP gotune_containers_total Containers gotune decided on, by entry point and outcome.\n"
	    "# TYPE gotune_containers_total counter\n");
	for (size_t e = 0; e < N_ENTRIES; e++)
		for (int o = 0; o < GT_OUT_COUNT; o++)
			PUT("gotune_containers_total{entry=\"%s\",outcome=\"%s\"} %" PRIu64 "\n", entries[e], names[o],
			    c->containers[e][o]);
	PUT("# HELP gotune_exec_total Processes exec'd into a container through the wrapper, by outcome.\n"
	    "# TYPE gotune_exec_total counter\n");
	for (int o = 0; o < GT_OUT_COUNT; o++)
		PUT("gotune_exec_total{outcome=\"%s\"} %" PRIu64 "\n", names[o], c->exec[o]);
	PUT("# HELP gotune_workers_skipped_total Starts not recorded or not warmed: workers.max_recorders or "
	    "max_readers were busy.\n"
	    "# TYPE gotune_workers_skipped_total counter\n");
	for (size_t w = 0; w < N_WORKERS; w++)
		PUT("gotune_workers_skipped_total{worker=\"%s\"} %" PRIu64 "\n", workers[w], c->skipped[w]);
	PUT("# HELP gotune_info gotune's version and the SHA-256 of the policy of the last update.\n"
	    "# TYPE gotune_info gauge\n"
	    "gotune_info{version=\"%s\",policy_sha256=\"%s\"} 1\n",
	    GOTUNE_VERSION, sha[0] != '\0' ? sha : "none");
#undef PUT
	return n;
}

/* flock with a deadline: an update holds the lock for a read and a
 * rename, so a long wait means a stuck writer, and a container must not
 * wait on it. */
static int lock_bounded(int fd)
{
	struct timespec pause = { 0, 1000000 };
	for (unsigned waited = 0; waited < GT_COUNTERS_LOCK_MS; waited++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		nanosleep(&pause, NULL);
	}
	return -ETIMEDOUT;
}

int gt_counters_add(const char *file, enum gt_counter_kind kind, const char *entry, enum gt_outcome o,
		    const char *policy_sha256, gt_err_t *err)
{
	if ((unsigned)o >= GT_OUT_COUNT)
		return gt_error(err, EINVAL, "counters: outcome %d", (int)o);
	size_t e = 0;
	if (kind == GT_COUNT_CONTAINER) {
		while (e < N_ENTRIES && strcmp(entries[e], entry) != 0)
			e++;
		if (e == N_ENTRIES)
			return gt_error(err, EINVAL, "counters: entry %s", entry);
	} else if (kind == GT_COUNT_WORKER_SKIPPED) {
		while (e < N_WORKERS && strcmp(workers[e], entry) != 0)
			e++;
		if (e == N_WORKERS)
			return gt_error(err, EINVAL, "counters: worker %s", entry);
	}
	char dir_buf[PATH_MAX], base_buf[PATH_MAX], lock[PATH_MAX + 8];
	if (file[0] != '/' || strlen(file) >= sizeof(dir_buf))
		return gt_error(err, EINVAL, "metrics file %s: not an absolute path", file);
	snprintf(dir_buf, sizeof(dir_buf), "%s", file);
	snprintf(base_buf, sizeof(base_buf), "%s", file);
	snprintf(lock, sizeof(lock), "%s.lock", file);
	const char *dir = dirname(dir_buf), *base = basename(base_buf);
	/* The textfile collector's directory: readable by the exporter, which
	 * often runs as its own user. */
	if (gt_mkdir_p(dir, 0755, err) < 0)
		return gt_error_wrap(err, "metrics file %s", file);
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return gt_error(err, errno, "metrics directory %s", dir);
	cleanup_close int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0)
		return gt_error(err, errno, "metrics lock %s", lock);
	int r = lock_bounded(lfd);
	if (r < 0)
		return gt_error(err, -r, "metrics lock %s", lock);

	struct counts c;
	memset(&c, 0, sizeof(c));
	cleanup_buf struct gt_buf old = { 0 };
	gt_err_t rerr = NULL;
	if (gt_read_file_at(dfd, base, FILE_MAX, &old, &rerr) == 0)
		parse(old.data, &c);
	else if (rerr->errno_ != ENOENT)
		gt_log(LOG_WARNING, "metrics: %s; counting again from 0", gt_err_msg(rerr));
	gt_err_free(&rerr);
	if (kind == GT_COUNT_CONTAINER)
		c.containers[e][o]++;
	else if (kind == GT_COUNT_EXEC)
		c.exec[o]++;
	else
		c.skipped[e]++;

	char text[8192];
	size_t len = render(&c, policy_sha256 != NULL ? policy_sha256 : "", text, sizeof(text));
	if (len >= sizeof(text))
		return gt_error(err, E2BIG, "metrics text");
	/* A new file is made readable by all first: the atomic replace keeps
	 * the mode of the file it replaces (and makes new ones 0600). */
	if (old.data == NULL) {
		int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd >= 0) {
			(void)fchmod(fd, 0644);
			close(fd);
		}
	}
	/* No fsync: it made an update 1.5 ms instead of 0.15 on this
	 * machine's disk, each container waiting its turn at the lock; a
	 * crash may lose the last counts, which Prometheus reads as a reset. */
	if (gt_replace_at(dfd, base, text, len, false, err) < 0)
		return gt_error_wrap(err, "metrics file %s", file);
	return 0;	/* the lock goes with lfd */
}

void gt_counters_count(const char *file, enum gt_counter_kind kind, const char *entry, enum gt_outcome o,
		       const char *policy_sha256)
{
	if (file == NULL || file[0] == '\0')
		return;
	gt_err_t err = NULL;
	if (gt_counters_add(file, kind, entry, o, policy_sha256, &err) < 0)
		gt_log(LOG_WARNING, "%s: this %s is not counted", gt_err_msg(err),
		       kind == GT_COUNT_EXEC ? "exec" : kind == GT_COUNT_CONTAINER ? "container" : "skipped worker");
	gt_err_free(&err);
}
