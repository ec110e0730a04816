/*
 * Certificates and the NSS database of a real corosync-qnetd (issue 14):
 * the causes it gives when the database or the local socket directory is
 * missing, nss_db_auto_init, and certificate rotation on SIGHUP under
 * load with TLS clients that must keep their votes.
 *
 * Every test starts its own daemon (harness.h) on its own copy of the
 * harness's database where it changes it.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "harness.h"

#define WAIT_MS		5000

/* Run the daemon with args; it must fail and log every needle. */
static void
assert_refused(struct srv *s, const char *const *needles,
    const char *const *args)
{
	int status;

	srv_spawn(s, args);
	if (!srv_wait(s, 10000, &status)) {
		kill(s->pid, SIGKILL);
		srv_wait(s, 10000, &status);
		print_log(s);
		ck_abort_msg("qnetd did not exit");
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0,
	    "status %d", status);
	for (; *needles != NULL; needles++) {
		if (log_count(s, *needles) == 0)
			print_log(s);
		ck_assert_msg(log_count(s, *needles) > 0, "no message \"%s\"",
		    *needles);
	}
}

#define NEEDLES(...)	(const char *const[]){ __VA_ARGS__, NULL }
#define ARGS(...)	(const char *const[]){ __VA_ARGS__, NULL }

/* ------------------------------------------------------------------ */
/* The real causes (issue 14, item 5) and what to do (item 4) */

/* libuv says EACCES for a missing directory: the cause is the directory. */
START_TEST(t_socket_dir_missing)
{
	struct srv s;

	srv_prepare(&s);
	snprintf(s.sock, sizeof(s.sock), "%s/no-such-dir/qnetd.sock", s.dir);
	assert_refused(&s, NEEDLES("Can't create local socket",
	    "no-such-dir/qnetd.sock: No such file or directory"),
	    ARGS("-s", "off"));
	ck_assert_int_eq(log_count(&s, "Permission denied"), 0);
}
END_TEST

/* No database directory: how to make one, or to run without TLS. */
START_TEST(t_no_database_hint)
{
	char settings[PATH_MAX + 64], hint[PATH_MAX + 64];
	struct srv s;

	srv_prepare(&s);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s/none", s.dir);
	snprintf(hint, sizeof(hint), "run 'corosync-qnetd-certutil -i -d "
	    "%s/none'", s.dir);
	assert_refused(&s, NEEDLES("Can't open NSS DB directory", hint,
	    "-S nss_db_auto_init=on", "with -s off to run without TLS"),
	    ARGS("-s", "on", "-S", settings));
	/* An empty directory is no database either. */
	srv_prepare(&s);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s", s.dir);
	snprintf(hint, sizeof(hint), "run 'corosync-qnetd-certutil -i -d %s'",
	    s.dir);
	assert_refused(&s, NEEDLES("can't open NSS database", hint),
	    ARGS("-s", "on", "-S", settings));
}
END_TEST

/* A database without the server certificate: not a stale socket error. */
START_TEST(t_no_server_cert)
{
	char settings[PATH_MAX + 64], db[PATH_MAX + 16];
	struct srv s;

	srv_prepare(&s);
	snprintf(db, sizeof(db), "%s/db", s.dir);
	ck_assert_int_eq(shf("mkdir '%s' && certutil -N -d 'sql:%s' "
	    "--empty-password", db, db), 0);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s", db);
	assert_refused(&s, NEEDLES("NSS error (The requested certificate "
	    "could not be found.): can't load certificate 'QNetd Cert'",
	    "has no certificate 'QNetd Cert'"),
	    ARGS("-s", "on", "-S", settings));
	ck_assert_int_eq(log_count(&s, "Network file descriptor"), 0);
}
END_TEST

/*
 * nss_db_auto_init=on: a missing database is made at start as
 * corosync-qnetd-certutil -i makes it, and serves TLS with it; a second
 * start uses it as it is.  Off (the default) it is not made.
 */
