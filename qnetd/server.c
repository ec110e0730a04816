/*
 * The life of a client connection: admission, setup, its events, the
 * dead-peer verdict, disconnect.  Disconnects are deferred to an idle
 * handler so that an algorithm iterating a cluster never sees a client
 * vanish under it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decide.h"
#include "events.h"
#include "handlers.h"
#include "handshake.h"
#include "log.h"
#include "net.h"
#include "qnetd.h"
#include "send.h"
#include "server.h"

/* Before INIT the dead-peer timeout uses 3.0.3's fixed 120 s heartbeat. */
#define PREINIT_HEARTBEAT_MS	120000

/* What keeps a client's memory alive after the disconnect began. */
enum {
	HOLD_CONN = 1,		/* the connection is closing */
	HOLD_DPD = 2,		/* the timers' handles are closing */
	HOLD_ALGO = 4,
	HOLD_REAPER = 8		/* not yet taken out of its cluster */
};

static void client_schedule_disconnect(struct client *c, const char *why);

/* The metrics' counters (server.h). */
COUNTER_DEFINE(accepted, NULL, "");
COUNTER_DEFINE(rejected, "reason", "max_clients", "open_files",
    "per_address");
COUNTER_DEFINE(disconnects, "reason", "closed_by_peer", "dead_peer",
    "init_timeout", "tls", "send_queue", "protocol", "no_memory", "shutdown",
    "socket_error");

/* The why of a disconnect as one of a few label values. */
static size_t
disconnect_reason(const char *why)
{
	static const struct {
		const char *prefix, *reason;
	} map[] = {
		{ "connection closed by peer", "closed_by_peer" },
		{ "dead peer", "dead_peer" },
		{ "INIT not completed", "init_timeout" },
		{ "TLS error", "tls" },
		{ "can't start TLS", "tls" },
		{ "certificate", "tls" },
		{ "gone while waiting for its TLS", "tls" },
		{ "send queue full", "send_queue" },
		{ "reply too large", "send_queue" },
		{ "can't queue", "send_queue" },
		{ "out of memory", "no_memory" },
		{ "server going down", "shutdown" },
		{ "socket error", "socket_error" },
	};

	for (size_t i = 0; i < COUNTER_N(map); i++)
		if (strncmp(why, map[i].prefix, strlen(map[i].prefix)) == 0)
			return counter_index(&disconnects, map[i].reason);
	/* The handlers' refusals of a client breaking the protocol. */
	return counter_index(&disconnects, "protocol");
}

static void
on_conn_message(struct conn *conn, enum reader_status st, const uint8_t *data,
    size_t len)
{
	struct client *c = conn->owner;
	uint64_t started = uv_hrtime();

	if (c->closing)
		return;
	hs_message(c);
	handle_message(c, st, data, len);
	budget_charge(c, started);
	if (!c->closing)
		rate_charge(c);
	listen_between(c->qnetd);
}

static void
on_conn_error(struct conn *conn, enum conn_error e)
{
	struct client *c = conn->owner;

	switch (e) {
	case CONN_EOF:
		c->closed_by_peer = 1;
		client_schedule_disconnect(c, "connection closed by peer");
		break;
	case CONN_TLS:
		client_schedule_disconnect(c, "TLS error");
		break;
	default:
		client_schedule_disconnect(c, "socket error");
		break;
	}
	listen_between(c->qnetd);
}

static void release(struct client *c, int hold);

static void
on_conn_closed(struct conn *conn)
{
	release(conn->owner, HOLD_CONN);
}

static const struct conn_cb client_cb = {
	.on_message = on_conn_message,
	.on_error = on_conn_error,
	.on_closed = on_conn_closed,
};

/* Reading is paused for the rate limit, a TLS handshake slot or the
 * cluster's CPU budget. */
static void
client_read_pause_update(struct client *c)
{
	conn_pause_reading(&c->conn, c->rate_paused || hs_waiting(c) ||
	    budget_holds(c));
}

/* TLS handshakes (handshake.c) are taken in turns by source address. */
static void
client_starttls(struct client *c)
{
	hs_starttls(c, c->peer != NULL ? peer_hs(c->peer) : NULL);
}

/* ------------------------------------------------------------------ */
/* Timeouts */

