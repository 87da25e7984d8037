/* gotune's state directories: profiles and the fallback log; records
 * that last until the machine stops. */
#ifndef GOTUNE_STATEDIR_H
#define GOTUNE_STATEDIR_H

/* Root's alone (0700); set by the build: localstatedir/lib/gotune. */
#ifndef GOTUNE_STATE_DIR
#define GOTUNE_STATE_DIR "/var/lib/gotune"
#endif
#define GT_STATE_DIR GOTUNE_STATE_DIR

/* Where gotune keeps what lasts only as long as the machine runs, as the
 * runtimes keep their state (/run/runc, /run/crun): a tmpfs on most hosts.
 * Root's alone; set by the build. */
#ifndef GOTUNE_RUN_DIR
#define GOTUNE_RUN_DIR "/run/gotune"
#endif
#define GT_RUN_DIR GOTUNE_RUN_DIR
/* The wrapper's exec records (gt_execrec), one per container it created. */
#define GT_EXEC_RECORD_DIR GT_RUN_DIR "/exec"
/* The wrapper's reader's settled marks for the record hook (settledmark.h). */
#define GT_SETTLED_DIR GT_RUN_DIR "/settled"

#endif
