#include "containerd_config.h"
#include "tap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Debian 12's /etc/containerd/config.toml (containerd 1.6.20), as shipped. */
#define DEBIAN \
	"version = 2\n" \
	"\n" \
	"[plugins]\n" \
	"  [plugins.\"io.containerd.grpc.v1.cri\"]\n" \
	"    [plugins.\"io.containerd.grpc.v1.cri\".cni]\n" \
	"      bin_dir = \"/usr/lib/cni\"\n" \
	"      conf_dir = \"/etc/cni/net.d\"\n" \
	"  [plugins.\"io.containerd.internal.v1.opt\"]\n" \
	"    path = \"/var/lib/containerd/opt\"\n"

/* README's table before the fix: options alone. */
#define OPTIONS_ONLY \
	"[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n" \
	"  BinaryName = \"/usr/local/bin/gotune-runc\"\n"

/* README's table for config version 2. */
#define FULL \
	"[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n" \
	"  runtime_type = \"io.containerd.runc.v2\"\n" \
	"  [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n" \
	"    BinaryName = \"/usr/local/bin/gotune-runc\"\n"

static struct gt_ctrd_findings f;

static int check(const char *text)
{
	gt_err_t err = NULL;
	int rc = gt_containerd_config_check(text, strlen(text), &f, &err);
	if (rc < 0)
		printf("# error: %s\n", gt_err_msg(err));
	gt_err_free(&err);
	return rc;
}

static void show(void)
{
	for (size_t i = 0; i < f.n; i++)
		printf("#   %s\n", f.msg[i]);
}

static bool says(const char *needle)
{
	for (size_t i = 0; i < f.n; i++)
		if (strstr(f.msg[i], needle) != NULL)
			return true;
	show();
	return false;
}

int main(void)
{
	ok(check(DEBIAN) == 0 && f.n == 0 && f.version == 2, "Debian's config: version 2, nothing to say");
	ok(check(DEBIAN OPTIONS_ONLY) == 0 && f.n == 1 &&
		   says("[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc] has no runtime_type") &&
		   says("container.Runtime.Name must be set"),
	   "Debian's + an options table alone: runc has no runtime_type");
	ok(check(DEBIAN FULL) == 0 && f.n == 0, "Debian's + the full runtime table: nothing to say");
	ok(check("version = 3\n[plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes.runc.options]\n"
		 "  BinaryName = \"/x\"\n") == 0 &&
		   f.n == 0 && f.version == 3,
	   "version 3 (containerd 2.x keeps its defaults): nothing to say");
	ok(check("[plugins.cri.containerd.runtimes.runc.options]\nBinaryName = \"/x\"\n") == 0 && f.n == 1 &&
		   f.version == 1 && says("[plugins.\"cri\".containerd.runtimes.runc] has no runtime_type"),
	   "no version (1): plugins.cri's runtimes are checked");
	ok(check("version = 2\n" OPTIONS_ONLY) == 0 && f.n == 1, "a table header alone defines the runtime");
	ok(check("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n") == 0 && f.n == 1,
	   "an empty runtime table: no runtime_type");

	/* Another runtime beside a default one that is no longer there. */
	ok(check("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.gotune]\n"
		 "runtime_type = \"io.containerd.runc.v2\"\n") == 0 &&
		   f.n == 1 && says("default_runtime_name \"runc\" is not among"),
	   "only a new runtime: the default runc is gone");
	ok(check("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
		 "default_runtime_name = \"gotune\"\n"
		 "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.gotune]\n"
		 "runtime_type = \"io.containerd.runc.v2\"\n") == 0 &&
		   f.n == 0,
	   "a new runtime that is the default: nothing to say");
	ok(check("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
		 "default_runtime_name = \"gotune\"\n") == 0 &&
		   f.n == 0,
	   "no runtime table: containerd's defaults stand");

	/* The same settings written other ways. */
	ok(check("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
		 "  runtimes.runc.runtime_type = 'io.containerd.runc.v2' # dotted\n"
		 "  runtimes.runc.options.BinaryName = \"/x\"\n") == 0 &&
		   f.n == 0,
	   "dotted keys, literal string, comment");
	ok(check("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
		 "  runtimes = { runc = { options = { BinaryName = \"/x\" } } }\n") == 0 &&
		   f.n == 1 && says("runtimes.runc] has no runtime_type"),
	   "inline tables: no runtime_type seen");
	ok(check("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
		 "  runtimes = { runc = { runtime_type = \"io.containerd.runc.v2\", options = { BinaryName = \"/x\" } } }\n") ==
			   0 &&
		   f.n == 0,
	   "inline tables with runtime_type");
	ok(check("version = 2\n"
		 "disabled_plugins = [\n  \"a\", # one\n  'b',\n  [1, 2],\n]\n"
		 "doc = \"\"\"\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.fake]\n\"\"\"\n"
		 "lit = '''\nx = ''\n'''\n"
		 "oom_score = -999\n"
		 "[[proxy_plugins]]\nname = \"x\"\n" FULL) == 0 &&
		   f.n == 0,
	   "multi-line arrays and strings, arrays of tables: nothing mistaken for a table");
	ok(check("version = 2\r\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\r\n"
		 "BinaryName = \"/x\"\r\n") == 0 &&
		   f.n == 1,
	   "CRLF line ends");

	/* Text this reader does not follow: an error, no findings. */
	const char *bad[] = { "version = 2\n[plugins.\"cri\"\n", "x = \"unterminated\n", "x = \n", "x = 1 ]\n",
			      "= 1\n", "x = [1, 2\n", "x = {a = 1\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(check(bad[i]) < 0 && f.n == 0, "malformed %zu refused", i);
	/* Bounded nesting: arrays 100 deep are refused, not recursed into. */
	char deep[256];
	memset(deep, 0, sizeof(deep));
	strcpy(deep, "x = ");
	for (size_t i = 0; i < 100; i++)
		strcat(deep, "[");
	ok(check(deep) < 0, "arrays nested 100 deep: refused");
	char keys[4096] = "version = 2\n";
	for (int i = 0; i < 40; i++)
		snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys),
			 "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.r%d]\n", i);
	ok(check(keys) == 0 && f.n == GT_CTRD_FINDINGS_MAX, "40 runtimes: findings bounded to %d", GT_CTRD_FINDINGS_MAX);
	ok(check("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.\"a\\u0001b\"]\n") == 0 &&
		   f.n == 2 && strchr(f.msg[0], '\001') == NULL,
	   "a control character in a name is not printed as is");
	ok(check("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.\"a\001b\"]\n") == 0 &&
		   f.n == 2 && strchr(f.msg[0], '\001') == NULL && says("a?b"),
	   "a raw control byte in a name becomes '?'");
	return tap_done();
}
