/* The page-cache engine on real files: ranges, dedupe by inode, budgets,
 * and residency going up for real after each synchronous mode. Pages are
 * evicted between cases with POSIX_FADV_DONTNEED (clean pages of a file we
 * just wrote and synced). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pagemarks.h"
#include "prewarm.h"
#include "pwreport.h"
#include "tap.h"

static char dir[] = "/var/tmp/gt-prewarm-XXXXXX";

static void make_file(const char *name, size_t bytes)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char buf[65536];
	memset(buf, 'x', sizeof(buf));
	for (size_t w = 0; w < bytes; w += sizeof(buf))
		if (write(fd, buf, bytes - w < sizeof(buf) ? bytes - w : sizeof(buf)) < 0)
			break;
	fsync(fd);
	close(fd);
}

static int open_file(const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return open(p, O_RDONLY | O_CLOEXEC);
}

/* Evicts the file from the page cache; true when it worked (tmpfs cannot). */
static int evict(const char *name)
{
	int fd = open_file(name);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	uint64_t pages, res;
	gt_err_t err = NULL;
	gt_residency(fd, 0, 1 << 30, &pages, &res, &err);
	struct stat st;
	fstat(fd, &st);
	gt_residency(fd, 0, (uint64_t)st.st_size, &pages, &res, &err);
	gt_err_free(&err);
	close(fd);
	return res == 0;
}

