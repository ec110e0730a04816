/*
 * The NSS back end of a TLS connection (conn_int.h): the socket goes to
 * NSPR and SSL is layered over it; the handshake, TLS reads and writes,
 * and polling as the SSL layer asks.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <prerror.h>
#include <prio.h>
#include <private/pprio.h>
#include <secerr.h>
#include <ssl.h>
#include <sslerr.h>
#include <cert.h>

#include "conn.h"
#include "conn_int.h"
#include "tls.h"

static enum conn_error
nspr_error_kind(PRErrorCode err)
{
	if (IS_SSL_ERROR(err) || IS_SEC_ERROR(err))
		return CONN_TLS;
	return err == PR_END_OF_FILE_ERROR ? CONN_EOF : CONN_IO;
}

static ssize_t
tls_send(struct conn *c, const uint8_t *p, size_t len)
{
	PRInt32 n = PR_Send(c->tls, p, len > INT32_MAX ? INT32_MAX : (PRInt32)len,
	    0, PR_INTERVAL_NO_WAIT);

	if (n >= 0)
		return n;
	if (PR_GetError() == PR_WOULD_BLOCK_ERROR)
		return 0;
	conn_fail(c, c->handshake_done ? nspr_error_kind(PR_GetError()) : CONN_TLS);
	return -1;
}

static ssize_t
nss_write(struct conn *c)
{
	uint8_t chunk[CONN_TLS_CHUNK];
	const uint8_t *p;
	size_t len;

	p = conn_tls_next(c, chunk, &len);
	return tls_send(c, p, len);
}

static int
nss_push(struct conn *c)
{
	return tls_send(c, (const uint8_t *)"", 0) < 0 ? -1 : 0;
}

static ssize_t
nss_read(struct conn *c, uint8_t *p, size_t want)
{
	PRInt32 n = PR_Recv(c->tls, p,
	    want > INT32_MAX ? INT32_MAX : (PRInt32)want, 0,
	    PR_INTERVAL_NO_WAIT);

	if (n > 0)
		return n;
	if (n == 0)
		conn_fail(c, CONN_EOF);
	else if (PR_GetError() == PR_WOULD_BLOCK_ERROR)
		return 0;
	else
		conn_fail(c, nspr_error_kind(PR_GetError()));
	return -1;
}

/*
 * The SSL layer decides what to poll for (a handshake may need to read
 * when we want to write), as PR_Poll() would ask it; when it says it is
 * ready already (decrypted data buffered), the connection goes on the
 * ready list.
 */
static void
nss_arm(struct conn *c, int reading)
{
	PRFileDesc *fd = c->tls;
	PRInt16 in, need, out = 0;

	in = (reading ? PR_POLL_READ : 0) |
	    (c->q_head != NULL ? PR_POLL_WRITE : 0);
	if (in == 0) {
		conn_poll_set(c, 0);
		return;
	}
	need = fd->methods->poll(fd, in, &out);
	conn_poll_set(c, (need & PR_POLL_READ ? UV_READABLE : 0) |
	    (need & PR_POLL_WRITE ? UV_WRITABLE : 0));
	if (out != 0)
		conn_ready_add(c);
}

/* Returns 0 once the handshake is done, -1 while it is not (or failed). */
static int
nss_handshake(struct conn *c)
{
	if (SSL_ForceHandshake(c->tls) != SECSuccess) {
		if (PR_GetError() == PR_WOULD_BLOCK_ERROR)
			conn_arm(c);
		else
			conn_fail(c, CONN_TLS);
		return -1;
	}
	c->handshake_done = 1;
	c->tls_resumed = tls_resumed(c->tls);
	return conn_flush(c);
}

/* PR_Close() closes the fd too: NSPR owns it since PR_ImportTCPSocket. */
static void
nss_close(struct conn *c)
{
	PR_Close(c->tls);
	c->tls = NULL;
}

/* The peer certificate once the handshake is over, or NULL. */
static CERTCertificate *
nss_peer_cert(const struct conn *c)
{
	return SSL_PeerCertificate(c->tls);
}

static int
nss_peer_present(const struct conn *c)
{
	CERTCertificate *cert = SSL_PeerCertificate(c->tls);

	if (cert == NULL)
		return 0;
	CERT_DestroyCertificate(cert);
	return 1;
}

static int
nss_peer_name_matches(const struct conn *c, const char *name)
{
	CERTCertificate *cert = SSL_PeerCertificate(c->tls);
	int match;

	if (cert == NULL)
		return 0;
	match = CERT_VerifyCertName(cert, name) == SECSuccess;
	CERT_DestroyCertificate(cert);
	return match;
}

static int
nss_export_key(const struct conn *c, const char *label, uint8_t *out,
    size_t len)
{
	return SSL_ExportKeyingMaterial(c->tls, label,
	    (unsigned int)strlen(label), PR_FALSE, NULL, 0, out,
	    (unsigned int)len) == SECSuccess ? 0 : -1;
}

/* NSS remembers the certificate it sent, if any. */
static int
nss_cert_sent(const struct conn *c)
{
	CERTCertificate *cert;

	if ((cert = SSL_LocalCertificate(c->tls)) == NULL)
		return 0;
	CERT_DestroyCertificate(cert);
	return 1;
}

static const struct conn_tls_ops nss_ops = {
	.write = nss_write,
	.push = nss_push,
	.read = nss_read,
	.handshake = nss_handshake,
	.arm = nss_arm,
	.close = nss_close,
	.peer_cert = nss_peer_cert,
	.peer_present = nss_peer_present,
	.peer_name_matches = nss_peer_name_matches,
	.export_key = nss_export_key,
	.cert_sent = nss_cert_sent,
};

/*
 * Hand the socket to NSPR and layer SSL over it.  From PR_ImportTCPSocket
 * on, c->tls owns the fd (even if a later step fails) and PR_Close() in
 * conn_close() closes it.  srv (a server) or cl (a client) gives the
 * settings.
 */
int
conn_nss_start(struct conn *c, const struct tls_server *srv,
    const struct tls_client *cl, enum conn_client_cert client_cert)
{
	PRSocketOptionData opt;
	PRFileDesc *tcp, *ssl;

	if ((tcp = PR_ImportTCPSocket(c->fd)) == NULL)
		return -1;
	c->tls = tcp;
	c->tls_ops = &nss_ops;
	/* NSPR must return PR_WOULD_BLOCK_ERROR, not wait in poll(). */
	opt.option = PR_SockOpt_Nonblocking;
	opt.value.non_blocking = PR_TRUE;
	if (PR_SetSocketOption(tcp, &opt) != PR_SUCCESS)
		return -1;
	ssl = srv != NULL ? tls_server_wrap(srv, tcp) : tls_client_wrap(cl, tcp);
	if (ssl == NULL)
		return -1;
	c->tls = ssl;
	c->handshake_done = 0;
	/* Enrolment: the node has no certificate yet; don't ask for one. */
	if (client_cert == CONN_CERT_NONE && (SSL_OptionSet(ssl,
	    SSL_REQUEST_CERTIFICATE, PR_FALSE) != SECSuccess || SSL_OptionSet(ssl,
	    SSL_REQUIRE_CERTIFICATE, SSL_REQUIRE_NEVER) != SECSuccess))
		return -1;
	/* Renewal: the caller checks the certificate and says why not. */
	if (client_cert == CONN_CERT_UNCHECKED && tls_server_unchecked(ssl) != 0)
		return -1;
	return SSL_ResetHandshake(ssl, srv != NULL) == SECSuccess ? 0 : -1;
}

