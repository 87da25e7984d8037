/* The seccomp allow-lists, one per phase. Compiled by libseccomp at build
 * time only (gen_seccomp.c); the hook loads the resulting BPF. */
#include "confine.h"
#include "pagemap_scan.h"

#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Syscalls every phase needs; anything else fails with EPERM. */
static const int common_syscalls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(open), SCMP_SYS(close), SCMP_SYS(close_range),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(stat), SCMP_SYS(lstat),
	/* whether a file being replaced is on tmpfs, where fsync does nothing */
	SCMP_SYS(fstatfs),
	SCMP_SYS(lseek), SCMP_SYS(readlinkat), SCMP_SYS(readlink), SCMP_SYS(getdents64), SCMP_SYS(fcntl),
	SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect), SCMP_SYS(mremap), SCMP_SYS(brk),
	SCMP_SYS(madvise), SCMP_SYS(mincore),
	/* ELF headers are read without readahead (gt_elf_src_fd) */
	SCMP_SYS(fadvise64),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrandom),
	SCMP_SYS(getpid), SCMP_SYS(getppid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(futex),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(sysinfo), SCMP_SYS(uname), SCMP_SYS(prlimit64),
	/* the CPUs this process may run on, a cap on GOMAXPROCS by policy */
	SCMP_SYS(sched_getaffinity),
	/* syslog(3): a datagram to /dev/log (socket itself: AF_UNIX only, below) */
	SCMP_SYS(connect), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
	/* without syslog, the fallback log in the state directory: created
	 * with its parents, moved aside under a lock when full */
	SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(flock), SCMP_SYS(rename), SCMP_SYS(renameat),
	SCMP_SYS(renameat2),
};
static const int tune_syscalls[] = {
	/* the atomic rewrite of config.json */
	SCMP_SYS(fchmod), SCMP_SYS(fchown), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(unlinkat),
	/* (rename, and flock for the live marker on temp files: common) */
	/* the counters file's lock is waited for in 1 ms steps, up to a
	 * bound: a blocking flock could hold a container forever */
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
};
static const int prewarm_syscalls[] = {
	/* background mode: a detached child */
	SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(setsid), SCMP_SYS(wait4),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(sched_yield),
	/* a detached reader's backstop: the kernel ends it past its time */
	SCMP_SYS(alarm), SCMP_SYS(setitimer),
	/* the reads queued at the idle I/O class, those read in order at the
	 * class it had (gt_prewarm) */
	SCMP_SYS(ioprio_get), SCMP_SYS(ioprio_set),
	/* a reader skipped for workers.max_readers is counted: the counters
	 * file's atomic replace (its mode kept, a failed temp file removed) */
	SCMP_SYS(fchmod), SCMP_SYS(unlinkat),
	/* the wrapper's reader marks a settled profile used (pruning keeps
	 * the recently used) */
	SCMP_SYS(utimensat),
};
static const int record_syscalls[] = {
	/* the hook leaves a detached recorder */
	SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(setsid),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	/* is a sampled process still there */
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	/* the pause between rounds, and SCHED_IDLE (else nice 19) after the first */
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(sched_setscheduler), SCMP_SYS(setpriority),
	/* the atomic write of a profile (its directory, rename and the live
	 * marker's flock: common), and pruning old ones; no fchown: a
	 * profile is written 0600 and root's whatever group its directory
	 * gives (gt_write_private_at) */
	SCMP_SYS(fchmod), SCMP_SYS(fsync), SCMP_SYS(unlinkat),
	/* a settled profile is marked as used (pruning keeps the recently
	 * used); the recorder joins gotune's capped cgroup (which hierarchy:
	 * statfs) and lowers its own RLIMIT_CPU (prlimit64: common) */
	SCMP_SYS(utimensat), SCMP_SYS(statfs),
	/* the recorder's backstop: the kernel ends it past its time */
	SCMP_SYS(alarm), SCMP_SYS(setitimer),
	/* the wrapper's recorder waits for the runtime's state to name the
	 * init (rtinit.h) */
	SCMP_SYS(inotify_init1), SCMP_SYS(inotify_add_watch), SCMP_SYS(poll), SCMP_SYS(ppoll),
};

