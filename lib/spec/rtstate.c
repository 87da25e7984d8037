#include "rtstate.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

enum gt_rt_kind gt_rt_kind_of(const char *runtime_path)
{
	const char *base = strrchr(runtime_path, '/');
	base = base != NULL ? base + 1 : runtime_path;
	if (strcmp(base, "runc") == 0)
		return GT_RT_RUNC;
	if (strcmp(base, "crun") == 0)
		return GT_RT_CRUN;
	return GT_RT_UNKNOWN;
}

/* Whether this process is in the initial user namespace: runc's
 * userns.RunningInUserNS reads the same file. */
static bool initial_userns(void)
{
	char buf[128];
	cleanup_close int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	unsigned long a, b, c;
	return sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295UL;
}

int gt_rt_root(enum gt_rt_kind kind, const char *root_opt, char *out, size_t outsz)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	bool has_xdg = xdg != NULL && xdg[0] != '\0';
	int n;
	if (root_opt != NULL && root_opt[0] != '\0')
		n = snprintf(out, outsz, "%s", root_opt);
	else if (kind == GT_RT_RUNC) {
		/* runc 1.1.5 main.go: /run/runc, or $XDG_RUNTIME_DIR/runc when
		 * shouldHonorXDGRuntimeDir (rootless_linux.go): XDG set and
		 * euid != 0, or euid 0 in a user namespace with USER unset or
		 * not "root". */
		const char *user = getenv("USER");
		bool xdg_used = has_xdg && (geteuid() != 0 ||
					    ((user == NULL || strcmp(user, "root") != 0) && !initial_userns()));
		n = xdg_used ? snprintf(out, outsz, "%s/runc", xdg) : snprintf(out, outsz, "/run/runc");
	} else if (kind == GT_RT_CRUN) {
		/* crun 1.8.1 status.c get_run_directory: $XDG_RUNTIME_DIR/crun
		 * whenever XDG_RUNTIME_DIR is set and not empty, also for root;
		 * else /run/crun. */
		n = has_xdg ? snprintf(out, outsz, "%s/crun", xdg) : snprintf(out, outsz, "/run/crun");
	} else {
		return -1;
	}
	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

