#include "nri_wire.h"

#include <stdlib.h>
#include <string.h>

/* A frame may carry a whole ttrpc message (the Go side writes large ones
 * in one piece); nothing legitimate is bigger. */
#define FRAME_LEN_MAX (GT_TTRPC_MSG_MAX + GT_TTRPC_HEADER)
/* Buffers that grew for one large message are given back after it, so a
 * long-running plugin stays small. */
#define KEEP_CAP 65536u

void gt_wire_init(struct gt_wire *w)
{
	memset(w, 0, sizeof(*w));
}

static void stream_free(struct gt_wire_stream *s)
{
	free(s->data);
	memset(s, 0, sizeof(*s));
}

void gt_wire_free(struct gt_wire *w)
{
	stream_free(&w->trunk);
	for (size_t i = 0; i < 3; i++)
		stream_free(&w->conn[i]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Drops consumed bytes and, when the buffer is mostly empty and large,
 * its memory. */
static void compact(struct gt_wire_stream *s)
{
	if (s->off == 0)
		return;
	size_t left = s->len - s->off;
	memmove(s->data, s->data + s->off, left);
	s->len = left;
	s->off = 0;
	if (s->cap > KEEP_CAP && left < KEEP_CAP / 2) {
		uint8_t *d = realloc(s->data, KEEP_CAP);
		if (d != NULL) {
			s->data = d;
			s->cap = KEEP_CAP;
		}
	}
}

static int append(struct gt_wire_stream *s, const void *data, size_t n, gt_err_t *err)
{
	compact(s);
	if (n == 0)	/* empty frames are legal; memcpy to NULL is not */
		return 0;
	if (n > s->cap - s->len) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap - s->len < n)
			cap *= 2;
		uint8_t *d = realloc(s->data, cap);
		if (d == NULL)
			return gt_error(err, 12, "nri: buffer of %zu bytes", cap);
		s->data = d;
		s->cap = cap;
	}
	memcpy(s->data + s->len, data, n);
	s->len += n;
	return 0;
}

int gt_wire_feed(struct gt_wire *w, const void *data, size_t n, gt_err_t *err)
{
	if (append(&w->trunk, data, n, err) < 0)
		return -1;
	struct gt_wire_stream *t = &w->trunk;
	while (t->len - t->off >= 8) {
		const uint8_t *h = t->data + t->off;
		uint32_t conn = be32(h), len = be32(h + 4);
		if (len > FRAME_LEN_MAX)
			return gt_error(err, 0, "nri: multiplexer frame of %u bytes on conn %u (limit %u)", len, conn,
					FRAME_LEN_MAX);
		if (t->len - t->off - 8 < len)
			break;
		if (conn == GT_MUX_PLUGIN_CONN || conn == GT_MUX_RUNTIME_CONN) {
			struct gt_wire_stream *c = &w->conn[conn];
			/* One message being assembled, plus the start of the next. */
			if (c->len - c->off + len > 2 * FRAME_LEN_MAX)
				return gt_error(err, 0, "nri: conn %u backlog over %u bytes", conn, 2 * FRAME_LEN_MAX);
			if (append(c, h + 8, len, err) < 0)
				return -1;
		}
		t->off += 8 + (size_t)len;
	}
	compact(t);
	return 0;
}

int gt_wire_next(struct gt_wire *w, struct gt_ttrpc_msg *m, gt_err_t *err)
{
	for (uint32_t conn = GT_MUX_PLUGIN_CONN; conn <= GT_MUX_RUNTIME_CONN; conn++) {
		struct gt_wire_stream *c = &w->conn[conn];
		if (c->len - c->off < GT_TTRPC_HEADER)
			continue;
		const uint8_t *h = c->data + c->off;
		uint32_t len = be32(h);
		if (len > GT_TTRPC_MSG_MAX)
			return gt_error(err, 0, "nri: ttrpc message of %u bytes on conn %u (limit %u)", len, conn,
					GT_TTRPC_MSG_MAX);
		if (c->len - c->off - GT_TTRPC_HEADER < len)
			continue;
		m->conn = conn;
		m->len = len;
		m->stream = be32(h + 4);
		m->type = h[8];
		m->flags = h[9];
		m->payload = h + GT_TTRPC_HEADER;
		c->off += GT_TTRPC_HEADER + (size_t)len;
		return 1;
	}
	return 0;
}

