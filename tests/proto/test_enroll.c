/*
 * Enrolment over the qnetd port (issue 14) with the real daemon and the
 * built tools: a token of corosync-qnetd-certutil -t, a node that enrols
 * with corosync-qdevice-net-certutil -e and then joins with TLS and the
 * certificate it got; and the refusals, each with its reason on the node,
 * in the daemon's log, and nothing stored on the node.
 *
 * Every test runs its own daemon on its own copy of the harness's
 * database (the token file goes beside it).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define QNETD_CERTUTIL	"qnetd/corosync-qnetd-certutil"
#define NODE_CERTUTIL	"qdevice/corosync-qdevice-net-certutil"
#define ENROLL_HELPER	"qdevice/corosync-qdevice-net-enroll"


struct lab {
	struct srv s;
	char db[PATH_MAX + 16];	/* the daemon's copy of the database */
	char token[512];
	char out[PATH_MAX + 16];	/* the node tool's output */
};

#define NEED_TOOLS(name) do {						\
	NEED_CERTS(name);						\
	if (!is_executable(ENROLL_HELPER) ||				\
	    !is_executable(NODE_CERTUTIL) ||				\
	    shf("command -v openssl >/dev/null") != 0) {		\
		printf("SKIP: %s (no enrolment tools or openssl)\n", name); \
		return;							\
	}								\
} while (0)

/* A new token for cluster with extra options of -t; into l->token. */
static void
make_token(struct lab *l, const char *cluster, const char *opts)
{
	char path[PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/token", l->s.dir);
	ck_assert_int_eq(shf("%s -t -n %s %s -d '%s' > '%s'", QNETD_CERTUTIL,
	    cluster, opts, l->db, path), 0);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(l->token, sizeof(l->token), f));
	fclose(f);
	l->token[strcspn(l->token, "\n")] = '\0';
	ck_assert_int_eq(strncmp(l->token, "qnetenroll1.", 12), 0);
}

/* The daemon on its own copy of the harness's database. */
static void
lab_start(struct lab *l, const char *extra)
{
	char settings[2 * PATH_MAX + 128];

	srv_prepare(&l->s);
	snprintf(l->db, sizeof(l->db), "%s/qdb", l->s.dir);
	snprintf(l->out, sizeof(l->out), "%s/node.out", l->s.dir);
	ck_assert_int_eq(shf("mkdir '%s' && cp '%s'/*.db '%s'/pkcs11.txt '%s'",
	    l->db, nss_dir, nss_dir, l->db), 0);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s,enroll_state_dir="
	    "%s/state%s", l->db, l->s.dir, extra != NULL ? extra : "");
	SRV_LAUNCH(&l->s, "-s", "on", "-S", settings);
}

/* corosync-qdevice-net-certutil -e into node (a directory of the lab). */
static int
enroll(struct lab *l, const char *node, const char *cluster,
    const char *token)
{
	return shf("QDEVICE_NET_ENROLL=%s %s -e '%s' -H 127.0.0.1:%d -n %s "
	    "-d '%s/%s' > '%s' 2>&1", ENROLL_HELPER, NODE_CERTUTIL, token,
	    l->s.port, cluster, l->s.dir, node, l->out);
}

static int
out_has(const struct lab *l, const char *needle)
{
	return shf("grep -qF -- '%s' '%s'", needle, l->out) == 0;
}

/* Refused with reason on the node; nothing stored there. */
static void
assert_refused(struct lab *l, const char *node, const char *reason)
{
	if (!out_has(l, reason))
		print_file(l->out, "node: ");
	ck_assert_msg(out_has(l, reason), "node output lacks \"%s\"", reason);
	ck_assert_msg(out_has(l, "nothing was stored"), "no 'nothing stored'");
	ck_assert_int_ne(shf("test -e '%s/%s'", l->s.dir, node), 0);
}

/* The node's certificate and key as <scratch>/<name>.pem for the harness. */
static void
export_pem(const struct lab *l, const char *node, const char *name)
{
	ck_assert_int_eq(shf("pk12util -o '%s/%s.p12' -n 'Cluster Cert' "
	    "-d 'sql:%s/%s' -W '' -K '' >/dev/null && openssl pkcs12 -in "
	    "'%s/%s.p12' -nodes -clcerts -passin pass: -out '%s/%s.pem' 2>/dev/null",
	    l->s.dir, node, l->s.dir, node, l->s.dir, node, base_dir, name),
	    0);
}

