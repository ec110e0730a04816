/*
 * Decoding malformed and unusual input by the rules of PROTOCOL.md
 * §3.2-§3.4: bad lengths and widths, boundary values, unknown and
 * repeated options, unknown types, decoding twice.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_harness.h"

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

TCase *
msg_decode_tcase(void)
{
	TCase *tc = tcase_create("decode");

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
	return tc;
}
