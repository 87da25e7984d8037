#include "session.h"
#include "counters.h"
#include "elapsed.h"
#include "event.h"
#include "fileio.h"
#include "log.h"
#include "nri_msg.h"
#include "nri_tune.h"
#include "nri_wire.h"
#include "status.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The runtime drops a plugin that has not registered within 5 s; past
 * that, waiting longer only delays the reconnect. */
#define REGISTER_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
/* A runtime restart closes the connection, and the containers the kubelet
 * creates between the new runtime's first CRI answer and our registration
 * get no adjustment. containerd opens the NRI socket just before CRI
 * serves (2.4.2 internal/cri/server/service.go Run: nri Register, then
 * initialized), so a plugin that is dialing then is back before the
 * kubelet's next container, most of the time: after losing a registered
 * connection, dial every RECONNECT_FAST_MS for RECONNECT_FAST_FOR_MS
 * (containerd restarts in a second or two), then back off. */
#define RECONNECT_FAST_MS 100
#define RECONNECT_FAST_FOR_MS 10000
/* An answer this slow is half-way to the runtime's request timeout. */
#define SLOW_ANSWER_MS 1000
#define REGISTER_STREAM 1u

static int send_msg(int fd, uint32_t conn, uint32_t stream, enum gt_ttrpc_type type, const struct gt_pb_writer *body,
		    gt_err_t *err)
{
	cleanup_pb_writer struct gt_pb_writer out;
	gt_pb_writer_init(&out, 2 * GT_TTRPC_MSG_MAX);
	gt_wire_frames(&out, conn, stream, type, body->data, body->len);
	if (out.failed || body->failed)
		return gt_error(err, 0, "nri: message too large to send");
	return gt_write_all(fd, (const char *)out.data, out.len, err);
}

static int reply(int fd, uint32_t stream, int32_t code, const char *msg, const struct gt_pb_writer *payload,
		 gt_err_t *err)
{
	cleanup_pb_writer struct gt_pb_writer resp;
	gt_pb_writer_init(&resp, GT_TTRPC_MSG_MAX);
	gt_ttrpc_response_encode(&resp, code, msg, payload != NULL ? payload->data : NULL,
				 payload != NULL ? payload->len : 0);
	return send_msg(fd, GT_MUX_PLUGIN_CONN, stream, GT_TTRPC_RESPONSE, &resp, err);
}

static void configure(struct gt_nri_plugin *pl, const struct gt_ttrpc_request *rq, struct gt_pb_writer *out)
{
	cleanup_err gt_err_t err = NULL;
	struct gt_nri_configure c;
	if (gt_nri_configure_decode(rq->payload, rq->len, &c, &err) < 0) {
		gt_log(LOG_WARNING, "nri: Configure: %s; keeping policy %s", gt_err_msg(err), pl->policy.source);
	} else {
		pl->policy = pl->base;
		pl->from_runtime = false;
		if (c.config[0] != '\0') {
			struct gt_policy p;
			gt_policy_defaults(&p);
			if (gt_policy_parse(&p, c.config, strlen(c.config), "from the runtime's plugin config", &err) < 0) {
				gt_log(LOG_WARNING, "nri: %s; keeping policy %s", gt_err_msg(err), pl->base.source);
			} else {
				pl->policy = p;
				pl->from_runtime = true;
			}
		}
		/* The policy in force is known now: its log_file gets the
		 * start-up lines held so far (a plugin the runtime starts
		 * has no stderr to read them from). */
		gt_log_mirror_file(pl->policy.log_file);
		gt_log(LOG_INFO, "nri: configured by %s %s; policy %s", c.runtime_name[0] ? c.runtime_name : "runtime",
		       c.runtime_version, pl->policy.source);
	}
	gt_nri_configure_free(&c);
	gt_nri_configure_response_encode(out, GT_NRI_EVENTS);
}

/* Where a slow answer's time went: on a CPU, or off it because the
 * scheduler preferred others (involuntary switches) or because a call
 * blocked (voluntary ones). The operator's remedy differs: more CPU weight
 * for the first, a look at the host for the second. */
static struct rusage thread_usage(void)
{
	struct rusage ru = { 0 };
	(void)getrusage(RUSAGE_THREAD, &ru);
	return ru;
}

static double tv_ms(struct timeval a, struct timeval b)
{
	return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_usec - a.tv_usec) / 1e3;
}

