/*
 * The net model's connection to qnetd: one attempt resolves the host
 * net_hosts.c chose, connects to each address in turn and tells the model
 * when TCP is up; a connect timer bounds the whole attempt.  Every problem goes through
 * net_disconnect(), which only schedules: the disconnect runs from the
 * loop, outside any callback of the connection, and the model decides
 * what follows (struct net_link_cb).
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cert_watch.h"
#include "log.h"
#include "msg.h"
#include "names.h"
#include "net_int.h"
#include "tls.h"

/* Disconnects by a few groups of reasons (net.h). */
COUNTER_DEFINE(disconnects, "reason", "server_closed", "cant_connect",
    "echo_timeout", "io_error", "tls", "config_mismatch", "server_error",
    "protocol", "local");

static size_t
disc_group(enum disc_reason r)
{
	switch (r) {
	case DISC_SERVER_CLOSED_CONNECTION:
		return 0;
	case DISC_CANT_CONNECT:
		return 1;
	case DISC_ECHO_REPLY_NOT_RECEIVED:
		return 2;
	case DISC_CANT_READ_MESSAGE:
	case DISC_CANT_SEND_MESSAGE:
		return 3;
	case DISC_INCOMPATIBLE_TLS:
	case DISC_CANT_START_TLS:
		return 4;
	case DISC_SERVER_SENT_DUPLICATE_NODE_ID:
	case DISC_SERVER_SENT_TIE_BREAKER_DIFFERS:
	case DISC_SERVER_SENT_ALGORITHM_DIFFERS:
	case DISC_SERVER_DOESNT_SUPPORT_ALGORITHM:
	case DISC_SERVER_DOESNT_SUPPORT_OPTION:
	case DISC_INCOMPATIBLE_MSG_SIZE:
		return 5;
	case DISC_SERVER_SENT_ERROR:
		return 6;
	case DISC_MSG_DECODE_ERROR:
	case DISC_UNEXPECTED_MSG:
	case DISC_UNSUPPORTED_MSG:
	case DISC_REQUIRED_OPTION_MISSING:
	case DISC_ALGO_ECHO_REPLY_ERROR:
		return 7;
	default:
		return 8;
	}
}

const struct counter *
net_disconnects(void)
{
	return &disconnects;
}

/* The connection and its owner, freed when conn.c is done with it. */
struct net_conn {
	struct conn c;
	struct qd_net *n;
};

/* ------------------------------------------------------------------ */
/* Sending */

int
net_send(struct qd_net *n, struct msg *m)
{
	struct net_link *l = &n->link;

	if (l->conn == NULL || l->disc_pending)
		return -1;
	if (conn_send(l->conn, m) != 0) {
		log_err("Can't send %s message: message too big or send queue "
		    "full", msg_type_name(m->type));
		net_disconnect(n, DISC_CANT_ALLOCATE_MSG_BUFFER);
		return -1;
	}
	return 0;
}

/* STARTTLS was sent: what follows goes inside TLS. */
int
net_link_starttls(struct qd_net *n)
{
	if (conn_starttls_client(n->link.conn, n->link.tls) != 0)
		return -1;
	n->link.tls_active = 1;
	return 0;
}

void
net_link_set_limits(struct qd_net *n, size_t max_receive, size_t max_send)
{
	n->link.max_receive = max_receive;
	n->link.max_send = max_send;
	conn_set_limits(n->link.conn, max_receive, max_send);
}

void
net_link_stop_connect_timer(struct qd_net *n)
{
	uv_timer_stop(&n->link.connect_timer);
}

/* ------------------------------------------------------------------ */
/* Connection */

static void
on_message(struct conn *c, enum reader_status st, const uint8_t *data,
    size_t len)
{
	struct qd_net *n = c->owner;

	if (n->link.disc_pending || n->link.conn != c)
		return;
	switch (st) {
	case READER_MESSAGE:
		n->link.cb->message(n, data, len);
		break;
	case READER_UNSUPPORTED:
		log_err("Received unsupported message type %u",
		    len >= 2 ? (unsigned)(data[0] << 8 | data[1]) : 0);
		net_disconnect(n, DISC_UNSUPPORTED_MSG);
		break;
	default:
		log_err("Can't read message from qnetd (%s)",
		    st == READER_TOO_LONG ? "message too long" :
		    "out of memory");
		net_disconnect(n, DISC_CANT_READ_MESSAGE);
		break;
	}
}

static void	try_next_address(struct qd_net *n);

static void
on_error(struct conn *c, enum conn_error e)
{
	struct qd_net *n = c->owner;
	struct net_link *l = &n->link;

	if (l->conn != c)
		return;
	switch (e) {
	case CONN_CONNECT:
		/* Try the next address; the connect timer still runs. */
		l->conn = NULL;
		conn_close(c);
		try_next_address(n);
		return;
	case CONN_EOF:
		log_err("Server closed connection");
		net_disconnect(n, DISC_SERVER_CLOSED_CONNECTION);
		return;
	case CONN_TLS:
		log_err("TLS error: %s", tls_error());
		net_disconnect(n, DISC_CANT_SEND_MESSAGE);
		return;
	case CONN_IO:
		log_err("Connection to qnetd failed");
		net_disconnect(n, DISC_CANT_READ_MESSAGE);
		return;
	}
}

