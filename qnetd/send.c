#include <inttypes.h>
#include <string.h>

#include "algo/algo.h"
#include "decide.h"
#include "log.h"
#include "names.h"
#include "qnetd.h"
#include "send.h"
#include "server.h"

void
log_vote(const struct client *c, const char *how, uint8_t vote,
    const struct qn_ring_id *ring, const char *reason)
{
	const char *cluster = c->cluster ? c->cluster->name : c->cluster_name;
	int decision = vote == QN_VOTE_ACK || vote == QN_VOTE_NACK;

	qb_log(decision ? LOG_INFO : LOG_DEBUG,
	    "cluster %s node %" PRIu32 " ring %" PRIx32 ".%" PRIx64
	    ": %s %s%s%s", cluster ? cluster : "?", c->node_id,
	    ring->node_id, ring->seq, how, vote_name(vote),
	    decision && reason[0] ? ": " : "", decision ? reason : "");
}

/*
 * A message that can't be queued ends the client (PROTOCOL.md §7.7).  A
 * full queue means the client does not read what we send: say so, with
 * the limit, since it may be an attack as much as a hung qdevice.
 */
static void
send_failed(struct client *c)
{
	struct qnetd *q = c->qnetd;

	switch (c->conn.send_err) {
	case CONN_SEND_QUEUE_FULL:
		limit_log(q, LIMIT_SEND_BUFFERS, c->addr,
		    q->set.max_client_send_buffers, "send queue full (the "
		    "client does not read), disconnecting");
		client_schedule_disconnect(c, "send queue full");
		break;
	case CONN_SEND_QUEUE_BYTES:
		limit_log(q, LIMIT_SEND_BYTES, c->addr,
		    q->set.max_client_send_bytes, "send queue full (the client "
		    "does not read), disconnecting");
		client_schedule_disconnect(c, "send queue full");
		break;
	case CONN_SEND_TOO_LARGE:
		log_err("Client %s: reply larger than max_client_send_size "
		    "(%lld), disconnecting", c->addr,
		    q->set.max_client_send_size);
		client_schedule_disconnect(c, "reply too large");
		break;
	default:
		client_schedule_disconnect(c, "can't queue a message");
		break;
	}
}

int
send_msg(struct client *c, const struct msg *m)
{
	if (c->closing)
		return -1;
	if (conn_send(&c->conn, m) != 0) {
		send_failed(c);
		return -1;
	}
	return 0;
}

int
send_raw(struct client *c, const uint8_t *data, size_t len)
{
	if (c->closing)
		return -1;
	if (conn_send_raw(&c->conn, data, len) != 0) {
		send_failed(c);
		return -1;
	}
	return 0;
}

int
send_error(struct client *c, const struct msg *req, uint8_t code)
{
	struct msg m;

	msg_init(&m, QN_MSG_SERVER_ERROR);
	if (req != NULL && msg_has(req, QN_OPT_SEQ)) {
		m.seq = req->seq;
		m.has |= QN_BIT(QN_OPT_SEQ);
	}
	m.reply_error_code = code;
	m.has |= QN_BIT(QN_OPT_REPLY_ERROR_CODE);
	return send_msg(c, &m);
}

int
send_vote_reply(struct client *c, struct msg *m, const struct decision *d)
{
	m->vote = d->vote;
	m->ring_id = c->ring_id;
	m->has |= QN_BIT(QN_OPT_VOTE) | QN_BIT(QN_OPT_RING_ID);
	if (send_msg(c, m) != 0)
		return -1;
	decide_record_vote(c, d->vote, d->reason);
	log_vote(c, "replied", d->vote, &c->ring_id, d->reason);
	return 0;
}

void
algo_send_vote_info(struct client *c, uint32_t seq, uint8_t vote,
    const struct qn_ring_id *ring, const char *reason)
{
	struct msg m;

	msg_init(&m, QN_MSG_VOTE_INFO);
	m.seq = seq;
	m.vote = vote;
	m.ring_id = *ring;
	m.has = QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_VOTE) | QN_BIT(QN_OPT_RING_ID);
	if (send_msg(c, &m) != 0)
		return;
	decide_record_vote(c, vote, reason);
	log_vote(c, "pushed", vote, ring, reason);
}

static void
algo_timer_fired(uv_timer_t *t)
{
	struct client *c = t->data;
	const struct algo *a = algo_get(c->algorithm);

	if (!c->closing && a != NULL && a->timer != NULL)
		a->timer(c);
}

void
algo_timer_start(struct client *c, uint32_t ms)
{
	c->algo_timer.data = c;
	/*
	 * lms waits heartbeat / 4 ms, 0 for a heartbeat under 4 ms (with
	 * heartbeat_interval_min lowered).  libuv runs a 0 ms timer that its
	 * own callback restarts again in the same pass, forever: the loop
	 * would never get back to I/O.
	 */
	if (ms == 0)
		ms = 1;
	uv_timer_start(&c->algo_timer, algo_timer_fired, ms, 0);
}

void
algo_timer_stop(struct client *c)
{
	uv_timer_stop(&c->algo_timer);
}
