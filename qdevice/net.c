/*
 * The net model (net.h): the events that drive it, what follows a
 * disconnect, its life cycle and the words of its status.
 *
 * One connection attempt: resolve the host net_hosts.c chose from the
 * list, connect to each address in turn, PREINIT, optional STARTTLS,
 * INIT, then the connect heuristics and the initial burst (KAP option, config, membership and quorum lists).
 * Every problem schedules a disconnect; when it runs, the algorithm's
 * vote is applied and the model reconnects or ends the daemon as policy.c
 * says.  net_int.h shows how the model's files call each other.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "names.h"
#include "net_int.h"

/* ------------------------------------------------------------------ */
/* Connecting and disconnecting */

static void
start_attempt(struct qd_net *n)
{
	n->state = NET_WAITING_CONNECT;
	n->init_reply_ok = 0;
	net_renew_attempt(n);
	net_link_connect(n, net_hosts_current(n));
}

static void
close_connection(struct qd_net *n)
{
	net_link_drop(n);
	net_stop_echo(n);
	n->init_reply_ok = 0;
	n->membership_pending = 0;
	n->quorum_pending = 0;
	n->connected_since = 0;
	n->echo_reply_time = 0;
}

/* Uniform in [0, 0.9 x cast-vote interval), seeded per process (D9). */
static uint32_t
reconnect_jitter(struct qd_net *n)
{
	uint64_t x = n->rng;
	uint32_t max = (uint32_t)((uint64_t)n->cfg->net.cast_vote_interval *
	    9 / 10);

	/* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	n->rng = x;
	x *= UINT64_C(2685821657736338717);
	return max ? (uint32_t)((x >> 32) % max) : 0;
}

static void	reconnect(uv_timer_t *t);

/* An attempt now, unless the host list's agreement says wait (net_hosts.c). */
static void
try_attempt(struct qd_net *n)
{
	uint64_t wait = net_hosts_connect_wait(n);

	if (wait == 0) {
		start_attempt(n);
	} else if (wait == UINT64_MAX) {
		log_debug("Not connecting: the nodes have not all agreed on "
		    "a qnetd host yet");
	} else {
		log_debug("Connecting to the agreed qnetd host in %" PRIu64
		    " ms", wait);
		uv_timer_start(&n->reconnect_timer, reconnect, wait, 0);
	}
}

static void
reconnect(uv_timer_t *t)
{
	struct qd_net *n = t->data;

	if (net_phase(n) == PHASE_RUNNING)
		try_attempt(n);
}

/* A host list report; once all nodes hold the agreement, connect. */
void
net_arbiter_report(struct qd_net *n, const struct agree_report *r)
{
	if (net_hosts_report(n, r) && n->state == NET_DISCONNECTED &&
	    !n->link.disc_pending &&
	    !uv_is_active((uv_handle_t *)&n->reconnect_timer) &&
	    net_phase(n) == PHASE_RUNNING)
		try_attempt(n);
}

/* A scheduled disconnect runs (not while the daemon exits). */
static void
disconnected(struct qd_net *n, enum disc_reason r, int progressed)
{
	uint8_t vote;
	uint32_t delay;
	int unregister;

	log_debug("Disconnecting from qnetd: %s", disc_reason_str(r));
	if (n->state == NET_CONNECTED) {
		log_notice("Disconnected from qnetd %s:%u: %s",
		    n->cfg->net.host, (unsigned)n->cfg->net.port,
		    disc_reason_str(r));
		qd_event(n->ev, "disconnected", "", disc_reason_str(r));
	}
	snprintf(n->conn_reason, sizeof(n->conn_reason), "%s",
	    disc_reason_str(r));
	n->conn_since = time(NULL);
	close_connection(n);
	n->state = NET_DISCONNECTED;
	uv_timer_stop(&n->reconnect_timer);

	/* Corosync is gone: nobody to tell the vote to. */
	if (r != DISC_COROSYNC_CONNECTION_CLOSED &&
	    net_phase(n) == PHASE_RUNNING) {
		/* Leaving an arbiter for another: none of its vote stays. */
		vote = r == DISC_ARBITER_SWITCH || n->hosts.switching ?
		    QN_VOTE_NACK :
		    policy_vote_on_disconnect(n->cfg->net.algorithm,
		    qd_vq_view(n->vq)->quorate, n->cfg->wait_for_all);
		net_set_vote(n, vote, VOTE_WHY_CONNECTION_LOST,
		    "connection to qnetd lost: %s", disc_reason_str(r));
		if (net_phase(n) == PHASE_EXITING)
			return;
	}

	if (disc_reason_action(r, n->cfg->net.algorithm) == DISC_EXIT ||
	    net_phase(n) != PHASE_RUNNING) {
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
		unregister = r == DISC_LOCAL_SOCKET_CLOSED ||
		    (net_phase(n) == PHASE_RUNNING &&
		    r != DISC_COROSYNC_CONNECTION_CLOSED);
		n->ev->exit(n->ev->arg, disc_reason_exit_status(r), unregister);
		return;
	}
	net_hosts_disconnected(n, r);
	/*
	 * After a connection that got somewhere, wait a random while so the
	 * nodes of a cluster do not all come back at the same moment; 3.0.3
	 * slept here, blocking corosync and IPC (D9).  A connect that never
	 * got through TCP retries at once: the connect timer spaced it.
	 */
	delay = progressed && r != DISC_CLIENT_CERT_RENEWED ?
	    reconnect_jitter(n) : 0;
	if (delay)
		log_debug("Sleeping for %" PRIu32 " ms before reconnect", delay);
	uv_timer_start(&n->reconnect_timer, reconnect, delay, 0);
}

/* ------------------------------------------------------------------ */
/* Events from corosync and the heuristics */

/* A membership list waits for its heuristics; the quorum list after it. */
void
net_membership_changed(struct qd_net *n)
{
	qd_heur_stop_regular(n->heur);
	if (n->state != NET_CONNECTED)
		net_set_vote(n, policy_vote_on_event_disconnected(
		    qd_vq_vote(n->vq)), VOTE_WHY_EVENT_DISCONNECTED,
		    "membership changed while not connected to qnetd");
	qd_vq_cast_pause(n->vq, 1);
	n->membership_pending = n->state == NET_CONNECTED;
	n->quorum_pending = 0;
	qd_heur_run(n->heur, HEUR_FOR_MEMBERSHIP, 1);
	net_renew_recheck(n);
}

void
net_quorum_changed(struct qd_net *n)
{
	if (n->state != NET_CONNECTED) {
		net_set_vote(n, policy_vote_on_event_disconnected(
		    qd_vq_vote(n->vq)), VOTE_WHY_EVENT_DISCONNECTED,
		    "quorum changed while not connected to qnetd");
		return;
	}
	if (n->membership_pending) {
		/* Membership first, then quorum (PROTOCOL.md §14.4). */
		n->quorum_pending = 1;
	} else {
		net_send_quorum_list(n);
	}
	net_renew_recheck(n);
}

void
net_expected_votes_changed(struct qd_net *n)
{
	if (net_ffsplit_check_votes(n) != 0)
		net_disconnect(n, DISC_ALGO_ERROR);
}

void
net_nodelist_changed(struct qd_net *n, struct nodelist *nl)
{
	int changed = !nodelist_same_nodes(&n->nodes, nl);

	nodelist_free(&n->nodes);
	n->nodes = *nl;
	*nl = (struct nodelist){ 0 };
	if (!changed)
		return;
	log_debug("Configured node list changed");
	net_log_nodes(n->nodes.nodes, n->nodes.count);
	net_hosts_nodes_changed(n);
	if (net_ffsplit_check_votes(n) != 0) {
		net_disconnect(n, DISC_ALGO_ERROR);
		return;
	}
	if (n->state == NET_CONNECTED)
		net_send_config_list(n, QN_LIST_CHANGED_CONFIG);
	else
		net_set_vote(n, policy_vote_on_event_disconnected(
		    qd_vq_vote(n->vq)), VOTE_WHY_EVENT_DISCONNECTED,
		    "configured node list changed while not connected to "
		    "qnetd");
}

void
net_heuristics_enabled(struct qd_net *n)
{
	if ((n->state == NET_CONNECTED || n->init_reply_ok) &&
	    !n->server_heuristics) {
		log_err("Heuristics are enabled but the qnetd server doesn't "
		    "support them");
		net_disconnect(n, DISC_SERVER_DOESNT_SUPPORT_OPTION);
	}
}

static void
regular_result(struct qd_net *n, uint8_t prev, uint8_t h)
{
	if (h == prev)
		return;
	qd_event(n->ev, "heuristics_changed", "", heuristics_id(h));
	if (h == QN_HEUR_PASS)
		log_notice("Heuristics result changed from %s to %s",
		    heuristics_name(prev), heuristics_name(h));
	else
		log_err("Heuristics result changed from %s to %s",
		    heuristics_name(prev), heuristics_name(h));
	if (n->state != NET_CONNECTED || h == QN_HEUR_UNDEFINED)
		return;		/* "undefined" has no wire form */
	if (!n->server_heuristics) {
		net_disconnect(n, DISC_SERVER_DOESNT_SUPPORT_OPTION);
		return;
	}
	net_send_heuristics_change(n, h);
}

void
net_heur_result(struct qd_net *n, unsigned purposes, uint8_t prev, uint8_t h)
{
	if (n->link.disc_pending && !(purposes & HEUR_FOR_MEMBERSHIP))
		return;
	if ((purposes & HEUR_FOR_CONNECT) && n->init_reply_ok &&
	    n->state == NET_WAITING_INIT_REPLY) {
		/* The burst carries the current membership too. */
		net_connected_burst(n, h);
		if (n->state == NET_CONNECTED)
			net_hosts_connected(n);
	} else if ((purposes & HEUR_FOR_MEMBERSHIP) && n->membership_pending &&
	    n->state == NET_CONNECTED) {
		if (net_send_membership_list(n, h) == 0) {
			net_set_vote(n, QN_VOTE_WAIT_FOR_REPLY,
			    VOTE_WHY_WAITING, "membership changed, waiting "
			    "for qnetd's vote");
			if (n->quorum_pending)
				net_send_quorum_list(n);
		}
	}
	if (purposes & HEUR_FOR_MEMBERSHIP) {
		n->membership_pending = 0;
		n->quorum_pending = 0;
		qd_vq_cast_pause(n->vq, 0);
	}
	if ((purposes & HEUR_FOR_REGULAR) &&
	    !(purposes & (HEUR_FOR_MEMBERSHIP | HEUR_FOR_CONNECT)))
		regular_result(n, prev, h);
}

/* ------------------------------------------------------------------ */
/* Status */

const struct nodelist *
net_nodes(const struct qd_net *n)
{
	return &n->nodes;
}

int
net_connected(const struct qd_net *n)
{
	return n->state == NET_CONNECTED && !n->link.disc_pending;
}

int
net_tls_active(const struct qd_net *n)
{
	return n->link.tls_active;
}

int
net_tls_resumed(const struct qd_net *n)
{
	return net_connected(n) && n->link.conn != NULL &&
	    n->link.tls_active && n->link.conn->tls_resumed;
}

int
net_client_cert_sent(const struct qd_net *n)
{
	return net_connected(n) && n->link.conn != NULL &&
	    n->link.tls_active && conn_client_cert_sent(n->link.conn);
}

time_t
net_connected_since(const struct qd_net *n)
{
	return n->connected_since;
}

time_t
net_echo_reply_time(const struct qd_net *n)
{
	return n->echo_reply_time;
}

const char *
net_vote_reason_id(const struct qd_net *n)
{
	return n->vote_reason_id;
}

const char *
net_vote_reason(const struct qd_net *n)
{
	return n->vote_reason;
}

time_t
net_vote_since(const struct qd_net *n)
{
	return n->vote_since;
}

const char *
net_conn_reason(const struct qd_net *n)
{
	return n->conn_reason;
}

time_t
net_conn_since(const struct qd_net *n)
{
	return n->conn_since;
}

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
net_state_text(const struct qd_net *n)
{
	if (n->link.disc_pending || n->state == NET_DISCONNECTED)
		return "Disconnected";
	if (n->state == NET_CONNECTED)
		return "Connected";
	if (n->state == NET_WAITING_CONNECT && n->link.connect_failed)
		return "Connect failed";
	return "Connecting";
}

const char *
net_state_id(const struct qd_net *n)
{
	static const struct text_id ids[] = {
		{ "Connected", "connected" },
		{ "Connect failed", "connect_failed" },
		{ "Connecting", "connecting" },
		{ NULL, "disconnected" }
	};

	return id_of(net_state_text(n), ids);
}

const char *
net_kap_text(const struct qd_net *n)
{
	switch (n->cfg->net.algorithm) {
	case QN_ALGO_FFSPLIT:
		if (!n->cfg->net.kap)
			return "Disabled";
		if (n->server_known && !n->server_kap)
			return "Unsupported by QNetd";
		return "Enabled";
	case QN_ALGO_TEST:
		return "Unsupported by algorithm";
	default:
		return "Algorithm hard-coded";
	}
}

const char *
net_kap_id(const struct qd_net *n)
{
	static const struct text_id ids[] = {
		{ "Enabled", "enabled" },
		{ "Disabled", "disabled" },
		{ "Unsupported by QNetd", "unsupported_by_qnetd" },
		{ "Unsupported by algorithm", "unsupported_by_algorithm" },
		{ NULL, "algorithm_hard_coded" }
	};

	return id_of(net_kap_text(n), ids);
}

/* ------------------------------------------------------------------ */
/* Life cycle */

static const struct net_link_cb link_cb = {
	.connected = net_msg_connected,
	.message = net_msg_received,
	.disconnected = disconnected,
};

static uint64_t
seed(const struct qd_net *n)
{
	uint64_t s = 0;
	struct timespec ts;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = (uint64_t)ts.tv_nsec << 20 ^ (uint64_t)ts.tv_sec ^
		    (uint64_t)getpid() << 40;
	}
	/* The node id keeps two nodes apart even if the rest collided. */
	s ^= (uint64_t)n->cfg->node_id * UINT64_C(0x9e3779b97f4a7c15);
	return s ? s : UINT64_C(0x2545f4914f6cdd1d);
}

