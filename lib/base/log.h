/* Where gotune says what it did: syslog when /dev/log exists (Podman drops
 * a precreate hook's stderr), else stderr and the fallback file in the
 * state directory; never stdout, which carries the spec in precreate mode.
 * Optionally a JSON-lines file from the policy. */
#ifndef GOTUNE_LOG_H
#define GOTUNE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>
#include <time.h>

#include "statedir.h"

/* Without syslog, every line also goes to this file (the policy may be
 * the very thing that is broken, so it does not name it), at most this
 * large before it is moved to GT_LOG_FALLBACK ".1". */
#define GT_LOG_FALLBACK GT_STATE_DIR "/gotune.log"
#define GT_LOG_FALLBACK_MAX (1 << 20)

void gt_log_init(void);

/* Forces stderr alone (the CLI's interactive commands). */
void gt_log_to_stderr(void);

/* Lets go of the syslog socket, which then connects again at the next
 * line: a process about to close every fd calls it first, or syslog(3)
 * would send on (and on failure close) whatever file next gets its
 * number. */
void gt_log_release(void);

/* Wrapper mode: the runtime's stderr becomes the container's, so without
 * syslog our lines go to the runtime's own --log file, in its format (JSON
 * or logfmt), or, when there is none, only warnings and errors go to
 * stderr. */
void gt_log_for_wrapper(const char *runtime_log, bool json);

void gt_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A daemon whose stderr goes nowhere (an NRI plugin the runtime starts)
 * copies its lines to the policy's log_file as JSON objects with this
 * entry, level and msg. The file is named only once the policy is known:
 * until gt_log_mirror_file, the first lines are held; a NULL or "" file
 * drops them. */
void gt_log_mirror(const char *entry);
void gt_log_mirror_file(const char *path);

/* A line for syslog / stderr / the fallback log that is not copied to the
 * mirror (a caller that writes its own JSON to log_file). */
void gt_log_unmirrored(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* in with every control character escaped, as every line is before it
 * reaches syslog, stderr or the fallback log: \n \r \t, \\ for a
 * backslash, \xNN for other bytes below 0x20, DEL, the C1 controls and
 * bytes that are not UTF-8. Cut at outsz, between escapes; returns the
 * length. Room for 4x the input is enough. */
size_t gt_log_escape(const char *in, char *out, size_t outsz);

/* UTC now, as the JSON lines write it: 2026-12-07T12:20:11.219Z. */
void gt_log_time(char *ts, size_t tssz);
/* The same for time t (CLOCK_REALTIME). */
void gt_log_time_at(const struct timespec *t, char *ts, size_t tssz);

#endif
