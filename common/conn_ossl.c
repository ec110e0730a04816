/*
 * The OpenSSL back end of a TLS connection (conn_int.h), server side only:
 * the SSL reads and writes the socket itself; what it waits for comes
 * from the result of the last call (want read, want write), and records
 * it decrypted ahead put the connection on the ready list.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cert.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "conn_int.h"
#include "tls_ossl.h"

/*
 * After a call that did not complete: 0 when it waits for the socket
 * (tls_want_write says which way), or -1 after conn_fail().  A failure
 * before the handshake is over is a TLS failure whatever its cause, as
 * NSS reports it.
 */
static ssize_t
trouble(struct conn *c, int rv, const char *what)
{
	int err = SSL_get_error(c->tls, rv);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		c->tls_want_write = 0;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		c->tls_want_write = 1;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		conn_fail(c, c->handshake_done ? CONN_EOF : CONN_TLS);
		return -1;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (errno == 0)
				errno = ECONNRESET;
			conn_fail(c, c->handshake_done ? CONN_IO : CONN_TLS);
			return -1;
		}
		break;
	default:
		break;
	}
	/* A refused certificate keeps the NSS error of its check. */
	if (SSL_get_verify_result(c->tls) == X509_V_OK)
		tls_ossl_set_error(what);
	else
		ERR_clear_error();
	conn_fail(c, CONN_TLS);
	return -1;
}

static ssize_t
ossl_write(struct conn *c)
{
	uint8_t chunk[CONN_TLS_CHUNK];
	const uint8_t *p;
	size_t len, n;
	int rv;

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
	if (c->tls_want_write && c->q_head == NULL) {
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

	ERR_clear_error();
	if ((rv = SSL_read_ex(c->tls, p, want, &n)) == 1)
		return (ssize_t)n;
	return trouble(c, rv, "TLS read");
}

static void
ossl_arm(struct conn *c, int reading)
{
	int events = 0;

	if (!c->handshake_done) {
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

static int
ossl_handshake(struct conn *c)
{
	int rv;

	ERR_clear_error();
	if ((rv = SSL_do_handshake(c->tls)) != 1) {
		if (trouble(c, rv, "TLS handshake") == 0)
			conn_arm(c);
		return -1;
	}
	c->handshake_done = 1;
	c->tls_want_write = 0;
	c->tls_resumed = SSL_session_reused(c->tls) == 1;
	return conn_flush(c);
}

static void
ossl_close(struct conn *c)
{
	SSL_free(c->tls);
	c->tls = NULL;
	close(c->fd);
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
	c->handshake_done = 0;
	c->tls_want_write = 0;
	return 0;
}
