/* `gotune-hook nri`: a long-running NRI plugin. The runtime asks it about
 * every container it creates (containerd >= 1.7, CRI-O >= 1.26) and gets an
 * env adjustment from the same plan as every other entry point. It never
 * fails a container: any problem of ours is an empty adjustment and a log
 * line. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "hook.h"
#include "hostinfo.h"
#include "event.h"
#include "log.h"
#include "nri_msg.h"
#include "nri_tune.h"
#include "nri_wire.h"

#define DEFAULT_SOCKET "/var/run/nri/nri.sock"
#define DEFAULT_NAME "gotune"
#define DEFAULT_IDX "50"
/* The runtime drops a plugin that has not registered within 5 s; past
 * that, waiting longer only delays the reconnect. */
#define REGISTER_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define REGISTER_STREAM 1u

static const char usage[] =
	"usage: gotune-hook nri [--socket PATH] [--name NAME] [--idx NN] [--policy FILE]\n"
	"\n"
	"Runs as an NRI plugin: registers with the container runtime and, for every container it\n"
	"creates, adds GOMAXPROCS / GOMEMLIMIT (and GOGC / GODEBUG by policy) that the container\n"
	"does not set itself. The policy is the runtime's plugin config when it sends one, else\n"
	"the policy file. Runs until SIGTERM; reconnects with backoff when the runtime restarts.\n"
	"Started by the runtime from its plugin dir (NRI_PLUGIN_SOCKET set), it serves the\n"
	"connection it was given and exits when the runtime closes it.\n"
	"\n"
	"  --socket PATH   the runtime's NRI socket (default " DEFAULT_SOCKET ")\n"
	"  --name NAME     plugin name (default " DEFAULT_NAME ")\n"
	"  --idx NN        two-digit plugin index; lower runs first (default " DEFAULT_IDX ")\n"
	"  --policy FILE   policy file (default $GOTUNE_POLICY, else /etc/gotune/policy.json)\n";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct plugin {
	const char *name, *idx;
	struct gt_policy base;		/* from the policy file */
	struct gt_policy policy;	/* what is in force: base, or the runtime's config */
	struct gt_host host;
};

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

static void configure(struct plugin *pl, const struct gt_ttrpc_request *rq, struct gt_pb_writer *out)
{
	cleanup_err gt_err_t err = NULL;
	struct gt_nri_configure c;
	if (gt_nri_configure_decode(rq->payload, rq->len, &c, &err) < 0) {
		gt_log(LOG_WARNING, "nri: Configure: %s; keeping policy %s", gt_err_msg(err), pl->policy.source);
	} else {
		pl->policy = pl->base;
		if (c.config[0] != '\0') {
			struct gt_policy p;
			gt_policy_defaults(&p);
			if (gt_policy_parse(&p, c.config, strlen(c.config), "from the runtime's plugin config", &err) < 0)
				gt_log(LOG_WARNING, "nri: %s; keeping policy %s", gt_err_msg(err), pl->base.source);
			else
				pl->policy = p;
		}
		/* The policy in force is known now: its log_file gets the
		 * start-up lines held so far (a plugin the runtime starts
		 * has no stderr to read them from). */
		gt_log_mirror_file(pl->policy.log_file);
		gt_log(LOG_INFO, "nri: configured by %s %s; policy %s", c.runtime_name[0] ? c.runtime_name : "runtime",
		       c.runtime_version, pl->policy.source);
	}
	gt_nri_configure_free(&c);
	gt_nri_configure_response_encode(out, GT_NRI_MASK(GT_NRI_EVENT_CREATE_CONTAINER));
}

static void create_container(struct plugin *pl, const struct gt_ttrpc_request *rq, struct gt_pb_writer *out)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cleanup_err gt_err_t err = NULL;
	struct gt_nri_create c;
	struct gt_log_event ev = { .entry = "nri", .id = "", .outcome = "unchanged" };
	struct gt_nri_tune t;
	if (gt_nri_create_decode(rq->payload, rq->len, &c, &err) == 0) {
		gt_nri_tune(&c, &pl->policy, &pl->host, &t);
		ev.id = t.id;
		ev.plan = &t.plan;
		gt_nri_create_response_encode(out, &t.adjust);
		if (out->failed) {
			gt_error(&err, 0, "nri: adjustment too large");
			out->failed = false;
			out->len = 0;
		} else if (t.adjust.n_env > 0) {
			ev.outcome = "tuned";
		}
	}
	if (err != NULL) {
		ev.error = gt_err_msg(err);
		ev.outcome = "passthrough";
		ev.plan = NULL;
	}
	ev.ms = hook_elapsed_ms(&t0);
	gt_log_event(&ev, pl->policy.log_file);
	gt_nri_create_free(&c);
}

