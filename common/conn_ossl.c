/*
 * The OpenSSL back end of a TLS connection (conn_int.h), server side only:
 * the SSL reads and writes the socket itself; what it waits for comes
 * from the result of the last call (want read, want write), and records
 * it decrypted ahead put the connection on the ready list.  Handshake
 * steps run on libuv's thread pool (ossl_handshake).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cert.h>
#include <prerror.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "conn_int.h"
#include "tls_ossl.h"

/* How a call that did not complete ended, as seen on its thread. */
struct outcome {
	enum { OUT_DONE, OUT_WANT_READ, OUT_WANT_WRITE, OUT_EOF, OUT_IO,
	    OUT_TLS } kind;
	int err_no;
	PRErrorCode pr_err;		/* OUT_TLS: NSS's, or ours with text */
	char text[256];
};

/* A handshake step on the libuv thread pool. */
struct hs_job {
	uv_work_t req;
	struct conn *c;		/* NULL once the connection is closed */
	SSL *ssl;
	int fd;			/* closed by the job when c is gone */
	struct outcome out;
};

static void
classify(SSL *ssl, int rv, const char *what, struct outcome *o)
{
	const char *text;

	o->err_no = errno;
	switch (SSL_get_error(ssl, rv)) {
	case SSL_ERROR_WANT_READ:
		o->kind = OUT_WANT_READ;
		return;
	case SSL_ERROR_WANT_WRITE:
		o->kind = OUT_WANT_WRITE;
		return;
	case SSL_ERROR_ZERO_RETURN:
		o->kind = OUT_EOF;
		return;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			o->kind = OUT_IO;
			if (o->err_no == 0)
				o->err_no = ECONNRESET;
			return;
		}
		break;
	default:
		break;
	}
	o->kind = OUT_TLS;
	/* A refused certificate keeps the NSS error of its check. */
	if (SSL_get_verify_result(ssl) == X509_V_OK)
		tls_ossl_set_error(what);
	else
		ERR_clear_error();
	o->pr_err = tls_ossl_pr_error();
	text = tls_ossl_error();
	snprintf(o->text, sizeof(o->text), "%s", text != NULL ? text : "");
}

/*
 * On the loop: 0 when the call waits for the socket (tls_want_write says
 * which way), or -1 after conn_fail().  A failure before the handshake is
 * over is a TLS failure whatever its cause, as NSS reports it.
 */
static ssize_t
apply(struct conn *c, const struct outcome *o)
{
	switch (o->kind) {
	case OUT_DONE:
	case OUT_WANT_READ:
		c->tls_want_write = 0;
		return 0;
	case OUT_WANT_WRITE:
		c->tls_want_write = 1;
		return 0;
	case OUT_EOF:
		conn_fail(c, c->handshake_done ? CONN_EOF : CONN_TLS);
		return -1;
	case OUT_IO:
		errno = o->err_no;
		conn_fail(c, c->handshake_done ? CONN_IO : CONN_TLS);
		return -1;
	case OUT_TLS:
		break;
	}
	if (o->text[0] != '\0')
		tls_ossl_restore_error(o->text);
	else
		PR_SetError(o->pr_err, 0);
	conn_fail(c, CONN_TLS);
	return -1;
}

static ssize_t
trouble(struct conn *c, int rv, const char *what)
{
	struct outcome o;

	classify(c->tls, rv, what, &o);
	return apply(c, &o);
}

static ssize_t
ossl_write(struct conn *c)
{
	uint8_t chunk[CONN_TLS_CHUNK];
	const uint8_t *p;
	size_t len, n;
	int rv;

	if (c->tls_job != NULL)
		return 0;
	p = conn_tls_next(c, chunk, &len);
	ERR_clear_error();
	if ((rv = SSL_write_ex(c->tls, p, len, &n)) == 1) {
		c->tls_want_write = 0;
		return (ssize_t)n;
	}
	return trouble(c, rv, "TLS write");
}

/*
 * Records wait only inside SSL_write(), which the queue retries.  A read
 * that had to write (a key update answered) is retried from the ready
 * list once the socket takes data again.
 */
static int
ossl_push(struct conn *c)
{
	if (c->tls_job == NULL && c->tls_want_write && c->q_head == NULL) {
		c->tls_want_write = 0;
		conn_ready_add(c);
	}
	return 0;
}

static ssize_t
ossl_read(struct conn *c, uint8_t *p, size_t want)
{
	size_t n;
	int rv;

	if (c->tls_job != NULL)
		return 0;
	ERR_clear_error();
	if ((rv = SSL_read_ex(c->tls, p, want, &n)) == 1)
		return (ssize_t)n;
	return trouble(c, rv, "TLS read");
}

static void
ossl_arm(struct conn *c, int reading)
{
	int events = 0;

	if (c->tls_job != NULL) {
		/* The worker has the SSL; hs_done() arms again. */
	} else if (!c->handshake_done) {
		events = c->tls_want_write ? UV_WRITABLE : UV_READABLE;
	} else {
		if (reading)
			events |= UV_READABLE;
		if (c->q_head != NULL || c->tls_want_write)
			events |= UV_WRITABLE;
	}
	conn_poll_set(c, events);
	if (reading && c->handshake_done && SSL_has_pending(c->tls))
		conn_ready_add(c);
}

/* On a worker thread: nothing else touches the SSL meanwhile. */
static void
hs_work(uv_work_t *req)
{
	struct hs_job *j = req->data;
	int rv;

	ERR_clear_error();
	errno = 0;
	if ((rv = SSL_do_handshake(j->ssl)) == 1)
		j->out.kind = OUT_DONE;
	else
		classify(j->ssl, rv, "TLS handshake", &j->out);
	tls_ossl_thread_done();
}

