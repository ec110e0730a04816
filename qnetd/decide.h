/*
 * What a client's decision-relevant messages do to qnetd's state: run the
 * cluster's algorithm on the new values, then store them (BEHAVIOUR.md
 * §2.1: the algorithm sees the previous state plus the new values).  The
 * message handlers and the algorithm tests both go through here.
 */
#ifndef QNETD_DECIDE_H
#define QNETD_DECIDE_H

#include <stdint.h>

#include "algo/algo.h"
#include "cluster.h"
#include "client.h"

struct node_list_update {
	uint8_t type;			/* enum qn_list_type */
	struct node_list nodes;		/* borrowed */
	struct qn_ring_id ring_id;	/* membership */
	uint8_t heuristics;		/* membership; undefined if absent */
	uint8_t quorate;		/* quorum */
	int has_config_version;		/* config */
	uint64_t config_version;
};

/*
 * Put an INIT-validated client into its cluster (created if needed) and run
 * the algorithm's client_init.  Returns QN_ERR_NONE or the INIT_REPLY error.
 */
enum qn_err decide_join(struct cluster_table *t, struct client *c);

/*
 * Take the client out of its cluster (stopping its algorithm timer) and let
 * the algorithm re-decide for the others.  Does nothing for a client that
 * never joined.
 */
void	decide_leave(struct cluster_table *t, struct client *c,
	    int server_going_down);

/*
 * The decide_* handlers leave recording the reply's vote to the caller
 * (decide_record_vote once the reply is queued); VOTE_INFOs pushed on the
 * way are recorded by algo_send_vote_info.
 */
enum qn_err decide_node_list(struct client *c,
	    const struct node_list_update *u, struct decision *d);
enum qn_err decide_heuristics_change(struct client *c, uint8_t heuristics,
	    struct decision *d);
enum qn_err decide_ask_for_vote(struct client *c, struct decision *d);
enum qn_err decide_vote_info_reply(struct client *c, uint32_t seq);

/* Record a vote sent in a reply (and its reason, when ACK or NACK). */
void	decide_record_vote(struct client *c, uint8_t vote, const char *reason);

/*
 * The membership c's partition has for the ACK gate: while c's membership
 * list is being decided, the new one (not yet stored), else the stored one.
 */
const struct node_list *decide_partition(const struct client *c);

#endif