/* Serves one request from the runtime. -1 only when the request cannot be
 * read as ttrpc at all: the connection is then not worth keeping. */
static int serve(struct plugin *pl, int fd, const struct gt_ttrpc_msg *m, gt_err_t *err)
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
	} else if (gt_pb_str_eq(rq.method, "CreateContainer")) {
		create_container(pl, &rq, &out);
	} else if (gt_pb_str_eq(rq.method, "Shutdown")) {
		gt_log(LOG_INFO, "nri: the runtime is shutting down");
	} else if (gt_pb_str_eq(rq.method, "UpdateContainer") || gt_pb_str_eq(rq.method, "StopContainer") ||
		   gt_pb_str_eq(rq.method, "StateChange")) {
		/* Not subscribed, but harmless to acknowledge with no change. */
	} else {
		char msg[256];
		snprintf(msg, sizeof(msg), "method %.*s not implemented by gotune",
			 (int)(rq.method.n > 128 ? 128 : rq.method.n), rq.method.p ? rq.method.p : "");
		return reply(fd, m->stream, GT_CODE_UNIMPLEMENTED, msg, NULL, err);
	}
	return reply(fd, m->stream, GT_CODE_OK, NULL, &out, err);
}

static int send_register(struct plugin *pl, int fd, gt_err_t *err)
{
	cleanup_pb_writer struct gt_pb_writer body;
	gt_pb_writer_init(&body, 4096);
	gt_nri_register_encode(&body, pl->name, pl->idx);
	cleanup_pb_writer struct gt_pb_writer rq;
	gt_pb_writer_init(&rq, 8192);
	gt_ttrpc_request_encode(&rq, GT_NRI_RUNTIME_SERVICE, "RegisterPlugin", body.data, body.len);
	return send_msg(fd, GT_MUX_RUNTIME_CONN, REGISTER_STREAM, GT_TTRPC_REQUEST, &rq, err);
}

static long ms_since(const struct timespec *t0)
{
	return (long)hook_elapsed_ms(t0);
}

enum session_end { END_CLOSED, END_STOPPED };

/* One connection, from registration until the runtime closes it (or we
 * are told to stop). Requests on conn 1 can arrive before the answer to
 * RegisterPlugin on conn 2: one loop serves both. */
static int session(struct plugin *pl, int fd, bool *registered, enum session_end *end, gt_err_t *err)
{
	*registered = false;
	struct gt_wire w;
	gt_wire_init(&w);
	int rc = -1;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (send_register(pl, fd, err) < 0)
		goto out;
	static uint8_t buf[65536];
	for (;;) {
		if (stop) {
			*end = END_STOPPED;
			rc = 0;
			goto out;
		}
		int timeout = -1;
		if (!*registered) {
			timeout = REGISTER_TIMEOUT_MS - (int)ms_since(&t0);
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
		if (n == 0)
			continue;
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0) {
			gt_error(err, errno, "nri: read");
			goto out;
		}
		if (got == 0) {
			*end = END_CLOSED;
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
				gt_log(LOG_INFO, "nri: registered as %s-%s in %ld ms", pl->idx, pl->name, ms_since(&t0));
			}
			/* Anything else (data frames, stray responses) has no
			 * meaning for a unary plugin and is dropped. */
		}
		if (k < 0)
			goto out;
	}
