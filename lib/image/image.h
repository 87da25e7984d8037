/* Facts from the container image itself: the entrypoint, found inside the
 * rootfs with the same confinement as prewarm, and its Go build info. */
#ifndef GOTUNE_IMAGE_H
#define GOTUNE_IMAGE_H

#include <stdbool.h>

#include "goinfo.h"
#include "spec.h"

/* What gotune learned from the image itself (the entrypoint's build info). */
struct gt_image {
	bool inspected;
	char note[200];		/* the entrypoint's path, or why it was not inspected */
	struct gt_goinfo go;
};

/* Fills img; never fails: what could not be inspected is said in
 * img->note and the plan falls back to the defaults. bundle_dir resolves a
 * relative root.path (NULL: relative to the current directory). */
void gt_image_inspect(const struct gt_spec *spec, const char *bundle_dir, struct gt_image *img);

#endif
