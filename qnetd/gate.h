/*
 * The ACK gate: no ACK that could overlap a vote this qnetd can't see
 * (D24).  A node outside the partition about to be ACKed may still be
 * casting an ACK: one an earlier arbiter gave it (this qnetd was restarted,
 * or took over the address), or one we gave it before its connection was
 * lost.  corosync counts such a vote until the node's qdevice notices that
 * its arbiter is gone (two heartbeats) and, if that qdevice hangs, for
 * quorum.device.timeout after its last poll.  So before an ACK goes out,
 * every configured node outside the partition must be connected and told
 * NACK by us (a NACK by VOTE_INFO, which doesn't change the ring, once the
 * node has acknowledged it), or that time must have passed: since our
 * start, since the node left us holding our ACK, or since the NACK.  ACKs that must wait are held here and sent
 * once the gate opens; what a reply would have carried becomes
 * WAIT_FOR_REPLY.
 *
 * The gate owns what survives a cluster's last client (who left holding
 * an ACK, until when) and the held ACKs.  It keeps no clock: callers pass
 * loop time in ms.
 */
#ifndef QNETD_GATE_H
#define QNETD_GATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "htab.h"
#include "member.h"
#include "nodelist.h"
#include "proto.h"

struct gate_rec;
struct gate_held;

struct gate {
	double coefficient;	/* grace = coefficient x heartbeat; 0 = off */
	uint64_t start;		/* loop time this qnetd started serving */
	struct htab names;	/* gate_rec by cluster name */
	TAILQ_HEAD(, gate_rec) recs;	/* the same records, for sweeping */
	size_t nrecs;
	TAILQ_HEAD(, gate_held) held;	/* ACKs waiting for the gate */
};

void	gate_init(struct gate *g, double coefficient, uint64_t start);
void	gate_free(struct gate *g);

/*
 * c leaves its cluster (still linked to it).  If it may hold our ACK,
 * remember until when.  closed_by_peer: its qdevice closed the
 * connection, so it can only be counting a vote its process cast before
 * ending (quorum.device.timeout), not one it still casts.
 */
void	gate_client_left(struct gate *g, struct member *c, int closed_by_peer,
	    uint64_t now);

/*
 * May c's partition (members, c included) be ACKed now?  1 if so.  If not,
 * *retry is the loop time at which it may be (0: only when another client
 * is told NACK or leaves) and why says what it waits for.
 */
int	gate_allows(struct gate *g, const struct member *c,
	    const struct node_list *members, uint64_t now, uint64_t *retry,
	    char *why, size_t whylen);

/* Hold the VOTE_INFO(ACK) seq/ring/reason for c, waiting for why; -1 if
 * out of memory. */
int	gate_hold(struct gate *g, struct member *c, uint32_t seq,
	    const struct qn_ring_id *ring, const char *reason, const char *why,
	    uint64_t now);
/* What c's held ACK waits for, and since when; NULL if none is held. */
const char *gate_held_why(const struct member *c, uint64_t *since);
/* Drop c's held ACK, if any (another vote superseded it, or c left). */
void	gate_cancel(struct gate *g, struct member *c);
int	gate_has_held(const struct gate *g);

/*
 * Re-check every held ACK; call send for those the gate now lets through
 * (waited: ms held).  Returns the earliest loop time worth re-checking
 * at, 0 for none.
 */
typedef void gate_send_fn(struct member *c, uint32_t seq,
	    const struct qn_ring_id *ring, const char *reason, uint64_t waited);
uint64_t gate_retry(struct gate *g, const struct node_list *(*members)(
	    const struct member *), gate_send_fn *send, uint64_t now);

/* Forget records that expired (bounded memory). */
void	gate_sweep(struct gate *g, uint64_t now);

#endif
