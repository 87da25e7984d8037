#include "annotations.h"
#include "nearmiss.h"

#include <stdio.h>
#include <string.h>

const char *const gt_annotation_keys[] = {
	GT_ANNOTATION_PREFIX "disable",
	GT_ANNOTATION_PREFIX "gomaxprocs",
	GT_ANNOTATION_PREFIX "gomemlimit",
	GT_ANNOTATION_PREFIX "memory-ratio",
	GT_ANNOTATION_PREFIX "rounding",
	GT_ANNOTATION_PREFIX "gomaxprocs-tracking",
	GT_ANNOTATION_PREFIX "gogc",
	GT_ANNOTATION_PREFIX "godebug",
	GT_ANNOTATION_PREFIX "prewarm",
	GT_ANNOTATION_PREFIX "prewarm-files",
	GT_ANNOTATION_PREFIX "record",
	GT_ANNOTATION_PREFIX "mode",
	NULL,
};

static int parse_bool(const char *v)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
		return 1;
	if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
		return 0;
	return -1;
}

/* "off" switches a variable off for this container; "on" switches it back on
 * where the policy had it off. */
static void on_off(const char *key, const char *v, bool *flag, struct gt_notes *notes)
{
	if (strcmp(v, "off") == 0)
		*flag = false;
	else if (strcmp(v, "on") == 0)
		*flag = true;
	else
		gt_note(notes, "annotation %s=\"%.40s\": expected on or off; ignored", key, v);
}

static void apply_godebug(struct gt_settings *s, const char *v, struct gt_notes *notes)
{
	char copy[1024];
	if (strlen(v) >= sizeof(copy)) {
		gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "godebug is too long; ignored");
		return;
	}
	snprintf(copy, sizeof(copy), "%s", v);
	/* Validate everything first, so a bad list changes nothing. */
	struct gt_settings next = *s;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL) {
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "godebug: \"%.40s\" is not key=value; ignored", tok);
			return;
		}
		*eq = '\0';
		if (!gt_valid_godebug_token(tok, true) || !gt_valid_godebug_token(eq + 1, false)) {
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "godebug: bad setting \"%.40s\"; ignored", tok);
			return;
		}
		if (gt_settings_godebug_set(&next, tok, eq + 1) < 0) {
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "godebug: too many settings; ignored");
			return;
		}
	}
	*s = next;
}

/* A comma-separated list of absolute paths inside the rootfs; they are
 * resolved there with the same confinement as everything else. */
static void apply_prewarm_files(struct gt_settings *s, const char *v, struct gt_notes *notes)
{
	struct gt_settings next = *s;
	const char *p = v;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		char path[GT_PREWARM_PATH_MAX];
		if (n >= sizeof(path))
			goto bad;
		memcpy(path, p, n);
		path[n] = '\0';
		if (n > 0 && gt_settings_prewarm_add(&next, path) < 0)
			goto bad;
		p += n;
		if (*p == ',')
			p++;
	}
	*s = next;
	return;
bad:
	gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "prewarm-files: bad or too many paths; ignored");
}

/* The known names without the prefix, for suggestions. */
static size_t short_names(const char **out, size_t max)
{
	size_t n = 0, pl = strlen(GT_ANNOTATION_PREFIX);
	for (const char *const *k = gt_annotation_keys; *k != NULL && n + 1 < max; k++)
		out[n++] = *k + pl;
	out[n] = NULL;
	return n;
}

