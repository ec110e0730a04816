/*
 * PREINIT in every TLS mode and its errors, INIT success (§12.5 bytes,
 * options 4/5), every INIT error code and the §7.4 precedence, retry after
 * a refusal, the 18,000,000 ms DPD limit, 15/16/17 against registered
 * nodes, messages before INIT (11) and server-only types (8).
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
/* PREINIT */

/* PROTOCOL.md §12.1/§12.2: the exact PREINIT and its reply, TLS off. */
START_TEST(preinit_tls_off)
{
	struct srv s;
	struct qc c;

	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	qc_sendf(&c, "0000 00000010 0000 0004 00000001 0001 0004 64656d6f");
	/* The certificate flag reflects -c (default on) even with TLS off. */
	qc_expect(&c, "0001 00000012 | 0000 0004 00000001 0002 0001 00"
	    " 0003 0001 01");
	qc_close(&c);
	srv_stop(&s);

	SRV_START(&s, "-s", "off", "-c", "off");
	qc_connect(&c, &s);
	send_preinit(&c, 77, "demo");
	expect_preinit_reply(&c, 77, QN_TLS_UNSUPPORTED, 0);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

START_TEST(preinit_tls_modes)
{
	static const struct {
		const char *s, *c;
		int tls, cert;
	} modes[] = {
		{ "on", "on", QN_TLS_SUPPORTED, 1 },
		{ "on", "off", QN_TLS_SUPPORTED, 0 },
		{ "req", "on", QN_TLS_REQUIRED, 1 },
		{ "req", "no", QN_TLS_REQUIRED, 0 },
	};
	struct srv s;
	struct qc c;

	NEED_CERTS("preinit_tls_modes");
	for (size_t i = 0; i < ARRAY_LEN(modes); i++) {
		SRV_START(&s, "-s", modes[i].s, "-c", modes[i].c);
		qc_connect(&c, &s);
		send_preinit(&c, 1, "demo");
		expect_preinit_reply(&c, 1, modes[i].tls, modes[i].cert);
		/* Accepted any time, again and again. */
		send_preinit(&c, 2, "other");
		expect_preinit_reply(&c, 2, modes[i].tls, modes[i].cert);
		qc_close(&c);
		srv_stop(&s);
	}
}
END_TEST

START_TEST(preinit_errors)
{
	struct srv s;
	struct qc c;

	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	/* No cluster name: error 7 with the seq. */
	qc_sendf(&c, "0000 00000008 0000 0004 00000005");
	expect_error(&c, 5, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	/* Neither: error 7 without a seq. */
	qc_sendf(&c, "0000 00000005 00c8 0001 00");
	expect_error_noseq(&c, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
	/* STARTTLS before PREINIT: error 6, connection kept. */
	qc_sendf(&c, "0002 00000008 0000 0004 00000006");
	expect_error(&c, 6, QN_ERR_PREINIT_REQUIRED);
	/* An empty cluster name is a cluster name. */
	qc_sendf(&c, "0000 0000000c 0000 0004 00000007 0001 0000");
	expect_preinit_reply(&c, 7, 0, 1);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* INIT */

/* PROTOCOL.md §12.4/§12.5: the exact INIT and INIT_REPLY. */
START_TEST(init_success)
{
	struct srv s;
	struct qc c;
	struct init_p p;

	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, 0, 1);
	qc_sendf(&c, "0003 00000093"
	    " 0000 0004 00000002"
	    " 0004 0024 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009 000a"
	    " 000b 000c 000d 000e 000f 0010 0011"
	    " 0005 0030 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009 000a"
	    " 000b 000c 000d 000e 000f 0010 0011 0012 0013 0014 0015 0016 0017"
	    " 0009 0004 00000001"
	    " 000b 0002 0001"
	    " 000c 0004 00001f40"
	    " 0015 0005 01 00000000"
	    " 000d 000c 00000001 000000000000000a");
	expect_init_reply(&c, 2, 0);
	echo_ok(&c);
	qc_close(&c);

	/* Without options 4 and 5: the 42-byte body. */
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, 0, 1);
	p = init_p(2, 2, QN_ALGO_FFSPLIT);
	p.omit = QN_BIT(QN_OPT_SUPPORTED_MESSAGES) |
	    QN_BIT(QN_OPT_SUPPORTED_OPTIONS);
	send_init(&c, &p);
	qc_expect(&c, "0004 0000002a | 0006 0002 0000 0000 0004 00000002"
	    " 0007 0004 00008000 0008 0004 00008000"
	    " 000a 0008 0000 0001 0002 0003");
	qc_close(&c);

	/* Only option 5 (resp. 4): only that list comes back. */
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, 0, 1);
	p = init_p(2, 3, QN_ALGO_FFSPLIT);
	p.omit = QN_BIT(QN_OPT_SUPPORTED_MESSAGES);
	send_init(&c, &p);
	qc_expect(&c, "0004 0000005e | 0006 0002 0000"
	    " 0005 0030 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009 000a"
	    " 000b 000c 000d 000e 000f 0010 0011 0012 0013 0014 0015 0016 0017"
	    " 0000 0004 00000002 0007 0004 00008000 0008 0004 00008000"
	    " 000a 0008 0000 0001 0002 0003");
	qc_close(&c);

	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, 0, 1);
	p = init_p(9, 4, QN_ALGO_FFSPLIT);
	p.omit = QN_BIT(QN_OPT_SUPPORTED_OPTIONS);
	send_init(&c, &p);
	qc_expect(&c, "0004 00000052 | 0006 0002 0000"
	    " 0004 0024 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009 000a"
	    " 000b 000c 000d 000e 000f 0010 0011"
	    " 0000 0004 00000009 0007 0004 00008000 0008 0004 00008000"
	    " 000a 0008 0000 0001 0002 0003");
	qc_close(&c);

	/* The advertised sizes are the -S settings. */
	srv_stop(&s);
	SRV_START(&s, "-s", "off", "-S",
	    "max_client_receive_size=1000,max_client_send_size=70000");
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, 0, 1);
	p = init_p(2, 1, QN_ALGO_FFSPLIT);
	p.omit = QN_BIT(QN_OPT_SUPPORTED_MESSAGES) |
	    QN_BIT(QN_OPT_SUPPORTED_OPTIONS);
	send_init(&c, &p);
	qc_expect(&c, "0004 0000002a | 0006 0002 0000 0000 0004 00000002"
	    " 0007 0004 000003e8 0008 0004 00011170"
	    " 000a 0008 0000 0001 0002 0003");
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* PROTOCOL.md §7.4: every INIT error code and their precedence. */
static const struct {
	const char *what;
	int preinit;
	uint32_t omit;
	uint32_t hb;
	uint16_t algo;
	uint16_t err;
} init_cases[] = {
	{ "valid", 1, 0, 10000, 1, 0 },
	{ "hb at the minimum", 1, 0, 1000, 1, 0 },
	{ "hb at the maximum", 1, 0, 120000, 1, 0 },
	{ "algorithm test", 1, 0, 10000, 0, 0 },
	{ "algorithm lms", 1, 0, 10000, 3, 0 },
	{ "no PREINIT", 0, 0, 10000, 1, 6 },
	{ "no PREINIT, no node id", 0, OMIT_NODE, 10000, 1, 6 },
	{ "no PREINIT, no algorithm", 0, OMIT_ALGO, 10000, 1, 6 },
	{ "no PREINIT, no heartbeat: 13 overrides 6", 0, OMIT_HB, 0, 1, 13 },
	{ "no PREINIT, hb 999: 13 overrides 6", 0, 0, 999, 1, 13 },
	{ "no PREINIT, algorithm 4: 12 overrides 6", 0, 0, 10000, 4, 12 },
	{ "no PREINIT, hb 999, algo 4: 12 last", 0, 0, 999, 4, 12 },
	{ "no node id", 1, OMIT_NODE, 10000, 1, 7 },
	{ "no ring id", 1, OMIT_RING, 10000, 1, 7 },
	{ "no heartbeat", 1, OMIT_HB, 0, 1, 7 },
	{ "no tie-breaker", 1, OMIT_TB, 10000, 1, 7 },
	{ "no algorithm", 1, OMIT_ALGO, 10000, 1, 7 },
	{ "no ring id, no algorithm", 1, OMIT_RING | OMIT_ALGO, 10000, 1, 7 },
	{ "no node id, no heartbeat: 13 overrides 7", 1, OMIT_NODE | OMIT_HB,
	    0, 1, 13 },
	{ "no ring id, hb 999: 13 overrides 7", 1, OMIT_RING, 999, 1, 13 },
	{ "no tie-breaker, hb 999: hb checked first", 1, OMIT_TB, 999, 1, 13 },
	{ "no node id, algorithm 4: 12 overrides 7", 1, OMIT_NODE, 10000, 4,
	    12 },
	{ "no tie-breaker, algorithm 5: 12 overrides 7", 1, OMIT_TB, 10000, 5,
	    12 },
	{ "hb 999, algorithm 4: 12 overrides 13", 1, 0, 999, 4, 12 },
	{ "hb 999", 1, 0, 999, 1, 13 },
	{ "hb 120001", 1, 0, 120001, 1, 13 },
	{ "hb 0", 1, 0, 0, 1, 13 },
	{ "hb 4294967295", 1, 0, 0xffffffff, 1, 13 },
	{ "algorithm 4", 1, 0, 10000, 4, 12 },
	{ "algorithm 65535", 1, 0, 10000, 0xffff, 12 },
};

