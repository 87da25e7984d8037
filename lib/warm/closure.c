#include "closure.h"
#include "cleanup.h"
#include "elfread.h"
#include "fileio.h"
#include "ldcache.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SHEBANG_DEPTH 4
#define PATHBUF 4096

struct pending {
	char *soname;
	int from;	/* index into objs of the object that needs it */
};

struct object {
	char path[PATHBUF];	/* inside the root */
	char *rpath, *runpath;
};

struct resolver {
	const struct gt_rootfs *root;
	struct gt_pw_set *set;
	struct gt_notes *notes;
	const struct gt_entry *entry;
	int bits;
	uint16_t machine;
	bool musl;
	struct gt_ldcache *cache;
	bool cache_tried;
	char musl_path[PATHBUF];
	struct object *objs;
	size_t n_objs;
	struct pending *queue;
	size_t q_head, q_len;
	char **seen;
	size_t n_seen;
	unsigned lookups;	/* paths tried, for GT_CLOSURE_MAX_LOOKUPS */
	bool list_cut, lookups_spent;	/* each said once */
};

static const char *multiarch(uint16_t machine, int bits)
{
	switch (machine) {
	case EM_X86_64: return bits == 64 ? "x86_64-linux-gnu" : "x86_64-linux-gnux32";
	case EM_386: return "i386-linux-gnu";
	case EM_AARCH64: return "aarch64-linux-gnu";
	case EM_ARM: return "arm-linux-gnueabihf";
	case EM_PPC64: return "powerpc64le-linux-gnu";
	case EM_S390: return "s390x-linux-gnu";
	case EM_RISCV: return "riscv64-linux-gnu";
	default: return NULL;
	}
}

static const char *musl_arch(uint16_t machine)
{
	switch (machine) {
	case EM_X86_64: return "x86_64";
	case EM_386: return "i386";
	case EM_AARCH64: return "aarch64";
	case EM_ARM: return "armhf";
	case EM_PPC64: return "powerpc64le";
	case EM_S390: return "s390x";
	case EM_RISCV: return "riscv64";
	default: return NULL;
	}
}

static const char *platform(uint16_t machine)
{
	switch (machine) {
	case EM_X86_64: return "x86_64";
	case EM_386: return "i686";
	case EM_AARCH64: return "aarch64";
	default: return "";
	}
}

/* $ORIGIN, ${ORIGIN}, $LIB, $PLATFORM in one RPATH/RUNPATH element. */
static int expand(const struct resolver *r, const char *origin_file, const char *in, size_t inlen, char *out,
		  size_t outsz)
{
	char origin[PATHBUF];
	snprintf(origin, sizeof(origin), "%s", origin_file);
	char *slash = strrchr(origin, '/');
	if (slash != NULL)
		*(slash == origin ? slash + 1 : slash) = '\0';
	static const struct {
		const char *name;
		int which;
	} vars[] = { { "${ORIGIN}", 0 }, { "$ORIGIN", 0 }, { "${LIB}", 1 }, { "$LIB", 1 },
		     { "${PLATFORM}", 2 }, { "$PLATFORM", 2 } };
	size_t o = 0;
	for (size_t i = 0; i < inlen;) {
		const char *rep = NULL;
		size_t skip = 1;
		if (in[i] == '$') {
			for (size_t v = 0; v < sizeof(vars) / sizeof(vars[0]); v++) {
				size_t vl = strlen(vars[v].name);
				if (inlen - i >= vl && strncmp(in + i, vars[v].name, vl) == 0) {
					rep = vars[v].which == 0 ? origin : vars[v].which == 1 ? (r->bits == 64 ? "lib64" : "lib")
											 : platform(r->machine);
					skip = vl;
					break;
				}
			}
		}
		const char *src = rep != NULL ? rep : in + i;
		size_t sl = rep != NULL ? strlen(rep) : 1;
		if (o + sl >= outsz)
			return -1;
		memcpy(out + o, src, sl);
		o += sl;
		i += skip;
	}
	out[o] = '\0';
	return 0;
}

