#include "pbwire.h"

#include <stdlib.h>
#include <string.h>

static int get_varint(struct gt_pb_reader *r, uint64_t *out)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -1;
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*out = v;
			return 0;
		}
	}
	return -1;	/* more than 10 bytes */
}

int gt_pb_next(struct gt_pb_reader *r, struct gt_pb_field *f)
{
	if (r->p >= r->end)
		return 0;
	uint64_t key;
	if (get_varint(r, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		return -1;
	memset(f, 0, sizeof(*f));
	f->num = (uint32_t)(key >> 3);
	f->wire = (enum gt_pb_wire)(key & 7);
	size_t left;
	switch (f->wire) {
	case GT_PB_VARINT:
		return get_varint(r, &f->v) < 0 ? -1 : 1;
	case GT_PB_I64:
	case GT_PB_I32: {
		size_t n = f->wire == GT_PB_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			return -1;
		for (size_t i = 0; i < n; i++)
			f->v |= (uint64_t)r->p[i] << (8 * i);
		r->p += n;
		return 1;
	}
	case GT_PB_LEN:
		if (get_varint(r, &f->v) < 0)
			return -1;
		left = (size_t)(r->end - r->p);
		if (f->v > left)
			return -1;
		f->data = r->p;
		f->len = (size_t)f->v;
		r->p += f->len;
		return 1;
	default:
		return -1;	/* groups (3, 4) are not used by NRI; 6, 7 do not exist */
	}
}

void gt_pb_writer_init(struct gt_pb_writer *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void gt_pb_writer_free(struct gt_pb_writer *w)
{
	free(w->data);
	w->data = NULL;
	w->len = w->cap = 0;
}

static bool reserve(struct gt_pb_writer *w, size_t n)
{
	if (w->failed)
		return false;
	if (n > w->max - w->len) {
		w->failed = true;
		return false;
	}
	if (w->len + n <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 256;
	while (cap < w->len + n)
		cap *= 2;
	if (cap > w->max)
		cap = w->max;
	uint8_t *d = realloc(w->data, cap);
	if (d == NULL) {
		w->failed = true;
		return false;
	}
	w->data = d;
	w->cap = cap;
	return true;
}

static size_t encode_varint(uint8_t out[10], uint64_t v)
{
	size_t n = 0;
	do {
		out[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v != 0)
			out[n] |= 0x80;
		n++;
	} while (v != 0);
	return n;
}

void gt_pb_put_raw(struct gt_pb_writer *w, const void *data, size_t len)
{
	if (len == 0 || !reserve(w, len))
		return;
	memcpy(w->data + w->len, data, len);
	w->len += len;
}

static void put_varint(struct gt_pb_writer *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = encode_varint(b, v);
	gt_pb_put_raw(w, b, n);
}

void gt_pb_put_varint_field(struct gt_pb_writer *w, uint32_t num, uint64_t v)
{
	put_varint(w, (uint64_t)num << 3 | GT_PB_VARINT);
	put_varint(w, v);
}

void gt_pb_put_bytes_field(struct gt_pb_writer *w, uint32_t num, const void *data, size_t len)
{
	put_varint(w, (uint64_t)num << 3 | GT_PB_LEN);
	put_varint(w, len);
	gt_pb_put_raw(w, data, len);
}

void gt_pb_put_string_field(struct gt_pb_writer *w, uint32_t num, const char *s)
{
	if (s != NULL && s[0] != '\0')
		gt_pb_put_bytes_field(w, num, s, strlen(s));
}

size_t gt_pb_begin(struct gt_pb_writer *w, uint32_t num)
{
	put_varint(w, (uint64_t)num << 3 | GT_PB_LEN);
	return w->len;
}

/* The body is written first and moved up by the size of its length
 * prefix: lengths stay minimal varints, as every decoder expects. */
void gt_pb_end(struct gt_pb_writer *w, size_t mark)
{
	if (w->failed || mark > w->len)
		return;
	size_t body = w->len - mark;
	uint8_t b[10];
	size_t n = encode_varint(b, body);
	if (!reserve(w, n))
		return;
	memmove(w->data + mark + n, w->data + mark, body);
	memcpy(w->data + mark, b, n);
	w->len += n;
}
