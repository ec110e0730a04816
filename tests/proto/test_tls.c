/*
 * TLS: a plain client with -s on (D7), STARTTLS + good certificate, a
 * certificate binding its connection (D25), -s req, no certificate, foreign
 * CA, CN=wrong, -c off, STARTTLS with -s off.
 *
 * One of the protocol tests of a real corosync-qnetd over loopback
 * (harness.h); tests/proto/run-against-debian.sh runs them against 3.0.3,
 * where the tests of our deliberate differences (DELIBERATE) expect the
 * 3.0.3 behaviour.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <poll.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------------ */
/* TLS */


/*
 * PREINIT "demo" (seq 1, reply checked for tls/cert), STARTTLS (seq 2, no
 * reply may come), then the handshake: its result.
 */
static int
tls_start_(struct qc *c, const char *file, int line, const struct srv *s,
    int tls, int certflag, const char *cert)
{
	qc_connect(c, s);
	send_preinit(c, 1, "demo");
	expect_preinit_reply_(c, file, line, 1, tls, certflag);
	qc_sendf(c, "0002 00000008 0000 0004 00000002");
	/* No reply to STARTTLS: the next bytes are the server's TLS. */
	{
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };

		ck_assert_msg(poll(&pf, 1, 200) == 0, "%s:%d: the server "
		    "sent something after STARTTLS", file, line);
	}
	c->seq = 2;
	return qc_starttls(c, cert);
}

#define tls_start(c, s, tls, certflag, cert) \
	tls_start_((c), HERE, (s), (tls), (certflag), (cert))

