/*
 * The net model: the connection to qnetd and what the node tells it
 * (BEHAVIOUR.md §3.4-§3.7, PROTOCOL.md §6, §7, §10.2).
 *
 * One connection attempt: resolve net.host, connect to each address in
 * turn, PREINIT, optional STARTTLS, INIT, then the connect heuristics and
 * the initial burst (KAP option, config, membership and quorum lists).  A
 * connect timer bounds the whole attempt.  Every problem goes through
 * net_disconnect(), which only schedules: the disconnect runs from the loop,
 * outside any callback of the connection, applies the algorithm's vote and
 * then reconnects or ends the daemon as policy.c says.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "conn.h"
#include "log.h"
#include "msg.h"
#include "names.h"
#include "qdevice.h"
#include "tls.h"

/* The connection and its owner, freed when conn.c is done with it. */
struct net_conn {
	struct conn c;
	struct qdevice *q;
};

static void	start_attempt(struct qdevice *q);

/* ------------------------------------------------------------------ */
/* Votes */

void
net_set_vote(struct qdevice *q, uint8_t vote)
{
	if (vote == QN_VOTE_UNDEFINED)
		return;
	log_debug("Algorithm result vote is %s", vote_name(vote));
	if (cast_set_vote(&q->net.cast, vote) != 0)
		qdevice_exit(q, 1);
}

static int
cast_poll(void *arg, int cast_vote)
{
	return qd_vq_poll(arg, cast_vote);
}

static void
cast_failed(void *arg)
{
	qdevice_exit(arg, 1);
}

/*
 * ffsplit gives the device's vote to at most one partition, which only
 * works when every node and the device have exactly one vote.
 */
