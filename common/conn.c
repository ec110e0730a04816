/*
 * A message connection (conn.h) on the loop: the socket's poll handle,
 * the ready and deferred lists of the context, the bounded send queue,
 * plain reads and writes, and batches of received messages.  The TLS half
 * is in conn_tls.c.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "conn.h"
#include "conn_int.h"
#include "msg.h"

#define DEFAULT_MAX_BATCH	64
#define IOV_BATCH		64	/* messages per sendmsg() */
#define CONN_ENCODE_HINT	256	/* bytes: INIT_REPLY fits */

/* What read_batch() ended with. */
enum batch {
	BATCH_DONE,		/* would block or the batch is full */
	BATCH_STOP,		/* failed or closed: touch nothing */
	BATCH_TLS		/* the server switched to TLS in on_message */
};

static void on_poll(uv_poll_t *h, int status, int events);
static void on_idle(uv_idle_t *h);

void
conn_poll_set(struct conn *c, int events)
{
	if (events == c->poll_events)
		return;
	c->poll_events = events;
	/* These only reject invalid arguments, and ours are valid. */
	if (events == 0)
		(void)uv_poll_stop(&c->poll);
	else
		(void)uv_poll_start(&c->poll, events, on_poll);
}


void
conn_ready_add(struct conn *c)
{
	struct conn_ctx *ctx = c->ctx;

	if (c->ready_pprev != NULL)
		return;
	if ((c->ready_next = ctx->ready) != NULL)
		ctx->ready->ready_pprev = &c->ready_next;
	ctx->ready = c;
	c->ready_pprev = &ctx->ready;
	(void)uv_idle_start(&ctx->idle, on_idle);
}

/* O(1) wherever the connection is: on ctx->ready or on_idle()'s list. */
static void
ready_remove(struct conn *c)
{
	if (c->ready_pprev == NULL)
		return;
	if ((*c->ready_pprev = c->ready_next) != NULL)
		c->ready_next->ready_pprev = c->ready_pprev;
	c->ready_next = NULL;
	c->ready_pprev = NULL;
}

/*
 * Stopping or closing a poll handle while libuv dispatches an epoll batch
 * makes it scan the whole batch for the descriptor (up to 1,024 events):
 * in a reconnect storm, twice per connection, a large part of the user
 * time.  A plain connection's poll is therefore stopped or closed from
 * the idle handler, after the batch; until then on_poll() ignores it.
 * (TLS connections keep closing at once: PR_Close() owns their fd.)
 */
static void
defer_poll(struct conn *c)
{
	struct conn_ctx *ctx = c->ctx;

	if (c->deferred)
		return;
	c->deferred = 1;
	c->deferred_next = ctx->deferred;
	ctx->deferred = c;
	(void)uv_idle_start(&ctx->idle, on_idle);
}

static void poll_closed(uv_handle_t *h);

static void
run_deferred(struct conn_ctx *ctx)
{
	struct conn *c;

	while ((c = ctx->deferred) != NULL) {
		ctx->deferred = c->deferred_next;
		c->deferred_next = NULL;
		c->deferred = 0;
		if (c->closing) {
			uv_close((uv_handle_t *)&c->poll, poll_closed);
			close(c->fd);
			c->fd = -1;
		} else if (c->failed) {
			conn_poll_set(c, 0);
		}
	}
}

void
conn_stop(struct conn *c)
{
	c->failed = 1;
	if (c->tls == NULL)
		defer_poll(c);
	else
		conn_poll_set(c, 0);
	ready_remove(c);
}

void
conn_fail(struct conn *c, enum conn_error e)
{
	int saved = errno;

	if (c->failed || c->closing)
		return;
	conn_stop(c);
	errno = saved;
	c->cb->on_error(c, e);
}

/*
 * Drop n written bytes from the queue.  Returns 1 when the message after
 * which the client starts TLS went out completely.
 */
static int
consume(struct conn *c, size_t n)
{
	struct outmsg *m;
	int starttls = 0;

	while (n > 0) {
		size_t take;

		m = c->q_head;
		take = m->len - m->off < n ? m->len - m->off : n;
		m->off += take;
		c->q_bytes -= take;
		n -= take;
		if (m->off < m->len)
			break;
		if ((c->q_head = m->next) == NULL)
			c->q_tail = NULL;
		c->q_len--;
		starttls = m->starttls_after;
		free(m);
	}
	return starttls;
}

