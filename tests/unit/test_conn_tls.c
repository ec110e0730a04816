/*
 * The STARTTLS upgrade with NSS certificates made by certutil for the run:
 * good and bad client and server certificates, trust anchors in memory.
 *
 * Each case forks the client into its own process with its own NSS
 * database, as qdevice and qnetd run on different hosts; the client
 * reports through its exit status and stderr.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <qb/qblog.h>
#include <cert.h>

#include "conn_harness.h"
#include "tls.h"
#include "tls_anchor.h"

static char nss_dir[64];	/* certificates made once for all cases */

/*
 * Certificates as the certutil scripts lay them out (BEHAVIOUR.md §6): the
 * qnetd database holds QNet CA and the server certificates; every client
 * database trusts QNet CA and holds its "Cluster Cert".  A second CA, which
 * nobody trusts, signs one client and one expired server certificate.
 * QNet CA also signs an expired cluster certificate and one that the qnetd
 * database explicitly distrusts ("p"): both must still be refused when the
 * server checks certificates from trusted roots in memory (tls_anchor.h).
 */
static const char make_certs[] =
	"set -e\n"
	"cd \"$1\"\n"
	": > pw\n"
	"head -c 64 /dev/urandom > noise\n"
	"for db in server ca2 client nocert wrongca wrongcn expiredcl"
	" distrust; do\n"
	"  mkdir $db; certutil -N -d sql:$db -f pw\n"
	"done\n"
	"ca() { printf 'y\\n\\ny\\n' | certutil -S -d sql:$1 -f pw -z noise"
	" -n \"$2\" -s \"CN=$2\" -x -t CT,, -2 -m 1 -v 1200; }\n"
	"ca server 'QNet CA'\n"
	"ca ca2 'Other CA'\n"
	"srv() { certutil -S -d sql:server -f pw -z noise -n \"$1\""
	" -s \"CN=$2\" -c 'QNet CA' -t u,u,u -m $3 $4; }\n"
	"srv 'QNetd Cert' 'Qnetd Server' 2 '-v 1200'\n"
	"srv 'Wrong Name Cert' 'Other Server' 3 '-v 1200'\n"
	"srv 'Expired Cert' 'Qnetd Server' 4 '-w -24 -v 12'\n"
	"srv 'Expired Wrong Name Cert' 'Other Server' 5 '-w -24 -v 12'\n"
	"certutil -R -d sql:server -f pw -z noise -s 'CN=Qnetd Server'"
	" -o untrusted.crq\n"
	"certutil -C -d sql:ca2 -f pw -c 'Other CA' -i untrusted.crq"
	" -o untrusted.crt -m 6 -w -24 -v 12\n"
	"certutil -A -d sql:server -n 'Expired Untrusted Cert' -t u,u,u"
	" -i untrusted.crt\n"
	"certutil -L -d sql:server -n 'QNet CA' -a > ca.pem\n"
	"for db in client nocert wrongca wrongcn expiredcl distrust; do\n"
	"  certutil -A -d sql:$db -n 'QNet CA' -t CT,c,c -a -i ca.pem\n"
	"done\n"
	"cluster() {\n"
	"  certutil -R -d sql:$1 -f pw -z noise -s \"CN=$2\" -o $1.crq\n"
	"  certutil -C -d sql:$3 -f pw -c \"$4\" -i $1.crq -o $1.crt -m $5"
	" ${6:--v 1200}\n"
	"  certutil -A -d sql:$1 -n 'Cluster Cert' -t u,u,u -i $1.crt\n"
	"}\n"
	"cluster client demo server 'QNet CA' 10\n"
	"cluster wrongcn wrong server 'QNet CA' 11\n"
	"cluster wrongca demo ca2 'Other CA' 12\n"
	"cluster expiredcl demo server 'QNet CA' 13 '-w -24 -v 12'\n"
	"cluster distrust demo server 'QNet CA' 14\n"
	"certutil -A -d sql:server -n 'Distrusted Cluster' -t p,p,p"
	" -i distrust.crt\n";

int
certs_create(void)
{
	char cmd[sizeof(make_certs) + 128];
	FILE *f;

	strcpy(nss_dir, "/tmp/test_conn.XXXXXX");
	if (mkdtemp(nss_dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "sh -s '%s' >'%s/certutil.log' 2>&1",
	    nss_dir, nss_dir);
	if ((f = popen(cmd, "w")) == NULL)
		return -1;
	fputs(make_certs, f);
	if (pclose(f) != 0) {
		fprintf(stderr, "certutil failed, see %s/certutil.log\n",
		    nss_dir);
		return -1;
	}
	return 0;
}

void
certs_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", nss_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", nss_dir);
}

