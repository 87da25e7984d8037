/* Policy validation, annotations, and the schema staying in step with the
 * code that enforces it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annotations.h"
#include "fileio.h"
#include "json.h"
#include "nearmiss.h"
#include "policy.h"
#include "sha256.h"
#include "tap.h"

static int parse(struct gt_policy *p, const char *text, char *msg, size_t msgsz)
{
	gt_policy_defaults(p);
	gt_err_t err = NULL;
	int r = gt_policy_parse(p, text, strlen(text), "/etc/gotune/policy.json", &err);
	snprintf(msg, msgsz, "%s", r < 0 ? gt_err_msg(err) : "");
	gt_err_free(&err);
	return r;
}

static int contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		return 1;
	printf("# \"%s\" lacks \"%s\"\n", hay, needle);
	return 0;
}

struct ann {
	const char *const *kv;
};

static const char *ann_get(void *ctx, const char *key)
{
	for (const char *const *kv = ((struct ann *)ctx)->kv; *kv != NULL; kv += 2)
		if (strcmp(*kv, key) == 0)
			return kv[1];
	return NULL;
}

static void schema_matches_code(const char *schema_path)
{
	struct gt_buf buf = { 0 };
	gt_err_t err = NULL;
	yajl_val tree = NULL;
	if (gt_read_file_at(-100, schema_path, 1 << 20, &buf, &err) < 0 ||
	    gt_json_parse(buf.data, buf.len, "schema", &tree, &err) < 0) {
		ok(0, "schema loads: %s", gt_err_msg(err));
		return;
	}
	int mismatches = 0, count = 0;
	for (const struct gt_policy_key *k = gt_policy_keys(); k->path != NULL; k++) {
		char path[128];
		snprintf(path, sizeof(path), "%s", k->path);
		const char *segs[8] = { "properties" };
		size_t n = 1;
		for (char *t = path; t != NULL;) {
			char *dot = strchr(t, '.');
			if (dot != NULL)
				*dot++ = '\0';
			segs[n++] = t;
			segs[n++] = "properties";
			t = dot;
		}
		segs[n - 1] = "type";
		segs[n] = NULL;
		yajl_val type = gt_json_path(tree, segs);
		count++;
		if (!YAJL_IS_STRING(type) || strcmp(type->u.string, k->type) != 0) {
			printf("# %s: schema says %s, code says %s\n", k->path,
			       YAJL_IS_STRING(type) ? type->u.string : "nothing", k->type);
			mismatches++;
		}
	}
	/* And the other way: every top-level schema property is known. */
	const char *props[] = { "properties", NULL };
	yajl_val top = gt_json_path(tree, props);
	for (size_t i = 0; YAJL_IS_OBJECT(top) && i < top->u.object.len; i++) {
		int known = 0;
		for (const struct gt_policy_key *k = gt_policy_keys(); k->path != NULL; k++)
			known |= strcmp(k->path, top->u.object.keys[i]) == 0;
		if (!known) {
			printf("# schema property %s unknown to the code\n", top->u.object.keys[i]);
			mismatches++;
		}
	}
	ok(mismatches == 0 && count > 10, "schema and code agree on %d keys", count);
	const char *nap[] = { "additionalProperties", NULL };
	yajl_val addl = gt_json_path(tree, nap);
	ok(YAJL_IS_FALSE(addl), "schema refuses unknown top-level keys, like the code");
	yajl_tree_free(tree);
	gt_buf_free(&buf);
}

/* The text of man page section name (".SH NAME" to the next ".SH"), with
 * "\-" read as "-"; "" when absent. */