/* PREINIT, STARTTLS with certificate cert, INIT: joined. */
static void
tls_join(struct qc *c, const struct srv *s, const char *cert, uint32_t node)
{
	qc_connect(c, s);
	send_preinit(c, 1, "demo");
	expect_preinit_reply(c, 1, QN_TLS_SUPPORTED, 1);
	send_starttls(c);
	ck_assert_int_eq(qc_starttls(c, cert), 0);
	send_init(c, &(struct init_p){ .seq = 3, .node = node, .hb = 10000,
	    .algo = QN_ALGO_TEST, .tb = { QN_TB_LOWEST, 0 }, .ring = R0 });
	expect_init_reply(c, 3, 0);
	c->seq = 3;
}

/*
 * The happy path: two nodes enrol with one token of two uses, both join
 * with TLS and their certificate, and the token shows as used up.
 */
START_TEST(t_enroll_and_join)
{
	struct lab l;
	struct qc c1, c2;
	char name[64];

	NEED_TOOLS("t_enroll_and_join");
	lab_start(&l, NULL);
	make_token(&l, "demo", "-u 2");
	ck_assert_int_eq(enroll(&l, "node1", "demo", l.token), 0);
	ck_assert_int_eq(enroll(&l, "node2", "demo", l.token), 0);
	ck_assert_int_eq(shf("certutil -L -d 'sql:%s/node2' | grep -q "
	    "'^QNet CA  *CT,c,c' && certutil -L -d 'sql:%s/node2' | grep -q "
	    "'^Cluster Cert  *u,u,u'", l.s.dir, l.s.dir), 0);
	ASSERT_LOG(&l.s, "Enrolment: issued a certificate for cluster demo");
	ck_assert_int_eq(log_count(&l.s, "Enrolment: issued"), 2);
	ck_assert_int_eq(shf("%s -s --json -p '%s' | grep -q "
	    "'\"certificates_enrolled\":2'", tool_bin, l.s.sock), 0);
	snprintf(name, sizeof(name), "enrolled-%d", l.s.port);
	export_pem(&l, "node1", name);
	tls_join(&c1, &l.s, name, 1);
	snprintf(name, sizeof(name), "enrolled2-%d", l.s.port);
	export_pem(&l, "node2", name);
	tls_join(&c2, &l.s, name, 2);
	echo_ok(&c1);
	qc_close(&c1);
	qc_close(&c2);
	ck_assert_int_eq(shf("%s -t -l -d '%s' -D '%s/state' | grep -q "
	    "'  0  *used up$'", QNETD_CERTUTIL, l.db, l.s.dir), 0);
	srv_stop(&l.s);
}
END_TEST

