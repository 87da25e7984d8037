/* Per-container control through annotations under one prefix. Values come
 * from whoever writes the pod or container spec, so each is validated and
 * a bad one is ignored with a note: it never stops the container. */
#ifndef GOTUNE_ANNOTATIONS_H
#define GOTUNE_ANNOTATIONS_H

#include "notes.h"
#include "policy.h"

#define GT_ANNOTATION_PREFIX "gotune.io/"

/* Looks up an annotation by full key; returns NULL when absent. */
typedef const char *(*gt_annotation_fn)(void *ctx, const char *key);

/* Applies every gotune.io/ annotation found through get over s. */
void gt_annotations_apply(struct gt_settings *s, gt_annotation_fn get, void *ctx, struct gt_notes *notes);

/* Notes key when it is under gotune.io/ (or NRI's per-container pod form
 * NAME.gotune.io/container.CONTAINER) and gotune does not know it, with
 * the known key it most likely meant: a misspelled key would otherwise be
 * ignored in silence. Callers pass every annotation key they hold. */
void gt_annotation_check_key(const char *key, struct gt_notes *notes);

/* Annotation keys gotune knows, NULL-terminated. */
extern const char *const gt_annotation_keys[];

#endif