/* Its dead-peer timeout (dpd.c) passed, or its INIT deadline. */
static void
client_expired(struct client *c, int deadline)
{
	struct qnetd *q = c->qnetd;

	if (deadline) {
		limit_log(q, LIMIT_INIT_TIMEOUT, c->addr, q->set.init_timeout,
		    "INIT not completed in time, disconnecting");
		client_schedule_disconnect(c, "INIT not completed within "
		    "init_timeout");
		return;
	}
	/* Its messages may be waiting unread: a new full timeout. */
	if (budget_holds(c)) {
		client_dpd_set(c, c->dpd_ms);
		return;
	}
	log_warn("Client %s doesn't sent any message during %" PRIu64
	    "ms. Disconnecting", c->addr, c->dpd_ms);
	client_schedule_disconnect(c, "dead peer");
}

/*
 * Before INIT: a fixed deadline when init_timeout is set, otherwise 3.0.3's
 * dead-peer timer with its 120 s heartbeat (180 s by default).
 */
static void
preinit_timer_start(struct qnetd *q, struct client *c)
{
	if (q->set.init_timeout > 0)
		client_dpd_deadline(c, (uint64_t)q->set.init_timeout);
	else if (q->set.dpd_enabled)
		client_dpd_set(c, (uint64_t)(q->set.dpd_interval_coefficient *
		    PREINIT_HEARTBEAT_MS));
}

/* ------------------------------------------------------------------ */
/* Client lifetime */

static void
release(struct client *c, int hold)
{
	c->holds &= ~hold;
	if (c->holds != 0)
		return;
	member_free(&c->m);
	free(c);
}

static void
dpd_closed(uv_handle_t *h)
{
	release(h->data, HOLD_DPD);
}

static void
algo_closed(uv_handle_t *h)
{
	release(h->data, HOLD_ALGO);
}

static void
reap(uv_idle_t *idle)
{
	struct qnetd *q = idle->data;
	struct server *s = &q->server;
	struct client *c;

	/* Leaving may doom more clients (a VOTE_INFO that can't be queued). */
	while ((c = SLIST_FIRST(&s->doomed)) != NULL) {
		SLIST_REMOVE_HEAD(&s->doomed, reap_link);
		if (c->init_done)
			decide_leave(&c->m, q->stopping, c->closed_by_peer);
		TAILQ_REMOVE(&s->clients, c, all_link);
		release(c, HOLD_REAPER);
	}
	uv_idle_stop(idle);
}

static void
client_schedule_disconnect(struct client *c, const char *why)
{
	struct qnetd *q = c->qnetd;

	if (c->closing)
		return;
	c->closing = 1;
	counter_inc(&disconnects, disconnect_reason(why));
	/* The descriptor closes now: the limits count it no more. */
	q->server.count--;
	rate_forget(c);
	if (c->init_done) {
		log_info("Client %s (cluster %s, node %" PRIu32 ") "
		    "disconnected: %s", c->addr, c->m.cluster->name, c->m.node_id,
		    why);
		events_client(q->events, QEV_CLIENT_DISCONNECTED, &c->m, why);
	}
	else
		log_debug("Client %s disconnected: %s", c->addr, why);
	dpd_client_close(c, dpd_closed);
	uv_close((uv_handle_t *)&c->algo_timer, algo_closed);
	conn_close(&c->conn);
	/* After the close: the next handshake may start at once. */
	hs_forget(c);
	/* Not before: its address's waiting clients live in the peer. */
	if (c->peer != NULL) {
		peer_put(&q->peers, c->peer);
		c->peer = NULL;
	}
	c->holds |= HOLD_REAPER;
	SLIST_INSERT_HEAD(&q->server.doomed, c, reap_link);
	uv_idle_start(&q->server.reaper, reap);
}

/* Serve fd; peer (may be NULL) is its source address's count, now ours. */
static void
add_client(struct qnetd *q, int fd, const char *addr, struct peer *peer)
{
	struct client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_err("Can't allocate client %s", addr);
		if (peer != NULL)
			peer_put(&q->peers, peer);
		close(fd);
		return;
	}
	c->qnetd = q;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	if (conn_init(&c->conn, &q->conn_ctx, fd, &client_cb, c,
	    (size_t)q->set.max_client_receive_size,
	    (size_t)q->set.max_client_send_size,
	    (size_t)q->set.max_client_send_buffers) != 0) {
		log_err("Can't set up connection of client %s", addr);
		if (peer != NULL)
			peer_put(&q->peers, peer);
		close(fd);
		free(c);
		return;
	}
	conn_set_queue_bytes(&c->conn, (size_t)q->set.max_client_send_bytes);
	c->peer = peer;
	rate_client_start(c);
	c->holds = HOLD_CONN | HOLD_DPD | HOLD_ALGO;
	dpd_client_init(c);
	uv_timer_init(q->loop, &c->algo_timer);
	c->algo_timer.data = c;
	TAILQ_INSERT_HEAD(&q->server.clients, c, all_link);
	q->server.count++;
	preinit_timer_start(q, c);
	log_debug("New client connected from %s", addr);
}

