/*
 * fuzz_qdevice: the harness's end of the qdevice's connection, playing
 * qnetd (see fuzz_qdevice.c): it checks what the qdevice sends and answers
 * its requests.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "fuzz_qdevice.h"

static const uint8_t VOTES[8] = { QN_VOTE_ACK, QN_VOTE_NACK,
    QN_VOTE_ASK_LATER, QN_VOTE_WAIT_FOR_REPLY, QN_VOTE_NO_CHANGE,
    QN_VOTE_ACK, QN_VOTE_NACK, 0 /* invalid on the wire */ };

/* ------------------------------------------------------------------ */
/* The server's side */

static void
request_free(struct request *r)
{
	free(r->raw);
	r->raw = NULL;
}

void
server_close(void)
{
	if (h.srv != -1)
		close(h.srv);
	h.srv = -1;
	reader_free(&h.rd);
	reader_init(&h.rd, 1 << 20);
	for (size_t i = 0; i < h.npending; i++)
		request_free(&h.pending[i]);
	h.npending = 0;
}

static int
has_all(const struct msg *m, uint32_t bits)
{
	return (m->has & bits) == bits;
}

/* A message the qdevice sent: check it, keep requests for the reply. */
static void
client_message(const uint8_t *data, size_t len)
{
	const uint32_t seq = QN_BIT(QN_OPT_SEQ);
	struct request r = { 0 };
	struct msg m;
	int ok;

	if (msg_decode(data, len, &m) != DECODE_OK)
		fail("the qdevice sent a message that does not decode");
	switch (m.type) {
	case QN_MSG_PREINIT:
		ok = has_all(&m, seq | QN_BIT(QN_OPT_CLUSTER_NAME)) &&
		    m.cluster_name_len == 4 &&
		    memcmp(m.cluster_name, "demo", 4) == 0;
		break;
	case QN_MSG_INIT:
		/* qnetd 3.0.3 requires 4 and 5 back only if INIT had them. */
		ok = has_all(&m, seq | QN_BIT(QN_OPT_NODE_ID) |
		    QN_BIT(QN_OPT_ALGORITHM) |
		    QN_BIT(QN_OPT_HEARTBEAT_INTERVAL) |
		    QN_BIT(QN_OPT_TIE_BREAKER) | QN_BIT(QN_OPT_RING_ID) |
		    QN_BIT(QN_OPT_SUPPORTED_MESSAGES) |
		    QN_BIT(QN_OPT_SUPPORTED_OPTIONS)) && m.node_id == 1;
		if (ok)
			h.ring = m.ring_id;
		break;
	case QN_MSG_NODE_LIST:
		ok = has_all(&m, seq | QN_BIT(QN_OPT_NODE_LIST_TYPE)) &&
		    (m.node_list_type != QN_LIST_MEMBERSHIP ||
		    msg_has(&m, QN_OPT_RING_ID)) &&
		    (m.node_list_type != QN_LIST_QUORUM ||
		    msg_has(&m, QN_OPT_QUORATE));
		if (ok && m.node_list_type == QN_LIST_MEMBERSHIP)
			h.ring = m.ring_id;
		break;
	case QN_MSG_SET_OPTION:
	case QN_MSG_ECHO_REQUEST:
	case QN_MSG_ASK_FOR_VOTE:
	case QN_MSG_VOTE_INFO_REPLY:
		ok = has_all(&m, seq);
		break;
	case QN_MSG_HEURISTICS_CHANGE:
		ok = has_all(&m, seq | QN_BIT(QN_OPT_HEURISTICS));
		break;
	case QN_MSG_STARTTLS:
		fail("STARTTLS with TLS off");
	default:
		fail("the qdevice sent a server message type");
	}
	if (!ok) {
		msg_free(&m);
		fail("the qdevice's message lacks an option qnetd requires");
	}
	if (m.type != QN_MSG_VOTE_INFO_REPLY && h.npending < MAX_PENDING) {
		r.type = m.type;
		r.seq = m.seq;
		r.has_seq = msg_has(&m, QN_OPT_SEQ);
		r.list_type = m.node_list_type;
		r.heuristics = m.heuristics;
		r.heartbeat = m.heartbeat_interval;
		r.has_heartbeat = msg_has(&m, QN_OPT_HEARTBEAT_INTERVAL);
		r.kap = m.kap_tie_breaker;
		r.has_kap = msg_has(&m, QN_OPT_KAP_TIE_BREAKER);
		if (m.type == QN_MSG_ECHO_REQUEST &&
		    (r.raw = malloc(len)) != NULL) {
			memcpy(r.raw, data, len);
			r.len = len;
		}
		h.pending[h.npending++] = r;
	}
	msg_free(&m);
}