static bool seen(struct resolver *r, const char *name)
{
	for (size_t i = 0; i < r->n_seen; i++)
		if (strcmp(r->seen[i], name) == 0)
			return true;
	return false;
}

static int mark_seen(struct resolver *r, const char *name, gt_err_t *err)
{
	char **n = realloc(r->seen, (r->n_seen + 1) * sizeof(*n));
	if (n == NULL)
		return gt_error(err, ENOMEM, "closure");
	r->seen = n;
	if ((r->seen[r->n_seen] = strdup(name)) == NULL)
		return gt_error(err, ENOMEM, "closure");
	r->n_seen++;
	return 0;
}

/* Records an accepted object and queues what it needs. Takes fd. */
static int accept_object(struct resolver *r, const char *path, int fd, struct gt_elf *elf, gt_err_t *err)
{
	if (r->n_objs >= GT_CLOSURE_MAX_LIBS + 2) {
		close(fd);
		gt_note(r->notes, "closure: more than %u objects; rest not warmed", GT_CLOSURE_MAX_LIBS);
		return 0;
	}
	if (gt_pw_set_add(r->set, path, fd, NULL, 0, err) < 0)
		return -1;
	struct object *no = realloc(r->objs, (r->n_objs + 1) * sizeof(*no));
	if (no == NULL)
		return gt_error(err, ENOMEM, "closure");
	r->objs = no;
	struct object *ob = &r->objs[r->n_objs];
	memset(ob, 0, sizeof(*ob));
	snprintf(ob->path, sizeof(ob->path), "%s", path);
	if (elf != NULL) {
		ob->rpath = elf->rpath != NULL ? strdup(elf->rpath) : NULL;
		ob->runpath = elf->runpath != NULL ? strdup(elf->runpath) : NULL;
	}
	int from = (int)r->n_objs++;
	for (size_t i = 0; elf != NULL && i < elf->n_needed; i++) {
		struct pending *nq = realloc(r->queue, (r->q_len + 1) * sizeof(*nq));
		if (nq == NULL)
			return gt_error(err, ENOMEM, "closure");
		r->queue = nq;
		r->queue[r->q_len].soname = strdup(elf->needed[i]);
		r->queue[r->q_len].from = from;
		if (r->queue[r->q_len].soname == NULL)
			return gt_error(err, ENOMEM, "closure");
		r->q_len++;
	}
	return 0;
}

/* Tries one candidate path: it must be a regular ELF file of the same
 * class and machine, as ld.so skips others and goes on searching. */
static int try_path(struct resolver *r, const char *path, bool *found, gt_err_t *err)
{
	struct stat st;
	gt_err_t miss = NULL;
	if (r->lookups >= GT_CLOSURE_MAX_LOOKUPS) {
		if (!r->lookups_spent)
			gt_note(r->notes, "closure: %u paths tried, the most one start may cost; rest not warmed",
				GT_CLOSURE_MAX_LOOKUPS);
		r->lookups_spent = true;
		return 0;
	}
	r->lookups++;
	int fd = gt_rootfs_open_regular(r->root, path, &st, &miss);
	gt_err_free(&miss);
	if (fd < 0)
		return 0;
	struct gt_elf elf;
	memset(&elf, 0, sizeof(elf));
	if (gt_elf_read_fd(fd, &elf, &miss) < 0 || elf.bits != r->bits || elf.machine != r->machine) {
		gt_err_free(&miss);
		gt_elf_free(&elf);
		close(fd);
		return 0;
	}
	*found = true;
	int ret = accept_object(r, path, fd, &elf, err);
	gt_elf_free(&elf);
	return ret;
}