void gt_annotation_check_key(const char *key, struct gt_notes *notes)
{
	static const char pod_form[] = "." GT_ANNOTATION_PREFIX "container.";
	size_t pl = strlen(GT_ANNOTATION_PREFIX);
	const char *name;
	size_t nlen;
	/* gotune's own record of the variables it wrote (precreate, NRI) */
	if (strcmp(key, GT_ANNOTATION_PREFIX "env") == 0)
		return;
	if (strncmp(key, GT_ANNOTATION_PREFIX, pl) == 0) {
		name = key + pl;
		nlen = strlen(name);
	} else {
		/* NRI's per-container pod form: NAME.gotune.io/container.CONTAINER */
		const char *f = strstr(key, pod_form);
		if (f == NULL)
			return;
		name = key;
		nlen = (size_t)(f - key);
	}
	const char *known[32];
	short_names(known, 32);
	char word[GT_NEAR_MISS_MAX + 1];
	if (nlen <= GT_NEAR_MISS_MAX) {
		memcpy(word, name, nlen);
		word[nlen] = '\0';
		for (const char *const *k = known; *k != NULL; k++)
			if (strcmp(*k, word) == 0)
				return;
	} else {
		word[0] = '\0';
	}
	const char *near = word[0] != '\0' ? gt_near_miss(word, known) : NULL;
	if (near != NULL && name == key) /* the pod form: the same form, the name mended */
		gt_note(notes, "annotation %.80s is unknown; did you mean %s%.60s? ignored", key, near, key + nlen);
	else if (near != NULL)
		gt_note(notes, "annotation %.80s is unknown; did you mean " GT_ANNOTATION_PREFIX "%s? ignored", key, near);
	else
		gt_note(notes, "annotation %.80s is unknown; ignored (see gotune-hook --help)", key);
}

void gt_annotations_apply(struct gt_settings *s, gt_annotation_fn get, void *ctx, struct gt_notes *notes)
{
	const char *v;
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "mode")) != NULL) {
		if (strcmp(v, "audit") == 0) {
			s->audit_by_annotation = !s->audit;
			s->audit = true;
		} else if (strcmp(v, "enforce") == 0) {
			/* A container cannot leave an audit the operator set. */
			if (s->audit)
				gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "mode=enforce: the policy's audit mode stands");
		} else {
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "mode=\"%.40s\": expected audit or enforce; ignored", v);
		}
	}
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "disable")) != NULL) {
		int b = parse_bool(v);
		if (b < 0)
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "disable=\"%.40s\": expected true or false; ignored", v);
		else if (b == 1)
			s->enabled = false;
	}
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "gomaxprocs")) != NULL)
		on_off(GT_ANNOTATION_PREFIX "gomaxprocs", v, &s->maxprocs_enabled, notes);
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "gomemlimit")) != NULL)
		on_off(GT_ANNOTATION_PREFIX "gomemlimit", v, &s->memlimit_enabled, notes);
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "memory-ratio")) != NULL) {
		if (gt_parse_ratio_text(v, &s->ratio_ppm) < 0)
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "memory-ratio=\"%.40s\": expected a decimal in (0, 1] such as 0.8; ignored", v);
	}
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "rounding")) != NULL) {
		if (strcmp(v, "ceil") == 0)
			s->rounding = GT_ROUND_CEIL;
		else if (strcmp(v, "floor") == 0)
			s->rounding = GT_ROUND_FLOOR;
		else
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "rounding=\"%.40s\": expected ceil or floor; ignored", v);
	}
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "gomaxprocs-tracking")) != NULL) {
		if (gt_tracking_parse(v, &s->tracking) < 0)
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "gomaxprocs-tracking=\"%.40s\": expected defer, below-floor or always; ignored", v);
	}
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "gogc")) != NULL) {
		if (gt_valid_gogc(v))
			snprintf(s->gogc, sizeof(s->gogc), "%s", v);
		else
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "gogc=\"%.40s\": expected off or an integer (negative: off); ignored", v);
	}
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "godebug")) != NULL)
		apply_godebug(s, v, notes);
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "prewarm")) != NULL) {
		if (gt_pw_mode_parse(v, &s->prewarm.mode) < 0)
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "prewarm=\"%.40s\": expected off, willneed, populate or background; ignored", v);
	}
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "prewarm-files")) != NULL)
		apply_prewarm_files(s, v, notes);
	if ((v = get(ctx, GT_ANNOTATION_PREFIX "record")) != NULL) {
		int b = parse_bool(v);
		if (b < 0)
			gt_note(notes, "annotation " GT_ANNOTATION_PREFIX "record=\"%.40s\": expected true or false; ignored", v);
		else
			s->profile_record = b == 1;
	}
}
