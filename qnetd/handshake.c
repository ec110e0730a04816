/*
 * TLS handshakes: a bounded number at a time, shared fairly among source
 * addresses, and no slot for a peer that stalls.
 *
 * A handshake costs the server milliseconds of CPU.  In a reconnect storm
 * of thousands of TLS clients, doing them all at once makes each take as
 * long as all of them together: past the clients' 8 s connect timer none
 * completes, they all retry, and the server works on for nothing.  With
 * max_tls_handshakes at a time, each finishes quickly; the others wait,
 * reading paused (their ClientHello stays in the kernel, costing nothing).
 *
 * Slots must not become the thing an attacker takes instead: a host that
 * opens connections, sends a ClientHello and stalls costs us no CPU but
 * held a slot for seconds, and with newest-first service enough of them
 * kept everybody else waiting.  So:
 * - a slot is held only while the handshake makes progress: a peer that
 *   leaves us nothing to read and sends nothing for tls_handshake_stall_
 *   timeout loses it, and one that trickles loses it after HOLD_STALLS
 *   times that (the handshake itself goes on, bounded by init_timeout);
 *   only when its data waits for us (we are behind) is there no bound;
 * - the free slots go round the source addresses that have clients
 *   waiting, one client per address per turn, so one address (or a few)
 *   can't take every turn, however fast it connects.
 */
#include <inttypes.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "client.h"
#include "handshake.h"
#include "log.h"
#include "qnetd.h"
#include "server.h"

COUNTER_DEFINE(results, "result", "ok", "failed");
HISTOGRAM_DEFINE(durations, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25, 0.5, 1, 2.5, 5, 10);

/* A handshake ended, for the metrics: once per handshake. */
static void
counted(struct client *c, int ok)
{
	if (c->hs.started_ns == 0)
		return;
	counter_inc(&results, ok ? 0 : 1);
	if (ok)
		histogram_observe(&durations,
		    (double)(uv_hrtime() - c->hs.started_ns) / 1e9);
	c->hs.started_ns = 0;
}

/*
 * A slot is held at most this many stall timeouts while its peer has
 * the turn (2 s by default): a qdevice needs a few round trips.
 */
#define HOLD_STALLS	4

static void admit(struct qnetd *q);

/* ------------------------------------------------------------------ */
/* Waiting: a round of source addresses, each with its clients */

/*
 * An address that had nobody waiting goes first: among hosts with one
 * client each (a storm of qdevices) that is the newest, which has the
 * most of its connect timer left, and a host that just came is not kept
 * behind addresses that have many waiting.
 */
static void
enqueue(struct hs_admission *hs, struct client *c, struct hs_source *src)
{
	if (!src->queued) {
		TAILQ_INIT(&src->waiting);
		TAILQ_INSERT_HEAD(&hs->round, src, turn);
		src->queued = 1;
	}
	TAILQ_INSERT_TAIL(&src->waiting, c, hs.link);
	c->hs.source = src;
	c->hs.waiting = 1;
}

static void
dequeue(struct hs_admission *hs, struct client *c)
{
	struct hs_source *src = c->hs.source;

	TAILQ_REMOVE(&src->waiting, c, hs.link);
	c->hs.source = NULL;
	c->hs.waiting = 0;
	if (TAILQ_EMPTY(&src->waiting)) {
		TAILQ_REMOVE(&hs->round, src, turn);
		src->queued = 0;
	}
}

/*
 * The next client to get a slot: the newest of the address whose turn it
 * is (under overload the oldest are about to give up, their connect
 * timer; a handshake begun for them is wasted).  The address then waits
 * for every other one's turn.
 */
static struct client *
next_waiting(struct hs_admission *hs)
{
	struct hs_source *src = TAILQ_FIRST(&hs->round);
	struct client *c;

	if (src == NULL)
		return NULL;
	c = TAILQ_LAST(&src->waiting, hs_queue);
	dequeue(hs, c);
	if (src->queued) {
		TAILQ_REMOVE(&hs->round, src, turn);
		TAILQ_INSERT_TAIL(&hs->round, src, turn);
	}
	return c;
}