struct tls_case {
	const char *server_cert;
	int require_client_cert;
	const char *client_db;
	int expect_ok;			/* both sides exchange inside TLS */
	int expect_cert_sent;		/* the client presented its cert */
	const char *cluster_name;	/* its certificate matches this */
	int expect_expiry_warning;
};

/*
 * The message flow of a qdevice: one plain message and its reply, then
 * STARTTLS, then at once (no reply awaited) small messages, which travel
 * in one TLS record, and a big one, each answered by the server.
 */
enum { IDX_PLAIN, IDX_SMALL, IDX_BIG = IDX_SMALL + 5, IDX_COUNT };

static size_t
tls_body(unsigned idx)
{
	return idx == IDX_BIG ? TLS_BIG_BODY : 4 + idx * 10;
}

/* Partial writes everywhere, in the middle of TLS records too. */
static void
small_sndbuf(struct conn *c)
{
	int n = SMALL_SNDBUF;

	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n)) != 0)
		abort();
}

/* --- client, in its own process --- */

struct client_ctx {
	const struct tls_case *tc;
	struct tls_client *cl;
	int fail;
	int warned;
};

#define CFAIL(cc, ...) do {						\
	fprintf(stderr, "tls client: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	(cc)->fail = 1;							\
} while (0)

static void
client_up(struct peer *p)
{
	struct client_ctx *cc = p->data;

	small_sndbuf(&p->conn);
	if (send_msg(&p->conn, T_DATA, IDX_PLAIN, tls_body(IDX_PLAIN)) != 0)
		CFAIL(cc, "cannot queue the plain message");
}

static void
client_hook(struct peer *p, enum reader_status st, const uint8_t *m,
    size_t len)
{
	struct client_ctx *cc = p->data;
	struct msg starttls;
	long idx = msg_index(m, len);
	int rc = 0;
	unsigned i;

	if (st != READER_MESSAGE || idx != (long)p->nmsg - 1) {
		CFAIL(cc, "unexpected message %u (index %ld)", p->nmsg, idx);
		return;
	}
	if (idx != IDX_PLAIN)
		return;
	if (conn_is_tls(&p->conn))
		CFAIL(cc, "TLS before STARTTLS");
	msg_init(&starttls, QN_MSG_STARTTLS);
	msg_set_seq(&starttls, 2);
	if (conn_send(&p->conn, &starttls) != 0 ||
	    conn_starttls_client(&p->conn, cc->cl) != 0)
		CFAIL(cc, "cannot start TLS");
	for (i = IDX_SMALL; i <= IDX_BIG; i++)
		rc |= send_msg(&p->conn, T_DATA, i, tls_body(i));
	if (rc != 0)
		CFAIL(cc, "cannot queue messages after STARTTLS");
}

/* RFC 5705 exporter: what enrolment binds its proof to. */
#define EXPORT_LABEL	"EXPORTER-test-conn"
#define EXPORT_LEN	32

static void
capture_log(int32_t target, struct qb_log_callsite *cs, struct timespec *ts,
    const char *msg)
{
	(void)target;
	(void)ts;
	if (cs->priority == LOG_WARNING &&
	    strcmp(msg, "Server certificate is expired.") == 0) {
		struct client_ctx *cc = qb_log_target_user_data_get(target);

		cc->warned++;
	}
}

static void
client_checks(struct client_ctx *cc, struct env *e)
{
	const struct tls_case *tc = cc->tc;
	struct peer *p = &e->cli;

	if (!tc->expect_ok) {
		if (p->errors != 1 || p->nmsg != 1)
			CFAIL(cc, "expected a refused handshake, got %d errors"
			    " and %u messages", p->errors, p->nmsg);
		return;
	}
	if (p->errors != 0 || p->nmsg != IDX_COUNT)
		CFAIL(cc, "%d errors (%d, %s), %u messages", p->errors,
		    p->err, tls_error(), p->nmsg);
	if (!conn_is_tls(&p->conn))
		CFAIL(cc, "not TLS");
	if (conn_client_cert_sent(&p->conn) != tc->expect_cert_sent)
		CFAIL(cc, "client certificate sent: %d",
		    conn_client_cert_sent(&p->conn));
	if (!conn_peer_cert_matches(&p->conn, "Qnetd Server") ||
	    conn_peer_cert_matches(&p->conn, "Other Server"))
		CFAIL(cc, "server certificate name");
	if (cc->warned != tc->expect_expiry_warning)
		CFAIL(cc, "expiry warnings: %d", cc->warned);
	/* The keying material, for the server to compare with its own. */
	{
		uint8_t km[EXPORT_LEN];
		char path[160];
		FILE *f;

		snprintf(path, sizeof(path), "%s/exported.client", nss_dir);
		if (conn_tls_export(&p->conn, EXPORT_LABEL, km, sizeof(km)) !=
		    0 || (f = fopen(path, "wb")) == NULL)
			CFAIL(cc, "can't export keying material");
		else {
			fwrite(km, 1, sizeof(km), f);
			fclose(f);
		}
	}
}

static int
client_main(const struct tls_case *tc, uint16_t port)
{
	char db[128];
	struct client_ctx cc;
	struct env e;
	int t;

	memset(&cc, 0, sizeof(cc));
	cc.tc = tc;
	qb_log_init("test_conn", LOG_USER, LOG_DEBUG);
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_FALSE);
	t = qb_log_custom_open(capture_log, NULL, NULL, &cc);
	qb_log_ctl(t, QB_LOG_CONF_ENABLED, QB_TRUE);
	qb_log_filter_ctl(t, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*",
	    LOG_DEBUG);
	snprintf(db, sizeof(db), "%s/%s", nss_dir, tc->client_db);
	if (tls_init(db) != 0) {
		fprintf(stderr, "tls client: NSS: %s\n", tls_error());
		return 2;
	}
	cc.cl = tls_client_new("Qnetd Server", "Cluster Cert");
	if (cc.cl == NULL || env_init(&e, -1) != 0)
		return 3;
	e.cli.data = &cc;
	e.cli.on_up = client_up;
	e.cli.hook = client_hook;
	if (env_connect(&e, port) != 0)
		return 4;
	RUN_UNTIL(&e, cc.fail || e.cli.errors || e.cli.nmsg == IDX_COUNT);
	client_checks(&cc, &e);
	if (env_done(&e) != 0)
		CFAIL(&cc, "handles left on the loop");
	tls_client_free(cc.cl);
	if (tls_shutdown() != 0)
		CFAIL(&cc, "NSS objects left at shutdown");
	qb_log_fini();
	return cc.fail;
}

