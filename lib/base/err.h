/* Error object, one idiom for the whole project (after crun's libcrun_error_t):
 * a failing function returns a negative value and fills *err, the caller
 * either handles it or adds context with gt_error_wrap() and returns. */
#ifndef GOTUNE_ERR_H
#define GOTUNE_ERR_H

#include <stdarg.h>

struct gt_err {
	int errno_;	/* errno captured where the failure happened, or 0 */
	char *msg;	/* full message, context first: "read config.json: No such file" */
};
typedef struct gt_err *gt_err_t;

/* Sets *err (if err is not NULL and *err is unset) and returns -1.
 * errno_ != 0 appends strerror(errno_). */
int gt_error(gt_err_t *err, int errno_, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefixes "context: " to an existing error; returns -1. */
int gt_error_wrap(gt_err_t *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void gt_err_free(gt_err_t *err);

/* Message of an error, or "unknown error" when none was set. */
const char *gt_err_msg(gt_err_t err);

static inline void gt_err_cleanup(gt_err_t *err) { gt_err_free(err); }
#define cleanup_err __attribute__((cleanup(gt_err_cleanup)))

#endif
