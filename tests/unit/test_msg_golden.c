/*
 * The worked examples of PROTOCOL.md §12, byte for byte: built like a
 * daemon builds them, messages encode to the document's bytes, and the
 * bytes decode to exactly the message.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_harness.h"


static uint16_t msgs_0_17[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17
};
static uint16_t opts_0_23[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	20, 21, 22, 23
};
static uint16_t algos_0_3[] = { 0, 1, 2, 3 };

void
b_preinit(struct msg *m)		/* 12.1 */
{
	msg_init(m, QN_MSG_PREINIT);
	msg_set_cluster_name(m, "demo", 4);
	msg_set_seq(m, 1);
}

static void
preinit_reply(struct msg *m, uint8_t tls)
{
	msg_init(m, QN_MSG_PREINIT_REPLY);
	msg_set_tls_client_cert_required(m, 1);
	msg_set_tls_supported(m, tls);
	msg_set_seq(m, 1);
}

static void b_preinit_reply(struct msg *m) { preinit_reply(m, QN_TLS_SUPPORTED); }
static void b_preinit_reply_off(struct msg *m) { preinit_reply(m, QN_TLS_UNSUPPORTED); }
static void b_preinit_reply_req(struct msg *m) { preinit_reply(m, QN_TLS_REQUIRED); }

static void
b_starttls(struct msg *m)		/* 12.3 */
{
	msg_init(m, QN_MSG_STARTTLS);
	msg_set_seq(m, 2);
}

static void
b_init(struct msg *m)			/* 12.4 */
{
	msg_init(m, QN_MSG_INIT);
	msg_set_ring_id(m, &(struct qn_ring_id){ 1, 0x0a });
	msg_set_tie_breaker(m,
	    &(struct qn_tie_breaker){ .mode = QN_TB_LOWEST });
	msg_set_heartbeat_interval(m, 8000);
	msg_set_algorithm(m, QN_ALGO_FFSPLIT);
	msg_set_node_id(m, 1);
	/* What a daemon advertises: the codec's own lists. */
	msg_set_supported_options(m, &msg_all_options);
	msg_set_supported_messages(m, &msg_all_messages);
	msg_set_seq(m, 2);
}

static void
init_reply(struct msg *m, uint16_t err, int lists)
{
	msg_init(m, QN_MSG_INIT_REPLY);
	msg_set_supported_algorithms(m, &(struct u16_list){ algos_0_3, 4 });
	msg_set_server_max_reply_size(m, 32768);
	msg_set_server_max_request_size(m, 32768);
	msg_set_seq(m, 2);
	if (lists) {
		msg_set_supported_options(m,
		    &(struct u16_list){ opts_0_23, 24 });
		msg_set_supported_messages(m,
		    &(struct u16_list){ msgs_0_17, 18 });
	}
	msg_set_reply_error_code(m, err);
}

static void b_init_reply(struct msg *m) { init_reply(m, QN_ERR_NONE, 1); }
static void b_init_reply_17(struct msg *m) { init_reply(m, QN_ERR_DUPLICATE_NODE_ID, 1); }
static void b_init_reply_short(struct msg *m) { init_reply(m, QN_ERR_NONE, 0); }

static void
set_option(struct msg *m, enum qn_msg_type type)
{
	msg_init(m, type);
	msg_set_kap_tie_breaker(m, 1);
	msg_set_seq(m, 3);
}

static void b_set_option(struct msg *m) { set_option(m, QN_MSG_SET_OPTION); }
static void b_set_option_reply(struct msg *m) { set_option(m, QN_MSG_SET_OPTION_REPLY); }

static struct qn_node nodes_1_2[] = { { 1, 0, 0 }, { 2, 0, 0 } };
static struct qn_node node_1[] = { { 1, 0, 0 } };
static struct qn_node node_1_member[] = { { 1, 0, QN_NODE_STATE_MEMBER } };

static void
b_list_config(struct msg *m)
{
	msg_init(m, QN_MSG_NODE_LIST);
	msg_set_nodes(m, nodes_1_2, 2);
	msg_set_node_list_type(m, QN_LIST_INITIAL_CONFIG);
	msg_set_seq(m, 4);
}

