/*
 * Messages from qnetd (PROTOCOL.md §5.3): every check in the order 3.0.3
 * makes it, since the order decides which disconnect reason - and so
 * whether the daemon reconnects or exits - a broken server provokes.
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "conn.h"
#include "log.h"
#include "msg.h"
#include "names.h"
#include "net_int.h"

static void
unexpected(struct qd_net *n, const struct msg *m)
{
	log_err("Received unexpected %s message. Disconnecting from server",
	    msg_type_name(m->type));
	net_disconnect(n, DISC_UNEXPECTED_MSG);
}

static void
missing_option(struct qd_net *n, const struct msg *m, const char *what)
{
	log_err("Received %s message without %s. Disconnecting from server",
	    msg_type_name(m->type), what);
	net_disconnect(n, DISC_REQUIRED_OPTION_MISSING);
}

static void
send_init(struct qd_net *n)
{
	struct msg m;

	msg_init(&m, QN_MSG_INIT);
	msg_set_seq(&m, net_next_seq(n));
	msg_set_supported_messages(&m, &msg_all_messages);
	msg_set_supported_options(&m, &msg_all_options);
	msg_set_node_id(&m, n->cfg->node_id);
	msg_set_algorithm(&m, n->cfg->net.algorithm);
	msg_set_heartbeat_interval(&m, n->cfg->net.heartbeat_interval);
	msg_set_tie_breaker(&m, &n->cfg->net.tie_breaker);
	net_fill_ring_id(n, &m);
	n->init_seq = m.seq;
	log_debug("Sending init msg to qnetd");
	if (net_send(n, &m) == 0)
		n->state = NET_WAITING_INIT_REPLY;
}

static void
preinit_reply(struct qd_net *n, const struct msg *m)
{
	uint8_t server, client = n->cfg->net.tls;
	struct msg st;

	log_debug("Received preinit reply msg");
	if (n->state != NET_WAITING_PREINIT_REPLY) {
		unexpected(n, m);
		return;
	}
	if (!msg_has(m, QN_OPT_SEQ) || m->seq != n->preinit_seq) {
		missing_option(n, m, "the right sequence number");
		return;
	}
	if (!msg_has(m, QN_OPT_TLS_SUPPORTED) ||
	    !msg_has(m, QN_OPT_TLS_CLIENT_CERT_REQUIRED)) {
		missing_option(n, m, "TLS options");
		return;
	}
	server = m->tls_supported;
	if ((server == QN_TLS_UNSUPPORTED && client == QN_TLS_REQUIRED) ||
	    (server == QN_TLS_REQUIRED && client == QN_TLS_UNSUPPORTED)) {
		log_err("Incompatible tls configuration (server %s, client %s)",
		    tls_name(server), tls_name(client));
		net_disconnect(n, DISC_INCOMPATIBLE_TLS);
		return;
	}
	/*
	 * tls: on with a qnetd that has TLS off: 3.0.3 goes on in plain text
	 * without a word; say so, it is what tls: required would refuse.
	 */
	if (server == QN_TLS_UNSUPPORTED && client == QN_TLS_SUPPORTED)
		log_warn("qnetd does not support TLS: this connection is in "
		    "plain text (the cluster certificate is not used); set "
		    "quorum.device.net.tls to required to refuse it");
	if (server != QN_TLS_UNSUPPORTED && client != QN_TLS_UNSUPPORTED) {
		msg_init(&st, QN_MSG_STARTTLS);
		msg_set_seq(&st, net_next_seq(n));
		log_debug("Sending starttls msg to qnetd");
		if (net_send(n, &st) != 0)
			return;
		/* INIT below is the first message inside TLS. */
		if (net_link_starttls(n) != 0) {
			log_err("Can't start TLS");
			net_disconnect(n, DISC_CANT_START_TLS);
			return;
		}
	}
	send_init(n);
}

