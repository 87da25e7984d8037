/* `gotune-hook nri-install`: makes gotune a plugin the runtime starts from
 * its NRI plugin dir, and proves that it registers before the runtime is
 * restarted. This matters more than it looks: NRI up to v0.6 (containerd
 * 1.7.0 to 1.7.25) fails every plugin start when one pre-installed plugin
 * fails to start or register, and containerd then exits ("failed to set up
 * NRI for CRI service"); a dangling link or a binary that does not run
 * takes the node down at the next restart. So the link is made atomically,
 * the binary it leads to is checked, and the plugin is started once
 * through that link exactly as the runtime starts it (fd 3, the
 * NRI_PLUGIN_* variables, nothing else in its env) and must register,
 * take its config and answer Synchronize. On any failure a link made
 * here is removed again: no plugin is better than one that fails. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "containerd_config.h"
#include "fileio.h"
#include "hook.h"
#include "nri_msg.h"
#include "nri_wire.h"

/* The runtime's own defaults: what the plugin has to meet. */
#define REGISTER_MS 5000
#define REQUEST_MS 2000

static const char usage[] =
	"usage: gotune-hook nri-install [--plugin-dir DIR] [--conf-dir DIR] [--idx NN] [--name NAME]\n"
	"                               [--binary PATH] [--policy FILE] [--containerd-config FILE] [--check]\n"
	"\n"
	"Links DIR/NN-NAME to this gotune-hook (or PATH), writes the policy FILE as the plugin's\n"
	"config CONFDIR/NN-NAME.conf, then starts the plugin through the link as the runtime\n"
	"would and checks that it registers, takes its config and answers. Exits 0 only when all\n"
	"of that worked; otherwise removes the link it made and exits 1. Run it before restarting\n"
	"the runtime: NRI up to v0.6 (containerd 1.7.0-1.7.25) stops the runtime when one\n"
	"pre-installed plugin fails to start. --check changes nothing and checks what is there.\n"
	"\n"
	"  --plugin-dir DIR  the runtime's plugin_path (default /opt/nri/plugins)\n"
	"  --conf-dir DIR    the runtime's plugin_config_path (default /etc/nri/conf.d)\n"
	"  --idx NN          two-digit index (default 50)   --name NAME  (default gotune)\n"
	"  --binary PATH     the gotune-hook to link to (default: this one)\n"
	"  --policy FILE     validate FILE and install it as the plugin's config\n"
	"  --containerd-config FILE\n"
	"                    containerd's config to check (default /etc/containerd/config.toml, when\n"
	"                    there): a warning, never a failure, for a CRI runtime table without\n"
	"                    runtime_type or a default runtime it no longer defines, which fail\n"
	"                    every pod (or the CRI plugin) on containerd 1.6 and 1.7\n";

