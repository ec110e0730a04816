/*
 * qnet-load's simulated qdevice: the protocol client of one connection
 * (PREINIT, STARTTLS through OpenSSL, INIT, node lists, heartbeats), the
 * votes it receives and what each phase expects of them, and connecting,
 * dropping and reconnecting as qdevice does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "load.h"

/* ------------------------------------------------------------------ */
/* Output */

static void
epoll_set(struct bench *b, struct client *c, int out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
	    .data.ptr = c };

	if (c->polling_out != out) {
		epoll_ctl(c->bg ? b->ep_bg : b->ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->polling_out = (uint8_t)out;
	}
}

static void send_init(struct bench *b, struct client *c);

static void
flush(struct bench *b, struct client *c)
{
	while (c->out_off < c->out.len) {
		const uint8_t *p = c->out.data + c->out_off;
		size_t len = c->out.len - c->out_off;
		ssize_t n;

		if (c->ssl != NULL) {
			int r = SSL_write(c->ssl, p, (int)len);

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_WRITE ||
				    e == SSL_ERROR_WANT_READ) {
					epoll_set(b, c, e == SSL_ERROR_WANT_WRITE);
					return;
				}
				b->errors++;
				disconnect(b, c);
				return;
			}
			n = r;
		} else {
			n = write(c->fd, p, len);
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				epoll_set(b, c, 1);
				return;
			}
			if (n < 0) {
				disconnect(b, c);
				return;
			}
		}
		c->out_off += (size_t)n;
	}
	c->out.len = c->out_off = 0;
	epoll_set(b, c, 0);
	if (c->state == ST_STARTTLS) {
		/* STARTTLS is on the wire: everything after it is TLS. */
		c->ssl = SSL_new(b->tls);
		SSL_set_fd(c->ssl, c->fd);
		SSL_set_connect_state(c->ssl);
		if (c->sess != NULL)
			SSL_set_session(c->ssl, c->sess);
		send_init(b, c);	/* INIT drives the handshake */
	}
}

void
queue(struct bench *b, struct client *c, struct msg *m)
{
	if (msg_encode(m, &c->out, SIZE_MAX) != 0)
		abort();
	flush(b, c);
}

static void
send_preinit(struct bench *b, struct client *c)
{
	char name[64];
	struct msg m;

	/* TLS clients present one certificate for "*.qnet.bench". */
	snprintf(name, sizeof(name), "%s%u.qnet.bench", b->cluster_prefix,
	    c->cluster);
	msg_init(&m, QN_MSG_PREINIT);
	msg_set_seq(&m, c->seq);
	msg_set_cluster_name(&m, name, strlen(name));
	c->state = ST_PREINIT;
	queue(b, c, &m);
}

static void
send_init(struct bench *b, struct client *c)
{
	struct msg m;

	msg_init(&m, QN_MSG_INIT);
	msg_set_seq(&m, ++c->seq);
	msg_set_supported_messages(&m, &msg_all_messages);
	msg_set_supported_options(&m, &msg_all_options);
	msg_set_node_id(&m, c->node_id);
	msg_set_algorithm(&m, QN_ALGO_FFSPLIT);
	msg_set_heartbeat_interval(&m, b->hb_ms);
	msg_set_tie_breaker(&m,
	    &(struct qn_tie_breaker){ .mode = QN_TB_LOWEST });
	msg_set_ring_id(&m, &c->ring);
	c->state = ST_INIT;
	queue(b, c, &m);
}

