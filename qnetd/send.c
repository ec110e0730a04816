#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "algo/algo.h"
#include "decide.h"
#include "gate.h"
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

/* ------------------------------------------------------------------ */
/* The ACK gate (gate.h) on the way out */

static void gate_fired(uv_timer_t *t);

/* Look at the held ACKs again at loop time at (0: never mind). */
static void
gate_arm(struct qnetd *q, uint64_t at)
{
	uint64_t now = uv_now(q->loop);
	uint64_t in = at > now ? at - now : 0;

	if (at == 0 || !q->server_ready)
		return;
	if (uv_is_active((uv_handle_t *)&q->gate_timer) &&
	    uv_timer_get_due_in(&q->gate_timer) <= in)
		return;
	uv_timer_start(&q->gate_timer, gate_fired, in, 0);
}

/* A NACK was sent: a held ACK may pass now. */
static void
gate_vote_sent(struct client *c, uint8_t vote)
{
	struct qnetd *q = c->qnetd;

	if (vote == QN_VOTE_NACK && gate_has_held(&q->gate))
		gate_arm(q, uv_now(q->loop));
}

/*
 * Does an ACK to c pass the gate?  If not it is held (VOTE_INFO seq and
 * ring, sent when the gate opens) and logged with why.
 */
static int
gate_passes(struct client *c, uint32_t seq, const struct qn_ring_id *ring,
    const char *reason)
{
	struct qnetd *q = c->qnetd;
	uint64_t now = uv_now(q->loop), retry;
	char why[DECISION_REASON_LEN];

	if (gate_allows(&q->gate, c, decide_partition(c), now, &retry, why,
	    sizeof(why)))
		return 1;
	if (gate_hold(&q->gate, c, seq, ring, reason, now) != 0) {
		client_schedule_disconnect(c, "out of memory");
		return 0;
	}
	log_info("cluster %s node %" PRIu32 " ring %" PRIx32 ".%" PRIx64
	    ": ACK held back: %s", c->cluster->name, c->node_id,
	    ring->node_id, ring->seq, why);
	gate_arm(q, retry != 0 ? retry : now + 1000);
	return 0;
}

static void
push_vote_info(struct client *c, uint32_t seq, uint8_t vote,
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

/* The gate let a held ACK through. */
static void
gate_release(struct client *c, uint32_t seq, const struct qn_ring_id *ring,
    const char *reason, uint64_t waited)
{
	char r[DECISION_REASON_LEN];

	if (c->closing)
		return;
	snprintf(r, sizeof(r), "%s (held back %.1f s until no other vote "
	    "could count)", reason, (double)waited / 1000);
	push_vote_info(c, seq, QN_VOTE_ACK, ring, r);
}

static void
gate_fired(uv_timer_t *t)
{
	struct qnetd *q = t->data;
	uint64_t now = uv_now(q->loop);
	uint64_t next = gate_retry(&q->gate, decide_partition, gate_release,
	    now);

	gate_sweep(&q->gate, now);
	if (next == 0 && q->gate.nrecs > 0)
		next = now + GATE_SWEEP_MS;
	gate_arm(q, next);
}

void
gate_start(struct qnetd *q)
{
	gate_init(&q->gate, q->set.ack_grace_coefficient, uv_now(q->loop));
	uv_timer_init(q->loop, &q->gate_timer);
	q->gate_timer.data = q;
}

void
gate_client_leaves(struct client *c)
{
	struct qnetd *q = c->qnetd;
	uint64_t now = uv_now(q->loop);

	if (q->stopping) {
		gate_cancel(&q->gate, c);	/* nothing is decided any more */
		return;
	}
	gate_client_left(&q->gate, c, c->closed_by_peer, now);
	if (gate_has_held(&q->gate))
		gate_arm(q, now);
	else if (q->gate.nrecs > 0)
		gate_arm(q, now + GATE_SWEEP_MS);
}

int
send_vote_reply(struct client *c, struct msg *m, const struct decision *d)
{
	uint8_t vote = d->vote;
	const char *reason = d->reason;

	if (vote != QN_VOTE_NO_CHANGE)
		gate_cancel(&c->qnetd->gate, c);
	/*
	 * A held ACK comes later by VOTE_INFO, numbered as lms numbers its
	 * timer's (ffsplit never replies ACK); meanwhile wait for it.
	 */
	if (vote == QN_VOTE_ACK && !gate_passes(c, c->timer_vote_info_seq + 1,
	    &c->ring_id, reason)) {
		c->timer_vote_info_seq++;
		vote = QN_VOTE_WAIT_FOR_REPLY;
		reason = "";
	}
	m->vote = vote;
	m->ring_id = c->ring_id;
	m->has |= QN_BIT(QN_OPT_VOTE) | QN_BIT(QN_OPT_RING_ID);
	if (send_msg(c, m) != 0)
		return -1;
	decide_record_vote(c, vote, reason);
	log_vote(c, "replied", vote, &c->ring_id, reason);
	gate_vote_sent(c, vote);
	return 0;
}

void
algo_send_vote_info(struct client *c, uint32_t seq, uint8_t vote,
    const struct qn_ring_id *ring, const char *reason)
{
	gate_cancel(&c->qnetd->gate, c);
	if (vote == QN_VOTE_ACK && !gate_passes(c, seq, ring, reason))
		return;
	push_vote_info(c, seq, vote, ring, reason);
	gate_vote_sent(c, vote);
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
