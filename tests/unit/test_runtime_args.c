#include "runtime_args.h"
#include "tap.h"

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
	is_str(ra.bundle, "/run/b", "bundle after global flags with values");
	is_str(ra.id, "abc", "id after --pid-file value");

	PARSE("--root=/r", "--log=/l", "--systemd-cgroup", "create", "-b", "/b2", "x");
	ok(ra.log != NULL && !ra.log_json, "--log=X, text format by default");
	is_str(ra.bundle, "/b2", "-b X");
	PARSE("create", "--bundle=/b3", "x");
	is_str(ra.bundle, "/b3", "--bundle=X");
	PARSE("create", "-b=/b4", "x");
	is_str(ra.bundle, "/b4", "-b=X");
	PARSE("create", "-bundle", "/b5", "x");
	is_str(ra.bundle, "/b5", "-bundle X (Go flag style)");
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
	return tap_done();
}
