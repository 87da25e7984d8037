/* NRI's transport: one unix socket carrying a multiplexer (frames of conn
 * id + length, each conn a byte stream), and ttrpc messages inside each
 * conn. Conn 1: the runtime calls the plugin. Conn 2: the plugin calls the
 * runtime. Everything here is pure byte handling, so the peer test and the
 * fuzzer drive it without a socket. */
#ifndef GOTUNE_NRI_WIRE_H
#define GOTUNE_NRI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pbwire.h"

#define GT_MUX_PLUGIN_CONN 1u
#define GT_MUX_RUNTIME_CONN 2u
/* The Go side reads each frame into a 4096-byte buffer and drops the
 * plugin when one is larger: every frame we send stays within it. */
#define GT_MUX_FRAME_MAX 4096u
#define GT_TTRPC_HEADER 10u
/* ttrpc's own limit on one message. */
#define GT_TTRPC_MSG_MAX (4u << 20)

enum gt_ttrpc_type { GT_TTRPC_REQUEST = 1, GT_TTRPC_RESPONSE = 2, GT_TTRPC_DATA = 3 };

/* gRPC status codes ttrpc uses. */
#define GT_CODE_OK 0
#define GT_CODE_INVALID_ARGUMENT 3
#define GT_CODE_UNIMPLEMENTED 12

struct gt_wire_stream {
	uint8_t *data;
	size_t len, cap, off;	/* bytes [off, len) are not consumed yet */
};

struct gt_wire {
	struct gt_wire_stream trunk;	/* socket bytes not yet split into frames */
	struct gt_wire_stream conn[3];	/* by conn id; 0 unused */
};

struct gt_ttrpc_msg {
	uint32_t conn;
	uint32_t stream;
	uint8_t type, flags;
	const uint8_t *payload;	/* valid until the next gt_wire_feed */
	size_t len;
};

void gt_wire_init(struct gt_wire *w);
void gt_wire_free(struct gt_wire *w);

/* Takes bytes read from the socket. Fails on a frame no runtime sends (too
 * large); the caller then drops the connection. Frames for conns other
 * than 1 and 2 are ignored, as the Go multiplexer does. */
int gt_wire_feed(struct gt_wire *w, const void *data, size_t n, gt_err_t *err);

/* The next complete ttrpc message: 1, 0 when none is complete, -1 on a
 * protocol error (a declared length over GT_TTRPC_MSG_MAX). */
int gt_wire_next(struct gt_wire *w, struct gt_ttrpc_msg *m, gt_err_t *err);

/* Appends one ttrpc message to out as multiplexer frames of at most
 * GT_MUX_FRAME_MAX payload bytes each. */
void gt_wire_frames(struct gt_pb_writer *out, uint32_t conn, uint32_t stream, enum gt_ttrpc_type type,
		    const uint8_t *payload, size_t len);

/* ttrpc's Request and Response messages. Strings point into the input. */
struct gt_pb_str {
	const char *p;
	size_t n;
};
bool gt_pb_str_eq(struct gt_pb_str s, const char *lit);

struct gt_ttrpc_request {
	struct gt_pb_str service, method;
	const uint8_t *payload;
	size_t len;
};
int gt_ttrpc_request_decode(const uint8_t *data, size_t len, struct gt_ttrpc_request *r);
void gt_ttrpc_request_encode(struct gt_pb_writer *w, const char *service, const char *method,
			     const uint8_t *payload, size_t len);

struct gt_ttrpc_response {
	int32_t code;
	struct gt_pb_str message;
	const uint8_t *payload;
	size_t len;
};
int gt_ttrpc_response_decode(const uint8_t *data, size_t len, struct gt_ttrpc_response *r);
void gt_ttrpc_response_encode(struct gt_pb_writer *w, int32_t code, const char *message, const uint8_t *payload,
			      size_t len);

#endif
