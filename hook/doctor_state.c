/* doctor: gotune's own state. The state directory (profiles, and the log
 * without syslog), where lines go, the counters file, and the decisions
 * logged since --since, counted by entry point and outcome from the
 * policy's log_file (JSON lines) or, without syslog, STATE/gotune.log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "json.h"
#include "log.h"
#include "statedir.h"

static const char s[] = "state";
#define TAIL_MAX (4u << 20)	/* of a log read for decisions */

/* The last TAIL_MAX bytes of a file under the root, from a line start. */
static int tail(const struct doctor *d, const char *path, struct gt_buf *out)
{
	gt_err_t err = NULL;
	struct stat st;
	int fd = gt_rootfs_open_regular(&d->root, path, &st, &err);
	gt_err_free(&err);
	if (fd < 0)
		return -1;
	off_t from = st.st_size > (off_t)TAIL_MAX ? st.st_size - (off_t)TAIL_MAX : 0;
	int r = lseek(fd, from, SEEK_SET) == from ? gt_read_fd(fd, TAIL_MAX + 1, out, &err) : -1;
	gt_err_free(&err);
	close(fd);
	if (r < 0) {
		gt_buf_free(out);
		return -1;
	}
	if (from > 0) {
		char *nl = memchr(out->data, '\n', out->len);
		size_t skip = nl != NULL ? (size_t)(nl - out->data) + 1 : out->len;
		memmove(out->data, out->data + skip, out->len - skip + 1);
		out->len -= skip;
	}
	return 0;
}

static time_t parse_ts(const char *ts)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if (strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
		return (time_t)-1;
	return timegm(&tm);
}

static void count(struct doctor *d, const char *entry, const char *outcome, const char *line)
{
	size_t i = 0;
	while (i < d->n_counts && !(strcmp(d->counts[i].entry, entry) == 0 && strcmp(d->counts[i].outcome, outcome) == 0))
		i++;
	if (i == d->n_counts) {
		if (i == sizeof(d->counts) / sizeof(d->counts[0]))
			return;
		/* keep each entry's outcomes together */
		size_t at = d->n_counts;
		for (size_t k = 0; k < d->n_counts; k++)
			if (strcmp(d->counts[k].entry, entry) == 0)
				at = k + 1;
		memmove(&d->counts[at + 1], &d->counts[at], (d->n_counts - at) * sizeof(d->counts[0]));
		snprintf(d->counts[at].entry, sizeof(d->counts[at].entry), "%s", entry);
		snprintf(d->counts[at].outcome, sizeof(d->counts[at].outcome), "%s", outcome);
		d->counts[at].n = 0;
		d->n_counts++;
		i = at;
	}
	d->counts[i].n++;
	if (d->n_last == 5) {
		memmove(d->last[0], d->last[1], sizeof(d->last[0]) * 4);
		d->n_last = 4;
	}
	snprintf(d->last[d->n_last++], sizeof(d->last[0]), "%s", line);
}

/* One object per decision: {"time","entry","id","outcome","error"?...}. */
static void from_json(struct doctor *d, const char *text)
{
	for (const char *p = text; *p != '\0';) {
		size_t n = strcspn(p, "\n");
		if (n > 0 && n < (1u << 20)) {
			char *line = strndup(p, n);
			yajl_val tree = NULL;
			gt_err_t err = NULL;
			if (line != NULL && gt_json_parse(line, n, "log_file", &tree, &err) == 0) {
				yajl_val t = NULL, e = NULL, id = NULL, o = NULL, er = NULL;
				gt_json_get(tree, "time", &t);
				gt_json_get(tree, "entry", &e);
				gt_json_get(tree, "id", &id);
				gt_json_get(tree, "outcome", &o);
				gt_json_get(tree, "error", &er);
				if (YAJL_IS_STRING(t) && YAJL_IS_STRING(e) && YAJL_IS_STRING(o) &&
				    parse_ts(YAJL_GET_STRING(t)) >= d->since) {
					char sum[700];
					snprintf(sum, sizeof(sum), "%s %s id=%.100s %s%s%.300s%s", YAJL_GET_STRING(t),
						 YAJL_GET_STRING(e), YAJL_IS_STRING(id) ? YAJL_GET_STRING(id) : "-",
						 YAJL_GET_STRING(o), YAJL_IS_STRING(er) ? " (" : "",
						 YAJL_IS_STRING(er) ? YAJL_GET_STRING(er) : "", YAJL_IS_STRING(er) ? ")" : "");
					count(d, YAJL_GET_STRING(e), YAJL_GET_STRING(o), sum);
				}
			}
			yajl_tree_free(tree);
			gt_err_free(&err);
			free(line);
		}
		p += n;
		if (*p == '\n')
			p++;
	}
}

