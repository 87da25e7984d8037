/* The wrapper's exec record: written and read back, refused when it is not
 * root's alone or not whole, and never taken for a container it does not
 * describe: runc's and crun's state are laid out here as those runtimes
 * lay them out (rtstate.h), then changed the ways a stale record meets
 * them (the container deleted and its id reused from another bundle or a
 * changed config, a container older than the record). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "execrec.h"
#include "tap.h"

static char tmp[256];

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* A record of what the wrapper wrote into bundle/config.json. */
static void make_record(struct gt_execrec *rec, const char *root, const char *id, const char *config)
{
	memset(rec, 0, sizeof(*rec));
	rec->runtime = "/usr/sbin/runc";
	rec->root = root;
	rec->id = id;
	rec->config = config;
	struct stat st;
	if (stat(config, &st) == 0)
		gt_file_id_of(&st, &rec->config_id);
	rec->mark.wrote[GT_GOMAXPROCS] = "1";
	rec->mark.wrote[GT_GOMEMLIMIT] = "180MiB";
	rec->mark.was[GT_GOMEMLIMIT] = "a value\nwith = and spaces";
}

static int check(const struct gt_execrec *rec, enum gt_rt_kind kind, char *msg, size_t msgsz)
{
	gt_err_t err = NULL;
	int r = gt_execrec_check(rec, kind, &err);
	snprintf(msg, msgsz, "%s", r < 0 ? gt_err_msg(err) : "");
	gt_err_free(&err);
	return r;
}

static void runc_state(const char *root, const char *id, const char *bundle, const char *created)
{
	char dir[512], path[600], text[1024];
	snprintf(dir, sizeof(dir), "%s/%s", root, id);
	mkdir(root, 0700);
	mkdir(dir, 0711);
	snprintf(path, sizeof(path), "%s/state.json", dir);
	snprintf(text, sizeof(text),
		 "{\"id\":\"%s\",\"init_process_pid\":1,\"created\":\"%s\",\"config\":{\"labels\":[\"bundle=%s\"]}}",
		 id, created, bundle);
	put_file(path, text);
}

/* "now" plus some seconds, as Go writes a UTC time. */
static void go_time(int delta_s, char *out, size_t outsz)
{
	time_t t = time(NULL) + delta_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%S.5Z", &tm);
}

static void roundtrip(void)
{
	char dir[300], cfg[300], path[400], path2[400];
	snprintf(dir, sizeof(dir), "%s/exec", tmp);
	snprintf(cfg, sizeof(cfg), "%s/config.json", tmp);
	put_file(cfg, "{}");
	static struct gt_execrec rec, back;
	make_record(&rec, "/run/runc", "c1", cfg);
	gt_err_t err = NULL;
	ok(gt_execrec_write(dir, &rec, &err) == 0, "a record is written (%s)", err ? gt_err_msg(err) : "");
	gt_err_free(&err);
	struct stat st;
	ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "its directory is made root's alone (0700)");
	gt_execrec_path(dir, "/run/runc", "c1", path, sizeof(path));
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the record is 0600");
	gt_execrec_path(dir, "/run/runc/c", "1", path2, sizeof(path2));
	ok(strcmp(path, path2) != 0, "root /run/runc + c1 and root /run/runc/c + 1 are two records");

	ok(gt_execrec_read(path, &back, &err) == 0, "read back (%s)", err ? gt_err_msg(err) : "");
	gt_err_free(&err);
	is_str(back.runtime, "/usr/sbin/runc", "runtime");
	is_str(back.root, "/run/runc", "root");
	is_str(back.id, "c1", "id");
	is_str(back.config, cfg, "config");
	ok(gt_file_id_equal(&back.config_id, &rec.config_id), "config identity");
	is_int(back.written_ns, rec.written_ns, "written");
	is_str(back.mark.wrote[GT_GOMAXPROCS], "1", "GOMAXPROCS wrote");
	ok(back.mark.was[GT_GOMAXPROCS] == NULL, "GOMAXPROCS had no value before");
	is_str(back.mark.was[GT_GOMEMLIMIT], "a value\nwith = and spaces", "GOMEMLIMIT's value before, as it was");
	ok(back.mark.wrote[GT_GOGC] == NULL && back.mark.wrote[GT_GODEBUG] == NULL, "nothing else");

	/* An untuned container: a record with nothing to give. */
	memset(&rec.mark, 0, sizeof(rec.mark));
	rec.id = "c2";
	gt_execrec_write(dir, &rec, NULL);
	gt_execrec_path(dir, "/run/runc", "c2", path2, sizeof(path2));
	ok(gt_execrec_read(path2, &back, NULL) == 0 && back.mark.wrote[GT_GOMAXPROCS] == NULL &&
	   back.mark.wrote[GT_GOMEMLIMIT] == NULL, "an untuned container's record holds no variable");

	chmod(path, 0644);
	ok(gt_execrec_read(path, &back, &err) < 0 && err->errno_ == EPERM, "a record others may read is refused");
	gt_err_free(&err);
	chmod(path, 0600);
	/* Torn: every prefix of a record fails, none is taken as one. */
	FILE *f = fopen(path, "r");
	char whole[4096];
	size_t n = f != NULL ? fread(whole, 1, sizeof(whole), f) : 0;
	if (f != NULL)
		fclose(f);
	int taken = 0;
	for (size_t cut = 0; cut < n; cut++) {
		int fd = open(path, O_WRONLY | O_TRUNC);
		if (fd < 0 || write(fd, whole, cut) != (ssize_t)cut)
			taken = -1000;
		close(fd);
		taken += gt_execrec_read(path, &back, NULL) == 0;
	}
	is_int(taken, 0, "none of the %zu cut-short versions of a record is read as one", n);
	ok(gt_execrec_read(dir, &back, &err) < 0, "a directory is no record");
	gt_err_free(&err);
	char none[400];
	snprintf(none, sizeof(none), "%s/none", dir);
	ok(gt_execrec_read(none, &back, &err) < 0 && err->errno_ == ENOENT, "no record: ENOENT");
	gt_err_free(&err);
}

