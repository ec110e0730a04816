/*
 * The listening socket and the life of a client connection: accept, the
 * dead-peer timer, disconnect.  Disconnects are deferred to an idle handler
 * so that an algorithm iterating a cluster never sees a client vanish under
 * it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decide.h"
#include "handlers.h"
#include "log.h"
#include "net.h"
#include "qnetd.h"
#include "server.h"

/* Before INIT the dead-peer timeout uses 3.0.3's fixed 120 s heartbeat. */
#define PREINIT_HEARTBEAT_MS	120000
/* Accepted connections per wakeup, so a connect storm cannot starve I/O. */
#define ACCEPT_BATCH		256

/* What keeps a client's memory alive after the disconnect began. */
enum {
	HOLD_CONN = 1,		/* the connection is closing */
	HOLD_DPD = 2,		/* the timers' handles are closing */
	HOLD_ALGO = 4,
	HOLD_REAPER = 8		/* not yet taken out of its cluster */
};

static void
on_conn_message(struct conn *conn, enum reader_status st, const uint8_t *data,
    size_t len)
{
	struct client *c = conn->owner;

	if (!c->closing)
		handle_message(c, st, data, len);
}

static void
on_conn_error(struct conn *conn, enum conn_error e)
{
	struct client *c = conn->owner;

	switch (e) {
	case CONN_EOF:
		client_schedule_disconnect(c, "connection closed by peer");
		break;
	case CONN_TLS:
		client_schedule_disconnect(c, "TLS error");
		break;
	default:
		client_schedule_disconnect(c, "socket error");
		break;
	}
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
/* Dead-peer detection */

static void
dpd_expired(uv_timer_t *t)
{
	struct client *c = t->data;

	log_warn("Client %s doesn't sent any message during %" PRIu64
	    "ms. Disconnecting", c->addr, uv_timer_get_repeat(t));
	client_schedule_disconnect(c, "dead peer");
}

void
client_dpd_set(struct client *c, uint64_t ms)
{
	uv_timer_start(&c->dpd_timer, dpd_expired, ms, ms);
}

void
client_dpd_rearm(struct client *c)
{
	if (uv_is_active((uv_handle_t *)&c->dpd_timer))
		uv_timer_again(&c->dpd_timer);
}

/* ------------------------------------------------------------------ */
/* Client lifetime */

static void
release(struct client *c, int hold)
{
	c->holds &= ~hold;
	if (c->holds != 0)
		return;
	free(c->cluster_name);
	node_list_free(&c->config);
	node_list_free(&c->membership);
	node_list_free(&c->quorum);
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
	q->client_count--;
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
			decide_leave(&q->clusters, c, q->stopping);
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
	if (c->init_done)
		log_info("Client %s (cluster %s, node %" PRIu32 ") "
		    "disconnected: %s", c->addr, c->cluster->name, c->node_id,
		    why);
	else
		log_debug("Client %s disconnected: %s", c->addr, why);
	uv_close((uv_handle_t *)&c->dpd_timer, dpd_closed);
	uv_close((uv_handle_t *)&c->algo_timer, algo_closed);
	conn_close(&c->conn);
	c->holds |= HOLD_REAPER;
	c->reap_next = q->doomed;
	q->doomed = c;
	uv_idle_start(&q->reaper, reap);
}

void
server_add_client(struct qnetd *q, int fd, const char *addr)
{
	struct client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_err("Can't allocate client %s", addr);
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
		close(fd);
		free(c);
		return;
	}
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
	if (q->set.dpd_enabled)
		client_dpd_set(c, (uint64_t)(q->set.dpd_interval_coefficient *
		    PREINIT_HEARTBEAT_MS));
	log_debug("New client connected from %s", addr);
}

static void
on_listen_ready(uv_poll_t *p, int status, int events)
{
	struct qnetd *q = p->data;
	struct sockaddr_storage ss;
	char addr[CLIENT_ADDR_LEN];
	socklen_t sslen;
	int fd;

	(void)events;
	if (status < 0) {
		log_crit("Poll error on listening socket: %s", uv_strerror(status));
		return;
	}
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		sslen = sizeof(ss);
		fd = net_accept(q->listen_fd, &ss, &sslen);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_err("Can't accept connection: %s",
				    strerror(errno));
			return;
		}
		if (q->max_clients != 0 &&
		    (long long)q->client_count >= q->max_clients) {
			log_err("Maximum clients reached. Not accepting "
			    "connection");
			close(fd);
			continue;
		}
		net_format_addr((struct sockaddr *)&ss, addr, sizeof(addr));
		server_add_client(q, fd, addr);
	}
}

int
server_start(struct qnetd *q)
{
	char err[NET_ERR_LEN];

	q->doomed = NULL;
	q->reaper.data = q;
	uv_idle_init(q->loop, &q->reaper);
	q->listen_fd = net_listen(q->listen_addr, (uint16_t)q->port, q->family,
	    (int)q->set.listen_backlog, err);
	if (q->listen_fd == -1) {
		log_crit("Can't create listening socket: %s", err);
		return -1;
	}
	uv_poll_init(q->loop, &q->listen_poll, q->listen_fd);
	q->listen_poll.data = q;
	uv_poll_start(&q->listen_poll, UV_READABLE, on_listen_ready);
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
	if (q->listen_fd != -1)
		uv_close((uv_handle_t *)&q->listen_poll, listen_closed);
	for (struct client *c = q->clients; c != NULL; c = c->all_next)
		client_schedule_disconnect(c, "server going down");
}
