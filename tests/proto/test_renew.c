/*
 * Renewal of a node's certificate over the qnetd port (issue 14,
 * corosync-qdevice-net-certutil -R) with the real daemon and the built
 * tools: a node enrolled with a token, and one set up with the classic
 * -i/-r/-s/-M flow, renew with their current certificate (no token), get a
 * new serial number (and, after a short first lifetime, a later end), the
 * old certificate and key leave the database, and TLS with the new one is
 * accepted; and each refusal, with its reason on the node and the current
 * certificate kept.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nss.h>
#include <pk11pub.h>

#include "harness.h"
#include "tls.h"
#include "tls_cert.h"

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

/* The daemon on its own copy of the harness's database. */
static void
lab_start(struct lab *l, const char *extra)
{
	char settings[2 * PATH_MAX + 128];

	srv_prepare(&l->s);
	snprintf(l->db, sizeof(l->db), "%s/qdb", l->s.dir);
	snprintf(l->out, sizeof(l->out), "%s/node.out", l->s.dir);
	ck_assert_int_eq(shf("mkdir '%s' && cp '%s'/*.db '%s'/pkcs11.txt '%s' "
	    "&& : > '%s/pwdfile.txt' && head -c 64 /dev/urandom > "
	    "'%s/noise.txt'", l->db, nss_dir, nss_dir, l->db, l->db, l->db),
	    0);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s,enroll_state_dir="
	    "%s/state%s", l->db, l->s.dir, extra != NULL ? extra : "");
	SRV_LAUNCH(&l->s, "-s", "on", "-S", settings);
}

/* Another daemon (s) on l's database, with other settings. */
static void
relaunch(struct lab *l, struct srv *s, const char *tls, const char *extra)
{
	char settings[2 * PATH_MAX + 128];

	srv_prepare(s);
	snprintf(settings, sizeof(settings), "nss_db_dir=%s,enroll_state_dir="
	    "%s/state%s", l->db, s->dir, extra != NULL ? extra : "");
	SRV_LAUNCH(s, "-s", tls, "-S", settings);
}

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
}

static int
enroll(struct lab *l, const char *node)
{
	return shf("QDEVICE_NET_ENROLL=%s %s -e '%s' -H 127.0.0.1:%d -n demo "
	    "-d '%s/%s' > '%s' 2>&1", ENROLL_HELPER, NODE_CERTUTIL, l->token,
	    l->s.port, l->s.dir, node, l->out);
}

/* The classic flow: -i with the CA, -r, -s on the qnetd's side, -M. */
static void
classic(struct lab *l, const char *node, const char *signer_db)
{
	ck_assert_int_eq(shf("(certutil -L -d 'sql:%s' -n 'QNet CA' -a > "
	    "'%s/ca.crt' && %s -i -c '%s/ca.crt' -d '%s/%s' && "
	    "%s -r -n demo -d '%s/%s' && %s -s -c '%s/%s/qdevice-net-node.crq' "
	    "-n demo -d '%s' && %s -M -c '%s/cluster-demo.crt' -d '%s/%s') "
	    "> '%s' 2>&1",
	    l->db, l->s.dir, NODE_CERTUTIL, l->s.dir, l->s.dir, node,
	    NODE_CERTUTIL, l->s.dir, node, QNETD_CERTUTIL, l->s.dir, node,
	    signer_db, NODE_CERTUTIL, signer_db, l->s.dir, node, l->out), 0);
}

/* A node with a certificate of l's CA valid from 13 months ago for 12. */
static void
make_expired(struct lab *l, const char *node)
{
	ck_assert_int_eq(shf("certutil -L -d 'sql:%s' -n 'QNet CA' -a > "
	    "'%s/ca.crt' && %s -i -c '%s/ca.crt' -d '%s/%s' >/dev/null && "
	    "%s -r -n demo -d '%s/%s' >/dev/null && certutil -C -w -13 -v 12 "
	    "-m 4242 -c 'QNet CA' -i '%s/%s/qdevice-net-node.crq' -o "
	    "'%s/%s.crt' -d 'sql:%s' -f /dev/null >/dev/null 2>&1 && "
	    "%s -M -c '%s/%s.crt' -d '%s/%s' >/dev/null", l->db, l->s.dir,
	    NODE_CERTUTIL, l->s.dir, l->s.dir, node, NODE_CERTUTIL, l->s.dir,
	    node, l->s.dir, node, l->s.dir, node, l->db, NODE_CERTUTIL,
	    l->s.dir, node, l->s.dir, node), 0);
}

/* corosync-qdevice-net-certutil -R of node against the daemon at port. */
static int
renew(struct lab *l, int port, const char *node, const char *extra)
{
	return shf("QDEVICE_NET_ENROLL=%s %s -R -H 127.0.0.1:%d -d '%s/%s' %s "
	    "> '%s' 2>&1", ENROLL_HELPER, NODE_CERTUTIL, port, l->s.dir, node,
	    extra, l->out);
}