static void runc_checks(void)
{
	char root[300], b1[300], b2[300], cfg1[320], cfg2[320], msg[600], t[64];
	snprintf(root, sizeof(root), "%s/runc-root", tmp);
	snprintf(b1, sizeof(b1), "%s/b1", tmp);
	snprintf(b2, sizeof(b2), "%s/b2", tmp);
	mkdir(b1, 0755);
	mkdir(b2, 0755);
	snprintf(cfg1, sizeof(cfg1), "%s/config.json", b1);
	snprintf(cfg2, sizeof(cfg2), "%s/config.json", b2);
	put_file(cfg1, "{\"tuned\":1}");
	put_file(cfg2, "{\"other\":1}");
	static struct gt_execrec rec;
	make_record(&rec, root, "c", cfg1);
	rec.written_ns = (int64_t)time(NULL) * 1000000000;

	go_time(+2, t, sizeof(t));
	runc_state(root, "c", b1, t);
	ok(check(&rec, GT_RT_RUNC, msg, sizeof(msg)) == 0, "runc: the container from the recorded config: holds (%s)",
	   msg);
	ok(check(&rec, GT_RT_UNKNOWN, msg, sizeof(msg)) < 0, "another runtime: never holds");

	runc_state(root, "c", b2, t);
	ok(check(&rec, GT_RT_RUNC, msg, sizeof(msg)) < 0, "runc: the id reused from another bundle: stale (%s)", msg);

	go_time(-60, t, sizeof(t));
	runc_state(root, "c", b1, t);
	ok(check(&rec, GT_RT_RUNC, msg, sizeof(msg)) < 0 && strstr(msg, "before its record") != NULL,
	   "runc: a container created before the record (a create that failed on it): stale (%s)", msg);

	go_time(+2, t, sizeof(t));
	runc_state(root, "c", b1, t);
	/* The same bytes again, as an editor or engine rewrites a file. */
	char tmpcfg[340];
	snprintf(tmpcfg, sizeof(tmpcfg), "%s.new", cfg1);
	put_file(tmpcfg, "{\"tuned\":1}");
	rename(tmpcfg, cfg1);
	ok(check(&rec, GT_RT_RUNC, msg, sizeof(msg)) < 0, "runc: config.json replaced since (same bytes): stale (%s)",
	   msg);
	make_record(&rec, root, "c", cfg1);
	rec.written_ns = (int64_t)time(NULL) * 1000000000;
	ok(check(&rec, GT_RT_RUNC, msg, sizeof(msg)) == 0, "runc: recorded again: holds (%s)", msg);
	/* In place, the same size: only the ctime tells. */
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	FILE *f = fopen(cfg1, "r+");
	if (f != NULL) {
		fputs("{\"tuneD\":1}", f);
		fclose(f);
	}
	ok(check(&rec, GT_RT_RUNC, msg, sizeof(msg)) < 0, "runc: config.json written in place since: stale (%s)", msg);

	char dir[400];
	snprintf(dir, sizeof(dir), "%s/c/state.json", root);
	unlink(dir);
	ok(check(&rec, GT_RT_RUNC, msg, sizeof(msg)) < 0, "runc: no such container: stale (%s)", msg);
}

