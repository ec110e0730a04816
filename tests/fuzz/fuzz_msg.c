/*
 * libFuzzer target: the reader and the codec on arbitrary bytes.
 *
 * The input is cut into chunks (sizes taken from the input itself) and fed
 * to the reader; every whole message is decoded, and a decodable one must
 * survive encode → decode unchanged (the codec loses nothing it accepts).
 * A message of unknown options only re-encodes to an empty body, which is
 * rightly undecodable, so it is left out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enroll_msg.h"
#include "msg.h"
#include "reader.h"

#define MAX_SIZE	65536

static void
same(const struct msg *a, const struct msg *b)
{
	if (a->type != b->type || a->has != b->has || a->seq != b->seq ||
	    a->node_count != b->node_count ||
	    a->cluster_name_len != b->cluster_name_len ||
	    (a->cluster_name_len &&
	    memcmp(a->cluster_name, b->cluster_name, a->cluster_name_len)) ||
	    (a->node_count &&
	    memcmp(a->nodes, b->nodes, a->node_count * sizeof(*a->nodes))) ||
	    !qn_ring_id_eq(&a->ring_id, &b->ring_id) ||
	    a->supported_options.n != b->supported_options.n)
		abort();
}

/* Enrolment messages: what decodes re-encodes to a message that decodes
 * to the same options. */
static void
check_enroll(const uint8_t *data, size_t len)
{
	struct enroll_msg m, again;
	struct buf b;

	if (enroll_msg_decode(data, len, &m) != 0)
		return;
	buf_init(&b);
	if (enroll_msg_encode(&m, &b) == 0) {
		if (enroll_msg_decode(b.data, b.len, &again) != 0 ||
		    again.type != m.type || again.csr_len != m.csr_len ||
		    again.proof_len != m.proof_len ||
		    again.has_error != m.has_error ||
		    (m.csr_len && memcmp(again.csr, m.csr, m.csr_len)))
			abort();
	}
	buf_free(&b);
}

static void
check_message(const uint8_t *data, size_t len)
{
	struct msg m, again;
	struct buf b;

	if (enroll_msg_is_type(get_u16(data))) {
		check_enroll(data, len);
		return;
	}
	if (msg_decode(data, len, &m) == DECODE_OK) {
		buf_init(&b);
		if (msg_encode(&m, &b, SIZE_MAX) == 0 && m.has != 0) {
			if (msg_decode(b.data, b.len, &again) != DECODE_OK)
				abort();
			same(&m, &again);
			msg_free(&again);
		}
		buf_free(&b);
	}
	msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r;
	size_t off = 0, chunk = 1;

	if (size == 0)
		return 0;
	reader_init(&r, data[0] % 2 ? MAX_SIZE : 64);
	off = 1;
	while (off < size) {
		size_t used, len;
		const uint8_t *msg;
		size_t n = size - off < chunk ? size - off : chunk;
		enum reader_status st = reader_feed(&r, data + off, n, &used);

		off += used;
		chunk = (chunk * 7 + used) % 97 + 1;
		if (st == READER_MORE)
			continue;
		if (st == READER_MESSAGE) {
			msg = reader_message(&r, &len);
			check_message(msg, len);
		}
		reader_next(&r);
	}
	reader_free(&r);
	return 0;
}
