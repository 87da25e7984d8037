#include "runtime_args.h"
#include "tap.h"

#include <string.h>

#define PARSE(...) \
	do { \
		char *argv_[] = { "gotune-runc", __VA_ARGS__, NULL }; \
		gt_runtime_args_parse((int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_, 1, &ra); \
	} while (0)

int main(void)
{
	struct gt_rt_args ra;

	PARSE("run", "--bundle", "/b", "ctr1");
	ok(ra.tunes, "run tunes");
	is_str(ra.bundle, "/b", "--bundle X");
	is_str(ra.id, "ctr1", "id");

	PARSE("--root", "/run/containerd/runc/k8s.io", "--log", "/x/log.json", "--log-format", "json", "create",
	      "--bundle", "/run/b", "--pid-file", "/run/b/init.pid", "abc");
	ok(ra.tunes, "containerd shim style create");
	is_str(ra.log, "/x/log.json", "runtime --log captured");
	ok(ra.log_json, "--log-format json captured");
	is_str(ra.root, "/run/containerd/runc/k8s.io", "--root captured (the exec record's key)");
	is_str(ra.bundle, "/run/b", "bundle after global flags with values");
	is_str(ra.id, "abc", "id after --pid-file value");

	PARSE("--root=/r", "--log=/l", "--systemd-cgroup", "create", "-b", "/b2", "x");
	ok(ra.log != NULL && !ra.log_json, "--log=X, text format by default");
	is_str(ra.root, "/r", "--root=X");
	is_str(ra.bundle, "/b2", "-b X");
	PARSE("create", "--bundle=/b3", "x");
	is_str(ra.bundle, "/b3", "--bundle=X");
	/* crun's attached forms (checked with crun 1.8: it runs them). */
	PARSE("create", "-bbundle", "id1");
	ok(ra.bundle != NULL && strcmp(ra.bundle, "bundle") == 0 && ra.refuse == NULL, "-bDIR (crun)");
	is_str(ra.id, "id1", "id after -bDIR");
	PARSE("run", "-fsub/alt.json", "-b", "wc", "x");
	ok(ra.config != NULL && strcmp(ra.config, "sub/alt.json") == 0 && ra.refuse == NULL, "-fFILE (crun)");
	PARSE("run", "--config=c.json", "x");
	is_str(ra.config, "c.json", "--config=FILE");
	/* Forms runc and crun read differently: no tuning, and the form named. */
	static const char *const refused[] = { "-b=/b4", "-bundle", "-bundle=/b", "-f=c.json", "-config", "--bun", "--bundl=/b",
					       "--conf", "--c", "--confi=c.json", NULL };
	for (const char *const *r = refused; *r != NULL; r++) {
		PARSE("create", (char *)*r, "/b5", "x");
		ok(ra.refuse != NULL && strcmp(ra.refuse, *r) == 0, "%s is refused (runc and crun differ)", *r);
	}
	PARSE("create", "x", "-b");
	ok(ra.refuse != NULL, "-b without a value is refused");
	PARSE("create", "--pid-file", "-bfoo", "x");
	ok(ra.refuse == NULL && ra.bundle == NULL, "a value that looks like -bX is a value");

	/* gotune-runc --runtime PATH: taken out of the global options only. */
	{
		char *v1[] = { "gotune-runc", "--root", "/r", "--runtime", "/usr/sbin/runc", "run", "-b", "b", "x", NULL };
		const char *rt = NULL;
		int n = gt_runtime_args_take(9, v1, "--runtime", &rt);
		ok(n == 7 && rt != NULL && strcmp(rt, "/usr/sbin/runc") == 0 && strcmp(v1[3], "run") == 0 && v1[7] == NULL,
		   "--runtime PATH taken, the rest moved down");
		char *v2[] = { "gotune-runc", "--runtime=/x", "--log", "--runtime", "state", "x", NULL };
		rt = NULL;
		n = gt_runtime_args_take(6, v2, "--runtime", &rt);
		ok(n == 5 && strcmp(rt, "/x") == 0 && strcmp(v2[2], "--runtime") == 0,
		   "--runtime=PATH taken; a --log value that reads --runtime is a value");
		char *v3[] = { "gotune-runc", "run", "--runtime", "/y", "x", NULL };
		rt = NULL;
		n = gt_runtime_args_take(5, v3, "--runtime", &rt);
		ok(n == 5 && rt == NULL, "after the subcommand it is the runtime's");
	}
	PARSE("create", "x");
	ok(ra.tunes && ra.bundle == NULL, "no bundle: current directory");
	PARSE("--cgroup-manager", "disabled", "run", "--config", "alt.json", "-b", "/b", "x");
	is_str(ra.config, "alt.json", "crun --config");
	PARSE("create", "--console-socket", "-b", "x");
	ok(ra.bundle == NULL, "option value that looks like -b is a value");

	PARSE("start", "x");
	ok(!ra.tunes, "start passes through");
	PARSE("--root", "create", "state", "x");
	ok(!ra.tunes, "value of --root that reads 'create' is not the subcommand");
	PARSE("--version");
	ok(!ra.tunes && ra.subcmd == -1, "--version alone");
	PARSE("delete", "--force", "create");
	ok(!ra.tunes, "delete of a container named create");
	PARSE("features");
	ok(!ra.tunes, "features");

	/* delete: the exec record goes. */
	PARSE("--root", "/r", "delete", "--force", "c7");
	ok(ra.delete_ && !ra.exec && !ra.tunes, "delete is seen");
	is_str(ra.id, "c7", "delete --force ID");
	is_str(ra.root, "/r", "with its root");
	PARSE("delete", "-f", "--", "-odd");
	is_str(ra.id, "-odd", "delete -f -- ID");
	PARSE("delete");
	ok(!ra.delete_ && ra.id == NULL, "delete without an id: nothing to forget");
	PARSE("run", "--bundle", "/b", "x");
	ok(!ra.delete_ && ra.root == NULL, "no --root: the runtime's default, and run is no delete");

	/* exec as containerd's shim and Docker run it, and by hand. */
	PARSE("--root", "/run/containerd/runc/k8s.io", "--log", "/l", "exec", "--process", "/tmp/runc-process1",
	      "--detach", "--pid-file", "/run/x.pid", "ctr9");
	ok(ra.exec && !ra.tunes && ra.refuse == NULL, "exec: not a create, not refused");
	is_str(ra.process, "/tmp/runc-process1", "exec --process FILE");
	is_str(ra.id, "ctr9", "exec id after --pid-file's value");
	PARSE("exec", "-p=/p.json", "c1");
	is_str(ra.process, "/p.json", "exec -p=FILE");
	PARSE("exec", "-p/p2.json", "c1");
	is_str(ra.process, "/p2.json", "exec -pFILE (crun)");
	PARSE("exec", "-pid-file", "/x.pid", "c1");
	ok(ra.process == NULL, "-pid-file (one dash) is not -p id-file");
	is_str(ra.id, "c1", "... and its value is skipped");
	PARSE("exec", "-t", "-e", "A=1", "--env", "B=2", "--env=C=3", "-eD=4", "--cwd", "/", "c2", "sh", "-e", "E=5");
	ok(ra.process == NULL && ra.n_exec_env == 4, "inline exec: four --env forms before the id (got %d)",
	   ra.n_exec_env);
	ok(ra.n_exec_env == 4 && strcmp(ra.exec_env[0], "A=1") == 0 && strcmp(ra.exec_env[3], "D=4") == 0,
	   "inline exec: the values in order");
	is_str(ra.id, "c2", "inline exec: the id ends the options; -e after it is the command's");
	PARSE("exec", "--", "c3", "ls");
	is_str(ra.id, "c3", "exec -- ID");
	return tap_done();
}