void
send_list(struct bench *b, struct client *c, uint8_t type)
{
	struct qn_node nodes[64];
	uint32_t lo = 1, n = b->nodes;
	struct msg m;

	if (type == QN_LIST_MEMBERSHIP || type == QN_LIST_QUORUM) {
		lo = c->member_lo;
		n = c->member_n;
	}
	for (uint32_t i = 0; i < n; i++)
		nodes[i] = (struct qn_node){ .node_id = lo + i,
		    .state = type == QN_LIST_QUORUM ? QN_NODE_STATE_MEMBER : 0 };
	msg_init(&m, QN_MSG_NODE_LIST);
	msg_set_seq(&m, ++c->seq);
	msg_set_node_list_type(&m, type);
	msg_set_nodes(&m, nodes, n);
	if (type == QN_LIST_MEMBERSHIP)
		msg_set_ring_id(&m, &c->ring);
	if (type == QN_LIST_QUORUM)
		msg_set_quorate(&m, 1);
	queue(b, c, &m);
}

/* ------------------------------------------------------------------ */
/* Votes */

void
set_done(struct bench *b, struct client *c, int done)
{
	if (done == c->done)
		return;
	c->done = (uint8_t)done;
	if (done) {
		b->done++;
		c->done_at = now_ns() - b->phase_t0;
		if (b->done == b->n)
			b->all_done_at = c->done_at;
	} else {
		b->done--;
	}
}

/*
 * The one thing a quorum arbiter must never do: give its vote to two
 * partitions of a cluster at once.  Among the connected clients of c's
 * cluster, those holding an ACK qnetd sent on their connection (not one
 * a NO_CHANGE confirmed from an earlier connection) must all be in one
 * membership (ring); only votes for the client's current ring count.  The
 * order holds here too: ffsplit takes the vote back (the NACK is read
 * and answered) before it gives it to another partition.
 */
static void
check_split_brain(struct bench *b, const struct client *c)
{
	const struct client *first = &b->c[c - b->c - (c->node_id - 1)];
	const struct qn_ring_id *acked = NULL;

	for (uint32_t i = 0; i < b->nodes; i++) {
		const struct client *o = &first[i];

		if (o->fd == -1 || o->state != ST_READY ||
		    o->live != QN_VOTE_ACK)
			continue;
		if (acked == NULL)
			acked = &o->ring;
		else if (!qn_ring_id_eq(acked, &o->ring)) {
			b->double_ack++;
			fprintf(stderr, "qnet-load: cluster %u: ACK held by two "
			    "partitions\n", c->cluster);
			return;
		}
	}
}

static void
got_vote(struct bench *b, struct client *c, uint8_t vote,
    const struct qn_ring_id *ring)
{
	c->last_vote = vote;
	c->last_vote_ring_ok = qn_ring_id_eq(ring, &c->ring);
	/* What this server gave on this connection, for check_split_brain. */
	if ((vote == QN_VOTE_ACK || vote == QN_VOTE_NACK) &&
	    c->last_vote_ring_ok)
		c->live = vote;
	/*
	 * NO_CHANGE for the current ring: the vote held stands.  qnetd says so
	 * when a new ring keeps a partition's vote as it was, and 3.0.3 even
	 * to a client that has just connected again: what it held before.
	 * What it holds is the last ACK or NACK for any ring: 3.0.3 takes an
	 * ACK back with a NACK for the old ring, then says NO_CHANGE.
	 */
	if (vote == QN_VOTE_ACK || vote == QN_VOTE_NACK)
		c->held = vote;
	else if (vote == QN_VOTE_NO_CHANGE && c->last_vote_ring_ok)
		vote = c->held;
	if ((vote != QN_VOTE_ACK && vote != QN_VOTE_NACK) ||
	    !qn_ring_id_eq(ring, &c->ring))
		return;
	c->vote = c->held = vote;
	if (c->live == QN_VOTE_ACK)
		check_split_brain(b, c);
	if (vote != c->expect)
		b->unexpected++;
	set_done(b, c, vote == c->expect);
}