out:
	gt_wire_free(&w);
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

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (!stop && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The plugin needs no privilege after start: the socket is root's and we
 * are root by uid. Dropping every capability limits what a bug in the
 * request decoder could be turned into. */
static void drop_privileges(const struct gt_policy *p)
{
	if (!p->confine)
		return;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		gt_log(LOG_WARNING, "nri: no_new_privs: %s", strerror(errno));
	cap_t none = cap_init();
	if (none == NULL || cap_set_proc(none) < 0)
		gt_log(LOG_WARNING, "nri: dropping capabilities: %s", strerror(errno));
	if (none != NULL)
		cap_free(none);
}

static bool valid_idx(const char *s)
{
	return strlen(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9';
}

int cmd_nri(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "name", required_argument, NULL, 'n' },
		{ "idx", required_argument, NULL, 'i' },    { "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	const char *socket_path = DEFAULT_SOCKET, *policy_path = NULL;
	struct plugin pl = { .name = DEFAULT_NAME, .idx = DEFAULT_IDX };
	/* Started by the runtime: it names us and hands over a connected fd. */
	const char *env_fd = secure_getenv("NRI_PLUGIN_SOCKET");
	const char *env_name = secure_getenv("NRI_PLUGIN_NAME"), *env_idx = secure_getenv("NRI_PLUGIN_IDX");
	if (env_idx != NULL && env_idx[0] != '\0')
		pl.idx = env_idx;
	if (env_name != NULL && env_name[0] != '\0') {
		/* NRI up to v0.4 (containerd 1.7, CRI-O 1.26) passes the file
		 * name, index included ("50-gotune"); later versions the name
		 * alone. Registered as both, it read "50-50-gotune". */
		size_t n = strlen(pl.idx);
		pl.name = strncmp(env_name, pl.idx, n) == 0 && env_name[n] == '-' && env_name[n + 1] != '\0'
				  ? env_name + n + 1
				  : env_name;
	}
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_path = optarg;
			break;
		case 'n':
			pl.name = optarg;
			break;
		case 'i':
			pl.idx = optarg;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc || !valid_idx(pl.idx) || pl.name[0] == '\0' || strchr(pl.name, '/') != NULL) {
		fprintf(stderr, "gotune-hook nri: %s\n%s",
			optind < argc ? "unexpected argument" : "--idx must be two digits and --name a plain name",
			usage);
		return 2;
	}
	/* A daemon's log is its stderr (the DaemonSet's container log). A
	 * plugin the runtime starts has stderr on /dev/null (NRI v0.4):
	 * it keeps the default, syslog when there is one. */
	if (env_fd == NULL || env_fd[0] == '\0')
		gt_log_to_stderr();
	gt_log_mirror("nri");

	cleanup_err gt_err_t err = NULL;
	gt_policy_defaults(&pl.base);
	if (hook_load_policy(policy_path, &pl.base, &err) < 0) {
		/* Started by the runtime, a plugin that does not register
		 * stops every plugin start on NRI <= v0.6, and containerd
		 * with it: register with the defaults (the runtime's config,
		 * if any, still applies) and say why. A DaemonSet's plugin
		 * exits, and the bad policy shows in its restarts. */
		if (env_fd == NULL || env_fd[0] == '\0') {
			fprintf(stderr, "gotune-hook nri: %s\n", gt_err_msg(err));
			return 1;
		}
		gt_log(LOG_WARNING, "nri: %s; using the built-in defaults", gt_err_msg(err));
		gt_err_free(&err);
		gt_policy_defaults(&pl.base);
	}
	pl.policy = pl.base;
	gt_host_init(&pl.host);
	/* The plugin's own affinity says nothing of the runtime's, and the
	 * containers' cgroups are the runtime's to read. */
	pl.host.affinity = 0;
	if (pl.base.log_file[0] != '\0')
		gt_log_mirror_file(pl.base.log_file);

	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART: poll returns */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	drop_privileges(&pl.base);

	if (env_fd != NULL && env_fd[0] != '\0') {
		char *tail;
		long fd = strtol(env_fd, &tail, 10);
		if (*tail != '\0' || fd < 0 || fd > 65535) {
			fprintf(stderr, "gotune-hook nri: NRI_PLUGIN_SOCKET=%s is not a file descriptor\n", env_fd);
			return 1;
		}
		bound_writes((int)fd);
		bool registered;
		enum session_end end = END_CLOSED;
		int rc = session(&pl, (int)fd, &registered, &end, &err);
		if (rc < 0)
			gt_log(LOG_ERR, "nri: %s", gt_err_msg(err));
		else
			gt_log(LOG_INFO, "nri: %s", end == END_STOPPED ? "stopped" : "the runtime closed the connection");
		return rc < 0 ? 1 : 0;
	}

	gt_log(LOG_INFO, "nri: plugin %s-%s for %s, policy %s", pl.idx, pl.name, socket_path, pl.base.source);
	long backoff = BACKOFF_MIN_MS;
	bool said_down = false;
	while (!stop) {
		gt_err_free(&err);
		int fd = dial(socket_path, &err);
		if (fd >= 0) {
			bound_writes(fd);
			bool registered = false;
			enum session_end end = END_CLOSED;
			int rc = session(&pl, fd, &registered, &end, &err);
			close(fd);
			if (end == END_STOPPED)
				break;
			if (rc < 0)
				gt_log(LOG_WARNING, "nri: %s; reconnecting", gt_err_msg(err));
			else
				gt_log(LOG_INFO, "nri: the runtime closed the connection; reconnecting");
			said_down = false;
			if (registered)
				backoff = BACKOFF_MIN_MS;
		} else if (!said_down) {
			/* Once per outage, not once per retry. */
			gt_log(LOG_WARNING, "%s; retrying with backoff up to %d s", gt_err_msg(err), BACKOFF_MAX_MS / 1000);
			said_down = true;
		}
		sleep_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	gt_log(LOG_INFO, "nri: stopped");
	return 0;
}
