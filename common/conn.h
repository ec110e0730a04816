/*
 * A message connection: one non-blocking TCP socket on the libuv loop,
 * plain or upgraded in band to TLS by STARTTLS (NSS, or OpenSSL for a
 * server set up so: tls_server_new()), with a reader for
 * incoming messages and a bounded queue of outgoing ones.
 *
 * Plain connections use the socket directly (no NSPR descriptor), so a
 * mostly idle client costs a few hundred bytes.  The STARTTLS upgrade
 * imports the socket into NSPR and layers SSL over it.
 */
#ifndef QN_CONN_H
#define QN_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "buf.h"
#include "reader.h"

struct msg;
struct conn;
struct tls_server;
struct tls_client;
struct conn_tls_ops;

enum conn_error {
	CONN_EOF,		/* the peer closed the connection */
	CONN_IO,		/* read, write or poll failed */
	CONN_TLS,		/* TLS handshake or record failure */
	CONN_CONNECT		/* conn_connect(): could not connect */
};

/* Why conn_send() refused a message. */
enum conn_send_err {
	CONN_SEND_OK,
	CONN_SEND_CLOSED,	/* the connection failed or is closing */
	CONN_SEND_TOO_LARGE,	/* larger than max_send_size */
	CONN_SEND_QUEUE_FULL,	/* max_queue messages are waiting */
	CONN_SEND_QUEUE_BYTES,	/* the byte bound would be exceeded */
	CONN_SEND_NOMEM
};

struct conn_cb {
	/*
	 * A complete message (st == READER_MESSAGE) or one that was skipped
	 * (st says why; msg holds at least its header).  The callback may
	 * send, start TLS or close the connection.
	 */
	void	(*on_message)(struct conn *c, enum reader_status st,
		    const uint8_t *msg, size_t len);
	/*
	 * The connection is unusable; the owner calls conn_close().  For
	 * CONN_IO and CONN_CONNECT errno says why, for CONN_TLS tls_error().
	 */
	void	(*on_error)(struct conn *c, enum conn_error e);
	/* conn_connect() finished: TCP is up and messages may be sent. */
	void	(*on_connected)(struct conn *c);
	/*
	 * Optional: the queue became empty after conn_send() found it full
	 * or the socket could not take everything at once.
	 */
	void	(*on_drained)(struct conn *c);
	/*
	 * From the loop, after conn_close() returned: no callback follows;
	 * the memory may be freed.
	 */
	void	(*on_closed)(struct conn *c);
};

/*
 * Shared by every connection of one loop.  conn_ctx_close() closes the idle
 * handle; run the loop once more before freeing the context.
 */
struct conn_ctx {
	uv_loop_t *loop;
	uv_idle_t idle;		/* services the ready connections */
	struct conn *ready;	/* queued output, or TLS data NSS buffered */
	struct conn *deferred;	/* poll to stop or close after the batch */
	unsigned max_batch;	/* messages read per wakeup (default 64) */
	struct buf encode;	/* conn_send()'s, reused: no malloc per message */
};

struct outmsg;

struct conn {
	struct conn_ctx *ctx;
	const struct conn_cb *cb;
	void *owner;		/* for the callbacks */

	int fd;
	uv_poll_t poll;
	int poll_events;	/* what poll currently waits for */
	const struct conn_tls_ops *tls_ops;	/* NULL while plain */
	void *tls;		/* the back end's: NSS PRFileDesc, OpenSSL SSL */
	void *tls_job;		/* OpenSSL: a handshake step on a worker thread */
	struct tls_client *tls_client_pending;	/* STARTTLS after flush */

	struct reader rd;

	struct outmsg *q_head, *q_tail;
	size_t q_len;		/* queued messages */
	size_t q_max;		/* at most this many */
	size_t q_bytes;		/* queued bytes not yet written */
	size_t q_max_bytes;	/* at most this many; 0 = no bound */
	size_t max_send_size;	/* largest message we may send */
	enum conn_send_err send_err;	/* why the last conn_send() failed */

	struct conn *ready_next, **ready_pprev;	/* pprev: NULL if not ready */
	struct conn *deferred_next;	/* on ctx->deferred (deferred set) */
	unsigned deferred:1;
	unsigned closing:1, connecting:1, handshake_done:1;
	unsigned tls_resumed:1;	/* the handshake resumed a session */
	unsigned tls_want_write:1;	/* OpenSSL waits for the socket to take more */
	unsigned failed:1;	/* on_error was called: no more I/O */
	unsigned in_batch:1;	/* reading: replies are flushed afterwards */
	unsigned drain_wanted:1;	/* call on_drained when the queue empties */
	unsigned read_paused:1;	/* conn_pause_reading(): no reading */
};