static void
handle(struct bench *b, struct client *c, const uint8_t *data, size_t len)
{
	struct msg m, r;

	if (msg_decode(data, len, &m) != DECODE_OK) {
		b->errors++;
		msg_free(&m);
		return;
	}
	switch (m.type) {
	case QN_MSG_PREINIT_REPLY:
		if (c->tls) {
			msg_init(&r, QN_MSG_STARTTLS);
			msg_set_seq(&r, ++c->seq);
			c->state = ST_STARTTLS;
			queue(b, c, &r);
		} else {
			send_init(b, c);
		}
		break;
	case QN_MSG_INIT_REPLY:
		if (m.reply_error_code != 0) {
			b->errors++;
			break;
		}
		c->state = ST_READY;
		c->connect_deadline = 0;	/* connected, as qdevice sees it */
		if (c->ssl != NULL && SSL_session_reused(c->ssl))
			b->resumed++;
		send_list(b, c, QN_LIST_INITIAL_CONFIG);
		send_list(b, c, QN_LIST_MEMBERSHIP);
		send_list(b, c, QN_LIST_QUORUM);
		break;
	case QN_MSG_NODE_LIST_REPLY:
		c->last_vote_msg = m.type;
		got_vote(b, c, m.vote, &m.ring_id);
		break;
	case QN_MSG_VOTE_INFO:
		msg_init(&r, QN_MSG_VOTE_INFO_REPLY);
		msg_set_seq(&r, m.seq);
		queue(b, c, &r);
		c->last_vote_msg = m.type;
		got_vote(b, c, m.vote, &m.ring_id);
		break;
	case QN_MSG_ECHO_REPLY:
		if (c->echo_sent != 0 && m.seq == c->echo_seq) {
			sample(c->bg ? &b->bg_echo : &b->echo,
			    now_ns() - c->echo_sent);
			c->echo_sent = 0;
		}
		break;
	case QN_MSG_SERVER_ERROR:
		b->errors++;
		break;
	default:
		break;
	}
	msg_free(&m);
}

static void
on_readable(struct bench *b, struct client *c)
{
	uint8_t buf[4096];

	for (;;) {
		ssize_t n;
		size_t off = 0;

		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, buf, sizeof(buf));

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_READ)
					return;
				if (e == SSL_ERROR_WANT_WRITE) {
					epoll_set(b, c, 1);
					return;
				}
				disconnect(b, c);
				return;
			}
			n = r;
		} else {
			n = read(c->fd, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0) {
				disconnect(b, c);
				return;
			}
		}
		while (off < (size_t)n && c->fd != -1) {
			size_t used, len;
			enum reader_status st = reader_feed(&c->rd, buf + off,
			    (size_t)n - off, &used);
			const uint8_t *msg;

			off += used;
			if (st == READER_MORE)
				continue;
			if (st == READER_MESSAGE) {
				msg = reader_message(&c->rd, &len);
				handle(b, c, msg, len);
			}
			if (c->fd != -1)
				reader_next(&c->rd);
		}
		if (c->fd == -1)
			return;
	}
}

/* ------------------------------------------------------------------ */
/* Connections */

/* Like a real qdevice, a dropped client connects again (on the next tick). */
static void
retry_push(struct bench *b, struct client *c)
{
	if (b->nretry == b->retry_cap) {
		b->retry_cap = b->retry_cap ? b->retry_cap * 2 : 64;
		b->retry = realloc(b->retry, b->retry_cap * sizeof(*b->retry));
		if (b->retry == NULL)
			abort();
	}
	b->retry[b->nretry++] = c;
}

static void
schedule_retry(struct bench *b, struct client *c)
{
	retry_push(b, c);
	b->retries++;
}

/*
 * When a dropped client connects again, as a qdevice does it: after a
 * failed connect only when its connect timer expires; after a connection
 * that got further, after a random delay (0.9 x the cast vote interval in
 * qdevice, -J here); at once otherwise.
 */
static uint64_t
retry_time(const struct bench *b, const struct client *c, int timed_out)
{
	uint64_t t = now_ns();

	if (timed_out)
		return t;
	if (c->state == ST_CONNECTING && c->connect_deadline != 0)
		return c->connect_deadline;
	if (c->state > ST_CONNECTING && b->jitter_ms != 0)
		return t + (uint64_t)(random() % b->jitter_ms) * 1000000u;
	return t;
}

