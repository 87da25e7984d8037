/* The fixed cost any tool in gotune's place pays, for the benchmarks to
 * measure beside gotune's own (tests/bench/wrapper.sh, coldstart.py):
 *   floor exec RUNTIME ARGS...        a wrapper that only execs the runtime
 *   floor fork RUNTIME ARGS...        the same after one fork whose child
 *                                     exits at once and is waited for: the
 *                                     least a wrapper that confines its
 *                                     parsing in a child can do
 *   floor hook                        an OCI hook that reads the state on
 *                                     its stdin and exits 0
 * Built static-pie like gotune-hook, so the exec costs the same kind of
 * start. Not installed; the benchmarks compile it with cc. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "hook") == 0) {
		char buf[4096];
		while (read(0, buf, sizeof(buf)) > 0)
			;
		return 0;
	}
	if (argc < 3 || (strcmp(argv[1], "exec") != 0 && strcmp(argv[1], "fork") != 0)) {
		fputs("usage: floor exec|fork RUNTIME ARGS... | floor hook\n", stderr);
		return 2;
	}
	if (strcmp(argv[1], "fork") == 0) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	execv(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