static const int wrap_syscalls[] = {
	/* TUNE's: the atomic rewrite of config.json; the counters file's
	 * lock, waited for in 1 ms steps */
	SCMP_SYS(fchmod), SCMP_SYS(fchown), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(unlinkat),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	/* the detached reader, forked from the spec already read; its
	 * PREWARM filter is stacked on this one, so what it calls is here
	 * too */
	SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(setsid), SCMP_SYS(wait4),
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_yield),
	/* which confines itself further for PREWARM: fewer capabilities and
	 * a filter stacked on this one (prctl below, PR_SET_SECCOMP and
	 * PR_SET_NO_NEW_PRIVS only) */
	SCMP_SYS(capget), SCMP_SYS(capset),
	/* the exec record names a relative bundle's config by its full path */
	SCMP_SYS(getcwd),
	/* and bounds its own time (gt_worker_bound: a CPU limit, an alarm),
	 * queues at the idle I/O class (reads in order at the class it had),
	 * and marks a settled profile used */
	SCMP_SYS(alarm), SCMP_SYS(setitimer), SCMP_SYS(ioprio_get), SCMP_SYS(ioprio_set), SCMP_SYS(utimensat),
};

/* The replay hook before it knows whether it starts a recorder: PREWARM's
 * and RECORD's (added below), and what stacking either on this filter
 * calls (prctl below: PR_SET_SECCOMP and PR_SET_NO_NEW_PRIVS only). */
static const int hook_syscalls[] = {
	SCMP_SYS(capget), SCMP_SYS(capset),
};

static const struct {
	const int *calls;
	size_t n;
} phase_syscalls[GT_PHASE_COUNT] = {
	[GT_PHASE_TUNE] = { tune_syscalls, N_OF(tune_syscalls) },
	[GT_PHASE_PREWARM] = { prewarm_syscalls, N_OF(prewarm_syscalls) },
	[GT_PHASE_RECORD] = { record_syscalls, N_OF(record_syscalls) },
	[GT_PHASE_WRAP] = { wrap_syscalls, N_OF(wrap_syscalls) },
	[GT_PHASE_HOOK] = { hook_syscalls, N_OF(hook_syscalls) },
};

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

int gt_seccomp_rules(enum gt_phase phase, void **out)
{
	if ((unsigned)phase >= GT_PHASE_COUNT)
		return -EINVAL;
	/* Production fails a stray call with EPERM, which the hook reports
	 * like any error and then fails open; the debug build kills, so a
	 * call missing from the lists cannot go unnoticed in tests. */
#ifdef GT_SECCOMP_KILL
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
#else
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
#endif
	if (ctx == NULL)
		return -ENOMEM;
	int r = add_rules(ctx, common_syscalls, N_OF(common_syscalls));
	if (r == 0)
		r = add_rules(ctx, phase_syscalls[phase].calls, phase_syscalls[phase].n);
	if (r == 0 && phase == GT_PHASE_HOOK)
		r = add_rules(ctx, prewarm_syscalls, N_OF(prewarm_syscalls));
	if (r == 0 && phase == GT_PHASE_HOOK)
		r = add_rules(ctx, record_syscalls, N_OF(record_syscalls));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	bool stacks = phase == GT_PHASE_WRAP || phase == GT_PHASE_HOOK;
	if (r == 0 && stacks)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_SECCOMP));
	if (r == 0 && stacks)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
				     SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS));
	/* stdio asks whether stdout is a terminal; the recorder scans a
	 * process's page tables (record.c); nothing else of ioctl. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
	const scmp_datum_t pagemap_scan = PAGEMAP_SCAN;
	if (r == 0 && (phase == GT_PHASE_RECORD || phase == GT_PHASE_HOOK))
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, pagemap_scan));
	if (r < 0) {
		seccomp_release(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}

