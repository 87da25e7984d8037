/* Bounded reads and crash-safe replacement of files. */
#ifndef GOTUNE_FILEIO_H
#define GOTUNE_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "err.h"

struct gt_buf {
	char *data;	/* NUL-terminated for convenience; len excludes the NUL */
	size_t len;
};

void gt_buf_free(struct gt_buf *b);
#define cleanup_buf __attribute__((cleanup(gt_buf_free)))

/* Reads fd to EOF, refusing more than max bytes. On a too-large input it
 * fails with errno_ EFBIG but leaves the max + 1 bytes read so far in *out,
 * so a filter can still pass its whole input through unchanged. */
int gt_read_fd(int fd, size_t max, struct gt_buf *out, gt_err_t *err);

/* Reads a regular file (never a FIFO or device: those could block or never
 * end) relative to dirfd, with the same bound. */
int gt_read_file_at(int dirfd, const char *path, size_t max, struct gt_buf *out, gt_err_t *err);
/* The same, and the file's stat taken before reading: whatever changes
 * the file after that changes its ctime. */
int gt_read_file_at_stat(int dirfd, const char *path, size_t max, struct gt_buf *out, struct stat *st,
			 gt_err_t *err);

/* Which file, in which version: a file replaced or written since has
 * another inode or ctime, and no one can set a ctime back. */
struct gt_file_id {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};
void gt_file_id_of(const struct stat *st, struct gt_file_id *id);
bool gt_file_id_equal(const struct gt_file_id *a, const struct gt_file_id *b);

/* Replaces dirfd/name with data so that a reader sees the old or the new
 * content and never a mix: temp file in the same directory, same mode and
 * owner as the file it replaces (0600 and ours for a new file), fsync
 * (not on tmpfs, where it does nothing), rename. */
int gt_write_atomic_at(int dirfd, const char *name, const char *data, size_t len, gt_err_t *err);
/* The same, and the new file's stat once it is in place (written: NULL
 * for none). */
int gt_write_atomic_at_stat(int dirfd, const char *name, const char *data, size_t len, struct stat *written,
			    gt_err_t *err);
/* The same; without durable, no fsync: a reader still sees the old or the
 * new text whole, and a crash may lose the update (counters, a status). */
int gt_replace_at(int dirfd, const char *name, const char *data, size_t len, bool durable, gt_err_t *err);

/* The same for gotune's own state (profiles): the replacement is 0600 and
 * root's whatever the file it replaces says. A directory that is setgid
 * (Debian's /var/local, group staff) gives a new file its group; keeping
 * that group would need a chown the recorder's confinement refuses, and
 * the file is root's alone by its mode anyway. */
int gt_write_private_at(int dirfd, const char *name, const char *data, size_t len, bool durable, gt_err_t *err);

/* Writes all of data, retrying short writes and EINTR. */
int gt_write_all(int fd, const char *data, size_t len, gt_err_t *err);

/* Creates the directory path with mode (0700 for gotune's state) and any
 * missing parents with 0755, as `install -d -m MODE` does; components that
 * exist are left as they are. */
int gt_mkdir_p(const char *path, mode_t mode, gt_err_t *err);

/* Copies fd in to fd out until EOF. */
int gt_copy_fd(int in, int out, gt_err_t *err);

#endif
