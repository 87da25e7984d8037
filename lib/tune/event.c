#include "event.h"
#include "cleanup.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

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
	gt_log_time(ts, sizeof(ts));

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
		cleanup_close int fd = open(log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
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
	if (ev->plan != NULL) {
		gt_plan_summary(ev->plan, summary, sizeof(summary));
		size_t n = strlen(summary);
		if (ev->detail != NULL)
			snprintf(summary + n, sizeof(summary) - n, "; %s", ev->detail);
	} else if (ev->detail != NULL)
		snprintf(summary, sizeof(summary), "%s", ev->detail);
	/* A line with something wrong in it is a warning: an operator who
	 * filters on level must see a misspelled annotation or a bad value. */
	bool noted = ev->plan != NULL && (ev->plan->notes.n > 0 || ev->plan->notes.dropped > 0);
	if (ev->error != NULL)
		gt_log_unmirrored(LOG_WARNING, "%s id=%s %s (%s) %.2fms", ev->entry, ev->id[0] ? ev->id : "-", ev->outcome,
		       ev->error, ev->ms);
	else
		gt_log_unmirrored(noted ? LOG_WARNING : LOG_INFO, "%s id=%s %s: %s %.2fms", ev->entry,
				  ev->id[0] ? ev->id : "-", ev->outcome, summary, ev->ms);
	if (log_file != NULL && log_file[0] != '\0')
		append_json(ev, log_file);
}