static void
handshake_done(struct conn *c)
{
	c->handshake_done = 1;
	c->tls_want_write = 0;
	c->tls_resumed = SSL_session_reused(c->tls) == 1;
}

/* Back on the loop: carry on as the step ended. */
static void
hs_done(uv_work_t *req, int status)
{
	struct hs_job *j = req->data;
	struct conn *c = j->c;

	(void)status;
	if (c == NULL) {
		SSL_free(j->ssl);
		close(j->fd);
		free(j);
		return;
	}
	c->tls_job = NULL;
	if (!conn_gone(c)) {
		if (j->out.kind == OUT_DONE) {
			handshake_done(c);
			conn_ready_add(c);	/* flush, read what came */
		} else if (apply(c, &j->out) == 0) {
			conn_arm(c);
		}
	}
	free(j);
}

/*
 * Each step of a handshake (a flight in, the answer out) runs on libuv's
 * thread pool: its signatures, key exchange and certificate parsing are
 * most of the cost of a connection, and meanwhile the loop answers
 * everybody else's heartbeats, and the storm spreads over the cores.
 * Returns -1 while the handshake is not done (or failed).
 */
static int
ossl_handshake(struct conn *c)
{
	struct hs_job *j;
	int rv;

	if (c->tls_job != NULL)
		return -1;
	if ((j = calloc(1, sizeof(*j))) != NULL) {
		j->req.data = j;
		j->c = c;
		j->ssl = c->tls;
		j->fd = c->fd;
		if (uv_queue_work(c->ctx->loop, &j->req, hs_work,
		    hs_done) == 0) {
			c->tls_job = j;
			conn_poll_set(c, 0);
			return -1;
		}
		free(j);
	}
	/* No memory or no pool: the step runs here. */
	ERR_clear_error();
	if ((rv = SSL_do_handshake(c->tls)) != 1) {
		if (trouble(c, rv, "TLS handshake") == 0)
			conn_arm(c);
		return -1;
	}
	handshake_done(c);
	return conn_flush(c);
}

/* A step still running keeps the SSL and the fd until it ends. */
static void
ossl_close(struct conn *c)
{
	struct hs_job *j = c->tls_job;

	if (j != NULL) {
		j->c = NULL;
		c->tls_job = NULL;
	} else {
		SSL_free(c->tls);
		close(c->fd);
	}
	c->tls = NULL;
}

static CERTCertificate *
ossl_peer_cert(const struct conn *c)
{
	X509 *x = SSL_get0_peer_certificate(c->tls);

	return x != NULL ? tls_ossl_nss_cert(x) : NULL;
}

static int
ossl_peer_present(const struct conn *c)
{
	return SSL_get0_peer_certificate(c->tls) != NULL;
}

/*
 * NSS's decoder without the database lookup of CERT_NewTempCertificate();
 * libnss3 exports it (symbol version NSS_3.2) but no header declares it.
 */
extern CERTCertificate *__CERT_DecodeDERCertificate(SECItem *der,
    PRBool copy, char *nickname);

/*
 * NSS's name rules on a certificate only decoded, not looked up in the
 * database (which costs file locks and SQL on every connection).
 */
static int
ossl_peer_name_matches(const struct conn *c, const char *name)
{
	X509 *x = SSL_get0_peer_certificate(c->tls);
	unsigned char *der = NULL;
	CERTCertificate *cert;
	SECItem item;
	int len, match = 0;

	if (x == NULL || (len = i2d_X509(x, &der)) <= 0)
		return 0;
	item = (SECItem){ siDERCertBuffer, der, (unsigned int)len };
	if ((cert = __CERT_DecodeDERCertificate(&item, PR_TRUE, NULL)) != NULL) {
		match = CERT_VerifyCertName(cert, name) == SECSuccess;
		CERT_DestroyCertificate(cert);
	}
	OPENSSL_free(der);
	return match;
}

static int
ossl_peer_trusted(const struct conn *c)
{
	return tls_ossl_peer_trusted(c->tls);
}

static int
ossl_export_key(const struct conn *c, const char *label, uint8_t *out,
    size_t len)
{
	if (SSL_export_keying_material(c->tls, out, len, label, strlen(label),
	    NULL, 0, 0) == 1)
		return 0;
	tls_ossl_set_error("exporting keying material");
	return -1;
}

/* Only servers use this back end. */
static int
ossl_cert_sent(const struct conn *c)
{
	(void)c;
	return 0;
}

static const struct conn_tls_ops ossl_ops = {
	.write = ossl_write,
	.push = ossl_push,
	.read = ossl_read,
	.handshake = ossl_handshake,
	.arm = ossl_arm,
	.close = ossl_close,
	.peer_cert = ossl_peer_cert,
	.peer_present = ossl_peer_present,
	.peer_name_matches = ossl_peer_name_matches,
	.peer_trusted = ossl_peer_trusted,
	.export_key = ossl_export_key,
	.cert_sent = ossl_cert_sent,
};

/* From here on the SSL owns the fd: ossl_close() closes both. */
int
conn_ossl_start(struct conn *c, const struct tls_ossl *o,
    enum conn_client_cert client_cert)
{
	SSL *ssl;

	if ((ssl = tls_ossl_ssl(o, client_cert)) == NULL)
		return -1;
	if (SSL_set_fd(ssl, c->fd) != 1) {
		tls_ossl_set_error("handing over the socket");
		SSL_free(ssl);
		return -1;
	}
	c->tls = ssl;
	c->tls_ops = &ossl_ops;
	c->tls_job = NULL;
	c->handshake_done = 0;
	c->tls_want_write = 0;
	return 0;
}