static int
ffsplit_check_votes(struct qdevice *q)
{
	uint32_t votes, qdevice_votes;

	if (q->cfg.net.algorithm != QN_ALGO_FFSPLIT)
		return 0;
	for (size_t i = 0; i < q->nodes.count; i++) {
		uint32_t id = q->nodes.nodes[i].node_id;
		int rc = qd_vq_node_votes(q, id, &votes, &qdevice_votes);

		if (rc > 0)
			continue;	/* not known to votequorum yet */
		if (rc < 0) {
			log_crit("Can't get votequorum information about node "
			    "%" PRIu32, id);
			return -1;
		}
		if (votes != 1) {
			log_crit("50:50 split algorithm works only if all nodes "
			    "have exactly 1 vote (node %" PRIu32 " has %" PRIu32
			    ")", id, votes);
			return -1;
		}
		if (id == q->cfg.node_id && qdevice_votes != 1) {
			log_crit("50:50 split algorithm works only if the qdevice "
			    "has exactly 1 vote (it has %" PRIu32 ")",
			    qdevice_votes);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sending */

uint32_t
net_next_seq(struct qdevice *q)
{
	return ++q->net.seq;
}

/*
 * A message that cannot be queued (too big for the server, queue full)
 * ends the connection; the caller stops what it was doing.
 */
int
net_send(struct qdevice *q, struct msg *m)
{
	struct qd_net *n = &q->net;

	if (n->conn == NULL || n->disc_pending)
		return -1;
	if (conn_send(n->conn, m) != 0) {
		log_err("Can't send %s message: message too big or send queue "
		    "full", msg_type_name(m->type));
		net_disconnect(q, DISC_CANT_ALLOCATE_MSG_BUFFER);
		return -1;
	}
	return 0;
}

void
net_fill_ring_id(struct qdevice *q, struct msg *m)
{
	m->has |= QN_BIT(QN_OPT_RING_ID);
	m->ring_id = q->vq.ring_id;
	q->net.sent_ring_id = q->vq.ring_id;
}

static void
log_nodes(const struct qn_node *nodes, size_t count)
{
	log_debug("  Node list:");
	for (size_t i = 0; i < count; i++)
		log_debug("    %zu node_id = %" PRIu32 ", data_center_id = %"
		    PRIu32 ", node_state = %s", i, nodes[i].node_id,
		    nodes[i].dc_id, node_state_name(nodes[i].state));
}

static int
send_config_list(struct qdevice *q, uint8_t type)
{
	struct msg m;

	msg_init(&m, QN_MSG_NODE_LIST);
	m.has |= QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_NODE_LIST_TYPE) |
	    QN_BIT(QN_OPT_NODE_INFO);
	m.seq = net_next_seq(q);
	m.node_list_type = type;
	if (q->nodes.has_config_version) {
		m.has |= QN_BIT(QN_OPT_CONFIG_VERSION);
		m.config_version = q->nodes.config_version;
	}
	m.nodes = q->nodes.nodes;
	m.node_count = q->nodes.count;
	log_debug("Sending config node list seq = %" PRIu32, m.seq);
	log_nodes(m.nodes, m.node_count);
	return net_send(q, &m);
}

static int
send_membership_list(struct qdevice *q, uint8_t heuristics)
{
	struct qn_node *nodes = NULL;
	size_t n = q->vq.member_count;
	struct msg m;
	int rc;

	if (n > 0 && (nodes = calloc(n, sizeof(*nodes))) == NULL) {
		net_disconnect(q, DISC_CANT_ALLOCATE_MSG_BUFFER);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		nodes[i].node_id = q->vq.members[i];
	msg_init(&m, QN_MSG_NODE_LIST);
	m.has |= QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_NODE_LIST_TYPE) |
	    QN_BIT(QN_OPT_NODE_INFO);
	m.seq = net_next_seq(q);
	m.node_list_type = QN_LIST_MEMBERSHIP;
	net_fill_ring_id(q, &m);
	if (heuristics != QN_HEUR_UNDEFINED) {
		m.has |= QN_BIT(QN_OPT_HEURISTICS);
		m.heuristics = heuristics;
	}
	m.nodes = nodes;
	m.node_count = n;
	log_debug("Sending membership node list seq = %" PRIu32 ", ringid = (%"
	    PRIx32 ".%" PRIx64 "), heuristics = %s.", m.seq, m.ring_id.node_id,
	    m.ring_id.seq, heuristics_name(heuristics));
	log_nodes(nodes, n);
	rc = net_send(q, &m);
	free(nodes);
	return rc;
}

/* Node id 0 is the quorum device itself: it is not a node. */
static int
send_quorum_list(struct qdevice *q)
{
	struct qn_node *nodes = NULL;
	size_t n = 0;
	struct msg m;
	int rc;

	if (q->vq.quorum_count > 0 &&
	    (nodes = calloc(q->vq.quorum_count, sizeof(*nodes))) == NULL) {
		net_disconnect(q, DISC_CANT_ALLOCATE_MSG_BUFFER);
		return -1;
	}
	for (size_t i = 0; i < q->vq.quorum_count; i++) {
		const votequorum_node_t *v = &q->vq.quorum_nodes[i];

		if (v->nodeid == 0)
			continue;
		nodes[n].node_id = v->nodeid;
		/* votequorum's member/dead/leaving are the wire's 1/2/3. */
		nodes[n].state = v->state >= QN_NODE_STATE_MEMBER &&
		    v->state <= QN_NODE_STATE_LEAVING ? (uint8_t)v->state :
		    QN_NODE_STATE_DEAD;
		n++;
	}
	msg_init(&m, QN_MSG_NODE_LIST);
	m.has |= QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_NODE_LIST_TYPE) |
	    QN_BIT(QN_OPT_QUORATE) | QN_BIT(QN_OPT_NODE_INFO);
	m.seq = net_next_seq(q);
	m.node_list_type = QN_LIST_QUORUM;
	m.quorate = (uint8_t)q->vq.quorate;
	m.nodes = nodes;
	m.node_count = n;
	log_debug("Sending quorum node list seq = %" PRIu32 ", quorate = %d",
	    m.seq, q->vq.quorate);
	log_nodes(nodes, n);
	rc = net_send(q, &m);
	free(nodes);
	return rc;
}

static int
send_heuristics_change(struct qdevice *q, uint8_t heuristics)
{
	struct msg m;

	msg_init(&m, QN_MSG_HEURISTICS_CHANGE);
	m.has |= QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_HEURISTICS);
	m.seq = net_next_seq(q);
	m.heuristics = heuristics;
	log_debug("Sending heuristics change seq = %" PRIu32 ", heuristics = "
	    "%s", m.seq, heuristics_name(heuristics));
	return net_send(q, &m);
}

