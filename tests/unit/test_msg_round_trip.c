/*
 * Round trips of every message type: with every option in §5.1's order,
 * with a sequence number only, with no options, with empty values.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_harness.h"

/* §5.1 "Options written (in order)", per message type; -1 ends. */
static const int spec_order[QN_MSG_COUNT][9] = {
	[QN_MSG_PREINIT] = { 0, 1, -1 },
	[QN_MSG_PREINIT_REPLY] = { 0, 2, 3, -1 },
	[QN_MSG_STARTTLS] = { 0, -1 },
	[QN_MSG_INIT] = { 0, 4, 5, 9, 11, 12, 21, 13, -1 },
	[QN_MSG_INIT_REPLY] = { 6, 4, 5, 0, 7, 8, 10, -1 },
	[QN_MSG_SERVER_ERROR] = { 0, 6, -1 },
	[QN_MSG_SET_OPTION] = { 0, 12, 23, -1 },
	[QN_MSG_SET_OPTION_REPLY] = { 0, 12, 23, -1 },
	[QN_MSG_ECHO_REQUEST] = { 0, -1 },
	[QN_MSG_ECHO_REPLY] = { 0, -1 },
	[QN_MSG_NODE_LIST] = { 0, 18, 13, 14, 20, 17, 22, -1 },
	[QN_MSG_NODE_LIST_REPLY] = { 0, 18, 13, 19, -1 },
	[QN_MSG_ASK_FOR_VOTE] = { 0, -1 },
	[QN_MSG_ASK_FOR_VOTE_REPLY] = { 0, 19, 13, -1 },
	[QN_MSG_VOTE_INFO] = { 0, 19, 13, -1 },
	[QN_MSG_VOTE_INFO_REPLY] = { 0, -1 },
	[QN_MSG_HEURISTICS_CHANGE] = { 0, 22, -1 },
	[QN_MSG_HEURISTICS_CHANGE_REPLY] = { 0, 19, 13, 22, -1 },
};

static uint16_t rt_msgs[] = { 17, 0, 9 };
static uint16_t rt_opts[] = { 23 };
static uint16_t rt_algos[] = { 3, 2, 1, 0, 0xffff };
static struct qn_node rt_nodes[] = {
	{ 7, 0, 0 },
	{ 0xfffffffe, 0x01020304, QN_NODE_STATE_LEAVING },
	{ 3, 0, QN_NODE_STATE_DEAD },
	{ 4, 9, 0 },
};

/* A message carrying every option 0..23 with values unlike each other. */
void
build_all_options(struct msg *m, uint16_t type)
{
	static const char name[] = "cluster\0with nul";

	msg_init(m, type);
	msg_set_seq(m, 0x89abcdef);
	msg_set_cluster_name(m, name, sizeof(name) - 1);
	msg_set_tls_supported(m, QN_TLS_REQUIRED);
	msg_set_tls_client_cert_required(m, 0x80);
	msg_set_supported_messages(m,
	    &(struct u16_list){ rt_msgs, ARRAY_LEN(rt_msgs) });
	msg_set_supported_options(m,
	    &(struct u16_list){ rt_opts, ARRAY_LEN(rt_opts) });
	msg_set_reply_error_code(m, 0xfffe);
	msg_set_server_max_request_size(m, 0x11223344);
	msg_set_server_max_reply_size(m, 0x55667788);
	msg_set_node_id(m, 0xfedcba98);
	msg_set_supported_algorithms(m,
	    &(struct u16_list){ rt_algos, ARRAY_LEN(rt_algos) });
	msg_set_algorithm(m, 0x1234);
	msg_set_heartbeat_interval(m, 120000);
	msg_set_ring_id(m, &(struct qn_ring_id){ 0xa1b2c3d4,
	    UINT64_C(0x0102030405060708) });
	msg_set_config_version(m, UINT64_C(0xf0e0d0c0b0a09080));
	msg_set_data_center_id(m, 42);
	msg_set_node_state(m, QN_NODE_STATE_DEAD);
	msg_set_nodes(m, rt_nodes, ARRAY_LEN(rt_nodes));
	msg_set_node_list_type(m, QN_LIST_QUORUM);
	msg_set_vote(m, QN_VOTE_WAIT_FOR_REPLY);
	msg_set_quorate(m, 1);
	msg_set_tie_breaker(m,
	    &(struct qn_tie_breaker){ QN_TB_NODE_ID, 0xcafef00d });
	msg_set_heuristics(m, QN_HEUR_FAIL);
	msg_set_kap_tie_breaker(m, 1);
	ck_assert_uint_eq(m->has, QN_BIT(QN_OPT_COUNT) - 1);
}

/* The option codes of the body's TLVs, in wire order. */
static size_t
tlv_types(const uint8_t *p, size_t len, int *types, size_t max)
{
	size_t n = 0, off = QN_HEADER_SIZE;

	while (off < len) {
		ck_assert_uint_le(off + QN_TLV_HEADER_SIZE, len);
		ck_assert_uint_lt(n, max);
		types[n++] = get_u16(p + off);
		off += QN_TLV_HEADER_SIZE + get_u16(p + off + 2);
	}
	ck_assert_uint_eq(off, len);
	return n;
}

