#include "recording.h"
#include "cleanup.h"
#include "elapsed.h"
#include "entry.h"
#include "event.h"
#include "memfmt.h"
#include "rootfs.h"
#include "warmset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The rootfs as the host sees it: root.path, relative to the bundle. */
static int root_of(const struct gt_spec *spec, const char *bundle, char *host, size_t hostsz, gt_err_t *err)
{
	static const char *const root_path[] = { "root", "path", NULL };
	const char *root = gt_spec_string(spec, root_path);
	if (root == NULL)
		return gt_error(err, 0, "spec has no root.path");
	int n = root[0] == '/' ? snprintf(host, hostsz, "%s", root) : snprintf(host, hostsz, "%s/%s", bundle, root);
	return n < 0 || (size_t)n >= hostsz ? gt_error(err, ENAMETOOLONG, "root.path") : 0;
}

static int entry_identity(const struct gt_spec *spec, const char *bundle, const char *dir, bool compute,
			  struct gt_profile *p, char *host, size_t hostsz, gt_err_t *err)
{
	static const char *const cwd_path[] = { "process", "cwd", NULL };
	if (root_of(spec, bundle, host, hostsz, err) < 0)
		return -1;
	struct gt_rootfs rfs;
	if (gt_rootfs_open(&rfs, host, err) < 0)
		return -1;
	struct gt_entry e = { .arg0 = gt_spec_arg0(spec), .env = spec->env, .n_env = spec->n_env,
			      .cwd = gt_spec_string(spec, cwd_path) };
	cleanup_close int fd = gt_entry_find(&rfs, &e, p->entry, sizeof(p->entry), err);
	gt_rootfs_close(&rfs);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return gt_error(err, errno, "stat the entrypoint");
	p->entry_size = (uint64_t)st.st_size;
	p->entry_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	gt_build_id_fd(fd, p->entry_id);
	return gt_profile_ident_of(fd, &st, gt_profile_image(spec), dir, compute, &p->ident, err);
}

int gt_profile_entry_for(const struct gt_spec *spec, const char *bundle, const char *dir, bool compute,
			 struct gt_profile *p, gt_err_t *err)
{
	char host[4200];
	return entry_identity(spec, bundle, dir, compute, p, host, sizeof(host), err);
}

int gt_profile_state_for(const struct gt_spec *spec, const char *bundle, const char *dir, struct gt_profile *p)
{
	char host[4200];
	gt_err_t err = NULL;
	memset(p, 0, sizeof(*p));
	int r = entry_identity(spec, bundle, dir, false, p, host, sizeof(host), &err);
	gt_err_free(&err);
	if (r != 0)
		return -1;
	struct gt_profile_ident id = p->ident;
	if (gt_profile_load(dir, &id, p, &err) < 0) {
		gt_err_free(&err);
		memset(p, 0, sizeof(*p));
		p->ident = id;
		return 0;
	}
	return 1;
}

bool gt_profile_settled_for(const struct gt_spec *spec, const char *bundle, const char *dir, char *key, size_t keysz)
{
	char host[4200];
	gt_err_t err = NULL;
	struct gt_profile *p = calloc(1, sizeof(*p));
	bool settled = p != NULL && entry_identity(spec, bundle, dir, false, p, host, sizeof(host), &err) == 0;
	struct gt_profile_ident id = settled ? p->ident : (struct gt_profile_ident){ 0 };
	if (settled) {
		memset(p, 0, sizeof(*p));
		bool loaded = gt_profile_load_head(dir, &id, p, &err) == 0;
		settled = loaded && p->settled >= GT_PROFILE_SETTLED;
		if (loaded)
			gt_profile_free(p);
	}
	if (settled)
		snprintf(key, keysz, "%s", id.key);
	gt_err_free(&err);
	free(p);
	return settled;
}

void gt_profile_touch(const char *dir, const char *key)
{
	char path[4200];
	if (gt_profile_path(dir, key, path, sizeof(path)) == 0)
		utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
}

