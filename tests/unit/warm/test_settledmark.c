/* The settled mark the wrapper's reader leaves for the record hook: taken
 * once for the very config it names, never for another version of that
 * file, and never when it is not root's alone or not whole. Each refusal
 * here would otherwise spare a recording the container asked for. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settledmark.h"
#include "tap.h"

#define KEY "dd65fdd403c8a48e-3807556ec26fd7e092706ae362616066"

static char tmp[256], dir[300], config[300];

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

static struct gt_file_id config_id(void)
{
	struct stat st;
	struct gt_file_id id = { 0 };
	if (stat(config, &st) == 0)
		gt_file_id_of(&st, &id);
	return id;
}

static int mark(const struct gt_file_id *id, const char *key)
{
	gt_err_t err = NULL;
	int r = gt_settled_mark(dir, id, "ctr1", key, &err);
	if (r < 0)
		printf("# %s\n", gt_err_msg(err));
	gt_err_free(&err);
	return r;
}

static size_t marks(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", dir);
	FILE *p = popen(cmd, "r");
	unsigned n = 0;
	if (p == NULL || fscanf(p, "%u", &n) != 1)
		n = 999;
	if (p != NULL)
		pclose(p);
	return n;
}

/* The mark's file, for the tests that tamper with it. */
static void mark_path(const struct gt_file_id *id, char *out, size_t outsz)
{
	char pattern[400];
	snprintf(pattern, sizeof(pattern), "ls %s/%llx-%llx-* 2>/dev/null", dir, (unsigned long long)id->dev,
		 (unsigned long long)id->ino);
	FILE *p = popen(pattern, "r");
	out[0] = '\0';
	if (p == NULL || fgets(out, (int)outsz, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	if (p != NULL)
		pclose(p);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/gt-settled.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/run/settled", tmp);
	snprintf(config, sizeof(config), "%s/config.json", tmp);
	put_file(config, "{}");
	struct gt_file_id id = config_id();
	char key[64], path[400];

	ok(mark(&id, KEY) == 0, "a mark is written, its directory made");
	struct stat st;
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700, "the directory is 0700");
	mark_path(&id, path, sizeof(path));
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_uid == geteuid(), "the mark is 0600, ours");
	ok(gt_settled_take(dir, &id, "ctr2", key, sizeof(key)) == 0 && marks() == 1,
	   "not for another container run from the same config");
	ok(gt_settled_take(dir, &id, "ctr1", key, sizeof(key)) == 1, "taken for the config and container it names");
	is_str(key, KEY, "with the profile's name");
	ok(marks() == 0, "taking it removes it");
	ok(gt_settled_take(dir, &id, "ctr1", key, sizeof(key)) == 0 && key[0] == '\0', "taken once only");

	/* The config replaced (the engine wrote a new one for another
	 * container in the same bundle): another inode. Rewritten in place:
	 * another ctime. Either way the mark is no longer this config's. */
	mark(&id, KEY);
	usleep(20000);
	put_file(config, "{\"other\": 1}");
	struct gt_file_id now = config_id();
	ok(gt_settled_take(dir, &now, "ctr1", key, sizeof(key)) == 0, "not for the config written since");
	ok(marks() == 0 || now.ino != id.ino, "the stale mark of the same file is removed when looked at");
	id = now;

	/* Not gotune's: readable or writable by others, or not whole. */
	mark(&id, KEY);
	chmod(path, 0644);
	ok(gt_settled_take(dir, &id, "ctr1", key, sizeof(key)) == 0, "a mark others may read is no mark");
	/* Each with this config's identity (ID): refused for what it says. */
	char ident[100];
	snprintf(ident, sizeof(ident), "%llu %lld %lld", (unsigned long long)id.size, (long long)id.mtime_ns,
		 (long long)id.ctime_ns);
	static const char *const bad[][2] = {
		{ "gotune-settled 1 ", " " KEY },		/* no newline: cut short */
		{ "gotune-settled 2 ", " " KEY "\n" },	/* another format */
		{ "gotune-settled 1 ", " ../../etc/passwd\n" }, /* not a profile's name */
		{ "gotune-settled 1 ", " " KEY " more\n" },
		{ "gotune-settled 1 ", " " KEY "\n" },	/* whole: taken */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[300];
		snprintf(text, sizeof(text), "%s%s%s", bad[i][0], ident, bad[i][1]);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, text, strlen(text)) < 0 || close(fd) < 0)
			perror(path);
		bool last = i + 1 == sizeof(bad) / sizeof(bad[0]);
		int r = gt_settled_take(dir, &id, "ctr1", key, sizeof(key));
		if (last)
			ok(r == 1 && strcmp(key, KEY) == 0, "the same text, whole, is taken: the refusals are for the text");
		else
			ok(r == 0 && key[0] == '\0', "refused: %.60s", text);
	}


	/* A mark no hook came for (its start failed) is removed once old. */
	struct gt_file_id ghost = id;
	ghost.ino += 1000;
	mark(&ghost, KEY);
	char gpath[400];
	mark_path(&ghost, gpath, sizeof(gpath));
	struct timespec old[2] = { { .tv_sec = 1000 }, { .tv_sec = 1000 } };
	utimensat(AT_FDCWD, gpath, old, 0);
	for (int i = 0; i < 16; i++)
		mark(&id, KEY);
	ok(access(gpath, F_OK) != 0, "a mark 10 minutes old is pruned by a later write");
	ok(access(path, F_OK) == 0, "a fresh one is kept");

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		perror(cmd);
	return tap_done();
}
