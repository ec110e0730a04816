/*
 * Which arbiter the net model talks to (quorum.device.net.host, host_2 ...
 * host_8).  Each attempt goes to the current host; a connection or
 * heartbeat that fails moves on to the next one (after the last: the
 * first).  Connected to another than the first, after host_return_hold
 * a plain TCP connect probes the first; when it answers, the connection
 * is ended like any other (the vote on disconnect is 3.0.3's, policy.c)
 * and the next attempt goes to the first.  The new arbiter's ACK gate
 * (qnetd) keeps its votes from overlapping the previous one's.
 *
 * Failover is OFF in this build (NET_HOSTS_FAILOVER): a node that moves
 * on its own can end on another arbiter than the rest of the cluster,
 * and in a split each arbiter then gives its half the 50:50 tie: two
 * quorate partitions.  Until the whole cluster agrees on the arbiter
 * (planned: CPG with the rule of arbiter_agree.c), only host is used;
 * the list is parsed and shown.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "names.h"
#include "net_int.h"

#define NET_HOSTS_FAILOVER	0	/* see above: never 1 without agreement */

/* A TCP connect to the first host; freed when nothing of it is left. */
struct host_probe {
	struct qd_net *n;		/* NULL once abandoned */
	uv_getaddrinfo_t req;
	uv_timer_t timer;
	uv_tcp_t tcp;
	uv_connect_t connect;
	struct addrinfo *res;
	int resolving, tcp_open;
	int refs;			/* lookup, timer, tcp outstanding */
};

static void
probe_unref(struct host_probe *p)
{
	if (--p->refs > 0)
		return;
	if (p->res != NULL)
		uv_freeaddrinfo(p->res);
	free(p);
}

static void
probe_handle_closed(uv_handle_t *h)
{
	probe_unref(h->data);
}

/* Stop it; callbacks still to come find p->n NULL. */
static void
probe_abandon(struct host_probe *p)
{
	p->n = NULL;
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->timer, probe_handle_closed);
	if (p->tcp_open)
		uv_close((uv_handle_t *)&p->tcp, probe_handle_closed);
	if (p->resolving)
		uv_cancel((uv_req_t *)&p->req);
}

static void	hold_start(struct qd_net *n);

/* The probe's outcome: back to the first host, or wait another hold. */
static void
probe_done(struct host_probe *p, int reachable)
{
	struct qd_net *n = p->n;
	struct net_hosts *hs = &n->hosts;
	const struct net_host *first = &n->cfg->net.hosts[0];
	const struct net_host *cur = &n->cfg->net.hosts[hs->cur];

	probe_abandon(p);
	hs->probe = NULL;
	if (n->state != NET_CONNECTED || n->link.disc_pending ||
	    hs->cur == 0)
		return;
	if (!reachable) {
		log_debug("qnetd host %s:%u (the first) is still not "
		    "reachable: staying with %s:%u", first->host,
		    (unsigned)first->port, cur->host, (unsigned)cur->port);
		hold_start(n);
		return;
	}
	log_notice("qnetd host %s:%u (the first) is reachable again: leaving "
	    "%s:%u for it (host_return_hold %" PRIu32 " ms passed)",
	    first->host, (unsigned)first->port, cur->host,
	    (unsigned)cur->port, n->cfg->net.host_return_hold);
	hs->return_pending = 1;
	net_disconnect(n, DISC_RETURN_TO_FIRST_HOST);
}

static void
probe_connected(uv_connect_t *req, int status)
{
	struct host_probe *p = req->data;

	if (p->n != NULL)
		probe_done(p, status == 0);
}

static void
probe_timeout(uv_timer_t *t)
{
	struct host_probe *p = t->data;

	if (p->n != NULL)
		probe_done(p, 0);
}

static void
probe_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct host_probe *p = req->data;

	p->resolving = 0;
	p->res = res;
	if (p->n == NULL) {
		probe_unref(p);
		return;
	}
	if (status != 0 || res == NULL ||
	    uv_tcp_init(p->n->loop, &p->tcp) != 0) {
		probe_unref(p);
		probe_done(p, 0);
		return;
	}
	/* The lookup's reference goes to the TCP handle. */
	p->tcp_open = 1;
	p->tcp.data = p;
	p->connect.data = p;
	/* The name's first address only: enough to say it is back. */
	if (uv_tcp_connect(&p->connect, &p->tcp, res->ai_addr,
	    probe_connected) != 0)
		probe_done(p, 0);
}