static void
b_list_membership(struct msg *m)
{
	msg_init(m, QN_MSG_NODE_LIST);
	msg_set_nodes(m, node_1, 1);
	msg_set_ring_id(m, &(struct qn_ring_id){ 1, 0x0a });
	msg_set_node_list_type(m, QN_LIST_MEMBERSHIP);
	msg_set_seq(m, 5);
	/* heuristics undefined: option 22 absent */
}

static void
list_quorum(struct msg *m, uint32_t seq, uint8_t quorate)
{
	msg_init(m, QN_MSG_NODE_LIST);
	msg_set_nodes(m, node_1_member, 1);
	msg_set_quorate(m, quorate);
	msg_set_node_list_type(m, QN_LIST_QUORUM);
	msg_set_seq(m, seq);
}

static void b_list_quorum_6(struct msg *m) { list_quorum(m, 6, 0); }
static void b_list_quorum_7(struct msg *m) { list_quorum(m, 7, 1); }

static void
list_reply(struct msg *m, uint32_t seq, uint8_t type, uint8_t vote)
{
	msg_init(m, QN_MSG_NODE_LIST_REPLY);
	msg_set_vote(m, vote);
	msg_set_ring_id(m, &(struct qn_ring_id){ 1, 0x0a });
	msg_set_node_list_type(m, type);
	msg_set_seq(m, seq);
}

static void b_list_reply_4(struct msg *m) { list_reply(m, 4, QN_LIST_INITIAL_CONFIG, QN_VOTE_ASK_LATER); }
static void b_list_reply_5(struct msg *m) { list_reply(m, 5, QN_LIST_MEMBERSHIP, QN_VOTE_NO_CHANGE); }
static void b_list_reply_6(struct msg *m) { list_reply(m, 6, QN_LIST_QUORUM, QN_VOTE_NO_CHANGE); }
static void b_list_reply_7(struct msg *m) { list_reply(m, 7, QN_LIST_QUORUM, QN_VOTE_NO_CHANGE); }

static void
b_vote_info(struct msg *m)
{
	msg_init(m, QN_MSG_VOTE_INFO);
	msg_set_ring_id(m, &(struct qn_ring_id){ 1, 0x0a });
	msg_set_vote(m, QN_VOTE_ACK);
	msg_set_seq(m, 1);
}

static void
seq_only(struct msg *m, enum qn_msg_type type, uint32_t seq)
{
	msg_init(m, type);
	msg_set_seq(m, seq);
}

static void b_vote_info_reply(struct msg *m) { seq_only(m, QN_MSG_VOTE_INFO_REPLY, 1); }
static void b_echo_request(struct msg *m) { seq_only(m, QN_MSG_ECHO_REQUEST, 1); }
static void b_echo_request_2(struct msg *m) { seq_only(m, QN_MSG_ECHO_REQUEST, 2); }
static void b_echo_reply(struct msg *m) { seq_only(m, QN_MSG_ECHO_REPLY, 1); }

static void
b_heur_change(struct msg *m)
{
	msg_init(m, QN_MSG_HEURISTICS_CHANGE);
	msg_set_heuristics(m, QN_HEUR_PASS);
	msg_set_seq(m, 9);
}

static void
b_heur_change_reply(struct msg *m)
{
	msg_init(m, QN_MSG_HEURISTICS_CHANGE_REPLY);
	msg_set_heuristics(m, QN_HEUR_PASS);
	msg_set_ring_id(m, &(struct qn_ring_id){ 1, 8 });
	msg_set_vote(m, QN_VOTE_NO_CHANGE);
	msg_set_seq(m, 9);
}

static void
b_server_error_11(struct msg *m)
{
	msg_init(m, QN_MSG_SERVER_ERROR);
	msg_set_reply_error_code(m, QN_ERR_INIT_REQUIRED);
	msg_set_seq(m, 5);
}

static void
b_server_error_4(struct msg *m)
{
	msg_init(m, QN_MSG_SERVER_ERROR);
	msg_set_reply_error_code(m, QN_ERR_UNSUPPORTED_MESSAGE);
}

/* Lists 0..17 and 0..23 as printed in 12.4 (and meant by 12.5). */
#define HEX_MSGS "0004 0024 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009 000a 000b 000c 000d 000e 000f 0010 0011\n"
#define HEX_OPTS "0005 0030 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009 000a 000b 000c 000d 000e 000f 0010 0011 0012 0013 0014 0015 0016 0017\n"

