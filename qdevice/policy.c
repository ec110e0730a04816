#include "config.h"

#include <stddef.h>

#include "policy.h"

static const char *const reason_str[DISC_REASON_COUNT] = {
	[DISC_NONE] = "No reason",
	[DISC_MSG_DECODE_ERROR] = "Can't decode message",
	[DISC_SERVER_CLOSED_CONNECTION] = "Server closed connection",
	[DISC_CANT_READ_MESSAGE] = "Can't read message",
	[DISC_CANT_SEND_MESSAGE] = "Can't send message",
	[DISC_CANT_CONNECT] = "Can't connect to qnetd",
	[DISC_ECHO_REPLY_NOT_RECEIVED] = "Echo reply not received",
	[DISC_SERVER_SENT_DUPLICATE_NODE_ID] =
	    "Server sent duplicate node id error",
	[DISC_SERVER_SENT_TIE_BREAKER_DIFFERS] =
	    "Server sent tie-breaker differs error",
	[DISC_SERVER_SENT_ALGORITHM_DIFFERS] =
	    "Server sent algorithm differs error",
	[DISC_UNEXPECTED_MSG] = "Unexpected message received",
	[DISC_UNSUPPORTED_MSG] = "Unsupported message received",
	[DISC_REQUIRED_OPTION_MISSING] = "Required option missing in message",
	[DISC_INCOMPATIBLE_TLS] = "Incompatible TLS configuration",
	[DISC_INCOMPATIBLE_MSG_SIZE] = "Incompatible message size",
	[DISC_SERVER_SENT_ERROR] = "Server sent error",
	[DISC_SERVER_DOESNT_SUPPORT_ALGORITHM] =
	    "Server doesn't support required algorithm",
	[DISC_SERVER_DOESNT_SUPPORT_OPTION] =
	    "Server doesn't support required option",
	[DISC_CANT_START_TLS] = "Can't start TLS",
	[DISC_CANT_ALLOCATE_MSG_BUFFER] = "Can't allocate message buffer",
	[DISC_ALGO_ERROR] = "Algorithm error",
	[DISC_ALGO_ECHO_REPLY_ERROR] = "Algorithm echo reply received error",
	[DISC_ARBITER_SWITCH] = "The cluster agreed on another qnetd host",
	[DISC_CLIENT_CERT_RENEWED] = "Client certificate renewed",
	[DISC_COROSYNC_CONNECTION_CLOSED] = "Corosync connection closed",
	[DISC_LOCAL_SOCKET_CLOSED] = "Local socket closed",
	[DISC_CANT_SCHEDULE_VOTING_TIMER] = "Can't schedule voting timer",
	[DISC_CANT_REGISTER_CALLBACK] = "Can't register callback",
	[DISC_HEURISTICS_WORKER_CLOSED] = "Heuristics worker closed",
};

const char *
disc_reason_str(enum disc_reason r)
{
	if ((unsigned)r >= DISC_REASON_COUNT)
		return "Unknown reason";
	return reason_str[r];
}

int
disc_reason_forced(enum disc_reason r)
{
	switch (r) {
	case DISC_COROSYNC_CONNECTION_CLOSED:
	case DISC_LOCAL_SOCKET_CLOSED:
	case DISC_CANT_SCHEDULE_VOTING_TIMER:
	case DISC_CANT_REGISTER_CALLBACK:
	case DISC_HEURISTICS_WORKER_CLOSED:
		return 1;
	default:
		return 0;
	}
}

static int
reason_retries(enum disc_reason r)
{
	switch (r) {
	case DISC_MSG_DECODE_ERROR:
	case DISC_SERVER_CLOSED_CONNECTION:
	case DISC_CANT_READ_MESSAGE:
	case DISC_CANT_SEND_MESSAGE:
	case DISC_CANT_CONNECT:
	case DISC_ECHO_REPLY_NOT_RECEIVED:
	case DISC_ARBITER_SWITCH:
	case DISC_CLIENT_CERT_RENEWED:
	case DISC_SERVER_SENT_DUPLICATE_NODE_ID:
	case DISC_SERVER_SENT_TIE_BREAKER_DIFFERS:
	case DISC_SERVER_SENT_ALGORITHM_DIFFERS:
		return 1;
	default:
		return 0;
	}
}

/*
 * 3.0.3 ends the daemon for every protocol or configuration problem and
 * relies on systemd's Restart=on-failure; lms alone keeps retrying
 * (BEHAVIOUR.md D14 documents why we keep this).
 */
enum disc_action
disc_reason_action(enum disc_reason r, uint8_t algo)
{
	if (disc_reason_forced(r))
		return DISC_EXIT;
	if (algo == QN_ALGO_LMS || reason_retries(r))
		return DISC_RECONNECT;
	return DISC_EXIT;
}

int
disc_reason_exit_status(enum disc_reason r)
{
	return r == DISC_LOCAL_SOCKET_CLOSED ? 0 : 1;
}

enum disc_reason
disc_reason_for_init_error(uint16_t code)
{
	switch (code) {
	case QN_ERR_DUPLICATE_NODE_ID:
		return DISC_SERVER_SENT_DUPLICATE_NODE_ID;
	case QN_ERR_TIE_BREAKER_DIFFERS_FROM_OTHER_NODES:
		return DISC_SERVER_SENT_TIE_BREAKER_DIFFERS;
	case QN_ERR_ALGORITHM_DIFFERS_FROM_OTHER_NODES:
		return DISC_SERVER_SENT_ALGORITHM_DIFFERS;
	default:
		return DISC_SERVER_SENT_ERROR;
	}
}

uint8_t
policy_received_vote(uint8_t algo, uint8_t vote,
    const struct qn_ring_id *msg_ring, const struct qn_ring_id *sent_ring)
{
	/* All four client algorithms share this rule. */
	(void)algo;
	if (!qn_ring_id_eq(msg_ring, sent_ring))
		return QN_VOTE_NO_CHANGE;
	return vote;
}

uint8_t
policy_vote_on_disconnect(uint8_t algo, int quorate, int wait_for_all)
{
	switch (algo) {
	case QN_ALGO_FFSPLIT:
		return QN_VOTE_NACK;
	case QN_ALGO_LMS:
		/*
		 * A quorate partition that waited for all nodes keeps the
		 * vote: the nodes it lost cannot form quorum on their own.
		 */
		return quorate && wait_for_all ? QN_VOTE_NO_CHANGE :
		    QN_VOTE_NACK;
	default:
		return QN_VOTE_NO_CHANGE;
	}
}

int
policy_keep_on_missing_echo(uint8_t algo, int quorate, int wait_for_all)
{
	return algo == QN_ALGO_LMS && quorate && wait_for_all;
}

uint8_t
policy_vote_on_event_disconnected(uint8_t current)
{
	return current == QN_VOTE_ACK ? QN_VOTE_NACK : QN_VOTE_NO_CHANGE;
}

int
policy_cert_reconnect_safe(const struct policy_quorum *q)
{
	if (q->vote_on_disconnect == QN_VOTE_NO_CHANGE ||
	    q->vote != QN_VOTE_ACK || q->qdevice_votes == 0 || !q->quorate)
		return 1;
	return q->total_votes >= q->qdevice_votes &&
	    q->total_votes - q->qdevice_votes >= q->quorum;
}