static void
probe_start(struct qd_net *n)
{
	const struct net_config *nc = &n->cfg->net;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };
	struct host_probe *p;
	char port[8];

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		hold_start(n);
		return;
	}
	p->n = n;
	p->refs = 2;			/* the lookup and the timer */
	uv_timer_init(n->loop, &p->timer);
	p->timer.data = p;
	p->req.data = p;
	hints.ai_family = nc->force_ip_version == 4 ? AF_INET :
	    nc->force_ip_version == 6 ? AF_INET6 : AF_UNSPEC;
	snprintf(port, sizeof(port), "%u", (unsigned)nc->hosts[0].port);
	n->hosts.probe = p;
	uv_timer_start(&p->timer, probe_timeout, nc->connect_timeout, 0);
	p->resolving = 1;
	if (uv_getaddrinfo(n->loop, &p->req, probe_resolved,
	    nc->hosts[0].host, port, &hints) != 0) {
		p->resolving = 0;
		probe_unref(p);
		probe_done(p, 0);
		return;
	}
	log_debug("Probing qnetd host %s:%u (the first)", nc->hosts[0].host,
	    (unsigned)nc->hosts[0].port);
}

static void
hold_expired(uv_timer_t *t)
{
	struct qd_net *n = t->data;

	if (n->state == NET_CONNECTED && !n->link.disc_pending &&
	    n->hosts.cur != 0 && n->hosts.probe == NULL)
		probe_start(n);
}

static void
hold_start(struct qd_net *n)
{
	uv_timer_start(&n->hosts.hold, hold_expired,
	    n->cfg->net.host_return_hold, 0);
}

static void
hold_stop(struct qd_net *n)
{
	uv_timer_stop(&n->hosts.hold);
	if (n->hosts.probe != NULL) {
		probe_abandon(n->hosts.probe);
		n->hosts.probe = NULL;
	}
}

/* ------------------------------------------------------------------ */

void
net_hosts_init(struct qd_net *n)
{
	struct net_hosts *hs = &n->hosts;

	hs->cur = 0;
	hs->why = HOST_FIRST;
	uv_timer_init(n->loop, &hs->hold);
	hs->hold.data = n;
	hs->up = 1;
	if (!NET_HOSTS_FAILOVER && n->cfg->net.host_count > 1)
		log_warn("quorum.device.net.host_2 and later are set, but "
		    "failover to them is not available in this build: using "
		    "only host %s:%u", n->cfg->net.hosts[0].host,
		    (unsigned)n->cfg->net.hosts[0].port);
}

void
net_hosts_close(struct qd_net *n)
{
	if (!n->hosts.up)
		return;
	hold_stop(n);
	if (!uv_is_closing((uv_handle_t *)&n->hosts.hold))
		uv_close((uv_handle_t *)&n->hosts.hold, NULL);
	n->hosts.up = 0;
}

const struct net_host *
net_hosts_current(const struct qd_net *n)
{
	return &n->cfg->net.hosts[n->hosts.cur];
}

void
net_hosts_connected(struct qd_net *n)
{
	if (n->hosts.cur != 0 && n->cfg->net.host_return_hold != 0)
		hold_start(n);
}

/* The connection ended for r and the model reconnects: to which host? */
void
net_hosts_disconnected(struct qd_net *n, enum disc_reason r)
{
	struct net_hosts *hs = &n->hosts;
	const struct net_config *nc = &n->cfg->net;
	size_t next;

	hold_stop(n);
	if (nc->host_count < 2 || !NET_HOSTS_FAILOVER)
		return;
	hs->prev = hs->cur;
	hs->prev_reason = r;
	if (hs->return_pending) {
		hs->return_pending = 0;
		next = 0;
		hs->why = HOST_RETURNED;
	} else {
		next = (hs->cur + 1) % nc->host_count;
		hs->why = HOST_PREVIOUS_FAILED;
	}
	hs->cur = next;
	log_notice("Next qnetd host: %s:%u (%s)", nc->hosts[next].host,
	    (unsigned)nc->hosts[next].port, net_host_why_text(n));
}

int
net_hosts_failover(const struct qd_net *n)
{
	return NET_HOSTS_FAILOVER && n->cfg->net.host_count > 1;
}

size_t
net_host_index(const struct qd_net *n)
{
	return n->hosts.cur;
}

const char *
net_host_why_id(const struct qd_net *n)
{
	switch (n->hosts.why) {
	case HOST_FIRST:
		return "first";
	case HOST_PREVIOUS_FAILED:
		return "previous_failed";
	default:
		return "returned_to_first";
	}
}

const char *
net_host_why_text(const struct qd_net *n)
{
	static char text[320];
	const struct net_host *p = &n->cfg->net.hosts[n->hosts.prev];

	switch (n->hosts.why) {
	case HOST_FIRST:
		return "the first host";
	case HOST_PREVIOUS_FAILED:
		snprintf(text, sizeof(text), "%s:%u failed: %s", p->host,
		    (unsigned)p->port, disc_reason_str(n->hosts.prev_reason));
		return text;
	default:
		snprintf(text, sizeof(text), "back to the first host after "
		    "host_return_hold, from %s:%u", p->host, (unsigned)p->port);
		return text;
	}
}