/* --- server, in the test process --- */

struct server_ctx {
	const struct tls_case *tc;
	struct tls_server *srv;
	int starttls, peer_cert, name_ok, name_other, name_wrong;
	int exported, plain_export_failed;
	uint8_t km[EXPORT_LEN];
};

static void
server_hook(struct peer *p, enum reader_status st, const uint8_t *m,
    size_t len)
{
	struct server_ctx *sc = p->data;
	long idx;

	ck_assert_int_eq(st, READER_MESSAGE);
	if (get_u16(m) == QN_MSG_STARTTLS) {
		ck_assert(!conn_is_tls(&p->conn));
		ck_assert_int_eq(conn_starttls_server(&p->conn, sc->srv,
		    CONN_CERT_AS_SERVER), 0);
		sc->starttls = 1;
		return;
	}
	idx = msg_index(m, len);
	ck_assert_int_ge(idx, 0);
	ck_assert_int_eq(conn_is_tls(&p->conn), idx != IDX_PLAIN);
	if (idx == IDX_PLAIN) {
		small_sndbuf(&p->conn);
		sc->plain_export_failed = conn_tls_export(&p->conn,
		    EXPORT_LABEL, sc->km, sizeof(sc->km)) != 0;
	}
	if (idx == IDX_SMALL) {
		sc->exported = conn_tls_export(&p->conn, EXPORT_LABEL, sc->km,
		    sizeof(sc->km)) == 0;
		sc->peer_cert = conn_peer_cert_present(&p->conn);
		sc->name_ok = conn_peer_cert_matches(&p->conn, "demo");
		sc->name_other = conn_peer_cert_matches(&p->conn, "other");
		sc->name_wrong = conn_peer_cert_matches(&p->conn, "wrong");
	}
	ck_assert_int_eq(send_msg(&p->conn, T_DATA, (uint32_t)idx,
	    tls_body((unsigned)idx)), 0);
}

