/* The harness of the qnetd fuzz targets (qnetd_harness.h). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "decide.h"
#include "enroll_msg.h"
#include "log.h"
#include "msg.h"
#include "qnetd.h"
#include "reader.h"
#include "qnetd_harness.h"
#include "server.h"

void
harness_init(const char *name)
{
	struct log_opts lo = { .foreground = 1, .debug = 1 };

	signal(SIGPIPE, SIG_IGN);
	if (getenv("FUZZ_QNETD_LOG") != NULL)
		log_open(name, &lo);
}

void
fail(const char *what)
{
	fprintf(stderr, "fuzz_qnetd: %s\n", what);
	abort();
}

/* ------------------------------------------------------------------ */
/* Replies */

static int
is_reply_type(uint16_t t)
{
	switch (t) {
	case QN_MSG_PREINIT_REPLY:
	case QN_MSG_INIT_REPLY:
	case QN_MSG_SERVER_ERROR:
	case QN_MSG_SET_OPTION_REPLY:
	case QN_MSG_ECHO_REPLY:
	case QN_MSG_NODE_LIST_REPLY:
	case QN_MSG_ASK_FOR_VOTE_REPLY:
	case QN_MSG_VOTE_INFO:
	case QN_MSG_HEURISTICS_CHANGE_REPLY:
	case QN_MSG_ENROLL_REPLY:
		return 1;
	default:
		return 0;
	}
}

static int
has_all(const struct msg *m, uint32_t bits)
{
	return (m->has & bits) == bits;
}

/* What a qdevice needs in each reply (PROTOCOL.md §5.1, §5.3). */
static void
check_reply(const struct harness *h, const uint8_t *data, size_t len)
{
	const uint32_t vote = QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_VOTE) |
	    QN_BIT(QN_OPT_RING_ID);
	struct msg m;
	int ok = 1;

	if (len > h->max_send)
		fail("reply larger than max_client_send_size");
	/*
	 * A SET_OPTION without a seq and with nothing to echo gets a reply
	 * with no body, byte for byte as 3.0.3's (observed); the decoder
	 * rightly calls an empty body inconsistent.
	 */
	if (len == 6 && data[0] == 0 && data[1] == QN_MSG_SET_OPTION_REPLY)
		return;
	if (msg_decode(data, len, &m) != DECODE_OK)
		fail("reply does not decode");
	switch (m.type) {
	case QN_MSG_PREINIT_REPLY:
		ok = has_all(&m, QN_BIT(QN_OPT_TLS_SUPPORTED) |
		    QN_BIT(QN_OPT_TLS_CLIENT_CERT_REQUIRED));
		break;
	case QN_MSG_INIT_REPLY:
		ok = has_all(&m, QN_BIT(QN_OPT_REPLY_ERROR_CODE) |
		    QN_BIT(QN_OPT_SERVER_MAX_REQUEST_SIZE) |
		    QN_BIT(QN_OPT_SERVER_MAX_REPLY_SIZE) |
		    QN_BIT(QN_OPT_SUPPORTED_ALGORITHMS));
		break;
	case QN_MSG_SERVER_ERROR:
		ok = has_all(&m, QN_BIT(QN_OPT_REPLY_ERROR_CODE)) &&
		    m.reply_error_code != QN_ERR_NONE;
		break;
	case QN_MSG_NODE_LIST_REPLY:
		ok = has_all(&m, vote | QN_BIT(QN_OPT_NODE_LIST_TYPE));
		break;
	case QN_MSG_ASK_FOR_VOTE_REPLY:
		ok = has_all(&m, vote);
		break;
	case QN_MSG_VOTE_INFO:
		ok = has_all(&m, vote) && (m.vote == QN_VOTE_ACK ||
		    m.vote == QN_VOTE_NACK);
		break;
	case QN_MSG_HEURISTICS_CHANGE_REPLY:
		ok = has_all(&m, vote | QN_BIT(QN_OPT_HEURISTICS));
		break;
	default:
		break;
	}
	msg_free(&m);
	if (!ok)
		fail("reply lacks an option the qdevice requires");
}

void
slot_close(struct slot *s)
{
	if (s->fd == -1)
		return;
	close(s->fd);
	s->fd = -1;
	s->paused = 0;
	reader_free(&s->rd);
}

/* An enrolment reply carries its result; the others as above. */
static void
check_enroll_or_reply(const struct harness *h, const uint8_t *data,
    size_t len)
{
	struct enroll_msg e;

	if (!enroll_msg_is_type(get_u16(data))) {
		check_reply(h, data, len);
		return;
	}
	if (enroll_msg_decode(data, len, &e) != 0 || !e.has_error)
		fail("enrolment reply without its result");
}