static void
init_reply(struct qd_net *n, const struct msg *m)
{
	log_debug("Received init reply msg");
	if (n->state != NET_WAITING_INIT_REPLY || n->init_reply_ok) {
		unexpected(n, m);
		return;
	}
	if (!msg_has(m, QN_OPT_SEQ) || m->seq != n->init_seq) {
		missing_option(n, m, "the right sequence number");
		return;
	}
	if (!msg_has(m, QN_OPT_REPLY_ERROR_CODE)) {
		missing_option(n, m, "reply error code");
		return;
	}
	if (m->reply_error_code != QN_ERR_NONE) {
		log_err("Received init reply message with error code %" PRIu16,
		    m->reply_error_code);
		net_disconnect(n, disc_reason_for_init_error(
		    m->reply_error_code));
		return;
	}
	if (!msg_has(m, QN_OPT_SERVER_MAX_REQUEST_SIZE) ||
	    !msg_has(m, QN_OPT_SERVER_MAX_REPLY_SIZE)) {
		missing_option(n, m, "server maximum sizes");
		return;
	}
	if (!msg_has(m, QN_OPT_SUPPORTED_MESSAGES) ||
	    !msg_has(m, QN_OPT_SUPPORTED_OPTIONS)) {
		missing_option(n, m, "supported messages and options");
		return;
	}
	if (!msg_has(m, QN_OPT_SUPPORTED_ALGORITHMS)) {
		missing_option(n, m, "supported decision algorithms");
		return;
	}
	if (m->server_max_request_size < n->set->net_min_msg_send_size ||
	    m->server_max_reply_size > n->set->net_max_msg_receive_size) {
		log_err("Incompatible message buffer size: server accepts %"
		    PRIu32 " bytes (at least %lld needed), sends up to %" PRIu32
		    " (at most %lld accepted)", m->server_max_request_size,
		    n->set->net_min_msg_send_size, m->server_max_reply_size,
		    n->set->net_max_msg_receive_size);
		net_disconnect(n, DISC_INCOMPATIBLE_MSG_SIZE);
		return;
	}
	net_link_set_limits(n, m->server_max_reply_size,
	    m->server_max_request_size);
	if (!u16_list_has(&m->supported_algorithms, n->cfg->net.algorithm)) {
		log_err("Server doesn't support required decision algorithm %s",
		    algo_name(n->cfg->net.algorithm));
		net_disconnect(n, DISC_SERVER_DOESNT_SUPPORT_ALGORITHM);
		return;
	}
	n->server_known = 1;
	n->server_heuristics = u16_list_has(&m->supported_options,
	    QN_OPT_HEURISTICS);
	n->server_kap = u16_list_has(&m->supported_options,
	    QN_OPT_KAP_TIE_BREAKER);
	if (qd_heur_enabled(n->heur) && !n->server_heuristics) {
		log_err("Heuristics are enabled but the server doesn't support "
		    "them");
		net_disconnect(n, DISC_SERVER_DOESNT_SUPPORT_OPTION);
		return;
	}

	net_link_stop_connect_timer(n);
	net_start_echo(n);
	n->init_reply_ok = 1;
	log_debug("Executing after-connect heuristics.");
	qd_heur_run(n->heur, HEUR_FOR_CONNECT,
	    qd_vq_view(n->vq)->sync_in_progress);
}

static void
server_error(struct qd_net *n, const struct msg *m)
{
	if (!msg_has(m, QN_OPT_REPLY_ERROR_CODE)) {
		missing_option(n, m, "reply error code");
		return;
	}
	log_err("Received server error %" PRIu16, m->reply_error_code);
	net_disconnect(n, DISC_SERVER_SENT_ERROR);
}

static void
set_option_reply(struct qd_net *n, const struct msg *m)
{
	if (n->state != NET_CONNECTED) {
		unexpected(n, m);
		return;
	}
	log_debug("Received set option reply");
	if (msg_has(m, QN_OPT_HEARTBEAT_INTERVAL))
		net_start_echo(n);
}

static void
echo_reply(struct qd_net *n, const struct msg *m)
{

	if (!msg_has(m, QN_OPT_SEQ)) {
		missing_option(n, m, "sequence number");
		return;
	}
	if (m->seq != n->echo_sent) {
		log_warn("Received echo reply with seq %" PRIu32 ", expected %"
		    PRIu32, m->seq, n->echo_sent);
		net_disconnect(n, DISC_ALGO_ECHO_REPLY_ERROR);
		return;
	}
	n->echo_answered = m->seq;
	n->echo_reply_time = time(NULL);
}

/*
 * NODE_LIST_REPLY, ASK_FOR_VOTE_REPLY, VOTE_INFO, HEURISTICS_CHANGE_REPLY:
 * a vote for the ring id we last sent, or a stale one.
 */