static void create_container(struct gt_nri_plugin *pl, const struct gt_ttrpc_request *rq, struct gt_pb_writer *out)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	const struct rusage ru0 = thread_usage();
	cleanup_err gt_err_t err = NULL;
	struct gt_nri_create c;
	struct gt_log_event ev = { .entry = "nri", .id = "" };
	enum gt_outcome outcome = GT_OUT_PASSTHROUGH;
	struct gt_nri_tune t;
	if (gt_nri_create_decode(rq->payload, rq->len, &c, &err) == 0) {
		gt_nri_tune(&c, &pl->policy, &pl->host, &t);
		/* Each container's line says while the file is broken which
		 * policy it was decided by. */
		if (!pl->from_runtime && pl->watch.path != NULL && !pl->watch.ok)
			gt_note(&t.plan.notes, "the policy file is invalid (see the plugin's warning); decided by %s%.12s",
				pl->policy.sha256[0] ? "the last good policy, sha256 " : "the built-in defaults",
				pl->policy.sha256);
		ev.id = t.id;
		ev.plan = &t.plan;
		gt_nri_create_response_encode(out, &t.adjust);
		if (out->failed) {
			gt_error(&err, 0, "nri: adjustment too large");
			out->failed = false;
			out->len = 0;
		} else {
			outcome = gt_plan_outcome(&t.plan);
		}
	}
	if (err != NULL) {
		ev.error = gt_err_msg(err);
		outcome = GT_OUT_PASSTHROUGH;
		ev.plan = NULL;
	}
	ev.outcome = gt_outcome_name(outcome);
	ev.ms = gt_elapsed_ms(&t0);
	const bool slow = ev.ms >= SLOW_ANSWER_MS;
	const struct rusage ru1 = slow ? thread_usage() : ru0;
	gt_log_event(&ev, pl->policy.log_file);
	gt_counters_count(pl->policy.metrics_file, GT_COUNT_CONTAINER, "nri", outcome, pl->policy.sha256);
	/* Past the runtime's request timeout the plugin is dropped, and the
	 * containers created until it is back are not tuned: say where the
	 * time went (on a node starting many pods, waiting for a CPU, or, until
	 * the mount table was watched, blocked reading it). */
	if (slow)
		gt_log(LOG_WARNING,
		       "nri: %s: %.0f ms to answer (%.1f ms on a CPU; off it %ld times for another task, %ld times "
		       "blocked in a call); containerd drops a plugin that takes longer than its "
		       "plugin_request_timeout (2 s by default): give the plugin more CPU (its pod's request) or "
		       "the runtime a longer timeout",
		       ev.id[0] ? ev.id : "-", ev.ms,
		       tv_ms(ru0.ru_utime, ru1.ru_utime) + tv_ms(ru0.ru_stime, ru1.ru_stime),
		       ru1.ru_nivcsw - ru0.ru_nivcsw, ru1.ru_nvcsw - ru0.ru_nvcsw);
	gt_nri_create_free(&c);
}

/* What was said already, by container, variable and new value: the
 * kubelet sends a resize as two updates (memory, then CPU), the second
 * still naming the first's change, and may send one again. One line per
 * change is what a reader wants. A small ring: forgetting an old one
 * costs a line. */
#define SAID_MAX 64
static uint64_t said[SAID_MAX];
static size_t said_next;

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211u;
	return h;
}

static bool said_before(const char *id, const struct gt_nri_stale *st)
{
	uint64_t h = fnv1a(fnv1a(fnv1a(14695981039346656037u, id), gt_var_names[st->var]), st->now);
	for (size_t i = 0; i < SAID_MAX; i++)
		if (said[i] == h)
			return true;
	said[said_next] = h;
	said_next = (said_next + 1) % SAID_MAX;
	return false;
}

/* An in-place resize. gotune cannot change the env of a process that is
 * running: it answers with no change and says once what went stale. */
static void update_container(struct gt_nri_plugin *pl, const struct gt_ttrpc_request *rq)
{
	cleanup_err gt_err_t err = NULL;
	struct gt_nri_update u;
	char id[GT_ID_MAX], msg[1024];
	struct gt_nri_stale stale[2];
	size_t n = 0, len = 0;
	if (gt_nri_update_decode(rq->payload, rq->len, &u, &err) < 0)
		gt_log(LOG_WARNING, "nri: UpdateContainer: %s; answered with no change", gt_err_msg(err));
	else
		n = gt_nri_resize_check(&u, &pl->policy, &pl->host, id, sizeof(id), stale);
	msg[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (said_before(u.c.id, &stale[i]))
			continue;
		int w = snprintf(msg + len, sizeof(msg) - len, "%s%s=%s no longer matches the new limits (they plan %s)",
				 len > 0 ? ", " : "", gt_var_names[stale[i].var], stale[i].was, stale[i].now);
		if (w < 0 || (size_t)w >= sizeof(msg) - len)
			break;
		len += (size_t)w;
	}
	if (len > 0)
		gt_log(LOG_WARNING,
		       "nri: %s resized: %s; the running process keeps the env it started with: restart the "
		       "container to retune it (Go >= 1.25 follows a CPU limit itself where GOMAXPROCS is unset: "
		       "gomaxprocs.tracking=defer)",
		       id, msg);
	gt_nri_update_free(&u);
}

