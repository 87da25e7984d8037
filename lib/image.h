/* Facts from the container image itself: the entrypoint, found inside the
 * rootfs with the same confinement as prewarm, and its Go build info. */
#ifndef GOTUNE_IMAGE_H
#define GOTUNE_IMAGE_H

#include "plan.h"
#include "spec.h"

/* Fills img; never fails: what could not be inspected is said in
 * img->note and the plan falls back to the defaults. bundle_dir resolves a
 * relative root.path (NULL: relative to the current directory). */
void gt_image_inspect(const struct gt_spec *spec, const char *bundle_dir, struct gt_image *img);

#endif