/* Each refusal, with its reason; the daemon serves on. */
START_TEST(t_refusals)
{
	struct lab l;
	char bad[600], id[16], tok2[512];
	struct qc c;

	NEED_TOOLS("t_refusals");
	lab_start(&l, ",enroll_attempts_per_minute=0");
	make_token(&l, "demo", "-u 1");

	/* Wrong secret: same id, another secret of the same length. */
	snprintf(bad, sizeof(bad), "%s", l.token);
	bad[12 + 9] = bad[12 + 9] == '0' ? '1' : '0';
	ck_assert_int_eq(enroll(&l, "n-wrong", "demo", bad), 1);
	assert_refused(&l, "n-wrong", "enrolment refused: wrong token");
	/* Wrong cluster: the token is for demo. */
	ck_assert_int_eq(enroll(&l, "n-cluster", "other", l.token), 1);
	assert_refused(&l, "n-cluster", "for another cluster");
	/* Used once, then replayed. */
	ck_assert_int_eq(enroll(&l, "n-ok", "demo", l.token), 0);
	ck_assert_int_eq(enroll(&l, "n-replay", "demo", l.token), 1);
	assert_refused(&l, "n-replay", "enrolment refused: used up");

	/* Revoked. */
	make_token(&l, "demo", "-u 5");
	snprintf(id, sizeof(id), "%.8s", l.token + 12);
	ck_assert_int_eq(shf("%s -t -x %s -d '%s' >/dev/null", QNETD_CERTUTIL,
	    id, l.db), 0);
	ck_assert_int_eq(enroll(&l, "n-revoked", "demo", l.token), 1);
	assert_refused(&l, "n-revoked", "enrolment refused: revoked");

	/* Expired: its expiry moved to the past in the token file. */
	make_token(&l, "demo", "-u 5");
	snprintf(id, sizeof(id), "%.8s", l.token + 12);
	ck_assert_int_eq(shf("sed -i 's/^\\(%s [^ ]*\\) [0-9]*/\\1 1/' "
	    "'%s/enroll-tokens'", id, l.db), 0);
	ck_assert_int_eq(enroll(&l, "n-expired", "demo", l.token), 1);
	assert_refused(&l, "n-expired", "enrolment refused: expired");

	/* A request for another name, sent by the helper itself. */
	make_token(&l, "demo", "-u 5");
	snprintf(tok2, sizeof(tok2), "%s", l.token);
	ck_assert_int_eq(shf("mkdir '%s/evil' && certutil -N -d 'sql:%s/evil' "
	    "--empty-password && head -c 512 /dev/urandom > '%s/evil/noise' "
	    "&& certutil -R -s CN=evil -o '%s/evil/req' -d 'sql:%s/evil' "
	    "-z '%s/evil/noise' >/dev/null 2>&1", l.s.dir, l.s.dir, l.s.dir,
	    l.s.dir, l.s.dir, l.s.dir), 0);
	ck_assert_int_ne(shf("%s -H 127.0.0.1 -p %d -n demo -t '%s' -r "
	    "'%s/evil/req' -o '%s/evil/cert' -c '%s/evil/ca' > '%s' 2>&1",
	    ENROLL_HELPER, l.s.port, tok2, l.s.dir, l.s.dir, l.s.dir, l.out),
	    0);
	ck_assert(out_has(&l, "is not for CN=<cluster name>"));
	ck_assert_int_ne(shf("test -e '%s/evil/cert'", l.s.dir), 0);
	/* ... and that refusal took no use: the token still enrols. */
	ck_assert_int_eq(enroll(&l, "n-after", "demo", tok2), 0);

	ck_assert_int_eq(log_count(&l.s, "Enrolment: issued"), 2);
	ASSERT_LOG(&l.s, "refused: wrong token");
	ASSERT_LOG(&l.s, "refused: revoked");
	/* An enrolment connection carries nothing else; others go on. */
	tls_join(&c, &l.s, "demo", 1);
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&l.s);
}
END_TEST

/*
 * A qnetd with another CA posing as the arbiter: the node refuses in the
 * handshake, before the proof (or anything of the token) is sent, so the
 * daemon never sees a request.
 */
START_TEST(t_other_ca)
{
	struct lab l, other;

	NEED_TOOLS("t_other_ca");
	lab_start(&l, NULL);
	make_token(&l, "demo", "");
	srv_prepare(&other.s);
	snprintf(other.db, sizeof(other.db), "%s/otherdb", other.s.dir);
	snprintf(other.out, sizeof(other.out), "%s/node.out", other.s.dir);
	ck_assert_int_eq(shf("%s -i -d '%s' >/dev/null", QNETD_CERTUTIL,
	    other.db), 0);
	/* The same token file: only the CA tells them apart. */
	ck_assert_int_eq(shf("cp '%s/enroll-tokens' '%s'", l.db, other.db), 0);
	{
		char settings[2 * PATH_MAX + 64];

		snprintf(settings, sizeof(settings), "nss_db_dir=%s,"
		    "enroll_state_dir=%s/state", other.db, other.s.dir);
		SRV_LAUNCH(&other.s, "-s", "on", "-S", settings);
	}
	ck_assert_int_eq(enroll(&other, "node", "demo", l.token), 1);
	assert_refused(&other, "node", "not the qnetd that made the token");
	ck_assert_int_eq(log_count(&other.s, "Enrolment"), 0);
	/* The real one still takes the token: nothing was used. */
	ck_assert_int_eq(enroll(&l, "node", "demo", l.token), 0);
	srv_stop(&other.s);
	srv_stop(&l.s);
}
END_TEST

/*
 * Many bad attempts from one address are rate limited (told as such),
 * and a TLS client keeps its vote meanwhile.
 */
