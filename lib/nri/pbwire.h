/* The Protocol Buffers wire format, only as much as the NRI plugin needs:
 * a reader that never leaves its slice and a writer that appends to a
 * bounded, growable buffer. Field numbers live with the messages (nri.c). */
#ifndef GOTUNE_PBWIRE_H
#define GOTUNE_PBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gt_pb_wire { GT_PB_VARINT = 0, GT_PB_I64 = 1, GT_PB_LEN = 2, GT_PB_I32 = 5 };

struct gt_pb_reader {
	const uint8_t *p, *end;
};

struct gt_pb_field {
	uint32_t num;
	enum gt_pb_wire wire;
	uint64_t v;		/* VARINT, I64, I32 */
	const uint8_t *data;	/* LEN: points into the reader's slice */
	size_t len;
};

static inline struct gt_pb_reader gt_pb_reader(const void *data, size_t len)
{
	/* An absent payload is an empty message (and NULL + 0 is UB). */
	if (data == NULL)
		return (struct gt_pb_reader){ .p = NULL, .end = NULL };
	return (struct gt_pb_reader){ .p = data, .end = (const uint8_t *)data + len };
}

/* The next field: 1, 0 at the end, -1 on malformed input (a truncated
 * varint or length, field number 0, groups, a reserved wire type). */
int gt_pb_next(struct gt_pb_reader *r, struct gt_pb_field *f);

/* A LEN field as a sub-reader. */
static inline struct gt_pb_reader gt_pb_sub(const struct gt_pb_field *f)
{
	return gt_pb_reader(f->data, f->len);
}

struct gt_pb_writer {
	uint8_t *data;
	size_t len, cap, max;
	bool failed;		/* out of memory or over max: checked once, at the end */
};

/* max bounds the whole message; writing past it fails the writer. */
void gt_pb_writer_init(struct gt_pb_writer *w, size_t max);
void gt_pb_writer_free(struct gt_pb_writer *w);
#define cleanup_pb_writer __attribute__((cleanup(gt_pb_writer_free)))

/* Bytes as they are (framing around messages). */
void gt_pb_put_raw(struct gt_pb_writer *w, const void *data, size_t len);
void gt_pb_put_varint_field(struct gt_pb_writer *w, uint32_t num, uint64_t v);
void gt_pb_put_bytes_field(struct gt_pb_writer *w, uint32_t num, const void *data, size_t len);
/* Proto3 leaves empty strings out; so does this. */
void gt_pb_put_string_field(struct gt_pb_writer *w, uint32_t num, const char *s);

/* A nested message: begin returns a mark, end fills in the length. Ends
 * must come in reverse order of begins. */
size_t gt_pb_begin(struct gt_pb_writer *w, uint32_t num);
void gt_pb_end(struct gt_pb_writer *w, size_t mark);

#endif
