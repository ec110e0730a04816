/*
 * What qnetd does with each message a client sends (PROTOCOL.md §5.2, §7.4).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "events.h"
#include "enroll.h"
#include "enroll_msg.h"
#include "handlers.h"
#include "log.h"
#include "names.h"
#include "qnetd.h"
#include "send.h"
#include "server.h"
#include "tls.h"

/* By message type, in the order of enum qn_msg_type. */
COUNTER_DEFINE(received, "type", "preinit", "preinit_reply", "starttls",
    "init", "init_reply", "server_error", "set_option", "set_option_reply",
    "echo_request", "echo_reply", "node_list", "node_list_reply",
    "ask_for_vote", "ask_for_vote_reply", "vote_info", "vote_info_reply",
    "heuristics_change", "heuristics_change_reply", "unknown");

/* The largest timer 3.0.3 accepts; a longer dead-peer timeout is refused. */
#define MAX_TIMER_MS	18000000ULL

/*
 * The TLS policy of every TLS-gated message.  Returns 0 when the message may
 * be processed.
 */
static int
tls_check(struct client *c, const struct msg *m)
{
	struct qnetd *q = c->qnetd;

	if (q->tls_mode == QN_TLS_REQUIRED && !c->tls_started) {
		log_err("Client %s sent %s without TLS, but TLS is required",
		    c->addr, msg_type_name(m->type));
		events_tls_refused(q->events, c->m.cluster_name ?
		    c->m.cluster_name : "", c->addr, "TLS is required");
		send_error(c, m, QN_ERR_TLS_REQUIRED);
		return -1;
	}
	/*
	 * INIT is checked every time, not only the first gated message: it
	 * is what puts the connection into a cluster (D25).
	 */
	if (q->client_cert_required && c->tls_started &&
	    (!c->cert_checked || m->type == QN_MSG_INIT)) {
		if (!tls_server_recheck(c->qnetd->tls, &c->conn)) {
			log_err("Client %s resumed a TLS session whose "
			    "certificate is no longer trusted. Disconnecting "
			    "client", c->addr);
			c->qnetd->up->disconnect(c, "resumed session's "
			    "certificate no longer trusted");
			return -1;
		}
		if (!conn_peer_cert_matches(&c->conn, c->m.cluster_name)) {
			log_err("Client %s doesn't sent certificate with valid "
			    "CN. Disconnecting client", c->addr);
			events_tls_refused(q->events, c->m.cluster_name ?
			    c->m.cluster_name : "", c->addr, "certificate "
			    "does not match the cluster name");
			c->qnetd->up->disconnect(c, "certificate does not "
			    "match the cluster name");
			return -1;
		}
		c->cert_checked = 1;
	}
	return 0;
}

/*
 * A connection belongs to one cluster for its life (D25): after INIT, or
 * once TLS has started (the certificate is checked against this name), a
 * PREINIT may not name another cluster.  3.0.3's qdevice sends PREINIT
 * once, first; only a client switching clusters sends another.
 */
static const char *
preinit_refusal(const struct client *c, const struct msg *m)
{
	int same = c->preinit_done &&
	    c->m.cluster_name_len == m->cluster_name_len &&
	    memcmp(c->m.cluster_name, m->cluster_name, m->cluster_name_len) == 0;

	if (c->init_done)
		return "PREINIT after INIT";
	if (c->tls_started && !same)
		return "PREINIT names another cluster after STARTTLS";
	return NULL;
}

/* TLS check, then INIT required: the common gate of post-INIT messages. */
static int
gate(struct client *c, const struct msg *m)
{
	if (tls_check(c, m) != 0)
		return -1;
	if (!c->init_done) {
		log_err("Client %s sent %s before INIT", c->addr,
		    msg_type_name(m->type));
		send_error(c, m, QN_ERR_INIT_REQUIRED);
		return -1;
	}
	return 0;
}