/*
 * The connect heuristics are done: tell qnetd everything it needs to
 * decide (PROTOCOL.md §7.5) and wait for its vote.
 */
void
net_connected_burst(struct qdevice *q, uint8_t heuristics)
{
	struct qd_net *n = &q->net;
	struct msg m;

	if (n->server_kap) {
		msg_init(&m, QN_MSG_SET_OPTION);
		m.has |= QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_KAP_TIE_BREAKER);
		m.seq = net_next_seq(q);
		m.kap_tie_breaker = (uint8_t)q->cfg.net.kap;
		log_debug("Sending set option seq = %" PRIu32 ", KAP "
		    "Tie-breaker(1) = %s", m.seq, q->cfg.net.kap ? "Enabled" :
		    "Disabled");
		if (net_send(q, &m) != 0)
			return;
	}
	if (send_config_list(q, QN_LIST_INITIAL_CONFIG) != 0 ||
	    send_membership_list(q, heuristics) != 0 ||
	    send_quorum_list(q) != 0)
		return;
	n->init_reply_ok = 0;
	n->membership_pending = 0;
	n->quorum_pending = 0;
	n->state = NET_CONNECTED;
	n->connected_since = time(NULL);
	net_set_vote(q, QN_VOTE_WAIT_FOR_REPLY);
}

/* ------------------------------------------------------------------ */
/* Echo (heartbeat) */

static void
echo_tick(uv_timer_t *t)
{
	struct qdevice *q = t->data;
	struct qd_net *n = &q->net;
	struct msg m;

	if (n->disc_pending || n->conn == NULL)
		return;
	if (n->echo_sent != n->echo_answered) {
		if (policy_keep_on_missing_echo(q->cfg.net.algorithm,
		    q->vq.quorate, q->cfg.wait_for_all)) {
			log_debug("Echo reply not received, but the node is "
			    "quorate with wait_for_all: keeping the connection");
			return;
		}
		log_err("Server didn't send echo reply message on time");
		net_disconnect(q, DISC_ECHO_REPLY_NOT_RECEIVED);
		return;
	}
	msg_init(&m, QN_MSG_ECHO_REQUEST);
	m.has |= QN_BIT(QN_OPT_SEQ);
	m.seq = ++n->echo_sent;
	net_send(q, &m);
}

void
net_start_echo(struct qdevice *q)
{
	struct qd_net *n = &q->net;
	uint32_t hb = q->cfg.net.heartbeat_interval;

	n->echo_sent = n->echo_answered = 0;
	log_debug("Scheduling send of heartbeat every %" PRIu32 "ms", hb);
	uv_timer_start(&n->echo_timer, echo_tick, hb, hb);
}

/* ------------------------------------------------------------------ */
/* Connection */

static void
on_message(struct conn *c, enum reader_status st, const uint8_t *data,
    size_t len)
{
	struct qdevice *q = c->owner;

	if (q->net.disc_pending || q->net.conn != c)
		return;
	switch (st) {
	case READER_MESSAGE:
		net_msg_received(q, data, len);
		break;
	case READER_UNSUPPORTED:
		log_err("Received unsupported message type %u",
		    len >= 2 ? (unsigned)(data[0] << 8 | data[1]) : 0);
		net_disconnect(q, DISC_UNSUPPORTED_MSG);
		break;
	default:
		log_err("Can't read message from qnetd (%s)",
		    st == READER_TOO_LONG ? "message too long" :
		    "out of memory");
		net_disconnect(q, DISC_CANT_READ_MESSAGE);
		break;
	}
}

static void
try_next_address(struct qdevice *q);