/* Bytes written (> 0), 0 when the socket is full, or -1 after fail(). */
static ssize_t
plain_write(struct conn *c)
{
	struct iovec iov[IOV_BATCH];
	struct msghdr mh;
	struct outmsg *m;
	size_t n = 0;
	ssize_t w;

	for (m = c->q_head; m != NULL && n < IOV_BATCH; m = m->next) {
		iov[n].iov_base = m->data + m->off;
		iov[n++].iov_len = m->len - m->off;
		/* What follows STARTTLS must go through TLS. */
		if (m->starttls_after)
			break;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = n;
	/* sendmsg() is writev() that cannot raise SIGPIPE. */
	do {
		w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	} while (w < 0 && errno == EINTR);
	if (w >= 0)
		return w;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	conn_fail(c, CONN_IO);
	return -1;
}

/*
 * Write as much of the queue as the socket takes.  With TLS and nothing
 * queued, an empty send pushes out records NSS could not write earlier.
 * Returns 0, or -1 when the connection failed or was closed.
 */
int
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->q_head != NULL) {
		n = c->tls != NULL ? c->tls_ops->write(c) : plain_write(c);
		if (n < 0)
			return -1;
		if (n == 0) {
			c->drain_wanted = 1;
			return 0;
		}
		if (consume(c, (size_t)n) && conn_tls_start_client(c) != 0)
			return -1;
	}
	if (c->tls != NULL && c->tls_ops->push(c) < 0)
		return -1;
	if (c->drain_wanted) {
		c->drain_wanted = 0;
		if (c->cb->on_drained != NULL) {
			c->cb->on_drained(c);
			if (conn_gone(c))
				return -1;
		}
	}
	return 0;
}

/* Bytes read (> 0), 0 when nothing is there, or -1 after fail(). */
static ssize_t
plain_read(struct conn *c, uint8_t *p, size_t want)
{
	ssize_t n;

	do {
		n = read(c->fd, p, want);
	} while (n < 0 && errno == EINTR);
	if (n > 0)
		return n;
	if (n == 0)
		conn_fail(c, CONN_EOF);
	else if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	else
		conn_fail(c, CONN_IO);
	return -1;
}

/* Hand a complete or skipped message to the owner. */
static int
deliver(struct conn *c, enum reader_status st)
{
	size_t len;
	const uint8_t *m = reader_message(&c->rd, &len);

	/* A skipped message keeps only its header. */
	if (st != READER_MESSAGE)
		len = QN_HEADER_SIZE;
	c->cb->on_message(c, st, m, len);
	if (conn_gone(c))
		return -1;
	reader_next(&c->rd);
	return 0;
}

static int
queue_half_full(const struct conn *c)
{
	return c->q_len * 2 >= c->q_max ||
	    (c->q_max_bytes != 0 && c->q_bytes * 2 >= c->q_max_bytes);
}

/*
 * Read up to max_batch messages, each read asking for no more than the
 * current message still needs (the bytes after STARTTLS belong to TLS).
 */
static enum batch
read_batch(struct conn *c)
{
	int was_tls = c->tls != NULL;
	enum batch r = BATCH_DONE;
	enum reader_status st;
	unsigned n = 0;
	uint8_t *p;
	size_t want;
	ssize_t got;

	c->in_batch = 1;
	while (n < c->ctx->max_batch && !c->read_paused) {
		p = reader_space(&c->rd, &want);
		got = was_tls ? c->tls_ops->read(c, p, want) :
		    plain_read(c, p, want);
		if (got <= 0) {
			r = got < 0 ? BATCH_STOP : BATCH_DONE;
			break;
		}
		if ((st = reader_commit(&c->rd, (size_t)got)) == READER_MORE)
			continue;
		n++;
		/* Replies to a long batch must not overflow the queue. */
		if (deliver(c, st) != 0 || (queue_half_full(c) && conn_flush(c) != 0)) {
			r = BATCH_STOP;
			break;
		}
		/* STARTTLS was received (server) or written (client). */
		if (c->tls != NULL && !was_tls) {
			r = BATCH_TLS;
			break;
		}
	}
	c->in_batch = 0;
	return r;
}

/*
 * Poll for what the connection waits for; the SSL layer decides with TLS
 * (conn_tls_arm).
 */
