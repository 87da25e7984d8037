#include "log.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

static bool use_syslog;
static bool use_fallback;
static bool wrapper_mode;
static const char *runtime_log;
static bool runtime_log_json;

void gt_log_init(void)
{
	struct stat st;
	use_syslog = stat("/dev/log", &st) == 0 && S_ISSOCK(st.st_mode);
	if (use_syslog)
		openlog("gotune", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	/* runc hides a hook's stderr, Podman discards it, and a detached
	 * worker has none: without syslog a line would reach nobody. */
	use_fallback = !use_syslog;
}

void gt_log_to_stderr(void)
{
	if (use_syslog)
		closelog();
	use_syslog = false;
	use_fallback = false;
}

void gt_log_release(void)
{
	if (!use_syslog)
		return;
	closelog();
	openlog("gotune", LOG_PID, LOG_DAEMON); /* no LOG_NDELAY: connects at the next line */
}

void gt_log_for_wrapper(const char *log, bool json)
{
	wrapper_mode = true;
	runtime_log = log;
	runtime_log_json = json;
}

/* Days since 1970-01-01 to a civil date, proleptic Gregorian (H. Hinnant's
 * civil_from_days). gmtime_r is not used: glibc's runs tzset, which opens
 * and reads /etc/localtime (seven calls) before every line, and the
 * tuning child's line is in the runtime's path. */
static void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	unsigned doe = (unsigned)(days - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void gt_log_time_at(const struct timespec *t, char *ts, size_t tssz)
{
	int64_t days = t->tv_sec / 86400, secs = t->tv_sec % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	int64_t y;
	unsigned mon, d;
	civil_from_days(days, &y, &mon, &d);
	snprintf(ts, tssz, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03ldZ", y, mon, d, (unsigned)(secs / 3600),
		 (unsigned)(secs % 3600 / 60), (unsigned)(secs % 60), t->tv_nsec / 1000000);
}

void gt_log_time(char *ts, size_t tssz)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	gt_log_time_at(&now, ts, tssz);
}

static const char *level_name(int prio)
{
	return prio <= LOG_ERR ? "error" : prio == LOG_WARNING ? "warning" : "info";
}

/* One line in the runtime's log format, so the engine's log readers (which
 * take the last error-level line as the failure reason) parse it. */
static bool to_runtime_log(int prio, const char *msg)
{
	cleanup_close int fd = open(runtime_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
	if (fd < 0)
		return false;
	const char *level = level_name(prio);
	char ts[64];
	gt_log_time(ts, sizeof(ts));
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

/* The file is opened for each line (a hook writes one or two) and never
 * followed through a link; past GT_LOG_FALLBACK_MAX it becomes .1, so the
 * two together stay bounded. The flock makes one writer rotate; the others
 * write on and never wait for it. Every log file is opened O_NONBLOCK: a
 * FIFO nobody reads must not hold a hook (ENXIO instead). */
static int open_fallback(void)
{
	int fd = open(GT_LOG_FALLBACK, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0 && errno == ENOENT) {
		gt_err_t err = NULL;
		gt_mkdir_p(GT_STATE_DIR, 0700, &err);
		gt_err_free(&err);
		fd = open(GT_LOG_FALLBACK, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	}
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_size < GT_LOG_FALLBACK_MAX)
		return fd;
	struct stat now;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && lstat(GT_LOG_FALLBACK, &now) == 0 && now.st_ino == st.st_ino &&
	    now.st_dev == st.st_dev)
		rename(GT_LOG_FALLBACK, GT_LOG_FALLBACK ".1");
	close(fd); /* and the lock: the next writer opens the new file */
	return open(GT_LOG_FALLBACK, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
}

static void to_fallback(int prio, const char *line)
{
	cleanup_close int fd = open_fallback();
	if (fd < 0)
		return;
	char ts[64];
	gt_log_time(ts, sizeof(ts));
	dprintf(fd, "%s gotune[%d] %s: %s\n", ts, (int)getpid(), level_name(prio), line);
}

/* Daemon lines copied to a file (see gt_log_mirror); until it is known,
 * the first few are held. */
#define HELD_MAX 32
static const char *mirror_entry;
static char mirror_file[4096];
static bool mirror_holding;
static struct {
	int prio;
	char *line;
	char ts[64];
} held[HELD_MAX];
static size_t n_held;

static void mirror_write(int prio, const char *line, const char *ts)
{
	cleanup_close int fd = open(mirror_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
	if (fd < 0)
		return;
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g == NULL)
		return;
	yajl_gen_map_open(g);
	gt_gen_kv(g, "time", ts);
	gt_gen_kv(g, "entry", mirror_entry);
	gt_gen_kv(g, "level", level_name(prio));
	gt_gen_kv(g, "msg", line);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	if (yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		(void)dprintf(fd, "%.*s\n", (int)len, (const char *)buf);
	yajl_gen_free(g);
}

static void mirror(int prio, const char *line)
{
	char ts[64];
	gt_log_time(ts, sizeof(ts));
	if (mirror_file[0] != '\0') {
		mirror_write(prio, line, ts);
	} else if (mirror_holding && n_held < HELD_MAX) {
		char *copy = strdup(line);
		if (copy == NULL)
			return;
		held[n_held].prio = prio;
		held[n_held].line = copy;
		snprintf(held[n_held].ts, sizeof(held[n_held].ts), "%s", ts);
		n_held++;
	}
}

void gt_log_mirror(const char *entry)
{
	mirror_entry = entry;
	mirror_holding = true;
}

void gt_log_mirror_file(const char *path)
{
	if (mirror_entry == NULL)
		return;
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(mirror_file)) {
		mirror_file[0] = '\0';
	} else {
		memcpy(mirror_file, path, strlen(path) + 1);
		for (size_t i = 0; i < n_held; i++)
			mirror_write(held[i].prio, held[i].line, held[i].ts);
	}
	/* Held lines are written once, or never: the first answer is final. */
	for (size_t i = 0; i < n_held; i++)
		free(held[i].line);
	n_held = 0;
	mirror_holding = false;
}

static void log_line(int prio, bool to_mirror, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

void gt_log(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line(prio, true, fmt, ap);
	va_end(ap);
}

size_t gt_log_escape(const char *in, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	if (outsz == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)in; *p != '\0';) {
		char rep[8];
		size_t n = 0, take = 1;
		unsigned char c = *p;
		/* A valid UTF-8 sequence of 2 to 4 bytes stands as it is, but
		 * for the C1 controls (U+0080..U+009F: C2 80..C2 9F), which some
		 * terminals take as ESC sequences. */
		size_t seq = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		for (size_t k = 1; k < seq; k++)
			if ((p[k] & 0xc0) != 0x80)
				seq = 0;
		if (seq == 2 && c == 0xc2 && p[1] <= 0x9f)
			seq = 0;
		if (c == '\\') {
			memcpy(rep, "\\\\", 2);
			n = 2;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			rep[0] = '\\';
			rep[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			n = 2;
		} else if (c < 0x20 || c == 0x7f || (c >= 0x80 && seq == 0)) {
			rep[0] = '\\';
			rep[1] = 'x';
			rep[2] = hex[c >> 4];
			rep[3] = hex[c & 15];
			n = 4;
		} else {
			take = c >= 0x80 ? seq : 1;
			memcpy(rep, p, take);
			n = take;
		}
		if (o + n >= outsz)
			break; /* cut between escapes, never inside one */
		memcpy(out + o, rep, n);
		o += n;
		p += take;
	}
	out[o] = '\0';
	return o;
}

static void log_line(int prio, bool to_mirror, const char *fmt, va_list ap)
{
	/* Every line is escaped here, whatever it quotes (an annotation, a
	 * path in an image, a container's name): a newline in a value must
	 * not start a line of its own that looks like one of ours, nor an
	 * ESC sequence reach the terminal of whoever reads the log. The
	 * JSON copies (mirror, runtime --log, log_file) are escaped by
	 * yajl and take the raw text. */
	char line[4096], safe[4 * sizeof(line)];
	vsnprintf(line, sizeof(line), fmt, ap);
	if (mirror_entry != NULL && to_mirror)
		mirror(prio, line);
	gt_log_escape(line, safe, sizeof(safe));
	if (use_syslog) {
		syslog(prio, "%s", safe);
		return;
	}
	if (use_fallback)
		to_fallback(prio, safe);
	if (wrapper_mode) {
		char msg[sizeof(line) + 16];
		snprintf(msg, sizeof(msg), "gotune: %s", line);
		if (runtime_log != NULL && to_runtime_log(prio, msg))
			return;
		if (prio > LOG_WARNING)
			return;
	}
	dprintf(STDERR_FILENO, "gotune: %s\n", safe);
}

void gt_log_unmirrored(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line(prio, false, fmt, ap);
	va_end(ap);
}