static void
on_error(struct conn *c, enum conn_error e)
{
	struct qdevice *q = c->owner;
	struct qd_net *n = &q->net;

	if (n->conn != c)
		return;
	switch (e) {
	case CONN_CONNECT:
		/* Try the next address; the connect timer still runs. */
		n->conn = NULL;
		conn_close(c);
		try_next_address(q);
		return;
	case CONN_EOF:
		log_err("Server closed connection");
		net_disconnect(q, DISC_SERVER_CLOSED_CONNECTION);
		return;
	case CONN_TLS:
		log_err("TLS error: %s", tls_error());
		net_disconnect(q, DISC_CANT_SEND_MESSAGE);
		return;
	case CONN_IO:
		log_err("Connection to qnetd failed");
		net_disconnect(q, DISC_CANT_READ_MESSAGE);
		return;
	}
}

static void
on_connected(struct conn *c)
{
	struct qdevice *q = c->owner;
	struct qd_net *n = &q->net;
	struct msg m;

	if (n->conn != c)
		return;
	freeaddrinfo(n->addrs);
	n->addrs = n->next_addr = NULL;
	n->tcp_connected = 1;
	n->state = NET_WAITING_PREINIT_REPLY;

	/* PREINIT carries the counter as it is (PROTOCOL.md §6). */
	msg_init(&m, QN_MSG_PREINIT);
	m.has |= QN_BIT(QN_OPT_SEQ) | QN_BIT(QN_OPT_CLUSTER_NAME);
	m.seq = n->seq;
	m.cluster_name = q->cfg.cluster_name;
	m.cluster_name_len = strlen(q->cfg.cluster_name);
	n->preinit_seq = m.seq;
	log_debug("Sending preinit msg to qnetd");
	net_send(q, &m);
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
try_next_address(struct qdevice *q)
{
	struct qd_net *n = &q->net;

	while (n->next_addr != NULL) {
		struct addrinfo *ai = n->next_addr;
		struct net_conn *nc = calloc(1, sizeof(*nc));

		n->next_addr = ai->ai_next;
		if (nc == NULL)
			break;
		nc->q = q;
		if (conn_connect(&nc->c, &n->conn_ctx, ai->ai_addr,
		    ai->ai_addrlen, &conn_callbacks, q, n->max_receive,
		    n->max_send, (size_t)q->set.net_max_send_buffers) == 0) {
			n->conn = &nc->c;
			return;
		}
		free(nc);
	}
	freeaddrinfo(n->addrs);
	n->addrs = n->next_addr = NULL;
	/* Nothing more until the connect timer fires (BEHAVIOUR.md §3.5). */
	log_err("Can't connect to qnetd host %s:%u", q->cfg.net.host,
	    (unsigned)q->cfg.net.port);
	n->connect_failed = 1;
}

static void
resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct qdevice *q = req->data;

	free(req);
	if (q == NULL) {		/* the attempt was abandoned */
		if (res != NULL)
			uv_freeaddrinfo(res);
		return;
	}
	q->net.resolving = NULL;
	if (status != 0) {
		log_err("Can't resolve qnetd host %s: %s", q->cfg.net.host,
		    uv_strerror(status));
		log_err("Can't connect to qnetd host %s:%u", q->cfg.net.host,
		    (unsigned)q->cfg.net.port);
		q->net.connect_failed = 1;
		return;
	}
	q->net.addrs = q->net.next_addr = res;
	try_next_address(q);
}

static void
connect_timeout(uv_timer_t *t)
{
	struct qdevice *q = t->data;

	log_err("Connect timeout");
	net_disconnect(q, DISC_CANT_CONNECT);
}