static void crun_checks(void)
{
	char root[300], b[300], cfg[320], dir[400], copy[450], msg[600];
	snprintf(root, sizeof(root), "%s/crun-root", tmp);
	snprintf(b, sizeof(b), "%s/cb", tmp);
	mkdir(root, 0700);
	mkdir(b, 0755);
	snprintf(cfg, sizeof(cfg), "%s/config.json", b);
	snprintf(dir, sizeof(dir), "%s/k", root);
	mkdir(dir, 0700);
	snprintf(copy, sizeof(copy), "%s/config.json", dir);
	put_file(cfg, "{\"process\":{\"env\":[\"GOMAXPROCS=1\"]}}");
	static struct gt_execrec rec;
	make_record(&rec, root, "k", cfg);
	rec.runtime = "/usr/bin/crun";

	put_file(copy, "{\"process\":{\"env\":[\"GOMAXPROCS=1\"]}}");
	ok(check(&rec, GT_RT_CRUN, msg, sizeof(msg)) == 0, "crun: its copy is the recorded config: holds (%s)", msg);
	put_file(copy, "{\"process\":{\"env\":[\"GOMAXPROCS=2\"]}}");
	ok(check(&rec, GT_RT_CRUN, msg, sizeof(msg)) < 0, "crun: the id reused from another config: stale (%s)", msg);
	put_file(copy, "{\"process\":{\"env\":[\"GOMAXPROCS=1\"]}} ");
	ok(check(&rec, GT_RT_CRUN, msg, sizeof(msg)) < 0, "crun: a copy one byte longer: stale (%s)", msg);
	put_file(copy, "{\"process\":{\"env\":[\"GOMAXPROCS=1\"]}}");
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	put_file(cfg, "{\"process\":{\"env\":[\"GOMAXPROCS=1\"]}}");
	ok(check(&rec, GT_RT_CRUN, msg, sizeof(msg)) < 0, "crun: the recorded config written again since: stale (%s)",
	   msg);
	unlink(copy);
	ok(check(&rec, GT_RT_CRUN, msg, sizeof(msg)) < 0, "crun: no such container: stale (%s)", msg);
}

/* Records whose container's state directory is gone are swept; a live
 * one, and one too young, stay. */
static void prune(void)
{
	char dir[300], root[300], live[400], cfg[320];
	snprintf(dir, sizeof(dir), "%s/prune", tmp);
	snprintf(root, sizeof(root), "%s/prune-root", tmp);
	snprintf(live, sizeof(live), "%s/live", root);
	snprintf(cfg, sizeof(cfg), "%s/config.json", tmp);
	mkdir(root, 0700);
	mkdir(live, 0700);
	static struct gt_execrec rec, back;
	const char *ids[] = { "live", "gone1", "gone2" };
	char paths[3][400];
	for (int i = 0; i < 3; i++) {
		make_record(&rec, root, ids[i], cfg);
		gt_execrec_write(dir, &rec, NULL);
		gt_execrec_path(dir, root, ids[i], paths[i], sizeof(paths[i]));
	}
	char junk[400];
	snprintf(junk, sizeof(junk), "%s/0123456789abcdef", dir);
	put_file(junk, "not a record");
	chmod(junk, 0600);
	is_int(gt_execrec_prune(dir, 60), 0, "nothing younger than a minute is swept");
	is_int(gt_execrec_prune(dir, 0), 3, "the records of the two containers gone, and a file that is no record, swept");
	ok(gt_execrec_read(paths[0], &back, NULL) == 0, "the live container's record stays");
	ok(access(paths[1], F_OK) < 0 && access(paths[2], F_OK) < 0, "the others are gone");
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/gotune-execrec.XXXXXX");
	if (mkdtemp(tmp) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	roundtrip();
	runc_checks();
	crun_checks();
	prune();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmp);
	return tap_done();
}