static void
on_connected(struct conn *c)
{
	struct qd_net *n = c->owner;
	struct net_link *l = &n->link;

	if (l->conn != c)
		return;
	freeaddrinfo(l->addrs);
	l->addrs = l->next_addr = NULL;
	l->tcp_connected = 1;
	l->cb->connected(n);
}

static void
on_closed(struct conn *c)
{
	/* c is the first member of its struct net_conn. */
	free((struct net_conn *)(void *)c);
}

static const struct conn_cb conn_callbacks = {
	.on_message = on_message,
	.on_error = on_error,
	.on_connected = on_connected,
	.on_closed = on_closed,
};

static void
try_next_address(struct qd_net *n)
{
	struct net_link *l = &n->link;

	while (l->next_addr != NULL) {
		struct addrinfo *ai = l->next_addr;
		struct net_conn *nc = calloc(1, sizeof(*nc));

		l->next_addr = ai->ai_next;
		if (nc == NULL)
			break;
		nc->n = n;
		if (conn_connect(&nc->c, &l->conn_ctx, ai->ai_addr,
		    ai->ai_addrlen, &conn_callbacks, n, l->max_receive,
		    l->max_send, (size_t)n->set->net_max_send_buffers) == 0) {
			l->conn = &nc->c;
			return;
		}
		free(nc);
	}
	freeaddrinfo(l->addrs);
	l->addrs = l->next_addr = NULL;
	/* Nothing more until the connect timer fires (BEHAVIOUR.md §3.5). */
	log_err("Can't connect to qnetd host %s:%u", l->host->host,
	    (unsigned)l->host->port);
	l->connect_failed = 1;
}

static void
resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct qd_net *n = req->data;

	free(req);
	if (n == NULL) {		/* the attempt was abandoned */
		if (res != NULL)
			uv_freeaddrinfo(res);
		return;
	}
	n->link.resolving = NULL;
	if (status != 0) {
		log_err("Can't resolve qnetd host %s: %s", n->link.host->host,
		    uv_strerror(status));
		log_err("Can't connect to qnetd host %s:%u",
		    n->link.host->host, (unsigned)n->link.host->port);
		n->link.connect_failed = 1;
		return;
	}
	n->link.addrs = n->link.next_addr = res;
	try_next_address(n);
}

static void
connect_timeout(uv_timer_t *t)
{
	struct qd_net *n = t->data;

	log_err("Connect timeout");
	net_disconnect(n, DISC_CANT_CONNECT);
}

void
net_link_connect(struct qd_net *n, const struct net_host *h)
{
	struct net_link *l = &n->link;
	const struct net_config *nc = &n->cfg->net;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };
	char port[8];
	uv_getaddrinfo_t *req;

	l->host = h;
	l->tcp_connected = 0;
	l->connect_failed = 0;
	l->tls_active = 0;
	l->max_receive = (size_t)n->set->net_initial_msg_receive_size;
	l->max_send = (size_t)n->set->net_initial_msg_send_size;
	uv_timer_start(&l->connect_timer, connect_timeout, nc->connect_timeout,
	    0);
	log_debug("Trying connect to qnetd server %s:%u (timeout = %" PRIu32
	    "ms)", h->host, (unsigned)h->port, nc->connect_timeout);

	hints.ai_family = nc->force_ip_version == 4 ? AF_INET :
	    nc->force_ip_version == 6 ? AF_INET6 : AF_UNSPEC;
	snprintf(port, sizeof(port), "%u", (unsigned)h->port);
	/* The resolver runs on libuv's thread pool: the loop never waits. */
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		l->connect_failed = 1;
		return;
	}
	req->data = n;
	l->resolving = req;
	if (uv_getaddrinfo(n->loop, req, resolved, h->host, port,
	    &hints) != 0) {
		free(req);
		l->resolving = NULL;
		log_err("Can't connect to qnetd host %s:%u", h->host,
		    (unsigned)h->port);
		l->connect_failed = 1;
	}
}

/* End the attempt or the connection: nothing of it is left running. */
void
net_link_drop(struct qd_net *n)
{
	struct net_link *l = &n->link;

	uv_timer_stop(&l->connect_timer);
	if (l->resolving != NULL) {
		l->resolving->data = NULL;
		uv_cancel((uv_req_t *)l->resolving);
		l->resolving = NULL;
	}
	freeaddrinfo(l->addrs);
	l->addrs = l->next_addr = NULL;
	if (l->conn != NULL) {
		conn_close(l->conn);
		l->conn = NULL;
	}
	l->tls_active = 0;
}

/* ------------------------------------------------------------------ */
/* Disconnect */

