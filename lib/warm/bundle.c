#include "bundle.h"
#include "annotations.h"
#include "audit.h"
#include "cleanup.h"
#include "hostinfo.h"
#include "image.h"
#include "profile.h"
#include "pwreport.h"
#include "tune.h"
#include "warmset.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *spec_annotation(void *ctx, const char *key)
{
	return gt_spec_annotation(ctx, key);
}

/* root.path is relative to the bundle unless absolute. */
static int rootfs_path(const struct gt_spec *spec, const char *bundle, char *out, size_t outsz, gt_err_t *err)
{
	static const char *const root_path[] = { "root", "path", NULL };
	const char *p = gt_spec_string(spec, root_path);
	if (p == NULL || p[0] == '\0')
		return gt_error(err, 0, "spec has no root.path");
	int n = p[0] == '/' ? snprintf(out, outsz, "%s", p) : snprintf(out, outsz, "%s/%s", bundle, p);
	if (n < 0 || (size_t)n >= outsz)
		return gt_error(err, ENAMETOOLONG, "root.path");
	return 0;
}

int gt_bundle_load(struct gt_bundle *hb, const struct gt_policy *policy, const char *bundle, const char *config,
		     gt_err_t *err)
{
	memset(hb, 0, sizeof(*hb));
	hb->bundle = bundle;
	hb->settings = policy->settings;
	cleanup_close int bfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return gt_error(err, errno, "open bundle %s", bundle);
	if (gt_read_file_at(bfd, config, GT_SPEC_MAX_BYTES, &hb->cfg, err) < 0)
		return -1;
	/* gt_spec_parse leaves the spec freeable whatever it returns. */
	hb->loaded = true;
	if (gt_spec_parse(&hb->spec, hb->cfg.data, hb->cfg.len, err) < 0)
		return gt_error_wrap(err, "%s/%s", bundle, config);
	gt_annotations_apply(&hb->settings, spec_annotation, &hb->spec, &hb->notes);
	return 0;
}

void gt_bundle_from_spec(struct gt_bundle *hb, const struct gt_policy *policy, const char *bundle,
			 const struct gt_spec *spec)
{
	memset(hb, 0, sizeof(*hb));
	hb->bundle = bundle;
	hb->settings = policy->settings;
	hb->spec = *spec; /* borrowed: loaded stays false */
	gt_annotations_apply(&hb->settings, spec_annotation, &hb->spec, &hb->notes);
}

/* The rootfs and the entrypoint's facts, for a profile lookup: 0, or -1
 * when the rootfs cannot be opened. */
static int open_entry(const struct gt_bundle *hb, struct gt_rootfs *root, struct gt_entry *e)
{
	static const char *const cwd_path[] = { "process", "cwd", NULL };
	char root_host[PATH_MAX];
	gt_err_t err = NULL;
	if (rootfs_path(&hb->spec, hb->bundle, root_host, sizeof(root_host), &err) < 0 ||
	    gt_rootfs_open(root, root_host, &err) < 0) {
		gt_err_free(&err);
		return -1;
	}
	*e = (struct gt_entry){ .arg0 = gt_spec_arg0(&hb->spec), .env = hb->spec.env, .n_env = hb->spec.n_env,
				.cwd = gt_spec_string(&hb->spec, cwd_path) };
	return 0;
}

bool gt_bundle_may_warm(const struct gt_bundle *hb)
{
	const struct gt_settings *s = &hb->settings;
	if (!s->enabled || s->prewarm.mode == GT_PW_OFF)
		return false;
	if (s->prewarm.closure || s->prewarm.n_files > 0)
		return true;
	/* No profile directory (nothing ever recorded on this node): a stat,
	 * and the rootfs is not even opened. */
	struct stat st;
	return s->profile_dir[0] != '\0' && stat(s->profile_dir, &st) == 0 && S_ISDIR(st.st_mode);
}

bool gt_bundle_wants_warm(struct gt_bundle *hb)
{
	const struct gt_settings *s = &hb->settings;
	if (!gt_bundle_may_warm(hb))
		return false;
	if (s->prewarm.closure || s->prewarm.n_files > 0)
		return true;
	struct gt_rootfs root;
	struct gt_entry e;
	if (open_entry(hb, &root, &e) < 0)
		return false;
	bool want = gt_warmset_has_profile(&root, &e, gt_profile_image(&hb->spec), s->profile_dir);
	gt_rootfs_close(&root);
	return want;
}

void gt_bundle_profile_state(struct gt_bundle *hb)
{
	const struct gt_settings *s = &hb->settings;
	hb->prof_key[0] = '\0';
	hb->prof_settled = false;
	struct gt_rootfs root;
	struct gt_entry e;
	if (!s->enabled || s->profile_dir[0] == '\0' || open_entry(hb, &root, &e) < 0)
		return;
	struct gt_profile_match m;
	if (gt_warmset_find_profile(&root, &e, gt_profile_image(&hb->spec), s->profile_dir, &m) > 0) {
		snprintf(hb->prof_key, sizeof(hb->prof_key), "%s", m.key);
		hb->prof_settled = m.profile->settled >= GT_PROFILE_SETTLED;
	}
	gt_profile_match_free(&m);
	gt_rootfs_close(&root);
}