static const struct golden {
	const char *name;
	void (*build)(struct msg *);
	const char *hex;
} golden[] = {
	{ "12.1 PREINIT", b_preinit,
	  "00000000001000000004000000010001000464656d6f" },
	{ "12.2 PREINIT_REPLY", b_preinit_reply,
	  "0001 00000012 | 0000 0004 00000001 | 0002 0001 01 | 0003 0001 01" },
	{ "12.2 PREINIT_REPLY -s off (and 12.7 #2)", b_preinit_reply_off,
	  "0001 00000012 | 0000 0004 00000001 | 0002 0001 00 | 0003 0001 01" },
	{ "12.2 PREINIT_REPLY -s req", b_preinit_reply_req,
	  "0001 00000012 | 0000 0004 00000001 | 0002 0001 02 | 0003 0001 01" },
	{ "12.3 STARTTLS", b_starttls,
	  "0002 00000008 | 0000 0004 00000002" },
	{ "12.4 INIT", b_init,
	  "0003 00000093\n"
	  "0000 0004 00000002\n"
	  HEX_MSGS
	  HEX_OPTS
	  "0009 0004 00000001\n"
	  "000b 0002 0001\n"
	  "000c 0004 00001f40\n"
	  "0015 0005 01 00000000\n"
	  "000d 000c 00000001 000000000000000a\n" },
	{ "12.5 INIT_REPLY", b_init_reply,
	  "0004 00000086\n"
	  "0006 0002 0000\n"
	  HEX_MSGS
	  HEX_OPTS
	  "0000 0004 00000002\n"
	  "0007 0004 00008000\n"
	  "0008 0004 00008000\n"
	  "000a 0008 0000 0001 0002 0003\n" },
	{ "12.5 INIT_REPLY error 17", b_init_reply_17,
	  "0004 00000086\n"
	  "0006 0002 0011\n"
	  HEX_MSGS
	  HEX_OPTS
	  "0000 0004 00000002\n"
	  "0007 0004 00008000\n"
	  "0008 0004 00008000\n"
	  "000a 0008 0000 0001 0002 0003\n" },
	{ "12.5 INIT_REPLY without 4 and 5", b_init_reply_short,
	  "0004 0000002a | 0006 0002 0000 | 0000 0004 00000002 | "
	  "0007 0004 00008000 | 0008 0004 00008000 | 000a 0008 0000000100020003" },
	{ "12.6 SET_OPTION", b_set_option,
	  "0006 0000000d 0000 0004 00000003 0017 0001 01" },
	{ "12.6 SET_OPTION_REPLY", b_set_option_reply,
	  "0007 0000000d 0000 0004 00000003 0017 0001 01" },
	{ "12.6 NODE_LIST initial config", b_list_config,
	  "000a 00000025 0000 0004 00000004 0012 0001 00 0011 0008 0009 0004 00000001 0011 0008 0009 0004 00000002" },
	{ "12.6 NODE_LIST membership", b_list_membership,
	  "000a 00000029 0000 0004 00000005 0012 0001 02 000d 000c 00000001 000000000000000a 0011 0008 0009 0004 00000001" },
	{ "12.6 NODE_LIST quorum", b_list_quorum_6,
	  "000a 00000023 0000 0004 00000006 0012 0001 03 0014 0001 00 0011 000d 0009 0004 00000001 0010 0001 01" },
	{ "12.6 NODE_LIST_REPLY", b_list_reply_4,
	  "000b 00000022 0000 0004 00000004 0012 0001 00 000d 000c 00000001 000000000000000a 0013 0001 03" },
	{ "12.6 VOTE_INFO", b_vote_info,
	  "000e 0000001d 0000 0004 00000001 0013 0001 01 000d 000c 00000001 000000000000000a" },
	{ "12.6 VOTE_INFO_REPLY", b_vote_info_reply,
	  "000f 00000008 0000 0004 00000001" },
	{ "12.6 ECHO_REQUEST", b_echo_request,
	  "0008 00000008 0000 0004 00000001" },
	{ "12.6 ECHO_REPLY", b_echo_reply,
	  "0009 00000008 0000 0004 00000001" },
	{ "12.6 HEURISTICS_CHANGE", b_heur_change,
	  "0010 0000000d 0000 0004 00000009 0016 0001 01" },
	{ "12.6 HEURISTICS_CHANGE_REPLY", b_heur_change_reply,
	  "0011 00000022 0000 0004 00000009 0013 0001 05 000d 000c 00000001 0000000000000008 0016 0001 01" },
	{ "12.6 SERVER_ERROR seq 5, 11", b_server_error_11,
	  "0005 0000000e 0000 0004 00000005 0006 0002 000b" },
	{ "12.6 SERVER_ERROR no seq, 4", b_server_error_4,
	  "0005 00000006 0006 0002 0004" },
	/*
	 * 12.7 messages not printed in hex elsewhere, written by the rules of
	 * §3 and §5.1 in the shape of their 12.6 siblings.
	 */
	{ "12.7 #12 NODE_LIST_REPLY seq 5 type 2 vote 5", b_list_reply_5,
	  "000b 00000022 0000 0004 00000005 0012 0001 02 000d 000c 00000001 000000000000000a 0013 0001 05" },
	{ "12.7 #13 NODE_LIST_REPLY seq 6 type 3 vote 5", b_list_reply_6,
	  "000b 00000022 0000 0004 00000006 0012 0001 03 000d 000c 00000001 000000000000000a 0013 0001 05" },
	{ "12.7 #15 NODE_LIST seq 7 quorum quorate", b_list_quorum_7,
	  "000a 00000023 0000 0004 00000007 0012 0001 03 0014 0001 01 0011 000d 0009 0004 00000001 0010 0001 01" },
	{ "12.7 #16 NODE_LIST_REPLY seq 7 type 3 vote 5", b_list_reply_7,
	  "000b 00000022 0000 0004 00000007 0012 0001 03 000d 000c 00000001 000000000000000a 0013 0001 05" },
	{ "12.7 #17 ECHO_REQUEST seq 2", b_echo_request_2,
	  "0008 00000008 0000 0004 00000002" },
};