static void
start_attempt(struct qdevice *q)
{
	struct qd_net *n = &q->net;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };
	char port[8];
	uv_getaddrinfo_t *req;

	n->state = NET_WAITING_CONNECT;
	n->tcp_connected = 0;
	n->connect_failed = 0;
	n->init_reply_ok = 0;
	n->tls_active = 0;
	n->max_receive = (size_t)q->set.net_initial_msg_receive_size;
	n->max_send = (size_t)q->set.net_initial_msg_send_size;
	uv_timer_start(&n->connect_timer, connect_timeout,
	    q->cfg.net.connect_timeout, 0);
	log_debug("Trying connect to qnetd server %s:%u (timeout = %" PRIu32
	    "ms)", q->cfg.net.host, (unsigned)q->cfg.net.port,
	    q->cfg.net.connect_timeout);

	hints.ai_family = q->cfg.net.force_ip_version == 4 ? AF_INET :
	    q->cfg.net.force_ip_version == 6 ? AF_INET6 : AF_UNSPEC;
	snprintf(port, sizeof(port), "%u", (unsigned)q->cfg.net.port);
	/* The resolver runs on libuv's thread pool: the loop never waits. */
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		n->connect_failed = 1;
		return;
	}
	req->data = q;
	n->resolving = req;
	if (uv_getaddrinfo(q->loop, req, resolved, q->cfg.net.host, port,
	    &hints) != 0) {
		free(req);
		n->resolving = NULL;
		log_err("Can't connect to qnetd host %s:%u", q->cfg.net.host,
		    (unsigned)q->cfg.net.port);
		n->connect_failed = 1;
	}
}

static void
close_connection(struct qdevice *q)
{
	struct qd_net *n = &q->net;

	uv_timer_stop(&n->connect_timer);
	uv_timer_stop(&n->echo_timer);
	if (n->resolving != NULL) {
		n->resolving->data = NULL;
		uv_cancel((uv_req_t *)n->resolving);
		n->resolving = NULL;
	}
	freeaddrinfo(n->addrs);
	n->addrs = n->next_addr = NULL;
	if (n->conn != NULL) {
		conn_close(n->conn);
		n->conn = NULL;
	}
	n->init_reply_ok = 0;
	n->membership_pending = 0;
	n->quorum_pending = 0;
	n->tls_active = 0;
	n->connected_since = 0;
	n->echo_reply_time = 0;
}

/* Uniform in [0, 0.9 x cast-vote interval), seeded per process (D9). */
static uint32_t
reconnect_jitter(struct qdevice *q)
{
	uint64_t x = q->net.rng;
	uint32_t max = (uint32_t)((uint64_t)q->cfg.net.cast_vote_interval *
	    9 / 10);

	/* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	q->net.rng = x;
	x *= UINT64_C(2685821657736338717);
	return max ? (uint32_t)((x >> 32) % max) : 0;
}

static void
reconnect(uv_timer_t *t)
{
	struct qdevice *q = t->data;

	if (q->phase == PHASE_RUNNING)
		start_attempt(q);
}

static void
do_disconnect(uv_idle_t *idle)
{
	struct qdevice *q = idle->data;
	struct qd_net *n = &q->net;
	enum disc_reason r = n->disc_reason;
	int progressed = n->tcp_connected;
	uint8_t vote;
	uint32_t delay;

	uv_idle_stop(idle);
	n->disc_pending = 0;
	if (q->phase == PHASE_EXITING)
		return;
	log_debug("Disconnecting from qnetd: %s", disc_reason_str(r));
	close_connection(q);
	n->state = NET_DISCONNECTED;
	uv_timer_stop(&n->reconnect_timer);

	/* Corosync is gone: nobody to tell the vote to. */
	if (r != DISC_COROSYNC_CONNECTION_CLOSED && q->phase == PHASE_RUNNING) {
		vote = policy_vote_on_disconnect(q->cfg.net.algorithm,
		    q->vq.quorate, q->cfg.wait_for_all);
		net_set_vote(q, vote);
		if (q->phase == PHASE_EXITING)
			return;
	}

	if (disc_reason_action(r, q->cfg.net.algorithm) == DISC_EXIT ||
	    q->phase != PHASE_RUNNING) {
		/*
		 * Leaving the main loop unregisters the device, as 3.0.3
		 * does (observed: after a SERVER_ERROR or a dead heuristics
		 * worker the Qdevice is gone from corosync-quorumtool at
		 * once).  Only exits before the loop served, and fatal poll
		 * errors, leave it registered for corosync to time out.
		 */
		if (r != DISC_LOCAL_SOCKET_CLOSED)
			log_err("Disconnected from qnetd (%s): exiting",
			    disc_reason_str(r));
		q->unregister = r == DISC_LOCAL_SOCKET_CLOSED ||
		    (q->phase == PHASE_RUNNING &&
		    r != DISC_COROSYNC_CONNECTION_CLOSED);
		qdevice_exit(q, disc_reason_exit_status(r));
		return;
	}
	/*
	 * After a connection that got somewhere, wait a random while so the
	 * nodes of a cluster do not all come back at the same moment; 3.0.3
	 * slept here, blocking corosync and IPC (D9).  A connect that never
	 * got through TCP retries at once: the connect timer spaced it.
	 */
	delay = progressed ? reconnect_jitter(q) : 0;
	if (delay)
		log_debug("Sleeping for %" PRIu32 " ms before reconnect", delay);
	uv_timer_start(&n->reconnect_timer, reconnect, delay, 0);
}

