#include "spec.h"
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct collect {
	struct gt_span *items;
	size_t n, cap;
	bool oom;
};

static void collect_item(void *ctx, struct gt_span elem)
{
	struct collect *c = ctx;
	if (c->oom)
		return;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		struct gt_span *n = realloc(c->items, ncap * sizeof(*n));
		if (n == NULL) {
			c->oom = true;
			return;
		}
		c->items = n;
		c->cap = ncap;
	}
	c->items[c->n++] = elem;
}

static int parse_env(struct gt_spec *spec, yajl_val proc, gt_err_t *err);

/* The text as a bounded JSON object, named what in errors. */
static int parse_object(struct gt_spec *spec, const char *text, size_t len, const char *what, gt_err_t *err)
{
	memset(spec, 0, sizeof(*spec));
	spec->text = text;
	spec->len = len;
	if (len > GT_SPEC_MAX_BYTES)
		return gt_error(err, 0, "%s is %zu bytes, more than the %u allowed", what, len, GT_SPEC_MAX_BYTES);
	if (gt_json_parse(text, len, what, &spec->tree, err) < 0)
		return -1;
	if (!YAJL_IS_OBJECT(spec->tree))
		return gt_error(err, 0, "%s is not a JSON object", what);
	return 0;
}

int gt_spec_parse(struct gt_spec *spec, const char *text, size_t len, gt_err_t *err)
{
	if (parse_object(spec, text, len, "spec", err) < 0)
		return -1;
	size_t root = gt_json_skip_ws(text, len, 0);
	unsigned n = gt_json_member(text, len, root, "process", &spec->process);
	if (n == 0)
		return gt_error(err, 0, "spec has no process");
	if (n > 1)
		return gt_error(err, 0, "spec has %u \"process\" keys", n);
	if (text[spec->process.start] != '{')
		return gt_error(err, 0, "spec process is not an object");

	yajl_val proc = NULL;
	if (gt_json_get(spec->tree, "process", &proc) != 1)
		return gt_error(err, 0, "spec: process found by the scan but not by yajl");
	return parse_env(spec, proc, err);
}

int gt_spec_parse_process(struct gt_spec *spec, const char *text, size_t len, gt_err_t *err)
{
	if (parse_object(spec, text, len, "process", err) < 0)
		return -1;
	spec->process.start = gt_json_skip_ws(text, len, 0);
	spec->process.end = gt_json_value_end(text, len, spec->process.start);
	return parse_env(spec, spec->tree, err);
}

/* process.env of spec->text, whose process object is proc in the tree and
 * spec->process in the text. */
static int parse_env(struct gt_spec *spec, yajl_val proc, gt_err_t *err)
{
	const char *text = spec->text;
	size_t len = spec->len;
	yajl_val env = NULL;
	int got = gt_json_get(proc, "env", &env);
	unsigned n = gt_json_member(text, len, spec->process.start, "env", &spec->env_span);
	if (got < 0 || n > 1)
		return gt_error(err, 0, "spec has duplicate process.env keys");
	/* The byte scan and yajl must agree before anything is spliced. */
	if ((unsigned)got != n)
		return gt_error(err, 0, "spec: process.env seen by yajl and by the scan differ");
	if (n == 0)
		return 0;
	spec->has_env = true;
	if (YAJL_IS_NULL(env)) {
		spec->env_null = true;
		return 0;
	}
	if (!YAJL_IS_ARRAY(env))
		return gt_error(err, 0, "spec process.env is not an array");
	if (env->u.array.len > GT_SPEC_MAX_ENV)
		return gt_error(err, 0, "spec process.env has %zu entries, more than %d", env->u.array.len,
				GT_SPEC_MAX_ENV);

	struct collect c = { 0 };
	gt_json_elements(text, len, spec->env_span.start, collect_item, &c);
	spec->env_items = c.items;
	spec->n_env = c.n;
	if (c.oom)
		return gt_error(err, ENOMEM, "spec process.env");
	/* The byte scanner and yajl must agree, or a splice could land in the
	 * wrong place. */
	if (c.n != env->u.array.len)
		return gt_error(err, 0, "spec process.env: %zu items found, yajl saw %zu", c.n,
				env->u.array.len);
	spec->env = calloc(c.n + 1, sizeof(*spec->env));
	if (spec->env == NULL)
		return gt_error(err, ENOMEM, "spec process.env");
	for (size_t i = 0; i < c.n; i++) {
		yajl_val v = env->u.array.values[i];
		if (!YAJL_IS_STRING(v))
			return gt_error(err, 0, "spec process.env[%zu] is not a string", i);
		spec->env[i] = YAJL_GET_STRING(v);
	}
	return 0;
}