/* ------------------------------------------------------------------ */
/* Slots */

static void on_check(uv_timer_t *t);

/* The timer waits for the first slot's check (none: stopped). */
static void
arm(struct qnetd *q)
{
	struct hs_admission *hs = &q->hs;
	struct client *first = TAILQ_FIRST(&hs->slots);
	uint64_t now = uv_now(q->loop);

	if (first == NULL || q->set.tls_handshake_stall_timeout == 0) {
		uv_timer_stop(&hs->timer);
		return;
	}
	uv_timer_start(&hs->timer, on_check,
	    first->hs.check_at > now ? first->hs.check_at - now : 0, 0);
}

/* Into the slots in check_at order; it is usually the latest. */
static void
slots_insert(struct hs_admission *hs, struct client *c)
{
	struct client *after = TAILQ_LAST(&hs->slots, hs_queue);

	while (after != NULL && after->hs.check_at > c->hs.check_at)
		after = TAILQ_PREV(after, hs_queue, hs.link);
	if (after == NULL)
		TAILQ_INSERT_HEAD(&hs->slots, c, hs.link);
	else
		TAILQ_INSERT_AFTER(&hs->slots, after, c, hs.link);
}

static void
slot_take(struct qnetd *q, struct client *c)
{
	struct hs_admission *hs = &q->hs;

	c->hs.slot = 1;
	hs->held++;
	c->hs.since = uv_now(q->loop);
	c->hs.check_at = c->hs.since +
	    (uint64_t)q->set.tls_handshake_stall_timeout;
	slots_insert(hs, c);
	if (!uv_is_active((uv_handle_t *)&hs->timer))
		arm(q);
}

/* Give the slot back; the handshake itself goes on if it still runs. */
static void
slot_free(struct hs_admission *hs, struct client *c)
{
	TAILQ_REMOVE(&hs->slots, c, hs.link);
	c->hs.slot = 0;
	hs->held--;
}

/*
 * How long the peer has left us waiting, in ms: nothing came from it and
 * nothing went to it since.  -1 when we are the slow ones (its data waits
 * unread: under a storm it keeps its slot, or slots would multiply) or
 * TCP can't say.
 */