/*
 * End the connection for reason r.  Only scheduled: callers may be deep in
 * a callback of the connection, and the first reason is the one that
 * counts.
 */
void
net_disconnect(struct qdevice *q, enum disc_reason r)
{
	struct qd_net *n = &q->net;

	/* Before the model is up, start-up itself fails and exits. */
	if (!n->handles_up || n->disc_pending || q->phase == PHASE_EXITING)
		return;
	n->disc_pending = 1;
	n->disc_reason = r;
	uv_idle_start(&n->disconnect_idle, do_disconnect);
}

/* ------------------------------------------------------------------ */
/* Events from corosync and the heuristics */

/* A membership list waits for its heuristics; the quorum list after it. */
void
net_membership_changed(struct qdevice *q)
{
	struct qd_net *n = &q->net;

	qd_heur_stop_regular(q);
	if (n->state != NET_CONNECTED)
		net_set_vote(q, policy_vote_on_event_disconnected(n->cast.vote));
	cast_pause(&n->cast, 1);
	n->membership_pending = n->state == NET_CONNECTED;
	n->quorum_pending = 0;
	qd_heur_run(q, HEUR_FOR_MEMBERSHIP, q->heur.cfg.sync_timeout);
}

void
net_quorum_changed(struct qdevice *q)
{
	struct qd_net *n = &q->net;

	if (n->state != NET_CONNECTED) {
		net_set_vote(q, policy_vote_on_event_disconnected(n->cast.vote));
		return;
	}
	if (n->membership_pending) {
		/* Membership first, then quorum (PROTOCOL.md §14.4). */
		n->quorum_pending = 1;
		return;
	}
	send_quorum_list(q);
}

void
net_expected_votes_changed(struct qdevice *q)
{
	if (ffsplit_check_votes(q) != 0)
		net_disconnect(q, DISC_ALGO_ERROR);
}

/* nl is taken over. */
void
net_nodelist_changed(struct qdevice *q, struct nodelist *nl)
{
	struct qd_net *n = &q->net;
	int changed = !nodelist_same_nodes(&q->nodes, nl);

	nodelist_free(&q->nodes);
	q->nodes = *nl;
	*nl = (struct nodelist){ 0 };
	if (!changed)
		return;
	log_debug("Configured node list changed");
	log_nodes(q->nodes.nodes, q->nodes.count);
	if (ffsplit_check_votes(q) != 0) {
		net_disconnect(q, DISC_ALGO_ERROR);
		return;
	}
	if (n->state == NET_CONNECTED)
		send_config_list(q, QN_LIST_CHANGED_CONFIG);
	else
		net_set_vote(q, policy_vote_on_event_disconnected(n->cast.vote));
}

void
net_heuristics_enabled(struct qdevice *q)
{
	struct qd_net *n = &q->net;

	if ((n->state == NET_CONNECTED || n->init_reply_ok) &&
	    !n->server_heuristics) {
		log_err("Heuristics are enabled but the qnetd server doesn't "
		    "support them");
		net_disconnect(q, DISC_SERVER_DOESNT_SUPPORT_OPTION);
	}
}

