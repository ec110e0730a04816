/*
 * Unit tests of the message codec (common/msg.c) against PROTOCOL.md:
 * the worked examples of §12 byte for byte, round trips of every message
 * type with every option, the decoding rules of §3.2-§3.4 on malformed
 * input, and the encoder's limits.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "buf.h"
#include "msg.h"

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define BIG		(16u * 1024 * 1024)	/* an encode limit never hit */

/* ------------------------------------------------------------------ */
/* Helpers */

/*
 * Parse hex as the document prints it: pairs of hex digits, with spaces,
 * newlines and '|' ignored.  Returns a malloc'd buffer.
 */
static uint8_t *
hex_parse(const char *s, size_t *len)
{
	uint8_t *out = malloc(strlen(s) / 2 + 1);
	size_t n = 0;
	int hi = -1;

	ck_assert_ptr_nonnull(out);
	for (; *s != '\0'; s++) {
		int d;

		if (*s == ' ' || *s == '\n' || *s == '|')
			continue;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else {
			ck_abort_msg("bad character '%c' in hex string", *s);
			d = 0;
		}
		if (hi < 0)
			hi = d;
		else {
			out[n++] = (uint8_t)(hi << 4 | d);
			hi = -1;
		}
	}
	ck_assert_msg(hi < 0, "odd number of hex digits");
	*len = n;
	return out;
}

static char *
hex_dump(const uint8_t *p, size_t len)
{
	char *s = malloc(2 * len + 1);

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < len; i++)
		sprintf(s + 2 * i, "%02x", p[i]);
	s[2 * len] = '\0';
	return s;
}

static void
assert_bytes(const uint8_t *got, size_t got_len, const uint8_t *want,
    size_t want_len, const char *what)
{
	if (got_len != want_len || memcmp(got, want, want_len) != 0) {
		char *g = hex_dump(got, got_len), *w = hex_dump(want, want_len);

		ck_abort_msg("%s: bytes differ\n got  %s\n want %s", what, g, w);
	}
}