void gt_spec_free(struct gt_spec *spec)
{
	yajl_tree_free(spec->tree);
	free(spec->env_items);
	free(spec->env);
	memset(spec, 0, sizeof(*spec));
}

const char *gt_spec_annotation(const struct gt_spec *spec, const char *key)
{
	yajl_val ann = NULL, v = NULL;
	if (gt_json_get(spec->tree, "annotations", &ann) != 1)
		return NULL;
	if (gt_json_get(ann, key, &v) != 1 || !YAJL_IS_STRING(v))
		return NULL;
	return YAJL_GET_STRING(v);
}

/* A splice: replace text[start, end) with repl. */
struct splice {
	size_t start, end;
	const char *repl;
	size_t repl_len;
	char *owned;
};

static int cmp_splice(const void *a, const void *b)
{
	const struct splice *x = a, *y = b;
	return (x->start > y->start) - (x->start < y->start);
}

static char *quote_dup(const char *s)
{
	char *q = malloc(strlen(s) * 6 + 3);
	if (q != NULL)
		gt_json_quote(s, q);
	return q;
}

/* The appended entries as one run of text: `"A=1","B=2"`, with a leading
 * comma when the array keeps items before it. "" when nothing is appended. */
static char *join_appends(const struct gt_env_edit *edits, size_t n, bool lead_comma)
{
	size_t cap = 1;
	for (size_t i = 0; i < n; i++)
		if (edits[i].index == GT_ENV_APPEND)
			cap += strlen(edits[i].entry) * 6 + 4;
	char *out = malloc(cap);
	if (out == NULL)
		return NULL;
	size_t len = 0;
	bool first = !lead_comma;
	for (size_t i = 0; i < n; i++) {
		if (edits[i].index != GT_ENV_APPEND)
			continue;
		if (!first)
			out[len++] = ',';
		first = false;
		len += gt_json_quote(edits[i].entry, out + len);
	}
	out[len] = '\0';
	return out;
}

/* Splices for the env array's items: replacements, deletions (each run of
 * deleted items goes with the separators after it, or before it at the end
 * of the array, so the commas stay right) and the appended run, which
 * follows the last item kept. */
