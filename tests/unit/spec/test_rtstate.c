/* Reading runc's and crun's own state: where it lives, and runc's
 * state.json as runc 1.1.5 writes it (one captured from a real container,
 * trimmed, and the forms runc never writes, which must not be taken). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rtinit.h"
#include "rtstate.h"
#include "tap.h"

/* The shape of a real runc 1.1.5 state.json (runc run -d of a busybox
 * bundle, keys in runc's order, most of config cut). */
static const char real[] =
	"{\"id\":\"sz1\",\"init_process_pid\":4242,\"init_process_start\":377421,"
	"\"created\":\"2026-12-04T16:34:12.123456789Z\","
	"\"config\":{\"no_pivot_root\":false,\"rootfs\":\"/tmp/wt27/b/rootfs\","
	"\"mounts\":[{\"source\":\"proc\",\"destination\":\"/proc\",\"device\":\"proc\"}],"
	"\"hooks\":{\"prestart\":[{\"path\":\"/x\",\"env\":[\"bundle=/not/this\"]}]},"
	"\"labels\":[\"io.kubernetes.pod=x\",\"bundle=/tmp/wt27/b\"],\"version\":\"1.0.2-dev\"},"
	"\"rootless\":false,\"cgroup_paths\":{\"\":\"/sys/fs/cgroup/unified/sz1\"},"
	"\"namespace_paths\":{\"NEWNS\":\"/proc/4242/ns/mnt\"},\"external_descriptors\":[\"/dev/null\"],"
	"\"intel_rdt_path\":\"\"}";

static int parse(const char *text, const char *id, struct gt_runc_state *st, char *msg, size_t msgsz)
{
	gt_err_t err = NULL;
	int r = gt_runc_state_parse(text, strlen(text), id, st, &err);
	snprintf(msg, msgsz, "%s", r < 0 ? gt_err_msg(err) : "");
	gt_err_free(&err);
	return r;
}

static void runc_state(void)
{
	struct gt_runc_state st;
	char msg[512];
	ok(parse(real, "sz1", &st, msg, sizeof(msg)) == 0, "a real runc state.json is read (%s)", msg);
	is_str(st.bundle, "/tmp/wt27/b", "its bundle is the bundle= label, not a hook's env entry");
	is_int(st.created_ns, (int64_t)1796402052 * 1000000000 + 123456789, "created, to the nanosecond, UTC");
	is_int(st.init_pid, 4242, "the init's pid (the wrapper's recorder waits on it)");

	/* runc's utils.Annotations keeps the last bundle= label: an
	 * annotation named "bundle" comes before runc's own. */
	const char two[] = "{\"id\":\"a\",\"created\":\"2026-01-01T00:00:00Z\",\"config\":{\"labels\":"
			   "[\"bundle=/evil\",\"bundle=/real\"]}}";
	ok(parse(two, "a", &st, msg, sizeof(msg)) == 0 && strcmp(st.bundle, "/real") == 0,
	   "of two bundle= labels the last is the bundle, as runc state says (%s)", st.bundle);
	is_int(st.created_ns, (int64_t)1767225600 * 1000000000, "a whole second has no fraction");

	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "{\"id\":\"a\",\"created\":\"2026-01-01T00:00:00Z\",\"config\":{\"labels\":[\"bundle=/b\"]}}",
		  "names another id" },
		{ "{\"id\":\"x\",\"id\":\"x\",\"created\":\"2026-01-01T00:00:00Z\",\"config\":{\"labels\":[\"bundle=/b\"]}}",
		  "not the layout" },
		{ "{\"id\":\"x\",\"config\":{\"labels\":[\"bundle=/b\"]}}", "not the layout" },
		{ "{\"id\":\"x\",\"created\":\"2026-01-01T00:00:00Z\",\"config\":{\"labels\":[]}}", "not the layout" },
		{ "{\"id\":\"x\",\"created\":\"2026-01-01T00:00:00Z\",\"labels\":[\"bundle=/b\"]}", "not the layout" },
		{ "{\"id\":\"x\",\"created\":\"2026-01-01T00:00:00Z\",\"config\":{\"labels\":[\"bundle=b\"]}}",
		  "not an absolute path" },
		{ "{\"id\":\"x\",\"created\":\"2026-01-01T00:00:00+02:00\",\"config\":{\"labels\":[\"bundle=/b\"]}}",
		  "UTC RFC 3339" },
		{ "{\"id\":\"x\",\"created\":\"yesterday\",\"config\":{\"labels\":[\"bundle=/b\"]}}", "UTC RFC 3339" },
		{ "{\"id\":\"x\",\"created\":\"2026-01-01T00:00:00Z\",\"config\":{\"labels\":[\"bundle=/b\"]}", "not JSON" },
		{ "{\"id\":\"x\" /* c */,\"created\":\"2026-01-01T00:00:00Z\",\"config\":{\"labels\":[\"bundle=/b\"]}}",
		  "not JSON" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i].text, "x", &st, msg, sizeof(msg));
		ok(r < 0 && strstr(msg, bad[i].why) != NULL, "not runc's: %.60s... (%s)", bad[i].text + 1, msg);
	}
}