START_TEST(t_auto_init)
{
	char settings[PATH_MAX + 64], db[PATH_MAX + 16];
	struct srv s;

	srv_prepare(&s);
	snprintf(db, sizeof(db), "%s/auto/nssdb", s.dir);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s", db);
	assert_refused(&s, NEEDLES("Can't open NSS DB directory"),
	    ARGS("-s", "on", "-S", settings));
	ck_assert_int_ne(access(db, F_OK), 0);

	snprintf(settings, sizeof(settings), "nss_db_dir=%s,"
	    "nss_db_auto_init=on", db);
	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "on", "-S", settings);
	ASSERT_LOG(&s, "Created the NSS database in");
	ck_assert_int_eq(shf("certutil -L -d 'sql:%s' -n 'QNetd Cert' "
	    ">/dev/null && certutil -L -d 'sql:%s' | grep -q '^QNet CA  *CTu,u,u' "
	    "&& test -s '%s/qnetd-cacert.crt' && test -s '%s/serial.txt'",
	    db, db, db, db), 0);
	/* A TLS handshake with the certificate it made. */
	{
		struct qc c;
		char ca[2 * PATH_MAX];
		SSL_CTX *ctx;

		snprintf(ca, sizeof(ca), "%s/qnetd-cacert.crt", db);
		qc_connect(&c, &s);
		send_preinit(&c, 1, "demo");
		expect_preinit_reply(&c, 1, QN_TLS_SUPPORTED, 1);
		send_starttls(&c);
		ctx = SSL_CTX_new(TLS_client_method());
		ck_assert_int_eq(SSL_CTX_load_verify_locations(ctx, ca, NULL),
		    1);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		ck_assert_msg(tls_handshake_within(ctx, c.fd, WAIT_MS),
		    "no handshake with the certificate of the new CA");
		SSL_CTX_free(ctx);
		qc_close(&c);
	}
	srv_stop(&s);
	/* It is there now: no second one. */
	srv_prepare(&s);
	SRV_LAUNCH(&s, "-s", "on", "-S", settings);
	ck_assert_int_eq(log_count(&s, "Created the NSS database"), 0);
	srv_stop(&s);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Rotation on SIGHUP (issue 14, item 3) */

/* The serial number of the certificate the server presented. */
static long
server_serial(struct qc *c)
{
	X509 *x = SSL_get1_peer_certificate(c->ssl);
	long serial;

	ck_assert_ptr_nonnull(x);
	serial = ASN1_INTEGER_get(X509_get0_serialNumber(x));
	X509_free(x);
	return serial;
}

/* PREINIT, STARTTLS with the demo certificate, INIT (test algorithm). */
static void
tls_join(struct qc *c, const struct srv *s, uint32_t node)
{
	qc_connect(c, s);
	send_preinit(c, 1, "demo");
	expect_preinit_reply(c, 1, QN_TLS_SUPPORTED, 1);
	send_starttls(c);
	ck_assert_int_eq(qc_starttls(c, "demo"), 0);
	qc_check_server_cert(c);
	send_init(c, &(struct init_p){ .seq = 3, .node = node, .hb = 10000,
	    .algo = QN_ALGO_TEST, .tb = { QN_TB_LOWEST, 0 }, .ring = R0 });
	expect_init_reply(c, 3, 0);
	c->seq = 3;
}

/* The client still has its connection and its vote. */
static void
assert_voting(struct qc *c)
{
	uint32_t seq;

	echo_ok(c);
	seq = send_ask_for_vote(c);
	expect_afvr(c, seq, QN_VOTE_ACK, R0);
}

/* A new "QNetd Cert" in db with serial, signed by "QNet CA". */
static void
new_server_cert(const char *db, int serial)
{
	ck_assert_int_eq(shf("cd '%s' && certutil -D -d sql:. -n 'QNetd Cert' "
	    "&& certutil -S -d sql:. -n 'QNetd Cert' -s 'CN=Qnetd Server' "
	    "-c 'QNet CA' -t ',,' -m %d -k ec -q nistp256 -v 24 -z noise "
	    ">/dev/null 2>&1", db, serial), 0);
}

#define CLIENTS		6
#define ROUNDS		4
#define NEW_PER_ROUND	5

/*
 * Six TLS clients hold their ACK while the server certificate is replaced
 * four times, with new clients joining all the while: after each SIGHUP new
 * handshakes get the new certificate, the connected clients stay and keep
 * their vote.  Then a CA is added: clients of the new CA are accepted.
 */