int	conn_ctx_init(struct conn_ctx *ctx, uv_loop_t *loop);
void	conn_ctx_close(struct conn_ctx *ctx);

/*
 * Take over a connected, non-blocking socket (e.g. from accept).  The
 * connection starts reading at once.  Returns 0 or -1 (fd is not closed).
 */
int	conn_init(struct conn *c, struct conn_ctx *ctx, int fd,
	    const struct conn_cb *cb, void *owner, size_t max_receive,
	    size_t max_send, size_t max_queue);

/*
 * Start a non-blocking connect to sa; cb->on_connected or cb->on_error
 * (CONN_CONNECT) follows.  The caller runs its own connect timeout and may
 * conn_close() at any time.  Returns -1 with errno, and no callback, when
 * the connect fails at once.
 */
int	conn_connect(struct conn *c, struct conn_ctx *ctx,
	    const struct sockaddr *sa, socklen_t salen,
	    const struct conn_cb *cb, void *owner, size_t max_receive,
	    size_t max_send, size_t max_queue);

/*
 * Queue an encoded message.  Returns 0, or -1 when it is larger than
 * max_send_size, the queue is full (in messages or bytes) or memory ran
 * out, with c->send_err saying which; the caller decides whether that ends
 * the connection.  Nothing is written and no callback
 * runs during the call: the queue is flushed after the current batch of
 * received messages, or from the loop's idle phase.
 */
int	conn_send(struct conn *c, const struct msg *m);
/* Queue bytes that already form a whole message (ECHO_REPLY copies). */
int	conn_send_raw(struct conn *c, const uint8_t *data, size_t len);

void	conn_set_limits(struct conn *c, size_t max_receive, size_t max_send);

/*
 * Bound the send queue in bytes too (0: only in messages).  A message
 * always fits into an empty queue, so the bound may be below max_send.
 */
void	conn_set_queue_bytes(struct conn *c, size_t max_bytes);

/*
 * Stop reading (paused != 0) or read again.  While paused, the peer's data
 * waits in the kernel and TCP pushes back on the sender; queued output is
 * still written.  Safe from on_message: the current batch ends after it.
 */
void	conn_pause_reading(struct conn *c, int paused);

/*
 * Server side of STARTTLS: call from on_message for the STARTTLS message.
 * The next bytes read are the ClientHello.  Returns -1 if TLS cannot start;
 * the connection is then unusable (no on_error follows): close it.
 * client_cert: CONN_CERT_AS_SERVER asks for a client certificate as the
 * server was set up to; CONN_CERT_NONE asks for none (enrolment);
 * CONN_CERT_UNCHECKED asks for one, lets the handshake go on whatever it
 * is, and leaves the check to the caller (renewal), with no session kept
 * for resumption.
 */
enum conn_client_cert {
	CONN_CERT_AS_SERVER = 0,
	CONN_CERT_NONE = 1,
	CONN_CERT_UNCHECKED = 2
};
int	conn_starttls_server(struct conn *c, const struct tls_server *srv,
	    enum conn_client_cert client_cert);

/*
 * Client side: once everything queued so far (the STARTTLS message) has
 * been written, switch to TLS; messages queued after this call travel
 * inside TLS and drive the handshake.  A failure to switch later is
 * reported as on_error(CONN_TLS).  cl must outlive the connection.
 */
int	conn_starttls_client(struct conn *c, struct tls_client *cl);

int	conn_is_tls(const struct conn *c);
/* TLS and the peer presented a certificate that NSS verified. */
int	conn_peer_cert_present(const struct conn *c);
/* The peer certificate matches name as a host name (CN or subjectAltName). */
int	conn_peer_cert_matches(const struct conn *c, const char *name);
/* Client side: we presented a certificate during the handshake. */
int	conn_client_cert_sent(const struct conn *c);
/*
 * RFC 5705 / 8446 keying material exported from the TLS session under
 * label (no context): the same bytes on both ends of one session and on
 * no other, to bind a proof to the connection.  0, or -1 before the
 * handshake is over or without TLS.
 */
int	conn_tls_export(const struct conn *c, const char *label, uint8_t *out,
	    size_t len);

/* Begin closing: nothing more is sent or received; on_closed follows. */
void	conn_close(struct conn *c);

#endif
