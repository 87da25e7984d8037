/* `plan`: what gotune would do to a spec, and why, without changing it. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "confine.h"
#include "fileio.h"
#include "hook.h"
#include "hostinfo.h"
#include "log.h"
#include "report.h"
#include "rootfs.h"
#include "warmset.h"
#include "spec.h"
#include "tune.h"

static const char usage[] =
	"usage: gotune-hook plan [--policy FILE] [--json] [--host-cpus N] [--cgroupfs DIR] [--mountinfo FILE]\n"
	"                        [--bundle DIR | FILE | -]\n";

/* How the user's engine changes a running container's limits, for the
 * advice after the env: the engine is told by what it writes into the
 * spec (CRI's sandbox annotations, Podman's manager annotation, Docker's
 * cgroupsPath). */
static const char *resize_command(const struct gt_spec *spec)
{
	static const char *const cgpath[] = { "linux", "cgroupsPath", NULL };
	const char *manager = gt_spec_annotation(spec, "io.container.manager");
	const char *cp = gt_spec_string(spec, cgpath);
	if (gt_tune_kubernetes_pod(spec))
		return "an in-place resize (kubectl patch pod --subresource resize)";
	if (manager != NULL && strcmp(manager, "libpod") == 0)
		return "podman update --cpus/--memory";
	if (cp != NULL && (strncmp(cp, "/docker/", 8) == 0 || strstr(cp, ":docker:") != NULL))
		return "docker update --cpus/--memory";
	return "a change of its limits (runc update, crun update)";
}

static void print_env(const struct gt_tune *t, const char *in, size_t in_len, FILE *f)
{
	cleanup_spec struct gt_spec spec;
	cleanup_err gt_err_t err = NULL;
	const char *text = t->changed ? t->out.data : in;
	size_t len = t->changed ? t->out.len : in_len;
	if (gt_spec_parse(&spec, text, len, &err) < 0) {
		fprintf(f, "resulting env: cannot show (%s)\n", gt_err_msg(err));
		return;
	}
	fprintf(f, "\nresulting process.env%s:\n", t->changed ? "" : " (unchanged)");
	for (size_t i = 0; i < spec.n_env; i++)
		fprintf(f, "  %s\n", spec.env[i]);
	/* Users resize containers in place and expect the env to follow: it
	 * cannot. */
	if (!t->plan.settings.audit &&
	    (t->plan.d[GT_GOMAXPROCS].action == GT_ACT_SET || t->plan.d[GT_GOMEMLIMIT].action == GT_ACT_SET))
		fprintf(f, "\nthese values hold for the limits above: a running process keeps its env, so after\n"
			   "%s restart the container to retune it\n"
			   "(Go >= 1.25 follows a CPU limit itself where GOMAXPROCS is unset: gomaxprocs.tracking=defer)\n",
			   resize_command(&spec));
}

static int print_json(const struct gt_tune *t, const char *source, const struct gt_policy *policy)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g == NULL)
		return -1;
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	gt_gen_kv(g, "spec", source);
	gt_gen_kv(g, "policy", policy->source);
	if (policy->sha256[0] != '\0')
		gt_gen_kv(g, "policy_sha256", policy->sha256);
	gt_gen_str(g, "changed");
	yajl_gen_bool(g, t->changed);
	gt_plan_json(&t->plan, g);
	yajl_gen_map_close(g);
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	fwrite(buf, 1, len, stdout);
	if (len == 0 || buf[len - 1] != '\n')
		fputc('\n', stdout);
	yajl_gen_free(g);
	return 0;
}

/* Whether prestart would replay a working-set profile for this spec. */
static void print_profile(const char *text, size_t len, const char *bundle_dir, const struct gt_policy *policy,
			  FILE *f)
{
	static const char *const root_path[] = { "root", "path", NULL };
	static const char *const cwd_path[] = { "process", "cwd", NULL };
	cleanup_spec struct gt_spec spec;
	gt_err_t err = NULL;
	if (gt_spec_parse(&spec, text, len, &err) < 0) {
		gt_err_free(&err);
		return;
	}
	const char *root = gt_spec_string(&spec, root_path);
	if (root == NULL || gt_spec_arg0(&spec) == NULL)
		return;
	char host[8400];
	snprintf(host, sizeof(host), root[0] == '/' ? "%s" : "%.4100s/%s", root[0] == '/' ? root : bundle_dir,
		 root);
	struct gt_rootfs rfs;
	if (gt_rootfs_open(&rfs, host, &err) < 0) {
		fprintf(f, "\nworking-set profile: rootfs not readable (%s)\n", gt_err_msg(err));
		gt_err_free(&err);
		return;
	}
	struct gt_entry e = { .arg0 = gt_spec_arg0(&spec), .env = spec.env, .n_env = spec.n_env,
			      .cwd = gt_spec_string(&spec, cwd_path) };
	struct gt_profile_match m;
	int r = gt_warmset_find_profile(&rfs, &e, gt_profile_image(&spec), policy->settings.profile_dir, &m);
	gt_rootfs_close(&rfs);
	if (r < 0) {
		fprintf(f, "\nworking-set profile: entrypoint %s not found in the rootfs\n", e.arg0);
		return;
	}
	if (m.unidentified) {
		fprintf(f, "\nworking-set profile: %s not identified yet (its content ID is computed by the next "
			"recording, never on a start): prestart warms the usual set\n", m.entry);
		return;
	}
	if (r == 0 && m.key[0] == '\0') {
		fprintf(f, "\nworking-set profile: none (no directory %s): prestart warms the usual set\n",
			policy->settings.profile_dir);
		return;
	}
	fprintf(f, "\nworking-set profile (%s, key %s, content sha256:%.16s..., %s):\n  ", policy->settings.profile_dir,
		m.key, m.ident.sha, m.ident.image[0] ? m.ident.image : "no image named by the engine");
	if (r == 0) {
		fprintf(f, "none recorded for %s: prestart warms the usual set\n", m.entry);
		return;
	}
	uint64_t bytes = 0;
	size_t ranges = 0;
	for (size_t i = 0; i < m.profile->n_files; i++) {
		ranges += m.profile->files[i].n_ranges;
		for (size_t k = 0; k < m.profile->files[i].n_ranges; k++)
			bytes += m.profile->files[i].ranges[k].len;
	}
	uint64_t cap = policy->settings.profile_max_bytes;
	fprintf(f, "matched for %s: %zu files, %zu ranges, %" PRIu64 " bytes replayed at prestart", m.entry,
		m.profile->n_files, ranges, bytes < cap ? bytes : cap);
	if (bytes > cap)
		fprintf(f, " (of %" PRIu64 " recorded: profile.max_bytes)", bytes);
	fputc('\n', f);
	gt_profile_match_free(&m);
}

