/* Which files of a container to warm: its entrypoint closure and the files
 * the policy or an annotation lists, all resolved inside its rootfs. */
#ifndef GOTUNE_WARMSET_H
#define GOTUNE_WARMSET_H

#include "closure.h"
#include "notes.h"
#include "profile.h"
#include "policy.h"
#include "prewarm.h"
#include "rootfs.h"
#include "spec.h"

/* Adds a file, or the regular files directly inside a directory. */
int gt_warmset_add_path(struct gt_pw_set *set, const struct gt_rootfs *root, const char *path, unsigned max_files,
			struct gt_notes *notes, gt_err_t *err);

/* What a set was built from, for the log line: the recorded working set
 * and the rest (listed files, and the closure when no profile replaces
 * it), each with what was left out and why. */
struct gt_warmset_info {
	char key[GT_PROFILE_KEY_LEN + 1];	/* the profile replayed; "" for none */
	unsigned prof_files;	/* its files in the set */
	unsigned prof_total;	/* its files recorded */
	unsigned prof_settled;	/* recordings in a row that added nothing (GT_PROFILE_SETTLED: no more) */
	unsigned prof_changed;	/* not the recorded file any more: skipped */
	uint64_t prof_bytes;	/* its bytes in the set */
	uint64_t prof_over;	/* bytes beyond profile.max_bytes: left out */
	unsigned other_files;	/* listed files and the closure */
	uint64_t other_bytes;
	bool other_over;	/* over prewarm.max_set_bytes: left out */
	bool closure;		/* the closure is among them */
};

/* The set for a container: a recorded working set for its entrypoint
 * (from s->profile_dir, up to s->profile_max_bytes) replaces the closure;
 * listed files (and the closure, by policy) are added when together they
 * are within s->prewarm.max_set_bytes. */
int gt_warmset_from_spec(struct gt_pw_set *set, const struct gt_rootfs *root, const struct gt_spec *spec,
			 const struct gt_settings *s, struct gt_warmset_info *info, struct gt_notes *notes,
			 gt_err_t *err);

/* The engine's budget for such a set: the profile's bytes and files on
 * top of the policy's budget, which bounds the rest. */
struct gt_pw_budget gt_warmset_budget(const struct gt_settings *s, const struct gt_warmset_info *info);

/* "profile KEY replayed: 19 of 19 files, 67.0MiB; listed: 1 files 4.0MiB":
 * where the set came from and what was left out, and why. */
void gt_warmset_describe(const struct gt_warmset_info *info, const struct gt_settings *s, char *out, size_t outsz);

/* The recorded working set for an entrypoint, as replay looks it up. */
struct gt_profile_match {
	char entry[4096];		/* the entrypoint inside the rootfs */
	struct gt_profile_ident ident;	/* its content and image */
	bool unidentified;		/* its content ID is not cached yet */
	char key[GT_PROFILE_KEY_LEN + 1];
	struct gt_profile *profile;	/* NULL when none is recorded */
};
/* 1 with m->profile set, 0 when none is recorded (or the entrypoint's
 * content is not identified yet: m->unidentified), -1 when the entrypoint
 * is not found. image: gt_profile_image's. Free with
 * gt_profile_match_free. */
int gt_warmset_find_profile(const struct gt_rootfs *root, const struct gt_entry *e, const char *image,
			    const char *dir, struct gt_profile_match *m);
void gt_profile_match_free(struct gt_profile_match *m);

/* Whether dir holds a profile for the entrypoint: its key (from the
 * content-ID cache) and a stat, no profile read. */
bool gt_warmset_has_profile(const struct gt_rootfs *root, const struct gt_entry *e, const char *image,
			    const char *dir);

/* Bytes the set would read. */
uint64_t gt_warmset_bytes(const struct gt_pw_set *set);

#endif
