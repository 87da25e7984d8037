#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used when even the message cannot be allocated: errors must never be lost
 * to an out-of-memory condition, so there is always something to log. */
static char oom_msg[] = "out of memory while reporting an error";
static struct gt_err oom_err = { ENOMEM, oom_msg };

static char *vfmt(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

int gt_error(gt_err_t *err, int errno_, const char *fmt, ...)
{
	if (err == NULL || *err != NULL)
		return -1;
	struct gt_err *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		*err = &oom_err;
		return -1;
	}
	va_list ap;
	va_start(ap, fmt);
	char *m = vfmt(fmt, ap);
	va_end(ap);
	if (m != NULL && errno_ != 0) {
		char *full = NULL;
		if (asprintf(&full, "%s: %s", m, strerror(errno_)) >= 0) {
			free(m);
			m = full;
		}
	}
	e->errno_ = errno_;
	e->msg = m != NULL ? m : oom_msg;
	*err = e;
	return -1;
}

int gt_error_wrap(gt_err_t *err, const char *fmt, ...)
{
	if (err == NULL || *err == NULL || *err == &oom_err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *ctx = vfmt(fmt, ap);
	va_end(ap);
	char *full = NULL;
	if (ctx != NULL && asprintf(&full, "%s: %s", ctx, (*err)->msg) >= 0) {
		if ((*err)->msg != oom_msg)
			free((*err)->msg);
		(*err)->msg = full;
	}
	free(ctx);
	return -1;
}

void gt_err_free(gt_err_t *err)
{
	if (err == NULL || *err == NULL)
		return;
	if (*err == &oom_err) {
		*err = NULL;
		return;
	}
	if ((*err)->msg != oom_msg)
		free((*err)->msg);
	free(*err);
	*err = NULL;
}

const char *gt_err_msg(gt_err_t err)
{
	return err != NULL && err->msg != NULL ? err->msg : "unknown error";
}