int main(void)
{
	struct gt_range r[] = { { 100, 50, 0 }, { 0, 10, 0 }, { 140, 100, 0 }, { 5000, 10, 0 }, { 9000, 5, 0 }, { 20, 0, 0 } };
	size_t n = gt_ranges_normalize(r, 6, 5005);
	is_int(n, 3, "ranges merged, empty and out-of-file dropped");
	ok(r[0].off == 0 && r[0].len == 10 && r[1].off == 100 && r[1].len == 140 && r[2].off == 5000 && r[2].len == 5,
	   "sorted, overlaps merged, clipped to the file size");

	/* First-seen times: touching ranges of other times stay apart (replay
	 * reads them in that order); overlaps merge and keep the earlier;
	 * untimed (0) counts as latest. */
	struct gt_range tr[] = { { 0, 4096, 7 }, { 4096, 4096, 3 }, { 8192, 4096, 3 }, { 10000, 8192, 9 },
				 { 30000, 10, 0 }, { 30005, 10, 4 } };
	n = gt_ranges_normalize(tr, 6, 1u << 20);
	ok(n == 3 && tr[0].off == 0 && tr[0].len == 4096 && tr[0].t == 7 && tr[1].off == 4096 &&
		   tr[1].len == 14096 && tr[1].t == 3 && tr[2].off == 30000 && tr[2].len == 15 && tr[2].t == 4,
	   "timed ranges: apart when touching at other times, merged with the earlier time when overlapping");
	struct gt_range a[] = { { 0, 100, 1 }, { 200, 100, 2 }, { 400, 100, 3 } }, b[] = { { 50, 200, 0 }, { 420, 10, 0 } };
	struct gt_range out[5];
	n = gt_ranges_subtract(a, 3, b, 2, out);
	ok(n == 4 && out[0].off == 0 && out[0].len == 50 && out[1].off == 250 && out[1].len == 50 && out[1].t == 2 &&
		   out[2].off == 400 && out[2].len == 20 && out[3].off == 430 && out[3].len == 70 && out[3].t == 3,
	   "subtract: the parts of a outside b, with a's times");

	/* The blocks a replay reads whole: those ranges hold a quarter of. */
	const uint64_t blk = 1u << 20;
	struct gt_range d[] = { { 0, blk / 4, 0 },		 /* a quarter exactly: dense */
				{ blk + 4096, blk / 4 - 8192, 0 }, /* less than a quarter */
				{ 3 * blk - 4096, 2 * blk + 8192, 0 }, /* the end of 2, 3 and 4 whole, the start of 5 */
				{ 5 * blk + blk / 2, blk / 4, 0 },	 /* with the last: a quarter of block 5 */
				{ 9 * blk, 4096, 0 } };		 /* the last block of the file: 8 KiB long */
	struct gt_range dense[6];
	n = gt_ranges_dense_blocks(d, 5, blk, 9 * blk + 8192, dense);
	ok(n == 3 && dense[0].off == 0 && dense[0].len == blk && dense[1].off == 3 * blk && dense[1].len == 3 * blk &&
		   dense[2].off == 9 * blk && dense[2].len == 8192,
	   "dense blocks: a quarter held, whole blocks and a short last one; runs merged (%zu runs)", n);
	struct gt_range twice[] = { { 0, blk, 0 }, { 0, blk, 0 }, { 0, blk, 0 } };
	dense[4] = (struct gt_range){ 7, 7, 7 };
	n = gt_ranges_dense_blocks(twice, 3, blk, 4 * blk, dense);
	ok(n <= 4 && dense[0].off == 0 && dense[4].off == 7, "dense blocks: ranges not normalized stay within n + 1 runs (%zu)",
	   n);

	enum gt_pw_mode m;
	ok(gt_pw_mode_parse("populate", &m) == 0 && m == GT_PW_POPULATE, "mode names");
	ok(gt_pw_mode_parse("fast", &m) < 0, "unknown mode");
	ok(gt_readahead_cap(0) >= 4096, "readahead cap has a floor");

	if (mkdtemp(dir) == NULL)
		return 99;
	make_file("a", 4u << 20);
	make_file("b", 1u << 20);
	make_file("empty", 0);
	char pa[256], pl[256];
	snprintf(pa, sizeof(pa), "%s/a", dir);
	snprintf(pl, sizeof(pl), "%s/a-link", dir);
	ok(link(pa, pl) == 0, "hard link made");

	struct gt_pw_set set = { 0 };
	gt_err_t err = NULL;
	ok(gt_pw_set_add(&set, "/a", open_file("a"), NULL, 0, &err) == 0, "add a");
	ok(gt_pw_set_add(&set, "/a-link", open_file("a-link"), NULL, 0, &err) == 0, "add its hard link");
	is_int(set.n, 1, "same inode warmed once");
	is_int(set.duplicates, 1, "duplicate counted");
	ok(gt_pw_set_add(&set, "/dir", open(dir, O_RDONLY), NULL, 0, &err) < 0, "a directory is refused");
	gt_err_free(&err);
	ok(gt_pw_set_add(&set, "/empty", open_file("empty"), NULL, 0, &err) == 0, "empty file accepted");

	int evictable = evict("a");
	struct gt_pw_report rep;
	struct gt_pw_budget budget = GT_PW_DEFAULT_BUDGET;
	ok(gt_prewarm(&set, GT_PW_POPULATE, &budget, &rep, &err) == 0, "populate runs");
	if (evictable) {
		is_int(rep.resident_before, 0, "nothing resident before");
		is_int(rep.resident_after, rep.pages, "populate: every page resident after");
	} else {
		ok(1, "# SKIP page cache eviction does not work on %s", dir);
		ok(1, "# SKIP page cache eviction does not work on %s", dir);
	}
	is_int(rep.requested, 4u << 20, "requested bytes = file size");
	is_str(set.files[1].skipped, "empty", "empty file skipped with a reason");
	gt_pw_set_free(&set);

	/* ranges only */
	evict("a");
	struct gt_range want[] = { { 1u << 20, 8192, 0 }, { 3u << 20, 4096, 0 } };
	gt_pw_set_add(&set, "/a", open_file("a"), want, 2, &err);
	gt_prewarm(&set, GT_PW_POPULATE, &budget, &rep, &err);
	is_int(rep.requested, 12288, "only the ranges are read");
	is_int(rep.pages, 3, "pages counted over the ranges");
	if (evictable) {
		uint64_t pages, res;
		gt_residency(set.files[0].fd, 0, 1u << 20, &pages, &res, &err);
		ok(res < 64, "the first MiB, outside the ranges, was not read in (%llu pages)", (unsigned long long)res);
	} else {
		ok(1, "# SKIP eviction unavailable");
	}
	gt_pw_set_free(&set);

	/* budgets */
	evict("a");
	evict("b");
	budget = GT_PW_DEFAULT_BUDGET;
	budget.max_file_bytes = 1u << 20;
	gt_pw_set_add(&set, "/a", open_file("a"), NULL, 0, &err);
	gt_pw_set_add(&set, "/b", open_file("b"), NULL, 0, &err);
	gt_prewarm(&set, GT_PW_POPULATE, &budget, &rep, &err);
	is_int(set.files[0].requested, 1u << 20, "max_file_bytes caps one file");
	is_str(set.files[0].skipped, "max_file_bytes", "and says so");
	is_int(set.files[1].requested, 1u << 20, "the next file still warms");
	gt_pw_set_free(&set);

	/* max_file_bytes ending inside the third of three ranges: the first
	 * two are still read whole, in every mode. */
	for (int mode = GT_PW_WILLNEED; mode <= GT_PW_POPULATE; mode++) {
		budget = GT_PW_DEFAULT_BUDGET;
		budget.max_file_bytes = 12288;
		struct gt_range three[] = { { 0, 4096, 0 }, { 1u << 20, 4096, 0 }, { 2u << 20, 8192, 0 } };
		gt_pw_set_add(&set, "/a", open_file("a"), three, 3, &err);
		gt_prewarm(&set, (enum gt_pw_mode)mode, &budget, &rep, &err);
		is_int(set.files[0].requested, 12288, "%s: max_file_bytes inside the last range: all before it read",
		       gt_pw_mode_name((enum gt_pw_mode)mode));
		gt_pw_set_free(&set);
	}

	budget = GT_PW_DEFAULT_BUDGET;
	budget.max_bytes = (4u << 20) + 8192;
	gt_pw_set_add(&set, "/a", open_file("a"), NULL, 0, &err);
	gt_pw_set_add(&set, "/b", open_file("b"), NULL, 0, &err);
	gt_prewarm(&set, GT_PW_POPULATE, &budget, &rep, &err);
	is_int(rep.requested, (4u << 20) + 8192, "max_bytes caps the total");
	is_str(rep.stopped, "max_bytes", "and the report names the budget");
	gt_pw_set_free(&set);

	budget = GT_PW_DEFAULT_BUDGET;
	budget.max_files = 1;
	gt_pw_set_add(&set, "/a", open_file("a"), NULL, 0, &err);
	gt_pw_set_add(&set, "/b", open_file("b"), NULL, 0, &err);
	gt_prewarm(&set, GT_PW_WILLNEED, &budget, &rep, &err);
	is_int(rep.files_skipped, 1, "max_files");
	gt_pw_set_free(&set);

	/* willneed and background return; background leaves the work to a child */
	evict("a");
	gt_pw_set_add(&set, "/a", open_file("a"), NULL, 0, &err);
	budget = GT_PW_DEFAULT_BUDGET;
	ok(gt_prewarm(&set, GT_PW_WILLNEED, &budget, &rep, &err) == 0, "willneed runs");
	is_int(rep.requested, 4u << 20, "willneed asks for the whole file");
	gt_pw_set_free(&set);
	if (evictable) {
		evict("a");
		gt_pw_set_add(&set, "/a", open_file("a"), NULL, 0, &err);
		ok(gt_prewarm(&set, GT_PW_BACKGROUND, &budget, &rep, &err) == 0, "background returns");
		uint64_t pages = 0, res = 0;
		for (int i = 0; i < 200 && (res < pages || pages == 0); i++) {
			usleep(10000);
			gt_residency(set.files[0].fd, 0, 4u << 20, &pages, &res, &err);
		}
		is_int(res, pages, "the detached child read the whole file");
		gt_pw_set_free(&set);
	}

	/* A detached worker's willneed: the head queued, the rest read in
	 * order before it returns; a set within the head only queued. */
	make_file("big", GT_PW_DETACHED_HEAD + (16u << 20));
	int big_evicted = evict("big");
	gt_pw_set_add(&set, "/big", open_file("big"), NULL, 0, &err);
	budget = GT_PW_DEFAULT_BUDGET;
	ok(gt_prewarm(&set, GT_PW_DETACHED, &budget, &rep, &err) == 0, "detached willneed runs");
	is_int(rep.requested, GT_PW_DETACHED_HEAD + (16u << 20), "detached: the whole file asked for");
	ok(rep.in_order >= (8u << 20) && rep.in_order <= (16u << 20), "detached: past the head read in order (%llu bytes)",
	   (unsigned long long)rep.in_order);
	if (big_evicted) {
		uint64_t pages = 0, res = 0;
		uint64_t tail = rep.requested - rep.in_order;
		gt_residency(set.files[0].fd, tail, rep.in_order, &pages, &res, &err);
		is_int(res, pages, "detached: what it read in order is resident when it returns");
	} else {
		ok(1, "# SKIP page cache eviction does not work on %s", dir);
	}
	char sum[512];
	gt_pw_summary(&set, &rep, sum, sizeof(sum));
	ok(strstr(sum, "prewarm willneed:") != NULL && strstr(sum, "read in order") != NULL,
	   "detached: named willneed, the part read in order said (%s)", sum);
	gt_pw_set_free(&set);
	evict("a");
	gt_pw_set_add(&set, "/a", open_file("a"), NULL, 0, &err);
	ok(gt_prewarm(&set, GT_PW_DETACHED, &budget, &rep, &err) == 0 && rep.in_order == 0 &&
		   rep.requested == (4u << 20),
	   "detached: a set within the head is only queued");
	gt_pw_set_free(&set);
	/* Past the head, only the parts in dense blocks are read in order:
	 * half a block is, 64 KiB of one is queued. */
	make_file("mixed", GT_PW_DETACHED_HEAD + (8u << 20));
	struct gt_range mr[] = { { 0, GT_PW_DETACHED_HEAD, 0 },
				 { GT_PW_DETACHED_HEAD, GT_PW_BLOCK_BYTES / 2, 0 },
				 { GT_PW_DETACHED_HEAD + 2 * GT_PW_BLOCK_BYTES, 65536, 0 } };
	int mixed_evicted = evict("mixed");
	gt_pw_set_add(&set, "/mixed", open_file("mixed"), mr, 3, &err);
	int mixed_rc = gt_prewarm(&set, GT_PW_DETACHED, &budget, &rep, &err);
	ok(mixed_rc == 0 &&
		   rep.requested == GT_PW_DETACHED_HEAD + GT_PW_BLOCK_BYTES / 2 + 65536 &&
		   rep.in_order == GT_PW_BLOCK_BYTES / 2,
	   "detached: a dense block read in order, a sparse one queued (%llu of %llu bytes in order)",
	   (unsigned long long)rep.in_order, (unsigned long long)rep.requested);
	if (mixed_evicted) {
		uint64_t pages = 0, res = 0;
		gt_residency(set.files[0].fd, GT_PW_DETACHED_HEAD, GT_PW_BLOCK_BYTES, &pages, &res, &err);
		ok(res == pages, "detached: the dense block is resident whole when it returns (%llu of %llu pages)",
		   (unsigned long long)res, (unsigned long long)pages);
	} else {
		ok(1, "# SKIP page cache eviction does not work on %s", dir);
	}
	gt_pw_set_free(&set);

	/* What it reads in order carries no readahead mark: a marked page
	 * makes the program's first touch read ahead from the next page not
	 * cached (page_cache_async_ra), up to the device's readahead each
	 * time, at the program's I/O class. */
	const uint64_t past = 3 * GT_PW_BLOCK_BYTES + 12288; /* the last block short */
	make_file("marks", GT_PW_DETACHED_HEAD + past);
	int marks_evicted = evict("marks");
	gt_pw_set_add(&set, "/marks", open_file("marks"), NULL, 0, &err);
	/* Best effort, level 4 (IOPRIO_WHO_PROCESS, ourselves): the modes
	 * before left the idle class set. */
	syscall(SYS_ioprio_set, 1, 0, 2 << 13 | 4);
	long io_before = syscall(SYS_ioprio_get, 1, 0);
	int marks_rc = gt_prewarm(&set, GT_PW_DETACHED, &budget, &rep, &err);
	long io_after = syscall(SYS_ioprio_get, 1, 0);
	ok(marks_rc == 0 && rep.in_order == past && set.files[0].skipped == NULL,
	   "detached: the blocks past the head read in order, the file's short last one too (%llu bytes; %s)",
	   (unsigned long long)rep.in_order, set.files[0].skipped ? set.files[0].skipped : "not skipped");
	/* The head is queued at the idle class; what it waits for is read at
	 * the class it had, ours. */
	gt_pw_summary(&set, &rep, sum, sizeof(sum));
	ok(rep.io_idle && rep.in_order_own_class && io_before == (2 << 13 | 4) && io_after == io_before && strstr(sum, "idle I/O class for what it queued"),
	   "detached: the head at the idle class, the blocks in order at its own (%ld -> %ld; %s)", io_before, io_after,
	   sum);
	long marked = marks_evicted ? marked_pages(set.files[0].fd, GT_PW_DETACHED_HEAD, past) : -1;
	if (marked >= 0)
		is_int(marked, 0, "detached: no page it read in order is marked PG_readahead");
	else
		ok(1, "# SKIP no eviction or no frame numbers in pagemap (not root) on %s", dir);
	gt_pw_set_free(&set);

	/* a file truncated under us: no SIGBUS */
	make_file("shrink", 2u << 20);
	gt_pw_set_add(&set, "/shrink", open_file("shrink"), NULL, 0, &err);
	char ps[256];
	snprintf(ps, sizeof(ps), "%s/shrink", dir);
	ok(truncate(ps, 4096) == 0, "file truncated to one page");
	ok(gt_prewarm(&set, GT_PW_POPULATE, &budget, &rep, &err) == 0, "file truncated under us: no crash");
	gt_pw_set_free(&set);
	/* the same past a detached worker's head, where it reads in order */
	make_file("shrink", GT_PW_DETACHED_HEAD + (4u << 20));
	gt_pw_set_add(&set, "/shrink", open_file("shrink"), NULL, 0, &err);
	ok(truncate(ps, 4096) == 0, "file past the head truncated to one page");
	ok(gt_prewarm(&set, GT_PW_DETACHED, &budget, &rep, &err) == 0 && rep.in_order == 0,
	   "detached, file truncated under us: no crash, nothing counted as read in order");
	is_str(set.files[0].skipped, "file changed while warming", "detached: the shrunk file is named");
	gt_pw_set_free(&set);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	gt_err_free(&err);
	return tap_done();
}