/* What a synchronization says of the containers that run: one that gotune
 * would tune and that holds no gotune record (GT_TUNE_MARK, which a plugin
 * that tuned it, or stepped aside, leaves) was created while no gotune
 * plugin was registered: before it was deployed, while the runtime
 * restarted, or after the runtime dropped it for an answer later than its
 * request timeout. Containers the runtime creates then get no adjustment,
 * and nothing else names them. Said once per synchronization, after the
 * answer (the runtime gives the whole synchronization its request timeout),
 * the first SYNC_NAMED by name. Planned without I/O: a limit only the
 * pod's cgroup holds is not seen here. */
#define SYNC_NAMED 8
static struct {
	size_t running, untuned, no_pod;
	char named[SYNC_NAMED][GT_ID_MAX + 200];
} sync_audit;

static void audit_one(void *ctx, const uint8_t *req, size_t len)
{
	const struct gt_nri_plugin *pl = ctx;
	cleanup_err gt_err_t err = NULL;
	struct gt_nri_create c;
	if (gt_nri_create_decode(req, len, &c, &err) == 0) {
		static struct gt_nri_tune t;
		struct gt_host h = pl->host;
		h.probe = false;
		gt_nri_tune(&c, &pl->policy, &h, &t);
		sync_audit.running++;
		if (t.adjust.n_env > 0 && sync_audit.untuned++ < SYNC_NAMED) {
			char *o = sync_audit.named[sync_audit.untuned - 1];
			size_t sz = sizeof(sync_audit.named[0]);
			int w = snprintf(o, sz, "%s (", t.id);
			for (size_t i = 0; i < t.adjust.n_env && w > 0 && (size_t)w < sz; i++)
				w += snprintf(o + w, sz - (size_t)w, "%s%s=%.40s", i ? " " : "", t.adjust.env[i].key,
					      t.adjust.env[i].value);
			if (w > 0 && (size_t)w < sz - 1)
				snprintf(o + w, sz - (size_t)w, ")");
		}
	}
	gt_nri_create_free(&c);
}

static void audit_sync(struct gt_nri_plugin *pl, const struct gt_ttrpc_request *rq, bool more)
{
	cleanup_err gt_err_t err = NULL;
	if (gt_nri_synchronize_each(rq->payload, rq->len, audit_one, pl, &sync_audit.no_pod, &err) < 0)
		gt_log(LOG_WARNING, "nri: Synchronize: %s", gt_err_msg(err));
	if (more)
		return;
	if (sync_audit.untuned == 0) {
		gt_log(LOG_INFO, "nri: synchronized: %zu containers run, none without what gotune plans for it%s",
		       sync_audit.running, sync_audit.no_pod ? " (some not checked: their pod came apart from them)" : "");
	} else {
		char list[SYNC_NAMED * (GT_ID_MAX + 202)];
		size_t n = 0;
		list[0] = '\0';
		for (size_t i = 0; i < sync_audit.untuned && i < SYNC_NAMED; i++) {
			int w = snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "", sync_audit.named[i]);
			if (w < 0 || (size_t)w >= sizeof(list) - n)
				break;
			n += (size_t)w;
		}
		gt_log(LOG_WARNING,
		       "nri: synchronized: %zu containers run, %zu of them without what gotune plans for them: %s%s; "
		       "they were created while no gotune plugin was registered (before it was deployed, while the "
		       "runtime restarted, or after the runtime dropped it for a late answer): restart them to tune them",
		       sync_audit.running, sync_audit.untuned, list, sync_audit.untuned > SYNC_NAMED ? ", ..." : "");
	}
	memset(&sync_audit, 0, sizeof(sync_audit));
}

/* Serves one request from the runtime. -1 only when the request cannot be
 * read as ttrpc at all: the connection is then not worth keeping. */