static void
regular_result(struct qdevice *q, uint8_t prev, uint8_t h)
{
	struct qd_net *n = &q->net;

	if (h == prev)
		return;
	if (h == QN_HEUR_PASS)
		log_notice("Heuristics result changed from %s to %s",
		    heuristics_name(prev), heuristics_name(h));
	else
		log_err("Heuristics result changed from %s to %s",
		    heuristics_name(prev), heuristics_name(h));
	if (n->state != NET_CONNECTED || h == QN_HEUR_UNDEFINED)
		return;		/* "undefined" has no wire form */
	if (!n->server_heuristics) {
		net_disconnect(q, DISC_SERVER_DOESNT_SUPPORT_OPTION);
		return;
	}
	send_heuristics_change(q, h);
}

void
net_heur_result(struct qdevice *q, unsigned purposes, uint8_t h)
{
	struct qd_net *n = &q->net;
	uint8_t prev = q->heur.latest;

	if (n->disc_pending && !(purposes & HEUR_FOR_MEMBERSHIP))
		return;
	if ((purposes & HEUR_FOR_CONNECT) && n->init_reply_ok &&
	    n->state == NET_WAITING_INIT_REPLY) {
		/* The burst carries the current membership too. */
		net_connected_burst(q, h);
	} else if ((purposes & HEUR_FOR_MEMBERSHIP) && n->membership_pending &&
	    n->state == NET_CONNECTED) {
		if (send_membership_list(q, h) == 0) {
			net_set_vote(q, QN_VOTE_WAIT_FOR_REPLY);
			if (n->quorum_pending)
				send_quorum_list(q);
		}
	}
	if (purposes & HEUR_FOR_MEMBERSHIP) {
		n->membership_pending = 0;
		n->quorum_pending = 0;
		cast_pause(&n->cast, 0);
	}
	if ((purposes & HEUR_FOR_REGULAR) &&
	    !(purposes & (HEUR_FOR_MEMBERSHIP | HEUR_FOR_CONNECT)))
		regular_result(q, prev, h);
}

/* ------------------------------------------------------------------ */
/* Status words */

/* The JSON id of a status text; the last entry (text NULL) is the default. */
struct text_id {
	const char *text, *id;
};

static const char *
id_of(const char *text, const struct text_id *t)
{
	for (; t->text != NULL; t++)
		if (strcmp(text, t->text) == 0)
			break;
	return t->id;
}

const char *
net_state_text(const struct qdevice *q)
{
	const struct qd_net *n = &q->net;

	if (n->disc_pending || n->state == NET_DISCONNECTED)
		return "Disconnected";
	if (n->state == NET_CONNECTED)
		return "Connected";
	if (n->state == NET_WAITING_CONNECT && n->connect_failed)
		return "Connect failed";
	return "Connecting";
}

const char *
net_state_id(const struct qdevice *q)
{
	static const struct text_id ids[] = {
		{ "Connected", "connected" },
		{ "Connect failed", "connect_failed" },
		{ "Connecting", "connecting" },
		{ NULL, "disconnected" }
	};

	return id_of(net_state_text(q), ids);
}

const char *
net_kap_text(const struct qdevice *q)
{
	switch (q->cfg.net.algorithm) {
	case QN_ALGO_FFSPLIT:
		if (!q->cfg.net.kap)
			return "Disabled";
		if (q->net.server_known && !q->net.server_kap)
			return "Unsupported by QNetd";
		return "Enabled";
	case QN_ALGO_TEST:
		return "Unsupported by algorithm";
	default:
		return "Algorithm hard-coded";
	}
}

const char *
net_kap_id(const struct qdevice *q)
{
	static const struct text_id ids[] = {
		{ "Enabled", "enabled" },
		{ "Disabled", "disabled" },
		{ "Unsupported by QNetd", "unsupported_by_qnetd" },
		{ "Unsupported by algorithm", "unsupported_by_algorithm" },
		{ NULL, "algorithm_hard_coded" }
	};

	return id_of(net_kap_text(q), ids);
}

/* ------------------------------------------------------------------ */
/* Life cycle */