START_TEST(t_rate_limited)
{
	struct lab l;
	struct qc c;
	char bad[600];
	uint32_t seq;
	int limited = 0;

	NEED_TOOLS("t_rate_limited");
	lab_start(&l, ",enroll_attempts_per_minute=2");
	make_token(&l, "demo", "-u 5");
	tls_join(&c, &l.s, "demo", 1);
	seq = send_ask_for_vote(&c);
	expect_afvr(&c, seq, QN_VOTE_ACK, R0);
	snprintf(bad, sizeof(bad), "%s", l.token);
	bad[12 + 9] = bad[12 + 9] == '0' ? '1' : '0';
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(enroll(&l, "n", "demo", bad), 1);
		limited += out_has(&l, "too many attempts");
		echo_ok(&c);
	}
	/* A burst of 5 gets through to the token check, then the limit. */
	ck_assert_int_ge(limited, 14);
	ASSERT_LOG(&l.s, "enroll_attempts_per_minute");
	/* Even the right token waits now; the client kept its vote. */
	ck_assert_int_eq(enroll(&l, "n", "demo", l.token), 1);
	ck_assert(out_has(&l, "too many attempts"));
	seq = send_ask_for_vote(&c);
	expect_afvr(&c, seq, QN_VOTE_ACK, R0);
	qc_close(&c);
	srv_stop(&l.s);
}
END_TEST

/*
 * An enrolment connection: TLS without a certificate request, and INIT on
 * it gets an error, nothing after it an answer, and the connection ends;
 * the daemon serves on.
 */
START_TEST(t_enrolment_only)
{
	struct lab l;
	struct qc c, n;

	NEED_CERTS("t_enrolment_only");
	lab_start(&l, ",init_timeout=2000");
	qc_connect(&c, &l.s);
	send_preinit(&c, 1, "demo");
	expect_preinit_reply(&c, 1, QN_TLS_SUPPORTED, 1);
	qc_sendf(&c, "7e00 00000000");
	ck_assert_int_eq(qc_starttls(&c, NULL), 0);
	ck_assert_int_eq(c.cert_requested, 0);
	send_init(&c, &(struct init_p){ .seq = 3, .node = 1, .hb = 10000,
	    .algo = QN_ALGO_TEST, .tb = { QN_TB_LOWEST, 0 }, .ring = R0 });
	expect_error_noseq(&c, QN_ERR_UNEXPECTED_MESSAGE);
	/* Nothing more is answered; init_timeout ends the connection. */
	send_seq_only(&c, QN_MSG_ECHO_REQUEST);
	qc_expect_closed(&c, 8000);
	qc_close(&c);
	ASSERT_LOG(&l.s, "on an enrolment connection");
	tls_join(&n, &l.s, "demo", 1);
	echo_ok(&n);
	qc_close(&n);
	srv_stop(&l.s);
}
END_TEST

#define FLOOD	1000

/*
 * A flood of enrolment attempts from one address, as fast as one client
 * makes them: all but the first few are told "rate limited" before any
 * TLS or token work, and a TLS client keeps its vote all along.
 */
START_TEST(t_flood)
{
	static const uint8_t limited[] = { 0x7e, 0x02, 0, 0, 0, 0,
	    0x7e, 0x05, 0x00, 0x02, 0x00, QN_ENROLL_RATE_LIMITED };
	struct lab l;
	struct qc c, v;
	struct buf got;
	int refused = 0;
	uint32_t seq;

	NEED_CERTS("t_flood");
	lab_start(&l, NULL);
	tls_join(&v, &l.s, "demo", 1);
	buf_init(&got);
	for (int i = 0; i < FLOOD; i++) {
		qc_connect(&c, &l.s);
		send_preinit(&c, 1, "demo");
		expect_preinit_reply(&c, 1, QN_TLS_SUPPORTED, 1);
		qc_sendf(&c, "7e00 00000000");
		buf_reset(&got);
		/* The few allowed wait for a ClientHello: no answer. */
		if (qc_recv(&c, i < 20 ? 300 : TIMEOUT_MS, &got) == RECV_MSG &&
		    got.len >= sizeof(limited) &&
		    memcmp(got.data, limited, 2) == 0 &&
		    memcmp(got.data + 6, limited + 6, 6) == 0)
			refused++;
		qc_close(&c);
		if (i % 100 == 0) {
			seq = send_ask_for_vote(&v);
			expect_afvr(&v, seq, QN_VOTE_ACK, R0);
		}
	}
	buf_free(&got);
	/* The default: 10 at once, 10 a minute. */
	ck_assert_int_ge(refused, FLOOD - 20);
	ck_assert_int_le(refused, FLOOD - 10);
	ASSERT_LOG(&l.s, "Limit enroll_attempts_per_minute = 10 reached");
	seq = send_ask_for_vote(&v);
	expect_afvr(&v, seq, QN_VOTE_ACK, R0);
	echo_ok(&v);
	qc_close(&v);
	srv_stop(&l.s);
}
END_TEST

