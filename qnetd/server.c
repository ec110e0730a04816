/*
 * The listening socket and the life of a client connection: accept, the
 * dead-peer timer, disconnect.  Disconnects are deferred to an idle handler
 * so that an algorithm iterating a cluster never sees a client vanish under
 * it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "decide.h"
#include "handlers.h"
#include "handshake.h"
#include "log.h"
#include "net.h"
#include "qnetd.h"
#include "send.h"
#include "server.h"

/* Before INIT the dead-peer timeout uses 3.0.3's fixed 120 s heartbeat. */
#define PREINIT_HEARTBEAT_MS	120000
/*
 * A wakeup of the listening socket accepts until the queue is empty, so
 * that in a reconnect storm the kernel's accept queue (at most somaxconn)
 * does not overflow while we serve other clients: a dropped SYN costs the
 * client a 1 s retransmission.  Bounded, so established clients wait at
 * most ACCEPT_BUDGET_NS (or ACCEPT_MAX accepts) for their turn.
 */
#define ACCEPT_MAX		8192
#define ACCEPT_BUDGET_NS	(20 * 1000 * 1000)
#define ACCEPT_CLOCK_EVERY	64	/* accepts between looks at the clock */
/* Client events between looks at the listening socket. */
#define ACCEPT_INTERLEAVE	64
/* The kernel caps listen()'s backlog at this. */
#define SOMAXCONN_PATH		"/proc/sys/net/core/somaxconn"
/* A limit's log line at most this often; the rest are counted. */
#define LIMIT_LOG_INTERVAL_MS	10000
/* Accepting again after running out of descriptors or memory. */
#define ACCEPT_RETRY_MS		100
/* ... or after the listening socket reported an error. */
#define LISTEN_ERROR_RETRY_MS	1000
/* How often rate-limited clients get their tokens. */
#define THROTTLE_TICK_MS	100
#define TOKEN			1000	/* one message, in rate_tokens */

/* What keeps a client's memory alive after the disconnect began. */
enum {
	HOLD_CONN = 1,		/* the connection is closing */
	HOLD_DPD = 2,		/* the timers' handles are closing */
	HOLD_ALGO = 4,
	HOLD_REAPER = 8		/* not yet taken out of its cluster */
};

static void rate_charge(struct client *c);
static void accept_between(struct qnetd *q);

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
	accept_between(c->qnetd);
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
	accept_between(c->qnetd);
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

/* ------------------------------------------------------------------ */
/* Limits */

static const char *const limit_names[LIMIT_COUNT] = {
	[LIMIT_MAX_CLIENTS] = "max_clients (-m)",
	[LIMIT_OPEN_FILES] = "open files (RLIMIT_NOFILE)",
	[LIMIT_PER_ADDRESS] = "max_clients_per_address",
	[LIMIT_INIT_TIMEOUT] = "init_timeout",
	[LIMIT_MAX_CLUSTERS] = "max_clusters",
	[LIMIT_SEND_BUFFERS] = "max_client_send_buffers",
	[LIMIT_SEND_BYTES] = "max_client_send_bytes",
	[LIMIT_MESSAGE_RATE] = "max_client_message_rate",
	[LIMIT_CLUSTER_CPU] = "max_cluster_cpu_per_second",
	[LIMIT_TLS_HANDSHAKES] = "max_tls_handshakes",
	[LIMIT_ACCEPT] = "accept",
};

/*
 * A connect flood must not become a log flood: each limit logs one line per
 * LIMIT_LOG_INTERVAL_MS and says how many it left out since the last one.
 */
static void limit_vlog(struct qnetd *q, struct log_limit *ll,
    enum qnetd_limit l, const char *addr, long long value, const char *fmt,
    va_list ap) __attribute__((format(printf, 6, 0)));

static void
limit_vlog(struct qnetd *q, struct log_limit *ll, enum qnetd_limit l,
    const char *addr, long long value, const char *fmt, va_list ap)
{
	uint64_t now = uv_now(q->loop);
	char what[160], more[64] = "";

	if (now < ll->next) {
		ll->suppressed++;
		return;
	}
	ll->next = now + LIMIT_LOG_INTERVAL_MS;
	vsnprintf(what, sizeof(what), fmt, ap);
	if (ll->suppressed != 0)
		snprintf(more, sizeof(more), " (%lu more since the last report)",
		    ll->suppressed);
	ll->suppressed = 0;
	log_warn("Limit %s = %lld reached by client %s: %s%s", limit_names[l],
	    value, addr, what, more);
}

