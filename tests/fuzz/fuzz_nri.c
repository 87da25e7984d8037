/* The NRI plugin's input path: bytes from the runtime's socket through the
 * multiplexer and ttrpc framing into the NRI decoders and the plan, then
 * the response back through the framer. Properties: no crash, and every
 * response re-reads as the same bytes in frames of at most 4096. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nri_msg.h"
#include "nri_tune.h"
#include "nri_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const struct gt_pb_writer *resp)
{
	struct gt_pb_writer frames;
	gt_pb_writer_init(&frames, 2 * GT_TTRPC_MSG_MAX);
	gt_wire_frames(&frames, GT_MUX_PLUGIN_CONN, 7, GT_TTRPC_RESPONSE, resp->data, resp->len);
	for (size_t off = 0; off + 8 <= frames.len;) {
		uint32_t n = (uint32_t)frames.data[off + 4] << 24 | (uint32_t)frames.data[off + 5] << 16 |
			     (uint32_t)frames.data[off + 6] << 8 | frames.data[off + 7];
		if (n > GT_MUX_FRAME_MAX)
			abort();
		off += 8 + n;
	}
	struct gt_wire w;
	gt_wire_init(&w);
	gt_err_t err = NULL;
	struct gt_ttrpc_msg m;
	if (gt_wire_feed(&w, frames.data, frames.len, &err) < 0 || gt_wire_next(&w, &m, &err) != 1 ||
	    m.len != resp->len || m.stream != 7 || (m.len > 0 && memcmp(m.payload, resp->data, m.len) != 0))
		abort();
	gt_wire_free(&w);
	gt_err_free(&err);
	gt_pb_writer_free(&frames);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gt_policy policy;
	static struct gt_host host;
	static int init;
	if (!init) {
		gt_host_fixed(&host, 4);
		gt_policy_defaults(&policy);
		init = 1;
	}
	struct gt_wire w;
	gt_wire_init(&w);
	gt_err_t err = NULL;
	/* The first byte picks a read size, as a socket would split it. */
	size_t step = size > 0 ? (size_t)data[0] * 16 + 1 : 1;
	for (size_t off = 1; off < size; off += step) {
		size_t n = size - off < step ? size - off : step;
		if (gt_wire_feed(&w, data + off, n, &err) < 0)
			break;
		struct gt_ttrpc_msg m;
		int k;
		while ((k = gt_wire_next(&w, &m, &err)) > 0) {
			struct gt_ttrpc_request rq;
			if (gt_ttrpc_request_decode(m.payload, m.len, &rq) < 0)
				continue;
			struct gt_pb_writer out;
			gt_pb_writer_init(&out, GT_TTRPC_MSG_MAX - 64);
			struct gt_nri_create c;
			if (gt_nri_create_decode(rq.payload, rq.len, &c, &err) == 0) {
				struct gt_nri_tune t;
				gt_nri_tune(&c, &policy, &host, &t);
				gt_nri_create_response_encode(&out, &t.adjust);
			}
			gt_nri_create_free(&c);
			struct gt_nri_update u;
			if (gt_nri_update_decode(rq.payload, rq.len, &u, &err) == 0) {
				char id[GT_ID_MAX];
				struct gt_nri_stale stale[2];
				gt_nri_resize_check(&u, &policy, &host, id, sizeof(id), stale);
			}
			gt_nri_update_free(&u);
			gt_err_free(&err);
			struct gt_nri_configure cf;
			gt_nri_configure_decode(rq.payload, rq.len, &cf, &err);
			gt_nri_configure_free(&cf);
			bool more;
			gt_nri_synchronize_more(rq.payload, rq.len, &more, &err);
			gt_err_free(&err);
			/* nri-install's side: what a plugin sends a runtime. */
			char name[256], idx[16];
			gt_nri_register_decode(rq.payload, rq.len, name, sizeof(name), idx, sizeof(idx), &err);
			gt_err_free(&err);
			uint32_t events;
			gt_nri_configure_response_decode(rq.payload, rq.len, &events, &err);
			gt_err_free(&err);
			struct gt_pb_writer resp;
			gt_pb_writer_init(&resp, GT_TTRPC_MSG_MAX);
			gt_ttrpc_response_encode(&resp, 0, NULL, out.data, out.len);
			if (!resp.failed && !out.failed)
				check_roundtrip(&resp);
			gt_pb_writer_free(&resp);
			gt_pb_writer_free(&out);
		}
		if (k < 0)
			break;
	}
	gt_err_free(&err);
	gt_wire_free(&w);
	return 0;
}
