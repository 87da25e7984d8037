/* Worker slots: at most max of a kind at once, freed when the holder's fd
 * closes (as when it exits, however it ends). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "worker.h"

int main(void)
{
	char dir[] = "/tmp/gotune-test-slots-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return 1;
	char state[300];
	snprintf(state, sizeof(state), "%s/state", dir);
	gt_err_t err = NULL;
	int a = gt_slot_take(state, "recorder", 2, &err);
	int b = gt_slot_take(state, "recorder", 2, &err);
	ok(a >= 0 && b >= 0, "two of two slots taken (%d, %d)", a, b);
	struct stat st = { 0 };
	int sr = stat(state, &st);
	ok(sr == 0 && (st.st_mode & 07777) == 0700, "the state directory made 0700 (%o)", st.st_mode & 07777);
	int c = gt_slot_take(state, "recorder", 2, &err);
	ok(c == -2 && err != NULL, "a third: all taken: %s", gt_err_msg(err));
	gt_err_free(&err);
	int r = gt_slot_take(state, "reader", 1, &err);
	ok(r >= 0, "another kind has slots of its own");
	close(a);
	c = gt_slot_take(state, "recorder", 2, &err);
	ok(c >= 0, "a slot closed is free again");
	/* Held by a child: free once it exits, killed or not. */
	close(c);
	pid_t pid = fork();
	if (pid == 0) {
		gt_err_t e = NULL;
		int s = gt_slot_take(state, "recorder", 2, &e);
		pause();
		_exit(s >= 0 ? 0 : 1);
	}
	usleep(100000);
	c = gt_slot_take(state, "recorder", 2, &err);
	ok(c == -2, "a child holds the second slot");
	gt_err_free(&err);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	c = gt_slot_take(state, "recorder", 2, &err);
	ok(c >= 0, "... until it is killed");
	int z = gt_slot_take(state, "recorder", 0, &err);
	ok(z == -2, "limit 0: none may run: %s", gt_err_msg(err));
	gt_err_free(&err);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		ok(0, "clean up");
	return tap_done();
}