void gt_wire_frames(struct gt_pb_writer *out, uint32_t conn, uint32_t stream, enum gt_ttrpc_type type,
		    const uint8_t *payload, size_t len)
{
	if (len > GT_TTRPC_MSG_MAX) {
		out->failed = true;
		return;
	}
	uint8_t th[GT_TTRPC_HEADER];
	put_be32(th, (uint32_t)len);
	put_be32(th + 4, stream);
	th[8] = (uint8_t)type;
	th[9] = 0;
	/* The ttrpc bytes are th followed by payload; cut them into frames. */
	size_t total = GT_TTRPC_HEADER + len;
	for (size_t done = 0; done < total;) {
		size_t chunk = total - done < GT_MUX_FRAME_MAX ? total - done : GT_MUX_FRAME_MAX;
		uint8_t mh[8];
		put_be32(mh, conn);
		put_be32(mh + 4, (uint32_t)chunk);
		gt_pb_put_raw(out, mh, sizeof(mh));
		size_t end = done + chunk;
		if (done < GT_TTRPC_HEADER) {
			size_t n = (end < GT_TTRPC_HEADER ? end : GT_TTRPC_HEADER) - done;
			gt_pb_put_raw(out, th + done, n);
			done += n;
		}
		if (done < end) {
			gt_pb_put_raw(out, payload + (done - GT_TTRPC_HEADER), end - done);
			done = end;
		}
	}
}

bool gt_pb_str_eq(struct gt_pb_str s, const char *lit)
{
	size_t n = strlen(lit);
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int want_len(const struct gt_pb_field *f)
{
	return f->wire == GT_PB_LEN ? 0 : -1;
}

int gt_ttrpc_request_decode(const uint8_t *data, size_t len, struct gt_ttrpc_request *r)
{
	memset(r, 0, sizeof(*r));
	struct gt_pb_reader rd = gt_pb_reader(data, len);
	struct gt_pb_field f;
	int k;
	while ((k = gt_pb_next(&rd, &f)) > 0) {
		switch (f.num) {
		case 1:	/* service */
			if (want_len(&f) < 0)
				return -1;
			r->service = (struct gt_pb_str){ (const char *)f.data, f.len };
			break;
		case 2:	/* method */
			if (want_len(&f) < 0)
				return -1;
			r->method = (struct gt_pb_str){ (const char *)f.data, f.len };
			break;
		case 3:	/* payload */
			if (want_len(&f) < 0)
				return -1;
			r->payload = f.data;
			r->len = f.len;
			break;
		default:	/* timeout_nano (4), metadata (5): not needed */
			break;
		}
	}
	return k;
}

void gt_ttrpc_request_encode(struct gt_pb_writer *w, const char *service, const char *method,
			     const uint8_t *payload, size_t len)
{
	gt_pb_put_string_field(w, 1, service);
	gt_pb_put_string_field(w, 2, method);
	if (len > 0)
		gt_pb_put_bytes_field(w, 3, payload, len);
}

int gt_ttrpc_response_decode(const uint8_t *data, size_t len, struct gt_ttrpc_response *r)
{
	memset(r, 0, sizeof(*r));
	struct gt_pb_reader rd = gt_pb_reader(data, len);
	struct gt_pb_field f;
	int k;
	while ((k = gt_pb_next(&rd, &f)) > 0) {
		if (f.num == 1 && f.wire == GT_PB_LEN) {	/* google.rpc.Status */
			struct gt_pb_reader sr = gt_pb_sub(&f);
			struct gt_pb_field sf;
			int j;
			while ((j = gt_pb_next(&sr, &sf)) > 0) {
				if (sf.num == 1 && sf.wire == GT_PB_VARINT)
					r->code = (int32_t)sf.v;
				else if (sf.num == 2 && sf.wire == GT_PB_LEN)
					r->message = (struct gt_pb_str){ (const char *)sf.data, sf.len };
			}
			if (j < 0)
				return -1;
		} else if (f.num == 2 && f.wire == GT_PB_LEN) {
			r->payload = f.data;
			r->len = f.len;
		} else if (f.num <= 2) {
			return -1;
		}
	}
	return k;
}

void gt_ttrpc_response_encode(struct gt_pb_writer *w, int32_t code, const char *message, const uint8_t *payload,
			      size_t len)
{
	/* ttrpc's server always sends a status, an empty one for OK. */
	size_t m = gt_pb_begin(w, 1);
	if (code != 0)
		gt_pb_put_varint_field(w, 1, (uint64_t)(int64_t)code);
	gt_pb_put_string_field(w, 2, message);
	gt_pb_end(w, m);
	if (len > 0)
		gt_pb_put_bytes_field(w, 2, payload, len);
}