/* The gate, then the options the message must carry (has_required). */
static int
accept_msg(struct client *c, const struct msg *m, int has_required)
{
	if (gate(c, m) != 0)
		return -1;
	if (!has_required) {
		send_error(c, m, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
		return -1;
	}
	return 0;
}

static void
reply_init(struct msg *r, const struct msg *m, uint8_t type)
{
	msg_init(r, type);
	if (msg_has(m, QN_OPT_SEQ))
		msg_set_seq(r, m->seq);
}

/* Send the decision's reply r, or the error e that kept it from being made. */
static void
answer(struct client *c, const struct msg *m, uint8_t e, struct msg *r,
    const struct decision *d)
{
	if (e != QN_ERR_NONE)
		send_error(c, m, e);
	else
		decide_reply(&c->m, d, r);
}

/* Dead-peer timeout for a heartbeat, 0 when it exceeds the timer limit. */
static uint64_t
dpd_timeout(const struct qnetd *q, uint32_t hb)
{
	uint64_t ms = (uint64_t)(q->set.dpd_interval_coefficient * hb);

	if (q->set.dpd_enabled && ms > MAX_TIMER_MS)
		return 0;
	return ms;
}

static int
heartbeat_ok(const struct qnetd *q, uint32_t hb)
{
	return hb >= q->set.heartbeat_interval_min &&
	    hb <= q->set.heartbeat_interval_max && dpd_timeout(q, hb) != 0;
}

static void
on_preinit(struct client *c, const struct msg *m)
{
	struct qnetd *q = c->qnetd;
	const char *refusal;
	struct msg r;
	char *name;

	if (!msg_has(m, QN_OPT_CLUSTER_NAME)) {
		send_error(c, m, QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION);
		return;
	}
	if ((refusal = preinit_refusal(c, m)) != NULL) {
		log_err("Client %s (cluster %s): %s. Disconnecting client",
		    c->addr, c->m.cluster_name, refusal);
		c->qnetd->up->disconnect(c, refusal);
		return;
	}
	if ((name = malloc(m->cluster_name_len + 1)) == NULL) {
		send_error(c, m, QN_ERR_INTERNAL_ERROR);
		return;
	}
	memcpy(name, m->cluster_name, m->cluster_name_len);
	name[m->cluster_name_len] = '\0';
	free(c->m.cluster_name);
	c->m.cluster_name = name;
	c->m.cluster_name_len = m->cluster_name_len;
	c->preinit_done = 1;

	reply_init(&r, m, QN_MSG_PREINIT_REPLY);
	msg_set_tls_supported(&r, (uint8_t)q->tls_mode);
	msg_set_tls_client_cert_required(&r, (uint8_t)q->client_cert_required);
	send_msg(c, &r);
}

static void
on_starttls(struct client *c, const struct msg *m)
{
	struct qnetd *q = c->qnetd;

	if (!c->preinit_done) {
		send_error(c, m, QN_ERR_PREINIT_REQUIRED);
		return;
	}
	if (q->tls == NULL || c->tls_started) {
		c->qnetd->up->disconnect(c, "can't start TLS");
		return;
	}
	c->tls_started = 1;
	c->cert_checked = 0;
	/* Now, or once fewer handshakes are in progress. */
	c->qnetd->up->starttls(c);
}

/* INIT validation with the precedence of PROTOCOL.md §7.4. */
static uint8_t
init_error(struct client *c, const struct msg *m)
{
	struct qnetd *q = c->qnetd;
	uint8_t e = QN_ERR_NONE;

	if (!c->preinit_done)
		e = QN_ERR_PREINIT_REQUIRED;
	if (e == QN_ERR_NONE && !msg_has(m, QN_OPT_NODE_ID))
		e = QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION;
	if (e == QN_ERR_NONE && !msg_has(m, QN_OPT_RING_ID))
		e = QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION;
	/* A bad heartbeat overrides earlier errors, as in 3.0.3. */
	if (e == QN_ERR_NONE && !msg_has(m, QN_OPT_HEARTBEAT_INTERVAL))
		e = QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION;
	else if (!heartbeat_ok(q, msg_has(m, QN_OPT_HEARTBEAT_INTERVAL) ?
	    m->heartbeat_interval : 0))
		e = QN_ERR_INVALID_HEARTBEAT_INTERVAL;
	if (e == QN_ERR_NONE && !msg_has(m, QN_OPT_TIE_BREAKER))
		e = QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION;
	/* So does an unknown algorithm. */
	if (e == QN_ERR_NONE && !msg_has(m, QN_OPT_ALGORITHM))
		e = QN_ERR_DOESNT_CONTAIN_REQUIRED_OPTION;
	else if (msg_has(m, QN_OPT_ALGORITHM) && m->algorithm >= QN_ALGO_COUNT)
		e = QN_ERR_UNSUPPORTED_DECISION_ALGORITHM;
	return e;
}

/* A second INIT on a registered connection, judged against its own record. */
static uint8_t
reinit_error(const struct client *c, const struct msg *m)
{
	if (!qn_tie_breaker_eq(&c->m.tie_breaker, &m->tie_breaker))
		return QN_ERR_TIE_BREAKER_DIFFERS_FROM_OTHER_NODES;
	if (c->m.algorithm != m->algorithm)
		return QN_ERR_ALGORITHM_DIFFERS_FROM_OTHER_NODES;
	return QN_ERR_DUPLICATE_NODE_ID;
}

static void
set_dpd(struct client *c, uint32_t hb)
{
	struct qnetd *q = c->qnetd;

	c->m.heartbeat_interval = hb;
	/* Replaces the INIT deadline too. */
	if (q->set.dpd_enabled)
		client_dpd_set(c, dpd_timeout(q, hb));
	else
		client_dpd_stop(c);
}

/*
 * max_clusters: an INIT that would create one more cluster is refused with
 * internal error, like one that could not allocate it.
 */
static uint8_t
cluster_limit_error(struct client *c)
{
	struct qnetd *q = c->qnetd;
	long long max = q->set.max_clusters;

	if (max == 0 || (long long)q->core.clusters.count < max ||
	    cluster_find(&q->core.clusters, c->m.cluster_name,
	    c->m.cluster_name_len) != NULL)
		return QN_ERR_NONE;
	limit_log(q, LIMIT_MAX_CLUSTERS, c->addr, max, "INIT of new cluster "
	    "%s refused", c->m.cluster_name);
	return QN_ERR_INTERNAL_ERROR;
}

static void
on_init(struct client *c, const struct msg *m)
{
	struct qnetd *q = c->qnetd;
	uint8_t e;
	struct msg r;

	if (tls_check(c, m) != 0)
		return;
	e = init_error(c, m);
	if (e == QN_ERR_NONE && c->init_done)
		e = reinit_error(c, m);
	if (e == QN_ERR_NONE && !c->init_done)
		e = cluster_limit_error(c);
	if (e == QN_ERR_NONE) {
		c->m.node_id = m->node_id;
		c->m.ring_id = m->ring_id;
		c->m.tie_breaker = m->tie_breaker;
		c->m.algorithm = (uint8_t)m->algorithm;
		c->m.kap = (uint8_t)q->set.keep_active_partition_tie_breaker;
		e = decide_join(&q->core, &c->m);
		if (e != QN_ERR_NONE) {
			/* A refused INIT leaves nothing behind (D23). */
			c->m.node_id = 0;
			memset(&c->m.ring_id, 0, sizeof(c->m.ring_id));
		}
	}
	if (e == QN_ERR_NONE) {
		c->init_done = 1;
		c->init_had_msgs = msg_has(m, QN_OPT_SUPPORTED_MESSAGES);
		c->init_had_opts = msg_has(m, QN_OPT_SUPPORTED_OPTIONS);
		set_dpd(c, m->heartbeat_interval);
		log_info("Client %s joined cluster %s as node %" PRIu32
		    " (%s, TLS %s)", c->addr, c->m.cluster->name, c->m.node_id,
		    algo_name(c->m.algorithm), c->tls_started ? "on" : "off");
		events_client(q->events, QEV_CLIENT_CONNECTED, &c->m,
		    c->addr);
	} else {
		log_err("Client %s refused at INIT: error %u", c->addr, e);
	}

	reply_init(&r, m, QN_MSG_INIT_REPLY);
	msg_set_reply_error_code(&r, e);
	msg_set_server_max_request_size(&r,
	    (uint32_t)q->set.max_client_receive_size);
	msg_set_server_max_reply_size(&r,
	    (uint32_t)q->set.max_client_send_size);
	msg_set_supported_algorithms(&r, &msg_all_algorithms);
	if (msg_has(m, QN_OPT_SUPPORTED_MESSAGES))
		msg_set_supported_messages(&r, &msg_all_messages);
	if (msg_has(m, QN_OPT_SUPPORTED_OPTIONS))
		msg_set_supported_options(&r, &msg_all_options);
	send_msg(c, &r);
}

static void
on_set_option(struct client *c, const struct msg *m)
{
	struct qnetd *q = c->qnetd;
	struct msg r;

	if (gate(c, m) != 0)
		return;
	if (msg_has(m, QN_OPT_HEARTBEAT_INTERVAL)) {
		if (!heartbeat_ok(q, m->heartbeat_interval)) {
			send_error(c, m, QN_ERR_INVALID_HEARTBEAT_INTERVAL);
			return;
		}
		set_dpd(c, m->heartbeat_interval);
	}
	if (msg_has(m, QN_OPT_KAP_TIE_BREAKER))
		c->m.kap = m->kap_tie_breaker;

	reply_init(&r, m, QN_MSG_SET_OPTION_REPLY);
	if (msg_has(m, QN_OPT_HEARTBEAT_INTERVAL))
		msg_set_heartbeat_interval(&r, c->m.heartbeat_interval);
	if (msg_has(m, QN_OPT_KAP_TIE_BREAKER))
		msg_set_kap_tie_breaker(&r, c->m.kap);
	send_msg(c, &r);
}

/* ECHO_REPLY is the request itself, every byte, with the type changed. */
static void
on_echo_request(struct client *c, const struct msg *m, const uint8_t *data,
    size_t len)
{
	uint8_t small[READER_INLINE_SIZE], *copy = small;

	if (gate(c, m) != 0)
		return;
	if (len > sizeof(small) && (copy = malloc(len)) == NULL) {
		c->qnetd->up->disconnect(c, "out of memory");
		return;
	}
	memcpy(copy, data, len);
	copy[0] = 0;
	copy[1] = QN_MSG_ECHO_REPLY;
	send_raw(c, copy, len);
	if (copy != small)
		free(copy);
}

static void
on_node_list(struct client *c, const struct msg *m)
{
	struct node_list_update u;
	struct decision d = { 0 };
	struct msg r;

	if (accept_msg(c, m, msg_has(m, QN_OPT_NODE_LIST_TYPE) &&
	    msg_has(m, QN_OPT_SEQ) &&
	    (m->node_list_type != QN_LIST_MEMBERSHIP ||
	    msg_has(m, QN_OPT_RING_ID)) &&
	    (m->node_list_type != QN_LIST_QUORUM ||
	    msg_has(m, QN_OPT_QUORATE))) != 0)
		return;
	u = (struct node_list_update){
		.type = m->node_list_type,
		.nodes = { .nodes = m->nodes, .count = m->node_count },
		.ring_id = m->ring_id,
		.heuristics = msg_has(m, QN_OPT_HEURISTICS) ?
		    m->heuristics : QN_HEUR_UNDEFINED,
		.quorate = m->quorate,
		.has_config_version = msg_has(m, QN_OPT_CONFIG_VERSION),
		.config_version = m->config_version,
	};
	log_debug("Client %s (node %" PRIu32 ") sent node list type %u with "
	    "%zu nodes%s", c->addr, c->m.node_id, u.type, m->node_count,
	    u.type != QN_LIST_QUORUM ? "" : u.quorate ? ", quorate" :
	    ", not quorate");
	reply_init(&r, m, QN_MSG_NODE_LIST_REPLY);
	msg_set_node_list_type(&r, m->node_list_type);
	answer(c, m, decide_node_list(&c->m, &u, &d), &r, &d);
}

static void
on_ask_for_vote(struct client *c, const struct msg *m)
{
	struct decision d = { 0 };
	struct msg r;

	if (accept_msg(c, m, msg_has(m, QN_OPT_SEQ)) != 0)
		return;
	reply_init(&r, m, QN_MSG_ASK_FOR_VOTE_REPLY);
	answer(c, m, decide_ask_for_vote(&c->m, &d), &r, &d);
}

static void
on_vote_info_reply(struct client *c, const struct msg *m)
{
	uint8_t e;

	if (accept_msg(c, m, msg_has(m, QN_OPT_SEQ)) != 0)
		return;
	if ((e = decide_vote_info_reply(&c->m, m->seq)) != QN_ERR_NONE)
		send_error(c, m, e);
}

static void
on_heuristics_change(struct client *c, const struct msg *m)
{
	struct decision d = { 0 };
	struct msg r;

	if (accept_msg(c, m, msg_has(m, QN_OPT_SEQ) &&
	    msg_has(m, QN_OPT_HEURISTICS)) != 0)
		return;
	reply_init(&r, m, QN_MSG_HEURISTICS_CHANGE_REPLY);
	msg_set_heuristics(&r, m->heuristics);
	answer(c, m, decide_heuristics_change(&c->m, m->heuristics, &d), &r, &d);
}

static void
dispatch(struct client *c, const struct msg *m, const uint8_t *data,
    size_t len)
{
	switch (m->type) {
	case QN_MSG_PREINIT:
		on_preinit(c, m);
		break;
	case QN_MSG_STARTTLS:
		on_starttls(c, m);
		break;
	case QN_MSG_INIT:
		on_init(c, m);
		break;
	case QN_MSG_SET_OPTION:
		on_set_option(c, m);
		break;
	case QN_MSG_ECHO_REQUEST:
		on_echo_request(c, m, data, len);
		break;
	case QN_MSG_NODE_LIST:
		on_node_list(c, m);
		break;
	case QN_MSG_ASK_FOR_VOTE:
		on_ask_for_vote(c, m);
		break;
	case QN_MSG_VOTE_INFO_REPLY:
		on_vote_info_reply(c, m);
		break;
	case QN_MSG_HEURISTICS_CHANGE:
		on_heuristics_change(c, m);
		break;
	default:
		/* Messages only a server sends. */
		log_err("Client %s sent unexpected %s message", c->addr,
		    msg_type_name(m->type));
		send_error(c, m, QN_ERR_UNEXPECTED_MESSAGE);
		break;
	}
}

void
handle_message(struct client *c, enum reader_status st, const uint8_t *data,
    size_t len)
{
	enum decode_err de;
	struct msg m;

	if (len >= 2)
		counter_inc(&received, st == READER_UNSUPPORTED ? QN_MSG_COUNT :
		    get_u16(data) < QN_MSG_COUNT ? get_u16(data) : QN_MSG_COUNT);
	switch (st) {
	case READER_MESSAGE:
		break;
	case READER_UNSUPPORTED:
		log_err("Client %s sent unsupported message type %u", c->addr,
		    get_u16(data));
		send_error(c, NULL, QN_ERR_UNSUPPORTED_MESSAGE);
		return;
	case READER_TOO_LONG:
		log_err("Client %s sent a message over %lld bytes", c->addr,
		    c->qnetd->set.max_client_receive_size);
		send_error(c, NULL, QN_ERR_MESSAGE_TOO_LONG);
		return;
	default:
		send_error(c, NULL, QN_ERR_ERROR_DECODING_MSG);
		return;
	}

	client_dpd_rearm(c);
	if (enroll_msg_is_type(get_u16(data))) {
		enroll_message(c, data, len);
		return;
	}
	/*
	 * An enrolment connection carries enrolment and nothing else: the
	 * first other message gets an error (a disconnect now would drop
	 * it unsent), the rest is ignored, and init_timeout ends it.
	 */
	if (c->enrolling) {
		if (!c->enroll_done) {
			log_err("Client %s sent %s on an enrolment "
			    "connection", c->addr,
			    msg_type_name(get_u16(data)));
			send_error(c, NULL, QN_ERR_UNEXPECTED_MESSAGE);
			c->enroll_done = 1;
		}
		return;
	}
	if ((de = msg_decode(data, len, &m)) != DECODE_OK) {
		log_warn("Client %s sent a message that can't be decoded: %s",
		    c->addr, decode_err_str(de));
		send_error(c, &m, QN_ERR_ERROR_DECODING_MSG);
	} else {
		dispatch(c, &m, data, len);
	}
	msg_free(&m);
}

const struct counter *
handlers_received(void)
{
	return &received;
}