struct qd_net *
net_new(void)
{
	return calloc(1, sizeof(struct qd_net));
}

void
net_free(struct qd_net *n)
{
	if (n == NULL)
		return;
	nodelist_free(&n->nodes);
	free(n);
}

int
net_init(struct qd_net *n, uv_loop_t *loop, const struct qdevice_settings *set,
    const struct qdevice_config *cfg, struct nodelist *nodes,
    struct qd_vq *vq, struct qd_heur *heur, const struct qd_events *ev)
{
	n->loop = loop;
	n->set = set;
	n->cfg = cfg;
	n->vq = vq;
	n->heur = heur;
	n->ev = ev;
	n->nodes = *nodes;
	*nodes = (struct nodelist){ 0 };

	log_debug("Initializing qdevice_net_instance");
	if (cfg->net.algorithm == QN_ALGO_TEST)
		log_warn("Test algorithm is enabled: it can make more than one "
		    "partition quorate. Use it only for testing!");
	if (cfg->net.algorithm == QN_ALGO_FFSPLIT &&
	    (!cfg->has_votes || cfg->votes != 1)) {
		log_crit("50:50 split algorithm works only if "
		    "quorum.device.votes configuration key is set to 1!");
		return -1;
	}
	if (net_ffsplit_check_votes(n) != 0)
		return -1;
	if (net_link_init(n, &link_cb) != 0)
		return -1;
	net_out_init(n);
	net_hosts_init(n);
	net_renew_init(n);
	uv_timer_init(loop, &n->reconnect_timer);
	n->reconnect_timer.data = n;
	n->rng = seed(n);
	n->state = NET_DISCONNECTED;
	return 0;
}

void
net_start(struct qd_net *n)
{
	try_attempt(n);
}

void
net_close(struct qd_net *n)
{
	if (n->link.handles_up) {
		close_connection(n);
		net_out_close(n);
		net_hosts_close(n);
		net_renew_close(n);
		if (!uv_is_closing((uv_handle_t *)&n->reconnect_timer))
			uv_close((uv_handle_t *)&n->reconnect_timer, NULL);
	}
	net_link_close(n);
}

void
net_finish(struct qd_net *n)
{
	net_link_finish(n);
}
