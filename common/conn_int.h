/*
 * Inside a message connection (conn.h): conn.c, the socket on the loop,
 * the queue and plain I/O; conn_tls.c, the STARTTLS upgrade and the TLS
 * queries; the TLS back ends conn_nss.c and conn_ossl.c.  Nothing else
 * includes this.
 */
#ifndef QN_CONN_INT_H
#define QN_CONN_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conn.h"

/* An encoded message waiting to be written. */
struct outmsg {
	struct outmsg *next;
	size_t len;
	size_t off;		/* bytes already written */
	int starttls_after;	/* the client switches to TLS after this one */
	uint8_t data[];
};

/* conn.c */
void	conn_poll_set(struct conn *c, int events);
/* Service c from the idle handler (queued output, data NSS buffered). */
void	conn_ready_add(struct conn *c);
/* No more I/O; only conn_close() is left to do. */
void	conn_stop(struct conn *c);
/* conn_stop(), then on_error(e), once; errno is kept for the callback. */
void	conn_fail(struct conn *c, enum conn_error e);
int	conn_flush(struct conn *c);
void	conn_arm(struct conn *c);

static inline int
conn_gone(const struct conn *c)
{
	return c->failed || c->closing;
}

/*
 * A TLS back end: what conn.c and conn_tls.c call on a TLS connection
 * (c->tls_ops, c->tls).  conn_nss.c is NSS for both daemons; conn_ossl.c
 * is OpenSSL, for a qnetd whose server was set up with it.
 */
typedef struct CERTCertificateStr CERTCertificate;
struct conn_tls_ops {
	/* Bytes written (> 0), 0 when the socket is full, or -1 after
	 * conn_fail(). */
	ssize_t	(*write)(struct conn *c);
	/* Push out records the back end could not write earlier: 0 or -1. */
	int	(*push)(struct conn *c);
	/* Bytes read (> 0), 0 when nothing is there, or -1 after conn_fail(). */
	ssize_t	(*read)(struct conn *c, uint8_t *p, size_t want);
	/* 0 once the handshake is done, -1 while it is not (or failed). */
	int	(*handshake)(struct conn *c);
	/* Poll for what the back end waits for (conn_poll_set, ready list). */
	void	(*arm)(struct conn *c, int reading);
	/* Free the TLS state and close the fd. */
	void	(*close)(struct conn *c);
	/*
	 * After the handshake: the peer's certificate as NSS sees it (a
	 * database certificate), or NULL; whether there is one; whether it
	 * carries name (CN or subjectAltName, NSS's rules).
	 */
	CERTCertificate *(*peer_cert)(const struct conn *c);
	int	(*peer_present)(const struct conn *c);
	int	(*peer_name_matches)(const struct conn *c, const char *name);
	/* OpenSSL only (NULL for NSS): it passes today's client check. */
	int	(*peer_trusted)(const struct conn *c);
	int	(*export_key)(const struct conn *c, const char *label,
		    uint8_t *out, size_t len);
	/* Whether we sent a certificate (client side). */
	int	(*cert_sent)(const struct conn *c);
};

/* conn_tls.c: the client's STARTTLS is out; switch the socket to TLS. */
int	conn_tls_start_client(struct conn *c);
/* The plaintext of a full TLS record. */
#define CONN_TLS_CHUNK	16384
/*
 * What to write next: the head message from its own buffer, or small
 * queued messages gathered into chunk, to go out as one record.
 */
const uint8_t *conn_tls_next(const struct conn *c,
	    uint8_t chunk[CONN_TLS_CHUNK], size_t *len);

/* conn_nss.c */
int	conn_nss_start(struct conn *c, const struct tls_server *srv,
	    const struct tls_client *cl, enum conn_client_cert client_cert);

/* conn_ossl.c */
struct tls_ossl;
int	conn_ossl_start(struct conn *c, const struct tls_ossl *o,
	    enum conn_client_cert client_cert);

#endif