int cmd_plan(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "bundle", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "host-cpus", required_argument, NULL, 'c' },
		{ "cgroupfs", required_argument, NULL, 'g' },
		{ "mountinfo", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy_path = NULL, *bundle = NULL, *cgroupfs = NULL, *mountinfo = NULL;
	bool json = false;
	int host_cpus = 0;
	int c;
	while ((c = getopt_long(argc, argv, "p:b:jc:g:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': policy_path = optarg; break;
		case 'b': bundle = optarg; break;
		case 'j': json = true; break;
		case 'c': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 8192) {
				fprintf(stderr, "gotune-hook plan: --host-cpus wants a number from 1 to 8192\n");
				return 2;
			}
			host_cpus = (int)n;
			break;
		}
		case 'g': cgroupfs = optarg; break;
		case 'm': mountinfo = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (argc - optind > 1 || (bundle != NULL && argc - optind == 1)) {
		fputs(usage, stderr);
		return 2;
	}
	gt_log_to_stderr();

	char source[4200];
	const char *file = argc - optind == 1 ? argv[optind] : NULL;
	if (file == NULL)
		snprintf(source, sizeof(source), "%s/config.json", bundle != NULL ? bundle : ".");
	else
		snprintf(source, sizeof(source), "%s", file);

	cleanup_err gt_err_t err = NULL;
	cleanup_buf struct gt_buf in = { 0 };
	int rc = strcmp(source, "-") == 0 ? gt_read_fd(STDIN_FILENO, GT_SPEC_MAX_BYTES, &in, &err)
					  : gt_read_file_at(AT_FDCWD, source, GT_SPEC_MAX_BYTES, &in, &err);
	if (rc < 0) {
		fprintf(stderr, "gotune-hook plan: %s\n", gt_err_msg(err));
		return 1;
	}
	struct gt_policy policy;
	if (hook_load_policy(policy_path, &policy, &err) < 0) {
		fprintf(stderr, "gotune-hook plan: %s\n", gt_err_msg(err));
		return 1;
	}
	hook_confine(&policy, GT_PHASE_TUNE);
	cleanup_tune struct gt_tune tune = { .explain = true };
	/* A relative root.path is relative to the bundle: the spec's directory. */
	char bundle_dir[4200];
	snprintf(bundle_dir, sizeof(bundle_dir), "%s", source);
	char *slash = strrchr(bundle_dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		snprintf(bundle_dir, sizeof(bundle_dir), ".");
	/* For another machine (--host-cpus) this one's cgroups and mounts say
	 * nothing, unless copies of that machine's are given. */
	struct gt_host host;
	if (host_cpus > 0)
		gt_host_fixed(&host, host_cpus);
	else
		gt_host_init(&host);
	if (cgroupfs != NULL || mountinfo != NULL)
		host.probe = true;
	if (host_cpus > 0 && cgroupfs == NULL && mountinfo == NULL)
		host.probe = false;
	host.cgroupfs = cgroupfs;
	host.mountinfo = mountinfo;
	if (gt_tune_spec(in.data, in.len, &policy, &host, strcmp(source, "-") == 0 ? NULL : bundle_dir, &tune,
			 &err) < 0) {
		fprintf(stderr, "gotune-hook plan: %s: %s\n", source, gt_err_msg(err));
		return 1;
	}
	if (json)
		return print_json(&tune, source, &policy) < 0 ? 1 : 0;
	printf("spec:   %s\npolicy: %s\n", source, policy.source);
	if (tune.plan.settings.audit)
		printf("mode:   audit (%s): nothing is changed; a decision below is what enforce would do\n\n",
		       tune.plan.settings.audit_by_annotation ? "annotation gotune.io/mode" : "policy \"mode\"");
	else
		printf("mode:   enforce\n\n");
	gt_plan_table(&tune.plan, stdout);
	print_env(&tune, in.data, in.len, stdout);
	if (strcmp(source, "-") != 0)
		print_profile(in.data, in.len, bundle_dir, &policy, stdout);
	return 0;
}
