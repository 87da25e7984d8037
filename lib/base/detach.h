/* Leaving the caller's process context: what a detached worker (background
 * prewarm, the working-set recorder, the wrapper's replay) does first. */
#ifndef GOTUNE_DETACH_H
#define GOTUNE_DETACH_H

#include <stdbool.h>

/* New session, stdin/stdout/stderr on /dev/null, every other fd closed
 * but those keep (may be NULL) says to keep. An inherited stdio pipe or
 * sync fd would keep a runtime or engine waiting for EOF. */
void gt_detach(bool (*keep)(int fd, const void *ctx), const void *ctx);

#endif