void
run_retries(struct bench *b)
{
	struct client **list = b->retry;
	size_t n = b->nretry;
	uint64_t t = now_ns();

	if (n == 0)
		return;
	/* A fresh list: connect_client() may add to it. */
	b->retry = NULL;
	b->nretry = b->retry_cap = 0;
	for (size_t i = 0; i < n; i++) {
		struct client *c = list[i];

		if (c->retry_at > t)
			retry_push(b, c);
		else
			connect_client(b, c, (size_t)(c - b->c));
	}
	free(list);
}

void
disconnect(struct bench *b, struct client *c)
{
	drop(b, c, 0);
}

void
drop(struct bench *b, struct client *c, int timed_out)
{
	if (c->fd == -1)
		return;
	c->retry_at = retry_time(b, c, timed_out);
	epoll_ctl(c->bg ? b->ep_bg : b->ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl != NULL) {
		if (b->resume && SSL_is_init_finished(c->ssl)) {
			/* As a qdevice's NSS keeps it; (OpenSSL spoils a
			 * session whose connection ends unclosed.) */
			SSL_SESSION_free(c->sess);
			c->sess = SSL_get1_session(c->ssl);
			SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN |
			    SSL_RECEIVED_SHUTDOWN);
		}
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	close(c->fd);
	c->fd = -1;
	c->state = ST_IDLE;
	c->out.len = c->out_off = 0;
	c->echo_sent = 0;
	c->vote = c->live = 0;	/* a vote belongs to its connection */
	reader_next(&c->rd);
	set_done(b, c, 0);
	if (!b->reconnecting)
		schedule_retry(b, c);
}

/* Connect timers that expired: give up and connect again at once. */
void
check_connect_timers(struct bench *b)
{
	uint64_t t = now_ns();

	if (b->connect_timeout_ms == 0 || t < b->next_scan)
		return;
	b->next_scan = t + 100 * 1000000u;
	for (size_t i = 0; i < b->n; i++) {
		struct client *c = &b->c[i];

		if (c->fd != -1 && c->connect_deadline != 0 &&
		    t >= c->connect_deadline) {
			b->timeouts++;
			/* ST_STARTTLS counts the TLS handshake too. */
			b->timeouts_in[c->ssl != NULL &&
			    !SSL_is_init_finished(c->ssl) ? ST_STARTTLS :
			    c->state]++;
			drop(b, c, 1);
		}
	}
}

void
connect_client(struct bench *b, struct client *c, size_t index)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)b->port) };
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int one = 1;

	inet_pton(AF_INET, b->host, &sa.sin_addr);
	c->connect_deadline = b->connect_timeout_ms == 0 ? 0 :
	    now_ns() + (uint64_t)b->connect_timeout_ms * 1000000u;
	c->retry_at = 0;
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		b->errors++;
		schedule_retry(b, c);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Many loopback sources: one address has only ~28,000 ports. */
	if (b->src_addrs > 1) {
		src.sin_addr.s_addr = htonl(0x7f000001u + 1 +
		    (uint32_t)(index % (size_t)b->src_addrs));
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		bind(c->fd, (struct sockaddr *)&src, sizeof(src));
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS) {
		b->errors++;
		close(c->fd);
		c->fd = -1;
		schedule_retry(b, c);
		return;
	}
	c->state = ST_CONNECTING;
	c->polling_out = 1;
	epoll_ctl(c->bg ? b->ep_bg : b->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

void
on_event(struct bench *b, struct client *c, uint32_t events)
{
	if (c->fd == -1)
		return;
	if (c->state == ST_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			b->errors++;
			disconnect(b, c);
			return;
		}
		epoll_set(b, c, 0);
		send_preinit(b, c);
		return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		on_readable(b, c);
	/* A TLS handshake step on read may let queued output go. */
	if (c->fd != -1 && ((events & EPOLLOUT) || c->out_off < c->out.len))
		flush(b, c);
}
