/* Profiles: build-ID identity, keys, the text format (v2 and v1). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buildid.h"
#include "profile.h"
#include "record.h"
#include "tap.h"

/* The recorder on this very process: a 4 MiB file mapped, two pages 2 MiB
 * apart touched; the profile must hold those and little else (the kernel
 * maps up to 64 KiB around a fault from the page cache). */
static void record_self(void)
{
	char path[] = "/tmp/gotune-test-record-XXXXXX";
	int fd = mkstemp(path);
	size_t len = 4u << 20;
	if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
		ok(0, "temp file for the recorder");
		return;
	}
	volatile unsigned char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		ok(0, "mmap");
		return;
	}
	unsigned sum = m[0] + m[2u << 20];
	struct gt_profile *p = calloc(1, sizeof(*p));
	struct gt_record_opts o = { .interval_ms = 5, .settle_ms = 30, .max_ms = 300 };
	gt_err_t err = NULL;
	int rc = gt_record(getpid(), &o, p, &err);
	const struct gt_profile_file *f = NULL;
	for (size_t i = 0; p != NULL && i < p->n_files; i++)
		if (strcmp(p->files[i].path, path) == 0)
			f = &p->files[i];
	ok(rc > 0 && f != NULL && f->size == len, "the recorder finds the mapped file in %d samples (sum %u)", rc, sum);
	bool first = false, middle = false;
	uint64_t bytes = 0;
	for (size_t i = 0; f != NULL && i < f->n_ranges; i++) {
		first |= f->ranges[i].off == 0;
		middle |= f->ranges[i].off <= (2u << 20) && f->ranges[i].off + f->ranges[i].len > (2u << 20);
		bytes += f->ranges[i].len;
	}
	ok(first && middle, "... with both touched pages");
	bool timed = f != NULL && f->n_ranges > 0;
	for (size_t i = 0; f != NULL && i < f->n_ranges; i++)
		timed &= f->ranges[i].t >= 1 && f->ranges[i].t <= 300 + 1;
	ok(timed, "... each range with the time it was first seen (ms after the start, plus 1)");
	ok(bytes > 0 && bytes <= 256u << 10, "... and little else (%llu bytes of 4 MiB)", (unsigned long long)bytes);
	munmap((void *)m, len);
	close(fd);
	unlink(path);
	gt_profile_free(p);
	free(p);
	gt_err_free(&err);
}

/* Recordings of the same entrypoint add up; a file that changed keeps
 * only what the newer recording saw. */
static void merge(void)
{
	struct gt_profile *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	gt_err_t err = NULL;
	gt_profile_add(a, "/lib/x", 16384, 1, 0, 4096, &err);
	gt_profile_add(a, "/lib/changed", 8192, 1, 0, 4096, &err);
	gt_profile_add(b, "/lib/x", 16384, 1, 4096, 4096, &err);
	gt_profile_add(b, "/lib/x", 16384, 1, 12288, 4096, &err);
	gt_profile_add(b, "/lib/y", 8192, 2, 0, 8192, &err);
	snprintf(b->files[1].id, sizeof(b->files[1].id), "gnu:abcd");
	gt_profile_add(b, "/lib/changed", 9000, 5, 4096, 4096, &err);
	ok(gt_profile_merge(a, b, &err) == 0, "merge succeeds");
	ok(a->n_files == 3, "files of both recordings (%zu)", a->n_files);
	const struct gt_profile_file *x = &a->files[0];
	ok(x->n_ranges == 2 && x->ranges[0].off == 0 && x->ranges[0].len == 8192 && x->ranges[1].off == 12288 &&
		   x->ranges[1].len == 4096,
	   "/lib/x: both recordings' ranges, merged and ordered");
	ok(a->files[1].n_ranges == 1 && a->files[1].ranges[0].len == 4096 && a->files[1].size == 8192,
	   "a file whose size changed keeps only the newer recording's ranges");
	ok(strcmp(a->files[2].path, "/lib/y") == 0 && strcmp(a->files[2].id, "gnu:abcd") == 0,
	   "a file only the older recording saw comes with its build ID");
	/* Times: the newer recording's stand where both saw a page. */
	struct gt_profile *n1 = calloc(1, sizeof(*n1)), *o1 = calloc(1, sizeof(*o1));
	gt_profile_add_at(n1, "/lib/t", 65536, 1, 4096, 8192, 5, &err);
	gt_profile_add_at(o1, "/lib/t", 65536, 1, 0, 16384, 9, &err);
	ok(gt_profile_merge(n1, o1, &err) == 0 && n1->files[0].n_ranges == 3 && n1->files[0].ranges[0].t == 9 &&
		   n1->files[0].ranges[1].off == 4096 && n1->files[0].ranges[1].t == 5 &&
		   n1->files[0].ranges[2].off == 12288 && n1->files[0].ranges[2].t == 9,
	   "merge keeps the newer recording's times and adds the older's other pages with theirs");
	gt_profile_free(n1);
	gt_profile_free(o1);
	free(n1);
	free(o1);
	gt_profile_free(a);
	gt_profile_free(b);
	free(a);
	free(b);
	gt_err_free(&err);
}

