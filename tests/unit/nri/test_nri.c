/* Protobuf wire primitives and NRI framing, against byte strings written
 * out by hand from the protobuf encoding spec (not from this code). */
#include <string.h>

#include "nri_msg.h"
#include "nri_tune.h"
#include "nri_wire.h"
#include "tap.h"

static int bytes_eq(const struct gt_pb_writer *w, const char *want, size_t n)
{
	return !w->failed && w->len == n && memcmp(w->data, want, n) == 0;
}

static void varints(void)
{
	static const struct {
		uint64_t v;
		const char *enc;
		size_t n;
	} cases[] = {
		{ 0, "\x08\x00", 2 },
		{ 1, "\x08\x01", 2 },
		{ 127, "\x08\x7f", 2 },
		{ 128, "\x08\x80\x01", 3 },
		{ 300, "\x08\xac\x02", 3 },
		/* int64 -1, as OptionalInt64 carries "no quota": ten bytes */
		{ UINT64_MAX, "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gt_pb_writer w;
		gt_pb_writer_init(&w, 64);
		gt_pb_put_varint_field(&w, 1, cases[i].v);
		ok(bytes_eq(&w, cases[i].enc, cases[i].n), "varint %llu encodes as the spec says",
		   (unsigned long long)cases[i].v);
		struct gt_pb_reader r = gt_pb_reader(cases[i].enc, cases[i].n);
		struct gt_pb_field f;
		ok(gt_pb_next(&r, &f) == 1 && f.num == 1 && f.wire == GT_PB_VARINT && f.v == cases[i].v &&
			   gt_pb_next(&r, &f) == 0,
		   "... and decodes back");
		gt_pb_writer_free(&w);
	}
	struct gt_pb_reader r = gt_pb_reader("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
	struct gt_pb_field f;
	is_int(gt_pb_next(&r, &f), -1, "an 11-byte varint is malformed");
	r = gt_pb_reader("\x0a\x05\x61\x62", 4);
	is_int(gt_pb_next(&r, &f), -1, "a length past the end is malformed");
	r = gt_pb_reader("\x0b\x00", 2);
	is_int(gt_pb_next(&r, &f), -1, "a group (wire type 3) is refused");
	r = gt_pb_reader("\x00\x01", 2);
	is_int(gt_pb_next(&r, &f), -1, "field number 0 is refused");
	r = gt_pb_reader(NULL, 0);
	is_int(gt_pb_next(&r, &f), 0, "an absent payload is an empty message");
}

static void nesting(void)
{
	/* A 153-byte body needs a two-byte length: the mark must make room. */
	struct gt_pb_writer w;
	gt_pb_writer_init(&w, 1024);
	size_t m = gt_pb_begin(&w, 2);
	char body[150];
	memset(body, 'x', sizeof(body));
	gt_pb_put_bytes_field(&w, 1, body, sizeof(body));	/* tag + 2-byte len (96 01) + 150 = 153 */
	gt_pb_end(&w, m);
	ok(!w.failed && w.len == 1 + 2 + 153 && w.data[0] == 0x12 && w.data[1] == 0x99 && w.data[2] == 0x01 &&
		   w.data[3] == 0x0a && w.data[4] == 0x96 && w.data[5] == 0x01,
	   "a nested message of 153 bytes gets a minimal two-byte length (99 01)");
	gt_pb_writer_free(&w);

	gt_pb_writer_init(&w, 8);
	gt_pb_put_bytes_field(&w, 1, body, 20);
	ok(w.failed, "writing past the writer's bound fails it");
	gt_pb_writer_free(&w);
}

static void framing(void)
{
	uint8_t payload[10000];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	struct gt_pb_writer out;
	gt_pb_writer_init(&out, 1 << 20);
	gt_wire_frames(&out, GT_MUX_PLUGIN_CONN, 3, GT_TTRPC_RESPONSE, payload, sizeof(payload));
	/* 10 ttrpc header bytes + 10000 = 10010 -> 4096 + 4096 + 1818 */
	ok(!out.failed && out.len == 10010 + 3 * 8, "10000-byte message -> three frames");
	ok(memcmp(out.data, "\0\0\0\x01\0\0\x10\0", 8) == 0, "first frame: conn 1, 4096 bytes");
	ok(memcmp(out.data + 8, "\0\0\x27\x10\0\0\0\x03\x02\0", 10) == 0,
	   "ttrpc header: length 10000, stream 3, response, no flags");

	/* Fed back one byte at a time, the same message comes out once. */
	struct gt_wire w;
	gt_wire_init(&w);
	gt_err_t err = NULL;
	int got = 0, ok_all = 1;
	for (size_t i = 0; i < out.len; i++) {
		ok_all &= gt_wire_feed(&w, out.data + i, 1, &err) == 0;
		struct gt_ttrpc_msg m;
		while (gt_wire_next(&w, &m, &err) == 1) {
			got++;
			ok_all &= m.conn == 1 && m.stream == 3 && m.type == GT_TTRPC_RESPONSE &&
				  m.len == sizeof(payload) && memcmp(m.payload, payload, m.len) == 0;
		}
	}
	ok(ok_all && got == 1, "byte-by-byte reassembly yields the message once");
	gt_wire_free(&w);

	gt_wire_init(&w);
	int rc = gt_wire_feed(&w, "\0\0\0\x01\x7f\xff\xff\xff", 8, &err);
	ok(rc < 0 && err != NULL, "a 2 GiB frame is refused: %s", gt_err_msg(err));
	gt_err_free(&err);
	gt_wire_free(&w);

	gt_wire_init(&w);
	struct gt_ttrpc_msg m;
	ok(gt_wire_feed(&w, "\0\0\0\x09\0\0\0\x02zz\0\0\0\x01\0\0\0\x00", 18, &err) == 0 && gt_wire_next(&w, &m, &err) == 0,
	   "frames for unknown conns and empty frames are ignored");
	gt_wire_free(&w);
	gt_pb_writer_free(&out);
}

static void tune(void)
{
	struct gt_policy p;
	gt_policy_defaults(&p);
	char *env[] = { "PATH=/bin", "GOMAXPROCS=4" };
	struct gt_nri_kv ann[] = { { "gotune.io/gogc", "off" } };
	struct gt_nri_create c = {
		.pod_id = "p", .pod_name = "web", .pod_namespace = "prod", .id = "c1", .name = "app",
		.env = env, .n_env = 2, .pod_annotations = ann, .n_pod_annotations = 1,
		.res = { .has_quota = true, .quota = -1, .has_memory = true, .memory = 1 << 30, .cpus = "" },
	};
	struct gt_host host;
	gt_host_fixed(&host, 8);
	struct gt_nri_tune t;
	gt_nri_tune(&c, &p, &host, &t);
	ok(t.adjust.n_env == 2 && strcmp(t.adjust.env[0].key, "GOMEMLIMIT") == 0 &&
		   strcmp(t.adjust.env[1].key, "GOGC") == 0 && strcmp(t.adjust.env[1].value, "off") == 0,
	   "quota -1 is no limit; GOMEMLIMIT and the pod's GOGC are added");
	is_str(t.id, "prod/web/app", "log id is namespace/pod/container");

	p.settings.override = true;
	c.res.has_quota = true;
	c.res.quota = 100000;
	gt_nri_tune(&c, &p, &host, &t);
	ok(t.plan.d[GT_GOMAXPROCS].action == GT_ACT_KEPT && strstr(t.plan.d[GT_GOMAXPROCS].reason, "NRI only adds"),
	   "override never replaces a container's variable through NRI");
}

int main(void)
{
	varints();
	nesting();
	framing();
	tune();
	return tap_done();
}
