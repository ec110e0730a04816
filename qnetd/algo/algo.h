/*
 * Decision algorithms.  Each one answers a client's messages with a vote and
 * may push votes to other clients of the cluster with VOTE_INFO.  Every
 * ACK/NACK comes with a reason an admin can read: it is logged and shown by
 * corosync-qnetd-tool.
 *
 * Handlers run before qnetd stores what the message carried: the client
 * record still holds the previous lists, ring id and heuristics, and the
 * new values are the arguments (BEHAVIOUR.md §2.1).  A handler returning an
 * error code other than QN_ERR_NONE makes qnetd answer SERVER_ERROR and store
 * nothing.
 */
#ifndef QNETD_ALGO_H
#define QNETD_ALGO_H

#include <stddef.h>
#include <stdint.h>

#include "cluster.h"
#include "member.h"
#include "proto.h"

struct decision {
	uint8_t vote;				/* enum qn_vote */
	char reason[DECISION_REASON_LEN];	/* for ACK and NACK */
};

struct algo {
	uint8_t id;		/* enum qn_algo */
	const char *name;	/* as corosync-qnetd-tool prints it */

	/* After a successful INIT; the client is already in its cluster. */
	enum qn_err (*client_init)(struct member *c);
	enum qn_err (*config_list)(struct member *c, int initial,
	    const struct node_list *nodes, struct decision *d);
	enum qn_err (*membership_list)(struct member *c,
	    const struct qn_ring_id *ring, const struct node_list *nodes,
	    uint8_t heuristics, struct decision *d);
	enum qn_err (*quorum_list)(struct member *c, int quorate,
	    const struct node_list *nodes, struct decision *d);
	enum qn_err (*ask_for_vote)(struct member *c, struct decision *d);
	/* NULL when the algorithm needs no acknowledgement of its pushes. */
	enum qn_err (*vote_info_reply)(struct member *c, uint32_t seq);
	enum qn_err (*heuristics_change)(struct member *c, uint8_t heuristics,
	    struct decision *d);
	/* The algorithm timer (algo_timer_start) fired; NULL if never started. */
	void	(*timer)(struct member *c);
	/*
	 * The client left.  It is already unlinked from c->cluster (which
	 * may now be empty); with server_going_down nothing is re-decided.
	 */
	void	(*disconnect)(struct member *c, int server_going_down);
};

const struct algo *algo_get(uint8_t id);

/*
 * lms and 2nodelms (not 3.0.3, upstream #14): c's heuristics changed, so
 * every client of its cluster that sent a membership list, c included, is
 * judged again by judge() with c's new result; those whose vote changes
 * are told by VOTE_INFO through push(), all NACKs before any ACK, and c's
 * reply d is NO_CHANGE (also before c sent a membership list).  Within one
 * ring a NACK counts only once the node has acknowledged it, so it must
 * go as VOTE_INFO, never in a reply (the ACK gate, gate.h).
 */
typedef void algo_judge_fn(struct member *o, struct decision *d);
typedef void algo_push_fn(struct member *o, const struct decision *d);
void	algo_heuristics_changed(struct member *c, uint8_t heuristics,
	    struct decision *d, algo_judge_fn *judge, algo_push_fn *push);

/* Helpers every algorithm shares. */
void	decision_set(struct decision *d, uint8_t vote, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* A vote that carries no reason (anything but ACK and NACK). */
void	decision_vote(struct decision *d, uint8_t vote);
int	vote_is_decision(uint8_t vote);		/* ACK or NACK */

/* "{1,2,3}", or "{1,2,...}" when the ids do not fit. */
#define NODE_SET_LEN	40
const char *node_set_str(char *buf, size_t len, const struct node_list *l);
/* "1.8" (node id and sequence in hex, as the logs print ring ids). */
#define RING_STR_LEN	28
const char *ring_str(char *buf, size_t len, const struct qn_ring_id *r);

/*
 * lms and 2nodelms.  The newcomer rule (D5, kept): a client of the cluster
 * outside ring that holds ACK, or NULL.  vote_in_force(): the vote c acts
 * on now: its last stored result, or, for a refused newcomer (nothing
 * stored), the NACK it was told.
 */
const struct member *ack_holder_outside(const struct cluster *cl,
	    const struct qn_ring_id *ring);
uint8_t	vote_in_force(const struct member *c);

/*
 * What the algorithms ask of the outside (qnetd/vote.c, through the
 * services table of the member's core, core.h).
 *
 * algo_send_vote_info() sends VOTE_INFO{seq, vote, ring} to c past the ACK
 * gate and records the vote and reason; when it can't be queued c's
 * connection ends.  algo_timer_start() has the algorithm's timer called
 * in ms ms.
 */
void	algo_send_vote_info(struct member *c, uint32_t seq, uint8_t vote,
	    const struct qn_ring_id *ring, const char *reason);
void	algo_timer_start(struct member *c, uint32_t ms);
void	algo_timer_stop(struct member *c);
/* The loop's time, in ms. */
uint64_t algo_now(const struct member *c);
/*
 * c's cluster decided that nodes (NULL: none) are its quorate partition,
 * on ring: keep it in the decision memory (memory.h), which outlives the
 * cluster's clients and this qnetd.
 */
void	algo_remember(const struct member *c, const struct node_list *nodes,
	    const struct qn_ring_id *ring);
/* c's partition (its membership, the new one while it is decided) got
 * ACK on ring (lms, 2nodelms): remembered as above. */
void	algo_remember_ack(const struct member *c,
	    const struct qn_ring_id *ring);

extern const struct algo algo_test;
extern const struct algo algo_ffsplit;
extern const struct algo algo_2nodelms;
extern const struct algo algo_lms;

#endif