void
limit_log(struct qnetd *q, enum qnetd_limit l, const char *addr,
    long long value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	limit_vlog(q, &q->limit_log[l], l, addr, value, fmt, ap);
	va_end(ap);
}

/* One source address: how many of our connections come from it. */
struct peer {
	struct peer *next;
	uint8_t ip[16];		/* IPv4 as ::ffff:a.b.c.d, like a dual socket */
	size_t count;
	struct hs_source hs;	/* its clients waiting for a TLS handshake */
	/*
	 * max_clients_per_address refusals are logged per address: one busy
	 * address (a NAT gateway) must not hide another from the log.
	 */
	struct log_limit refused_log;
};

static void peer_limit_log(struct qnetd *q, struct peer *p, const char *addr,
    long long value, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
peer_limit_log(struct qnetd *q, struct peer *p, const char *addr,
    long long value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	limit_vlog(q, &p->refused_log, LIMIT_PER_ADDRESS, addr, value, fmt, ap);
	va_end(ap);
}

#define PEER_MIN_BUCKETS	64

/* The peer's IP (not its port) as 16 bytes; 0, or -1 for other families. */
static int
peer_key(const struct sockaddr_storage *ss, uint8_t ip[16])
{
	if (ss->ss_family == AF_INET6) {
		memcpy(ip, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return 0;
	}
	if (ss->ss_family == AF_INET) {
		memset(ip, 0, 10);
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 0;
	}
	return -1;
}

/* FNV-1a, seeded per process. */
static size_t
peer_hash(const struct peer_table *t, const uint8_t ip[16])
{
	uint64_t h = 0xcbf29ce484222325ULL ^ t->seed;

	for (int i = 0; i < 16; i++)
		h = (h ^ ip[i]) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 29)) & (t->nbuckets - 1);
}

static struct peer *
peer_find(const struct peer_table *t, const uint8_t ip[16])
{
	struct peer *p;

	if (t->nbuckets == 0)
		return NULL;
	for (p = t->buckets[peer_hash(t, ip)]; p != NULL; p = p->next)
		if (memcmp(p->ip, ip, 16) == 0)
			return p;
	return NULL;
}

/* Double the buckets when there are more peers than buckets. */
static int
peer_grow(struct peer_table *t)
{
	size_t n = t->nbuckets ? t->nbuckets * 2 : PEER_MIN_BUCKETS;
	struct peer_table nt = { .nbuckets = n, .count = t->count,
	    .seed = t->seed };
	struct peer *p, *next;

	if ((nt.buckets = calloc(n, sizeof(*nt.buckets))) == NULL)
		return -1;
	for (size_t i = 0; i < t->nbuckets; i++) {
		for (p = t->buckets[i]; p != NULL; p = next) {
			size_t h = peer_hash(&nt, p->ip);

			next = p->next;
			p->next = nt.buckets[h];
			nt.buckets[h] = p;
		}
	}
	free(t->buckets);
	*t = nt;
	return 0;
}

/* Count one more connection from ip; NULL when memory ran out. */
static struct peer *
peer_get(struct peer_table *t, const uint8_t ip[16])
{
	struct peer *p = peer_find(t, ip);
	size_t h;

	if (p == NULL) {
		/* Amortised O(1): a rehash per doubling. */
		if (t->count >= t->nbuckets && peer_grow(t) != 0 &&
		    t->nbuckets == 0)
			return NULL;
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return NULL;
		memcpy(p->ip, ip, 16);
		h = peer_hash(t, ip);
		p->next = t->buckets[h];
		t->buckets[h] = p;
		t->count++;
	}
	p->count++;
	return p;
}