struct peer {
	int fd;
	struct gt_wire w;
	uint32_t next_stream;
};

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The next whole message from the plugin, within deadline (ms). */
static int next_msg(struct peer *p, long deadline, struct gt_ttrpc_msg *m, gt_err_t *err)
{
	static uint8_t buf[65536];
	for (;;) {
		int k = gt_wire_next(&p->w, m, err);
		if (k != 0)
			return k;
		long left = deadline - now_ms();
		if (left <= 0)
			return gt_error(err, 0, "timed out");
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		int n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return gt_error(err, errno, "poll");
		if (n == 0)
			continue;
		ssize_t got = read(p->fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return gt_error(err, errno, "read");
		if (got == 0)
			return gt_error(err, 0, "the plugin closed the connection");
		if (gt_wire_feed(&p->w, buf, (size_t)got, err) < 0)
			return -1;
	}
}

static int send_frames(struct peer *p, uint32_t conn, uint32_t stream, enum gt_ttrpc_type type,
		       const struct gt_pb_writer *body, gt_err_t *err)
{
	cleanup_pb_writer struct gt_pb_writer out;
	gt_pb_writer_init(&out, 2 * GT_TTRPC_MSG_MAX);
	gt_wire_frames(&out, conn, stream, type, body->data, body->len);
	if (out.failed || body->failed)
		return gt_error(err, 0, "message too large");
	return gt_write_all(p->fd, (const char *)out.data, out.len, err);
}

/* Calls Plugin.METHOD with payload and waits for its response (any
 * runtime request the plugin makes meanwhile is a protocol error here). */
static int call(struct peer *p, const char *method, const struct gt_pb_writer *payload, struct gt_ttrpc_response *r,
		gt_err_t *err)
{
	cleanup_pb_writer struct gt_pb_writer rq;
	gt_pb_writer_init(&rq, GT_TTRPC_MSG_MAX);
	gt_ttrpc_request_encode(&rq, GT_NRI_PLUGIN_SERVICE, method, payload->data, payload->len);
	uint32_t stream = p->next_stream;
	p->next_stream += 2;
	if (send_frames(p, GT_MUX_PLUGIN_CONN, stream, GT_TTRPC_REQUEST, &rq, err) < 0)
		return -1;
	long deadline = now_ms() + REQUEST_MS;
	struct gt_ttrpc_msg m;
	for (;;) {
		if (next_msg(p, deadline, &m, err) < 0)
			return gt_error_wrap(err, "%s", method);
		if (m.conn == GT_MUX_PLUGIN_CONN && m.type == GT_TTRPC_RESPONSE && m.stream == stream)
			break;
	}
	if (gt_ttrpc_response_decode(m.payload, m.len, r) < 0)
		return gt_error(err, 0, "%s: malformed response", method);
	if (r->code != GT_CODE_OK)
		return gt_error(err, 0, "%s: the plugin answered code %d: %.*s", method, r->code,
				(int)(r->message.n > 200 ? 200 : r->message.n), r->message.p ? r->message.p : "");
	return 0;
}

/* The runtime's part of one plugin start: RegisterPlugin, Configure,
 * Synchronize, each within the runtime's timeouts. */
static int handshake(struct peer *p, const char *name, const char *idx, const char *config, uint32_t *events,
		     long *reg_ms, gt_err_t *err)
{
	long t0 = now_ms();
	struct gt_ttrpc_msg m;
	for (;;) {
		if (next_msg(p, t0 + REGISTER_MS, &m, err) < 0)
			return gt_error_wrap(err, "RegisterPlugin (the runtime waits %d ms)", REGISTER_MS);
		if (m.conn == GT_MUX_RUNTIME_CONN && m.type == GT_TTRPC_REQUEST)
			break;
	}
	*reg_ms = now_ms() - t0;
	struct gt_ttrpc_request rq;
	if (gt_ttrpc_request_decode(m.payload, m.len, &rq) < 0 || !gt_pb_str_eq(rq.service, GT_NRI_RUNTIME_SERVICE) ||
	    !gt_pb_str_eq(rq.method, "RegisterPlugin"))
		return gt_error(err, 0, "the plugin's first request is not RegisterPlugin");
	char got_name[256], got_idx[16];
	if (gt_nri_register_decode(rq.payload, rq.len, got_name, sizeof(got_name), got_idx, sizeof(got_idx), err) < 0)
		return -1;
	if (strcmp(got_name, name) != 0 || strcmp(got_idx, idx) != 0)
		return gt_error(err, 0, "the plugin registered as %s-%s, not %s-%s", got_idx, got_name, idx, name);
	cleanup_pb_writer struct gt_pb_writer resp;
	gt_pb_writer_init(&resp, 4096);
	gt_ttrpc_response_encode(&resp, GT_CODE_OK, NULL, NULL, 0);
	if (send_frames(p, GT_MUX_RUNTIME_CONN, m.stream, GT_TTRPC_RESPONSE, &resp, err) < 0)
		return -1;

	cleanup_pb_writer struct gt_pb_writer cfg;
	gt_pb_writer_init(&cfg, GT_TTRPC_MSG_MAX / 2);
	gt_nri_configure_encode(&cfg, config, "gotune-nri-install", GOTUNE_VERSION, REGISTER_MS, REQUEST_MS);
	struct gt_ttrpc_response r;
	if (call(p, "Configure", &cfg, &r, err) < 0)
		return -1;
	if (gt_nri_configure_response_decode(r.payload, r.len, events, err) < 0)
		return -1;
	/* What every NRI version from v0.2 accepts; 0 would mean "all". */
	if (*events != GT_NRI_EVENTS)
		return gt_error(err, 0, "the plugin subscribed to events 0x%x, not CreateContainer and UpdateContainer",
				*events);
	cleanup_pb_writer struct gt_pb_writer sync;
	gt_pb_writer_init(&sync, 64);
	return call(p, "Synchronize", &sync, &r, err);
}

/* Starts PATH as the runtime does: fd 3 a connected socket, only the
 * NRI_PLUGIN_* variables in the env, stdin and stdout /dev/null. */
static pid_t launch(const char *path, const char *name, const char *idx, int *fd, gt_err_t *err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return gt_error(err, errno, "socketpair");
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		return gt_error(err, e, "fork");
	}
	if (pid == 0) {
		char env_name[300], env_idx[32];
		snprintf(env_name, sizeof(env_name), "NRI_PLUGIN_NAME=%s", name);
		snprintf(env_idx, sizeof(env_idx), "NRI_PLUGIN_IDX=%s", idx);
		char *const env[] = { env_name, env_idx, (char *)"NRI_PLUGIN_SOCKET=3", NULL };
		char *const argv[] = { (char *)path, NULL };
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(sv[1], 3) < 0)
			_exit(127);
		execve(path, argv, env);
		dprintf(2, "gotune-hook nri-install: cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

/* Waits up to ms for the plugin to exit by itself, then kills it. */
static void reap(pid_t pid, long ms)
{
	long end = now_ms() + ms;
	while (now_ms() < end) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		struct timespec ts = { .tv_nsec = 20000000 };
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* The binary the link leads to: absolute, a regular executable file that
 * only its owner may change (the runtime runs it as root). */
static int check_binary(const char *path, gt_err_t *err)
{
	struct stat st;
	if (path[0] != '/')
		return gt_error(err, 0, "%s: not an absolute path", path);
	if (stat(path, &st) < 0)
		return gt_error(err, errno, "%s", path);
	if (!S_ISREG(st.st_mode))
		return gt_error(err, 0, "%s: not a regular file", path);
	if ((st.st_mode & S_IXUSR) == 0)
		return gt_error(err, 0, "%s: not executable", path);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return gt_error(err, 0, "%s: writable by group or others (mode %o)", path, st.st_mode & 07777);
	return 0;
}

/* DIR/NAME -> target, replacing a link (never a file) atomically. */
static int make_link(const char *dir, const char *name, const char *target, gt_err_t *err)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return gt_error(err, errno, "mkdir %s", dir);
	char link[PATH_MAX], tmp[PATH_MAX];
	snprintf(link, sizeof(link), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.gotune-%ld", dir, name, (long)getpid());
	struct stat st;
	if (lstat(link, &st) == 0 && !S_ISLNK(st.st_mode))
		return gt_error(err, 0, "%s exists and is not a symbolic link; not replacing it", link);
	unlink(tmp);
	if (symlink(target, tmp) < 0)
		return gt_error(err, errno, "symlink %s", tmp);
	if (rename(tmp, link) < 0) {
		int e = errno;
		unlink(tmp);
		return gt_error(err, e, "rename %s", link);
	}
	return 0;
}

static int install_conf(const char *dir, const char *name, const struct gt_buf *text, gt_err_t *err)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return gt_error(err, errno, "mkdir %s", dir);
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return gt_error(err, errno, "%s", dir);
	return gt_write_atomic_at(dfd, name, text->data, text->len, err);
}

/* The plugin is of no use where containerd fails every pod before NRI is
 * asked, and gotune's own README once gave such a runtime table: say so,
 * without failing the install (the config is containerd's, not ours). A
 * missing default file is a host without containerd. */
static void warn_containerd_config(const char *path)
{
	const char *p = path != NULL ? path : "/etc/containerd/config.toml";
	cleanup_err gt_err_t err = NULL;
	struct gt_ctrd_findings f;
	if (gt_containerd_config_check_file(p, &f, &err) < 0) {
		if (path != NULL || err->errno_ != ENOENT)
			fprintf(stderr, "gotune-hook nri-install: warning: cannot check containerd's config: %s\n",
				gt_err_msg(err));
		return;
	}
	for (size_t i = 0; i < f.n; i++)
		fprintf(stderr, "gotune-hook nri-install: warning: %s: %s\n", p, f.msg[i]);
}

int cmd_nri_install(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "plugin-dir", required_argument, NULL, 'd' }, { "conf-dir", required_argument, NULL, 'c' },
		{ "idx", required_argument, NULL, 'i' },	{ "name", required_argument, NULL, 'n' },
		{ "binary", required_argument, NULL, 'b' },	{ "policy", required_argument, NULL, 'p' },
		{ "check", no_argument, NULL, 'k' },		{ "help", no_argument, NULL, 'h' },
		{ "containerd-config", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	const char *plugin_dir = "/opt/nri/plugins", *conf_dir = "/etc/nri/conf.d", *idx = "50", *name = "gotune";
	const char *binary = NULL, *policy_path = NULL, *ctrd_config = NULL;
	bool check_only = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': plugin_dir = optarg; break;
		case 'c': conf_dir = optarg; break;
		case 'i': idx = optarg; break;
		case 'n': name = optarg; break;
		case 'b': binary = optarg; break;
		case 'p': policy_path = optarg; break;
		case 'k': check_only = true; break;
		case 'C': ctrd_config = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	bool idx_ok = strlen(idx) == 2 && idx[0] >= '0' && idx[0] <= '9' && idx[1] >= '0' && idx[1] <= '9';
	if (optind < argc || !idx_ok || name[0] == '\0' || strchr(name, '/') != NULL || strlen(name) > 200 ||
	    (check_only && policy_path != NULL)) {
		fprintf(stderr, "gotune-hook nri-install: bad arguments\n%s", usage);
		return 2;
	}

	warn_containerd_config(ctrd_config);

	cleanup_err gt_err_t err = NULL;
	char self[PATH_MAX], link[PATH_MAX], conf_name[256], conf_path[PATH_MAX];
	snprintf(link, sizeof(link), "%s/%s-%s", plugin_dir, idx, name);
	snprintf(conf_name, sizeof(conf_name), "%s-%s.conf", idx, name);
	snprintf(conf_path, sizeof(conf_path), "%s/%s", conf_dir, conf_name);
	bool made_link = false;
	cleanup_buf struct gt_buf conf = { 0 };
	const char *what = "";

	if (binary == NULL) {
		if (realpath("/proc/self/exe", self) == NULL) {
			gt_error(&err, errno, "cannot find this gotune-hook");
			goto fail;
		}
		binary = self;
	}
	what = "binary";
	if (!check_only && check_binary(binary, &err) < 0)
		goto fail;

	/* The plugin's config: the file given, else what is installed. A
	 * bad one would be logged and ignored by the plugin; refuse it here
	 * so that what runs is what was meant. */
	what = "policy";
	const char *conf_src = policy_path != NULL ? policy_path : conf_path;
	if (gt_read_file_at(AT_FDCWD, conf_src, 1 << 20, &conf, &err) < 0) {
		if (policy_path != NULL || err->errno_ != ENOENT)
			goto fail;
		gt_err_free(&err);
	} else {
		struct gt_policy p;
		gt_policy_defaults(&p);
		if (gt_policy_parse(&p, conf.data, conf.len, conf_src, &err) < 0)
			goto fail;
	}

	if (!check_only) {
		what = "link";
		if (make_link(plugin_dir, link + strlen(plugin_dir) + 1, binary, &err) < 0)
			goto fail;
		made_link = true;
		if (policy_path != NULL) {
			what = "config";
			if (install_conf(conf_dir, conf_name, &conf, &err) < 0)
				goto fail;
		}
	}

	/* Through the link, as the runtime will run it. */
	what = "link";
	char target[PATH_MAX];
	if (realpath(link, target) == NULL) {
		gt_error(&err, errno, "%s", link);
		goto fail;
	}
	if (check_binary(target, &err) < 0)
		goto fail;
	what = "registration";
	struct peer p = { .fd = -1, .next_stream = 1 };
	gt_wire_init(&p.w);
	pid_t pid = launch(link, name, idx, &p.fd, &err);
	if (pid < 0) {
		gt_wire_free(&p.w);
		goto fail;
	}
	uint32_t events = 0;
	long reg_ms = 0;
	int rc = handshake(&p, name, idx, conf.data, &events, &reg_ms, &err);
	close(p.fd);
	gt_wire_free(&p.w);
	/* The runtime closing the connection is the plugin's cue to exit. */
	reap(pid, REQUEST_MS);
	if (rc < 0)
		goto fail;
	printf("gotune-hook nri-install: %s -> %s registered as %s-%s in %ld ms, configured (%s), subscribed to "
	       "CreateContainer and UpdateContainer, synchronized: ready for the runtime's restart\n",
	       link, target, idx, name, reg_ms, conf.data != NULL ? conf_path : "no config file");
	return 0;

fail:
	if (made_link)
		unlink(link);
	fprintf(stderr, "gotune-hook nri-install: %s check failed: %s%s\n", what, gt_err_msg(err),
		made_link ? "; the link was removed again" : "");
	return 1;
}