static void
do_disconnect(uv_idle_t *idle)
{
	struct qd_net *n = idle->data;
	struct net_link *l = &n->link;

	uv_idle_stop(idle);
	l->disc_pending = 0;
	if (net_phase(n) == PHASE_EXITING)
		return;
	counter_inc(&disconnects, disc_group(l->disc_reason));
	l->cb->disconnected(n, l->disc_reason, l->tcp_connected);
}

/*
 * End the connection for reason r.  Only scheduled: callers may be deep in
 * a callback of the connection, and the first reason is the one that
 * counts.
 */
void
net_disconnect(struct qd_net *n, enum disc_reason r)
{
	struct net_link *l = &n->link;

	/* Before the model is up, start-up itself fails and exits. */
	if (!l->handles_up || l->disc_pending ||
	    net_phase(n) == PHASE_EXITING)
		return;
	l->disc_pending = 1;
	l->disc_reason = r;
	uv_idle_start(&l->disconnect_idle, do_disconnect);
}

/* ------------------------------------------------------------------ */
/* Life cycle */

/*
 * SIGHUP: look the client certificate up again (logged) and forget the
 * TLS sessions, which would present the old one again.  -1: none.
 */
int
net_link_tls_reload(struct qd_net *n)
{
	struct net_link *l = &n->link;

	if (l->tls == NULL)
		return 0;
	tls_client_forget_sessions();
	if (tls_client_reload(l->tls) != 0) {
		log_err("NSS error (%s): no client certificate '%s' in %s",
		    tls_error(), n->set->net_nss_client_cert_nickname,
		    n->set->net_nss_db_dir);
		return -1;
	}
	if (l->expiry != NULL)
		cert_watch_check(l->expiry, 0);	/* the reload logged it */
	return 0;
}

int
net_link_cert_changed(const struct qd_net *n)
{
	const struct net_link *l = &n->link;

	if (l->tls == NULL || !l->tls_active || l->disc_pending)
		return -1;
	return tls_client_cert_changed(l->tls, l->conn);
}

/*
 * The client certificate's end: logged and an event (certificate_expiring)
 * at start-up, daily and after SIGHUP, the event at most once a day.
 */
static size_t
expiry_query(void *arg, struct tls_expiry *out, size_t max)
{
	const struct qd_net *n = arg;

	return n->link.tls != NULL ? tls_client_expiring(n->link.tls, out,
	    max) : 0;
}

static void
expiry_emit(void *arg, const struct tls_expiry *x, const char *reason)
{
	const struct qd_net *n = arg;

	(void)x;
	qd_event(n->ev, "certificate_expiring", "", reason);
}

static const struct cert_watch_ops expiry_ops = { expiry_query, expiry_emit };

int
net_link_init(struct qd_net *n, const struct net_link_cb *cb)
{
	struct net_link *l = &n->link;
	const struct qdevice_settings *s = n->set;

	l->cb = cb;
	log_debug("Initializing NSS");
	if (n->cfg->net.tls != QN_TLS_UNSUPPORTED) {
		if (tls_init(s->net_nss_db_dir) != 0) {
			log_crit("Can't init nss (%s): NSS database %s",
			    tls_error(), s->net_nss_db_dir);
			return -1;
		}
		l->tls = tls_client_new(s->net_nss_qnetd_cn,
		    s->net_nss_client_cert_nickname);
		if (l->tls == NULL) {
			log_crit("Can't init nss (%s)", tls_error());
			return -1;
		}
	} else if (tls_init(NULL) != 0) {
		log_crit("Can't init nss (%s)", tls_error());
		return -1;
	}
	l->nss_up = 1;

	if (conn_ctx_init(&l->conn_ctx, n->loop) != 0) {
		log_crit("Can't initialize connection context");
		return -1;
	}
	l->ctx_up = 1;
	uv_timer_init(n->loop, &l->connect_timer);
	uv_idle_init(n->loop, &l->disconnect_idle);
	l->connect_timer.data = l->disconnect_idle.data = n;
	l->handles_up = 1;
	if (l->tls != NULL &&
	    (l->expiry = cert_watch_new(n->loop, &expiry_ops, n)) != NULL)
		cert_watch_check(l->expiry, 1);
	return 0;
}

static void
close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void
net_link_close(struct qd_net *n)
{
	struct net_link *l = &n->link;

	if (l->handles_up) {
		net_link_drop(n);
		close_handle((uv_handle_t *)&l->connect_timer);
		close_handle((uv_handle_t *)&l->disconnect_idle);
		cert_watch_close(l->expiry);
		l->expiry = NULL;
		l->handles_up = 0;
	}
	if (l->ctx_up) {
		conn_ctx_close(&l->conn_ctx);
		l->ctx_up = 0;
	}
}

void
net_link_finish(struct qd_net *n)
{
	struct net_link *l = &n->link;

	if (l->tls != NULL)
		tls_client_free(l->tls);
	l->tls = NULL;
	if (l->nss_up) {
		log_debug("Shutting down NSS");
		if (tls_shutdown() != 0)
			log_warn("NSS still had objects in use at shutdown");
		l->nss_up = 0;
	}
}
