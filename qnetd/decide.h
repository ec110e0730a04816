/*
 * The decision core's entry points: what a member's decision-relevant
 * messages do to qnetd's state.  Run the cluster's algorithm on the new
 * values, then store them (BEHAVIOUR.md §2.1: the algorithm sees the
 * previous state plus the new values).  The message handlers and the
 * algorithm tests both go through here; votes leave through the services
 * table the core was started with (core.h).
 */
#ifndef QNETD_DECIDE_H
#define QNETD_DECIDE_H

#include <stdint.h>

#include "algo/algo.h"
#include "cluster.h"
#include "core.h"
#include "member.h"

/* The cluster table; the ACK gate off until decide_core_start. */
int	decide_core_init(struct decide_core *core);
/*
 * Serve with svc (copied), the ACK gate's coefficient (gate.h; 0 = off)
 * and svc's time as the moment this qnetd started serving.
 */
void	decide_core_start(struct decide_core *core,
	    const struct decide_services *svc, double ack_grace_coefficient);
/*
 * Keep each cluster's decision memory keep_ms after its last client left,
 * for at most max_idle such clusters (0, 0: forget with the last client,
 * the default), and hold a remembered 50:50 tie for tie_hold_ms.
 */
void	decide_core_memory(struct decide_core *core, uint64_t keep_ms,
	    size_t max_idle, uint64_t tie_hold_ms);
/* Every member must have left. */
void	decide_core_free(struct decide_core *core);

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
 * Put an INIT-validated member into its cluster (created if needed) and run
 * the algorithm's client_init.  Returns QN_ERR_NONE or the INIT_REPLY error.
 */
enum qn_err decide_join(struct decide_core *core, struct member *m);

/*
 * Take the member out of its cluster (telling the ACK gate, stopping its
 * algorithm timer) and let the algorithm re-decide for the others.  Does
 * nothing for a member that never joined.  closed_by_peer: its qdevice
 * closed the connection (gate.h).
 */
void	decide_leave(struct member *m, int server_going_down,
	    int closed_by_peer);

/*
 * The decide_* handlers leave the reply to the caller: decide_reply once
 * it is built; VOTE_INFOs pushed on the way went out already.
 */
enum qn_err decide_node_list(struct member *m,
	    const struct node_list_update *u, struct decision *d);
enum qn_err decide_heuristics_change(struct member *m, uint8_t heuristics,
	    struct decision *d);
enum qn_err decide_ask_for_vote(struct member *m, struct decision *d);
enum qn_err decide_vote_info_reply(struct member *m, uint32_t seq);

/*
 * Send reply (the caller's message, handed to the table's send_reply)
 * carrying d's vote past the ACK gate, and record it.  0, or -1 when it
 * could not be queued.
 */
int	decide_reply(struct member *m, const struct decision *d, void *reply);

/* The algorithm timer (the table's timer_start) fired. */
void	decide_timer(struct member *m);
/* The gate's timer (the table's gate_timer) fired. */
void	decide_gate_fired(struct decide_core *core);

#endif