static int env_splices(const struct gt_spec *spec, const struct gt_env_edit *edits, size_t n_edits,
		       const char *run, struct splice *sp, size_t *ns, gt_err_t *err)
{
	size_t n = spec->n_env;
	bool *del = calloc(n + 1, sizeof(*del));
	if (del == NULL)
		return gt_error(err, ENOMEM, "render spec");
	for (size_t i = 0; i < n_edits; i++) {
		if (edits[i].index == GT_ENV_APPEND)
			continue;
		if (edits[i].index >= n) {
			free(del);
			return gt_error(err, 0, "render spec: env index %zu out of range", edits[i].index);
		}
		if (edits[i].entry == NULL)
			del[edits[i].index] = true;
	}
	for (size_t i = 0; i < n_edits; i++) {
		if (edits[i].index == GT_ENV_APPEND || edits[i].entry == NULL || del[edits[i].index])
			continue;
		struct gt_span s = spec->env_items[edits[i].index];
		char *q = quote_dup(edits[i].entry);
		if (q == NULL)
			goto oom;
		sp[(*ns)++] = (struct splice){ s.start, s.end, q, strlen(q), q };
	}
	size_t kept = 0;
	for (size_t i = 0; i < n; i++)
		kept += !del[i];
	bool run_placed = false;
	for (size_t i = 0; i < n;) {
		if (!del[i]) {
			i++;
			continue;
		}
		size_t j = i;
		while (j + 1 < n && del[j + 1])
			j++;
		struct splice s = { spec->env_items[i].start, 0, "", 0, NULL };
		if (j + 1 < n) {
			s.end = spec->env_items[j + 1].start;
		} else {
			/* the tail of the array: the appended run takes its place */
			if (i > 0)
				s.start = spec->env_items[i - 1].end;
			s.end = spec->env_items[j].end;
			s.repl = run;
			s.repl_len = strlen(run);
			run_placed = true;
		}
		sp[(*ns)++] = s;
		i = j + 1;
	}
	if (!run_placed && run[0] != '\0') {
		size_t at = kept > 0 ? spec->env_items[n - 1].end : spec->env_span.start + 1;
		sp[(*ns)++] = (struct splice){ at, at, run, strlen(run), NULL };
	}
	free(del);
	return 0;
oom:
	free(del);
	return gt_error(err, ENOMEM, "render spec");
}

int gt_spec_render(const struct gt_spec *spec, const struct gt_env_edit *edits, size_t n_edits,
		   struct gt_buf *out, gt_err_t *err)
{
	return gt_spec_render_member(spec, edits, n_edits, NULL, out, err);
}

/* A member key:value_json of the object at obj (a span start): its value
 * replaced where it is, or the member added first (with a comma unless the
 * object is empty). */
static int member_splice(const struct gt_spec *spec, size_t obj, const char *key, const char *value_json,
			 struct splice *out, gt_err_t *err)
{
	struct gt_span v;
	unsigned found = gt_json_member(spec->text, spec->len, obj, key, &v);
	if (found > 1)
		return gt_error(err, 0, "render spec: %u \"%.60s\" members", found, key);
	char *text = NULL;
	char *qkey = quote_dup(key);
	bool empty = gt_json_is_empty_container(spec->text, spec->len, obj);
	int r = qkey == NULL ? -1 : found == 1 ? asprintf(&text, "%s", value_json)
					       : asprintf(&text, "%s:%s%s", qkey, value_json, empty ? "" : ",");
	free(qkey);
	if (r < 0)
		return gt_error(err, ENOMEM, "render spec");
	*out = found == 1 ? (struct splice){ v.start, v.end, text, strlen(text), text }
			   : (struct splice){ obj + 1, obj + 1, text, strlen(text), text };
	return 0;
}