/* Take the qdevice's new connection; read what it sent.  1: progress. */
int
server_io(void)
{
	uint8_t buf[8192];
	int got = 0, fd;
	ssize_t n;

	while ((fd = accept4(listen_fd, NULL, NULL,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		/* One connection at a time: a new one replaces the old. */
		server_close();
		h.srv = fd;
		got = 1;
	}
	while (h.srv != -1) {
		n = read(h.srv, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		got = 1;
		if (n <= 0) {
			server_close();
			break;
		}
		for (size_t off = 0; off < (size_t)n; ) {
			size_t used, len;
			enum reader_status st = reader_feed(&h.rd, buf + off,
			    (size_t)n - off, &used);
			const uint8_t *m;

			off += used;
			if (st == READER_MORE)
				continue;
			if (st != READER_MESSAGE)
				fail("the qdevice sent an unknown type");
			m = reader_message(&h.rd, &len);
			client_message(m, len);
			reader_next(&h.rd);
		}
	}
	return got;
}

void
server_write(const uint8_t *p, size_t len)
{
	while (h.srv != -1 && len > 0) {
		ssize_t n = send(h.srv, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			/* Full (the qdevice stopped reading) or gone. */
			return;
		}
	}
}

static void
server_send(struct msg *m)
{
	struct buf b;

	buf_init(&b);
	if (msg_encode(m, &b, SIZE_MAX) == 0)
		server_write(b.data, b.len);
	buf_free(&b);
}

static void
vote_opts(struct msg *m, uint8_t op)
{
	struct qn_ring_id ring = h.ring;

	if (op & 8)
		ring.seq--;			/* a vote for an old ring */
	msg_set_vote(m, VOTES[op & 7]);
	msg_set_ring_id(m, &ring);
}

/* What qnetd answers to the oldest request not yet answered. */
void
auto_reply(uint8_t op)
{
	struct request r;
	struct msg m;

	if (h.npending == 0)
		return;
	r = h.pending[0];
	memmove(h.pending, h.pending + 1, --h.npending * sizeof(r));
	msg_init(&m, QN_MSG_SERVER_ERROR);
	if (r.has_seq)
		msg_set_seq(&m, r.seq);
	switch (r.type) {
	case QN_MSG_PREINIT:
		m.type = QN_MSG_PREINIT_REPLY;
		/* Mostly TLS off; sometimes on or required (incompatible). */
		msg_set_tls_supported(&m, (op & 7) < 5 ? QN_TLS_UNSUPPORTED :
		    (op & 7) < 7 ? QN_TLS_SUPPORTED : QN_TLS_REQUIRED);
		msg_set_tls_client_cert_required(&m, 1);
		break;
	case QN_MSG_INIT:
		m.type = QN_MSG_INIT_REPLY;
		msg_set_reply_error_code(&m,
		    op & 8 ? (op & 7) + 12 : QN_ERR_NONE);
		msg_set_server_max_request_size(&m, 32768);
		msg_set_server_max_reply_size(&m, 32768);
		msg_set_supported_messages(&m, &msg_all_messages);
		msg_set_supported_options(&m, &msg_all_options);
		msg_set_supported_algorithms(&m, &msg_all_algorithms);
		break;
	case QN_MSG_SET_OPTION:
		m.type = QN_MSG_SET_OPTION_REPLY;
		if (r.has_heartbeat)
			msg_set_heartbeat_interval(&m, r.heartbeat);
		if (r.has_kap)
			msg_set_kap_tie_breaker(&m, r.kap);
		break;
	case QN_MSG_ECHO_REQUEST:
		if (r.raw != NULL) {
			r.raw[1] = QN_MSG_ECHO_REPLY;
			server_write(r.raw, r.len);
		}
		request_free(&r);
		return;
	case QN_MSG_NODE_LIST:
		m.type = QN_MSG_NODE_LIST_REPLY;
		msg_set_node_list_type(&m, r.list_type);
		vote_opts(&m, op);
		break;
	case QN_MSG_ASK_FOR_VOTE:
		m.type = QN_MSG_ASK_FOR_VOTE_REPLY;
		vote_opts(&m, op);
		break;
	case QN_MSG_HEURISTICS_CHANGE:
		m.type = QN_MSG_HEURISTICS_CHANGE_REPLY;
		msg_set_heuristics(&m, r.heuristics);
		vote_opts(&m, op);
		break;
	default:
		request_free(&r);
		return;
	}
	server_send(&m);
}

void
vote_info(uint8_t op)
{
	struct msg m;

	msg_init(&m, QN_MSG_VOTE_INFO);
	msg_set_seq(&m, ++h.vote_info_seq);
	vote_opts(&m, op);
	server_send(&m);
}