int main(void)
{
	record_self();
	merge();
	char id[GT_BUILD_ID_MAX];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ok(gt_build_id_fd(fd, id) == 1 && strncmp(id, "gnu:", 4) == 0 && strlen(id) == 4 + 40,
	   "this test binary has a GNU build ID (sha1): %s", id);
	close(fd);
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ok(gt_build_id_fd(fd, id) == 0 && id[0] == '\0', "a non-ELF file has none");
	close(fd);

	char k1[17], k2[17], k3[17];
	gt_profile_key("/a", 1, 2, "gnu:abcd", k1);
	gt_profile_key("/b", 3, 4, "gnu:abcd", k2);
	gt_profile_key("/a", 1, 2, NULL, k3);
	ok(strcmp(k1, k2) == 0, "with a build ID the key ignores path, size and mtime");
	ok(strcmp(k1, k3) != 0 && strlen(k3) == 16, "without one it is path + size + mtime");

	struct gt_profile *p = calloc(1, sizeof(*p));
	gt_err_t err = NULL;
	const char v2[] = "gotune-profile 2\n"
			  "entry /usr/bin/app\t100\t5\tgo:6a67\n"
			  "file /usr/bin/app\t100\t5\tgo:6a67\t0+4096\n"
			  "file /etc/data\t9000\t7\t-\t0+4096,8192+808\n";
	ok(gt_profile_parse(v2, sizeof(v2) - 1, p, &err) == 0, "v2 parses");
	ok(strcmp(p->entry_id, "go:6a67") == 0 && p->n_files == 2 && strcmp(p->files[0].id, "go:6a67") == 0 &&
		   p->files[1].id[0] == '\0' && p->files[1].n_ranges == 2,
	   "entry and file IDs, '-' as none, ranges");
	gt_profile_free(p);
	const char v3[] = "gotune-profile 3\n"
			  "entry /usr/bin/app\t100000\t5\t-\n"
			  "file /usr/bin/app\t100000\t5\t-\t0+4096@3,4096+4096@1,16384+100\n";
	ok(gt_profile_parse(v3, sizeof(v3) - 1, p, &err) == 0 && p->n_files == 1 && p->files[0].n_ranges == 3 &&
		   p->files[0].ranges[0].t == 3 && p->files[0].ranges[1].t == 1 && p->files[0].ranges[2].t == 0,
	   "v3: each range with its first-seen time, or none");
	gt_profile_free(p);
	int rc;
	const char bad_t[] = "gotune-profile 3\nentry /a\t1\t1\t-\nfile /a\t1\t1\t-\t0+4096@x\n";
	rc = gt_profile_parse(bad_t, sizeof(bad_t) - 1, p, &err);
	ok(rc < 0, "a malformed time is refused: %s", gt_err_msg(err));
	gt_err_free(&err);
	gt_profile_free(p);
	const char v1[] = "gotune-profile 1\nentry /bin/app\t100\t5\nfile /bin/app\t100\t5\t0+4096\n";
	ok(gt_profile_parse(v1, sizeof(v1) - 1, p, &err) == 0 && p->n_files == 1 && p->entry_id[0] == '\0',
	   "v1 profiles (no IDs) are still read");
	gt_profile_free(p);
	const char bad[] = "gotune-profile 2\nentry /bin/app\t100\t5\tgnu:XYZ\n";
	rc = gt_profile_parse(bad, sizeof(bad) - 1, p, &err);
	ok(rc < 0 && err != NULL, "a malformed ID is refused: %s", gt_err_msg(err));
	gt_err_free(&err);
	gt_profile_free(p);

	/* Round trip through a file. */
	char dir[] = "/tmp/gotune-test-profile-XXXXXX";
	if (mkdtemp(dir) == NULL)
		return 1;
	memset(p, 0, sizeof(*p));
	snprintf(p->entry, sizeof(p->entry), "/bin/x");
	p->entry_size = 10;
	p->entry_mtime_ns = 20;
	snprintf(p->entry_id, sizeof(p->entry_id), "gnu:0011");
	gt_profile_add_at(p, "/bin/x", 10000, 20, 4096, 4096, 12, &err);
	snprintf(p->files[0].id, sizeof(p->files[0].id), "gnu:0011");
	ok(gt_profile_write(p, dir, &err) == 0, "write");
	char key[17];
	gt_profile_key("/elsewhere", 1, 1, "gnu:0011", key);
	struct gt_profile *q = calloc(1, sizeof(*q));
	ok(gt_profile_load(dir, key, q, &err) == 0 && strcmp(q->files[0].id, "gnu:0011") == 0 &&
		   q->files[0].ranges[0].off == 4096 && q->files[0].ranges[0].t == 12,
	   "loaded back by build-ID key, IDs, ranges and their times intact");
	char path[300];
	snprintf(path, sizeof(path), "%s/%s.profile", dir, key);
	unlink(path);

	/* A fresh host: the profile directory and its parents are missing. */
	char deep[100], parent[100];
	snprintf(parent, sizeof(parent), "%s/state", dir);
	snprintf(deep, sizeof(deep), "%s/state/profiles", dir);
	struct stat dst, pst;
	ok(gt_profile_write(p, deep, &err) == 0 && stat(deep, &dst) == 0 && stat(parent, &pst) == 0,
	   "write into a directory whose parents are missing: %s", err != NULL ? gt_err_msg(err) : "created");
	ok((dst.st_mode & 07777) == 0700 && (pst.st_mode & 07777) == 0755,
	   "... the directory 0700 (%o), a parent made for it 0755 (%o)", dst.st_mode & 07777, pst.st_mode & 07777);
	snprintf(path, sizeof(path), "%s/%s.profile", deep, key);
	unlink(path);
	rmdir(deep);
	rmdir(parent);

	/* Pruning: five profiles of increasing age and a stranger. */
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%016x.profile", dir, i);
		FILE *f = fopen(path, "w");
		if (f != NULL)
			fclose(f);
		struct timespec t[2] = { { 1000 + i, 0 }, { 1000 + i, 0 } };
		utimensat(AT_FDCWD, path, t, 0);
	}
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	FILE *f = fopen(path, "w");
	if (f != NULL)
		fclose(f);
	is_int((int)gt_profile_prune(dir, 3), 2, "prune to 3 of 5 removes 2");
	snprintf(path, sizeof(path), "%s/%016x.profile", dir, 0);
	ok(access(path, F_OK) != 0, "... the oldest");
	snprintf(path, sizeof(path), "%s/%016x.profile", dir, 4);
	ok(access(path, F_OK) == 0, "... not the newest");
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	ok(access(path, F_OK) == 0, "... and never a file that is not a profile");
	unlink(path);
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%016x.profile", dir, i);
		unlink(path);
	}
	rmdir(dir);
	gt_profile_free(p);
	gt_profile_free(q);
	free(p);
	free(q);
	gt_err_free(&err);
	return tap_done();
}