START_TEST(init_errors)
{
	struct srv s;

	SRV_START(&s, "-s", "off");
	for (size_t i = 0; i < ARRAY_LEN(init_cases); i++) {
		struct qc c;
		struct init_p p = init_p(2, 1, init_cases[i].algo);
		char cluster[16];
		uint16_t e;

		/* A cluster each: a success leaves a registered node behind. */
		snprintf(cluster, sizeof(cluster), "c%zu", i);
		qc_connect(&c, &s);
		if (init_cases[i].preinit) {
			send_preinit(&c, 1, cluster);
			expect_preinit_reply(&c, 1, 0, 1);
		}
		p.hb = init_cases[i].hb;
		p.omit = init_cases[i].omit;
		send_init(&c, &p);
		e = recv_init_error(&c, 2);
		ck_assert_msg(e == init_cases[i].err, "INIT %s: error %u, "
		    "expected %u", init_cases[i].what, e, init_cases[i].err);
		qc_close(&c);
	}
	srv_stop(&s);
}
END_TEST

/* A refused INIT keeps the connection: the exact reply, then a retry. */
START_TEST(init_retry)
{
	struct srv s;
	struct qc c;
	struct init_p p;

	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	p = init_p(2, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	expect_init_reply(&c, 2, QN_ERR_PREINIT_REQUIRED);
	send_preinit(&c, 3, "demo");
	expect_preinit_reply(&c, 3, 0, 1);
	p = init_p(4, 1, QN_ALGO_FFSPLIT);
	p.hb = 500;
	send_init(&c, &p);
	expect_init_reply(&c, 4, QN_ERR_INVALID_HEARTBEAT_INTERVAL);
	p = init_p(5, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	expect_init_reply(&c, 5, 0);
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* The 18,000,000 ms timer limit on coefficient x heartbeat (§7.4 step 5). */
START_TEST(init_dpd_limit)
{
	struct srv s;
	struct qc c;
	struct init_p p;

	SRV_START(&s, "-s", "off", "-S", "heartbeat_interval_max=20000000");
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, 0, 1);
	p = init_p(2, 1, QN_ALGO_FFSPLIT);
	p.hb = 12000001;	/* 1.5 x = 18000001 */
	send_init(&c, &p);
	ck_assert_uint_eq(recv_init_error(&c, 2),
	    QN_ERR_INVALID_HEARTBEAT_INTERVAL);
	p.seq = 3;
	p.hb = 12000000;	/* 1.5 x = 18000000 */
	send_init(&c, &p);
	ck_assert_uint_eq(recv_init_error(&c, 3), 0);
	qc_close(&c);
	srv_stop(&s);

	/* Without DPD there is no timer to limit. */
	SRV_START(&s, "-s", "off", "-S",
	    "heartbeat_interval_max=20000000,dpd_enabled=off");
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, 0, 1);
	p = init_p(2, 1, QN_ALGO_FFSPLIT);
	p.hb = 19000000;
	send_init(&c, &p);
	ck_assert_uint_eq(recv_init_error(&c, 2), 0);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* 15, 16, 17 against registered nodes of the same cluster. */
START_TEST(init_cluster_conflicts)
{
	static const struct {
		const char *what;
		uint32_t node;
		uint16_t algo;
		uint8_t tb_mode;
		uint32_t tb_node;
		uint16_t err;
	} cases[] = {
		{ "tie-breaker highest", 2, 1, QN_TB_HIGHEST, 0, 15 },
		{ "tie-breaker node 5", 2, 1, QN_TB_NODE_ID, 5, 15 },
		{ "algorithm lms", 2, 3, QN_TB_LOWEST, 0, 16 },
		{ "algorithm test", 2, 0, QN_TB_LOWEST, 0, 16 },
		{ "duplicate node 1", 1, 1, QN_TB_LOWEST, 0, 17 },
		{ "tie-breaker and algorithm: 15 first", 2, 3, QN_TB_HIGHEST, 0,
		    15 },
		{ "algorithm and node id: 16 first", 1, 3, QN_TB_LOWEST, 0, 16 },
		{ "tie-breaker and node id: 15 first", 1, 1, QN_TB_HIGHEST, 0,
		    15 },
		{ "bad algorithm beats the cluster checks", 1, 9, QN_TB_HIGHEST,
		    0, 12 },
	};
	struct srv s;
	struct qc c1, c2, c3;
	struct init_p p;
	struct buf b;

	SRV_START(&s, "-s", "off");
	join_simple(&c1, &s, "demo", 1, QN_ALGO_FFSPLIT);
	qc_connect(&c2, &s);
	send_preinit(&c2, 1, "demo");
	expect_preinit_reply(&c2, 1, 0, 1);
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint16_t e;

		p = init_p(10 + (uint32_t)i, cases[i].node, cases[i].algo);
		p.tb.mode = cases[i].tb_mode;
		p.tb.node_id = cases[i].tb_node;
		send_init(&c2, &p);
		e = recv_init_error(&c2, p.seq);
		ck_assert_msg(e == cases[i].err, "INIT %s: error %u, expected "
		    "%u", cases[i].what, e, cases[i].err);
	}
	/*
	 * Tie-breaker bytes 1-4 mean nothing unless the mode is "node id":
	 * (lowest, 99) equals node 1's (lowest, 0).
	 */
	p = init_p(30, 2, QN_ALGO_FFSPLIT);
	buf_init(&b);
	init_encode(&p, &b);
	for (size_t off = QN_HEADER_SIZE; off + 4 <= b.len;
	    off += 4 + get_u16(b.data + off + 2)) {
		if (get_u16(b.data + off) == QN_OPT_TIE_BREAKER)
			b.data[off + 4 + 4] = 99;
	}
	qc_send(&c2, b.data, b.len);
	buf_free(&b);
	expect_init_reply(&c2, 30, 0);
	/* A second INIT on a registered connection: 17. */
	p = init_p(31, 2, QN_ALGO_FFSPLIT);
	send_init(&c2, &p);
	expect_init_reply(&c2, 31, QN_ERR_DUPLICATE_NODE_ID);
	echo_ok(&c2);

	/* Clusters are told apart by the exact bytes of the name. */
	qc_connect(&c3, &s);
	send_preinit(&c3, 1, "Demo");
	expect_preinit_reply(&c3, 1, 0, 1);
	p = init_p(2, 1, QN_ALGO_LMS);
	p.tb.mode = QN_TB_HIGHEST;
	send_init(&c3, &p);
	expect_init_reply(&c3, 2, 0);
	qc_close(&c3);

	/* Node-id tie-breakers are equal only with the same node. */
	p = init_p(2, 1, QN_ALGO_FFSPLIT);
	p.tb.mode = QN_TB_NODE_ID;
	p.tb.node_id = 7;
	join(&c3, &s, "tb", &p);
	qc_close(&c3);
	/* Lists first: 3.0.3 crashes when list-less ffsplit clients leave. */
	send_config(&c1, 1, 2);
	expect_nlr(&c1, c1.seq, 0, RING(1, 1), QN_VOTE_ASK_LATER);
	send_config(&c2, 1, 2);
	expect_nlr(&c2, c2.seq, 0, RING(1, 1), QN_VOTE_ASK_LATER);
	qc_close(&c2);
	qc_close(&c1);
	srv_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Messages out of order */

START_TEST(before_init)
{
	static const uint16_t post_init[] = { 6, 8, 10, 12, 15, 16 };
	static const uint16_t server_only[] = { 1, 4, 5, 7, 9, 11, 13, 14, 17 };
	struct srv s;
	struct qc c;

	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	/* Server-to-client types: 8, seq echoed, even before PREINIT. */
	for (size_t i = 0; i < ARRAY_LEN(server_only); i++) {
		uint32_t seq = send_seq_only(&c, server_only[i]);

		expect_error(&c, seq, QN_ERR_UNEXPECTED_MESSAGE);
	}
	/* Post-INIT messages before INIT: 11, before and after PREINIT. */
	for (int pre = 0; pre < 2; pre++) {
		if (pre) {
			send_preinit(&c, ++c.seq, "demo");
			expect_preinit_reply(&c, c.seq, 0, 1);
		}
		for (size_t i = 0; i < ARRAY_LEN(post_init); i++) {
			uint32_t seq = send_seq_only(&c, post_init[i]);

			expect_error(&c, seq, QN_ERR_INIT_REQUIRED);
		}
		/* Without a seq the error has none. */
		qc_sendf(&c, "0006 00000005 0017 0001 01");
		expect_error_noseq(&c, QN_ERR_INIT_REQUIRED);
	}
	/* After INIT too, the server-only types stay unexpected. */
	qc_close(&c);
	join_simple(&c, &s, "demo", 1, QN_ALGO_FFSPLIT);
	for (size_t i = 0; i < ARRAY_LEN(server_only); i++) {
		uint32_t seq = send_seq_only(&c, server_only[i]);

		expect_error(&c, seq, QN_ERR_UNEXPECTED_MESSAGE);
	}
	qc_sendf(&c, "000e 00000005 0013 0001 01");
	expect_error_noseq(&c, QN_ERR_UNEXPECTED_MESSAGE);
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd protocol: handshake");
	TCase *tc = harness_tcase(s, "handshake", TEST_TIMEOUT);

	tcase_add_test(tc, preinit_tls_off);
	tcase_add_test(tc, preinit_tls_modes);
	tcase_add_test(tc, preinit_errors);
	tcase_add_test(tc, init_success);
	tcase_add_test(tc, init_errors);
	tcase_add_test(tc, init_retry);
	tcase_add_test(tc, init_dpd_limit);
	tcase_add_test(tc, init_cluster_conflicts);
	tcase_add_test(tc, before_init);
	return harness_run(s, H_PROTO | H_CERTS);
}