/* Built like a daemon builds it, the message encodes to the document's bytes. */
START_TEST(golden_encode)
{
	const struct golden *g = &golden[_i];
	struct msg m;
	struct buf out;
	size_t len;
	uint8_t *want = hex_parse(g->hex, &len);

	g->build(&m);
	buf_init(&out);
	ck_assert_msg(msg_encode(&m, &out, BIG) == 0, "%s: encode failed",
	    g->name);
	assert_bytes(out.data, out.len, want, len, g->name);
	/* The header's length field is the body length (§2.1). */
	ck_assert_uint_eq(get_u32(want + 2), len - QN_HEADER_SIZE);
	buf_free(&out);
	free(want);
}
END_TEST

/* The document's bytes decode to exactly the message, and re-encode. */
START_TEST(golden_decode)
{
	const struct golden *g = &golden[_i];
	struct msg want, got;
	struct buf out;
	size_t len;
	uint8_t *bytes = hex_parse(g->hex, &len);
	enum decode_err e;

	g->build(&want);
	e = msg_decode(bytes, len, &got);
	ck_assert_msg(e == DECODE_OK, "%s: %s", g->name, decode_err_str(e));
	assert_msg_eq(&got, &want);

	buf_init(&out);
	ck_assert_int_eq(msg_encode(&got, &out, BIG), 0);
	assert_bytes(out.data, out.len, bytes, len, g->name);
	buf_free(&out);
	msg_free(&got);
	free(bytes);
}
END_TEST

/* The codec's advertised lists are those of §3.3: 0..23 and 0..17. */
START_TEST(advertised_lists)
{
	ck_assert_uint_eq(msg_all_options.n, 24);
	ck_assert_uint_eq(msg_all_messages.n, 18);
	for (uint16_t i = 0; i < 24; i++)
		ck_assert_uint_eq(msg_all_options.v[i], i);
	for (uint16_t i = 0; i < 18; i++)
		ck_assert_uint_eq(msg_all_messages.v[i], i);
	ck_assert(u16_list_has(&msg_all_options, 23));
	ck_assert(!u16_list_has(&msg_all_options, 24));
	ck_assert(u16_list_has(&msg_all_messages, 17));
	ck_assert(!u16_list_has(&msg_all_messages, 18));
}
END_TEST

TCase *
msg_golden_tcase(void)
{
	TCase *tc = tcase_create("golden");

	tcase_add_loop_test(tc, golden_encode, 0, ARRAY_LEN(golden));
	tcase_add_loop_test(tc, golden_decode, 0, ARRAY_LEN(golden));
	tcase_add_test(tc, advertised_lists);
	return tc;
}
