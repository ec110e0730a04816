/*
 * What the node tells qnetd (PROTOCOL.md §7, §10.2): the node lists, the
 * heuristics result, the echo requests; and the vote it casts through
 * the votequorum adapter.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "names.h"
#include "net_int.h"

COUNTER_DEFINE(connects, NULL, "");

const struct counter *
net_connects(void)
{
	return &connects;
}

/* ------------------------------------------------------------------ */
/* Votes */

void
net_set_vote(struct qd_net *n, uint8_t vote, const char *why_id,
    const char *fmt, ...)
{
	uint8_t old = qd_vq_vote(n->vq);
	va_list ap;

	if (vote == QN_VOTE_UNDEFINED || vote == QN_VOTE_NO_CHANGE)
		return;
	log_debug("Algorithm result vote is %s", vote_name(vote));
	/* The latest reason for the vote in force; since: when it changed. */
	va_start(ap, fmt);
	vsnprintf(n->vote_reason, sizeof(n->vote_reason), fmt, ap);
	va_end(ap);
	n->vote_reason_id = why_id;
	if (vote != old) {
		n->vote_since = time(NULL);
		log_notice("Vote changed from %s to %s: %s", vote_name(old),
		    vote_name(vote), n->vote_reason);
		qd_event(n->ev, "vote_changed", vote_id(vote), n->vote_reason);
	}
	if (qd_vq_cast(n->vq, vote) != 0)
		n->ev->exit(n->ev->arg, 1, 0);
}

/*
 * ffsplit gives the device's vote to at most one partition, which only
 * works when every node and the device have exactly one vote.
 */
