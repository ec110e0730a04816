/*
 * Inside a message connection (conn.h), shared by its two halves: conn.c,
 * the socket on the loop, the queue and plain I/O; conn_tls.c, the
 * STARTTLS upgrade and TLS I/O through NSS.  Nothing else includes this.
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

/* conn_tls.c */
/* Bytes written (> 0), 0 when the socket is full, or -1 after conn_fail(). */
ssize_t	conn_tls_write(struct conn *c);
/* Push out records NSS could not write earlier: 0, or -1 after conn_fail(). */
int	conn_tls_push(struct conn *c);
/* Bytes read (> 0), 0 when nothing is there, or -1 after conn_fail(). */
ssize_t	conn_tls_read(struct conn *c, uint8_t *p, size_t want);
int	conn_tls_start_client(struct conn *c);
int	conn_tls_handshake(struct conn *c);
void	conn_tls_arm(struct conn *c, int reading);
void	conn_tls_close(struct conn *c);

#endif