/*
 * A node database made before with -i: the enrolment uses it when its CA
 * is the QNetd's, and stores nothing when it trusts another CA.
 */
START_TEST(t_existing_db)
{
	struct lab l;

	NEED_TOOLS("t_existing_db");
	lab_start(&l, NULL);
	make_token(&l, "demo", "-u 2");
	ck_assert_int_eq(shf("certutil -L -d 'sql:%s' -n 'QNet CA' -a > "
	    "'%s/ca.crt' && %s -i -c '%s/ca.crt' -d '%s/node' >/dev/null && "
	    "%s -i -d '%s/other' >/dev/null && %s -i -c "
	    "'%s/other/qnetd-cacert.crt' -d '%s/node2' >/dev/null",
	    l.db, l.s.dir, NODE_CERTUTIL, l.s.dir, l.s.dir, QNETD_CERTUTIL,
	    l.s.dir, NODE_CERTUTIL, l.s.dir, l.s.dir), 0);
	ck_assert_int_eq(enroll(&l, "node", "demo", l.token), 0);
	ck_assert(!out_has(&l, "Importing CA"));
	ck_assert_int_eq(shf("certutil -L -d 'sql:%s/node' -n 'Cluster Cert' "
	    ">/dev/null", l.s.dir), 0);
	/* Enrolled already: refused before anything is asked of the QNetd. */
	ck_assert_int_eq(enroll(&l, "node", "demo", l.token), 1);
	ck_assert(out_has(&l, "already has a cluster certificate"));
	ck_assert_int_eq(log_count(&l.s, "Enrolment: issued"), 1);
	/* Another CA in the database: the certificate is not stored. */
	ck_assert_int_eq(enroll(&l, "node2", "demo", l.token), 1);
	ck_assert(out_has(&l, "has another QNet CA than this QNetd"));
	ck_assert_int_ne(shf("certutil -L -d 'sql:%s/node2' -n 'Cluster Cert' "
	    ">/dev/null 2>&1", l.s.dir), 0);
	/* ... and the key made for it is gone: only -i's database is left. */
	ck_assert_int_ne(shf("certutil -K -d 'sql:%s/node2' -f /dev/null "
	    "2>/dev/null | grep -q '^<'", l.s.dir), 0);
	srv_stop(&l.s);
}
END_TEST

/*
 * A 3.0.3 qnetd (Debian's, when installed) answers the enrolment message
 * as unsupported: the node says so, and stores nothing.
 */
START_TEST(t_qnetd_303)
{
	const char *ours = qnetd_bin, *deb = "/usr/bin/corosync-qnetd";
	int was_debian = debian;
	char settings[PATH_MAX + 64];
	struct lab l;

	NEED_TOOLS("t_qnetd_303");
	if (!is_executable(deb)) {
		printf("SKIP: t_qnetd_303 (no %s)\n", deb);
		return;
	}
	srv_prepare(&l.s);
	snprintf(l.db, sizeof(l.db), "%s/qdb", l.s.dir);
	snprintf(l.out, sizeof(l.out), "%s/node.out", l.s.dir);
	ck_assert_int_eq(shf("mkdir '%s' && cp '%s'/*.db '%s'/pkcs11.txt '%s'",
	    l.db, nss_dir, nss_dir, l.db), 0);
	make_token(&l, "demo", "");
	snprintf(settings, sizeof(settings), "nss_db_dir=%s", l.db);
	qnetd_bin = deb;
	debian = 1;
	SRV_LAUNCH(&l.s, "-s", "on", "-S", settings);
	qnetd_bin = ours;
	debian = was_debian;
	ck_assert_int_eq(enroll(&l, "node", "demo", l.token), 1);
	assert_refused(&l, "node", "does not support enrolment");
	srv_stop(&l.s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd enrolment");
	TCase *t;

	t = harness_tcase(s, "enrol", TEST_TIMEOUT);
	tcase_add_test(t, t_enroll_and_join);
	tcase_add_test(t, t_refusals);
	tcase_add_test(t, t_other_ca);
	tcase_add_test(t, t_rate_limited);
	tcase_add_test(t, t_enrolment_only);
	tcase_add_test(t, t_qnetd_303);
	tcase_add_test(t, t_existing_db);
	tcase_add_test(t, t_flood);
	return harness_run(s, H_CERTS);
}