static void
vote_message(struct qd_net *n, const struct msg *m)
{
	uint8_t vote;

	if (n->state != NET_CONNECTED) {
		unexpected(n, m);
		return;
	}
	if (!msg_has(m, QN_OPT_VOTE) || !msg_has(m, QN_OPT_SEQ) ||
	    !msg_has(m, QN_OPT_RING_ID) ||
	    (m->type == QN_MSG_NODE_LIST_REPLY &&
	    !msg_has(m, QN_OPT_NODE_LIST_TYPE)) ||
	    (m->type == QN_MSG_HEURISTICS_CHANGE_REPLY &&
	    !msg_has(m, QN_OPT_HEURISTICS))) {
		missing_option(n, m, "a required option");
		return;
	}
	log_debug("Received %s: seq = %" PRIu32 ", vote = %s, ring id = (%"
	    PRIx32 ".%" PRIx64 ")", msg_type_name(m->type), m->seq,
	    vote_name(m->vote), m->ring_id.node_id, m->ring_id.seq);
	vote = policy_received_vote(n->cfg->net.algorithm, m->vote, &m->ring_id,
	    &n->sent_ring_id);
	if (vote != m->vote)
		log_debug("Vote is for ring id (%" PRIx32 ".%" PRIx64 "), not "
		    "the last one sent (%" PRIx32 ".%" PRIx64 "): ignored",
		    m->ring_id.node_id, m->ring_id.seq,
		    n->sent_ring_id.node_id, n->sent_ring_id.seq);
	/*
	 * qnetd sends no reason on the wire (PROTOCOL.md): the message is
	 * the reason, and a NACK while our heuristics fail is explained by
	 * them.
	 */
	if (vote == QN_VOTE_NACK &&
	    qd_heur_results(n->heur)->latest == QN_HEUR_FAIL)
		net_set_vote(n, vote, VOTE_WHY_HEURISTICS_FAILED,
		    "NACK from qnetd (%s) while this node's heuristics fail",
		    msg_type_name(m->type));
	else
		net_set_vote(n, vote, VOTE_WHY_QNETD, "%s from qnetd (%s)",
		    vote_name(vote), msg_type_name(m->type));

	if (m->type == QN_MSG_VOTE_INFO && net_phase(n) != PHASE_EXITING) {
		struct msg r;

		/* Answered even when the vote was stale. */
		msg_init(&r, QN_MSG_VOTE_INFO_REPLY);
		msg_set_seq(&r, m->seq);
		net_send(n, &r);
	}
}

/* TCP is up: PREINIT carries the counter as it is (PROTOCOL.md §6). */
void
net_msg_connected(struct qd_net *n)
{
	struct msg m;

	n->state = NET_WAITING_PREINIT_REPLY;
	msg_init(&m, QN_MSG_PREINIT);
	msg_set_seq(&m, n->seq);
	msg_set_cluster_name(&m, n->cfg->cluster_name,
	    strlen(n->cfg->cluster_name));
	n->preinit_seq = m.seq;
	log_debug("Sending preinit msg to qnetd");
	net_send(n, &m);
}

void
net_msg_received(struct qd_net *n, const uint8_t *data, size_t len)
{
	struct msg m;
	enum decode_err e;

	e = msg_decode(data, len, &m);
	if (e != DECODE_OK) {
		log_err("Can't decode message from qnetd: %s",
		    decode_err_str(e));
		net_disconnect(n, DISC_MSG_DECODE_ERROR);
		msg_free(&m);
		return;
	}
	switch (m.type) {
	case QN_MSG_PREINIT_REPLY:
		preinit_reply(n, &m);
		break;
	case QN_MSG_INIT_REPLY:
		init_reply(n, &m);
		break;
	case QN_MSG_SERVER_ERROR:
		server_error(n, &m);
		break;
	case QN_MSG_SET_OPTION_REPLY:
		set_option_reply(n, &m);
		break;
	case QN_MSG_ECHO_REPLY:
		echo_reply(n, &m);
		break;
	case QN_MSG_NODE_LIST_REPLY:
	case QN_MSG_ASK_FOR_VOTE_REPLY:
	case QN_MSG_VOTE_INFO:
	case QN_MSG_HEURISTICS_CHANGE_REPLY:
		vote_message(n, &m);
		break;
	default:
		unexpected(n, &m);
		break;
	}
	msg_free(&m);
}