/* Each case runs with both server back ends (the loop index). */
static void
run_tls_case(const struct tls_case *tc, int backend)
{
	struct server_ctx sc;
	struct env e;
	char db[128];
	int lfd = listen_local(), status;
	uint16_t port;
	pid_t pid;

	ck_assert_int_ge(lfd, 0);
	port = local_port(lfd);
	/* NSS must not be initialised before fork(). */
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(lfd);
		exit(client_main(tc, port));
	}

	memset(&sc, 0, sizeof(sc));
	sc.tc = tc;
	snprintf(db, sizeof(db), "%s/server", nss_dir);
	ck_assert_msg(tls_init(db) == 0, "%s", tls_error());
	sc.srv = tls_server_new(tc->server_cert, tc->require_client_cert,
	    (enum tls_backend)backend);
	ck_assert_msg(sc.srv != NULL, "%s", tls_error());
	ck_assert_int_eq(env_init(&e, lfd), 0);
	e.srv.hook = server_hook;
	e.srv.data = &sc;
	/* Decrypted messages wait inside NSS for the idle handler. */
	e.ctx.max_batch = 1;
	/* The client closes when it is done, or the handshake fails. */
	RUN_UNTIL(&e, e.srv.closed);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "client process failed (status 0x%x)", status);
	ck_assert_int_eq(e.srv.closed, 1);
	ck_assert(sc.starttls);
	if (tc->expect_ok) {
		/* plain, STARTTLS, small and big inside TLS */
		ck_assert_uint_eq(e.srv.nmsg, 1 + IDX_COUNT);
		ck_assert_int_eq(e.srv.err, CONN_EOF);
		ck_assert_int_eq(sc.peer_cert, tc->expect_cert_sent);
		ck_assert_int_eq(sc.name_ok, tc->cluster_name != NULL &&
		    strcmp(tc->cluster_name, "demo") == 0);
		ck_assert_int_eq(sc.name_wrong, tc->cluster_name != NULL &&
		    strcmp(tc->cluster_name, "wrong") == 0);
		ck_assert_int_eq(sc.name_other, 0);
		/* Both ends exported the same keying material. */
		{
			uint8_t km[EXPORT_LEN], zero[EXPORT_LEN] = { 0 };
			char path[160];
			FILE *f;

			snprintf(path, sizeof(path), "%s/exported.client",
			    nss_dir);
			ck_assert_ptr_nonnull(f = fopen(path, "rb"));
			ck_assert_uint_eq(fread(km, 1, sizeof(km), f),
			    sizeof(km));
			fclose(f);
			unlink(path);
			ck_assert(sc.plain_export_failed);
			ck_assert(sc.exported);
			ck_assert(memcmp(km, sc.km, sizeof(km)) == 0);
			ck_assert(memcmp(km, zero, sizeof(km)) != 0);
		}
	} else {
		ck_assert_uint_eq(e.srv.nmsg, 2);
		ck_assert_int_eq(e.srv.err, CONN_TLS);
	}
	ck_assert(!uv_is_active((uv_handle_t *)&e.ctx.idle));
	ck_assert_int_eq(env_done(&e), 0);
	tls_server_free(sc.srv);
	ck_assert_int_eq(tls_shutdown(), 0);
}

static const struct tls_case tls_ok = {
	"QNetd Cert", 1, "client", 1, 1, "demo", 0
};
static const struct tls_case tls_no_client_auth = {
	"QNetd Cert", 0, "client", 1, 0, NULL, 0
};
static const struct tls_case tls_client_wrong_cn = {
	"QNetd Cert", 1, "wrongcn", 1, 1, "wrong", 0
};
static const struct tls_case tls_client_no_cert = {
	"QNetd Cert", 1, "nocert", 0, 0, NULL, 0
};
static const struct tls_case tls_client_wrong_ca = {
	"QNetd Cert", 1, "wrongca", 0, 0, NULL, 0
};
static const struct tls_case tls_client_expired = {
	"QNetd Cert", 1, "expiredcl", 0, 0, NULL, 0
};
static const struct tls_case tls_client_distrusted = {
	"QNetd Cert", 1, "distrust", 0, 0, NULL, 0
};
static const struct tls_case tls_server_wrong_name = {
	"Wrong Name Cert", 1, "client", 0, 0, NULL, 0
};
static const struct tls_case tls_server_expired = {
	"Expired Cert", 1, "client", 1, 1, "demo", 1
};
static const struct tls_case tls_server_expired_wrong_name = {
	"Expired Wrong Name Cert", 1, "client", 0, 0, NULL, 0
};
static const struct tls_case tls_server_expired_untrusted = {
	"Expired Untrusted Cert", 1, "client", 0, 0, NULL, 0
};

START_TEST(test_tls_ok)
{
	run_tls_case(&tls_ok, _i);
}
END_TEST

START_TEST(test_tls_no_client_auth)
{
	run_tls_case(&tls_no_client_auth, _i);
}
END_TEST

START_TEST(test_tls_client_wrong_cn)
{
	run_tls_case(&tls_client_wrong_cn, _i);
}
END_TEST