static uint64_t
seed(const struct qdevice *q)
{
	uint64_t s = 0;
	struct timespec ts;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = (uint64_t)ts.tv_nsec << 20 ^ (uint64_t)ts.tv_sec ^
		    (uint64_t)getpid() << 40;
	}
	/* The node id keeps two nodes apart even if the rest collided. */
	s ^= (uint64_t)q->cfg.node_id * UINT64_C(0x9e3779b97f4a7c15);
	return s ? s : UINT64_C(0x2545f4914f6cdd1d);
}

/* Start-up step 12. */
int
net_init(struct qdevice *q)
{
	struct qd_net *n = &q->net;

	log_debug("Initializing qdevice_net_instance");
	if (q->cfg.net.algorithm == QN_ALGO_TEST)
		log_warn("Test algorithm is enabled: it can make more than one "
		    "partition quorate. Use it only for testing!");
	if (q->cfg.net.algorithm == QN_ALGO_FFSPLIT &&
	    (!q->cfg.has_votes || q->cfg.votes != 1)) {
		log_crit("50:50 split algorithm works only if "
		    "quorum.device.votes configuration key is set to 1!");
		return -1;
	}
	if (ffsplit_check_votes(q) != 0)
		return -1;

	log_debug("Initializing NSS");
	if (q->cfg.net.tls != QN_TLS_UNSUPPORTED) {
		if (tls_init(q->set.net_nss_db_dir) != 0) {
			log_crit("Can't init nss (%s): NSS database %s",
			    tls_error(), q->set.net_nss_db_dir);
			return -1;
		}
		n->tls = tls_client_new(q->set.net_nss_qnetd_cn,
		    q->set.net_nss_client_cert_nickname);
		if (n->tls == NULL) {
			log_crit("Can't init nss (%s)", tls_error());
			return -1;
		}
	} else if (tls_init(NULL) != 0) {
		log_crit("Can't init nss (%s)", tls_error());
		return -1;
	}
	n->nss_up = 1;

	if (conn_ctx_init(&n->conn_ctx, q->loop) != 0) {
		log_crit("Can't initialize connection context");
		return -1;
	}
	n->ctx_up = 1;
	uv_timer_init(q->loop, &n->connect_timer);
	uv_timer_init(q->loop, &n->echo_timer);
	uv_timer_init(q->loop, &n->reconnect_timer);
	uv_idle_init(q->loop, &n->disconnect_idle);
	n->connect_timer.data = n->echo_timer.data = q;
	n->reconnect_timer.data = n->disconnect_idle.data = q;
	cast_init(&n->cast, q->loop, q->cfg.net.cast_vote_interval, cast_poll,
	    cast_failed, q);
	n->handles_up = 1;
	n->seq = 1;
	n->rng = seed(q);
	n->state = NET_DISCONNECTED;
	log_debug("Cast vote timer remains stopped.");
	return 0;
}

/* Start-up step 17: the first connection attempt. */
void
net_start(struct qdevice *q)
{
	start_attempt(q);
}

static void
close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Close what lives on the loop; net_finish() after the loop drained. */
void
net_close(struct qdevice *q)
{
	struct qd_net *n = &q->net;

	if (n->handles_up) {
		close_connection(q);
		close_handle((uv_handle_t *)&n->connect_timer);
		close_handle((uv_handle_t *)&n->echo_timer);
		close_handle((uv_handle_t *)&n->reconnect_timer);
		close_handle((uv_handle_t *)&n->disconnect_idle);
		cast_close(&n->cast);
		n->handles_up = 0;
	}
	if (n->ctx_up) {
		conn_ctx_close(&n->conn_ctx);
		n->ctx_up = 0;
	}
}

void
net_finish(struct qdevice *q)
{
	struct qd_net *n = &q->net;

	if (n->tls != NULL)
		tls_client_free(n->tls);
	n->tls = NULL;
	if (n->nss_up) {
		log_debug("Shutting down NSS");
		if (tls_shutdown() != 0)
			log_warn("NSS still had objects in use at shutdown");
		n->nss_up = 0;
	}
}