void
conn_arm(struct conn *c)
{
	/* A paused reader still finishes its handshake: it has to write. */
	int reading = !c->read_paused || (c->tls != NULL && !c->handshake_done);

	if (c->tls != NULL) {
		c->tls_ops->arm(c, reading);
		return;
	}
	conn_poll_set(c, (reading ? UV_READABLE : 0) |
	    (c->q_head != NULL ? UV_WRITABLE : 0));
}

/*
 * Make all the progress possible without waiting: write, finish a TLS
 * handshake, read a batch (a plain socket only when it is readable), write
 * the replies, then poll for the rest.
 */
static void
service(struct conn *c, int readable)
{
	enum batch r = BATCH_DONE;

	do {
		if (conn_flush(c) != 0)
			return;
		if (c->tls != NULL && !c->handshake_done) {
			if (c->tls_ops->handshake(c) != 0)
				return;
			readable = 1;
		}
		if (readable && (r = read_batch(c)) == BATCH_STOP)
			return;
	} while (r == BATCH_TLS);
	if (readable && conn_flush(c) != 0)
		return;
	conn_arm(c);
}

static void
connect_done(struct conn *c)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		errno = err;
		conn_fail(c, CONN_CONNECT);
		return;
	}
	c->connecting = 0;
	c->cb->on_connected(c);
	if (!conn_gone(c))
		service(c, 0);
}

static void
on_poll(uv_poll_t *h, int status, int events)
{
	struct conn *c = h->data;

	/* Failed or closing: its poll stops after the batch (defer_poll). */
	if (conn_gone(c))
		return;
	if (status < 0) {
		/*
		 * POLLERR: libuv stopped the handle.  Reading or writing
		 * reports the real error (or a TLS alert sent before it).
		 */
		c->poll_events = 0;
		events = UV_READABLE | UV_WRITABLE;
	}
	if (c->connecting) {
		connect_done(c);
		return;
	}
	service(c, (events & UV_READABLE) != 0);
	/* A handshake step on a worker reports the error when it ends. */
	if (status < 0 && !conn_gone(c) && c->tls_job == NULL)
		conn_fail(c, CONN_IO);
}

static void
on_idle(uv_idle_t *h)
{
	struct conn_ctx *ctx = h->data;
	struct conn *list, *c;

	run_deferred(ctx);
	/* Connections that become ready meanwhile wait for the next round. */
	if ((list = ctx->ready) != NULL)
		list->ready_pprev = &list;
	ctx->ready = NULL;
	while ((c = list) != NULL) {
		ready_remove(c);
		service(c, c->tls != NULL);
	}
	if (ctx->ready == NULL && ctx->deferred == NULL)
		(void)uv_idle_stop(h);
}

int
conn_ctx_init(struct conn_ctx *ctx, uv_loop_t *loop)
{
	ctx->loop = loop;
	ctx->ready = NULL;
	ctx->deferred = NULL;
	ctx->max_batch = DEFAULT_MAX_BATCH;
	buf_init(&ctx->encode);
	ctx->idle.data = ctx;
	return uv_idle_init(loop, &ctx->idle) == 0 ? 0 : -1;
}

void
conn_ctx_close(struct conn_ctx *ctx)
{
	run_deferred(ctx);	/* closes still due: now, or never */
	uv_close((uv_handle_t *)&ctx->idle, NULL);
	buf_free(&ctx->encode);
}

static int
setup(struct conn *c, struct conn_ctx *ctx, int fd, const struct conn_cb *cb,
    void *owner, size_t max_receive, size_t max_send, size_t max_queue)
{
	memset(c, 0, sizeof(*c));
	c->ctx = ctx;
	c->cb = cb;
	c->owner = owner;
	c->fd = fd;
	reader_init(&c->rd, max_receive);
	c->q_max = max_queue;
	c->max_send_size = max_send;
	if (uv_poll_init(ctx->loop, &c->poll, fd) != 0)
		return -1;
	c->poll.data = c;
	return 0;
}

int
conn_init(struct conn *c, struct conn_ctx *ctx, int fd,
    const struct conn_cb *cb, void *owner, size_t max_receive,
    size_t max_send, size_t max_queue)
{
	if (setup(c, ctx, fd, cb, owner, max_receive, max_send,
	    max_queue) != 0)
		return -1;
	conn_poll_set(c, UV_READABLE);
	return 0;
}