static void
assert_list_eq(const struct u16_list *a, const struct u16_list *b,
    const char *what)
{
	ck_assert_msg(a->n == b->n, "%s: %zu elements, want %zu", what,
	    a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		ck_assert_msg(a->v[i] == b->v[i], "%s[%zu] = %u, want %u",
		    what, i, a->v[i], b->v[i]);
}

/* Every field of *got equals that of *want (unset fields are zero in both). */
static void
assert_msg_eq(const struct msg *got, const struct msg *want)
{
	ck_assert_uint_eq(got->type, want->type);
	ck_assert_msg(got->has == want->has, "has = %#x, want %#x",
	    (unsigned)got->has, (unsigned)want->has);
	ck_assert_uint_eq(got->seq, want->seq);
	ck_assert_uint_eq(got->cluster_name_len, want->cluster_name_len);
	if (want->cluster_name_len > 0)
		ck_assert_mem_eq(got->cluster_name, want->cluster_name,
		    want->cluster_name_len);
	ck_assert_uint_eq(got->tls_supported, want->tls_supported);
	ck_assert_uint_eq(got->tls_client_cert_required,
	    want->tls_client_cert_required);
	assert_list_eq(&got->supported_messages, &want->supported_messages,
	    "supported_messages");
	assert_list_eq(&got->supported_options, &want->supported_options,
	    "supported_options");
	ck_assert_uint_eq(got->reply_error_code, want->reply_error_code);
	ck_assert_uint_eq(got->server_max_request_size,
	    want->server_max_request_size);
	ck_assert_uint_eq(got->server_max_reply_size,
	    want->server_max_reply_size);
	ck_assert_uint_eq(got->node_id, want->node_id);
	assert_list_eq(&got->supported_algorithms, &want->supported_algorithms,
	    "supported_algorithms");
	ck_assert_uint_eq(got->algorithm, want->algorithm);
	ck_assert_uint_eq(got->heartbeat_interval, want->heartbeat_interval);
	ck_assert_uint_eq(got->ring_id.node_id, want->ring_id.node_id);
	ck_assert_uint_eq(got->ring_id.seq, want->ring_id.seq);
	ck_assert_uint_eq(got->config_version, want->config_version);
	ck_assert_uint_eq(got->data_center_id, want->data_center_id);
	ck_assert_uint_eq(got->node_state, want->node_state);
	ck_assert_uint_eq(got->node_count, want->node_count);
	for (size_t i = 0; i < want->node_count; i++) {
		ck_assert_uint_eq(got->nodes[i].node_id, want->nodes[i].node_id);
		ck_assert_uint_eq(got->nodes[i].dc_id, want->nodes[i].dc_id);
		ck_assert_uint_eq(got->nodes[i].state, want->nodes[i].state);
	}
	ck_assert_uint_eq(got->node_list_type, want->node_list_type);
	ck_assert_uint_eq(got->vote, want->vote);
	ck_assert_uint_eq(got->quorate, want->quorate);
	ck_assert_uint_eq(got->tie_breaker.mode, want->tie_breaker.mode);
	ck_assert_uint_eq(got->tie_breaker.node_id, want->tie_breaker.node_id);
	ck_assert_uint_eq(got->heuristics, want->heuristics);
	ck_assert_uint_eq(got->kap_tie_breaker, want->kap_tie_breaker);
}

/* ------------------------------------------------------------------ */
/* §12 worked examples */

static uint16_t msgs_0_17[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17
};
static uint16_t opts_0_23[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
	20, 21, 22, 23
};
static uint16_t algos_0_3[] = { 0, 1, 2, 3 };

static void
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

/* ------------------------------------------------------------------ */
/* Round trips */

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
static void
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

/* ------------------------------------------------------------------ */
/* Malformed and unusual input */

#define SEQ1	"0000 0004 00000001 "		/* a valid seq TLV */
#define B_SEQ	QN_BIT(QN_OPT_SEQ)

static const struct bad {
	const char *name;
	const char *hex;
	enum decode_err err;
	uint32_t has;		/* options known after decoding */
	int bad_header;		/* the header's length is wrong on purpose */
} bad[] = {
	/* Framing (§2.1, §3.2) */
	{ "empty body", "0008 00000000", DECODE_INCONSISTENT, 0, 0 },
	{ "short header", "0008 0000 00", DECODE_INCONSISTENT, 0, 1 },
	{ "nothing at all", "", DECODE_INCONSISTENT, 0, 1 },
	{ "header length one more", "0008 00000009 " SEQ1, DECODE_INCONSISTENT, 0, 1 },
	{ "header length one less", "0008 00000007 " SEQ1, DECODE_INCONSISTENT, 0, 1 },
	{ "header length 4 GiB", "0008 ffffffff " SEQ1, DECODE_INCONSISTENT, 0, 1 },
	{ "truncated TLV header (1 byte)", "0008 00000001 00", DECODE_INCONSISTENT, 0, 0 },
	{ "truncated TLV header (2 bytes)", "0008 00000002 0000", DECODE_INCONSISTENT, 0, 0 },
	{ "truncated TLV header (3 bytes)", "0008 00000003 0000 00", DECODE_INCONSISTENT, 0, 0 },
	{ "TLV length past the end by 1", "0008 00000008 0000 0005 00000001",
	  DECODE_INCONSISTENT, 0, 0 },
	{ "TLV length 65535", "0008 00000008 0000 ffff 00000001",
	  DECODE_INCONSISTENT, 0, 0 },
	{ "second TLV past the end", "0008 0000000d " SEQ1 "0001 0002 64",
	  DECODE_INCONSISTENT, B_SEQ, 0 },
	{ "unknown TLV past the end", "0008 0000000d " SEQ1 "0100 0002 64",
	  DECODE_INCONSISTENT, B_SEQ, 0 },
	{ "1 stray byte", "0008 00000009 " SEQ1 "00", DECODE_INCONSISTENT, B_SEQ, 0 },
	{ "2 stray bytes", "0008 0000000a " SEQ1 "0000", DECODE_INCONSISTENT, B_SEQ, 0 },
	{ "3 stray bytes", "0008 0000000b " SEQ1 "0000 00", DECODE_INCONSISTENT, B_SEQ, 0 },

	/* Arrays (§3.4): even lengths only */
	{ "messages, 1 byte", "0003 00000005 0004 0001 00", DECODE_WRONG_SIZE, 0, 0 },
	{ "messages, 3 bytes", "0003 00000007 0004 0003 000100", DECODE_WRONG_SIZE, 0, 0 },
	{ "options, 1 byte", "0003 00000005 0005 0001 00", DECODE_WRONG_SIZE, 0, 0 },
	{ "algorithms, 5 bytes", "0004 00000009 000a 0005 0000000100", DECODE_WRONG_SIZE, 0, 0 },

	/* Enumerations out of range (§3.3, §4) */
	{ "TLS 3", "0001 0000000d " SEQ1 "0002 0001 03", DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "TLS 255", "0001 0000000d " SEQ1 "0002 0001 ff", DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "node state 0", "000a 0000000d " SEQ1 "0010 0001 00", DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "node state 4", "000a 0000000d " SEQ1 "0010 0001 04", DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "node list type 4", "000a 0000000d " SEQ1 "0012 0001 04", DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "vote 0", "000b 0000000d " SEQ1 "0013 0001 00", DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "vote 6", "000b 0000000d " SEQ1 "0013 0001 06", DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "quorate 2", "000a 0000000d " SEQ1 "0014 0001 02", DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "tie-breaker mode 0", "0003 00000011 " SEQ1 "0015 0005 00 00000000",
	  DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "tie-breaker mode 4", "0003 00000011 " SEQ1 "0015 0005 04 00000001",
	  DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "heuristics 0", "0010 0000000d " SEQ1 "0016 0001 00", DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "heuristics 3", "0010 0000000d " SEQ1 "0016 0001 03", DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "KAP 2", "0006 0000000d " SEQ1 "0017 0001 02", DECODE_BAD_VALUE, B_SEQ, 0 },

	/* Node info (§3.4) */
	{ "node info empty", "000a 0000000c " SEQ1 "0011 0000",
	  DECODE_INCONSISTENT, B_SEQ, 0 },
	{ "node info without node id", "000a 00000014 " SEQ1 "0011 0008 000f 0004 00000001",
	  DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "node info with only a state", "000a 00000011 " SEQ1 "0011 0005 0010 0001 01",
	  DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "node info with node id 0", "000a 00000014 " SEQ1 "0011 0008 0009 0004 00000000",
	  DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "node info, nested length past the end",
	  "000a 00000014 " SEQ1 "0011 0008 0009 0005 00000001",
	  DECODE_INCONSISTENT, B_SEQ, 0 },
	{ "node info, nested garbage", "000a 00000014 " SEQ1 "0011 0008 ffff ffff 00000001",
	  DECODE_INCONSISTENT, B_SEQ, 0 },
	{ "node info, 1 nested stray byte",
	  "000a 00000015 " SEQ1 "0011 0009 0009 0004 00000001 00",
	  DECODE_INCONSISTENT, B_SEQ, 0 },
	{ "node info, 3 nested stray bytes",
	  "000a 00000017 " SEQ1 "0011 000b 0009 0004 00000001 000f00",
	  DECODE_INCONSISTENT, B_SEQ, 0 },
	{ "node info, node id 3 bytes", "000a 00000013 " SEQ1 "0011 0007 0009 0003 000001",
	  DECODE_WRONG_SIZE, B_SEQ, 0 },
	{ "node info, node id 5 bytes", "000a 00000015 " SEQ1 "0011 0009 0009 0005 0000000001",
	  DECODE_WRONG_SIZE, B_SEQ, 0 },
	{ "node info, dc id 2 bytes",
	  "000a 0000001a " SEQ1 "0011 000e 0009 0004 00000001 000f 0002 0001",
	  DECODE_WRONG_SIZE, B_SEQ, 0 },
	{ "node info, state 2 bytes",
	  "000a 0000001a " SEQ1 "0011 000e 0009 0004 00000001 0010 0002 0001",
	  DECODE_WRONG_SIZE, B_SEQ, 0 },
	{ "node info, state 0",
	  "000a 00000019 " SEQ1 "0011 000d 0009 0004 00000001 0010 0001 00",
	  DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "node info, state 4",
	  "000a 00000019 " SEQ1 "0011 000d 0009 0004 00000001 0010 0001 04",
	  DECODE_BAD_VALUE, B_SEQ, 0 },
	{ "good node, then a bad one",
	  "000a 00000020 " SEQ1 "0011 0008 0009 0004 00000001 0011 0008 0009 0004 00000000",
	  DECODE_BAD_VALUE, B_SEQ | QN_BIT(QN_OPT_NODE_INFO), 0 },

	/* Decoding stops at the first error (§3.2) */
	{ "seq after the bad option", "000b 0000000d 0013 0001 00 " SEQ1,
	  DECODE_BAD_VALUE, 0, 0 },
	{ "seq, name, then a bad width",
	  "0000 00000019 " SEQ1 "0001 0004 64656d6f 0012 0000 0016 0001 01",
	  DECODE_WRONG_SIZE, B_SEQ | QN_BIT(QN_OPT_CLUSTER_NAME), 0 },
};

START_TEST(malformed)
{
	const struct bad *b = &bad[_i];
	struct msg m;
	size_t len;
	uint8_t *bytes = hex_parse(b->hex, &len);
	enum decode_err e;

	/* Guard against transcription slips: only some cases break framing. */
	if (!b->bad_header)
		ck_assert_msg(len >= QN_HEADER_SIZE &&
		    get_u32(bytes + 2) == len - QN_HEADER_SIZE,
		    "%s: the test's header length is wrong", b->name);
	e = msg_decode(bytes, len, &m);
	ck_assert_msg(e == b->err, "%s: got \"%s\", want \"%s\"", b->name,
	    decode_err_str(e), decode_err_str(b->err));
	ck_assert_msg(m.has == b->has, "%s: has = %#x, want %#x", b->name,
	    (unsigned)m.has, (unsigned)b->has);
	if (b->has & B_SEQ)
		ck_assert_uint_eq(m.seq, 1);
	msg_free(&m);
	free(bytes);
}
END_TEST

/*
 * Every fixed-size option (§3.3 "Length" column), one byte short, one
 * byte long and empty: a wrong-size error after the seq.
 */
static const struct {
	uint16_t opt;
	uint16_t size;
} fixed_size[] = {
	{ QN_OPT_SEQ, 4 }, { QN_OPT_TLS_SUPPORTED, 1 },
	{ QN_OPT_TLS_CLIENT_CERT_REQUIRED, 1 }, { QN_OPT_REPLY_ERROR_CODE, 2 },
	{ QN_OPT_SERVER_MAX_REQUEST_SIZE, 4 },
	{ QN_OPT_SERVER_MAX_REPLY_SIZE, 4 }, { QN_OPT_NODE_ID, 4 },
	{ QN_OPT_ALGORITHM, 2 }, { QN_OPT_HEARTBEAT_INTERVAL, 4 },
	{ QN_OPT_RING_ID, 12 }, { QN_OPT_CONFIG_VERSION, 8 },
	{ QN_OPT_DATA_CENTER_ID, 4 }, { QN_OPT_NODE_STATE, 1 },
	{ QN_OPT_NODE_LIST_TYPE, 1 }, { QN_OPT_VOTE, 1 }, { QN_OPT_QUORATE, 1 },
	{ QN_OPT_TIE_BREAKER, 5 }, { QN_OPT_HEURISTICS, 1 },
	{ QN_OPT_KAP_TIE_BREAKER, 1 },
};

/* A message: valid seq 1, then option opt with len bytes of 0x01. */
static size_t
make_seq_then(uint8_t *p, uint16_t opt, uint16_t len)
{
	size_t n = 0;

	p[n++] = 0; p[n++] = QN_MSG_ECHO_REQUEST;
	n += 4;					/* length, below */
	p[n++] = 0; p[n++] = 0; p[n++] = 0; p[n++] = 4;
	p[n++] = 0; p[n++] = 0; p[n++] = 0; p[n++] = 1;
	p[n++] = (uint8_t)(opt >> 8); p[n++] = (uint8_t)opt;
	p[n++] = (uint8_t)(len >> 8); p[n++] = (uint8_t)len;
	memset(p + n, 1, len);
	n += len;
	p[2] = 0; p[3] = 0; p[4] = 0; p[5] = (uint8_t)(n - QN_HEADER_SIZE);
	return n;
}

START_TEST(wrong_width)
{
	uint16_t opt = fixed_size[_i].opt, size = fixed_size[_i].size;
	const uint16_t lens[] = { size - 1, size + 1, 0, 2 * size };
	uint8_t p[64];
	struct msg m;

	for (size_t k = 0; k < ARRAY_LEN(lens); k++) {
		size_t n = make_seq_then(p, opt, lens[k]);
		enum decode_err e = msg_decode(p, n, &m);

		ck_assert_msg(e == DECODE_WRONG_SIZE,
		    "option %u with %u bytes: %s", opt, lens[k],
		    decode_err_str(e));
		ck_assert_uint_eq(m.has, B_SEQ);
		ck_assert_uint_eq(m.seq, 1);
		msg_free(&m);
	}
	/* The right width with the same filler is fine (1 is valid everywhere). */
	{
		size_t n = make_seq_then(p, opt, size);

		ck_assert_int_eq(msg_decode(p, n, &m), DECODE_OK);
		ck_assert_uint_eq(m.has, B_SEQ | QN_BIT(opt));
		msg_free(&m);
	}
}
END_TEST

/* Boundary values that §3.3 and §4 accept. */
static const struct good_value {
	const char *name;
	const char *hex;
	uint8_t opt;
	uint32_t value;		/* the decoded field */
} good_value[] = {
	{ "TLS 0", "0001 00000005 0002 0001 00", QN_OPT_TLS_SUPPORTED, 0 },
	{ "TLS 2", "0001 00000005 0002 0001 02", QN_OPT_TLS_SUPPORTED, 2 },
	{ "cert required 0xff", "0001 00000005 0003 0001 ff",
	  QN_OPT_TLS_CLIENT_CERT_REQUIRED, 0xff },
	{ "error code 0xffff", "0005 00000006 0006 0002 ffff",
	  QN_OPT_REPLY_ERROR_CODE, 0xffff },
	{ "algorithm 0xffff", "0003 00000006 000b 0002 ffff", QN_OPT_ALGORITHM, 0xffff },
	{ "node id 0 (top level)", "0003 00000008 0009 0004 00000000", QN_OPT_NODE_ID, 0 },
	{ "node state 1", "000a 00000005 0010 0001 01", QN_OPT_NODE_STATE, 1 },
	{ "node state 3", "000a 00000005 0010 0001 03", QN_OPT_NODE_STATE, 3 },
	{ "node list type 0", "000a 00000005 0012 0001 00", QN_OPT_NODE_LIST_TYPE, 0 },
	{ "node list type 3", "000a 00000005 0012 0001 03", QN_OPT_NODE_LIST_TYPE, 3 },
	{ "vote 1", "000b 00000005 0013 0001 01", QN_OPT_VOTE, 1 },
	{ "vote 5", "000b 00000005 0013 0001 05", QN_OPT_VOTE, 5 },
	{ "quorate 0", "000a 00000005 0014 0001 00", QN_OPT_QUORATE, 0 },
	{ "quorate 1", "000a 00000005 0014 0001 01", QN_OPT_QUORATE, 1 },
	{ "tie-breaker 1", "0003 00000009 0015 0005 01 00000000", QN_OPT_TIE_BREAKER, 1 },
	{ "tie-breaker 3", "0003 00000009 0015 0005 03 00000005", QN_OPT_TIE_BREAKER, 3 },
	{ "heuristics 1", "0010 00000005 0016 0001 01", QN_OPT_HEURISTICS, 1 },
	{ "heuristics 2", "0010 00000005 0016 0001 02", QN_OPT_HEURISTICS, 2 },
	{ "KAP 0", "0006 00000005 0017 0001 00", QN_OPT_KAP_TIE_BREAKER, 0 },
	{ "KAP 1", "0006 00000005 0017 0001 01", QN_OPT_KAP_TIE_BREAKER, 1 },
};

static uint32_t
field_of(const struct msg *m, uint8_t opt)
{
	switch (opt) {
	case QN_OPT_TLS_SUPPORTED: return m->tls_supported;
	case QN_OPT_TLS_CLIENT_CERT_REQUIRED: return m->tls_client_cert_required;
	case QN_OPT_REPLY_ERROR_CODE: return m->reply_error_code;
	case QN_OPT_ALGORITHM: return m->algorithm;
	case QN_OPT_NODE_ID: return m->node_id;
	case QN_OPT_NODE_STATE: return m->node_state;
	case QN_OPT_NODE_LIST_TYPE: return m->node_list_type;
	case QN_OPT_VOTE: return m->vote;
	case QN_OPT_QUORATE: return m->quorate;
	case QN_OPT_TIE_BREAKER: return m->tie_breaker.mode;
	case QN_OPT_HEURISTICS: return m->heuristics;
	case QN_OPT_KAP_TIE_BREAKER: return m->kap_tie_breaker;
	}
	ck_abort_msg("no field for option %u", opt);
	return 0;
}

START_TEST(accepted_values)
{
	const struct good_value *g = &good_value[_i];
	struct msg m;
	size_t len;
	uint8_t *bytes = hex_parse(g->hex, &len);
	enum decode_err e = msg_decode(bytes, len, &m);

	ck_assert_msg(e == DECODE_OK, "%s: %s", g->name, decode_err_str(e));
	ck_assert_uint_eq(m.has, QN_BIT(g->opt));
	ck_assert_msg(field_of(&m, g->opt) == g->value, "%s: value %u", g->name,
	    field_of(&m, g->opt));
	msg_free(&m);
	free(bytes);
}
END_TEST

/* Unknown options, top level and nested, are skipped (§3.2, §3.4). */
START_TEST(unknown_options_ignored)
{
	struct msg m;
	size_t len;
	uint8_t *bytes = hex_parse(
	    "000a 0000003c"
	    "0018 0001 ff"			/* option 24 */
	    "0000 0004 00000007"
	    "ffff 0003 010203"			/* option 65535 */
	    "0100 0000"				/* option 256, empty */
	    "0011 001b"				/* node info with, nested: */
	    "  0000 0004 00000009"		/*   seq: not a node option */
	    "  0009 0004 00000005"		/*   node id 5 */
	    "  abcd 0002 ffff"			/*   unknown */
	    "  0010 0001 02"			/*   state dead */
	    "0012 0001 02", &len);

	ck_assert_int_eq(msg_decode(bytes, len, &m), DECODE_OK);
	ck_assert_uint_eq(m.has, B_SEQ | QN_BIT(QN_OPT_NODE_INFO) |
	    QN_BIT(QN_OPT_NODE_LIST_TYPE));
	ck_assert_uint_eq(m.seq, 7);
	ck_assert_uint_eq(m.node_count, 1);
	ck_assert_uint_eq(m.nodes[0].node_id, 5);
	ck_assert_uint_eq(m.nodes[0].dc_id, 0);
	ck_assert_uint_eq(m.nodes[0].state, QN_NODE_STATE_DEAD);
	ck_assert_uint_eq(m.node_list_type, QN_LIST_MEMBERSHIP);
	msg_free(&m);
	free(bytes);
}
END_TEST

/* A body of unknown options only is a valid, empty message. */
START_TEST(only_unknown_options)
{
	struct msg m;
	size_t len;
	uint8_t *bytes = hex_parse("0008 00000004 0018 0000", &len);

	ck_assert_int_eq(msg_decode(bytes, len, &m), DECODE_OK);
	ck_assert_uint_eq(m.has, 0);
	ck_assert_uint_eq(m.type, QN_MSG_ECHO_REQUEST);
	msg_free(&m);
	free(bytes);
}
END_TEST

/* The header's type is reported as is, even when unknown. */
START_TEST(unknown_type_decodes)
{
	struct msg m;
	size_t len;
	uint8_t *bytes = hex_parse("1234 00000008 " SEQ1, &len);

	ck_assert_int_eq(msg_decode(bytes, len, &m), DECODE_OK);
	ck_assert_uint_eq(m.type, 0x1234);
	ck_assert_uint_eq(m.has, B_SEQ);
	msg_free(&m);
	free(bytes);
}
END_TEST

/* Repeated options: the last wins, node infos accumulate (§3.2). */
START_TEST(repeated_options)
{
	struct msg m;
	size_t len;
	uint8_t *bytes = hex_parse(
	    "000a 000000ab"
	    "0000 0004 00000001"
	    "0001 0005 6669727374"		/* "first" */
	    "0004 0006 000100020003"
	    "0011 000d 0009 0004 00000003 0010 0001 01"
	    "0012 0001 00"
	    "0013 0001 01"
	    "000d 000c 00000001 0000000000000001"
	    "0015 0005 03 00000009"
	    "0000 0004 00000002"
	    "0001 0003 323e64"			/* "2>d" */
	    "0004 0002 0011"
	    "0011 0008 0009 0004 00000001"
	    "0012 0001 03"
	    "0013 0001 02"
	    "000d 000c 00000002 0000000000000002"
	    "0015 0005 01 00000000"
	    "0011 0010 0009 0004 00000002 000f 0004 00000007"
	    "0004 0000", &len);

	ck_assert_int_eq(msg_decode(bytes, len, &m), DECODE_OK);
	ck_assert_uint_eq(m.seq, 2);
	ck_assert_uint_eq(m.cluster_name_len, 3);
	ck_assert_mem_eq(m.cluster_name, "2>d", 3);
	ck_assert_uint_eq(m.supported_messages.n, 0);	/* the last one: empty */
	ck_assert_uint_eq(m.node_list_type, QN_LIST_QUORUM);
	ck_assert_uint_eq(m.vote, QN_VOTE_NACK);
	ck_assert_uint_eq(m.ring_id.node_id, 2);
	ck_assert_uint_eq(m.ring_id.seq, 2);
	ck_assert_uint_eq(m.tie_breaker.mode, QN_TB_LOWEST);
	ck_assert_uint_eq(m.node_count, 3);
	ck_assert_uint_eq(m.nodes[0].node_id, 3);
	ck_assert_uint_eq(m.nodes[0].state, QN_NODE_STATE_MEMBER);
	ck_assert_uint_eq(m.nodes[1].node_id, 1);
	ck_assert_uint_eq(m.nodes[1].state, QN_NODE_STATE_NOT_SET);
	ck_assert_uint_eq(m.nodes[2].node_id, 2);
	ck_assert_uint_eq(m.nodes[2].dc_id, 7);
	msg_free(&m);
	free(bytes);

	/* An array replaced by a longer one. */
	bytes = hex_parse("0003 00000010 0005 0002 0017 0005 0006 000000010002", &len);
	ck_assert_int_eq(msg_decode(bytes, len, &m), DECODE_OK);
	ck_assert_uint_eq(m.supported_options.n, 3);
	ck_assert_uint_eq(m.supported_options.v[0], 0);
	ck_assert_uint_eq(m.supported_options.v[2], 2);
	msg_free(&m);
	free(bytes);
}
END_TEST

/* Nested node options repeated: the last wins within one node info. */
START_TEST(repeated_nested_options)
{
	struct msg m;
	size_t len;
	uint8_t *bytes = hex_parse(
	    "000a 0000001e"
	    "0011 001a"
	    "  0009 0004 00000000"		/* 0, then replaced: fine */
	    "  0010 0001 01"
	    "  0009 0004 0000000b"
	    "  0010 0001 03", &len);

	ck_assert_int_eq(msg_decode(bytes, len, &m), DECODE_OK);
	ck_assert_uint_eq(m.node_count, 1);
	ck_assert_uint_eq(m.nodes[0].node_id, 11);
	ck_assert_uint_eq(m.nodes[0].state, QN_NODE_STATE_LEAVING);
	msg_free(&m);
	free(bytes);
}
END_TEST

/*
 * Tie-breaker bytes 1-4 matter only for mode 3 (§3.4): a receiver gets
 * equal tie-breakers whatever a sender put there otherwise.
 */
START_TEST(tie_breaker_node_id_ignored)
{
	struct msg a, b;
	size_t la, lb;
	uint8_t *pa = hex_parse("0003 00000009 0015 0005 02 00000000", &la);
	uint8_t *pb = hex_parse("0003 00000009 0015 0005 02 00000063", &lb);

	ck_assert_int_eq(msg_decode(pa, la, &a), DECODE_OK);
	ck_assert_int_eq(msg_decode(pb, lb, &b), DECODE_OK);
	ck_assert(qn_tie_breaker_eq(&a.tie_breaker, &b.tie_breaker));
	msg_free(&a);
	msg_free(&b);
	free(pa);
	free(pb);

	pa = hex_parse("0003 00000009 0015 0005 03 00000001", &la);
	pb = hex_parse("0003 00000009 0015 0005 03 00000002", &lb);
	ck_assert_int_eq(msg_decode(pa, la, &a), DECODE_OK);
	ck_assert_int_eq(msg_decode(pb, lb, &b), DECODE_OK);
	ck_assert(!qn_tie_breaker_eq(&a.tie_breaker, &b.tie_breaker));
	ck_assert_uint_eq(a.tie_breaker.node_id, 1);
	msg_free(&a);
	msg_free(&b);
	free(pa);
	free(pb);
}
END_TEST

/* Decoding over a message that held data releases it (no leak, no reuse). */
START_TEST(decode_twice_with_free)
{
	struct msg m;
	struct buf out;
	struct msg all;

	/* SET_OPTION: 0 12 23 first, the rest ascending, so 22 comes last. */
	build_all_options(&all, QN_MSG_SET_OPTION);
	buf_init(&out);
	ck_assert_int_eq(msg_encode(&all, &out, BIG), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(msg_decode(out.data, out.len, &m), DECODE_OK);
		assert_msg_eq(&m, &all);
		msg_free(&m);
		ck_assert_uint_eq(m.has, 0);
		ck_assert_ptr_null(m.nodes);
		ck_assert_ptr_null(m.cluster_name);
	}
	/* Errors after allocations leave nothing to leak once freed. */
	ck_assert_uint_eq(get_u16(out.data + out.len - 5), QN_OPT_HEURISTICS);
	out.data[out.len - 1] = 0;		/* heuristics 0 */
	ck_assert_int_eq(msg_decode(out.data, out.len, &m), DECODE_BAD_VALUE);
	ck_assert_uint_eq(m.node_count, all.node_count);
	msg_free(&m);
	buf_free(&out);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Encoding limits */

/* Over max_size (header included): -1 and the buffer as it was (§2.3). */
START_TEST(encode_max_size)
{
	struct msg m;
	struct buf out;
	size_t len;
	uint8_t *want = hex_parse("00000000001000000004000000010001000464656d6f", &len);

	b_preinit(&m);
	buf_init(&out);
	buf_put(&out, "xyz", 3);

	ck_assert_int_eq(msg_encode(&m, &out, len - 1), -1);
	ck_assert_uint_eq(out.len, 3);
	ck_assert_mem_eq(out.data, "xyz", 3);
	ck_assert_int_eq(out.failed, 0);

	ck_assert_int_eq(msg_encode(&m, &out, QN_HEADER_SIZE), -1);
	ck_assert_uint_eq(out.len, 3);

	ck_assert_int_eq(msg_encode(&m, &out, len), 0);
	ck_assert_uint_eq(out.len, 3 + len);
	ck_assert_mem_eq(out.data, "xyz", 3);
	assert_bytes(out.data + 3, out.len - 3, want, len, "after a prefix");

	/* Appending again works after a refusal. */
	ck_assert_int_eq(msg_encode(&m, &out, len - 1), -1);
	ck_assert_uint_eq(out.len, 3 + len);
	ck_assert_int_eq(msg_encode(&m, &out, len), 0);
	assert_bytes(out.data + 3 + len, out.len - 3 - len, want, len, "twice");
	buf_free(&out);
	free(want);
}
END_TEST

/* A value is at most 65535 bytes (§3.1). */
START_TEST(encode_value_limit)
{
	char *name = malloc(65536);
	uint16_t *list = calloc(32768, sizeof(*list));
	struct msg m, got;
	struct buf out;

	ck_assert_ptr_nonnull(name);
	ck_assert_ptr_nonnull(list);
	memset(name, 'n', 65536);
	buf_init(&out);
	buf_put(&out, "ab", 2);

	msg_init(&m, QN_MSG_PREINIT);
	msg_set_seq(&m, 1);
	msg_set_cluster_name(&m, name, 65536);
	ck_assert_int_eq(msg_encode(&m, &out, BIG), -1);
	ck_assert_uint_eq(out.len, 2);
	ck_assert_mem_eq(out.data, "ab", 2);
	ck_assert_int_eq(out.failed, 0);

	m.cluster_name_len = 65535;
	ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
	ck_assert_uint_eq(out.len, 2 + QN_HEADER_SIZE + 8 + 4 + 65535);
	ck_assert_int_eq(msg_decode(out.data + 2, out.len - 2, &got), DECODE_OK);
	assert_msg_eq(&got, &m);
	msg_free(&got);

	/* Arrays: 32767 elements fit, 32768 (65536 bytes) do not. */
	buf_reset(&out);
	msg_init(&m, QN_MSG_INIT);
	msg_set_supported_options(&m, &(struct u16_list){ list, 32768 });
	ck_assert_int_eq(msg_encode(&m, &out, BIG), -1);
	ck_assert_uint_eq(out.len, 0);
	m.supported_options.n = 32767;
	ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
	ck_assert_int_eq(msg_decode(out.data, out.len, &got), DECODE_OK);
	assert_msg_eq(&got, &m);
	msg_free(&got);

	buf_free(&out);
	free(name);
	free(list);
}
END_TEST

/* The tie-breaker's node id is written for mode 3 only, 0 otherwise (§3.4). */
START_TEST(encode_tie_breaker)
{
	static const struct {
		uint8_t mode;
		const char *hex;
	} t[] = {
		{ QN_TB_LOWEST, "0003 00000009 0015 0005 01 00000000" },
		{ QN_TB_HIGHEST, "0003 00000009 0015 0005 02 00000000" },
		{ QN_TB_NODE_ID, "0003 00000009 0015 0005 03 0000002a" },
	};

	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct msg m;
		struct buf out;
		size_t len;
		uint8_t *want = hex_parse(t[i].hex, &len);

		msg_init(&m, QN_MSG_INIT);
		msg_set_tie_breaker(&m,
		    &(struct qn_tie_breaker){ t[i].mode, 42 });
		buf_init(&out);
		ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
		assert_bytes(out.data, out.len, want, len, "tie-breaker");
		buf_free(&out);
		free(want);
	}
}
END_TEST

/* Node info carries dc id and state only when set (§3.4). */
START_TEST(encode_node_info)
{
	static struct qn_node n[] = {
		{ 1, 0, QN_NODE_STATE_NOT_SET },
		{ 2, 3, QN_NODE_STATE_NOT_SET },
		{ 4, 0, QN_NODE_STATE_DEAD },
		{ 5, 6, QN_NODE_STATE_LEAVING },
	};
	struct msg m, got;
	struct buf out;
	size_t len;
	uint8_t *want = hex_parse(
	    "000a 0000004a"
	    "0011 0008 0009 0004 00000001"
	    "0011 0010 0009 0004 00000002 000f 0004 00000003"
	    "0011 000d 0009 0004 00000004 0010 0001 02"
	    "0011 0015 0009 0004 00000005 000f 0004 00000006 0010 0001 03",
	    &len);

	msg_init(&m, QN_MSG_NODE_LIST);
	msg_set_nodes(&m, n, ARRAY_LEN(n));
	buf_init(&out);
	ck_assert_int_eq(msg_encode(&m, &out, BIG), 0);
	assert_bytes(out.data, out.len, want, len, "node info");
	ck_assert_int_eq(msg_decode(out.data, out.len, &got), DECODE_OK);
	assert_msg_eq(&got, &m);
	msg_free(&got);
	buf_free(&out);
	free(want);
}
END_TEST

/* ------------------------------------------------------------------ */

static Suite *
msg_suite(void)
{
	Suite *s = suite_create("msg");
	TCase *tc;

	tc = tcase_create("golden");
	tcase_add_loop_test(tc, golden_encode, 0, ARRAY_LEN(golden));
	tcase_add_loop_test(tc, golden_decode, 0, ARRAY_LEN(golden));
	tcase_add_test(tc, advertised_lists);
	suite_add_tcase(s, tc);

	tc = tcase_create("round_trip");
	tcase_add_loop_test(tc, round_trip_all_options, 0, QN_MSG_COUNT);
	tcase_add_loop_test(tc, round_trip_seq_only, 0, QN_MSG_COUNT);
	tcase_add_loop_test(tc, round_trip_no_options, 0, QN_MSG_COUNT);
	tcase_add_test(tc, round_trip_empty_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_loop_test(tc, malformed, 0, ARRAY_LEN(bad));
	tcase_add_loop_test(tc, wrong_width, 0, ARRAY_LEN(fixed_size));
	tcase_add_loop_test(tc, accepted_values, 0, ARRAY_LEN(good_value));
	tcase_add_test(tc, unknown_options_ignored);
	tcase_add_test(tc, only_unknown_options);
	tcase_add_test(tc, unknown_type_decodes);
	tcase_add_test(tc, repeated_options);
	tcase_add_test(tc, repeated_nested_options);
	tcase_add_test(tc, tie_breaker_node_id_ignored);
	tcase_add_test(tc, decode_twice_with_free);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_test(tc, encode_max_size);
	tcase_add_test(tc, encode_value_limit);
	tcase_add_test(tc, encode_tie_breaker);
	tcase_add_test(tc, encode_node_info);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(msg_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