static void roots(void)
{
	char out[4096];
	unsetenv("XDG_RUNTIME_DIR");
	ok(gt_rt_root(GT_RT_RUNC, "/run/containerd/runc/k8s.io", out, sizeof(out)) == 0 &&
	   strcmp(out, "/run/containerd/runc/k8s.io") == 0, "--root given: that root");
	ok(gt_rt_root(GT_RT_RUNC, NULL, out, sizeof(out)) == 0 && strcmp(out, "/run/runc") == 0,
	   "runc without --root: /run/runc");
	ok(gt_rt_root(GT_RT_CRUN, NULL, out, sizeof(out)) == 0 && strcmp(out, "/run/crun") == 0,
	   "crun without --root: /run/crun");
	setenv("XDG_RUNTIME_DIR", "/run/user/0", 1);
	ok(gt_rt_root(GT_RT_CRUN, NULL, out, sizeof(out)) == 0 && strcmp(out, "/run/user/0/crun") == 0,
	   "crun with XDG_RUNTIME_DIR: there, also for root (%s)", out);
	if (geteuid() == 0) {
		setenv("USER", "root", 1);
		ok(gt_rt_root(GT_RT_RUNC, NULL, out, sizeof(out)) == 0 && strcmp(out, "/run/runc") == 0,
		   "runc as root (USER=root) with XDG_RUNTIME_DIR: still /run/runc (%s)", out);
	}
	unsetenv("XDG_RUNTIME_DIR");
	ok(gt_rt_root(GT_RT_UNKNOWN, NULL, out, sizeof(out)) < 0, "another runtime without --root: unknown");
	ok(gt_rt_kind_of("/usr/sbin/runc") == GT_RT_RUNC && gt_rt_kind_of("crun") == GT_RT_CRUN &&
	   gt_rt_kind_of("/usr/bin/runsc") == GT_RT_UNKNOWN, "the kind by the binary's name");
	ok(gt_rt_id_ok("abc-1.2_x") && !gt_rt_id_ok("a/b") && !gt_rt_id_ok("..") && !gt_rt_id_ok(".") &&
	   !gt_rt_id_ok(""), "ids that name no other directory");
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static int init_pid(enum gt_rt_kind kind, const char *root, const char *id, pid_t *pid, char *msg, size_t msgsz)
{
	gt_err_t err = NULL;
	int r = gt_rt_init_pid(kind, root, id, pid, &err);
	snprintf(msg, msgsz, "%s", r < 0 ? gt_err_msg(err) : "");
	gt_err_free(&err);
	return r;
}

/* The wrapper's recorder finds the init's pid in the runtime's state: none
 * yet is "wait", a state without a pid is an error, and the wait ends when
 * the state appears (written by a child here, as runc renames it in). */
static void init_pids(void)
{
	char root[64] = "/tmp/gt-rtinit.XXXXXX", dir[128], path[200], tmp[200], msg[300];
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	pid_t pid = 0;
	ok(init_pid(GT_RT_RUNC, root, "sz1", &pid, msg, sizeof(msg)) == 0, "runc: no state yet: 0 (wait)");
	snprintf(dir, sizeof(dir), "%s/sz1", root);
	mkdir(dir, 0711);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	put(path, real);
	int r = init_pid(GT_RT_RUNC, root, "sz1", &pid, msg, sizeof(msg));
	ok(r == 1 && pid == 4242, "runc: init_process_pid (%d)", (int)pid);
	put(path, "{\"id\":\"sz1\",\"created\":\"2026-01-01T00:00:00Z\",\"config\":{\"labels\":[\"bundle=/b\"]}}");
	r = init_pid(GT_RT_RUNC, root, "sz1", &pid, msg, sizeof(msg));
	ok(r < 0, "runc: a state without a pid: error (%s)", msg);
	ok(init_pid(GT_RT_RUNC, root, "../sz1", &pid, msg, sizeof(msg)) < 0, "an id that names another directory: error");
	snprintf(path, sizeof(path), "%s/status", dir);
	put(path, "{\n    \"pid\" : 777,\n    \"process-start-time\" : 1,\n    \"bundle\" : \"/b\"\n}\n");
	r = init_pid(GT_RT_CRUN, root, "sz1", &pid, msg, sizeof(msg));
	ok(r == 1 && pid == 777, "crun: status's pid (%d)", (int)pid);
	put(path, "{\"pid\": -1}");
	r = init_pid(GT_RT_CRUN, root, "sz1", &pid, msg, sizeof(msg));
	ok(r < 0, "crun: a pid below 1: error (%s)", msg);
	ok(init_pid(GT_RT_UNKNOWN, root, "sz1", &pid, msg, sizeof(msg)) < 0, "another runtime: error");

	/* The wait: nothing for 30 ms, then state.json renamed into place. */
	gt_err_t err = NULL;
	double waited = 0;
	r = gt_rt_wait_init(GT_RT_RUNC, root, "sz2", 50, &pid, &waited, &err);
	ok(r < 0 && waited >= 50 && waited < 1000, "no state within 50 ms: error after %.0f ms (%s)", waited,
	   gt_err_msg(err));
	gt_err_free(&err);
	pid_t child = fork();
	if (child == 0) {
		nanosleep(&(struct timespec){ .tv_nsec = 30000000 }, NULL);
		snprintf(dir, sizeof(dir), "%s/sz2", root);
		mkdir(dir, 0711);
		snprintf(tmp, sizeof(tmp), "%s/state-123.json", dir);
		snprintf(path, sizeof(path), "%s/state.json", dir);
		FILE *f = fopen(tmp, "w");
		if (f != NULL) {
			char *text = strdup(real);
			char *at = strstr(text, "\"sz1\"");
			memcpy(at + 3, "2", 1); /* "sz2" */
			fputs(text, f);
			fclose(f);
		}
		rename(tmp, path);
		_exit(0);
	}
	r = gt_rt_wait_init(GT_RT_RUNC, root, "sz2", 5000, &pid, &waited, &err);
	ok(r == 1 && pid == 4242 && waited >= 25 && waited < 1000, "the state renamed in after 30 ms: found after %.1f ms",
	   waited);
	gt_err_free(&err);
	waitpid(child, NULL, 0);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		perror(cmd);
}

int main(void)
{
	runc_state();
	roots();
	init_pids();
	return tap_done();
}