void
server_add_client(struct qnetd *q, int fd, const char *addr)
{
	add_client(q, fd, addr, NULL);
}

/*
 * The client limit in force and what to call it: -m, or the open files
 * limit when that is lower (main.c computes what it allows).
 */
static long long
client_limit(const struct qnetd *q, enum qnetd_limit *which)
{
	*which = LIMIT_MAX_CLIENTS;
	if (q->fd_max_clients > 0 &&
	    (q->max_clients == 0 || q->fd_max_clients < q->max_clients)) {
		*which = LIMIT_OPEN_FILES;
		return q->fd_max_clients;
	}
	return q->max_clients;
}

/*
 * Decide about one accepted connection; refused ones are closed at once,
 * as 3.0.3 does at max_clients.
 */
static void
admit(struct qnetd *q, int fd, const struct sockaddr_storage *ss)
{
	char addr[CLIENT_ADDR_LEN];
	enum qnetd_limit which;
	long long max = client_limit(q, &which);
	struct peer *peer;

	net_format_addr((const struct sockaddr *)ss, addr, sizeof(addr));
	if (max != 0 && (long long)q->server.count >= max) {
		limit_log(q, which, addr, max, "Maximum clients reached. "
		    "Not accepting connection");
		counter_inc(&rejected, which == LIMIT_OPEN_FILES ? 1 : 0);
		close(fd);
		return;
	}
	if (peer_admit(q, ss, addr, &peer) != 0) {
		/* (or out of memory, logged) */
		counter_inc(&rejected, 2);
		close(fd);
		return;
	}
	counter_inc(&accepted, 0);
	add_client(q, fd, addr, peer);
}

size_t
server_client_count(const struct qnetd *q)
{
	return q->server.count;
}

struct client *
server_first_client(const struct qnetd *q)
{
	return TAILQ_FIRST(&q->server.clients);
}

struct client *
server_next_client(const struct client *c)
{
	return TAILQ_NEXT(c, all_link);
}

const struct counter *
server_accepted(void)
{
	return &accepted;
}

const struct counter *
server_rejected(void)
{
	return &rejected;
}

const struct counter *
server_disconnects(void)
{
	return &disconnects;
}

int
server_reaping(const struct qnetd *q)
{
	return !SLIST_EMPTY(&q->server.doomed) ||
	    uv_is_active((const uv_handle_t *)&q->server.reaper);
}

/* ------------------------------------------------------------------ */
/* Start and stop */

static const struct listen_ops listen_ops = {
	.admit = admit,
	.clients = server_client_count,
};

static const struct client_upcalls client_upcalls = {
	.disconnect = client_schedule_disconnect,
	.starttls = client_starttls,
	.read_pause_update = client_read_pause_update,
};

void
server_init(struct qnetd *q)
{
	struct server *s = &q->server;

	if (q->server_ready)
		return;
	q->up = &client_upcalls;
	TAILQ_INIT(&s->clients);
	SLIST_INIT(&s->doomed);
	s->reaper.data = q;
	uv_idle_init(q->loop, &s->reaper);
	listen_init(q, &listen_ops);
	rate_init(q, client_read_pause_update);
	budget_init(q);
	hs_init(q);
	enroll_init(q);
	dpd_init(q, client_expired);
	peer_table_init(&q->peers);
	gate_start(q);
	q->server_ready = 1;
}

int
server_start(struct qnetd *q)
{
	server_init(q);
	return listen_start(q);
}

void
server_stop(struct qnetd *q)
{
	struct client *c;

	q->stopping = 1;
	if (q->server_ready) {
		rate_stop(q);
		budget_stop(q);
		hs_stop(q);
		uv_timer_stop(&q->gate_timer);
		persist_stop(q);
	}
	listen_stop(q);
	if (!q->server_ready)
		return;
	TAILQ_FOREACH(c, &q->server.clients, all_link)
		client_schedule_disconnect(c, "server going down");
}

void
server_free(struct qnetd *q)
{
	if (q->server_ready)
		peer_table_free(&q->peers);
	listen_free(q);
}
