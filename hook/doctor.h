/* `gotune-hook doctor`: what is wired to gotune on this host and what is
 * broken. Each doctor_*.c checks one thing and says what it found through
 * doctor_say; cmd_doctor.c runs them and prints the report. Every file is
 * read under the root (--root DIR: a copy of a host's tree), resolved
 * there as if it were "/" (no link leads out of it), bounded in size. */
#ifndef GOTUNE_DOCTOR_H
#define GOTUNE_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "err.h"
#include "fileio.h"
#include "policy.h"
#include "rootfs.h"

enum doctor_level { DOCTOR_OK, DOCTOR_INFO, DOCTOR_WARN, DOCTOR_ERROR };

#define DOCTOR_MAX_FINDINGS 256
#define DOCTOR_MAX_FILE (1u << 20)
#define DOCTOR_MAX_DIR_ENTRIES 512	/* read of one directory (conf.d, hooks.d) */

struct doctor_finding {
	const char *section;	/* "policy", "docker", ... */
	enum doctor_level level;
	char *msg;
};

struct doctor {
	const char *root_path;	/* "/" on this host */
	bool host;		/* root is "/": running daemons are looked for in /proc */
	struct gt_rootfs root;
	const char *policy_path;	/* --policy, or NULL */
	time_t since;
	struct gt_policy policy;	/* the host's, defaults when invalid */
	bool policy_ok;
	size_t n;
	struct doctor_finding f[DOCTOR_MAX_FINDINGS];
	size_t dropped;
	/* Decisions since `since`, by entry point and outcome (doctor_state). */
	struct {
		char entry[24], outcome[16];
		unsigned long n;
	} counts[48];
	size_t n_counts;
	char last[5][700];	/* the most recent lines, newest last */
	size_t n_last;
	char decisions_from[700];	/* the files they were read from */
	/* What the engines' configs say of NRI, for doctor_nri. */
	bool nri_enabled;
	char nri_by[128];		/* which engine enables it */
	size_t n_nri_dirs;
	char nri_plugin_dir[4][256], nri_conf_dir[4][256];
};

/* Notes an NRI plugin dir and its conf dir that an engine uses. */
void doctor_nri_dirs(struct doctor *d, const char *plugin_dir, const char *conf_dir);

void doctor_say(struct doctor *d, const char *section, enum doctor_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reads a regular file at an absolute path under the root. */
int doctor_read(const struct doctor *d, const char *path, struct gt_buf *out, gt_err_t *err);

/* True when path (under the root) exists, of any type. */
bool doctor_exists(const struct doctor *d, const char *path);

/* Whether path (under the root) is an executable regular file; why not in
 * why ("no such file", "not executable", ...). */
bool doctor_executable(const struct doctor *d, const char *path, char *why, size_t whysz);

/* Names of the entries of a directory under the root whose names end in
 * suffix, sorted, at most max; returns how many (0 when it is missing). */
size_t doctor_list(const struct doctor *d, const char *dir, const char *suffix, char (*names)[256], size_t max);

/* Copies src into dst, cut to fit: names from config files. */
void doctor_copy(char *dst, size_t dstsz, const char *src);

/* Is this a gotune binary by name (gotune-hook, gotune-runc, gotune-crun,
 * or a link named NN-gotune in an NRI plugin dir)? */
bool doctor_is_gotune(const char *path);

/* The command lines of running processes whose name (comm) is comm, in
 * /proc; only on this host. fn gets the pid and the NUL-separated argv. */
void doctor_processes(const struct doctor *d, const char *comm,
		      void (*fn)(struct doctor *d, int pid, const char *const *argv, int argc, void *ctx), void *ctx);

/* The value of option opt in argv ("--opt V", "--opt=V", or short "-c V"
 * when short_opt is not NULL), or NULL. */
const char *doctor_arg(const char *const *argv, int argc, const char *opt, const char *short_opt);

/* A small reader of the TOML the engines' configs are written in
 * (containerd, CRI-O, containers.conf): tables, dotted and quoted keys,
 * strings, booleans, integers and arrays of strings, comments. fn gets
 * each key's full path as segments (quotes removed: the segment
 * "io.containerd.nri.v1.nri" stays one) and its value. */
#define DOCTOR_TOML_SEGS 12
#define DOCTOR_TOML_ITEMS 16
struct doctor_toml_value {
	enum { TOML_STRING, TOML_BOOL, TOML_INT, TOML_ARRAY, TOML_OTHER } kind;
	char str[1024];
	bool b;
	long long i;
	size_t n_items;
	char items[DOCTOR_TOML_ITEMS][512];
};
typedef void (*doctor_toml_fn)(void *ctx, const char *const *segs, size_t n_segs, const struct doctor_toml_value *v);
/* 0, or -1 with the line of the first thing it could not read. */
int doctor_toml(const char *text, size_t len, doctor_toml_fn fn, void *ctx, unsigned *bad_line);
/* Reads the TOML file path under the root through fn; a part it cannot
 * read is a warning in section. -1 (err set) when the file is not there or
 * not readable. */
int doctor_toml_file(struct doctor *d, const char *section, const char *path, doctor_toml_fn fn, void *ctx,
		     gt_err_t *err);
/* segs match pattern: each pattern segment equal, "*" any one segment. */
bool doctor_toml_match(const char *const *segs, size_t n, const char *const *pattern);

/* The checks, one per file. */
void doctor_policy(struct doctor *d);
void doctor_docker(struct doctor *d);
void doctor_containerd(struct doctor *d);
void doctor_crio(struct doctor *d);
void doctor_podman(struct doctor *d);
void doctor_nri(struct doctor *d);
void doctor_state(struct doctor *d);
/* A policy file's validity, said in section (an engine's own --policy). */
bool doctor_policy_file(struct doctor *d, const char *section, const char *path, const char *who);
/* Every gotune drop-in in a hooks.d directory (binary there, stage known
 * to the engines that read it); returns which stages gotune has there. */
enum { DOCTOR_HOOK_PRECREATE = 1, DOCTOR_HOOK_PRESTART = 2, DOCTOR_HOOK_RECORD = 4 };
unsigned doctor_hooks_dir(struct doctor *d, const char *section, const char *dir, bool crio_reads);

#endif
