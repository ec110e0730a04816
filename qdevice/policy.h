/*
 * The client side of the decision algorithms: how the qdevice treats the
 * votes it receives, what it votes when the connection ends, whether it
 * reconnects or exits, and what a missing echo reply means
 * (BEHAVIOUR.md §3.6, §3.7; PROTOCOL.md §9, §10.2).  Pure functions, so the
 * whole policy is unit-tested.
 */
#ifndef QDEVICE_POLICY_H
#define QDEVICE_POLICY_H

#include <stdint.h>

#include "proto.h"

enum disc_reason {
	DISC_NONE = 0,
	/* Reconnect (any algorithm) */
	DISC_MSG_DECODE_ERROR,
	DISC_SERVER_CLOSED_CONNECTION,
	DISC_CANT_READ_MESSAGE,		/* too long, no memory, read error */
	DISC_CANT_SEND_MESSAGE,		/* write error, TLS handshake */
	DISC_CANT_CONNECT,		/* no address reachable, connect timeout */
	DISC_ECHO_REPLY_NOT_RECEIVED,
	DISC_SERVER_SENT_DUPLICATE_NODE_ID,
	DISC_SERVER_SENT_TIE_BREAKER_DIFFERS,
	DISC_SERVER_SENT_ALGORITHM_DIFFERS,
	/* Exit, except with lms */
	DISC_UNEXPECTED_MSG,
	DISC_UNSUPPORTED_MSG,
	DISC_REQUIRED_OPTION_MISSING,
	DISC_INCOMPATIBLE_TLS,
	DISC_INCOMPATIBLE_MSG_SIZE,
	DISC_SERVER_SENT_ERROR,
	DISC_SERVER_DOESNT_SUPPORT_ALGORITHM,
	DISC_SERVER_DOESNT_SUPPORT_OPTION,
	DISC_CANT_START_TLS,
	DISC_CANT_ALLOCATE_MSG_BUFFER,	/* also: node list unreadable */
	DISC_ALGO_ERROR,		/* e.g. ffsplit vote-count check */
	DISC_ALGO_ECHO_REPLY_ERROR,	/* echo reply with a wrong seq */
	DISC_ARBITER_SWITCH,		/* ours: host list, net_hosts.c */
	DISC_CLIENT_CERT_RENEWED,	/* ours: SIGHUP, net_renew.c */
	/* Exit always */
	DISC_COROSYNC_CONNECTION_CLOSED,
	DISC_LOCAL_SOCKET_CLOSED,	/* shutdown request: exit 0 */
	DISC_CANT_SCHEDULE_VOTING_TIMER,
	DISC_CANT_REGISTER_CALLBACK,
	DISC_HEURISTICS_WORKER_CLOSED,
	DISC_REASON_COUNT
};

enum disc_action {
	DISC_RECONNECT,
	DISC_EXIT
};

const char *disc_reason_str(enum disc_reason r);

/* Reconnect or exit after a disconnect for reason r with algorithm algo. */
enum disc_action disc_reason_action(enum disc_reason r, uint8_t algo);
/* Forced reasons end the daemon whatever the algorithm. */
int	disc_reason_forced(enum disc_reason r);
/* Exit status when the reason ends the daemon: 0 only for a shutdown. */
int	disc_reason_exit_status(enum disc_reason r);

/* INIT_REPLY error codes that name a reason of their own. */
enum disc_reason disc_reason_for_init_error(uint16_t code);

/*
 * The vote to apply for a vote received from qnetd: a vote for another
 * ring id than the one we last sent is stale and means "no change".
 */
uint8_t	policy_received_vote(uint8_t algo, uint8_t vote,
	    const struct qn_ring_id *msg_ring, const struct qn_ring_id *sent_ring);

/*
 * The vote to apply when the connection ends (QN_VOTE_NO_CHANGE keeps the
 * current one): ffsplit NACK; lms NACK unless quorate with wait_for_all;
 * 2nodelms and test keep it.
 */
uint8_t	policy_vote_on_disconnect(uint8_t algo, int quorate, int wait_for_all);

/*
 * An echo reply did not come back before the next tick: 1 keeps the
 * connection (lms while quorate with wait_for_all), 0 disconnects.
 */
int	policy_keep_on_missing_echo(uint8_t algo, int quorate, int wait_for_all);

/*
 * A membership, quorum or configuration change while not connected: an
 * ACK can no longer be trusted and becomes NACK.
 */
uint8_t	policy_vote_on_event_disconnected(uint8_t current);

/*
 * What votequorum says of this node when a renewed client certificate
 * asks for a reconnect (net_renew.c fills it).
 */
struct policy_quorum {
	uint8_t vote;			/* the vote the node casts (qn_vote) */
	uint8_t vote_on_disconnect;	/* policy_vote_on_disconnect() */
	int quorate;
	uint32_t total_votes;		/* votequorum's, the Qdevice's included */
	uint32_t qdevice_votes;		/* of those the Qdevice's (0: none) */
	uint32_t quorum;
};

/*
 * 1 when dropping the connection now cannot cost this node quorum: the
 * vote survives a disconnect, the node casts no ACK, votequorum does not
 * count the Qdevice, the node is not quorate anyway, or its votes without
 * the Qdevice's still reach quorum.  0: wait.
 */
int	policy_cert_reconnect_safe(const struct policy_quorum *q);

#endif