void gt_bundle_free(struct gt_bundle *hb)
{
	if (hb->loaded)
		gt_spec_free(&hb->spec);
	gt_buf_free(&hb->cfg);
	hb->loaded = false;
}

enum gt_pw_mode gt_bundle_mode(struct gt_bundle *hb, bool under_crun)
{
	const struct gt_settings *s = &hb->settings;
	if (!s->enabled)
		return GT_PW_OFF;
	if (s->prewarm.mode == GT_PW_BACKGROUND && under_crun) {
		/* crun (1.8) waits for a hook with sigtimedwait and misses its
		 * SIGCHLD when our detached reader, which crun reaps as
		 * subreaper, exits at about the same time: the container
		 * failed on "timeout expired". Warm synchronously instead. */
		gt_note(&hb->notes, "background mode is not safe under crun's hook timeout; warmed synchronously");
		return GT_PW_POPULATE;
	}
	return s->prewarm.mode;
}

/* What env the container got against the plan: "env ...". */
void gt_bundle_audit(struct gt_bundle *hb, char *out, size_t outsz)
{
	const struct gt_spec *spec = &hb->spec;
	const struct gt_settings *s = &hb->settings;
	struct gt_host host;
	gt_host_init(&host);
	struct gt_limits limits;
	gt_tune_limits(spec, &host, s, &limits, &hb->notes);
	/* The same image facts as the env tuning used (a Go 1.25 entrypoint
	 * rightly has no GOMAXPROCS). */
	struct gt_image image;
	gt_image_inspect(spec, hb->bundle, &image);
	struct gt_audit_result audit;
	gt_audit_env(&limits, s, spec->env, spec->n_env, s->go_aware || s->go_only ? &image : NULL, gt_tune_ours(spec),
		     &audit);
	snprintf(out, outsz, "env %s", audit.line);
}

/* The set warmed in mode: "prewarm ...". */
int gt_bundle_warm(struct gt_bundle *hb, enum gt_pw_mode mode, char *out, size_t outsz, gt_err_t *err)
{
	const struct gt_spec *spec = &hb->spec;
	struct gt_settings *s = &hb->settings;
	if (mode == GT_PW_OFF) {
		snprintf(out, outsz, "prewarm off");
		return 0;
	}
	char root_host[PATH_MAX];
	if (rootfs_path(spec, hb->bundle, root_host, sizeof(root_host), err) < 0)
		return -1;
	struct gt_rootfs root;
	if (gt_rootfs_open(&root, root_host, err) < 0)
		return -1;
	struct gt_pw_set set = { 0 };
	struct gt_warmset_info info;
	int ret = gt_warmset_from_spec(&set, &root, spec, s, &info, &hb->notes, err);
	if (ret == 0) {
		char from[512];
		snprintf(hb->prof_key, sizeof(hb->prof_key), "%s", info.key);
		hb->prof_settled = info.key[0] != '\0' && info.prof_settled >= GT_PROFILE_SETTLED;
		if (hb->looked_up != NULL)
			hb->looked_up(hb, hb->looked_up_ctx);
		gt_warmset_describe(&info, s, from, sizeof(from));
		if (set.n == 0 && info.other_over) {
			snprintf(out, outsz, "prewarm skipped: %s", from);
		} else {
			struct gt_pw_report rep;
			struct gt_pw_budget budget = gt_warmset_budget(s, &info);
			ret = gt_prewarm(&set, mode, &budget, &rep, err);
			if (ret == 0) {
				gt_pw_summary(&set, &rep, out, outsz);
				size_t n = strlen(out);
				if (from[0] != '\0')
					snprintf(out + n, outsz - n, "; %s", from);
			}
		}
	}
	gt_pw_set_free(&set);
	gt_rootfs_close(&root);
	return ret;
}

/* "env ...; prewarm ...; note: ...": one line for the log. */
void gt_bundle_summarize(const struct gt_bundle *hb, const char *audit, const char *warm, char *summary, size_t sumsz)
{
	size_t len = (size_t)snprintf(summary, sumsz, "%s%s%s", audit, audit[0] && warm[0] ? "; " : "", warm);
	for (size_t i = 0; i < hb->notes.n && len < sumsz; i++)
		len += (size_t)snprintf(summary + len, sumsz - len, "; note: %s", hb->notes.text[i]);
}

int gt_bundle_prewarm(struct gt_bundle *hb, enum gt_pw_mode mode, char *summary, size_t sumsz, gt_err_t *err)
{
	char audit[512], warm[1024] = "";
	gt_bundle_audit(hb, audit, sizeof(audit));
	int ret = gt_bundle_warm(hb, mode, warm, sizeof(warm), err);
	gt_bundle_summarize(hb, audit, warm, summary, sumsz);
	return ret;
}