static int
out_has(const struct lab *l, const char *needle)
{
	char text[16384];
	FILE *f = fopen(l->out, "r");
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return strstr(text, needle) != NULL;
}

/* The node's certificate: "serial=..." / its end in Unix time. */
static void
serial_of(const struct lab *l, const char *node, char *out, size_t n)
{
	outf(out, n, "certutil -L -d 'sql:%s/%s' -n 'Cluster Cert' -r "
	    "2>/dev/null | openssl x509 -inform der -noout -serial", l->s.dir,
	    node);
	ck_assert_int_eq(strncmp(out, "serial=", 7), 0);
}

static long long
not_after(const struct lab *l, const char *node)
{
	char t[64];

	outf(t, sizeof(t), "date -d \"$(certutil -L -d 'sql:%s/%s' -n "
	    "'Cluster Cert' -r | openssl x509 -inform der -noout -enddate | "
	    "cut -d= -f2)\" +%%s", l->s.dir, node);
	return atoll(t);
}

/* One certificate and one key in the node's database. */
static void
assert_one_pair(const struct lab *l, const char *node)
{
	char n[32];

	outf(n, sizeof(n), "certutil -L -d 'sql:%s/%s' | grep -c "
	    "'^Cluster Cert '", l->s.dir, node);
	ck_assert_str_eq(n, "1");
	outf(n, sizeof(n), "certutil -K -d 'sql:%s/%s' -f /dev/null "
	    "2>/dev/null | grep -c '^<'", l->s.dir, node);
	ck_assert_str_eq(n, "1");
}

/* Refused with reason on the node; its certificate (serial) kept. */
static void
assert_refused(struct lab *l, int port, const char *node, const char *why,
    const char *serial)
{
	char now[128];

	ck_assert_int_eq(renew(l, port, node, ""), 1);
	if (!out_has(l, why))
		print_file(l->out, "node: ");
	ck_assert_msg(out_has(l, why), "node output lacks \"%s\"", why);
	if (serial != NULL) {
		serial_of(l, node, now, sizeof(now));
		ck_assert_str_eq(now, serial);
		assert_one_pair(l, node);
	}
}

/* The node's certificate and key as <scratch>/<name>.pem for the harness. */
static void
export_pem(const struct lab *l, const char *node, const char *name)
{
	ck_assert_int_eq(shf("pk12util -o '%s/%s.x.p12' -n 'Cluster Cert' "
	    "-d 'sql:%s/%s' -W '' -K '' >/dev/null && openssl pkcs12 -in "
	    "'%s/%s.x.p12' -nodes -clcerts -passin pass: -out '%s/%s.pem' "
	    "2>/dev/null", l->s.dir, node, l->s.dir, node, l->s.dir, node,
	    base_dir, name), 0);
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
 * Enrolled with a token for one day, renewed (no token: it is used up)
 * by a qnetd that signs for the default two years: a new serial, a later
 * end, the old pair gone, and TLS with the new certificate is accepted.
 */
START_TEST(t_renew_token)
{
	struct lab l;
	struct srv s2;
	struct qc c;
	char before[128], after[128], name[64];
	long long end_before;

	NEED_TOOLS("t_renew_token");
	lab_start(&l, ",enroll_cert_lifetime=1");
	make_token(&l, "demo", "-u 1");
	ck_assert_int_eq(enroll(&l, "node1"), 0);
	serial_of(&l, "node1", before, sizeof(before));
	end_before = not_after(&l, "node1");
	ck_assert_int_gt(end_before, 0);
	srv_stop(&l.s);

	relaunch(&l, &s2, "on", NULL);
	if (renew(&l, s2.port, "node1", "") != 0)
		print_file(l.out, "node: ");
	ck_assert(out_has(&l, "Renewed: Cluster Cert for cluster demo"));
	serial_of(&l, "node1", after, sizeof(after));
	ck_assert_str_ne(after, before);
	ck_assert_int_gt(not_after(&l, "node1"), end_before + 300LL * 86400);
	assert_one_pair(&l, "node1");
	ASSERT_LOG(&s2, "Renewal: issued a certificate for cluster demo");
	snprintf(name, sizeof(name), "renewed-%d", s2.port);
	export_pem(&l, "node1", name);
	tls_join(&c, &s2, name, 1);
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&s2);
}
END_TEST