START_TEST(t_rotate_under_load)
{
	char settings[PATH_MAX + 64], db[PATH_MAX + 16], line[64];
	struct qc c[CLIENTS], n;
	struct srv s;
	uint32_t seq;
	int node = CLIENTS + 1;

	NEED_CERTS("t_rotate_under_load");
	srv_prepare(&s);
	snprintf(db, sizeof(db), "%s/db", s.dir);
	ck_assert_int_eq(shf("mkdir '%s' && cp '%s'/*.db '%s'/pkcs11.txt '%s' "
	    "&& head -c 2048 /dev/urandom > '%s/noise'", db, nss_dir, nss_dir,
	    db, db), 0);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s", db);
	SRV_LAUNCH(&s, "-s", "on", "-S", settings);
	for (int i = 0; i < CLIENTS; i++) {
		tls_join(&c[i], &s, (uint32_t)i + 1);
		ck_assert_int_eq(server_serial(&c[i]), 2);
		seq = send_members(&c[i], R0, 0, (uint32_t)i + 1);
		expect_nlr(&c[i], seq, QN_LIST_MEMBERSHIP, R0, QN_VOTE_ACK);
	}
	for (int r = 1; r <= ROUNDS; r++) {
		new_server_cert(db, 100 + r);
		ck_assert_int_eq(kill(s.pid, SIGHUP), 0);
		snprintf(line, sizeof(line), "Reloaded certificate");
		for (int64_t end = now_ms() + WAIT_MS;
		    log_count(&s, line) < r && now_ms() < end;)
			sleep_ms(20);
		ck_assert_int_eq(log_count(&s, line), r);
		for (int k = 0; k < NEW_PER_ROUND; k++) {
			tls_join(&n, &s, (uint32_t)node++);
			ck_assert_int_eq(server_serial(&n), 100 + r);
			assert_voting(&n);
			qc_close(&n);
			assert_voting(&c[k % CLIENTS]);
		}
		for (int i = 0; i < CLIENTS; i++)
			assert_voting(&c[i]);
	}
	/* A second CA: its clients are accepted after the reload. */
	ck_assert_int_eq(shf("certutil -L -d 'sql:%s/other' -n 'Other CA' -a "
	    "> '%s/other-ca.pem' && certutil -A -d 'sql:%s' -n 'Other CA' "
	    "-t 'CT,,' -a -i '%s/other-ca.pem'", base_dir, s.dir, db, s.dir),
	    0);
	ck_assert_int_eq(kill(s.pid, SIGHUP), 0);
	for (int64_t end = now_ms() + WAIT_MS;
	    log_count(&s, "Reloaded certificate") <= ROUNDS && now_ms() < end;)
		sleep_ms(20);
	qc_connect(&n, &s);
	send_preinit(&n, 1, "demo");
	expect_preinit_reply(&n, 1, QN_TLS_SUPPORTED, 1);
	send_starttls(&n);
	ck_assert_int_eq(qc_starttls(&n, "otherca"), 0);
	send_init(&n, &(struct init_p){ .seq = 3, .node = (uint32_t)node,
	    .hb = 10000, .algo = QN_ALGO_TEST, .tb = { QN_TB_LOWEST, 0 },
	    .ring = R0 });
	expect_init_reply(&n, 3, 0);
	qc_close(&n);
	for (int i = 0; i < CLIENTS; i++) {
		assert_voting(&c[i]);
		qc_close(&c[i]);
	}
	ck_assert_int_eq(log_count(&s, "can't reload"), 0);
	/* A certificate at its end is logged as such on the reload. */
	ck_assert_int_eq(shf("cd '%s' && certutil -D -d sql:. -n 'QNetd Cert' "
	    "&& certutil -S -d sql:. -n 'QNetd Cert' -s 'CN=Qnetd Server' "
	    "-c 'QNet CA' -t ',,' -m 200 -k ec -q nistp256 -w -1 -v 1 "
	    "-z noise >/dev/null 2>&1", db), 0);
	ck_assert_int_eq(kill(s.pid, SIGHUP), 0);
	ASSERT_LOG(&s, "Server certificate 'QNetd Cert' (CN=Qnetd Server) "
	    "expired on");
	srv_stop(&s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd certificates");
	TCase *t;

	t = harness_tcase(s, "causes", TEST_TIMEOUT);
	tcase_add_test(t, t_socket_dir_missing);
	tcase_add_test(t, t_no_database_hint);
	tcase_add_test(t, t_no_server_cert);
	tcase_add_test(t, t_auto_init);
	t = harness_tcase(s, "rotation", TEST_TIMEOUT);
	tcase_add_test(t, t_rotate_under_load);
	return harness_run(s, H_CERTS);
}