static void man_section(const char *man, const char *name, char *out, size_t outsz)
{
	char head[64];
	snprintf(head, sizeof(head), "\n.SH %s\n", name);
	const char *p = strstr(man, head), *end;
	size_t n = 0;
	if (p != NULL) {
		p += strlen(head);
		end = strstr(p, "\n.SH ");
		if (end == NULL)
			end = p + strlen(p);
		for (; p < end && n + 1 < outsz; p++) {
			if (p[0] == '\\' && p[1] == '-')
				p++;
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

/* word appears in text with no name character right before or after it
 * (so gotune.io/prewarm is not found inside gotune.io/prewarm-files). */
static bool has_word(const char *text, const char *word)
{
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_.-/$";
	size_t n = strlen(word);
	for (const char *p = strstr(text, word); p != NULL; p = strstr(p + 1, word)) {
		bool before = p > text && strchr(name_chars, p[-1]) != NULL;
		bool after = p[n] != '\0' && strchr(name_chars, p[n]) != NULL && !(p[n] == '.' && strchr(name_chars, p[n + 1]) == NULL);
		if (!before && !after)
			return true;
	}
	return false;
}

static int man_keys(yajl_val props, const char *prefix, const char *section, int *count)
{
	int missing = 0;
	for (size_t i = 0; YAJL_IS_OBJECT(props) && i < props->u.object.len; i++) {
		char key[128];
		snprintf(key, sizeof(key), "%s%s", prefix, props->u.object.keys[i]);
		const char *sub[] = { "properties", NULL };
		yajl_val children = gt_json_path(props->u.object.values[i], sub);
		if (YAJL_IS_OBJECT(children)) {
			char pre[130];
			snprintf(pre, sizeof(pre), "%s.", key);
			missing += man_keys(children, pre, section, count);
			continue;
		}
		(*count)++;
		if (!has_word(section, key)) {
			printf("# policy key %s is not in the man page's POLICY section\n", key);
			missing++;
		}
	}
	return missing;
}

/* Every policy key of the schema and every annotation the code reads is
 * named, in full, in its section of gotune-hook(8). */
static void man_lists_everything(const char *schema_path, const char *man_path)
{
	struct gt_buf schema = { 0 }, man = { 0 };
	gt_err_t err = NULL;
	yajl_val tree = NULL;
	if (gt_read_file_at(-100, schema_path, 1 << 20, &schema, &err) < 0 ||
	    gt_json_parse(schema.data, schema.len, "schema", &tree, &err) < 0 ||
	    gt_read_file_at(-100, man_path, 1 << 20, &man, &err) < 0) {
		ok(0, "schema and man page load: %s", gt_err_msg(err));
		gt_err_free(&err);
		return;
	}
	static char section[1 << 16];
	man_section(man.data, "POLICY", section, sizeof(section));
	const char *props[] = { "properties", NULL };
	int count = 0;
	int missing = man_keys(gt_json_path(tree, props), "", section, &count);
	ok(missing == 0 && count > 30, "the man page's POLICY names all %d keys of the schema", count);

	man_section(man.data, "ANNOTATIONS", section, sizeof(section));
	missing = count = 0;
	for (const char *const *k = gt_annotation_keys; *k != NULL; k++, count++)
		if (!has_word(section, *k)) {
			printf("# annotation %s is not in the man page's ANNOTATIONS section\n", *k);
			missing++;
		}
	ok(missing == 0 && count > 5, "the man page's ANNOTATIONS names all %d annotations", count);
	yajl_tree_free(tree);
	gt_buf_free(&schema);
	gt_buf_free(&man);
}

/* The schema's leaf keys (objects with properties are walked into;
 * godebug, an object of free-form names, is a leaf) are all in the
 * example, which must hold every key. */
static int example_keys(yajl_val props, yajl_val example, const char *prefix, int *count)
{
	int missing = 0;
	for (size_t i = 0; YAJL_IS_OBJECT(props) && i < props->u.object.len; i++) {
		const char *name = props->u.object.keys[i];
		yajl_val ex = NULL;
		char full[160];
		snprintf(full, sizeof(full), "%s%s", prefix, name);
		/* Its absence is its default (anyone may ask to be recorded);
		 * no value written in the example means that. */
		if (strcmp(full, "profile.record_only") == 0) {
			(*count)++;
			continue;
		}
		if (gt_json_get(example, name, &ex) != 1) {
			printf("# policy key %s%s is in the schema, not in the example\n", prefix, name);
			missing++;
			continue;
		}
		const char *sub[] = { "properties", NULL };
		yajl_val children = gt_json_path(props->u.object.values[i], sub);
		if (YAJL_IS_OBJECT(children)) {
			char pre[130];
			snprintf(pre, sizeof(pre), "%s%s.", prefix, name);
			missing += example_keys(children, ex, pre, count);
		} else {
			(*count)++;
		}
	}
	return missing;
}

/* schema/policy.example.json (as built: this build's prefix) holds every
 * key of the schema, each at the default the code applies. */
static void example_is_complete(const char *schema_path, const char *example_path)
{
	struct gt_buf schema = { 0 }, example = { 0 };
	gt_err_t err = NULL;
	yajl_val st = NULL, et = NULL;
	if (gt_read_file_at(-100, schema_path, 1 << 20, &schema, &err) < 0 ||
	    gt_json_parse(schema.data, schema.len, "schema", &st, &err) < 0 ||
	    gt_read_file_at(-100, example_path, 1 << 20, &example, &err) < 0 ||
	    gt_json_parse(example.data, example.len, "example", &et, &err) < 0) {
		ok(0, "schema and example load: %s", gt_err_msg(err));
		gt_err_free(&err);
		return;
	}
	const char *props[] = { "properties", NULL };
	int count = 0;
	int missing = example_keys(gt_json_path(st, props), et, "", &count);
	ok(missing == 0 && count > 40, "the example holds all %d keys of the schema", count);

	struct gt_policy want, got;
	gt_policy_defaults(&want);
	gt_policy_defaults(&got);
	int r = gt_policy_parse(&got, example.data, example.len, "example", &err);
	ok(r == 0, "the example is a valid policy %s", r < 0 ? gt_err_msg(err) : "");
	gt_err_free(&err);
	memcpy(got.source, want.source, sizeof(got.source));
	memcpy(got.sha256, want.sha256, sizeof(got.sha256));
	ok(memcmp(&want, &got, sizeof(want)) == 0, "... and every key in it is at its default");
	yajl_tree_free(st);
	yajl_tree_free(et);
	gt_buf_free(&schema);
	gt_buf_free(&example);
}

int main(int argc, char *argv[])
{
	struct gt_policy p;
	char msg[512];

	ok(parse(&p, "{}", msg, sizeof(msg)) == 0, "empty policy is valid");
	is_int(p.settings.ratio_ppm, 900000, "default ratio 0.9");
	is_str(p.source, "/etc/gotune/policy.json", "source recorded");

	ok(parse(&p,
		 "{\"$schema\":\"x\",\"enabled\":true,\"strict\":true,\"override\":true,\"runtime\":\"/usr/sbin/runc\","
		 "\"log_file\":\"/var/log/gotune.jsonl\",\"gomaxprocs\":{\"enabled\":true,\"rounding\":\"floor\","
		 "\"minimum\":2,\"shares\":true},\"gomemlimit\":{\"enabled\":false,\"ratio\":0.85},\"gogc\":\"off\","
		 "\"godebug\":{\"madvdontneed\":\"1\"}}",
		 msg, sizeof(msg)) == 0,
	   "full policy is valid %s", msg);
	ok(p.strict && p.settings.override && p.settings.shares && !p.settings.memlimit_enabled, "booleans applied");
	is_int(p.settings.rounding, GT_ROUND_FLOOR, "rounding applied");
	is_int(p.settings.minimum, 2, "minimum applied");
	is_int(p.settings.ratio_ppm, 850000, "ratio applied");
	is_str(p.settings.gogc, "off", "gogc applied");
	is_str(p.runtime, "/usr/sbin/runc", "runtime applied");
	is_int(p.settings.n_godebug, 1, "godebug applied");

	ok(parse(&p, "{\"gomaxprocs\":{\"rouding\":\"ceil\"}}", msg, sizeof(msg)) < 0 &&
		   contains(msg, "\"gomaxprocs.rouding\" is unknown") && contains(msg, "/etc/gotune/policy.json"),
	   "unknown nested key named with file");
	ok(parse(&p, "{\"stict\":true}", msg, sizeof(msg)) < 0 && contains(msg, "\"stict\" is unknown"),
	   "unknown top key");
	ok(parse(&p, "{\"strict\":\"yes\"}", msg, sizeof(msg)) < 0 && contains(msg, "\"strict\" must be true or false"),
	   "wrong type");
	ok(parse(&p, "{\"gomemlimit\":{\"ratio\":1.5}}", msg, sizeof(msg)) < 0 && contains(msg, "gomemlimit.ratio"),
	   "ratio out of range");
	ok(parse(&p, "{\"gomemlimit\":{\"ratio\":0}}", msg, sizeof(msg)) < 0, "ratio zero");
	ok(parse(&p, "{\"gomaxprocs\":{\"minimum\":0}}", msg, sizeof(msg)) < 0, "minimum zero");
	ok(parse(&p, "{\"gomaxprocs\":{\"minimum\":1.5}}", msg, sizeof(msg)) < 0, "minimum fraction");
	ok(parse(&p, "{\"gogc\":\"fast\"}", msg, sizeof(msg)) < 0 && contains(msg, "gogc"), "bad gogc");
	ok(parse(&p, "{\"godebug\":{\"a,b\":\"1\"}}", msg, sizeof(msg)) < 0, "godebug key with a comma");
	ok(parse(&p, "{\"godebug\":{\"a\":\"1,b=2\"}}", msg, sizeof(msg)) < 0, "godebug value smuggling a key");
	ok(parse(&p, "{\"runtime\":\"runc\"}", msg, sizeof(msg)) < 0 && contains(msg, "absolute"), "relative runtime");
	ok(parse(&p, "{\"strict\":true,\"strict\":false}", msg, sizeof(msg)) < 0 && contains(msg, "twice"),
	   "duplicate key");
	ok(parse(&p, "[]", msg, sizeof(msg)) < 0 && contains(msg, "must be a JSON object"), "not an object");
	ok(parse(&p, "{\"strict\": ", msg, sizeof(msg)) < 0 && contains(msg, "invalid JSON at byte"),
	   "truncated JSON names the offset");
	ok(parse(&p, "{/*c*/}", msg, sizeof(msg)) < 0, "comments refused");
	/* A failed parse leaves the previous settings. */
	gt_policy_defaults(&p);
	gt_err_t err = NULL;
	gt_policy_parse(&p, "{\"override\":true,\"bogus\":1}", 27, "x", &err);
	gt_err_free(&err);
	ok(!p.settings.override, "failed policy changes nothing");

	/* annotations */
	struct gt_settings s;
	struct gt_notes notes = { 0 };
	gt_policy_defaults(&p);
	s = p.settings;
	const char *const a1[] = { "gotune.io/disable", "true", NULL };
	gt_annotations_apply(&s, ann_get, &(struct ann){ a1 }, &notes);
	ok(!s.enabled, "disable annotation");
	s = p.settings;
	const char *const a2[] = { "gotune.io/memory-ratio", "0.5", "gotune.io/rounding", "floor",
				   "gotune.io/gogc", "200", "gotune.io/godebug", "madvdontneed=1,gctrace=1",
				   "gotune.io/gomaxprocs", "off", NULL };
	gt_annotations_apply(&s, ann_get, &(struct ann){ a2 }, &notes);
	is_int(s.ratio_ppm, 500000, "ratio annotation");
	is_int(s.rounding, GT_ROUND_FLOOR, "rounding annotation");
	is_str(s.gogc, "200", "gogc annotation");
	is_int(s.n_godebug, 2, "godebug annotation");
	ok(!s.maxprocs_enabled, "gomaxprocs off annotation");
	is_int(notes.n, 0, "valid annotations give no warnings");
	s = p.settings;
	const char *const a3[] = { "gotune.io/memory-ratio", "2", "gotune.io/disable", "maybe", "gotune.io/gogc",
				   "1;rm", "gotune.io/godebug", "ok=1,bad", NULL };
	gt_annotations_apply(&s, ann_get, &(struct ann){ a3 }, &notes);
	ok(s.enabled && s.ratio_ppm == 900000 && s.gogc[0] == '\0' && s.n_godebug == 0,
	   "bad annotations change nothing");
	is_int(notes.n, 4, "each bad annotation noted");

	/* One grammar for memory-ratio: a plain decimal in (0, 1]. */
	static const struct { const char *v; uint32_t ppm; } ratios[] = {
		{ "0.5", 500000 }, { ".5", 500000 }, { "1", 1000000 }, { "1.0", 1000000 }, { "0.85", 850000 },
		{ "0.5 ", 0 }, { "  0.5", 0 }, { "0x1p-1", 0 }, { "5e-1", 0 }, { "+0.5", 0 }, { "-0.5", 0 },
		{ ".", 0 }, { "", 0 }, { "0", 0 }, { "1.01", 0 }, { "inf", 0 }, { "nan", 0 }, { "0.5.1", 0 },
		{ "0,5", 0 }, { "00000000000000000.5", 0 },
	};
	for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
		s = p.settings;
		struct gt_notes rn = { 0 };
		const char *const ar[] = { "gotune.io/memory-ratio", ratios[i].v, NULL };
		gt_annotations_apply(&s, ann_get, &(struct ann){ ar }, &rn);
		if (ratios[i].ppm != 0)
			ok(s.ratio_ppm == ratios[i].ppm && rn.n == 0, "memory-ratio \"%s\" accepted", ratios[i].v);
		else
			ok(s.ratio_ppm == 900000 && rn.n == 1, "memory-ratio \"%s\" refused with a note", ratios[i].v);
	}
	/* GOGC as Go reads it: a negative value means off. */
	static const struct { const char *v; bool good; } gogcs[] = {
		{ "-1", true }, { "-50", true }, { "off", true }, { "0", true }, { "100", true }, { "-", false },
		{ "--1", false }, { "1-", false }, { " 100", false }, { "1e3", false }, { "1234567890", false },
	};
	for (size_t i = 0; i < sizeof(gogcs) / sizeof(gogcs[0]); i++) {
		s = p.settings;
		struct gt_notes gn = { 0 };
		const char *const ag[] = { "gotune.io/gogc", gogcs[i].v, NULL };
		gt_annotations_apply(&s, ann_get, &(struct ann){ ag }, &gn);
		ok(gogcs[i].good ? strcmp(s.gogc, gogcs[i].v) == 0 && gn.n == 0 : s.gogc[0] == '\0' && gn.n == 1,
		   "gogc \"%s\" %s", gogcs[i].v, gogcs[i].good ? "accepted" : "refused");
	}
	ok(parse(&p, "{\"gogc\":\"-1\"}", msg, sizeof(msg)) == 0 && strcmp(p.settings.gogc, "-1") == 0,
	   "policy gogc -1 (off, as Go reads it)");

	/* Places and near misses: what a person who mistyped a key needs. */
	ok(parse(&p, "{\n  \"gomemlimit\": {\n    \"ratoi\": 0.8\n  }\n}", msg, sizeof(msg)) < 0 &&
		   contains(msg, "policy /etc/gotune/policy.json:3:5: key \"gomemlimit.ratoi\" is unknown; did you mean "
				 "\"gomemlimit.ratio\"?"),
	   "an unknown key: file:line:column and the key meant");
	ok(parse(&p, "{\"ratio\": 0.5}", msg, sizeof(msg)) < 0 && contains(msg, ":1:2: ") &&
		   contains(msg, "did you mean \"gomemlimit.ratio\""),
	   "a key at the wrong level: the one meant");
	ok(parse(&p, "{\"gomaxprocs\": {\"minimum\": 0}}", msg, sizeof(msg)) < 0 && contains(msg, ":1:17: "),
	   "a bad value: the place of its key");
	ok(parse(&p, "{\"godebug\": {\"a.b\": \"x y\"}}", msg, sizeof(msg)) < 0 && contains(msg, ":1:14: "),
	   "a GODEBUG name with a dot is found whole");
	ok(parse(&p, "{\n \"strict\": ", msg, sizeof(msg)) < 0 && contains(msg, "policy.json:2:12: invalid JSON"),
	   "a syntax error: line and column");
	ok(parse(&p, "{\"a\": \"\u00e9\u00e9\", \"b\": 1}", msg, sizeof(msg)) < 0 && contains(msg, ":1:"),
	   "columns are found past escapes");
	ok(parse(&p, "{\"$schema\": \"\xc3\xa9\xc3\xa9\", \"bogus\": 1}", msg, sizeof(msg)) < 0 &&
		   contains(msg, ":1:19: "),
	   "a column counts characters, not UTF-8 bytes");
	ok(parse(&p, "{\"mdoe\": \"audit\"}", msg, sizeof(msg)) < 0 && contains(msg, "did you mean \"mode\""),
	   "mode misspelled: suggested");
	ok(parse(&p, "{\"zzzzzz\": 1}", msg, sizeof(msg)) < 0 && !strstr(msg, "did you mean"),
	   "no suggestion for a name far from every key");
	is_int(gt_edit_distance("ratoi", "ratio"), 1, "a swap of neighbours is one edit");
	ok(gt_near_miss("gc", (const char *const[]){ "gogc", NULL }) == NULL, "no suggestion for a short name 2 edits off");

	/* mode, metrics, and "" for the keys whose default is none */
	ok(parse(&p, "{\"mode\": \"audit\", \"metrics\": {\"file\": \"/var/lib/x/gotune.prom\"}}", msg,
		 sizeof(msg)) == 0 && p.settings.audit && strcmp(p.metrics_file, "/var/lib/x/gotune.prom") == 0,
	   "mode audit and metrics.file applied");
	ok(parse(&p, "{\"mode\": \"dryrun\"}", msg, sizeof(msg)) < 0 && contains(msg, "\"enforce\" or \"audit\""),
	   "mode: only enforce or audit");
	ok(parse(&p, "{\"runtime\": \"\", \"log_file\": \"\", \"gogc\": \"\", \"nri\": {\"prestart_hook\": \"\"}}", msg,
		 sizeof(msg)) == 0 && p.runtime[0] == '\0' && p.settings.gogc[0] == '\0',
	   "\"\" is none for runtime, log_file, gogc, nri.prestart_hook");
	ok(parse(&p, "{\"profile\": {\"dir\": \"\"}}", msg, sizeof(msg)) < 0, "profile.dir has a default: \"\" refused");
	ok(parse(&p, "{}", msg, sizeof(msg)) == 0 && strlen(p.sha256) == 64 &&
		   strcmp(p.sha256, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a") == 0,
	   "the policy's SHA-256 is of its text");
	char hex[GT_SHA256_HEX];
	gt_sha256_of("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256 of abc");
	static char big[1000];
	memset(big, 'a', sizeof(big));
	gt_sha256_of(big, sizeof(big), hex);
	is_str(hex, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3", "SHA-256 of 1000 a's");
	/* What says where gotune reports survives a policy broken elsewhere. */
	gt_policy_defaults(&p);
	gt_err_t serr = NULL;
	const char *salv = "{\"metrics\": {\"file\": \"/m/g.prom\"}, \"log_file\": \"/l.json\", \"ratoi\": 1}";
	ok(gt_policy_parse(&p, salv, strlen(salv), "x", &serr) < 0 && strcmp(p.metrics_file, "/m/g.prom") == 0 &&
		   strcmp(p.log_file, "/l.json") == 0 && !p.settings.audit,
	   "a broken policy still names its metrics file and log_file");
	gt_err_free(&serr);

	/* unknown annotation keys and gotune.io/mode */
	struct gt_notes an = { 0 };
	gt_annotation_check_key("gotune.io/gomemlimt", &an);
	gt_annotation_check_key("gotune.io/gomemlimit", &an);
	gt_annotation_check_key("io.kubernetes.cri.container-name", &an);
	gt_annotation_check_key("memory-ration.gotune.io/container.app", &an);
	gt_annotation_check_key("gotune.io/zzzzzzzz", &an);
	ok(an.n == 3 && contains(an.text[0], "gotune.io/gomemlimt is unknown; did you mean gotune.io/gomemlimit?") &&
		   contains(an.text[1], "did you mean memory-ratio.gotune.io/container.app?") && contains(an.text[2], "is unknown; ignored"),
	   "unknown gotune.io/ keys noted, with the key meant; known and foreign keys not");
	gt_policy_defaults(&p);
	s = p.settings;
	struct gt_notes mn = { 0 };
	const char *const am[] = { "gotune.io/mode", "audit", NULL };
	gt_annotations_apply(&s, ann_get, &(struct ann){ am }, &mn);
	ok(s.audit && s.audit_by_annotation && mn.n == 0, "gotune.io/mode: audit");
	parse(&p, "{\"mode\": \"audit\"}", msg, sizeof(msg));
	s = p.settings;
	const char *const ae[] = { "gotune.io/mode", "enforce", NULL };
	gt_annotations_apply(&s, ann_get, &(struct ann){ ae }, &mn);
	ok(s.audit && mn.n == 1 && contains(mn.text[0], "audit mode stands"),
	   "gotune.io/mode: enforce cannot leave the policy's audit");

	/* Issue 29's node-wide knobs. */
	gt_policy_defaults(&p);
	ok(p.workers.max_recorders == 2 && p.workers.max_readers == 4 && p.workers.cgroup &&
		   p.settings.profile_max_per_image == 16 && !p.record_only_set,
	   "defaults: 2 recorders, 4 readers, the workers' cgroup, 16 profiles per image, anyone may ask to be recorded");
	ok(parse(&p, "{\"workers\":{\"max_recorders\":0,\"max_readers\":8,\"cgroup\":false},"
		     "\"profile\":{\"max_per_image\":3}}", msg, sizeof(msg)) == 0 &&
		   p.workers.max_recorders == 0 && p.workers.max_readers == 8 && !p.workers.cgroup &&
		   p.settings.profile_max_per_image == 3,
	   "workers.* and profile.max_per_image are read");
	ok(parse(&p, "{\"workers\":{\"max_readers\":65}}", msg, sizeof(msg)) < 0 && contains(msg, "workers.max_readers"),
	   "workers.max_readers over 64 refused: %s", msg);
	ok(parse(&p, "{\"workers\":{\"max\":1}}", msg, sizeof(msg)) < 0 && contains(msg, "workers.max"),
	   "an unknown workers key refused: %s", msg);
	ok(parse(&p, "{\"profile\":{\"record_only\":{\"io.kubernetes.cri.sandbox-namespace\":[\"builds\"],"
		     "\"io.kubernetes.cri.image-name\":[\"registry.example.com/tools/*\",\"busybox\"]}}}",
		 msg, sizeof(msg)) == 0 && p.record_only_set && p.n_record_only == 3,
	   "profile.record_only: names to values");
	static const struct {
		const char *const kv[5];
		bool may;
	} who[] = {
		{ { "io.kubernetes.cri.sandbox-namespace", "builds", NULL }, true },
		{ { "io.kubernetes.cri.sandbox-namespace", "builds2", NULL }, false },
		{ { "io.kubernetes.cri.image-name", "registry.example.com/tools/cc:1", NULL }, true },
		{ { "io.kubernetes.cri.image-name", "registry.example.com/toolsx", NULL }, false },
		{ { "io.kubernetes.cri.image-name", "busybox", NULL }, true },
		{ { "io.kubernetes.cri.image-name", "busybox:1", NULL }, false },
		{ { "gotune.io/record", "true", NULL }, false },
	};
	for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++)
		ok(gt_policy_may_record(&p, ann_get, &(struct ann){ who[i].kv }) == who[i].may, "%s=%s: %s", who[i].kv[0],
		   who[i].kv[1], who[i].may ? "may be recorded" : "not recorded");
	ok(parse(&p, "{\"profile\":{\"record_only\":{}}}", msg, sizeof(msg)) == 0 &&
		   !gt_policy_may_record(&p, ann_get, &(struct ann){ who[0].kv }),
	   "record_only {}: no container is recorded");
	ok(parse(&p, "{}", msg, sizeof(msg)) == 0 && gt_policy_may_record(&p, ann_get, &(struct ann){ who[6].kv }),
	   "without record_only every container may be");
	ok(parse(&p, "{\"profile\":{\"record_only\":{\"a\":\"b\"}}}", msg, sizeof(msg)) < 0 &&
		   contains(msg, "profile.record_only"),
	   "record_only values must be arrays: %s", msg);

	if (argc > 1)
		schema_matches_code(argv[1]);
	if (argc > 3)
		example_is_complete(argv[1], argv[3]);
	if (argc > 2)
		man_lists_everything(argv[1], argv[2]);
	return tap_done();
}