/* The serial number of the certificate tls_cert_find() picks, in hex. */
static void
picked_serial(char *out, size_t n)
{
	CERTCertificate *c = tls_cert_find("Cluster Cert");
	SECKEYPrivateKey *key;
	char *hex;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(key = PK11_FindKeyByAnyCert(c, NULL));
	SECKEY_DestroyPrivateKey(key);
	ck_assert_ptr_nonnull(hex = CERT_Hexify(&c->serialNumber, 0));
	snprintf(out, n, "%s", hex);
	PORT_Free(hex);
	CERT_DestroyCertificate(c);
}

/*
 * The classic flow's node renews too; the PKCS#12 file -M left for the
 * other nodes now holds the new certificate.  A process that had the
 * database open all along (as a running corosync-qdevice has) picks the
 * new certificate, with its key, at its next look-up, as every
 * connection's handshake does (tls_cert_client_auth).
 */
START_TEST(t_renew_classic)
{
	struct lab l;
	struct qc c;
	char before[128], after[128], p12[128], name[64], db[PATH_MAX + 16];
	char open_before[128], open_after[128];

	NEED_TOOLS("t_renew_classic");
	lab_start(&l, NULL);
	classic(&l, "node", l.db);
	serial_of(&l, "node", before, sizeof(before));
	snprintf(db, sizeof(db), "%s/node", l.s.dir);
	ck_assert_int_eq(tls_init(db), 0);
	picked_serial(open_before, sizeof(open_before));
	ck_assert_int_eq(renew(&l, l.s.port, "node", ""), 0);
	picked_serial(open_after, sizeof(open_after));
	ck_assert_str_ne(open_after, open_before);
	NSS_Shutdown();
	serial_of(&l, "node", after, sizeof(after));
	ck_assert_str_ne(after, before);
	assert_one_pair(&l, "node");
	outf(p12, sizeof(p12), "openssl pkcs12 -in '%s/node/qdevice-net-node."
	    "p12' -nokeys -clcerts -passin pass: 2>/dev/null | openssl x509 "
	    "-noout -serial", l.s.dir);
	ck_assert_str_eq(p12, after);
	snprintf(name, sizeof(name), "classic-%d", l.s.port);
	export_pem(&l, "node", name);
	tls_join(&c, &l.s, name, 1);
	echo_ok(&c);
	qc_close(&c);
	srv_stop(&l.s);
}
END_TEST

/*
 * Each refusal, with its reason on the node and its certificate and key
 * as they were: no database, no certificate, an expired one, one of
 * another CA, a request for another cluster, a qnetd without TLS.
 */
START_TEST(t_renew_refusals)
{
	struct lab l;
	struct srv plain;
	char serial[128];

	NEED_TOOLS("t_renew_refusals");
	lab_start(&l, ",enroll_attempts_per_minute=0");

	assert_refused(&l, l.s.port, "none", "t exist. Use", NULL);
	/* -i alone: a CA, no certificate. */
	ck_assert_int_eq(shf("certutil -L -d 'sql:%s' -n 'QNet CA' -a > "
	    "'%s/ca.crt' && %s -i -c '%s/ca.crt' -d '%s/empty' >/dev/null",
	    l.db, l.s.dir, NODE_CERTUTIL, l.s.dir, l.s.dir), 0);
	assert_refused(&l, l.s.port, "empty", "has no cluster certificate",
	    NULL);

	make_expired(&l, "exp");
	serial_of(&l, "exp", serial, sizeof(serial));
	assert_refused(&l, l.s.port, "exp", "expired on", serial);
	ck_assert(out_has(&l, "enrol again with a token"));

	/* Trusts this qnetd's CA, but another CA signed its certificate. */
	ck_assert_int_eq(shf("%s -i -d '%s/otherdb' >/dev/null",
	    QNETD_CERTUTIL, l.s.dir), 0);
	{
		char other[PATH_MAX + 16];

		snprintf(other, sizeof(other), "%s/otherdb", l.s.dir);
		classic(&l, "oca", other);
	}
	serial_of(&l, "oca", serial, sizeof(serial));
	assert_refused(&l, l.s.port, "oca", "renewal refused: the node's "
	    "certificate was not issued by this qnetd's CA", serial);

	/* A request for another name, sent by the helper itself. */
	classic(&l, "good", l.db);
	serial_of(&l, "good", serial, sizeof(serial));
	ck_assert_int_eq(shf("mkdir '%s/evil' && certutil -N -d 'sql:%s/evil' "
	    "--empty-password && certutil -R -s CN=evil -o '%s/evil.req' -d "
	    "'sql:%s/evil' -z '%s/good/noise.txt' >/dev/null 2>&1", l.s.dir,
	    l.s.dir, l.s.dir, l.s.dir, l.s.dir), 0);
	ck_assert_int_ne(shf("%s -R -d '%s/good' -H 127.0.0.1 -p %d -r "
	    "'%s/evil.req' -o '%s/evil.crt' > '%s' 2>&1", ENROLL_HELPER,
	    l.s.dir, l.s.port, l.s.dir, l.s.dir, l.out), 0);
	ck_assert(out_has(&l, "renewal refused: the certificate request is "
	    "not for CN=<cluster name>"));
	ck_assert_int_ne(shf("test -e '%s/evil.crt'", l.s.dir), 0);
	{
		char now[128];

		serial_of(&l, "good", now, sizeof(now));
		ck_assert_str_eq(now, serial);
	}
	/* Another cluster name than the certificate's: refused here. */
	ck_assert_int_eq(renew(&l, l.s.port, "good", "-n other"), 1);
	ck_assert(out_has(&l, "is for cluster demo, not other"));

	/* A qnetd without TLS. */
	relaunch(&l, &plain, "off", NULL);
	assert_refused(&l, plain.port, "good", "runs without TLS", serial);
	srv_stop(&plain);

	ck_assert_int_eq(log_count(&l.s, "Renewal: issued"), 0);
	ASSERT_LOG(&l.s, "Renewal of client");
	/* After all that, the good node still renews. */
	ck_assert_int_eq(renew(&l, l.s.port, "good", ""), 0);
	ASSERT_LOG(&l.s, "Renewal: issued");
	srv_stop(&l.s);
}
END_TEST