int
net_ffsplit_check_votes(struct qd_net *n)
{
	uint32_t votes, qdevice_votes;

	if (n->cfg->net.algorithm != QN_ALGO_FFSPLIT)
		return 0;
	for (size_t i = 0; i < n->nodes.count; i++) {
		uint32_t id = n->nodes.nodes[i].node_id;
		int rc = qd_vq_node_votes(n->vq, id, &votes, &qdevice_votes);

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
		if (id == n->cfg->node_id && qdevice_votes != 1) {
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
net_next_seq(struct qd_net *n)
{
	return ++n->seq;
}

void
net_fill_ring_id(struct qd_net *n, struct msg *m)
{
	const struct qd_vq_view *v = qd_vq_view(n->vq);

	msg_set_ring_id(m, &v->ring_id);
	n->sent_ring_id = v->ring_id;
}

void
net_log_nodes(const struct qn_node *nodes, size_t count)
{
	log_debug("  Node list:");
	for (size_t i = 0; i < count; i++)
		log_debug("    %zu node_id = %" PRIu32 ", data_center_id = %"
		    PRIu32 ", node_state = %s", i, nodes[i].node_id,
		    nodes[i].dc_id, node_state_name(nodes[i].state));
}

int
net_send_config_list(struct qd_net *n, uint8_t type)
{
	struct msg m;

	msg_init(&m, QN_MSG_NODE_LIST);
	msg_set_seq(&m, net_next_seq(n));
	msg_set_node_list_type(&m, type);
	if (n->nodes.has_config_version)
		msg_set_config_version(&m, n->nodes.config_version);
	msg_set_nodes(&m, n->nodes.nodes, n->nodes.count);
	log_debug("Sending config node list seq = %" PRIu32, m.seq);
	net_log_nodes(m.nodes, m.node_count);
	return net_send(n, &m);
}

int
net_send_membership_list(struct qd_net *n, uint8_t heuristics)
{
	const struct qd_vq_view *v = qd_vq_view(n->vq);
	struct qn_node *nodes = NULL;
	size_t count = v->member_count;
	struct msg m;
	int rc;

	if (count > 0 && (nodes = calloc(count, sizeof(*nodes))) == NULL) {
		net_disconnect(n, DISC_CANT_ALLOCATE_MSG_BUFFER);
		return -1;
	}
	for (size_t i = 0; i < count; i++)
		nodes[i].node_id = v->members[i];
	msg_init(&m, QN_MSG_NODE_LIST);
	msg_set_seq(&m, net_next_seq(n));
	msg_set_node_list_type(&m, QN_LIST_MEMBERSHIP);
	net_fill_ring_id(n, &m);
	if (heuristics != QN_HEUR_UNDEFINED)
		msg_set_heuristics(&m, heuristics);
	msg_set_nodes(&m, nodes, count);
	log_debug("Sending membership node list seq = %" PRIu32 ", ringid = (%"
	    PRIx32 ".%" PRIx64 "), heuristics = %s.", m.seq, m.ring_id.node_id,
	    m.ring_id.seq, heuristics_name(heuristics));
	net_log_nodes(nodes, count);
	rc = net_send(n, &m);
	free(nodes);
	return rc;
}

/* Node id 0 is the quorum device itself: it is not a node. */
int
net_send_quorum_list(struct qd_net *n)
{
	const struct qd_vq_view *v = qd_vq_view(n->vq);
	struct qn_node *nodes = NULL;
	size_t count = 0;
	struct msg m;
	int rc;

	if (v->quorum_count > 0 &&
	    (nodes = calloc(v->quorum_count, sizeof(*nodes))) == NULL) {
		net_disconnect(n, DISC_CANT_ALLOCATE_MSG_BUFFER);
		return -1;
	}
	for (size_t i = 0; i < v->quorum_count; i++) {
		const votequorum_node_t *q = &v->quorum_nodes[i];

		if (q->nodeid == 0)
			continue;
		nodes[count].node_id = q->nodeid;
		/* votequorum's member/dead/leaving are the wire's 1/2/3. */
		nodes[count].state = q->state >= QN_NODE_STATE_MEMBER &&
		    q->state <= QN_NODE_STATE_LEAVING ? (uint8_t)q->state :
		    QN_NODE_STATE_DEAD;
		count++;
	}
	msg_init(&m, QN_MSG_NODE_LIST);
	msg_set_seq(&m, net_next_seq(n));
	msg_set_node_list_type(&m, QN_LIST_QUORUM);
	msg_set_quorate(&m, (uint8_t)v->quorate);
	msg_set_nodes(&m, nodes, count);
	log_debug("Sending quorum node list seq = %" PRIu32 ", quorate = %d",
	    m.seq, v->quorate);
	net_log_nodes(nodes, count);
	rc = net_send(n, &m);
	free(nodes);
	return rc;
}

int
net_send_heuristics_change(struct qd_net *n, uint8_t heuristics)
{
	struct msg m;

	msg_init(&m, QN_MSG_HEURISTICS_CHANGE);
	msg_set_seq(&m, net_next_seq(n));
	msg_set_heuristics(&m, heuristics);
	log_debug("Sending heuristics change seq = %" PRIu32 ", heuristics = "
	    "%s", m.seq, heuristics_name(heuristics));
	return net_send(n, &m);
}

/*
 * The connect heuristics are done: tell qnetd everything it needs to
 * decide (PROTOCOL.md §7.5) and wait for its vote.
 */
void
net_connected_burst(struct qd_net *n, uint8_t heuristics)
{
	struct msg m;

	if (n->server_kap) {
		msg_init(&m, QN_MSG_SET_OPTION);
		msg_set_seq(&m, net_next_seq(n));
		msg_set_kap_tie_breaker(&m, (uint8_t)n->cfg->net.kap);
		log_debug("Sending set option seq = %" PRIu32 ", KAP "
		    "Tie-breaker(1) = %s", m.seq, n->cfg->net.kap ? "Enabled" :
		    "Disabled");
		if (net_send(n, &m) != 0)
			return;
	}
	if (net_send_config_list(n, QN_LIST_INITIAL_CONFIG) != 0 ||
	    net_send_membership_list(n, heuristics) != 0 ||
	    net_send_quorum_list(n) != 0)
		return;
	n->init_reply_ok = 0;
	n->membership_pending = 0;
	n->quorum_pending = 0;
	n->state = NET_CONNECTED;
	n->connected_since = time(NULL);
	n->conn_since = n->connected_since;
	snprintf(n->conn_reason, sizeof(n->conn_reason), "connected");
	log_notice("Connected to qnetd %s:%u%s", n->cfg->net.host,
	    (unsigned)n->cfg->net.port, n->link.tls_active ? " (TLS)" : "");
	qd_event(n->ev, "connected", "", n->cfg->net.host);
	counter_inc(&connects, 0);
	net_set_vote(n, QN_VOTE_WAIT_FOR_REPLY, VOTE_WHY_WAITING,
	    "connected, waiting for qnetd's vote");
}

/* ------------------------------------------------------------------ */
/* Echo (heartbeat) */

static void
echo_tick(uv_timer_t *t)
{
	struct qd_net *n = t->data;
	struct msg m;

	if (n->link.disc_pending || n->link.conn == NULL)
		return;
	if (n->echo_sent != n->echo_answered) {
		if (policy_keep_on_missing_echo(n->cfg->net.algorithm,
		    qd_vq_view(n->vq)->quorate, n->cfg->wait_for_all)) {
			log_debug("Echo reply not received, but the node is "
			    "quorate with wait_for_all: keeping the connection");
			return;
		}
		log_err("Server didn't send echo reply message on time");
		net_disconnect(n, DISC_ECHO_REPLY_NOT_RECEIVED);
		return;
	}
	msg_init(&m, QN_MSG_ECHO_REQUEST);
	msg_set_seq(&m, ++n->echo_sent);
	net_send(n, &m);
}

void
net_start_echo(struct qd_net *n)
{
	uint32_t hb = n->cfg->net.heartbeat_interval;

	n->echo_sent = n->echo_answered = 0;
	log_debug("Scheduling send of heartbeat every %" PRIu32 "ms", hb);
	uv_timer_start(&n->echo_timer, echo_tick, hb, hb);
}

void
net_stop_echo(struct qd_net *n)
{
	uv_timer_stop(&n->echo_timer);
}

/* ------------------------------------------------------------------ */

void
net_out_init(struct qd_net *n)
{
	uv_timer_init(n->loop, &n->echo_timer);
	n->echo_timer.data = n;
	n->seq = 1;
}

void
net_out_close(struct qd_net *n)
{
	if (!uv_is_closing((uv_handle_t *)&n->echo_timer))
		uv_close((uv_handle_t *)&n->echo_timer, NULL);
}
