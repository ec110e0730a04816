/*
 * Which arbiter the net model talks to (quorum.device.net.host, host_2 ...
 * host_8).  With one host, that one, as in 3.0.3.  With more, the whole
 * cluster moves between them by agreement, never a part of it: a node on
 * its own would leave one partition on the old arbiter and one on the new,
 * each winning a split there.  Every qdevice reports over CPG (cpg.c)
 * whether it lost the agreed arbiter and, on another than the first,
 * whether the first answered a TCP probe after host_return_hold;
 * arbiter_agree.c turns the delivered reports into the agreed (epoch,
 * index), the same on every member.  A change drops the old arbiter's
 * vote at once (NACK); the new one is connected only once every
 * configured node reported holding the agreement (confirmed) and a grace
 * longer than quorum.device.timeout passed, so a node slow to follow has
 * lost its old vote in votequorum by then.  Without CPG: the first host.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "log.h"
#include "net_int.h"

/* Votes from the new arbiter after quorum.device.timeout and this. */
#define SWITCH_GRACE_EXTRA	2000

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

static void	send_report(struct qd_net *n, int force);

/* The probe's outcome: the first host held reachable, or not (yet). */
static void
probe_done(struct host_probe *p, int reachable)
{
	struct qd_net *n = p->n;
	struct net_hosts *hs = &n->hosts;
	const struct net_host *first = &n->cfg->net.hosts[0];

	probe_abandon(p);
	hs->probe = NULL;
	if (n->state != NET_CONNECTED || n->link.disc_pending ||
	    hs->cur == 0 || hs->ag == NULL)
		return;
	if (reachable && !hs->first_held)
		log_notice("qnetd host %s:%u (the first) is reachable again "
		    "(host_return_hold %" PRIu32 " ms passed): the cluster "
		    "returns to it when every node says so", first->host,
		    (unsigned)first->port, n->cfg->net.host_return_hold);
	else if (!reachable)
		log_debug("qnetd host %s:%u (the first) is still not "
		    "reachable", first->host, (unsigned)first->port);
	hs->first_held = reachable;
	send_report(n, 0);
	hold_start(n);
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
	uv_timer_init(n->loop, &hs->hold);
	hs->hold.data = n;
	uv_timer_init(n->loop, &hs->resend);
	hs->resend.data = n;
	hs->up = 1;
}

/* The configured node ids; -1 when there are too many to agree. */
static int
node_ids(const struct qd_net *n, uint32_t *ids, size_t *count)
{
	*count = 0;
	if (n->nodes.count > AGREE_MAX_NODES)
		return -1;
	for (size_t i = 0; i < n->nodes.count; i++)
		ids[(*count)++] = n->nodes.nodes[i].node_id;
	return 0;
}

/* FNV-1a over the hosts and ports, in order. */
static uint32_t
list_hash(const struct net_config *nc)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < nc->host_count; i++) {
		const char *s = nc->hosts[i].host;
		uint8_t port[3] = { (uint8_t)(nc->hosts[i].port >> 8),
		    (uint8_t)nc->hosts[i].port, 0xff };

		for (; *s != '\0'; s++)
			h = (h ^ (uint8_t)*s) * 16777619u;
		for (size_t k = 0; k < sizeof(port); k++)
			h = (h ^ port[k]) * 16777619u;
	}
	return h;
}

int
net_hosts_agree_start(struct qd_net *n,
    int (*send)(void *arg, const struct agree_report *r), void *arg)
{
	struct net_hosts *hs = &n->hosts;
	uint32_t ids[AGREE_MAX_NODES];
	size_t count = 0;

	if (node_ids(n, ids, &count) != 0 ||
	    (hs->ag = calloc(1, sizeof(*hs->ag))) == NULL ||
	    agree_init(hs->ag, ids, count, (unsigned)n->cfg->net.host_count,
	    0) != 0) {
		log_err("Can't agree on an arbiter among %zu nodes", count);
		free(hs->ag);
		hs->ag = NULL;
		return -1;
	}
	hs->ag->list = list_hash(&n->cfg->net);
	hs->send = send;
	hs->send_arg = arg;
	log_notice("Host list: the cluster agrees on its qnetd host through "
	    "corosync's process groups; connecting once all %zu nodes agree",
	    count);
	return 0;
}

void
net_hosts_close(struct qd_net *n)
{
	if (!n->hosts.up)
		return;
	hold_stop(n);
	if (!uv_is_closing((uv_handle_t *)&n->hosts.hold))
		uv_close((uv_handle_t *)&n->hosts.hold, NULL);
	if (!uv_is_closing((uv_handle_t *)&n->hosts.resend))
		uv_close((uv_handle_t *)&n->hosts.resend, NULL);
	free(n->hosts.ag);
	n->hosts.ag = NULL;
	n->hosts.up = 0;
}

const struct net_host *
net_hosts_current(const struct qd_net *n)
{
	return &n->cfg->net.hosts[n->hosts.cur];
}

static void
resend(uv_timer_t *t)
{
	send_report(t->data, 1);
}

/* Tell the group what this node holds and sees (when it changed). */
static void
send_report(struct qd_net *n, int force)
{
	struct net_hosts *hs = &n->hosts;
	struct agree_report r = { 0 };

	if (hs->ag == NULL)
		return;
	r.epoch = hs->ag->epoch;
	r.index = (uint8_t)hs->ag->index;
	/* Other hosts are not probed: a move goes to the next one. */
	r.reach = (uint8_t)((1u << n->cfg->net.host_count) - 1);
	if (hs->lost)
		r.reach &= (uint8_t)~(1u << hs->ag->index);
	r.lost = (uint8_t)hs->lost;
	r.first_held = (uint8_t)(hs->first_held && hs->ag->index != 0);
	r.list = hs->ag->list;
	if (!force && hs->sent && memcmp(&r, &hs->last, sizeof(r)) == 0)
		return;
	hs->last = r;
	hs->sent = 1;
	uv_timer_stop(&hs->resend);
	if (hs->send(hs->send_arg, &r) != 0) {
		/* Nobody can agree without it: again in a second. */
		hs->sent = 0;
		uv_timer_start(&hs->resend, resend, 1000, 0);
	}
}