static int64_t
peer_silence(const struct client *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int unread = 0;

	if (c->conn.fd < 0 || ioctl(c->conn.fd, FIONREAD, &unread) != 0 ||
	    unread > 0 ||
	    getsockopt(c->conn.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return -1;
	return ti.tcpi_last_data_recv < ti.tcpi_last_data_sent ?
	    ti.tcpi_last_data_recv : ti.tcpi_last_data_sent;
}

/*
 * The slots due for a check: a peer silent for the stall timeout, or
 * holding its slot for HOLD_STALLS of them without making us wait, loses
 * it; one that does not is looked at again when it would.
 */
static void
on_check(uv_timer_t *t)
{
	struct qnetd *q = t->data;
	struct hs_admission *hs = &q->hs;
	int64_t stall = q->set.tls_handshake_stall_timeout, silent, left;
	uint64_t now = uv_now(q->loop);
	struct client *c;

	while ((c = TAILQ_FIRST(&hs->slots)) != NULL &&
	    c->hs.check_at <= now) {
		silent = peer_silence(c);
		left = (int64_t)(c->hs.since + (uint64_t)(HOLD_STALLS * stall) -
		    now);
		if (silent >= stall || (silent >= 0 && left <= 0)) {
			slot_free(hs, c);
			log_debug("Client %s stalls its TLS handshake (silent "
			    "%" PRId64 " ms, slot held %" PRIu64 " ms): the "
			    "slot goes to the next", c->addr, silent,
			    now - c->hs.since);
			continue;
		}
		TAILQ_REMOVE(&hs->slots, c, hs.link);
		c->hs.check_at = now + (uint64_t)(silent < 0 ? stall :
		    stall - silent < left ? stall - silent : left);
		slots_insert(hs, c);
	}
	arm(q);
	admit(q);
}

/* ------------------------------------------------------------------ */
/* Starting handshakes */

/*
 * Did the peer give up while it waited (its connect timer)?  Its FIN is
 * behind the ClientHello we have not read, so ask TCP, and spare the
 * handshake: that is the point of waiting.
 */
static int
peer_gone(const struct client *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(c->conn.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return ti.tcpi_state != TCP_ESTABLISHED;
}

/* Start the handshake, in a slot when slots are counted. */
static void
start(struct client *c, int slot)
{
	struct qnetd *q = c->qnetd;

	if (conn_starttls_server(&c->conn, q->tls, !c->enrolling ?
	    CONN_CERT_AS_SERVER : c->renewing ? CONN_CERT_UNCHECKED :
	    CONN_CERT_NONE) != 0) {
		c->qnetd->up->disconnect(c, "can't start TLS");
		return;
	}
	c->hs.started_ns = uv_hrtime();
	if (slot)
		slot_take(q, c);
	c->qnetd->up->read_pause_update(c);
}

static int
slot_free_now(const struct qnetd *q)
{
	long long max = q->set.max_tls_handshakes;

	return max == 0 || (long long)q->hs.held < max;
}

static void
admit(struct qnetd *q)
{
	struct client *c;

	while (!q->stopping && slot_free_now(q) &&
	    (c = next_waiting(&q->hs)) != NULL) {
		if (peer_gone(c))
			c->qnetd->up->disconnect(c, "gone while waiting for "
			    "its TLS handshake");
		else
			start(c, 1);
	}
}

void
hs_starttls(struct client *c, struct hs_source *src)
{
	struct qnetd *q = c->qnetd;
	struct hs_admission *hs = &q->hs;
	long long max = q->set.max_tls_handshakes;

	/* (Without hs_init() nobody would start it later.) */
	if (max == 0 || !hs->ready) {
		start(c, 0);
		return;
	}
	if (slot_free_now(q) && TAILQ_EMPTY(&hs->round)) {
		start(c, 1);
		return;
	}
	limit_log(q, LIMIT_TLS_HANDSHAKES, c->addr, max, "its handshake waits "
	    "for one in progress to finish");
	enqueue(hs, c, src != NULL ? src : &hs->unknown);
	c->qnetd->up->read_pause_update(c);
}

void
hs_message(struct client *c)
{
	if (c->hs.started_ns != 0 && c->conn.handshake_done)
		counted(c, 1);
	if (!c->hs.slot || !c->conn.handshake_done)
		return;
	slot_free(&c->qnetd->hs, c);
	admit(c->qnetd);
}

void
hs_forget(struct client *c)
{
	struct hs_admission *hs = &c->qnetd->hs;

	if (!c->qnetd->stopping)
		counted(c, c->conn.handshake_done);
	if (c->hs.waiting)
		dequeue(hs, c);
	if (c->hs.slot) {
		slot_free(hs, c);
		admit(c->qnetd);
	}
}

int
hs_waiting(const struct client *c)
{
	return c->hs.waiting;
}

const struct counter *
hs_results(void)
{
	return &results;
}

const struct histogram *
hs_durations(void)
{
	return &durations;
}

void
hs_init(struct qnetd *q)
{
	struct hs_admission *hs = &q->hs;

	TAILQ_INIT(&hs->round);
	TAILQ_INIT(&hs->slots);
	hs->held = 0;
	hs->timer.data = q;
	uv_timer_init(q->loop, &hs->timer);
	hs->ready = 1;
}

void
hs_stop(struct qnetd *q)
{
	if (q->hs.ready)
		uv_timer_stop(&q->hs.timer);
}
