/* gotune's state directory: profiles and the fallback log. */
#ifndef GOTUNE_STATEDIR_H
#define GOTUNE_STATEDIR_H

/* Root's alone (0700); set by the build: localstatedir/lib/gotune. */
#ifndef GOTUNE_STATE_DIR
#define GOTUNE_STATE_DIR "/var/lib/gotune"
#endif
#define GT_STATE_DIR GOTUNE_STATE_DIR

#endif
