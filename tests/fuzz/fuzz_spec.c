/* Spec parse and rewrite: whatever parses must render, the output must
 * parse again, and every byte outside process.env must be unchanged. The
 * input is also an exec's process file for the config the wrapper wrote
 * from it: what the wrapper's exec renders must parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "spec.h"
#include "tune.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	struct gt_policy p;
	gt_policy_defaults(&p);
	p.settings.go_aware = false; /* no filesystem access from a fuzzer */
	struct gt_host host;
	gt_host_fixed(&host, 4); /* nor of the host's cgroups and mounts */
	struct gt_tune t = { 0 };
	gt_err_t err = NULL;
	if (gt_tune_spec(text, size, &p, &host, NULL, &t, &err) == 0 && t.changed) {
		struct gt_spec in, out;
		gt_err_t e2 = NULL;
		if (gt_spec_parse(&in, text, size, &e2) != 0 || gt_spec_parse(&out, t.out.data, t.out.len, &e2) != 0)
			abort(); /* rendered output must parse */
		if (in.has_env && !in.env_null) {
			if (memcmp(text, t.out.data, in.env_span.start) != 0 ||
			    size - in.env_span.end != t.out.len - out.env_span.end ||
			    memcmp(text + in.env_span.end, t.out.data + out.env_span.end, size - in.env_span.end) != 0)
				abort(); /* bytes outside process.env changed */
		}
		gt_spec_free(&in);
		gt_spec_free(&out);
		gt_err_free(&e2);
	}
	gt_err_free(&err);
	gt_tune_free(&t);

	struct gt_tune tm = { .mark = true };
	if (gt_tune_spec(text, size, &p, &host, NULL, &tm, &err) == 0 && tm.changed) {
		struct gt_spec cfg, proc;
		struct gt_env_edit ed[GT_NVARS];
		size_t n = 0;
		if (gt_spec_parse(&cfg, tm.out.data, tm.out.len, &err) != 0)
			abort(); /* the wrapper's output must parse */
		if (gt_spec_parse_process(&proc, text, size, &err) == 0 &&
		    gt_tune_exec_edits(&cfg, proc.env, proc.n_env, ed, &n, &err) == 0 && n > 0) {
			struct gt_buf pb = { 0 };
			struct gt_spec again;
			if (gt_spec_render(&proc, ed, n, &pb, &err) != 0 ||
			    gt_spec_parse_process(&again, pb.data, pb.len, &err) != 0)
				abort(); /* an exec process gotune rendered must parse */
			gt_spec_free(&again);
			gt_buf_free(&pb);
		}
		for (size_t i = 0; i < n; i++)
			free(ed[i].entry);
		gt_spec_free(&proc);
		gt_spec_free(&cfg);
	}
	gt_err_free(&err);
	gt_tune_free(&tm);
	free(text);
	return 0;
}