/* -s on -c on: a plain client is accepted without a certificate (D7). */
START_TEST(tls_on_plain)
{
	struct srv s;
	struct qc c;
	uint32_t seq;

	NEED_CERTS("tls_on_plain");
	SRV_START(&s, "-s", "on", "-c", "on");
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, QN_TLS_SUPPORTED, 1);
	send_init(&c, &(struct init_p){ .seq = 2, .node = 1, .hb = 10000,
	    .algo = QN_ALGO_TEST, .tb = { QN_TB_LOWEST, 0 }, .ring = R0 });
	expect_init_reply(&c, 2, 0);
	c.seq = 2;
	seq = send_members(&c, R0, 0, 1);
	expect_nlr(&c, seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_ACK);
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* STARTTLS, handshake with a good certificate, everything inside TLS. */
START_TEST(tls_good_cert)
{
	struct srv s;
	struct qc c;
	uint32_t seq;

	NEED_CERTS("tls_good_cert");
	SRV_START(&s, "-s", "on");
	ck_assert_int_eq(tls_start(&c, &s, QN_TLS_SUPPORTED, 1, "demo"), 0);
	ck_assert_int_eq(c.cert_requested, 0);	/* we had one set */
	qc_check_server_cert(&c);
	/* PROTOCOL.md §12.7 with TLS: INIT is seq 3. */
	send_init(&c, &(struct init_p){ .seq = 3, .node = 1, .hb = 10000,
	    .algo = QN_ALGO_FFSPLIT, .tb = { QN_TB_LOWEST, 0 }, .ring = R0 });
	expect_init_reply(&c, 3, 0);
	c.seq = 3;
	qc_sendf(&c, "0006 0000000d 0000 0004 00000004 0017 0001 01");
	qc_expect(&c, "0007 0000000d | 0000 0004 00000004 0017 0001 01");
	c.seq = 4;
	seq = send_config(&c, 1, 2);
	expect_nlr(&c, seq, QN_LIST_INITIAL_CONFIG, R0, QN_VOTE_ASK_LATER);
	seq = send_members(&c, R0, 0, 1);
	expect_vote_info(&c, 1, QN_VOTE_ACK, R0);
	expect_nlr(&c, seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_NO_CHANGE);
	send_vote_info_reply(&c, 1);
	echo_ok(&c);
	if (!debian) {
		const char *backend = getenv("QNETD_TEST_TLS_BACKEND");
		const char *want = backend != NULL &&
		    strcmp(backend, "openssl") == 0 ? "\"tls_library\":\"OpenSSL " :
		    "\"tls_library\":\"NSS ";
		struct buf out;

		buf_init(&out);
		ck_assert_int_eq(ipc_request(&s, "status json\n", &out), 0);
		ck_assert_msg(strstr((char *)out.data, want) != NULL,
		    "status json lacks %s:\n%s", want, (char *)out.data);
		buf_free(&out);
	}
	/* After INIT no PREINIT, not even with the same name (D25). */
	deliberate("PREINIT after INIT (D25)");
	send_preinit(&c, 50, "demo");
	if (debian)
		expect_preinit_reply(&c, 50, QN_TLS_SUPPORTED, 1);
	else
		qc_expect_closed(&c, TIMEOUT_MS);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/*
 * A certificate binds its connection to one cluster (D25).  With demo's
 * certificate, after an error reply (ECHO before INIT), a refused INIT
 * (bad heartbeat) or a good INIT, a PREINIT naming cluster "wrong" ends
 * the connection, and "wrong" gets no node.  3.0.3 let the client in.
 */
static void
cert_switch(int how)
{
	struct srv s;
	struct qc c;
	struct init_p p;
	struct buf out;

	SRV_START(&s, "-s", "on");
	ck_assert_int_eq(tls_start(&c, &s, QN_TLS_SUPPORTED, 1, "demo"), 0);
	switch (how) {
	case 0:
		alive_before_init(&c);
		break;
	case 1:
		p = init_p(++c.seq, 1, QN_ALGO_FFSPLIT);
		p.hb = 1;
		send_init(&c, &p);
		expect_init_reply(&c, p.seq, QN_ERR_INVALID_HEARTBEAT_INTERVAL);
		break;
	default:
		p = init_p(++c.seq, 1, QN_ALGO_FFSPLIT);
		send_init(&c, &p);
		expect_init_reply(&c, p.seq, 0);
		echo_ok(&c);
		break;
	}
	deliberate("a certificate binds its connection (D25)");
	send_preinit(&c, ++c.seq, "wrong");
	if (debian) {
		expect_preinit_reply(&c, c.seq, QN_TLS_SUPPORTED, 1);
		qc_close(&c);
		srv_stop(&s);
		return;
	}
	qc_expect_closed(&c, TIMEOUT_MS);
	qc_close(&c);
	/* The server goes on, and cluster "wrong" has nobody. */
	buf_init(&out);
	ck_assert_int_eq(ipc_request(&s, "list\n", &out), 0);
	ck_assert_msg(strstr((char *)out.data, "wrong") == NULL,
	    "cluster wrong is listed:\n%s", (char *)out.data);
	buf_free(&out);
	srv_stop(&s);
}

START_TEST(tls_cert_switch_after_error)
{
	NEED_CERTS("tls_cert_switch_after_error");
	cert_switch(0);
}
END_TEST

START_TEST(tls_cert_switch_after_failed_init)
{
	NEED_CERTS("tls_cert_switch_after_failed_init");
	cert_switch(1);
}
END_TEST

START_TEST(tls_cert_switch_after_init)
{
	NEED_CERTS("tls_cert_switch_after_init");
	cert_switch(2);
}
END_TEST

/*
 * Without TLS a PREINIT may rename the connection until INIT, as in
 * 3.0.3 (nothing binds it); after INIT it ends the connection.
 */
START_TEST(plain_preinit_after_init)
{
	struct srv s;
	struct qc c;
	struct init_p p;

	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	send_preinit(&c, 1, "one");
	expect_preinit_reply(&c, 1, QN_TLS_UNSUPPORTED, 1);
	send_preinit(&c, 2, "two");
	expect_preinit_reply(&c, 2, QN_TLS_UNSUPPORTED, 1);
	p = init_p(3, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	expect_init_reply(&c, 3, 0);
	c.seq = 3;
	echo_ok(&c);
	deliberate("PREINIT after INIT (D25)");
	send_preinit(&c, 10, "two");
	if (debian)
		expect_preinit_reply(&c, 10, QN_TLS_UNSUPPORTED, 1);
	else
		qc_expect_closed(&c, TIMEOUT_MS);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* -s req: plain requests get 3 (connection kept) until TLS is started. */
START_TEST(tls_required)
{
	static const uint16_t gated[] = { 6, 8, 10, 12, 15, 16 };
	struct srv s;
	struct qc c;
	struct init_p p;
	uint32_t seq;

	NEED_CERTS("tls_required");
	SRV_START(&s, "-s", "req");
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, QN_TLS_REQUIRED, 1);
	p = init_p(2, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	expect_error(&c, 2, QN_ERR_TLS_REQUIRED);
	c.seq = 2;
	for (size_t i = 0; i < ARRAY_LEN(gated); i++) {
		seq = send_seq_only(&c, gated[i]);
		expect_error(&c, seq, QN_ERR_TLS_REQUIRED);
	}
	/* Not gated: server-only types (8) and PREINIT. */
	seq = send_seq_only(&c, QN_MSG_VOTE_INFO);
	expect_error(&c, seq, QN_ERR_UNEXPECTED_MESSAGE);
	send_preinit(&c, 20, "demo");
	expect_preinit_reply(&c, 20, QN_TLS_REQUIRED, 1);
	/* The same connection then starts TLS and gets in. */
	qc_sendf(&c, "0002 00000008 0000 0004 00000015");
	ck_assert_int_eq(qc_starttls(&c, "demo"), 0);
	qc_check_server_cert(&c);
	p = init_p(0x16, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	expect_init_reply(&c, 0x16, 0);
	c.seq = 0x16;
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* -c on: no certificate → refused (the handshake fails). */
START_TEST(tls_no_cert)
{
	struct srv s;
	struct qc c;

	NEED_CERTS("tls_no_cert");
	SRV_START(&s, "-s", "on", "-c", "on");
	if (tls_start(&c, &s, QN_TLS_SUPPORTED, 1, NULL) == 0) {
		/* TLS 1.3: the server's alert comes after our Finished. */
		struct init_p p = init_p(3, 1, QN_ALGO_FFSPLIT);
		struct buf b;

		buf_init(&b);
		init_encode(&p, &b);
		(void)qc_write(&c, b.data, b.len);
		buf_free(&b);
		qc_expect_closed(&c, TIMEOUT_MS);
	}
	ck_assert_msg(c.cert_requested, "the server did not ask for a client "
	    "certificate");
	qc_close(&c);
	/* The server is fine. */
	join_simple(&c, &s, "demo", 1, QN_ALGO_FFSPLIT);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* A certificate from another CA: the handshake fails. */
START_TEST(tls_other_ca)
{
	struct srv s;
	struct qc c;

	NEED_CERTS("tls_other_ca");
	SRV_START(&s, "-s", "on");
	if (tls_start(&c, &s, QN_TLS_SUPPORTED, 1, "otherca") == 0) {
		/* Even PREINIT (no certificate check of its own) fails. */
		static const uint8_t preinit[] = {
			0, 0, 0, 0, 0, 0x10, 0, 0, 0, 4, 0, 0, 0, 3,
			0, 1, 0, 4, 'd', 'e', 'm', 'o'
		};

		(void)qc_write(&c, preinit, sizeof(preinit));
		qc_expect_closed(&c, TIMEOUT_MS);
	}
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* CN=wrong for cluster demo: TLS works, INIT → silent disconnect. */
START_TEST(tls_wrong_cn)
{
	struct srv s;
	struct qc c;
	struct init_p p;

	NEED_CERTS("tls_wrong_cn");
	SRV_START(&s, "-s", "on");
	ck_assert_int_eq(tls_start(&c, &s, QN_TLS_SUPPORTED, 1, "wrong"), 0);
	/* PREINIT is not TLS-gated: the session itself is fine. */
	send_preinit(&c, 3, "demo");
	expect_preinit_reply(&c, 3, QN_TLS_SUPPORTED, 1);
	p = init_p(4, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	qc_expect_closed(&c, TIMEOUT_MS);
	qc_close(&c);

	/* The name is the cluster's: CN=wrong is good for cluster "wrong". */
	qc_connect(&c, &s);
	send_preinit(&c, 1, "wrong");
	expect_preinit_reply(&c, 1, QN_TLS_SUPPORTED, 1);
	qc_sendf(&c, "0002 00000008 0000 0004 00000002");
	ck_assert_int_eq(qc_starttls(&c, "wrong"), 0);
	p = init_p(3, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	expect_init_reply(&c, 3, 0);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* PREINIT name, STARTTLS, and a handshake offering session sess. */
static int
tls_resume(struct qc *c, const struct srv *s, const char *cluster,
    SSL_SESSION *sess)
{
	qc_connect(c, s);
	send_preinit(c, 1, cluster);
	expect_preinit_reply(c, 1, QN_TLS_SUPPORTED, 1);
	qc_sendf(c, "0002 00000008 0000 0004 00000002");
	c->seq = 2;
	SSL_SESSION_up_ref(sess);
	c->resume = sess;
	return qc_starttls(c, "demo");
}

/*
 * A qdevice that reconnects resumes its TLS session (issue 15).  The
 * certificate comes back with the session and still binds the connection
 * to its cluster (D25): demo's session joins demo, not "wrong".  The
 * OpenSSL back end issues no tickets (tls_ossl.c says why): the same
 * steps take full handshakes there.
 */
START_TEST(tls_resumption)
{
	const char *backend = getenv("QNETD_TEST_TLS_BACKEND");
	int resumes = !debian && (backend == NULL ||
	    strcmp(backend, "openssl") != 0);
	struct srv s;
	struct qc c;
	struct init_p p;
	struct buf out;
	SSL_SESSION *sess;

	NEED_CERTS("tls_resumption");
	SRV_START(&s, "-s", "on");
	ck_assert_int_eq(tls_start(&c, &s, QN_TLS_SUPPORTED, 1, "demo"), 0);
	ck_assert_int_eq(c.resumed, 0);
	p = init_p(3, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	expect_init_reply(&c, 3, 0);
	c.seq = 3;
	echo_ok(&c);	/* a TLS 1.3 ticket comes after the handshake */
	/* A copy: OpenSSL spoils a session its connection drops unclosed. */
	sess = SSL_SESSION_dup(SSL_get0_session(c.ssl));
	ck_assert_ptr_nonnull(sess);
	qc_close(&c);

	ck_assert_int_eq(tls_resume(&c, &s, "demo", sess), 0);
	note("reconnect: session %s", c.resumed ? "resumed" : "not resumed");
	if (resumes)
		ck_assert_msg(c.resumed, "the server did not resume the session");
	else if (!debian)
		ck_assert_msg(!c.resumed, "OpenSSL resumed a session");
	p = init_p(3, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	expect_init_reply(&c, 3, 0);
	c.seq = 3;
	echo_ok(&c);
	if (resumes) {
		buf_init(&out);
		ck_assert_int_eq(ipc_request(&s, "list json\n", &out), 0);
		ck_assert_msg(strstr((char *)out.data,
		    "\"session_resumed\":true") != NULL,
		    "the tool does not show the resumed session:\n%s",
		    (char *)out.data);
		buf_free(&out);
	}
	qc_close(&c);

	/* The same session for cluster "wrong": INIT ends the connection. */
	ck_assert_int_eq(tls_resume(&c, &s, "wrong", sess), 0);
	p = init_p(3, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	qc_expect_closed(&c, TIMEOUT_MS);
	qc_close(&c);
	SSL_SESSION_free(sess);
	srv_stop(&s);
}
END_TEST

/* -c off: no certificate is requested, TLS without one works. */
START_TEST(tls_cert_off)
{
	struct srv s;
	struct qc c;
	struct init_p p;

	NEED_CERTS("tls_cert_off");
	SRV_START(&s, "-s", "on", "-c", "off");
	ck_assert_int_eq(tls_start(&c, &s, QN_TLS_SUPPORTED, 0, NULL), 0);
	p = init_p(3, 1, QN_ALGO_FFSPLIT);
	send_init(&c, &p);
	expect_init_reply(&c, 3, 0);
	ck_assert_msg(!c.cert_requested, "-c off, but the server asked for a "
	    "client certificate");
	c.seq = 3;
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

/* -s off: STARTTLS can't be honoured → silent disconnect. */
START_TEST(tls_off_starttls)
{
	struct srv s;
	struct qc c;

	SRV_START(&s, "-s", "off");
	qc_connect(&c, &s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, QN_TLS_UNSUPPORTED, 1);
	qc_sendf(&c, "0002 00000008 0000 0004 00000002");
	qc_expect_closed(&c, TIMEOUT_MS);
	qc_close(&c);
	srv_stop(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd protocol: tls");
	TCase *tc = harness_tcase(s, "tls", TEST_TIMEOUT);

	tcase_add_test(tc, tls_on_plain);
	tcase_add_test(tc, tls_good_cert);
	tcase_add_test(tc, tls_cert_switch_after_error);
	tcase_add_test(tc, tls_cert_switch_after_failed_init);
	tcase_add_test(tc, tls_cert_switch_after_init);
	tcase_add_test(tc, plain_preinit_after_init);
	tcase_add_test(tc, tls_required);
	tcase_add_test(tc, tls_no_cert);
	tcase_add_test(tc, tls_other_ca);
	tcase_add_test(tc, tls_wrong_cn);
	tcase_add_test(tc, tls_resumption);
	tcase_add_test(tc, tls_cert_off);
	tcase_add_test(tc, tls_off_starttls);
	return harness_run(s, H_PROTO | H_CERTS);
}