/* Renewal attempts count against enroll_attempts_per_minute too. */
START_TEST(t_renew_rate_limited)
{
	struct lab l;
	int ok = 0, limited = 0;

	NEED_TOOLS("t_renew_rate_limited");
	lab_start(&l, ",enroll_attempts_per_minute=2");
	classic(&l, "node", l.db);
	for (int i = 0; i < 8; i++) {
		if (renew(&l, l.s.port, "node", "") == 0)
			ok++;
		limited += out_has(&l, "too many attempts");
	}
	ck_assert_int_ge(ok, 1);
	ck_assert_int_ge(limited, 2);
	assert_one_pair(&l, "node");
	ASSERT_LOG(&l.s, "enroll_attempts_per_minute");
	srv_stop(&l.s);
}
END_TEST

/*
 * A renewal session of a client that skips the node's own checks: PREINIT
 * for cluster, certificate cert (NULL: none), RENEW and a request whose
 * content is never looked at; the reply must carry why.
 */
static void
renew_raw(struct lab *l, const char *cluster, const char *cert,
    const char *why)
{
	struct qc c;
	struct buf got;

	qc_connect(&c, &l->s);
	send_preinit(&c, 1, cluster);
	expect_preinit_reply(&c, 1, QN_TLS_SUPPORTED, 1);
	qc_sendf(&c, "7e00 00000005 7e07 0001 01");
	ck_assert_int_eq(qc_starttls(&c, cert), 0);
	qc_sendf(&c, "7e01 0000000d 7e07 0001 01 7e02 0004 deadbeef");
	buf_init(&got);
	ck_assert_int_eq(qc_recv(&c, TIMEOUT_MS, &got), RECV_MSG);
	ck_assert_int_eq(get_u16(got.data), QN_MSG_ENROLL_REPLY);
	ck_assert_msg(memmem(got.data, got.len, why, strlen(why)) != NULL,
	    "the reply lacks \"%s\"", why);
	buf_free(&got);
	qc_close(&c);
}

/*
 * The qnetd's own checks, for clients that skip the node's: no
 * certificate, an expired one, one for another cluster than PREINIT's.
 * The handshake goes on each time; the request is refused with the reason.
 */
START_TEST(t_renew_server_checks)
{
	struct lab l;
	char expired[64], good[64];

	NEED_TOOLS("t_renew_server_checks");
	lab_start(&l, ",enroll_attempts_per_minute=0");
	renew_raw(&l, "demo", NULL, "the node presented no certificate");

	make_expired(&l, "exp");
	snprintf(expired, sizeof(expired), "expired-%d", l.s.port);
	export_pem(&l, "exp", expired);
	renew_raw(&l, "demo", expired, "the node's certificate has expired");

	classic(&l, "good", l.db);
	snprintf(good, sizeof(good), "good-%d", l.s.port);
	export_pem(&l, "good", good);
	renew_raw(&l, "other", good, "the node's certificate is for another "
	    "cluster");
	ASSERT_LOG(&l.s, "Renewal of client");
	ck_assert_int_eq(log_count(&l.s, "Renewal: issued"), 0);
	srv_stop(&l.s);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("qnetd certificate renewal");
	TCase *t;

	t = harness_tcase(s, "renew", TEST_TIMEOUT);
	tcase_add_test(t, t_renew_token);
	tcase_add_test(t, t_renew_classic);
	tcase_add_test(t, t_renew_refusals);
	tcase_add_test(t, t_renew_rate_limited);
	tcase_add_test(t, t_renew_server_checks);
	return harness_run(s, H_CERTS);
}
