/*
 * Requests after INIT: SET_OPTION, ECHO byte copy, missing options (7, 14,
 * 18, 19), framing (4, 5, 9, seq echo rules, split/coalesced writes), the
 * send limits, garbage.
 *
 * One of the protocol tests of a real corosync-qnetd over loopback
 * (harness.h); tests/proto/run-against-debian.sh runs them against 3.0.3,
 * where the tests of our deliberate differences (DELIBERATE) expect the
 * 3.0.3 behaviour.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* Requests after INIT */

START_TEST(set_option)
{
	struct srv s;
	struct qc c;

	SRV_START(&s, "-s", "off");
	join_simple(&c, &s, "demo", 1, QN_ALGO_FFSPLIT);
	/* PROTOCOL.md §12.6 */
	qc_sendf(&c, "0006 0000000d 0000 0004 00000003 0017 0001 01");
	qc_expect(&c, "0007 0000000d | 0000 0004 00000003 0017 0001 01");
	qc_sendf(&c, "0006 0000000d 0000 0004 00000004 0017 0001 00");
	qc_expect(&c, "0007 0000000d | 0000 0004 00000004 0017 0001 00");
	/* Heartbeat: echoed when valid, 13 when not (nothing changed). */
	qc_sendf(&c, "0006 00000010 0000 0004 00000005 000c 0004 000007d0");
	qc_expect(&c, "0007 00000010 | 0000 0004 00000005 000c 0004 000007d0");
	qc_sendf(&c, "0006 00000010 0000 0004 00000006 000c 0004 000003e7");
	expect_error(&c, 6, QN_ERR_INVALID_HEARTBEAT_INTERVAL);
	qc_sendf(&c, "0006 00000010 0000 0004 00000007 000c 0004 0001d4c1");
	expect_error(&c, 7, QN_ERR_INVALID_HEARTBEAT_INTERVAL);
	qc_sendf(&c, "0006 00000015 0000 0004 00000008 000c 0004 000001f4"
	    " 0017 0001 01");
	expect_error(&c, 8, QN_ERR_INVALID_HEARTBEAT_INTERVAL);
	/* Both, valid (boundaries included): both echoed. */
	qc_sendf(&c, "0006 00000015 0000 0004 00000009 000c 0004 0001d4c0"
	    " 0017 0001 01");
	qc_expect(&c, "0007 00000015 | 0000 0004 00000009 000c 0004 0001d4c0"
	    " 0017 0001 01");
	qc_sendf(&c, "0006 00000010 0000 0004 0000000a 000c 0004 000003e8");
	qc_expect(&c, "0007 00000010 | 0000 0004 0000000a 000c 0004 000003e8");
	/* Neither: just the seq. */
	qc_sendf(&c, "0006 00000008 0000 0004 0000000b");
	qc_expect(&c, "0007 00000008 | 0000 0004 0000000b");
	/*
	 * No seq and nothing to echo: a reply with no body, as 3.0.3 sends
	 * (observed: `000700000000`); a qdevice always sends a seq.
	 */
	qc_sendf(&c, "0006 00000008 0009 0004 00000001");
	qc_expect(&c, "0007 00000000 |");
	/* KAP values other than 0/1 are a decode error. */
	qc_sendf(&c, "0006 0000000d 0000 0004 0000000c 0017 0001 02");
	expect_error(&c, 12, QN_ERR_ERROR_DECODING_MSG);
	qc_sendf(&c, "0006 00000010 0000 0004 0000000d 000c 0004 00002710");
	qc_expect(&c, "0007 00000010 | 0000 0004 0000000d 000c 0004 00002710");
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* ECHO_REPLY is a byte copy of the request, unknown options included. */
START_TEST(echo_copy)
{
	struct srv s;
	struct qc c;

	SRV_START(&s, "-s", "off");
	join_simple(&c, &s, "demo", 1, QN_ALGO_FFSPLIT);
	qc_sendf(&c, "0008 00000008 0000 0004 00000001");
	qc_expect(&c, "0009 00000008 | 0000 0004 00000001");
	qc_sendf(&c, "0008 00000017 0000 0004 00000005 7fff 0003 616263"
	    " 0001 0004 64656d6f");
	qc_expect(&c, "0009 00000017 | 0000 0004 00000005 7fff 0003 616263"
	    " 0001 0004 64656d6f");
	/* Without a seq, options repeated, a vote: still a copy. */
	qc_sendf(&c, "0008 0000001a 00c8 0001 ff 0000 0004 00000007"
	    " 0000 0004 00000008 0013 0001 02");
	qc_expect(&c, "0009 0000001a | 00c8 0001 ff 0000 0004 00000007"
	    " 0000 0004 00000008 0013 0001 02");
	qc_sendf(&c, "0008 00000004 abcd 0000");
	qc_expect(&c, "0009 00000004 | abcd 0000");
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

START_TEST(missing_options)
{
	struct srv s;
	struct qc c;

	SRV_START(&s, "-s", "off");
	join_simple(&c, &s, "demo", 1, QN_ALGO_FFSPLIT);
	/* NODE_LIST without type, without seq, type 2 without ring id,
	 * type 3 without quorate: 7. */
	qc_sendf(&c, "000a 00000014 0000 0004 00000010 0011 0008 0009 0004"
	    " 00000001");
	expect_error(&c, 0x10, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	qc_sendf(&c, "000a 00000011 0012 0001 00 0011 0008 0009 0004 00000001");
	expect_error_noseq(&c, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	qc_sendf(&c, "000a 00000019 0000 0004 00000011 0012 0001 02"
	    " 0011 0008 0009 0004 00000001");
	expect_error(&c, 0x11, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	qc_sendf(&c, "000a 0000001e 0000 0004 00000012 0012 0001 03"
	    " 0011 000d 0009 0004 00000001 0010 0001 01");
	expect_error(&c, 0x12, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	/* ASK_FOR_VOTE, VOTE_INFO_REPLY, HEURISTICS_CHANGE without seq. */
	qc_sendf(&c, "000c 00000005 00c8 0001 00");
	expect_error_noseq(&c, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	qc_sendf(&c, "000f 00000005 00c8 0001 00");
	expect_error_noseq(&c, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	qc_sendf(&c, "0010 00000005 0016 0001 01");
	expect_error_noseq(&c, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	/* HEURISTICS_CHANGE without heuristics. */
	qc_sendf(&c, "0010 00000008 0000 0004 00000013");
	expect_error(&c, 0x13, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	/* ffsplit: ASK_FOR_VOTE is not supported (14). */
	qc_sendf(&c, "000c 00000008 0000 0004 00000014");
	expect_error(&c, 0x14, QN_ERR_UNSUPPORTED_DECISION_ALGORITHM_MESSAGE);
	/* ffsplit: config list empty or without the sender: 18. */
	qc_sendf(&c, "000a 0000000d 0000 0004 00000015 0012 0001 00");
	expect_error(&c, 0x15, QN_ERR_INVALID_CONFIG_NODE_LIST);
	qc_sendf(&c, "000a 00000019 0000 0004 00000016 0012 0001 01"
	    " 0011 0008 0009 0004 00000002");
	expect_error(&c, 0x16, QN_ERR_INVALID_CONFIG_NODE_LIST);
	/* ffsplit: membership list empty or without the sender: 19. */
	qc_sendf(&c, "000a 0000001d 0000 0004 00000017 0012 0001 02"
	    " 000d 000c 00000001 0000000000000001");
	expect_error(&c, 0x17, QN_ERR_INVALID_MEMBERSHIP_NODE_LIST);
	qc_sendf(&c, "000a 00000029 0000 0004 00000018 0012 0001 02"
	    " 000d 000c 00000001 0000000000000001"
	    " 0011 0008 0009 0004 00000003");
	expect_error(&c, 0x18, QN_ERR_INVALID_MEMBERSHIP_NODE_LIST);
	/* Nothing was stored: the first config list still gets "ask later". */
	qc_sendf(&c, "000a 00000025 0000 0004 00000019 0012 0001 00"
	    " 0011 0008 0009 0004 00000001 0011 0008 0009 0004 00000002");
	expect_nlr(&c, 0x19, QN_LIST_INITIAL_CONFIG, RING(1, 1),
	    QN_VOTE_ASK_LATER);
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Framing (PROTOCOL.md §2.4, §3.2) */

START_TEST(framing)
{
	struct srv s;
	struct qc c;
	struct buf b;

	SRV_START(&s, "-s", "off");
	join_simple(&c, &s, "demo", 1, QN_ALGO_FFSPLIT);

	/* Unknown types: skipped, error 4 without seq, connection works. */
	qc_sendf(&c, "0012 00000004 deadbeef");
	expect_error_noseq(&c, QN_ERR_UNSUPPORTED_MESSAGE);
	echo_ok(&c);
	qc_sendf(&c, "ffff 00000008 0000 0004 00000021");
	expect_error_noseq(&c, QN_ERR_UNSUPPORTED_MESSAGE);
	/*
	 * An unknown type with an empty body is skipped like any other
	 * (PROTOCOL.md §2.2).  3.0.3 disagrees with the spec here: it answers
	 * SERVER_ERROR with error code 0 ("no error") instead of 4.
	 */
	qc_sendf(&c, "0013 00000000");
	if (debian) {
		note("QNETD_IS_DEBIAN=1: unknown type with empty body: "
		    "expecting 3.0.3's error code 0");
		expect_error_noseq(&c, QN_ERR_NONE);
	} else {
		expect_error_noseq(&c, QN_ERR_UNSUPPORTED_MESSAGE);
	}
	echo_ok(&c);

	/* Too long: 6 + 32763 > 32768 → 5 without seq; 32768 is fine. */
	buf_init(&b);
	hex_parse("0008 00007ffb 0000 0004 00000022 7fff 7fef", &b);
	while (b.len < 6 + 0x7ffb)
		buf_put_u8(&b, (uint8_t)b.len);
	qc_send(&c, b.data, b.len);
	expect_error_noseq(&c, QN_ERR_MESSAGE_TOO_LONG);
	echo_ok(&c);
	buf_reset(&b);
	hex_parse("0008 00007ffa 0000 0004 00000023 7fff 7fee", &b);
	while (b.len < 6 + 0x7ffa)
		buf_put_u8(&b, (uint8_t)b.len);
	qc_send(&c, b.data, b.len);
	{
		struct buf got;

		buf_init(&got);
		ck_assert_int_eq(qc_recv(&c, TIMEOUT_MS, &got), RECV_MSG);
		ck_assert_uint_eq(got.len, b.len);
		ck_assert_uint_eq(get_u16(got.data), QN_MSG_ECHO_REPLY);
		ck_assert_mem_eq(got.data + 2, b.data + 2, b.len - 2);
		buf_free(&got);
	}
	buf_free(&b);

	/* Empty body: decode error 9, no seq. */
	qc_sendf(&c, "0008 00000000");
	expect_error_noseq(&c, QN_ERR_ERROR_DECODING_MSG);
	/* The seq decoded before the bad option is echoed. */
	qc_sendf(&c, "0008 0000000d 0000 0004 00000042 0002 0001 07");
	expect_error(&c, 0x42, QN_ERR_ERROR_DECODING_MSG);
	/* ... but not when it comes after. */
	qc_sendf(&c, "0008 0000000d 0002 0001 07 0000 0004 00000042");
	expect_error_noseq(&c, QN_ERR_ERROR_DECODING_MSG);
	/* 1-3 trailing bytes: 9; 4 are an (empty, unknown) option. */
	qc_sendf(&c, "0008 0000000a 0000 0004 00000043 abcd");
	expect_error(&c, 0x43, QN_ERR_ERROR_DECODING_MSG);
	qc_sendf(&c, "0008 00000009 0000 0004 00000043 ab");
	expect_error(&c, 0x43, QN_ERR_ERROR_DECODING_MSG);
	qc_sendf(&c, "0008 0000000c 0000 0004 00000043 abcd 0000");
	qc_expect(&c, "0009 0000000c | 0000 0004 00000043 abcd 0000");
	/* A value longer than the body. */
	qc_sendf(&c, "0008 0000000c 0000 0004 00000044 0001 0010");
	expect_error(&c, 0x44, QN_ERR_ERROR_DECODING_MSG);
	/* A fixed-size option of the wrong size. */
	qc_sendf(&c, "0008 00000007 0000 0003 000045");
	expect_error_noseq(&c, QN_ERR_ERROR_DECODING_MSG);
	qc_sendf(&c, "0008 0000000f 0000 0004 00000045 000c 0003 000045");
	expect_error(&c, 0x45, QN_ERR_ERROR_DECODING_MSG);
	/* Enumerations out of range: vote 0, node state 0, heuristics 0. */
	qc_sendf(&c, "0008 0000000d 0000 0004 00000046 0013 0001 00");
	expect_error(&c, 0x46, QN_ERR_ERROR_DECODING_MSG);
	qc_sendf(&c, "0008 0000000d 0000 0004 00000047 0016 0001 00");
	expect_error(&c, 0x47, QN_ERR_ERROR_DECODING_MSG);
	/* A node info with node id 0, a node state 0, empty node info. */
	qc_sendf(&c, "000a 00000019 0000 0004 00000048 0012 0001 00"
	    " 0011 0008 0009 0004 00000000");
	expect_error(&c, 0x48, QN_ERR_ERROR_DECODING_MSG);
	qc_sendf(&c, "000a 0000001e 0000 0004 00000049 0012 0001 03"
	    " 0011 000d 0009 0004 00000001 0010 0001 00");
	expect_error(&c, 0x49, QN_ERR_ERROR_DECODING_MSG);
	qc_sendf(&c, "000a 00000011 0000 0004 0000004a 0012 0001 00"
	    " 0011 0000");
	expect_error(&c, 0x4a, QN_ERR_ERROR_DECODING_MSG);
	/* An odd-length array. */
	qc_sendf(&c, "0008 0000000d 0000 0004 0000004b 0004 0001 00");
	expect_error(&c, 0x4b, QN_ERR_ERROR_DECODING_MSG);
	echo_ok(&c);

	/* A message split into single bytes is still one message. */
	buf_init(&b);
	hex_parse("0008 00000008 0000 0004 0000004c", &b);
	for (size_t i = 0; i < b.len; i++) {
		qc_send(&c, b.data + i, 1);
		sleep_ms(2);
	}
	buf_free(&b);
	qc_expect(&c, "0009 00000008 | 0000 0004 0000004c");
	/* Several messages in one write are answered in order. */
	qc_sendf(&c, "0008 00000008 0000 0004 0000004d"
	    " 0012 00000001 00"
	    " 0008 00000008 0000 0004 0000004e");
	qc_expect(&c, "0009 00000008 | 0000 0004 0000004d");
	expect_error_noseq(&c, QN_ERR_UNSUPPORTED_MESSAGE);
	qc_expect(&c, "0009 00000008 | 0000 0004 0000004e");
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/*
 * PROTOCOL.md §2.3: a reply over max_client_send_size cannot be built and
 * the client is disconnected; more than 32 queued replies (a client that
 * doesn't read) disconnect it too.
 */
START_TEST(send_limits)
{
	struct srv s;
	struct qc c, other;
	struct buf b, got;
	int replies = 0, r;

	SRV_START(&s, "-s", "off", "-S",
	    "max_client_send_size=200,max_client_receive_size=1000");
	join_simple(&c, &s, "demo", 1, QN_ALGO_FFSPLIT);
	join_simple(&other, &s, "other", 1, QN_ALGO_FFSPLIT);
	/* 200 bytes is fine, 201 is not (INIT_REPLY is 140). */
	buf_init(&b);
	hex_parse("0008 000000c2 0000 0004 00000007 7fff 00b6", &b);
	while (b.len < 200)
		buf_put_u8(&b, 0xaa);
	qc_send(&c, b.data, b.len);
	buf_init(&got);
	ck_assert_int_eq(qc_recv(&c, TIMEOUT_MS, &got), RECV_MSG);
	ck_assert_uint_eq(got.len, 200);
	ck_assert_uint_eq(get_u16(got.data), QN_MSG_ECHO_REPLY);
	buf_reset(&b);
	hex_parse("0008 000000c3 0000 0004 00000008 7fff 00b7", &b);
	while (b.len < 201)
		buf_put_u8(&b, 0xaa);
	qc_send(&c, b.data, b.len);
	qc_expect_closed(&c, TIMEOUT_MS);
	qc_close(&c);
	echo_ok(&other);
	qc_close(&other);
	srv_stop(&s);

	/* Requests pile up replies while the client does not read. */
	SRV_START(&s, "-s", "off");
	join_simple(&c, &s, "demo", 1, QN_ALGO_FFSPLIT);
	buf_reset(&b);
	hex_parse("0008 00007ffa 0000 0004 00000009 7fff 7fee", &b);
	while (b.len < 0x8000)
		buf_put_u8(&b, 0x55);
	for (int i = 0; i < 400; i++)
		if (qc_write(&c, b.data, b.len) != 0)
			break;
	for (;;) {
		r = qc_recv(&c, TIMEOUT_MS, &got);
		if (r != RECV_MSG)
			break;
		replies++;
	}
	ck_assert_msg(r == RECV_CLOSED, "no disconnect (%d replies)", replies);
	ck_assert_int_lt(replies, 400);
	buf_free(&got);
	buf_free(&b);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* Garbage from one client neither kills the server nor other clients. */
START_TEST(garbage)
{
	struct srv s;
	struct qc c, g;
	uint8_t junk[4096];
	uint32_t x = 12345;

	SRV_START(&s, "-s", "off");
	join_simple(&c, &s, "demo", 1, QN_ALGO_FFSPLIT);
	for (int round = 0; round < 20; round++) {
		qc_connect(&g, &s);
		for (size_t i = 0; i < sizeof(junk); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			junk[i] = (uint8_t)x;
		}
		(void)qc_write(&g, junk, sizeof(junk));
		qc_close(&g);
		echo_ok(&c);
	}
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd protocol: messages");
	TCase *tc = harness_tcase(s, "messages", TEST_TIMEOUT);

	tcase_add_test(tc, set_option);
	tcase_add_test(tc, echo_copy);
	tcase_add_test(tc, missing_options);
	tcase_add_test(tc, framing);
	tcase_add_test(tc, send_limits);
	tcase_add_test(tc, garbage);
	return harness_run(s, H_PROTO);
}