int gt_rt_id_ok(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n < 1024 && strchr(id, '/') == NULL && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

/* A one-pass event parse of state.json: no tree is built, and only the
 * few strings wanted are copied. The keys are top-level "id" and
 * "created", and "labels" of the top-level "config" object. */
struct sax {
	int depth;
	char key1[24], key2[16];	/* the current key at depth 1 and in config */
	bool in_config, in_labels;
	unsigned ids, createds;
	char id[1024], created[64];
	long long init_pid;
	unsigned bundles;
	char *bundle;
	size_t bundlesz;
	bool too_long;
};

static void set_key(char *dst, size_t dstsz, const unsigned char *k, size_t len)
{
	/* A longer key is none of those looked for. */
	if (len >= dstsz)
		len = 0;
	memcpy(dst, k, len);
	dst[len] = '\0';
}

static bool copy_str(char *dst, size_t dstsz, const unsigned char *s, size_t len)
{
	if (len >= dstsz || memchr(s, '\0', len) != NULL)
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

static int on_key(void *ctx, const unsigned char *k, size_t len)
{
	struct sax *x = ctx;
	if (x->depth == 1)
		set_key(x->key1, sizeof(x->key1), k, len);
	else if (x->depth == 2 && x->in_config)
		set_key(x->key2, sizeof(x->key2), k, len);
	return 1;
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct sax *x = ctx;
	if (x->depth == 1 && strcmp(x->key1, "id") == 0) {
		x->ids++;
		x->too_long |= !copy_str(x->id, sizeof(x->id), s, len);
	} else if (x->depth == 1 && strcmp(x->key1, "created") == 0) {
		x->createds++;
		x->too_long |= !copy_str(x->created, sizeof(x->created), s, len);
	} else if (x->in_labels && x->depth == 3 && len >= 7 && memcmp(s, "bundle=", 7) == 0) {
		x->bundles++;
		x->too_long |= !copy_str(x->bundle, x->bundlesz, s + 7, len - 7);
	}
	return 1;
}

static int on_integer(void *ctx, long long v)
{
	struct sax *x = ctx;
	if (x->depth == 1 && strcmp(x->key1, "init_process_pid") == 0)
		x->init_pid = v;
	return 1;
}

static int on_start_map(void *ctx)
{
	struct sax *x = ctx;
	x->depth++;
	if (x->depth == 2 && strcmp(x->key1, "config") == 0)
		x->in_config = true;
	x->key2[0] = '\0';
	return x->depth < 64;
}

static int on_end_map(void *ctx)
{
	struct sax *x = ctx;
	if (x->depth == 2)
		x->in_config = false;
	x->depth--;
	return 1;
}

static int on_start_array(void *ctx)
{
	struct sax *x = ctx;
	x->depth++;
	if (x->depth == 3 && x->in_config && strcmp(x->key2, "labels") == 0)
		x->in_labels = true;
	return x->depth < 64;
}

static int on_end_array(void *ctx)
{
	struct sax *x = ctx;
	if (x->depth == 3)
		x->in_labels = false;
	x->depth--;
	return 1;
}

/* Go's RFC3339Nano as time.Time marshals it, in UTC as runc stores it:
 * "2026-12-04T16:34:12.123456789Z" (trailing zeros of the fraction cut). */
static int parse_created(const char *s, int64_t *ns)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				frac = frac * 10 + (*p - '0');
		if (digits == 0)
			return -1;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (strcmp(p, "Z") != 0)
		return -1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

int gt_runc_state_parse(const char *text, size_t len, const char *id, struct gt_runc_state *st, gt_err_t *err)
{
	static const yajl_callbacks cb = {
		.yajl_string = on_string,
		.yajl_integer = on_integer,
		.yajl_map_key = on_key,
		.yajl_start_map = on_start_map,
		.yajl_end_map = on_end_map,
		.yajl_start_array = on_start_array,
		.yajl_end_array = on_end_array,
	};
	memset(st, 0, sizeof(*st));
	struct sax x = { .bundle = st->bundle, .bundlesz = sizeof(st->bundle) };
	yajl_handle h = yajl_alloc(&cb, NULL, &x);
	if (h == NULL)
		return gt_error(err, ENOMEM, "runc state");
	yajl_status ys = yajl_parse(h, (const unsigned char *)text, len);
	if (ys == yajl_status_ok)
		ys = yajl_complete_parse(h);
	yajl_free(h);
	/* Written by runc's encoding/json: one of each key, the id the one
	 * asked for, an absolute bundle. Anything else is not runc 1.1's. */
	if (ys != yajl_status_ok)
		return gt_error(err, 0, "runc state of %s: not JSON", id);
	if (x.too_long || x.ids != 1 || x.createds != 1 || x.bundles == 0)
		return gt_error(err, 0, "runc state of %s: not the layout of runc's state.json", id);
	if (strcmp(x.id, id) != 0)
		return gt_error(err, 0, "runc state of %s: names another id", id);
	if (st->bundle[0] != '/')
		return gt_error(err, 0, "runc state of %s: bundle is not an absolute path", id);
	if (parse_created(x.created, &st->created_ns) < 0)
		return gt_error(err, 0, "runc state of %s: created \"%.40s\" is not a UTC RFC 3339 time", id, x.created);
	st->init_pid = x.init_pid;
	return 0;
}

int gt_runc_state_read(const char *root, const char *id, struct gt_runc_state *st, gt_err_t *err)
{
	char path[4200];
	if (!gt_rt_id_ok(id) || snprintf(path, sizeof(path), "%s/%s/state.json", root, id) >= (int)sizeof(path))
		return gt_error(err, EINVAL, "runc state of %.60s: no such path", id);
	cleanup_buf struct gt_buf b = { 0 };
	if (gt_read_file_at(AT_FDCWD, path, GT_RUNC_STATE_MAX, &b, err) < 0)
		return -1;
	return gt_runc_state_parse(b.data, b.len, id, st, err);
}

int gt_crun_config_read(const char *root, const char *id, size_t max, struct gt_buf *out, gt_err_t *err)
{
	char path[4200];
	if (!gt_rt_id_ok(id) || snprintf(path, sizeof(path), "%s/%s/config.json", root, id) >= (int)sizeof(path))
		return gt_error(err, EINVAL, "crun state of %.60s: no such path", id);
	return gt_read_file_at(AT_FDCWD, path, max, out, err);
}
