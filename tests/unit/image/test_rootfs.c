/* A hostile rootfs: links out of the root, ".." chains, loops, a FIFO named
 * like a library, a device, a socket. Every case runs with openat2 and
 * with the forced fallback walk, and both must agree. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "rootfs.h"
#include "tap.h"

static char top[] = "/tmp/gt-rootfs-XXXXXX";
static char root[256], outside[256];

static void put(const char *rel, const char *content)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	if (f != NULL) {
		fputs(content, f);
		fclose(f);
	}
}

static void lnk(const char *target, const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (symlink(target, p) < 0)
		printf("# symlink %s: %s\n", rel, strerror(errno));
}

static void dir(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	mkdir(p, 0755);
}

/* Resolves rel in both modes; returns the inode (0 on failure) and checks
 * they agree. */
static ino_t both(struct gt_rootfs *r, const char *rel, const char *desc)
{
	ino_t ino[2] = { 0, 0 };
	for (int mode = 0; mode < 2; mode++) {
		gt_rootfs_force_fallback(r, mode == 1);
		gt_err_t err = NULL;
		struct stat st;
		int fd = gt_rootfs_open_regular(r, rel, &st, &err);
		if (fd >= 0) {
			ino[mode] = st.st_ino;
			close(fd);
		}
		gt_err_free(&err);
	}
	gt_rootfs_force_fallback(r, false);
	if (!ok(ino[0] == ino[1], "%s: openat2 and fallback agree", desc))
		printf("#   openat2 %lu, fallback %lu\n", (unsigned long)ino[0], (unsigned long)ino[1]);
	return ino[1];
}

static ino_t ino_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

int main(void)
{
	if (mkdtemp(top) == NULL)
		return 99;
	snprintf(root, sizeof(root), "%s/root", top);
	snprintf(outside, sizeof(outside), "%s/secret", top);
	mkdir(root, 0755);
	FILE *f = fopen(outside, "w");
	fputs("host secret\n", f);
	fclose(f);
	alarm(20); /* a FIFO opened by mistake would block: fail loudly instead */

	dir("etc");
	dir("usr");
	dir("usr/lib");
	dir("a");
	dir("a/b");
	put("etc/passwd", "root:x:0:0::/:/bin/sh\n");
	put("usr/lib/libok.so", "ELF");
	lnk("usr/lib", "lib");				/* merged /usr, relative */
	lnk("/usr/lib", "lib64");			/* absolute, inside the root's view */
	lnk(outside, "usr/lib/abs-out");		/* absolute path of a host file */
	lnk("../../../../../../../..", "usr/lib/up");	/* climbs past the root */
	lnk("../../../secret", "a/b/rel-out");		/* relative, out of the root */
	lnk("/etc/passwd", "usr/lib/libpw.so");
	lnk("loop2", "usr/lib/loop1");
	lnk("loop1", "usr/lib/loop2");
	char name[64], target[64];
	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "usr/lib/chain%d", i);
		snprintf(target, sizeof(target), "chain%d", i + 1);
		lnk(target, name);
	}
	put("usr/lib/chain50", "end");
	char p[512];
	snprintf(p, sizeof(p), "%s/usr/lib/libfifo.so.1", root);
	mkfifo(p, 0644);
	snprintf(p, sizeof(p), "%s/usr/lib/libdev.so", root);
	int have_dev = mknod(p, S_IFCHR | 0644, makedev(1, 3)) == 0;
	snprintf(p, sizeof(p), "%s/usr/lib/libsock.so", root);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int have_sock = 0;
	if (strlen(p) < sizeof(sa.sun_path)) {
		memcpy(sa.sun_path, p, strlen(p) + 1);
		have_sock = bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	}

	struct gt_rootfs r;
	gt_err_t err = NULL;
	if (!ok(gt_rootfs_open(&r, root, &err) == 0, "open the root"))
		return tap_done();
	printf("# openat2 %s on this kernel\n", r.use_openat2 ? "available" : "missing: both runs use the fallback");

	char pw[512], okp[512];
	snprintf(pw, sizeof(pw), "%s/etc/passwd", root);
	snprintf(okp, sizeof(okp), "%s/usr/lib/libok.so", root);
	is_int(both(&r, "/lib/libok.so", "merged-usr relative link"), ino_of(okp), "reaches the file inside");
	is_int(both(&r, "/lib64/libok.so", "absolute link inside"), ino_of(okp), "resolved against the root");
	is_int(both(&r, "lib/libok.so", "relative path"), ino_of(okp), "taken from the root");
	is_int(both(&r, "/usr/lib/libpw.so", "absolute symlink to /etc/passwd"), ino_of(pw),
	       "lands on the image's passwd, not the host's");
	is_int(both(&r, "/usr/lib/abs-out", "symlink to a host path"), 0, "does not reach the host file");
	is_int(both(&r, "/usr/lib/up/etc/passwd", "link climbing past the root"), ino_of(pw), "stops at the root");
	is_int(both(&r, "/a/b/rel-out", "relative link out of the root"), 0, "does not reach the host file");
	is_int(both(&r, "/../../../../etc/passwd", "leading .. chain"), ino_of(pw), "stays in the root");
	is_int(both(&r, "a/../../../etc/passwd", "inner .. chain"), ino_of(pw), "stays in the root");
	is_int(both(&r, "/usr/lib/loop1", "symlink loop"), 0, "refused");
	is_int(both(&r, "/usr/lib/chain0", "chain of 50 links"), 0, "refused (limit 40)");
	ok(both(&r, "/usr/lib/chain20", "30 links") != 0, "a chain under the limit resolves");
	is_int(both(&r, "/usr/lib/libfifo.so.1", "FIFO named like a library"), 0, "refused without blocking");
	if (have_dev)
		is_int(both(&r, "/usr/lib/libdev.so", "character device"), 0, "refused");
	else
		ok(1, "# SKIP mknod not permitted here");
	if (have_sock)
		is_int(both(&r, "/usr/lib/libsock.so", "socket"), 0, "refused");
	else
		ok(1, "# SKIP cannot bind a socket here");
	is_int(both(&r, "/usr/lib", "a directory"), 0, "open_regular refuses it");
	is_int(both(&r, "/", "the root"), 0, "open_regular refuses it");
	is_int(both(&r, "", "empty path"), 0, "refused");
	is_int(both(&r, "/etc/passwd/x", "a file used as a directory"), 0, "refused");

	struct stat st;
	int fd = gt_rootfs_open_regular(&r, "/usr/lib/libfifo.so.1", &st, &err);
	ok(fd < 0 && err != NULL && strstr(gt_err_msg(err), "not a regular file") != NULL, "the error says why: %s",
	   gt_err_msg(err));
	gt_err_free(&err);
	for (int mode = 0; mode < 2; mode++) {
		gt_rootfs_force_fallback(&r, mode == 1);
		fd = gt_rootfs_open_dir(&r, "/lib", &err);
		ok(fd >= 0, "open_dir through a link (%s)", mode ? "fallback" : "openat2");
		if (fd >= 0)
			close(fd);
		gt_err_free(&err);
	}
	gt_rootfs_close(&r);
	close(s);
	snprintf(p, sizeof(p), "rm -rf %s", top);
	if (system(p) != 0)
		printf("# could not remove %s\n", top);
	return tap_done();
}
