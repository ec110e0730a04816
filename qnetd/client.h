/*
 * One connected qdevice as qnetd sees it: its connection, what it told us
 * in PREINIT, INIT and its node lists, and what we last told it.
 */
#ifndef QNETD_CLIENT_H
#define QNETD_CLIENT_H

#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "conn.h"
#include "handshake.h"
#include "nodelist.h"
#include "proto.h"

struct qnetd;
struct cluster;
struct gate_held;

#define CLIENT_ADDR_LEN		64
#define DECISION_REASON_LEN	160

struct client {
	struct conn conn;
	struct qnetd *qnetd;
	char addr[CLIENT_ADDR_LEN];	/* "::ffff:10.0.0.1:40000" */

	/* PREINIT */
	char *cluster_name;		/* NUL-terminated copy of the bytes */
	size_t cluster_name_len;

	/* INIT (valid once init_done) */
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
	struct gate_held *held;		/* an ACK the gate holds back (gate.c) */

	/* Membership of the cluster, ascending node id. */
	struct cluster *cluster;
	struct client *cluster_next;

	/* Algorithm state; each algorithm uses what it needs. */
	uint8_t algo_state;
	uint8_t algo_result;		/* lms, 2nodelms: last ACK/NACK/wait, 0 = none */
	uint32_t vote_info_seq;		/* ffsplit VOTE_INFO counter */
	uint32_t timer_vote_info_seq;	/* lms timer VOTE_INFO counter */
	uv_timer_t algo_timer;
	/* ffsplit: scratch of one stability test (lowest client listed). */
	const struct client *ffsplit_leader;

	uv_timer_t dpd_timer;		/* dead-peer check, or INIT deadline */
	uint64_t dpd_ms;		/* dead-peer timeout, 0 = not running */
	uint64_t dpd_last;		/* loop time of the last message */
	/* On a dead-peer list (dpd.c), oldest message first; or NULL. */
	struct dpd_list *dpd_list;
	TAILQ_ENTRY(client) dpd_link;

	TAILQ_ENTRY(client) all_link;		/* every client of the server */
	SLIST_ENTRY(client) reap_link;		/* waiting to be taken out */
	struct peer *peer;			/* its source address's count */

	/* max_client_message_rate: a token bucket in 1/1000 messages. */
	int64_t rate_tokens;
	uint64_t rate_stamp;			/* loop time of the last refill */
	LIST_ENTRY(client) thr_link;		/* on the throttled (rate.c) */
	struct hs_client hs;			/* its TLS handshake's turn */
	uint8_t holds;				/* what still needs its memory */

	unsigned preinit_done:1;
	unsigned init_done:1;
	unsigned has_config:1;
	unsigned has_membership:1;
	unsigned has_quorum:1;
	unsigned has_config_version:1;
	unsigned tls_started:1;
	unsigned cert_checked:1;
	unsigned init_had_msgs:1;	/* INIT carried supported messages */
	unsigned init_had_opts:1;	/* INIT carried supported options */
	unsigned closing:1;
	unsigned closed_by_peer:1;	/* EOF: its qdevice closed the connection */
	unsigned rate_paused:1;		/* out of message tokens */
};

#endif