/* A program that exits within milliseconds may be gone before a sample
 * sees all of its mappings: each recording adds to the profile earlier
 * ones left for the same entrypoint, so the set is learnt over runs. One
 * that adds nothing new counts towards settling the profile. "New" leaves
 * out pages within 64 KiB of a page the profile holds: on a fault the
 * kernel maps every page of the fault-around window (fault_around_bytes,
 * 64 KiB by default; do_fault_around -> filemap_map_pages) that is in the
 * page cache, and more of each file is cached with every start
 * (readahead, the replay). perl's profile grew by 20-400 KiB of such
 * neighbours a start without doing anything new, and one start over the
 * 64 KiB allowance began the count again: it settled late or never.
 * What is left must stay within 1%, or 64 KiB. */
#define FAULT_AROUND_BYTES (64u << 10)
/* A replay reads a profile past its head in order, and whole each aligned
 * 2 MiB block the profile holds a quarter of (prewarm.c read_in_order,
 * gt_ranges_dense_blocks), so a recording after it sees every neighbour
 * the kernel maps around the program's faults there. Until 2026-12-07
 * those blocks were read through a mapping advised MADV_HUGEPAGE, as one
 * 2 MiB folio each, which a later fault of the program mapped whole: 512
 * pages present for one touched (measured, Linux 6.18, ext4). A recording
 * after such a replay saw clang's profile grow from 58.7 to 126.9 MiB in
 * one start, and to 131.6 MiB in seven, though the program did nothing
 * new; replayed, that profile gave x0.772 of no prewarm against x0.729 for
 * the first recording alone (20 rounds each, 8 MiB readahead, 2026-12-07).
 * So the pages of a block the replay reads whole are not learnt: its
 * replay reads them anyway. */
static int merge_previous(struct gt_profile *p, const char *dir, uint64_t *fresh, uint64_t *far, gt_err_t *err)
{
	struct gt_profile *old = calloc(1, sizeof(*old));
	if (old == NULL)
		return gt_error(err, ENOMEM, "profile");
	gt_err_t miss = NULL;
	int rc = 0;
	*fresh = *far = UINT64_MAX;
	if (gt_profile_load(dir, &p->ident, old, &miss) == 0) {
		uint64_t total = 0;
		for (size_t i = 0; i < old->n_files; i++)
			for (size_t k = 0; k < old->files[i].n_ranges; k++)
				total += old->files[i].ranges[k].len;
		/* Not learnt: the pages a fault maps only because a replay of
		 * old left their block in the page cache as one large folio. */
		if (gt_profile_clip_blocks(p, old, GT_PW_BLOCK_BYTES) < 0) {
			rc = gt_error(err, ENOMEM, "profile");
		} else {
			uint64_t allowed = total / 100 > (64u << 10) ? total / 100 : (64u << 10);
			*far = gt_profile_new_bytes(p, old, FAULT_AROUND_BYTES, fresh);
			p->settled = *far <= allowed ? old->settled + 1 : 0;
			rc = gt_profile_merge(p, old, err);
		}
	}
	gt_err_free(&miss);
	gt_profile_free(old);
	free(old);
	return rc;
}

