#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "decide.h"
#include "events.h"
#include "log.h"
#include "persist.h"
#include "qnetd.h"
#include "send.h"
#include "server.h"

/* By vote, in the order of enum qn_vote from QN_VOTE_ACK. */
COUNTER_DEFINE(votes, "vote", "ack", "nack", "ask_later", "wait_for_reply",
    "no_change");

static void
count_vote(uint8_t vote)
{
	if (vote >= QN_VOTE_ACK)
		counter_inc(&votes, (size_t)(vote - QN_VOTE_ACK));
}

const struct counter *
send_votes(void)
{
	return &votes;
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
		c->qnetd->up->disconnect(c, "send queue full");
		break;
	case CONN_SEND_QUEUE_BYTES:
		limit_log(q, LIMIT_SEND_BYTES, c->addr,
		    q->set.max_client_send_bytes, "send queue full (the client "
		    "does not read), disconnecting");
		c->qnetd->up->disconnect(c, "send queue full");
		break;
	case CONN_SEND_TOO_LARGE:
		log_err("Client %s: reply larger than max_client_send_size "
		    "(%lld), disconnecting", c->addr,
		    q->set.max_client_send_size);
		c->qnetd->up->disconnect(c, "reply too large");
		break;
	default:
		c->qnetd->up->disconnect(c, "can't queue a message");
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
	if (req != NULL && msg_has(req, QN_OPT_SEQ))
		msg_set_seq(&m, req->seq);
	msg_set_reply_error_code(&m, code);
	return send_msg(c, &m);
}

/* ------------------------------------------------------------------ */
/* The decision core's services (core.h): votes leave as messages, the
 * algorithm's and the ACK gate's timers are libuv timers. */

static int
svc_send_vote_info(void *ctx, struct member *m, uint32_t seq, uint8_t vote,
    const struct qn_ring_id *ring, const char *reason)
{
	struct msg msg;
	int rc;

	(void)ctx;
	msg_init(&msg, QN_MSG_VOTE_INFO);
	msg_set_seq(&msg, seq);
	msg_set_vote(&msg, vote);
	msg_set_ring_id(&msg, ring);
	count_vote(vote);
	rc = send_msg(client_of(m), &msg);
	/* The vote first; the core records it only after this returns. */
	events_vote(client_of(m)->qnetd->events, m, vote, reason);
	return rc;
}

static int
svc_send_reply(void *ctx, struct member *m, void *reply, uint8_t vote,
    const struct qn_ring_id *ring, const char *reason)
{
	struct msg *msg = reply;
	int rc;

	(void)ctx;
	msg_set_vote(msg, vote);
	msg_set_ring_id(msg, ring);
	count_vote(vote);
	rc = send_msg(client_of(m), msg);
	events_vote(client_of(m)->qnetd->events, m, vote, reason);
	return rc;
}

static void
algo_timer_fired(uv_timer_t *t)
{
	struct client *c = t->data;

	if (!c->closing)
		decide_timer(&c->m);
}

static void
svc_timer_start(void *ctx, struct member *m, uint32_t ms)
{
	struct client *c = client_of(m);

	(void)ctx;
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

static void
svc_timer_stop(void *ctx, struct member *m)
{
	(void)ctx;
	uv_timer_stop(&client_of(m)->algo_timer);
}

static uint64_t
svc_now(void *ctx)
{
	struct qnetd *q = ctx;

	return uv_now(q->loop);
}

static void
gate_fired(uv_timer_t *t)
{
	struct qnetd *q = t->data;

	decide_gate_fired(&q->core);
}

/* Look at the held ACKs again at loop time at. */
static void
svc_gate_timer(void *ctx, uint64_t at)
{
	struct qnetd *q = ctx;
	uint64_t now = uv_now(q->loop);
	uint64_t in = at > now ? at - now : 0;

	if (!q->server_ready)
		return;
	if (uv_is_active((uv_handle_t *)&q->gate_timer) &&
	    uv_timer_get_due_in(&q->gate_timer) <= in)
		return;
	uv_timer_start(&q->gate_timer, gate_fired, in, 0);
}

static void
svc_drop(void *ctx, struct member *m, const char *why)
{
	struct client *c = client_of(m);

	(void)ctx;
	c->qnetd->up->disconnect(c, why);
}

void
gate_start(struct qnetd *q)
{
	const struct decide_services svc = {
		.ctx = q,
		.send_vote_info = svc_send_vote_info,
		.send_reply = svc_send_reply,
		.timer_start = svc_timer_start,
		.timer_stop = svc_timer_stop,
		.now = svc_now,
		.gate_timer = svc_gate_timer,
		.drop = svc_drop,
		.memory_changed = persist_changed,
	};

	uv_timer_init(q->loop, &q->gate_timer);
	q->gate_timer.data = q;
	decide_core_start(&q->core, &svc, q->set.ack_grace_coefficient);
	persist_start(q);
}
