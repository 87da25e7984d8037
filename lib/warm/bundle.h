/* A container's bundle for the page-cache work of the prestart hook and
 * the wrapper: its spec, the settings with its annotations applied, the
 * warming and the audit of the env it got. */
#ifndef GOTUNE_BUNDLE_H
#define GOTUNE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "fileio.h"
#include "notes.h"
#include "policy.h"
#include "profile.h"
#include "pwmode.h"
#include "spec.h"

/* A bundle's spec with the policy's settings and its annotations applied:
 * what the prestart hook and the wrapper's replay work from. */
struct gt_bundle {
	const char *bundle;
	struct gt_buf cfg;
	struct gt_spec spec;
	bool loaded;
	struct gt_settings settings;
	struct gt_notes notes;
	/* Set by gt_bundle_warm or gt_bundle_profile_state: the profile
	 * replayed ("" for none) and whether it is settled (a recorder would
	 * only find that out). */
	char prof_key[GT_PROFILE_KEY_LEN + 1];
	bool prof_settled;
	/* Called by gt_bundle_warm once those are set, before anything is
	 * read: the wrapper's reader tells the record hook of the same start
	 * (settledmark.h) before a long warm. NULL: none. */
	void (*looked_up)(struct gt_bundle *hb, void *ctx);
	void *looked_up_ctx;
};

int gt_bundle_load(struct gt_bundle *hb, const struct gt_policy *policy, const char *bundle, const char *config,
		     gt_err_t *err);
/* The same from a spec the caller has parsed and keeps while hb lives. */
void gt_bundle_from_spec(struct gt_bundle *hb, const struct gt_policy *policy, const char *bundle,
			 const struct gt_spec *spec);
void gt_bundle_free(struct gt_bundle *hb);

/* Whether there is anything to warm for it (decided before a reader is
 * forked): files the policy lists, the closure, or a recorded profile for
 * its entrypoint (looked up, not read). */
bool gt_bundle_wants_warm(struct gt_bundle *hb);
/* Its first half, without opening the rootfs: false when there can be
 * nothing to warm (warming off, nothing listed, no profile directory). */
bool gt_bundle_may_warm(const struct gt_bundle *hb);

/* The prewarm mode the settings ask for, as this runtime can take it
 * (under_crun: the hook runs under crun, whose hook timeout a detached
 * reader upsets). */
enum gt_pw_mode gt_bundle_mode(struct gt_bundle *hb, bool under_crun);

/* prof_key and prof_settled as gt_bundle_warm would set them, with
 * nothing warmed: the entrypoint's key and its profile read (the same
 * lookup the warm repeats, then from the page cache). */
void gt_bundle_profile_state(struct gt_bundle *hb);

/* The prestart hook's work on a bundle, in mode (background: fork a
 * reader for the warming): audit the env, warm the set (a recorded working
 * set when one matches, listed files, the closure by policy); one line of
 * summary. Also run by the wrapper. */
int gt_bundle_prewarm(struct gt_bundle *hb, enum gt_pw_mode mode, char *summary, size_t sumsz, gt_err_t *err);

/* Its two halves, for a caller that returns to the runtime between them:
 * what env the container got against the plan ("env ..."), and the set
 * warmed in mode ("prewarm ..."); then the line from both and the notes. */
void gt_bundle_audit(struct gt_bundle *hb, char *out, size_t outsz);
int gt_bundle_warm(struct gt_bundle *hb, enum gt_pw_mode mode, char *out, size_t outsz, gt_err_t *err);
void gt_bundle_summarize(const struct gt_bundle *hb, const char *audit, const char *warm, char *summary,
			 size_t sumsz);

#endif