/* The fallback log: "TIME gotune[PID] LEVEL: ENTRY id=ID OUTCOME...". */
static void from_text(struct doctor *d, const char *text)
{
	for (const char *p = text; *p != '\0';) {
		size_t n = strcspn(p, "\n");
		char line[1024], ts[40], level[16], entry[32], id[256], outcome[32];
		if (n > 0 && n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			int used = 0;
			if (sscanf(line, "%39s gotune[%*d] %15[a-z]: %31[a-z-] id=%255s %31[a-z]%n", ts, level, entry, id,
				   outcome, &used) == 5 &&
			    parse_ts(ts) >= d->since) {
				char sum[700];
				snprintf(sum, sizeof(sum), "%s %s id=%.100s %s%.300s", ts, entry, id, outcome, line + used);
				count(d, entry, outcome, sum);
			}
		}
		p += n;
		if (*p == '\n')
			p++;
	}
}

static void metrics(struct doctor *d, const char *file)
{
	cleanup_buf struct gt_buf buf = { 0 };
	cleanup_err gt_err_t err = NULL;
	if (doctor_read(d, file, &buf, &err) < 0) {
		doctor_say(d, s, err->errno_ == ENOENT ? DOCTOR_INFO : DOCTOR_WARN, "counters %s: %s", file,
			   err->errno_ == ENOENT ? "not written yet (on the first container)" : gt_err_msg(err));
		return;
	}
	unsigned long total[5] = { 0 }, exec = 0;
	static const char *const outs[] = { "tuned", "kept", "skipped", "audit", "passthrough" };
	for (const char *p = buf.data; *p != '\0';) {
		size_t n = strcspn(p, "\n");
		char line[256], o[32];
		unsigned long v;
		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = '\0';
			if (sscanf(line, "gotune_containers_total{entry=\"%*[a-z-]\",outcome=\"%31[a-z]\"} %lu", o, &v) == 2) {
				for (int k = 0; k < 5; k++)
					if (strcmp(o, outs[k]) == 0)
						total[k] += v;
			} else if (sscanf(line, "gotune_exec_total{outcome=\"%31[a-z]\"} %lu", o, &v) == 2) {
				exec += v;
			}
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	doctor_say(d, s, DOCTOR_OK, "counters %s: containers tuned %lu, kept %lu, skipped %lu, audit %lu, "
		   "passthrough %lu; exec %lu", file, total[0], total[1], total[2], total[3], total[4], exec);
}

void doctor_state(struct doctor *d)
{
	gt_err_t err = NULL;
	int fd = gt_rootfs_resolve(&d->root, GT_STATE_DIR, &err);
	gt_err_free(&err);
	struct stat st;
	if (fd < 0) {
		doctor_say(d, s, DOCTOR_INFO, "%s: not there yet; the hooks create it (0700) on first use", GT_STATE_DIR);
	} else if (fstat(fd, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			doctor_say(d, s, DOCTOR_ERROR, "%s is not a directory: profiles and the fallback log cannot be kept",
				   GT_STATE_DIR);
		else if ((st.st_mode & 077) != 0 || st.st_uid != 0)
			doctor_say(d, s, DOCTOR_WARN, "%s: mode %o, owner %u: it should be root's alone (0700): it holds "
				   "what containers touched and gotune's lines", GT_STATE_DIR, st.st_mode & 07777, st.st_uid);
		else
			doctor_say(d, s, DOCTOR_OK, "%s: root's, 0700", GT_STATE_DIR);
	}
	if (fd >= 0)
		close(fd);

	bool syslog = false;
	fd = gt_rootfs_resolve(&d->root, "/dev/log", &err);
	gt_err_free(&err);
	if (fd >= 0) {
		syslog = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
		close(fd);
	}
	const struct gt_policy *p = &d->policy;
	doctor_say(d, s, DOCTOR_OK, "lines go to %s%s%s%s", syslog ? "syslog (/dev/log)" : GT_LOG_FALLBACK " (no /dev/log)",
		   "; the wrapper's also to the runtime's --log file", p->log_file[0] ? "; decisions to log_file " : "",
		   p->log_file);
	if (p->metrics_file[0] != '\0')
		metrics(d, p->metrics_file);
	else
		doctor_say(d, s, DOCTOR_INFO, "no counters (policy metrics.file)");

	cleanup_buf struct gt_buf buf = { 0 };
	if (p->log_file[0] != '\0' && tail(d, p->log_file, &buf) == 0) {
		doctor_copy(d->decisions_from, sizeof(d->decisions_from), p->log_file);
		from_json(d, buf.data);
	} else if (!syslog) {
		snprintf(d->decisions_from, sizeof(d->decisions_from), "%s", GT_LOG_FALLBACK);
		struct gt_buf old = { 0 };
		if (tail(d, GT_LOG_FALLBACK ".1", &old) == 0)
			from_text(d, old.data);
		gt_buf_free(&old);
		if (tail(d, GT_LOG_FALLBACK, &buf) == 0)
			from_text(d, buf.data);
	} else {
		doctor_say(d, s, DOCTOR_INFO, "decisions go to syslog only: set log_file in the policy to count them here");
	}
}