int gt_record_job_run(const struct gt_record_job *job, const struct timespec *t0, struct gt_profile **written)
{
	const struct gt_settings *s = job->s;
	const struct gt_record_opts record_opts = { .interval_ms = s->profile_interval_ms,
						    .settle_ms = s->profile_settle_ms,
						    .max_ms = s->profile_max_ms,
						    .fast_ms = job->quiet && !job->refine ? 100 : 0,
						    .idle_later = job->quiet,
						    .join_cgroup = job->join_cgroup };
	struct gt_profile *p = calloc(1, sizeof(*p));
	cleanup_err gt_err_t err = NULL;
	char host[4200];
	/* Sample first: a short program may be gone in a few ms; the
	 * entrypoint's identity does not change meanwhile. */
	char cg[200] = "";
	int rounds = p == NULL ? gt_error(&err, ENOMEM, "profile")
			       : gt_record(job->pid, &record_opts, p, cg, sizeof(cg), &err);
	int rc = rounds < 0 ? -1 : 0;
	if (rc == 0)
		rc = entry_identity(job->spec, job->bundle, job->dir, true, p, host, sizeof(host), &err);
	/* Build IDs are read through the bundle's rootfs, resolved inside it,
	 * once sampling is over (the processes may be gone by then). */
	struct gt_rootfs rfs;
	if (rc == 0 && gt_rootfs_open(&rfs, host, &err) == 0) {
		gt_profile_identify(p, &rfs);
		gt_rootfs_close(&rfs);
	}
	size_t sampled = rc == 0 ? p->n_files : 0;
	uint64_t sampled_bytes = 0, fresh = UINT64_MAX, far = UINT64_MAX;
	for (size_t i = 0; i < sampled; i++)
		for (size_t k = 0; k < p->files[i].n_ranges; k++)
			sampled_bytes += p->files[i].ranges[k].len;
	/* Nothing seen this time (the program was over first): the profile
	 * earlier recordings left stays as it is. */
	bool empty = rc == 0 && sampled == 0;
	if (rc == 0 && !empty)
		rc = merge_previous(p, job->dir, &fresh, &far, &err);
	if (rc == 0 && !empty) {
		gt_profile_fit(p);
		rc = gt_profile_write(p, job->dir, &err);
	}
	char group[17] = "";
	if (rc == 0)
		snprintf(group, sizeof(group), "%.16s", p->ident.key);
	unsigned pruned = rc == 0 && !empty ? gt_profile_prune(job->dir, group, s->profile_max_per_image,
							       s->profile_max_count)
					    : 0;
	char detail[1200], b1[32], b2[32], b3[32], b4[32], news[160] = "";
	uint64_t total = 0;
	for (size_t i = 0; rc == 0 && i < p->n_files; i++)
		for (size_t k = 0; k < p->files[i].n_ranges; k++)
			total += p->files[i].ranges[k].len;
	gt_memhuman(sampled_bytes, b1, sizeof(b1));
	gt_memhuman(total, b2, sizeof(b2));
	if (rc == 0 && fresh != UINT64_MAX) {
		gt_memhuman(fresh, b3, sizeof(b3));
		gt_memhuman(far, b4, sizeof(b4));
		snprintf(news, sizeof(news), ", %s new (%s beyond 64 KiB of a page it held)%s", b3, b4,
			 p->settled >= GT_PROFILE_SETTLED ? ": settled, not recorded again"
			 : p->settled > 0		 ? " (nothing new)"
							 : "");
	}
	if (rc < 0)
		snprintf(detail, sizeof(detail), "pid %d%s: nothing written", (int)job->pid, job->wait);
	else if (empty)
		snprintf(detail, sizeof(detail), "pid %d%s: nothing sampled in %d sample%s (the process exited "
			 "first, or mapped no file of its root); no profile written", (int)job->pid, job->wait, rounds,
			 rounds == 1 ? "" : "s");
	else
		snprintf(detail, sizeof(detail), "pid %d%s: %zu files, %s in %d samples; %s/%s.profile now %zu files, "
			 "%s%s%s%s%s", (int)job->pid, job->wait, sampled, b1, rounds, job->dir, p->ident.key, p->n_files, b2,
			 news, pruned > 0 ? " (older profiles pruned)" : "", cg[0] || job->note ? "; " : "",
			 cg[0] ? cg : job->note ? job->note : "");
	struct gt_log_event ev = { .entry = "recorder", .id = job->id, .outcome = rc < 0 ? "failed" : empty ? "empty" : "recorded",
				   .error = rc < 0 ? gt_err_msg(err) : NULL, .detail = detail,
				   .ms = gt_elapsed_ms(t0) };
	gt_log_event(&ev, job->log_file);
	if (rc == 0 && !empty && written != NULL) {
		*written = p;
		p = NULL;
	}
	if (p != NULL) {
		gt_profile_free(p);
		free(p);
	}
	return rc < 0 ? -1 : 0;
}
