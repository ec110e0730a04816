#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "buf.h"
#include "reader.h"

void
reader_init(struct reader *r, size_t max_size)
{
	r->max_size = max_size;
	r->got = 0;
	r->total = QN_HEADER_SIZE;
	r->skip = READER_MORE;
	r->data = r->inline_data;
}

void
reader_free(struct reader *r)
{
	if (r->data != r->inline_data)
		free(r->data);
	r->data = r->inline_data;
}

void
reader_next(struct reader *r)
{
	reader_free(r);
	reader_init(r, r->max_size);
}

uint8_t *
reader_space(struct reader *r, size_t *want)
{
	size_t left = r->total - r->got;

	if (r->skip != READER_MORE) {
		/* Skipped bytes land in the inline area, past the header. */
		size_t room = READER_INLINE_SIZE - QN_HEADER_SIZE;

		*want = left < room ? left : room;
		return r->inline_data + QN_HEADER_SIZE;
	}
	*want = left;
	return r->data + r->got;
}

/* The header is complete: decide whether the body is kept or skipped. */
static void
header_done(struct reader *r)
{
	uint16_t type = get_u16(r->data);
	uint64_t total = (uint64_t)QN_HEADER_SIZE + get_u32(r->data + 2);

	r->total = total;
	if (!qn_msg_type_known(type))
		r->skip = READER_UNSUPPORTED;
	else if (total > r->max_size)
		r->skip = READER_TOO_LONG;
	else if (total > READER_INLINE_SIZE) {
		uint8_t *p = malloc(total);

		if (p == NULL)
			r->skip = READER_NOMEM;
		else {
			memcpy(p, r->inline_data, QN_HEADER_SIZE);
			r->data = p;
		}
	}
}

enum reader_status
reader_commit(struct reader *r, size_t n)
{
	size_t before = r->got;

	r->got += n;
	if (before < QN_HEADER_SIZE && r->got == QN_HEADER_SIZE)
		header_done(r);
	if (r->got < r->total)
		return READER_MORE;
	return r->skip == READER_MORE ? READER_MESSAGE : r->skip;
}

enum reader_status
reader_feed(struct reader *r, const uint8_t *data, size_t len, size_t *used)
{
	enum reader_status st = READER_MORE;

	*used = 0;
	while (*used < len) {
		size_t want;
		uint8_t *dst = reader_space(r, &want);
		size_t n = len - *used < want ? len - *used : want;

		memcpy(dst, data + *used, n);
		*used += n;
		if ((st = reader_commit(r, n)) != READER_MORE)
			break;
	}
	return st;
}

const uint8_t *
reader_message(const struct reader *r, size_t *len)
{
	*len = r->got;
	return r->data;
}
