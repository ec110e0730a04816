/*
 * Votes on their way out of the decision core: the ACK gate (gate.h) is
 * asked first and holds ACKs that must wait, what passes goes out through
 * the services table (core.h), and what was sent is recorded in the
 * member (its last vote and reason) and logged.  The algorithms push
 * through here (algo_send_vote_info, algo.h); decide.c sends replies.
 */
#ifndef QNETD_VOTE_H
#define QNETD_VOTE_H

#include <stdint.h>

#include "core.h"
#include "member.h"
#include "proto.h"

/*
 * After a node acknowledges a NACK in the ring of its last ACK, how long an
 * ACK elsewhere still waits: its corosync applies the change when the
 * message is delivered in its partition (one token rotation, milliseconds
 * when healthy), and a margin also keeps sequential observers from seeing
 * the two votes overlap.
 */
#define VOTE_NACK_SETTLE_MS	1000

/* Look at the held ACKs again after this long when only records remain. */
#define GATE_SWEEP_MS	60000

/*
 * Send the reply to a decision-relevant message carrying vote (an ACK the
 * gate holds becomes WAIT_FOR_REPLY) through the table's send_reply.
 */
int	vote_reply(struct member *m, void *reply, uint8_t vote,
	    const char *reason);

/* m acknowledged VOTE_INFO seq: a NACK it confirms now counts (gate.h). */
void	vote_info_replied(struct member *m, uint32_t seq);

/* m leaves its cluster (still linked to it): the gate's part. */
void	vote_member_leaves(struct member *m, int server_going_down,
	    int closed_by_peer);

/* The gate's timer: send the held ACKs it now lets through. */
void	vote_gate_fired(struct decide_core *core);

/* Log an ACK or NACK sent to m: one INFO line per decision. */
void	log_vote(const struct member *m, const char *how, uint8_t vote,
	    const struct qn_ring_id *ring, const char *reason);

#endif
