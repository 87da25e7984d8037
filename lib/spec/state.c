#include "state.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

static int copy_str(yajl_val root, const char *key, char *out, size_t outsz, bool required, gt_err_t *err)
{
	yajl_val v = NULL;
	int got = gt_json_get(root, key, &v);
	if (got < 0)
		return gt_error(err, 0, "state: duplicate \"%s\"", key);
	if (got == 0 || !YAJL_IS_STRING(v)) {
		if (required)
			return gt_error(err, 0, "state: \"%s\" missing or not a string", key);
		out[0] = '\0';
		return 0;
	}
	const char *s = v->u.string;
	if (strlen(s) >= outsz)
		return gt_error(err, 0, "state: \"%s\" longer than %zu bytes", key, outsz - 1);
	snprintf(out, outsz, "%s", s);
	return 0;
}

int gt_state_parse(const char *text, size_t len, struct gt_state *st, gt_err_t *err)
{
	memset(st, 0, sizeof(*st));
	cleanup_yajl yajl_val root = NULL;
	if (len > GT_STATE_MAX_BYTES)
		return gt_error(err, 0, "state: more than %u bytes", GT_STATE_MAX_BYTES);
	if (gt_json_parse(text, len, "state", &root, err) < 0)
		return -1;
	if (!YAJL_IS_OBJECT(root))
		return gt_error(err, 0, "state: not a JSON object");
	if (copy_str(root, "id", st->id, sizeof(st->id), true, err) < 0 ||
	    copy_str(root, "bundle", st->bundle, sizeof(st->bundle), true, err) < 0 ||
	    copy_str(root, "status", st->status, sizeof(st->status), false, err) < 0)
		return -1;
	if (st->bundle[0] != '/')
		return gt_error(err, 0, "state: bundle \"%s\" is not an absolute path", st->bundle);
	yajl_val pid = NULL;
	int64_t p;
	if (gt_json_get(root, "pid", &pid) == 1 && gt_json_int64(pid, &p) == 0 && p > 0)
		st->pid = (long)p;
	return 0;
}
