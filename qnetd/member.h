/*
 * One qdevice as the decision core sees it: what it told us in PREINIT,
 * INIT and its node lists, what we last told it, and the state its
 * cluster's algorithm keeps for it.  No connection, no timers: the server
 * embeds a member in its connection record (client.h) and the core reaches
 * the outside only through the services table (core.h).
 */
#ifndef QNETD_MEMBER_H
#define QNETD_MEMBER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "nodelist.h"
#include "proto.h"

#define DECISION_REASON_LEN	160

struct cluster;
struct decide_core;
struct gate_held;

struct member {
	struct decide_core *core;	/* set by decide_join */

	/* PREINIT */
	char *cluster_name;		/* NUL-terminated copy of the bytes */
	size_t cluster_name_len;

	/* INIT (valid once joined) */
	uint32_t node_id;
	uint8_t algorithm;		/* enum qn_algo */
	struct qn_tie_breaker tie_breaker;
	uint32_t heartbeat_interval;	/* ms */
	uint8_t kap;			/* keep-active-partition tie-breaker */
	struct qn_ring_id ring_id;	/* INIT's, then each membership list's */

	/* Node lists, stored after the algorithm has seen them. */
	struct node_list config;
	struct node_list membership;
	struct node_list quorum;
	uint64_t config_version;
	uint8_t quorate;
	uint8_t heur_membership;	/* enum qn_heuristics */
	uint8_t heur_regular;
	uint8_t heur_latest;

	/* What we told it. */
	uint8_t last_vote;		/* enum qn_vote, in any reply */
	uint8_t last_ack_nack;		/* last ACK or NACK */
	char reason[DECISION_REASON_LEN];	/* why last_ack_nack */
	/*
	 * A NACK sent by VOTE_INFO: until the node acknowledges it, and
	 * within the ring of its last ACK until corosync has applied it
	 * (settle_until), it may still cast that ACK.  vote.c sets these,
	 * the ACK gate reads them.
	 */
	struct qn_ring_id ack_ring;	/* ring of the last ACK sent */
	uint32_t nack_seq;
	uint64_t nack_sent;		/* loop time, ms */
	uint64_t nack_settle_until;	/* loop time, ms; 0 = none */
	unsigned nack_unconfirmed:1;
	unsigned nack_in_ack_ring:1;
	struct gate_held *held;		/* an ACK the gate holds back (gate.c) */

	/* Membership of the cluster, ascending node id (cluster.c). */
	struct cluster *cluster;
	TAILQ_ENTRY(member) cluster_link;

	/* Algorithm state; each algorithm uses what it needs. */
	uint8_t algo_state;
	uint8_t algo_result;		/* lms, 2nodelms: last ACK/NACK/wait, 0 = none */
	uint32_t vote_info_seq;		/* ffsplit VOTE_INFO counter */
	uint32_t timer_vote_info_seq;	/* lms timer VOTE_INFO counter */
	/* ffsplit: scratch of one stability test (lowest client listed). */
	const struct member *ffsplit_leader;

	unsigned has_config:1;
	unsigned has_membership:1;
	unsigned has_quorum:1;
	unsigned has_config_version:1;
};

/* Free what the member holds (its name and lists), not the member. */
void	member_free(struct member *m);

#endif