START_TEST(test_tls_client_no_cert)
{
	run_tls_case(&tls_client_no_cert, _i);
}
END_TEST

START_TEST(test_tls_client_wrong_ca)
{
	run_tls_case(&tls_client_wrong_ca, _i);
}
END_TEST

START_TEST(test_tls_client_expired)
{
	run_tls_case(&tls_client_expired, _i);
}
END_TEST

START_TEST(test_tls_client_distrusted)
{
	run_tls_case(&tls_client_distrusted, _i);
}
END_TEST

/* The certificate a cluster db's certutil -C wrote, as the server sees it. */
static CERTCertificate *
cluster_cert(const char *db)
{
	char path[128];
	unsigned char der[4096];
	SECItem item = { siBuffer, der, 0 };
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s.crt", nss_dir, db);
	ck_assert_ptr_nonnull(f = fopen(path, "rb"));
	n = fread(der, 1, sizeof(der), f);
	fclose(f);
	ck_assert(n > 0 && n < sizeof(der));
	item.len = (unsigned int)n;
	/* A temporary certificate, with the trust the database gives it. */
	return CERT_NewTempCertificate(CERT_GetDefaultCertDB(), &item, NULL,
	    PR_FALSE, PR_TRUE);
}

static int
anchors_accept(const struct tls_anchors *a, const char *db)
{
	CERTCertificate *cert = cluster_cert(db);
	int ok;

	ck_assert_ptr_nonnull(cert);
	ok = tls_anchors_accept(a, cert, NULL);
	CERT_DestroyCertificate(cert);
	return ok;
}

/*
 * The in-memory check takes the common case (a cluster certificate signed
 * by QNet CA) and leaves everything else to NSS's own check.
 */
START_TEST(test_tls_anchors)
{
	struct tls_anchors *a;
	char db[128];

	snprintf(db, sizeof(db), "%s/server", nss_dir);
	ck_assert_int_eq(tls_init(db), 0);
	/* QNet CA ("CT,,") is one; Other CA is not in this database. */
	ck_assert_ptr_nonnull(a = tls_anchors_load());
	ck_assert_int_eq(anchors_accept(a, "client"), 1);
	ck_assert_int_eq(anchors_accept(a, "wrongcn"), 1);
	ck_assert_int_eq(anchors_accept(a, "wrongca"), 0);
	ck_assert_int_eq(anchors_accept(a, "expiredcl"), 0);
	ck_assert_int_eq(anchors_accept(a, "distrust"), 0);
	ck_assert_int_eq(anchors_accept(NULL, "client"), 0);
	tls_anchors_free(a);
	ck_assert_int_eq(tls_shutdown(), 0);
}
END_TEST

START_TEST(test_tls_server_wrong_name)
{
	run_tls_case(&tls_server_wrong_name, _i);
}
END_TEST

START_TEST(test_tls_server_expired)
{
	run_tls_case(&tls_server_expired, _i);
}
END_TEST

START_TEST(test_tls_server_expired_wrong_name)
{
	run_tls_case(&tls_server_expired_wrong_name, _i);
}
END_TEST

START_TEST(test_tls_server_expired_untrusted)
{
	run_tls_case(&tls_server_expired_untrusted, _i);
}
END_TEST

START_TEST(test_tls_missing_server_cert)
{
	char db[128];

	snprintf(db, sizeof(db), "%s/server", nss_dir);
	ck_assert_int_eq(tls_init(db), 0);
	ck_assert_ptr_null(tls_server_new("No Such Cert", 1,
	    (enum tls_backend)_i));
	ck_assert_str_ne(tls_error(), "");
	ck_assert_int_eq(tls_shutdown(), 0);
}
END_TEST

TCase *
conn_tls_tcase(void)
{
	/* Each of these with both server back ends (the loop index). */
	const TTest *both[] = {
		test_tls_ok,
		test_tls_no_client_auth,
		test_tls_client_wrong_cn,
		test_tls_client_no_cert,
		test_tls_client_wrong_ca,
		test_tls_client_expired,
		test_tls_client_distrusted,
		test_tls_server_wrong_name,
		test_tls_server_expired,
		test_tls_server_expired_wrong_name,
		test_tls_server_expired_untrusted,
		test_tls_missing_server_cert,
	};
	TCase *tc = tcase_create("tls");

	tcase_set_timeout(tc, 60);
	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++)
		tcase_add_loop_test(tc, both[i], TLS_BACKEND_NSS,
		    TLS_BACKEND_OPENSSL + 1);
	tcase_add_test(tc, test_tls_anchors);
	return tc;
}