static int try_list(struct resolver *r, const char *list, const char *origin_file, const char *soname, bool *found,
		    gt_err_t *err)
{
	if (list == NULL)
		return 0;
	unsigned tried = 0;
	for (const char *p = list; !*found; tried++) {
		if (tried == GT_SEARCH_LIST_MAX) {
			if (!r->list_cut)
				gt_note(r->notes, "closure: a library search list past %d entries; the rest not searched",
					GT_SEARCH_LIST_MAX);
			r->list_cut = true;
			break;
		}
		size_t n = strcspn(p, ":;\n");
		char dir[PATHBUF], cand[PATHBUF];
		if (n > 0 && expand(r, origin_file, p, n, dir, sizeof(dir)) == 0 && dir[0] == '/' &&
		    gt_path_join(cand, sizeof(cand), dir, soname) == 0 && try_path(r, cand, found, err) < 0)
			return -1;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	return 0;
}

static void load_cache(struct resolver *r)
{
	r->cache_tried = true;
	struct stat st;
	gt_err_t err = NULL;
	cleanup_close int fd = gt_rootfs_open_regular(r->root, "/etc/ld.so.cache", &st, &err);
	if (fd < 0 || st.st_size > (16 << 20)) {
		gt_err_free(&err);
		return;
	}
	struct gt_buf b = { 0 };
	if (gt_read_fd(fd, 16u << 20, &b, &err) == 0 &&
	    gt_ldcache_parse((const unsigned char *)b.data, b.len, &r->cache, &err) < 0)
		gt_note(r->notes, "ld.so.cache of the image ignored: %.100s", gt_err_msg(err));
	gt_err_free(&err);
	gt_buf_free(&b);
}

static void load_musl_path(struct resolver *r)
{
	/* musl: /etc/ld-musl-ARCH.path replaces the default list when present. */
	snprintf(r->musl_path, sizeof(r->musl_path), "/lib:/usr/local/lib:/usr/lib");
	const char *arch = musl_arch(r->machine);
	if (arch == NULL)
		return;
	char p[64];
	snprintf(p, sizeof(p), "/etc/ld-musl-%s.path", arch);
	struct stat st;
	gt_err_t err = NULL;
	cleanup_close int fd = gt_rootfs_open_regular(r->root, p, &st, &err);
	gt_err_free(&err);
	if (fd < 0)
		return;
	ssize_t n = read(fd, r->musl_path, sizeof(r->musl_path) - 1);
	r->musl_path[n > 0 ? n : 0] = '\0';
}

static int resolve_one(struct resolver *r, const struct pending *q, gt_err_t *err)
{
	const struct object *from = &r->objs[q->from], *exe = &r->objs[0];
	const char *name = q->soname;
	bool found = false;
	if (strchr(name, '/') != NULL)
		return try_path(r, name, &found, err);
	const char *ldlp = gt_entry_env(r->entry, "LD_LIBRARY_PATH");
	if (r->musl) {
		if (try_list(r, ldlp, from->path, name, &found, err) < 0 ||
		    try_list(r, r->musl_path, from->path, name, &found, err) < 0)
			return -1;
	} else {
		/* glibc order: RPATH (ignored when RUNPATH is set) of the object,
		 * then of the executable; LD_LIBRARY_PATH; RUNPATH; the cache;
		 * the default directories. */
		if (from->runpath == NULL && try_list(r, from->rpath, from->path, name, &found, err) < 0)
			return -1;
		if (!found && from != exe && exe->runpath == NULL &&
		    try_list(r, exe->rpath, exe->path, name, &found, err) < 0)
			return -1;
		if (!found && try_list(r, ldlp, from->path, name, &found, err) < 0)
			return -1;
		if (!found && try_list(r, from->runpath, from->path, name, &found, err) < 0)
			return -1;
		if (!found) {
			if (!r->cache_tried)
				load_cache(r);
			const char *p = r->cache != NULL
						? gt_ldcache_lookup(r->cache, name, gt_ldcache_flags_for(r->bits, r->machine))
						: NULL;
			if (p != NULL && try_path(r, p, &found, err) < 0)
				return -1;
		}
		if (!found) {
			char defaults[512];
			const char *ma = multiarch(r->machine, r->bits);
			if (ma != NULL)
				snprintf(defaults, sizeof(defaults), "/lib/%s:/usr/lib/%s:%s:/lib:/usr/lib", ma, ma,
					 r->bits == 64 ? "/lib64:/usr/lib64" : "/lib32:/usr/lib32");
			else
				snprintf(defaults, sizeof(defaults), "/lib64:/usr/lib64:/lib:/usr/lib");
			if (try_list(r, defaults, from->path, name, &found, err) < 0)
				return -1;
		}
	}
	if (!found)
		gt_note(r->notes, "library %.60s (needed by %.60s) not found in the image", name, from->path);
	return 0;
}

static void resolver_free(struct resolver *r)
{
	for (size_t i = 0; i < r->n_objs; i++) {
		free(r->objs[i].rpath);
		free(r->objs[i].runpath);
	}
	free(r->objs);
	for (size_t i = 0; i < r->q_len; i++)
		free(r->queue[i].soname);
	free(r->queue);
	for (size_t i = 0; i < r->n_seen; i++)
		free(r->seen[i]);
	free(r->seen);
	if (r->cache != NULL)
		gt_ldcache_free(r->cache);
}

/* "#!/bin/sh -e" -> "/bin/sh" */
static int shebang(int fd, char *out, size_t outsz)
{
	char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 3 || buf[0] != '#' || buf[1] != '!')
		return -1;
	buf[n] = '\0';
	char *p = buf + 2;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t len = strcspn(p, " \t\r\n");
	if (len == 0 || len >= outsz || p[len] == '\0')
		return -1;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

int gt_closure_add(struct gt_pw_set *set, const struct gt_rootfs *root, const struct gt_entry *e,
		   struct gt_notes *notes, gt_err_t *err)
{
	char path[PATHBUF];
	int fd = gt_entry_find(root, e, path, sizeof(path), err);
	if (fd < 0)
		return -1;
	struct gt_elf elf;
	memset(&elf, 0, sizeof(elf));
	gt_err_t elf_err = NULL;
	for (int depth = 0; gt_elf_read_fd(fd, &elf, &elf_err) < 0; depth++) {
		gt_err_free(&elf_err);
		/* A script: warm it, then its interpreter's closure. */
		char interp[PATHBUF];
		struct stat st;
		int sb = depth < MAX_SHEBANG_DEPTH ? shebang(fd, interp, sizeof(interp)) : -1;
		if (gt_pw_set_add(set, path, fd, NULL, 0, err) < 0)
			return -1;
		if (sb < 0)
			return 0;
		snprintf(path, sizeof(path), "%s", interp);
		fd = gt_rootfs_open_regular(root, path, &st, err);
		if (fd < 0)
			return gt_error_wrap(err, "interpreter of the entrypoint");
		gt_elf_free(&elf);
		memset(&elf, 0, sizeof(elf));
	}

	struct resolver r = { .root = root, .set = set, .notes = notes, .entry = e, .bits = elf.bits,
			      .machine = elf.machine };
	int ret = accept_object(&r, path, fd, &elf, err);
	if (ret == 0 && elf.interp != NULL) {
		const char *base = strrchr(elf.interp, '/');
		r.musl = strncmp(base != NULL ? base + 1 : elf.interp, "ld-musl-", 8) == 0;
		struct stat st;
		gt_err_t ierr = NULL;
		int ifd = gt_rootfs_open_regular(root, elf.interp, &st, &ierr);
		if (ifd < 0)
			gt_note(notes, "interpreter %.80s not found in the image", elf.interp);
		else
			ret = gt_pw_set_add(set, elf.interp, ifd, NULL, 0, err);
		gt_err_free(&ierr);
		if (r.musl)
			load_musl_path(&r);
	}
	gt_elf_free(&elf);
	for (; ret == 0 && r.q_head < r.q_len; r.q_head++) {
		struct pending *q = &r.queue[r.q_head];
		if (seen(&r, q->soname))
			continue;
		ret = mark_seen(&r, q->soname, err);
		if (ret == 0)
			ret = resolve_one(&r, q, err);
	}
	resolver_free(&r);
	return ret;
}
