/*
 * The TLS half of a message connection: the in-band STARTTLS upgrade (the
 * socket goes to NSPR and SSL is layered over it), the handshake, TLS
 * reads and writes, and polling as the SSL layer asks.
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

#include "conn.h"
#include "conn_int.h"
#include "tls.h"

#define TLS_CHUNK		16384	/* the plaintext of a full TLS record */

static enum conn_error
nspr_error_kind(PRErrorCode err)
{
	if (IS_SSL_ERROR(err) || IS_SEC_ERROR(err))
		return CONN_TLS;
	return err == PR_END_OF_FILE_ERROR ? CONN_EOF : CONN_IO;
}

/*
 * Hand the socket to NSPR and layer SSL over it.  From PR_ImportTCPSocket
 * on, c->tls owns the fd (even if a later step fails) and PR_Close() in
 * conn_close() closes it.
 */
static int
start_tls(struct conn *c, const struct tls_server *srv,
    const struct tls_client *cl, enum conn_client_cert client_cert)
{
	PRSocketOptionData opt;
	PRFileDesc *tcp, *ssl;

	if ((tcp = PR_ImportTCPSocket(c->fd)) == NULL)
		return -1;
	c->tls = tcp;
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

/* The client's STARTTLS is out: everything from here on is TLS. */
int
conn_tls_start_client(struct conn *c)
{
	const struct tls_client *cl = c->tls_client_pending;

	c->tls_client_pending = NULL;
	if (start_tls(c, NULL, cl, CONN_CERT_AS_SERVER) != 0) {
		conn_fail(c, CONN_TLS);
		return -1;
	}
	return 0;
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

/*
 * Small queued messages are sent together, as one TLS record; a big one
 * is sent from its own buffer.
 */
ssize_t
conn_tls_write(struct conn *c)
{
	uint8_t chunk[TLS_CHUNK];
	const struct outmsg *m = c->q_head;
	size_t n = 0;

	if (m->next == NULL || m->len - m->off >= TLS_CHUNK)
		return tls_send(c, m->data + m->off, m->len - m->off);
	for (; m != NULL && n < TLS_CHUNK; m = m->next) {
		size_t take = m->len - m->off;

		if (take > TLS_CHUNK - n)
			take = TLS_CHUNK - n;
		memcpy(chunk + n, m->data + m->off, take);
		n += take;
	}
	return tls_send(c, chunk, n);
}

int
conn_tls_push(struct conn *c)
{
	return tls_send(c, (const uint8_t *)"", 0) < 0 ? -1 : 0;
}

ssize_t
conn_tls_read(struct conn *c, uint8_t *p, size_t want)
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
void
conn_tls_arm(struct conn *c, int reading)
{
	PRInt16 in, need, out = 0;

	in = (reading ? PR_POLL_READ : 0) |
	    (c->q_head != NULL ? PR_POLL_WRITE : 0);
	if (in == 0) {
		conn_poll_set(c, 0);
		return;
	}
	need = c->tls->methods->poll(c->tls, in, &out);
	conn_poll_set(c, (need & PR_POLL_READ ? UV_READABLE : 0) |
	    (need & PR_POLL_WRITE ? UV_WRITABLE : 0));
	if (out != 0)
		conn_ready_add(c);
}

/* Returns 0 once the handshake is done, -1 while it is not (or failed). */
int
conn_tls_handshake(struct conn *c)
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
void
conn_tls_close(struct conn *c)
{
	PR_Close(c->tls);
	c->tls = NULL;
}

int
conn_starttls_server(struct conn *c, const struct tls_server *srv,
    enum conn_client_cert client_cert)
{
	if (conn_gone(c) || c->tls != NULL || c->connecting)
		return -1;
	if (start_tls(c, srv, NULL, client_cert) != 0) {
		conn_stop(c);
		return -1;
	}
	return 0;
}

int
conn_starttls_client(struct conn *c, struct tls_client *cl)
{
	if (conn_gone(c) || c->tls != NULL || c->tls_client_pending != NULL)
		return -1;
	if (c->q_tail != NULL) {
		c->q_tail->starttls_after = 1;
		c->tls_client_pending = cl;
		return 0;
	}
	/* STARTTLS is out already: switch now and start the handshake. */
	if (c->connecting)
		return -1;
	if (start_tls(c, NULL, cl, CONN_CERT_AS_SERVER) != 0) {
		conn_stop(c);
		return -1;
	}
	conn_ready_add(c);
	return 0;
}

int
conn_is_tls(const struct conn *c)
{
	return c->tls != NULL;
}
