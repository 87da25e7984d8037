#include "confine.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Capabilities kept per phase, everything else dropped from the effective,
 * permitted and inheritable sets. */
static const cap_value_t tune_caps[] = {
	CAP_DAC_READ_SEARCH,	/* read the entrypoint in an image whose files are not ours */
	CAP_DAC_OVERRIDE,	/* rewrite config.json in a bundle another user owns (wrapper) */
	CAP_CHOWN,		/* give the rewritten config.json its owner back */
	CAP_FOWNER,		/* chmod of that file when we do not own it */
};
static const cap_value_t prewarm_caps[] = {
	CAP_DAC_READ_SEARCH,	/* resolve and read the rootfs's files whatever their modes */
	CAP_FOWNER,		/* O_NOATIME on files we do not own, so warming leaves atimes alone */
};
static const cap_value_t record_caps[] = {
	/* /proc/PID/{maps,pagemap,root} ask for ptrace read access, and a
	 * container's process runs as another uid or with capabilities ours
	 * (after this drop) are no superset of; ptrace(2) stays refused */
	CAP_SYS_PTRACE,
	/* pagemap is 0400 to its process's uid; and the files inside the
	 * container's root, whatever their modes */
	CAP_DAC_READ_SEARCH,
	/* Not needed: CAP_FOWNER (the container has just mapped these files,
	 * which set their atimes already, so the open without O_NOATIME
	 * changes none), CAP_SYS_NICE (SCHED_IDLE and a higher nice value are
	 * ours to take), CAP_SYS_ADMIN (it only unmasks pagemap's frame
	 * numbers; the present bit is there without it). */
};

/* Both of the above, while the replay hook reads the spec that says
 * whether it also starts a recorder: the recorder it forks drops to
 * RECORD's, the hook itself to PREWARM's. */
static const cap_value_t hook_caps[] = {
	CAP_DAC_READ_SEARCH,
	CAP_FOWNER,
	CAP_SYS_PTRACE,
};

bool gt_confine_available(void)
{
#if defined(GOTUNE_NO_CONFINE)
	return false;
#elif defined(__SANITIZE_ADDRESS__)
	return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return false;
#else
	return true;
#endif
#else
	return true;
#endif
}

static int drop_caps(const cap_value_t *keep, int n, gt_err_t *err)
{
	cap_t caps = cap_init(); /* all clear */
	if (caps == NULL)
		return gt_error(err, errno, "cap_init");
	/* Keep only those of the table we actually have. */
	cap_t cur = cap_get_proc();
	cap_value_t have[16];
	int k = 0;
	for (int i = 0; i < n && cur != NULL; i++) {
		cap_flag_value_t v = CAP_CLEAR;
		if (cap_get_flag(cur, keep[i], CAP_PERMITTED, &v) == 0 && v == CAP_SET)
			have[k++] = keep[i];
	}
	if (cur != NULL)
		cap_free(cur);
	int ret = 0;
	if (k > 0 && (cap_set_flag(caps, CAP_PERMITTED, k, have, CAP_SET) < 0 ||
		      cap_set_flag(caps, CAP_EFFECTIVE, k, have, CAP_SET) < 0))
		ret = gt_error(err, errno, "cap_set_flag");
	else if (cap_set_proc(caps) < 0)
		ret = gt_error(err, errno, "cap_set_proc");
	cap_free(caps);
	return ret;
}

/* gt_bpf_tune[], gt_bpf_prewarm[], gt_bpf_record[], gt_bpf_wrap[] and gt_bpf_hook[], generated from
 * seccomp_rules.c. */
#include "seccomp_bpf.h"

static const struct {
	const cap_value_t *caps;
	int n_caps;
	const struct sock_filter *bpf;
	unsigned short bpf_len;
} phases[GT_PHASE_COUNT] = {
	[GT_PHASE_TUNE] = { tune_caps, N_OF(tune_caps), gt_bpf_tune, N_OF(gt_bpf_tune) },
	[GT_PHASE_PREWARM] = { prewarm_caps, N_OF(prewarm_caps), gt_bpf_prewarm, N_OF(gt_bpf_prewarm) },
	[GT_PHASE_RECORD] = { record_caps, N_OF(record_caps), gt_bpf_record, N_OF(gt_bpf_record) },
	/* TUNE's: the reader it forks drops to PREWARM's */
	[GT_PHASE_WRAP] = { tune_caps, N_OF(tune_caps), gt_bpf_wrap, N_OF(gt_bpf_wrap) },
	[GT_PHASE_HOOK] = { hook_caps, N_OF(hook_caps), gt_bpf_hook, N_OF(gt_bpf_hook) },
};

int gt_confine(enum gt_phase phase, gt_err_t *err)
{
	if (!gt_confine_available())
		return 0;
	if ((unsigned)phase >= GT_PHASE_COUNT)
		return gt_error(err, EINVAL, "confine: phase %d", (int)phase);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return gt_error(err, errno, "confine: no_new_privs");
	if (drop_caps(phases[phase].caps, phases[phase].n_caps, err) < 0)
		return gt_error_wrap(err, "confine");
	/* The filters were compiled from the rules above by libseccomp at
	 * build time (gen_seccomp.c): loading a ready program costs a few
	 * microseconds, compiling it on every container start cost 0.2 ms. */
	struct sock_fprog prog = { phases[phase].bpf_len, (struct sock_filter *)phases[phase].bpf };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return gt_error(err, errno, "confine: seccomp");
	return 0;
}

const char *gt_confine_violation(void)
{
#ifdef GT_SECCOMP_KILL
	return "kill";
#else
	return "errno";
#endif
}