int
conn_connect(struct conn *c, struct conn_ctx *ctx,
    const struct sockaddr *sa, socklen_t salen,
    const struct conn_cb *cb, void *owner, size_t max_receive,
    size_t max_send, size_t max_queue)
{
	int fd, one = 1, e;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		return -1;
	/* Only latency depends on it: go on without it. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((connect(fd, sa, salen) != 0 && errno != EINPROGRESS &&
	    errno != EINTR) || setup(c, ctx, fd, cb, owner, max_receive,
	    max_send, max_queue) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	/* Writable means connected or failed; SO_ERROR tells which. */
	c->connecting = 1;
	conn_poll_set(c, UV_WRITABLE);
	return 0;
}

int
conn_send_raw(struct conn *c, const uint8_t *data, size_t len)
{
	struct outmsg *m;

	if (conn_gone(c)) {
		c->send_err = CONN_SEND_CLOSED;
		return -1;
	}
	if (len > c->max_send_size) {
		c->send_err = CONN_SEND_TOO_LARGE;
		return -1;
	}
	if (c->q_len >= c->q_max || (c->q_max_bytes != 0 && c->q_len > 0 &&
	    c->q_bytes + len > c->q_max_bytes)) {
		c->send_err = c->q_len >= c->q_max ? CONN_SEND_QUEUE_FULL :
		    CONN_SEND_QUEUE_BYTES;
		c->drain_wanted = 1;
		return -1;
	}
	if ((m = malloc(sizeof(*m) + len)) == NULL) {
		c->send_err = CONN_SEND_NOMEM;
		return -1;
	}
	m->next = NULL;
	m->len = len;
	m->off = 0;
	m->starttls_after = 0;
	memcpy(m->data, data, len);
	if (c->q_tail != NULL)
		c->q_tail->next = m;
	else
		c->q_head = m;
	c->q_tail = m;
	c->q_len++;
	c->q_bytes += len;
	/* A batch being read flushes at its end; a connect when it is up. */
	if (!c->in_batch && !c->connecting)
		conn_ready_add(c);
	return 0;
}

int
conn_send(struct conn *c, const struct msg *m)
{
	struct buf *b = &c->ctx->encode;
	int rc = -1;

	buf_reset(b);
	/* Room for any usual message at once, instead of doubling to it. */
	(void)buf_reserve(b, CONN_ENCODE_HINT);
	if (msg_encode(m, b, c->max_send_size) == 0)
		rc = conn_send_raw(c, b->data, b->len);
	else
		c->send_err = b->failed ? CONN_SEND_NOMEM : CONN_SEND_TOO_LARGE;
	return rc;
}

void
conn_set_limits(struct conn *c, size_t max_receive, size_t max_send)
{
	/* The reader applies it from the next message header on. */
	c->rd.max_size = max_receive;
	c->max_send_size = max_send;
}

void
conn_set_queue_bytes(struct conn *c, size_t max_bytes)
{
	c->q_max_bytes = max_bytes;
}

void
conn_pause_reading(struct conn *c, int paused)
{
	if (conn_gone(c) || c->read_paused == (paused != 0))
		return;
	c->read_paused = paused != 0;
	/* Within a batch the poll is set when it ends; else the loop sets it. */
	if (!c->in_batch && !c->connecting)
		conn_ready_add(c);
}

static void
poll_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (c->cb->on_closed != NULL)
		c->cb->on_closed(c);
}

void
conn_close(struct conn *c)
{
	struct outmsg *m;

	if (c->closing)
		return;
	c->closing = 1;
	ready_remove(c);
	while ((m = c->q_head) != NULL) {
		c->q_head = m->next;
		free(m);
	}
	c->q_tail = NULL;
	c->q_len = 0;
	c->q_bytes = 0;
	reader_free(&c->rd);
	c->tls_client_pending = NULL;
	if (c->tls == NULL && c->fd >= 0) {
		defer_poll(c);		/* poll and fd close after the batch */
		return;
	}
	/* uv_close() stops polling at once, so the fd may go right after. */
	uv_close((uv_handle_t *)&c->poll, poll_closed);
	if (c->tls != NULL)
		c->tls_ops->close(c);
	else
		close(c->fd);
	c->fd = -1;
}