static void
peer_put(struct peer_table *t, struct peer *p)
{
	struct peer **pp;

	if (--p->count != 0)
		return;
	for (pp = &t->buckets[peer_hash(t, p->ip)]; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	t->count--;
	free(p);
}

static void
peer_table_free(struct peer_table *t)
{
	struct peer *p, *next;

	for (size_t i = 0; i < t->nbuckets; i++)
		for (p = t->buckets[i]; p != NULL; p = next) {
			next = p->next;
			free(p);
		}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

/* Reading is paused for the rate limit, a TLS handshake slot or the
 * cluster's CPU budget. */
void
client_read_pause_update(struct client *c)
{
	conn_pause_reading(&c->conn, c->rate_paused || hs_waiting(c) ||
	    budget_holds(c));
}

/* ------------------------------------------------------------------ */
/* Message rate: a token bucket per client, one second deep */

static void throttle_tick(uv_timer_t *t);

static void
throttle_add(struct qnetd *q, struct client *c)
{
	if (c->thr_pprev != NULL)
		return;
	if ((c->thr_next = q->throttled) != NULL)
		q->throttled->thr_pprev = &c->thr_next;
	q->throttled = c;
	c->thr_pprev = &q->throttled;
	if (!uv_is_active((uv_handle_t *)&q->throttle_timer))
		uv_timer_start(&q->throttle_timer, throttle_tick,
		    THROTTLE_TICK_MS, THROTTLE_TICK_MS);
}

static void
throttle_remove(struct client *c)
{
	if (c->thr_pprev == NULL)
		return;
	if ((*c->thr_pprev = c->thr_next) != NULL)
		c->thr_next->thr_pprev = c->thr_pprev;
	c->thr_next = NULL;
	c->thr_pprev = NULL;
}

static void
rate_refill(struct client *c, uint64_t now, long long rate)
{
	int64_t cap = (int64_t)rate * TOKEN;

	/* rate messages per second is rate tokens per millisecond. */
	c->rate_tokens += (int64_t)(now - c->rate_stamp) * rate;
	if (c->rate_tokens > cap)
		c->rate_tokens = cap;
	c->rate_stamp = now;
}

/*
 * Charge one message.  A client out of tokens stops being read: its data
 * waits in the kernel and TCP slows it down, at no cost to anyone else.
 */
static void
rate_charge(struct client *c)
{
	struct qnetd *q = c->qnetd;
	long long rate = q->set.max_client_message_rate;

	/* (Without server_init() there is no timer to resume it.) */
	if (rate == 0 || !q->server_ready)
		return;
	rate_refill(c, uv_now(q->loop), rate);
	c->rate_tokens -= TOKEN;
	if (c->rate_tokens >= 0)
		return;
	limit_log(q, LIMIT_MESSAGE_RATE, c->addr, rate,
	    "reading paused until its rate drops");
	c->rate_paused = 1;
	client_read_pause_update(c);
	throttle_add(q, c);
}

/* Only the clients being throttled are visited, each in O(1). */
static void
throttle_tick(uv_timer_t *t)
{
	struct qnetd *q = t->data;
	struct client *c, *next;
	uint64_t now = uv_now(q->loop);

	for (c = q->throttled; c != NULL; c = next) {
		next = c->thr_next;
		rate_refill(c, now, q->set.max_client_message_rate);
		if (c->rate_tokens >= 0) {
			throttle_remove(c);
			c->rate_paused = 0;
			client_read_pause_update(c);
		}
	}
	if (q->throttled == NULL)
		uv_timer_stop(t);
}

/* ------------------------------------------------------------------ */
/* TLS handshakes (handshake.c), taken in turns by source address */

void
client_starttls(struct client *c)
{
	hs_starttls(c, c->peer != NULL ? &c->peer->hs : NULL);
}

/* ------------------------------------------------------------------ */
/* Dead-peer detection */

/*
 * Dead-peer detection without a timer operation per message: re-arming a
 * libuv timer (a heap removal and insertion) for every message was the
 * largest part of the steady state's user CPU, and a lazy per-client
 * timer still fires once per heartbeat (the timeout is 1.5 of it), a
 * loop wakeup each.  Clients with the same timeout (in practice one or
 * two values) are on a list in the order of their last message: a
 * message moves its client to the end, and one timer waits for the
 * first.  A client whose timeout has no list (more than DPD_LISTS
 * values) keeps its own timer, re-armed lazily when it fires.  Either
 * way a client expires exactly dpd_ms (loop time) after its last
 * message, as with a timer restarted by every message.
 */
static void
dpd_expire(struct client *c)
{
	/* Its messages may be waiting unread: a new full timeout. */
	if (budget_holds(c)) {
		client_dpd_set(c, c->dpd_ms);
		return;
	}
	log_warn("Client %s doesn't sent any message during %" PRIu64
	    "ms. Disconnecting", c->addr, c->dpd_ms);
	client_schedule_disconnect(c, "dead peer");
}

static void
dpd_unlink(struct client *c)
{
	if (c->dpd_list == NULL)
		return;
	TAILQ_REMOVE(&c->dpd_list->clients, c, dpd_link);
	c->dpd_list = NULL;
}

static void
dpd_append(struct dpd_list *l, struct client *c)
{
	c->dpd_list = l;
	TAILQ_INSERT_TAIL(&l->clients, c, dpd_link);
}

static void dpd_list_check(uv_timer_t *t);

/* The timer waits for the first client's deadline (none: stopped). */
static void
dpd_list_arm(struct qnetd *q, struct dpd_list *l)
{
	struct client *first = TAILQ_FIRST(&l->clients);
	uint64_t now = uv_now(q->loop), due;

	if (first == NULL) {
		uv_timer_stop(&l->timer);
		return;
	}
	due = first->dpd_last + l->ms;
	uv_timer_start(&l->timer, dpd_list_check, due > now ? due - now : 0, 0);
}

static void
dpd_list_check(uv_timer_t *t)
{
	struct dpd_list *l = t->data;
	struct client *c;
	struct qnetd *q;
	uint64_t now;

	if ((c = TAILQ_FIRST(&l->clients)) == NULL)
		return;
	q = c->qnetd;
	now = uv_now(q->loop);
	while ((c = TAILQ_FIRST(&l->clients)) != NULL &&
	    now - c->dpd_last >= l->ms) {
		dpd_unlink(c);
		dpd_expire(c);
	}
	dpd_list_arm(q, l);
}

/* The list for ms: the one it has, else a free one; NULL if none. */
static struct dpd_list *
dpd_list_for(struct qnetd *q, uint64_t ms)
{
	struct dpd_list *free_list = NULL;

	if (!q->server_ready)
		return NULL;
	for (int i = 0; i < DPD_LISTS; i++) {
		if (!TAILQ_EMPTY(&q->dpd[i].clients) && q->dpd[i].ms == ms)
			return &q->dpd[i];
		if (TAILQ_EMPTY(&q->dpd[i].clients) && free_list == NULL)
			free_list = &q->dpd[i];
	}
	if (free_list != NULL)
		free_list->ms = ms;
	return free_list;
}

/* A client's own timer: when it fires, re-armed for what is left. */
static void
dpd_check(uv_timer_t *t)
{
	struct client *c = t->data;
	uint64_t idle = uv_now(c->qnetd->loop) - c->dpd_last;

	if (idle < c->dpd_ms) {
		uv_timer_start(t, dpd_check, c->dpd_ms - idle, 0);
		return;
	}
	dpd_expire(c);
}

void
client_dpd_set(struct client *c, uint64_t ms)
{
	struct qnetd *q = c->qnetd;
	struct dpd_list *l;

	client_dpd_stop(c);
	c->dpd_ms = ms;
	c->dpd_last = uv_now(q->loop);
	if ((l = dpd_list_for(q, ms)) == NULL) {
		uv_timer_start(&c->dpd_timer, dpd_check, ms, 0);
		return;
	}
	dpd_append(l, c);
	/*
	 * The others' deadlines are earlier: the timer waits for one of
	 * them, unless c is alone (the timer may still wait for a client
	 * gone from the list, even of another timeout).
	 */
	if (TAILQ_FIRST(&l->clients) == c)
		dpd_list_arm(q, l);
}

void
client_dpd_stop(struct client *c)
{
	struct dpd_list *l = c->dpd_list;

	c->dpd_ms = 0;
	uv_timer_stop(&c->dpd_timer);
	if (l != NULL) {
		dpd_unlink(c);
		/* (Its timer finds the list empty, or a later first.) */
	}
}

/*
 * Only the dead-peer deadline is moved by messages; the INIT deadline,
 * which uses the client's own timer, is fixed (dpd_ms is 0 then).
 */
void
client_dpd_rearm(struct client *c)
{
	struct dpd_list *l = c->dpd_list;

	if (c->dpd_ms == 0)
		return;
	c->dpd_last = uv_now(c->qnetd->loop);
	if (l != NULL && TAILQ_LAST(&l->clients, client_queue) != c) {
		TAILQ_REMOVE(&l->clients, c, dpd_link);
		TAILQ_INSERT_TAIL(&l->clients, c, dpd_link);
	}
}

static void
init_expired(uv_timer_t *t)
{
	struct client *c = t->data;
	struct qnetd *q = c->qnetd;

	limit_log(q, LIMIT_INIT_TIMEOUT, c->addr, q->set.init_timeout,
	    "INIT not completed in time, disconnecting");
	client_schedule_disconnect(c, "INIT not completed within "
	    "init_timeout");
}

/*
 * Before INIT: a fixed deadline when init_timeout is set, otherwise 3.0.3's
 * dead-peer timer with its 120 s heartbeat (180 s by default).
 */
static void
preinit_timer_start(struct qnetd *q, struct client *c)
{
	if (q->set.init_timeout > 0)
		/* (dpd_ms stays 0: messages don't move this deadline.) */
		uv_timer_start(&c->dpd_timer, init_expired,
		    (uint64_t)q->set.init_timeout, 0);
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
unlink_client(struct qnetd *q, struct client *c)
{
	if (c->all_prev != NULL)
		c->all_prev->all_next = c->all_next;
	else
		q->clients = c->all_next;
	if (c->all_next != NULL)
		c->all_next->all_prev = c->all_prev;
}

static void
reap(uv_idle_t *idle)
{
	struct qnetd *q = idle->data;
	struct client *c;

	/* Leaving may doom more clients (a VOTE_INFO that can't be queued). */
	while ((c = q->doomed) != NULL) {
		q->doomed = c->reap_next;
		if (c->init_done)
			decide_leave(&c->m, q->stopping, c->closed_by_peer);
		unlink_client(q, c);
		release(c, HOLD_REAPER);
	}
	uv_idle_stop(idle);
}

void
client_schedule_disconnect(struct client *c, const char *why)
{
	struct qnetd *q = c->qnetd;

	if (c->closing)
		return;
	c->closing = 1;
	/* The descriptor closes now: the limits count it no more. */
	q->client_count--;
	throttle_remove(c);
	if (c->init_done)
		log_info("Client %s (cluster %s, node %" PRIu32 ") "
		    "disconnected: %s", c->addr, c->m.cluster->name, c->m.node_id,
		    why);
	else
		log_debug("Client %s disconnected: %s", c->addr, why);
	client_dpd_stop(c);
	uv_close((uv_handle_t *)&c->dpd_timer, dpd_closed);
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
	c->reap_next = q->doomed;
	q->doomed = c;
	uv_idle_start(&q->reaper, reap);
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
	c->rate_tokens = q->set.max_client_message_rate * TOKEN;
	c->rate_stamp = uv_now(q->loop);
	c->holds = HOLD_CONN | HOLD_DPD | HOLD_ALGO;
	uv_timer_init(q->loop, &c->dpd_timer);
	uv_timer_init(q->loop, &c->algo_timer);
	c->dpd_timer.data = c;
	c->algo_timer.data = c;
	c->all_next = q->clients;
	if (q->clients != NULL)
		q->clients->all_prev = c;
	q->clients = c;
	q->client_count++;
	preinit_timer_start(q, c);
	log_debug("New client connected from %s", addr);
}

void
server_add_client(struct qnetd *q, int fd, const char *addr)
{
	add_client(q, fd, addr, NULL);
}

static void on_listen_ready(uv_poll_t *p, int status, int events);

static void
listen_resume(uv_timer_t *t)
{
	struct qnetd *q = t->data;

	if (!q->stopping)
		uv_poll_start(&q->listen_poll, UV_READABLE, on_listen_ready);
}

/*
 * Stop accepting for a while.  Out of descriptors the listening socket stays
 * readable, and accepting again at once would spin; the connections wait
 * in the backlog instead.
 */
static void
listen_pause(struct qnetd *q, uint64_t ms)
{
	uv_poll_stop(&q->listen_poll);
	uv_timer_start(&q->listen_retry, listen_resume, ms, 0);
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
	struct peer *peer = NULL, *p;
	uint8_t ip[16];

	net_format_addr((const struct sockaddr *)ss, addr, sizeof(addr));
	if (max != 0 && (long long)q->client_count >= max) {
		limit_log(q, which, addr, max, "Maximum clients reached. "
		    "Not accepting connection");
		close(fd);
		return;
	}
	if (peer_key(ss, ip) == 0) {
		p = peer_find(&q->peers, ip);
		if (q->set.max_clients_per_address != 0 && p != NULL &&
		    (long long)p->count >= q->set.max_clients_per_address) {
			peer_limit_log(q, p, addr,
			    q->set.max_clients_per_address, "too many "
			    "connections from its address, not accepting");
			close(fd);
			return;
		}
		if ((peer = peer_get(&q->peers, ip)) == NULL) {
			log_err("Can't allocate client %s", addr);
			close(fd);
			return;
		}
	}
	add_client(q, fd, addr, peer);
}

/*
 * Connections are accepted while libuv dispatches the events of an epoll
 * batch, and set up (admitted) right after it, from a check handle: a
 * uv_poll_start() during the dispatch scans the whole batch for the
 * descriptor (libuv invalidates its pending events), which was the
 * largest user-space cost of a reconnect storm.  The connection waits
 * in our list instead of the kernel's accept queue, which is the scarce
 * one.
 */
static void
admit_accepted(uv_check_t *h)
{
	struct qnetd *q = h->data;
	struct accepted *a = &q->accepted;

	/* admit() does not accept: the list can't grow meanwhile. */
	for (size_t i = 0; i < a->n; i++)
		admit(q, a->v[i].fd, &a->v[i].ss);
	a->n = 0;
	uv_check_stop(h);
}

static void
accepted_add(struct qnetd *q, int fd, const struct sockaddr_storage *ss)
{
	struct accepted *a = &q->accepted;
	struct accepted_fd *v;
	size_t cap;

	if (a->n == a->cap) {
		cap = a->cap ? a->cap * 2 : 256;
		if ((v = realloc(a->v, cap * sizeof(*v))) == NULL) {
			/* Set up at once, at the price of the scan. */
			admit(q, fd, ss);
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n].fd = fd;
	a->v[a->n].ss = *ss;
	a->n++;
	if (!uv_is_active((uv_handle_t *)&q->admit_check))
		uv_check_start(&q->admit_check, admit_accepted);
}

/* Accept what the listening socket holds, within the bounds above. */
static void
accept_pending(struct qnetd *q)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	uint64_t start = uv_hrtime();
	int fd;

	q->io_since_accept = 0;
	for (int i = 0; i < ACCEPT_MAX; i++) {
		if (i != 0 && i % ACCEPT_CLOCK_EVERY == 0 &&
		    uv_hrtime() - start >= ACCEPT_BUDGET_NS)
			return;
		sslen = sizeof(ss);
		fd = net_accept(q->listen_fd, &ss, &sslen);
		if (fd != -1) {
			accepted_add(q, fd, &ss);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			limit_log(q, LIMIT_ACCEPT, "(not accepted)",
			    (long long)q->client_count, "can't accept: %s; "
			    "accepting paused for %d ms", strerror(errno),
			    ACCEPT_RETRY_MS);
			listen_pause(q, ACCEPT_RETRY_MS);
		} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR && errno != ECONNABORTED) {
			log_err("Can't accept connection: %s", strerror(errno));
		}
		return;
	}
}

/*
 * Between client events, now and then, the listening socket too: libuv
 * serves up to 1,024 ready descriptors per epoll_wait() and the listening
 * socket once among them, so in a reconnect storm thousands of
 * disconnects would be served while the kernel's accept queue fills up
 * and overflows.  An accept() that finds nothing costs one syscall.
 */
static void
accept_between(struct qnetd *q)
{
	if (++q->io_since_accept < ACCEPT_INTERLEAVE)
		return;
	q->io_since_accept = 0;
	if (q->listen_fd != -1 && !q->stopping &&
	    uv_is_active((uv_handle_t *)&q->listen_poll))
		accept_pending(q);
}

static void
on_listen_ready(uv_poll_t *p, int status, int events)
{
	struct qnetd *q = p->data;

	(void)events;
	if (status < 0) {
		/* libuv stopped the handle; try again rather than go deaf. */
		log_crit("Poll error on listening socket: %s",
		    uv_strerror(status));
		listen_pause(q, LISTEN_ERROR_RETRY_MS);
		return;
	}
	accept_pending(q);
}

/* ------------------------------------------------------------------ */
/* The fate of the listen address */

/*
 * A listening socket whose address is removed from the system stays open
 * and silent: nothing fails, clients just stop arriving.  The kernel's
 * address notifications (netlink) let us say so in the log, and say when
 * the address is back.  Only with -l: the wildcard can't go away.
 */
static int
bound_addr(struct qnetd *q)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(q->listen_fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		if (a->sin_addr.s_addr == htonl(INADDR_ANY))
			return -1;
		memcpy(q->listen_watch_addr, &a->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
			return -1;
		memcpy(q->listen_watch_addr, &a->sin6_addr, 16);
	} else {
		return -1;
	}
	q->listen_watch_family = ss.ss_family;
	return 0;
}

/* Is this address message about our address? */
static int
ifaddr_is_ours(const struct qnetd *q, const struct nlmsghdr *nh)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	size_t alen = q->listen_watch_family == AF_INET ? 4 : 16;
	int len = (int)IFA_PAYLOAD(nh);
	const struct rtattr *rta;

	if (ifa->ifa_family != q->listen_watch_family)
		return 0;
	for (rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if ((rta->rta_type == IFA_LOCAL || rta->rta_type == IFA_ADDRESS) &&
		    RTA_PAYLOAD(rta) == alen &&
		    memcmp(RTA_DATA(rta), q->listen_watch_addr, alen) == 0)
			return 1;
	return 0;
}

static void
listen_addr_event(struct qnetd *q, int removed)
{
	char text[INET6_ADDRSTRLEN];

	if (removed == q->listen_addr_gone)
		return;
	q->listen_addr_gone = removed;
	inet_ntop(q->listen_watch_family, q->listen_watch_addr, text,
	    sizeof(text));
	if (removed)
		log_warn("Listen address %s was removed from the system: no new "
		    "client can connect until it is back; connected clients "
		    "are still served", text);
	else
		log_notice("Listen address %s is back: accepting clients again",
		    text);
}

/* NLMSG_OK() without its signed/unsigned comparison (clang warns). */
static int
nlmsg_ok(const struct nlmsghdr *nh, int len)
{
	return len >= (int)sizeof(*nh) && nh->nlmsg_len >= sizeof(*nh) &&
	    nh->nlmsg_len <= (unsigned int)len;
}

static void
on_listen_watch(uv_poll_t *p, int status, int events)
{
	struct qnetd *q = p->data;
	uint8_t buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	ssize_t n;

	(void)events;
	if (status < 0)
		return;
	/* ENOBUFS (we missed events) is no reason to stop listening. */
	while ((n = recv(q->listen_watch_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0 ||
	    (n < 0 && (errno == EINTR || errno == ENOBUFS))) {
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		int len = (int)n;

		for (; n > 0 && nlmsg_ok(nh, len); nh = NLMSG_NEXT(nh, len))
			if ((nh->nlmsg_type == RTM_NEWADDR ||
			    nh->nlmsg_type == RTM_DELADDR) &&
			    ifaddr_is_ours(q, nh))
				listen_addr_event(q,
				    nh->nlmsg_type == RTM_DELADDR);
	}
}

static void
listen_watch_start(struct qnetd *q)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	q->listen_watch_fd = -1;
	if (bound_addr(q) != 0)
		return;
	sa.nl_groups = q->listen_watch_family == AF_INET ?
	    RTMGRP_IPV4_IFADDR : RTMGRP_IPV6_IFADDR;
	q->listen_watch_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, NETLINK_ROUTE);
	if (q->listen_watch_fd == -1 ||
	    bind(q->listen_watch_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		/* Only a log line is lost: go on without. */
		log_debug("Can't watch the listen address: %s", strerror(errno));
		if (q->listen_watch_fd != -1)
			close(q->listen_watch_fd);
		q->listen_watch_fd = -1;
		return;
	}
	uv_poll_init(q->loop, &q->listen_watch, q->listen_watch_fd);
	q->listen_watch.data = q;
	uv_poll_start(&q->listen_watch, UV_READABLE, on_listen_watch);
}

static void
listen_watch_closed(uv_handle_t *h)
{
	struct qnetd *q = h->data;

	close(q->listen_watch_fd);
	q->listen_watch_fd = -1;
}

void
server_init(struct qnetd *q)
{
	if (q->server_ready)
		return;
	q->doomed = NULL;
	q->reaper.data = q;
	uv_idle_init(q->loop, &q->reaper);
	q->listen_retry.data = q;
	uv_timer_init(q->loop, &q->listen_retry);
	q->throttle_timer.data = q;
	uv_timer_init(q->loop, &q->throttle_timer);
	budget_init(q);
	hs_init(q);
	q->admit_check.data = q;
	uv_check_init(q->loop, &q->admit_check);
	for (int i = 0; i < DPD_LISTS; i++) {
		TAILQ_INIT(&q->dpd[i].clients);
		q->dpd[i].timer.data = &q->dpd[i];
		uv_timer_init(q->loop, &q->dpd[i].timer);
		/* Clients keep the loop alive, not their dead-peer timers. */
		uv_unref((uv_handle_t *)&q->dpd[i].timer);
	}
	q->peers.seed = uv_hrtime() ^ ((uint64_t)getpid() << 32);
	q->listen_watch_fd = -1;
	gate_start(q);
	q->server_ready = 1;
}

/*
 * listen() silently caps the backlog at net.core.somaxconn: say so, since
 * a backlog smaller than a reconnect storm means dropped SYNs and clients
 * waiting for their retransmission (1 s, then 3 s).
 */
static void
check_somaxconn(const struct qnetd *q)
{
	FILE *f = fopen(SOMAXCONN_PATH, "r");
	long long max;
	int ok;

	if (f == NULL)
		return;
	ok = fscanf(f, "%lld", &max) == 1;
	fclose(f);
	if (ok && q->set.listen_backlog > max)
		log_warn("listen_backlog %lld exceeds net.core.somaxconn %lld: "
		    "the kernel caps it at %lld; raise net.core.somaxconn (and "
		    "net.ipv4.tcp_max_syn_backlog) for large reconnect storms",
		    q->set.listen_backlog, max, max);
}

int
server_start(struct qnetd *q)
{
	char err[NET_ERR_LEN];

	server_init(q);
	q->listen_fd = net_listen(q->listen_addr, (uint16_t)q->port, q->family,
	    (int)q->set.listen_backlog, err);
	if (q->listen_fd == -1) {
		log_crit("Can't create listening socket: %s", err);
		return -1;
	}
	check_somaxconn(q);
	uv_poll_init(q->loop, &q->listen_poll, q->listen_fd);
	q->listen_poll.data = q;
	uv_poll_start(&q->listen_poll, UV_READABLE, on_listen_ready);
	listen_watch_start(q);
	return 0;
}

static void
listen_closed(uv_handle_t *h)
{
	struct qnetd *q = h->data;

	close(q->listen_fd);
	q->listen_fd = -1;
}

/* Drop every client with "server going down": no re-decisions. */
void
server_stop(struct qnetd *q)
{
	q->stopping = 1;
	if (q->server_ready) {
		uv_timer_stop(&q->listen_retry);
		uv_timer_stop(&q->throttle_timer);
		budget_stop(q);
		hs_stop(q);
		uv_timer_stop(&q->gate_timer);
		/* Accepted, never served: not clients yet, nothing to say. */
		uv_check_stop(&q->admit_check);
		for (size_t i = 0; i < q->accepted.n; i++)
			close(q->accepted.v[i].fd);
		q->accepted.n = 0;
	}
	if (q->listen_fd != -1)
		uv_close((uv_handle_t *)&q->listen_poll, listen_closed);
	if (q->listen_watch_fd != -1)
		uv_close((uv_handle_t *)&q->listen_watch, listen_watch_closed);
	for (struct client *c = q->clients; c != NULL; c = c->all_next)
		client_schedule_disconnect(c, "server going down");
}

void
server_free(struct qnetd *q)
{
	peer_table_free(&q->peers);
	free(q->accepted.v);
	memset(&q->accepted, 0, sizeof(q->accepted));
}
