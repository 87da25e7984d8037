/* An OCI runtime spec (config.json) held as its original text plus a yajl
 * tree, so values can be read from the tree while the output is the input
 * with only process.env spliced. */
#ifndef GOTUNE_SPEC_H
#define GOTUNE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "err.h"
#include "fileio.h"
#include "json_scan.h"

#define GT_SPEC_MAX_BYTES (16u << 20)
#define GT_SPEC_MAX_ENV 65536

struct gt_spec {
	const char *text;	/* borrowed; must outlive the spec */
	size_t len;
	yajl_val tree;

	struct gt_span process;	/* the process object */
	bool has_env;
	bool env_null;		/* "env": null, which Go engines read as empty */
	struct gt_span env_span;	/* the env array, or the null literal */
	size_t n_env;
	struct gt_span *env_items;
	const char **env;	/* the entries, pointing into tree */
};

/* Parses text (NUL-terminated, len bytes). Fails on invalid JSON, on a spec
 * too large or too deep, on a spec without a process object, or on an env
 * that is not an array of strings. */
int gt_spec_parse(struct gt_spec *spec, const char *text, size_t len, gt_err_t *err);
/* The same for a process object alone (what `runc exec --process FILE`
 * reads): the root is the process, and rendering edits its env. */
int gt_spec_parse_process(struct gt_spec *spec, const char *text, size_t len, gt_err_t *err);
void gt_spec_free(struct gt_spec *spec);
#define cleanup_spec __attribute__((cleanup(gt_spec_free)))

/* String annotation value, or NULL. */
const char *gt_spec_annotation(const struct gt_spec *spec, const char *key);

/* One change to process.env: replace item `index` with entry, delete it
 * when entry is NULL, or append entry when index is GT_ENV_APPEND. entry is
 * "KEY=VALUE". */
#define GT_ENV_APPEND ((size_t)-1)
struct gt_env_edit {
	size_t index;
	char *entry;
};

/* Writes the spec with the edits applied into *out. Every byte outside
 * process.env is copied unchanged. */
int gt_spec_render(const struct gt_spec *spec, const struct gt_env_edit *edits, size_t n_edits,
		   struct gt_buf *out, gt_err_t *err);

/* Besides the env: a top-level member set to JSON text, and an annotation
 * set to a string (NULL keys: none). Each replaced in place, or added
 * first in its object ("annotations" made when there is none). */
struct gt_spec_extras {
	const char *member, *member_json;
	const char *annotation, *annotation_value;
};

/* The same as gt_spec_render, with the extras. */
int gt_spec_render_member(const struct gt_spec *spec, const struct gt_env_edit *edits, size_t n_edits,
			  const struct gt_spec_extras *x, struct gt_buf *out, gt_err_t *err);

/* String at a path of object keys (e.g. {"root","path",NULL}), or NULL. */
const char *gt_spec_string(const struct gt_spec *spec, const char *const *path);

/* process.args[0], or NULL. */
const char *gt_spec_arg0(const struct gt_spec *spec);

#endif