static int serve(struct gt_nri_plugin *pl, int fd, const struct gt_ttrpc_msg *m, gt_err_t *err)
{
	struct gt_ttrpc_request rq;
	if (gt_ttrpc_request_decode(m->payload, m->len, &rq) < 0)
		return gt_error(err, 0, "nri: malformed ttrpc request on stream %u", m->stream);
	cleanup_pb_writer struct gt_pb_writer out;
	gt_pb_writer_init(&out, GT_TTRPC_MSG_MAX - 64);

	if (!gt_pb_str_eq(rq.service, GT_NRI_PLUGIN_SERVICE)) {
		char msg[256];
		snprintf(msg, sizeof(msg), "service %.*s not implemented", (int)(rq.service.n > 128 ? 128 : rq.service.n),
			 rq.service.p ? rq.service.p : "");
		return reply(fd, m->stream, GT_CODE_UNIMPLEMENTED, msg, NULL, err);
	}
	if (gt_pb_str_eq(rq.method, "Configure")) {
		configure(pl, &rq, &out);
	} else if (gt_pb_str_eq(rq.method, "Synchronize")) {
		bool more = false;
		cleanup_err gt_err_t serr = NULL;
		if (gt_nri_synchronize_more(rq.payload, rq.len, &more, &serr) < 0)
			gt_log(LOG_WARNING, "nri: Synchronize: %s", gt_err_msg(serr));
		gt_nri_synchronize_response_encode(&out, more);
		if (reply(fd, m->stream, GT_CODE_OK, NULL, &out, err) < 0)
			return -1;
		audit_sync(pl, &rq, more);
		return 0;
	} else if (gt_pb_str_eq(rq.method, "CreateContainer")) {
		/* The policy as it is now: the next pod after a ConfigMap
		 * edit gets it, with no wait for the idle tick. */
		gt_nri_policy_check(pl);
		create_container(pl, &rq, &out);
	} else if (gt_pb_str_eq(rq.method, "Shutdown")) {
		gt_log(LOG_INFO, "nri: the runtime is shutting down");
	} else if (gt_pb_str_eq(rq.method, "UpdateContainer")) {
		update_container(pl, &rq);
	} else if (gt_pb_str_eq(rq.method, "StopContainer") || gt_pb_str_eq(rq.method, "StateChange")) {
		/* Not subscribed, but harmless to acknowledge with no change. */
	} else {
		char msg[256];
		snprintf(msg, sizeof(msg), "method %.*s not implemented by gotune",
			 (int)(rq.method.n > 128 ? 128 : rq.method.n), rq.method.p ? rq.method.p : "");
		return reply(fd, m->stream, GT_CODE_UNIMPLEMENTED, msg, NULL, err);
	}
	return reply(fd, m->stream, GT_CODE_OK, NULL, &out, err);
}

static int send_register(struct gt_nri_plugin *pl, int fd, gt_err_t *err)
{
	cleanup_pb_writer struct gt_pb_writer body;
	gt_pb_writer_init(&body, 4096);
	gt_nri_register_encode(&body, pl->name, pl->idx);
	cleanup_pb_writer struct gt_pb_writer rq;
	gt_pb_writer_init(&rq, 8192);
	gt_ttrpc_request_encode(&rq, GT_NRI_RUNTIME_SERVICE, "RegisterPlugin", body.data, body.len);
	return send_msg(fd, GT_MUX_RUNTIME_CONN, REGISTER_STREAM, GT_TTRPC_REQUEST, &rq, err);
}

/* One connection, from registration until the runtime closes it (or we
 * are told to stop). Requests on conn 1 can arrive before the answer to
 * RegisterPlugin on conn 2: one loop serves both. */
