#include "log.h"
#include "cleanup.h"
#include "fileio.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

static bool use_syslog;
static bool wrapper_mode;
static const char *runtime_log;
static bool runtime_log_json;

void gt_log_init(void)
{
	struct stat st;
	use_syslog = stat("/dev/log", &st) == 0 && S_ISSOCK(st.st_mode);
	if (use_syslog)
		openlog("gotune", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void gt_log_to_stderr(void)
{
	if (use_syslog)
		closelog();
	use_syslog = false;
}

void gt_log_for_wrapper(const char *log, bool json)
{
	wrapper_mode = true;
	runtime_log = log;
	runtime_log_json = json;
}

static void utc_now(char *ts, size_t tssz)
{
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, tssz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, tssz - n, ".%03ldZ", now.tv_nsec / 1000000);
}

/* One line in the runtime's log format, so the engine's log readers (which
 * take the last error-level line as the failure reason) parse it. */
static bool to_runtime_log(int prio, const char *msg)
{
	cleanup_close int fd = open(runtime_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return false;
	const char *level = prio <= LOG_ERR ? "error" : prio == LOG_WARNING ? "warning" : "info";
	char ts[64];
	utc_now(ts, sizeof(ts));
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g == NULL)
		return false;
	const unsigned char *buf;
	size_t len;
	if (runtime_log_json) {
		yajl_gen_map_open(g);
		gt_gen_kv(g, "level", level);
		gt_gen_kv(g, "msg", msg);
		gt_gen_kv(g, "time", ts);
		yajl_gen_map_close(g);
	} else {
		gt_gen_str(g, msg); /* a quoted, escaped string for msg="..." */
	}
	bool ok = yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok;
	if (ok && runtime_log_json)
		ok = dprintf(fd, "%.*s\n", (int)len, (const char *)buf) > 0;
	else if (ok)
		ok = dprintf(fd, "time=\"%s\" level=%s msg=%.*s\n", ts, level, (int)len, (const char *)buf) > 0;
	yajl_gen_free(g);
	return ok;
}

void gt_log(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(prio, fmt, ap);
		va_end(ap);
		return;
	}
	char line[4096];
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (wrapper_mode) {
		char msg[4200];
		snprintf(msg, sizeof(msg), "gotune: %s", line);
		if (runtime_log != NULL && to_runtime_log(prio, msg))
			return;
		if (prio > LOG_WARNING)
			return;
	}
	dprintf(STDERR_FILENO, "gotune: %s\n", line);
}

/* yajl_gen_double prints %.20g: 3.0639120000000001909. Microseconds are
 * all a reader can use, in the shortest form (3.064, 0.05, 12). */
static void gen_ms(yajl_gen g, double ms)
{
	char num[32];
	if (!(ms >= 0 && ms < 1e12))
		ms = 0;
	int n = snprintf(num, sizeof(num), "%.3f", ms);
	while (n > 1 && num[n - 1] == '0')
		n--;
	if (num[n - 1] == '.')
		n--;
	yajl_gen_number(g, num, (size_t)n);
}

static void append_json(const struct gt_log_event *ev, const char *log_file)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g == NULL)
		return;
	char ts[64];
	utc_now(ts, sizeof(ts));

	yajl_gen_map_open(g);
	gt_gen_kv(g, "time", ts);
	gt_gen_kv(g, "entry", ev->entry);
	gt_gen_kv(g, "id", ev->id);
	gt_gen_kv(g, "outcome", ev->outcome);
	if (ev->error != NULL)
		gt_gen_kv(g, "error", ev->error);
	gt_gen_str(g, "ms");
	gen_ms(g, ev->ms);
	if (ev->detail != NULL)
		gt_gen_kv(g, "detail", ev->detail);
	if (ev->plan != NULL)
		gt_plan_json(ev->plan, g);
	yajl_gen_map_close(g);

	const unsigned char *buf;
	size_t len;
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok) {
		/* O_APPEND keeps concurrent hooks' lines whole; O_NOFOLLOW so a
		 * planted link cannot redirect a root-owned write. */
		cleanup_close int fd = open(log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd < 0) {
			gt_log(LOG_WARNING, "cannot open log_file %s: %s", log_file, strerror(errno));
		} else {
			char *line = malloc(len + 1);
			if (line != NULL) {
				memcpy(line, buf, len);
				line[len] = '\n';
				gt_err_t err = NULL;
				gt_write_all(fd, line, len + 1, &err);
				gt_err_free(&err);
				free(line);
			}
		}
	}
	yajl_gen_free(g);
}

void gt_log_event(const struct gt_log_event *ev, const char *log_file)
{
	char summary[2048] = "";
	if (ev->plan != NULL)
		gt_plan_summary(ev->plan, summary, sizeof(summary));
	else if (ev->detail != NULL)
		snprintf(summary, sizeof(summary), "%s", ev->detail);
	if (ev->error != NULL)
		gt_log(LOG_WARNING, "%s id=%s %s (%s) %.2fms", ev->entry, ev->id[0] ? ev->id : "-", ev->outcome,
		       ev->error, ev->ms);
	else
		gt_log(LOG_INFO, "%s id=%s %s: %s %.2fms", ev->entry, ev->id[0] ? ev->id : "-", ev->outcome, summary,
		       ev->ms);
	if (log_file != NULL && log_file[0] != '\0')
		append_json(ev, log_file);
}