START_TEST(round_trip_all_options)
{
	uint16_t type = (uint16_t)_i;
	struct msg m, got;
	struct buf out;
	int types[64], want[64];
	size_t n, k = 0;
	uint32_t done = 0;

	build_all_options(&m, type);
	buf_init(&out);
	ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
	ck_assert_uint_eq(get_u16(out.data), type);
	ck_assert_uint_eq(get_u32(out.data + 2), out.len - QN_HEADER_SIZE);

	/* The type's own order first, then the others ascending. */
	for (const int *o = spec_order[type]; *o >= 0; o++) {
		want[k++] = *o;
		done |= QN_BIT(*o);
	}
	for (int opt = 0; opt < QN_OPT_COUNT; opt++)
		if (!(done & QN_BIT(opt)))
			want[k++] = opt;
	/* Node info: one TLV per node, where option 17 belongs. */
	for (size_t i = 0; i < k; i++)
		if (want[i] == QN_OPT_NODE_INFO) {
			size_t extra = m.node_count - 1;

			memmove(&want[i + 1 + extra], &want[i + 1],
			    (k - i - 1) * sizeof(*want));
			for (size_t j = 1; j <= extra; j++)
				want[i + j] = QN_OPT_NODE_INFO;
			k += extra;
			break;
		}
	n = tlv_types(out.data, out.len, types, ARRAY_LEN(types));
	ck_assert_uint_eq(n, k);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(types[i] == want[i],
		    "type %u: TLV %zu is option %d, want %d", type, i, types[i],
		    want[i]);

	ck_assert_int_eq(msg_decode(out.data, out.len, &got), DECODE_OK);
	assert_msg_eq(&got, &m);
	msg_free(&got);
	buf_free(&out);
}
END_TEST

/* Every type with nothing but a sequence number. */
START_TEST(round_trip_seq_only)
{
	uint16_t type = (uint16_t)_i;
	struct msg m, got;
	struct buf out;
	uint8_t want[14] = { type >> 8, type, 0, 0, 0, 8, 0, 0, 0, 4,
		0xde, 0xad, 0xbe, 0xef };

	msg_init(&m, type);
	msg_set_seq(&m, 0xdeadbeef);
	buf_init(&out);
	ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
	assert_bytes(out.data, out.len, want, sizeof(want), "seq only");
	ck_assert_int_eq(msg_decode(out.data, out.len, &got), DECODE_OK);
	assert_msg_eq(&got, &m);
	msg_free(&got);
	buf_free(&out);
}
END_TEST

/*
 * A message with no option at all encodes to a bare header, which the
 * receiver must reject: a body needs at least one TLV (§3.2).
 */
START_TEST(round_trip_no_options)
{
	uint16_t type = (uint16_t)_i;
	struct msg m, got;
	struct buf out;
	uint8_t want[6] = { type >> 8, type, 0, 0, 0, 0 };

	msg_init(&m, type);
	buf_init(&out);
	ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
	assert_bytes(out.data, out.len, want, sizeof(want), "no options");
	ck_assert_int_eq(msg_decode(out.data, out.len, &got),
	    DECODE_INCONSISTENT);
	ck_assert_uint_eq(got.has, 0);
	msg_free(&got);
	buf_free(&out);
}
END_TEST

/* Empty arrays and an empty cluster name are valid values (§3.3). */
START_TEST(round_trip_empty_values)
{
	struct msg m, got;
	struct buf out;
	size_t len;
	uint8_t *want;

	msg_init(&m, QN_MSG_INIT);
	/* On purpose: options present with no value set (zero length). */
	m.has = QN_BIT(QN_OPT_CLUSTER_NAME) | QN_BIT(QN_OPT_SUPPORTED_MESSAGES) |
	    QN_BIT(QN_OPT_SUPPORTED_OPTIONS) |
	    QN_BIT(QN_OPT_SUPPORTED_ALGORITHMS);
	msg_set_seq(&m, 1);
	buf_init(&out);
	ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
	/* INIT order: 0 4 5 first, then 1 and 10 ascending. */
	want = hex_parse("0003 00000018 0000 0004 00000001 0004 0000 0005 0000"
	    " 0001 0000 000a 0000", &len);
	assert_bytes(out.data, out.len, want, len, "empty values");
	ck_assert_int_eq(msg_decode(out.data, out.len, &got), DECODE_OK);
	assert_msg_eq(&got, &m);
	msg_free(&got);
	buf_free(&out);
	free(want);
}
END_TEST

TCase *
msg_round_trip_tcase(void)
{
	TCase *tc = tcase_create("round_trip");

	tcase_add_loop_test(tc, round_trip_all_options, 0, QN_MSG_COUNT);
	tcase_add_loop_test(tc, round_trip_seq_only, 0, QN_MSG_COUNT);
	tcase_add_loop_test(tc, round_trip_no_options, 0, QN_MSG_COUNT);
	tcase_add_test(tc, round_trip_empty_values);
	return tc;
}