int gt_nri_session(struct gt_nri_plugin *pl, int fd, bool *registered, enum gt_nri_end *end, gt_err_t *err)
{
	*registered = false;
	memset(&sync_audit, 0, sizeof(sync_audit));
	struct gt_wire w;
	gt_wire_init(&w);
	int rc = -1;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (send_register(pl, fd, err) < 0)
		goto out;
	static uint8_t buf[65536];
	for (;;) {
		if (*pl->stop) {
			*end = GT_NRI_STOPPED;
			rc = 0;
			goto out;
		}
		/* Idle: look at the policy file every GT_NRI_WATCH_MS. */
		int timeout = GT_NRI_WATCH_MS;
		if (!*registered) {
			timeout = REGISTER_TIMEOUT_MS - (int)gt_elapsed_ms(&t0);
			if (timeout <= 0) {
				gt_error(err, 0, "nri: no answer to RegisterPlugin within %d ms", REGISTER_TIMEOUT_MS);
				goto out;
			}
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			gt_error(err, errno, "nri: poll");
			goto out;
		}
		if (n == 0) {
			if (*registered)
				gt_nri_policy_check(pl);
			continue;
		}
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0) {
			gt_error(err, errno, "nri: read");
			goto out;
		}
		if (got == 0) {
			*end = GT_NRI_CLOSED;
			rc = 0;
			goto out;
		}
		if (gt_wire_feed(&w, buf, (size_t)got, err) < 0)
			goto out;
		struct gt_ttrpc_msg m;
		int k;
		while ((k = gt_wire_next(&w, &m, err)) > 0) {
			if (m.conn == GT_MUX_PLUGIN_CONN && m.type == GT_TTRPC_REQUEST) {
				if (serve(pl, fd, &m, err) < 0)
					goto out;
			} else if (m.conn == GT_MUX_RUNTIME_CONN && m.type == GT_TTRPC_RESPONSE &&
				   m.stream == REGISTER_STREAM && !*registered) {
				struct gt_ttrpc_response r;
				if (gt_ttrpc_response_decode(m.payload, m.len, &r) < 0) {
					gt_error(err, 0, "nri: malformed RegisterPlugin response");
					goto out;
				}
				if (r.code != GT_CODE_OK) {
					gt_error(err, 0, "nri: the runtime refused plugin %s-%s: %.*s (code %d)", pl->idx,
						 pl->name, (int)(r.message.n > 200 ? 200 : r.message.n),
						 r.message.p ? r.message.p : "", r.code);
					goto out;
				}
				*registered = true;
				pl->registered = true;
				gt_log(LOG_INFO, "nri: registered as %s-%s in %ld ms", pl->idx, pl->name, (long)gt_elapsed_ms(&t0));
				gt_nri_status_write(pl);
			}
			/* Anything else (data frames, stray responses) has no
			 * meaning for a unary plugin and is dropped. */
		}
		if (k < 0)
			goto out;
	}
out:
	gt_wire_free(&w);
	if (pl->registered) {
		pl->registered = false;
		gt_nri_status_write(pl);
	}
	return rc;
}

static int dial(const char *path, gt_err_t *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return gt_error(err, 0, "nri: socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return gt_error(err, errno, "nri: socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return gt_error(err, e, "nri: connect %s", path);
	}
	return fd;
}

/* A runtime that stops reading must not hang the plugin in write(). */
static void bound_writes(int fd)
{
	struct timeval tv = { .tv_sec = 5 };
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void sleep_ms(volatile sig_atomic_t *stop, long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (!*stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int gt_nri_serve_fd(struct gt_nri_plugin *pl, int fd)
{
	cleanup_err gt_err_t err = NULL;
	bound_writes(fd);
	bool registered;
	enum gt_nri_end end = GT_NRI_CLOSED;
	int rc = gt_nri_session(pl, fd, &registered, &end, &err);
	if (rc < 0)
		gt_log(LOG_ERR, "nri: %s", gt_err_msg(err));
	else
		gt_log(LOG_INFO, "nri: %s", end == GT_NRI_STOPPED ? "stopped" : "the runtime closed the connection");
	gt_nri_status_clear(pl);
	return rc;
}

void gt_nri_run(struct gt_nri_plugin *pl, const char *socket_path)
{
	cleanup_err gt_err_t err = NULL;
	gt_log(LOG_INFO, "nri: plugin %s-%s for %s, policy %s", pl->idx, pl->name, socket_path, pl->base.source);
	long backoff = BACKOFF_MIN_MS;
	bool said_down = false;
	struct timespec lost = { 0 };
	bool fast = false;
	while (!*pl->stop) {
		gt_err_free(&err);
		int fd = dial(socket_path, &err);
		if (fd >= 0) {
			bound_writes(fd);
			bool registered = false;
			enum gt_nri_end end = GT_NRI_CLOSED;
			int rc = gt_nri_session(pl, fd, &registered, &end, &err);
			close(fd);
			if (end == GT_NRI_STOPPED)
				break;
			if (rc < 0)
				gt_log(LOG_WARNING, "nri: %s; reconnecting", gt_err_msg(err));
			else
				gt_log(LOG_INFO, "nri: the runtime closed the connection; reconnecting");
			said_down = false;
			if (registered) {
				backoff = BACKOFF_MIN_MS;
				clock_gettime(CLOCK_MONOTONIC, &lost);
				fast = true;
			}
		} else if (!said_down) {
			/* Once per outage, not once per retry. */
			gt_log(LOG_WARNING, "%s; retrying with backoff up to %d s", gt_err_msg(err), BACKOFF_MAX_MS / 1000);
			said_down = true;
		}
		if (fast && gt_elapsed_ms(&lost) < RECONNECT_FAST_FOR_MS) {
			sleep_ms(pl->stop, RECONNECT_FAST_MS);
			continue;
		}
		fast = false;
		sleep_ms(pl->stop, backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	gt_log(LOG_INFO, "nri: stopped");
	gt_nri_status_clear(pl);
}