int gt_spec_render_member(const struct gt_spec *spec, const struct gt_env_edit *edits, size_t n_edits,
			  const struct gt_spec_extras *x, struct gt_buf *out, gt_err_t *err)
{
	static const struct gt_spec_extras none = { 0 };
	if (x == NULL)
		x = &none;
	/* one splice per edit, one per deleted run, the append, the member,
	 * the annotation */
	struct splice *sp = calloc(2 * n_edits + 4, sizeof(*sp));
	if (sp == NULL)
		return gt_error(err, ENOMEM, "render spec");
	size_t ns = 0, n_app = 0, n_del = 0;
	int ret = -1;
	char *run = NULL;

	for (size_t i = 0; i < n_edits; i++) {
		n_app += edits[i].index == GT_ENV_APPEND;
		bool again = false;
		for (size_t j = 0; j < i; j++)
			again |= edits[j].index == edits[i].index && edits[j].entry == NULL;
		n_del += edits[i].index != GT_ENV_APPEND && edits[i].entry == NULL && !again;
	}
	if (spec->has_env && !spec->env_null) {
		size_t kept = spec->n_env - (n_del < spec->n_env ? n_del : spec->n_env);
		run = join_appends(edits, n_edits, kept > 0);
		if (run == NULL)
			goto oom;
		if (env_splices(spec, edits, n_edits, run, sp, &ns, err) < 0)
			goto out;
	} else if (n_app > 0) {
		run = join_appends(edits, n_edits, false);
		if (run == NULL)
			goto oom;
		bool empty = gt_json_is_empty_container(spec->text, spec->len, spec->process.start);
		char *text = NULL;
		int r = spec->env_null ? asprintf(&text, "[%s]", run)
				       : asprintf(&text, "\"env\":[%s]%s", run, empty ? "" : ",");
		if (r < 0)
			goto oom;
		size_t at = spec->process.start + 1;
		struct splice s = { at, at, text, strlen(text), text };
		if (spec->env_null) {
			s.start = spec->env_span.start;
			s.end = spec->env_span.end;
		}
		sp[ns++] = s;
	}
	/* The root object has at least "process": a member added first there
	 * always takes a comma. */
	size_t root = gt_json_skip_ws(spec->text, spec->len, 0);
	if (x->member != NULL && member_splice(spec, root, x->member, x->member_json, &sp[ns++], err) < 0)
		goto out;
	if (x->annotation != NULL) {
		char *qv = quote_dup(x->annotation_value);
		if (qv == NULL)
			goto oom;
		struct gt_span a;
		unsigned found = gt_json_member(spec->text, spec->len, root, "annotations", &a);
		int r = 0;
		if (found == 1 && spec->text[a.start] == '{') {
			r = member_splice(spec, a.start, x->annotation, qv, &sp[ns++], err);
		} else if (found == 0) {
			char *qk = quote_dup(x->annotation), *text = NULL;
			if (qk == NULL || asprintf(&text, "\"annotations\":{%s:%s},", qk, qv) < 0)
				r = gt_error(err, ENOMEM, "render spec");
			else
				sp[ns++] = (struct splice){ root + 1, root + 1, text, strlen(text), text };
			free(qk);
		} else {
			/* null, not an object, or twice: leave it as the engine wrote it */
		}
		free(qv);
		if (r < 0)
			goto out;
	}
	qsort(sp, ns, sizeof(*sp), cmp_splice);

	size_t total = spec->len;
	for (size_t i = 0; i < ns; i++)
		total += sp[i].repl_len;
	out->data = malloc(total + 1);
	if (out->data == NULL)
		goto oom;
	size_t pos = 0, len = 0;
	for (size_t i = 0; i < ns; i++) {
		memcpy(out->data + len, spec->text + pos, sp[i].start - pos);
		len += sp[i].start - pos;
		memcpy(out->data + len, sp[i].repl, sp[i].repl_len);
		len += sp[i].repl_len;
		pos = sp[i].end;
	}
	memcpy(out->data + len, spec->text + pos, spec->len - pos);
	len += spec->len - pos;
	out->data[len] = '\0';
	out->len = len;
	ret = 0;
	goto out;
oom:
	gt_error(err, ENOMEM, "render spec");
out:
	for (size_t i = 0; i < ns; i++)
		free(sp[i].owned);
	free(sp);
	free(run);
	return ret;
}

const char *gt_spec_string(const struct gt_spec *spec, const char *const *path)
{
	yajl_val v = gt_json_path(spec->tree, path);
	return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

const char *gt_spec_arg0(const struct gt_spec *spec)
{
	static const char *const args_path[] = { "process", "args", NULL };
	yajl_val args = gt_json_path(spec->tree, args_path);
	if (!YAJL_IS_ARRAY(args) || args->u.array.len == 0 || !YAJL_IS_STRING(args->u.array.values[0]))
		return NULL;
	return YAJL_GET_STRING(args->u.array.values[0]);
}