void
net_hosts_nodes_changed(struct qd_net *n)
{
	struct net_hosts *hs = &n->hosts;
	uint32_t ids[AGREE_MAX_NODES];
	size_t count;

	if (hs->ag == NULL)
		return;
	if (node_ids(n, ids, &count) != 0 ||
	    agree_set_nodes(hs->ag, ids, count) != 0) {
		log_err("Can't agree on an arbiter among %zu nodes: keeping "
		    "the previous node list for it", n->nodes.count);
		return;
	}
	if (!hs->ag->confirmed)
		log_notice("The node list changed: the qnetd host must be "
		    "agreed by all %zu nodes again", count);
	send_report(n, 1);
}

/* The agreed arbiter changed: leave the old one, the new one later. */
static void
switch_to_agreed(struct qd_net *n)
{
	struct net_hosts *hs = &n->hosts;
	const struct net_host *h = &n->cfg->net.hosts[hs->ag->index];
	uint64_t grace = (uint64_t)n->cfg->timeout + SWITCH_GRACE_EXTRA;
	char why[320];

	hold_stop(n);
	hs->cur = hs->ag->index;
	hs->lost = 0;
	hs->first_held = 0;
	hs->grace_until = uv_now(n->loop) + grace;
	log_notice("The cluster agreed on qnetd host %s:%u (epoch %" PRIu32
	    ": %s); connecting in %" PRIu64 " ms at the earliest", h->host,
	    (unsigned)h->port, hs->ag->epoch,
	    net_host_why_text(n, why, sizeof(why)), grace);
	hs->switching = 1;
	net_disconnect(n, DISC_ARBITER_SWITCH);
}

void
net_hosts_view(struct qd_net *n, const uint32_t *members, size_t count)
{
	if (n->hosts.ag == NULL)
		return;
	agree_view(n->hosts.ag, members, count);
	send_report(n, 1);
}

int
net_hosts_report(struct qd_net *n, const struct agree_report *r)
{
	struct net_hosts *hs = &n->hosts;
	int was_confirmed, confirmed = 0;

	if (hs->ag == NULL)
		return 0;
	was_confirmed = hs->ag->confirmed;
	if (r->list != hs->ag->list && hs->ag->foreign_list_from != r->nodeid)
		log_err("Node %" PRIu32 " has another qnetd host list "
		    "(quorum.device.net.host ... host_8, port_N): the nodes "
		    "can't agree on a host until the lists are the same",
		    r->nodeid);
	if (agree_deliver(hs->ag, r) && hs->ag->index != hs->cur)
		switch_to_agreed(n);
	if (hs->ag->confirmed && !was_confirmed) {
		log_info("Every node holds qnetd host %s:%u (epoch %" PRIu32
		    ")", net_hosts_current(n)->host,
		    (unsigned)net_hosts_current(n)->port, hs->ag->epoch);
		confirmed = 1;
	}
	send_report(n, 0);
	return confirmed;
}

uint64_t
net_hosts_connect_wait(struct qd_net *n)
{
	struct net_hosts *hs = &n->hosts;
	uint64_t now = uv_now(n->loop);

	if (hs->ag == NULL)
		return 0;
	if (!hs->ag->confirmed)
		return UINT64_MAX;	/* net_hosts_report() kicks it */
	return hs->grace_until > now ? hs->grace_until - now : 0;
}

void
net_hosts_connected(struct qd_net *n)
{
	struct net_hosts *hs = &n->hosts;

	hs->lost = 0;
	send_report(n, 0);
	if (hs->ag != NULL && hs->cur != 0 && n->cfg->net.host_return_hold != 0)
		hold_start(n);
}

/* The connection ended for r; the next attempt stays on the agreed host. */
void
net_hosts_disconnected(struct qd_net *n, enum disc_reason r)
{
	struct net_hosts *hs = &n->hosts;

	hold_stop(n);
	hs->first_held = 0;
	/* Our own disconnects: the host was not lost. */
	if (hs->switching || r == DISC_CLIENT_CERT_RENEWED) {
		hs->switching = 0;
		send_report(n, 0);
		return;
	}
	hs->lost = 1;
	send_report(n, 0);
}

size_t
net_host_index(const struct qd_net *n)
{
	return n->hosts.cur;
}

int
net_hosts_failover(const struct qd_net *n)
{
	return n->hosts.ag != NULL;
}

const struct agree *
net_hosts_agreement(const struct qd_net *n)
{
	return n->hosts.ag;
}

const char *
net_host_why_id(const struct qd_net *n)
{
	return n->hosts.ag != NULL ? agree_why_id(n->hosts.ag) : "first";
}

const char *
net_host_why_text(const struct qd_net *n, char *buf, size_t len)
{
	const struct net_config *nc = &n->cfg->net;
	char names[AGREE_MAX_HOSTS][300];
	const char *np[AGREE_MAX_HOSTS];

	if (n->hosts.ag == NULL) {
		snprintf(buf, len, "the first host");
		return buf;
	}
	for (size_t i = 0; i < nc->host_count && i < AGREE_MAX_HOSTS; i++) {
		snprintf(names[i], sizeof(names[i]), "%s:%u", nc->hosts[i].host,
		    (unsigned)nc->hosts[i].port);
		np[i] = names[i];
	}
	return agree_why_text(n->hosts.ag, np, buf, len);
}
