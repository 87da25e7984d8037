#include "confine.h"

#include <errno.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

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

/* Syscalls both phases need; anything else fails with EPERM. */
static const int common_syscalls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(open), SCMP_SYS(close), SCMP_SYS(close_range),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(stat), SCMP_SYS(lstat),
	SCMP_SYS(lseek), SCMP_SYS(readlinkat), SCMP_SYS(readlink), SCMP_SYS(getdents64), SCMP_SYS(fcntl),
	SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap), SCMP_SYS(brk),
	SCMP_SYS(madvise), SCMP_SYS(mincore),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrandom),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(futex),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(sysinfo), SCMP_SYS(uname), SCMP_SYS(prlimit64),
	/* syslog(3): a datagram to /dev/log (socket itself: AF_UNIX only, below) */
	SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
};
static const int tune_syscalls[] = {
	/* the atomic rewrite of config.json */
	SCMP_SYS(fchmod), SCMP_SYS(fchown), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(rename), SCMP_SYS(unlinkat),
};
static const int prewarm_syscalls[] = {
	/* background mode: a detached child */
	SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(setsid), SCMP_SYS(wait4),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(sched_yield),
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

static int add_rules(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* A syscall this architecture lacks is negative: skip it. */
		if (calls[i] < 0)
			continue;
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0) < 0)
			return -1;
	}
	return 0;
}

int gt_confine(enum gt_phase phase, gt_err_t *err)
{
	if (!gt_confine_available())
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return gt_error(err, errno, "confine: no_new_privs");
	bool tune = phase == GT_PHASE_TUNE;
	if (drop_caps(tune ? tune_caps : prewarm_caps,
		      tune ? (int)(sizeof(tune_caps) / sizeof(tune_caps[0]))
			   : (int)(sizeof(prewarm_caps) / sizeof(prewarm_caps[0])),
		      err) < 0)
		return gt_error_wrap(err, "confine");
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL)
		return gt_error(err, 0, "confine: seccomp_init");
	int r = add_rules(ctx, common_syscalls, sizeof(common_syscalls) / sizeof(common_syscalls[0]));
	if (r == 0)
		r = tune ? add_rules(ctx, tune_syscalls, sizeof(tune_syscalls) / sizeof(tune_syscalls[0]))
			 : add_rules(ctx, prewarm_syscalls, sizeof(prewarm_syscalls) / sizeof(prewarm_syscalls[0]));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	/* stdio asks whether stdout is a terminal; nothing else of ioctl. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return gt_error(err, -r, "confine: seccomp");
	return 0;
}