/* Feed what arrived to the slot's reader; at EOF the slot closes. */
static int
drain(struct harness *h, struct slot *s)
{
	uint8_t buf[8192];
	int got = 0;
	ssize_t n;

	while (s->fd != -1 && !s->paused) {
		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		got = 1;
		if (n <= 0) {
			/*
			 * The server hung up.  A reply may be cut short: a
			 * client dropped for a full queue loses the rest.
			 */
			slot_close(s);
			break;
		}
		for (size_t off = 0; off < (size_t)n; ) {
			size_t used, len;
			enum reader_status st = reader_feed(&s->rd, buf + off,
			    (size_t)n - off, &used);

			off += used;
			if (st == READER_MORE)
				continue;
			if (st != READER_MESSAGE)
				fail("reply of unknown type or oversized");
			{
				const uint8_t *m = reader_message(&s->rd, &len);

				if (!is_reply_type((uint16_t)(m[0] << 8 | m[1])))
					fail("server sent a client message type");
				check_enroll_or_reply(h, m, len);
			}
			reader_next(&s->rd);
		}
	}
	return got;
}

/* ------------------------------------------------------------------ */
/* The loop */

/* Work the server has not done yet. */
static int
busy(struct harness *h)
{
	struct qnetd *q = &h->q;

	if (uv_is_active((uv_handle_t *)&q->conn_ctx.idle) ||
	    server_reaping(q))
		return 1;
	for (struct client *c = server_first_client(q); c != NULL;
	    c = server_next_client(c)) {
		int avail = 0;

		/* (A throttled client's data waits for the timer.) */
		if (c->closing || c->conn.fd < 0 || c->conn.failed ||
		    c->conn.read_paused)
			continue;
		if (ioctl(c->conn.fd, FIONREAD, &avail) == 0 && avail > 0)
			return 1;
	}
	return 0;
}

/* Run the loop until the server has nothing left to do. */
/*
 * A connection belongs to one cluster for its life (D25): a client in a
 * cluster is in the one its PREINIT named, whatever PREINIT, STARTTLS and
 * INIT order the input tried.
 */
static void
check_binding(const struct harness *h)
{
	for (const struct client *c = server_first_client(&h->q); c != NULL;
	    c = server_next_client(c)) {
		if (!c->init_done || c->closing)
			continue;
		if (c->m.cluster == NULL ||
		    c->m.cluster->name_len != c->m.cluster_name_len ||
		    memcmp(c->m.cluster->name, c->m.cluster_name,
		    c->m.cluster_name_len) != 0)
			fail("a client votes in a cluster its PREINIT no longer "
			    "names");
	}
}

void
pump(struct harness *h)
{
	for (int i = 0; i < MAX_ROUNDS; i++) {
		int got = 0;

		uv_run(&h->loop, UV_RUN_NOWAIT);
		for (int k = 0; k < SLOTS; k++)
			got |= drain(h, &h->s[k]);
		if (!got && !busy(h)) {
			check_binding(h);
			return;
		}
	}
	fail("the loop does not settle (livelock?)");
}

struct deadline {
	uint64_t next;
	int fire;
};

/* Find the next deadline, or (fire) start every timer due then now. */
static void
deadline_walk(uv_handle_t *hd, void *arg)
{
	struct deadline *d = arg;
	uv_timer_t *t = (uv_timer_t *)hd;

	if (hd->type != UV_TIMER || !uv_is_active(hd))
		return;
	if (!d->fire && uv_timer_get_due_in(t) < d->next)
		d->next = uv_timer_get_due_in(t);
	else if (d->fire && uv_timer_get_due_in(t) <= d->next)
		/* timer_cb is libuv's (private) record of the callback. */
		uv_timer_start(t, t->timer_cb, 0, uv_timer_get_repeat(t));
}

/* Time passes up to the next timer deadline: the timers due then fire. */
void
advance(struct harness *h)
{
	struct deadline d = { UINT64_MAX, 0 };

	uv_walk(&h->loop, deadline_walk, &d);
	if (d.next == UINT64_MAX)
		return;
	/* The loop's clock can't be moved: move the rate limiter's stamps. */
	for (struct client *c = server_first_client(&h->q); c != NULL;
	    c = server_next_client(c)) {
		c->rate_stamp = c->rate_stamp > d.next ?
		    c->rate_stamp - d.next : 0;
		/* Likewise the lazy dead-peer timer's last message. */
		c->dpd_last = c->dpd_last > d.next ? c->dpd_last - d.next : 0;
	}
	d.fire = 1;
	uv_walk(&h->loop, deadline_walk, &d);
	pump(h);
}

