/*
 * The TLS half of a message connection, whatever the back end: the
 * in-band STARTTLS upgrade, which hands the socket to NSS (conn_nss.c) or,
 * for a server set up with it, OpenSSL (conn_ossl.c), and what the owner
 * may ask about a connection once its handshake is over.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <cert.h>
#include <prerror.h>

#include "conn.h"
#include "conn_int.h"
#include "tls.h"
#include "tls_cert.h"

/* The client's STARTTLS is out: everything from here on is TLS. */
int
conn_tls_start_client(struct conn *c)
{
	const struct tls_client *cl = c->tls_client_pending;

	c->tls_client_pending = NULL;
	if (conn_nss_start(c, NULL, cl, CONN_CERT_AS_SERVER) != 0) {
		conn_fail(c, CONN_TLS);
		return -1;
	}
	return 0;
}

int
conn_starttls_server(struct conn *c, const struct tls_server *srv,
    enum conn_client_cert client_cert)
{
	const struct tls_ossl *o = tls_server_ossl(srv);
	int rc;

	if (conn_gone(c) || c->tls != NULL || c->connecting)
		return -1;
	rc = o != NULL ? conn_ossl_start(c, o, client_cert) :
	    conn_nss_start(c, srv, NULL, client_cert);
	if (rc != 0) {
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
	if (conn_nss_start(c, NULL, cl, CONN_CERT_AS_SERVER) != 0) {
		conn_stop(c);
		return -1;
	}
	conn_ready_add(c);
	return 0;
}

const uint8_t *
conn_tls_next(const struct conn *c, uint8_t chunk[CONN_TLS_CHUNK],
    size_t *len)
{
	const struct outmsg *m = c->q_head;
	size_t n = 0, take;

	if (m->next == NULL || m->len - m->off >= CONN_TLS_CHUNK) {
		*len = m->len - m->off;
		return m->data + m->off;
	}
	for (; m != NULL && n < CONN_TLS_CHUNK; m = m->next) {
		take = m->len - m->off;
		if (take > CONN_TLS_CHUNK - n)
			take = CONN_TLS_CHUNK - n;
		memcpy(chunk + n, m->data + m->off, take);
		n += take;
	}
	*len = n;
	return chunk;
}

int
conn_is_tls(const struct conn *c)
{
	return c->tls != NULL;
}

static int
established(const struct conn *c)
{
	return c->tls != NULL && c->handshake_done;
}

CERTCertificate *
conn_peer_cert(const struct conn *c)
{
	return established(c) ? c->tls_ops->peer_cert(c) : NULL;
}

int
conn_peer_cert_present(const struct conn *c)
{
	return established(c) && c->tls_ops->peer_present(c);
}

int
conn_peer_cert_matches(const struct conn *c, const char *name)
{
	return established(c) && c->tls_ops->peer_name_matches(c, name);
}

int
conn_peer_trusted(const struct conn *c)
{
	return established(c) && c->tls_ops->peer_trusted != NULL &&
	    c->tls_ops->peer_trusted(c);
}

int
conn_tls_export(const struct conn *c, const char *label, uint8_t *out,
    size_t len)
{
	if (!established(c)) {
		PR_SetError(PR_NOT_CONNECTED_ERROR, 0);
		return -1;
	}
	return c->tls_ops->export_key(c, label, out, len);
}

int
conn_client_cert_sent(const struct conn *c)
{
	return established(c) && c->tls_ops->cert_sent(c);
}