/* ------------------------------------------------------------------ */
/* Clients */

static int
slot_open(struct harness *h, int k)
{
	struct slot *s = &h->s[k];
	char addr[CLIENT_ADDR_LEN];
	int sv[2], small = 1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) != 0)
		return -1;
	if (h->small_buf) {
		/* The kernel rounds these up to its minimum. */
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
		setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	s->fd = sv[0];
	s->paused = 0;
	reader_init(&s->rd, 1 << 20);
	snprintf(addr, sizeof(addr), "::ffff:192.0.2.%d:%u", k + 1,
	    40000 + s->serial++);
	server_add_client(&h->q, sv[1], addr);
	return 0;
}

void
slot_write(struct harness *h, int k, const uint8_t *p, size_t len)
{
	struct slot *s = &h->s[k];
	int stalled = 0;

	if (s->fd == -1 && slot_open(h, k) != 0)
		return;
	while (len > 0) {
		ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			stalled = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    stalled++ < 8) {
			/* The server reads as we pump; replies may pile up. */
			pump(h);
			if (s->fd == -1)
				return;
			continue;
		}
		/* EPIPE: the server dropped us.  Or it stopped reading. */
		return;
	}
}

/* ------------------------------------------------------------------ */

static void
close_walk(uv_handle_t *hd, void *arg)
{
	(void)arg;
	if (!uv_is_closing(hd))
		uv_close(hd, NULL);
}

void
setup(struct harness *h, uint8_t cfg, uint8_t cfg2)
{
	struct qnetd *q = &h->q;
	static const int tls[] = { QN_TLS_UNSUPPORTED, QN_TLS_UNSUPPORTED,
	    QN_TLS_SUPPORTED, QN_TLS_REQUIRED };

	qnetd_defaults(q);
	q->tls_mode = tls[cfg & CFG_TLS_MASK];
	q->client_cert_required = !(cfg & CFG_NO_CERT);
	q->set.keep_active_partition_tie_breaker = (cfg & CFG_KAP) != 0;
	q->set.dpd_enabled = !(cfg & CFG_NO_DPD);
	if (cfg & CFG_SMALL_BUF) {
		q->set.max_client_send_buffers = 2;
		h->small_buf = 1;
	}
	if (cfg & CFG_SMALL_MSG)
		q->set.max_client_receive_size = q->set.max_client_send_size =
		    256;
	if (cfg2 & CFG2_RATE)
		q->set.max_client_message_rate = 20;
	if (cfg2 & CFG2_SEND_BYTES)
		q->set.max_client_send_bytes = 300;
	if (cfg2 & CFG2_INIT_TMO)
		q->set.init_timeout = 2000;
	if (cfg2 & CFG2_CLUSTERS)
		q->set.max_clusters = 1;
	if (cfg2 & CFG2_HB_MIN)
		q->set.heartbeat_interval_min = 1;
	if (cfg2 & CFG2_DPD_COEF)
		q->set.dpd_interval_coefficient = 1000;
	h->max_send = (size_t)q->set.max_client_send_size;

	/* main(): the loop, the connection context, the clusters. */
	if (uv_loop_init(&h->loop) != 0)
		fail("uv_loop_init");
	q->loop = &h->loop;
	if (conn_ctx_init(&q->conn_ctx, &h->loop) != 0 ||
	    decide_core_init(&q->core) != 0)
		fail("out of memory");
	/* server_start() without the listening socket. */
	server_init(q);

	for (int k = 0; k < SLOTS; k++)
		h->s[k].fd = -1;
}

void
teardown(struct harness *h, int shutdown)
{
	struct qnetd *q = &h->q;

	if (shutdown) {
		/* SIGTERM: every client goes with "server going down". */
		server_stop(q);
		pump(h);
	}
	for (int k = 0; k < SLOTS; k++)
		slot_close(&h->s[k]);
	pump(h);
	/* A throttled client reads its EOF when the rate limiter's tick
	 * resumes it (or a dead-peer timer ends it). */
	for (int i = 0; i < 64 && server_first_client(q) != NULL; i++)
		advance(h);
	if (server_first_client(q) != NULL || server_client_count(q) != 0 ||
	    server_reaping(q))
		fail("a client outlived its connection");
	if (q->core.clusters.count != 0)
		fail("a cluster outlived its clients");

	/* main()'s cleanup. */
	conn_ctx_close(&q->conn_ctx);
	uv_walk(&h->loop, close_walk, NULL);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&h->loop) != 0)
		fail("handles left open on the loop");
	server_free(q);
	decide_core_free(&q->core);
}

