/*
 * The decision core's context and the services it needs from whoever runs
 * it.  The core (decide.c, cluster.c, gate.c, vote.c, algo/) never calls
 * up into the server: votes, replies, timers and the time go through the
 * table the server gives it (send.c); the unit tests give a recording one.
 */
#ifndef QNETD_CORE_H
#define QNETD_CORE_H

#include <stdint.h>

#include "cluster.h"
#include "gate.h"
#include "memory.h"
#include "member.h"
#include "proto.h"

struct decide_services {
	void	*ctx;
	/*
	 * Queue VOTE_INFO{seq, vote, ring} to m (reason: for the record
	 * only, it is not on the wire).  0, or -1 when it could not be
	 * queued: then m's connection ends, as the server decides.
	 */
	int	(*send_vote_info)(void *ctx, struct member *m, uint32_t seq,
		    uint8_t vote, const struct qn_ring_id *ring,
		    const char *reason);
	/* Queue reply (decide_reply's) carrying vote and ring; 0 or -1. */
	int	(*send_reply)(void *ctx, struct member *m, void *reply,
		    uint8_t vote, const struct qn_ring_id *ring,
		    const char *reason);
	/* Call decide_timer(m) in ms ms (again: restart); or don't. */
	void	(*timer_start)(void *ctx, struct member *m, uint32_t ms);
	void	(*timer_stop)(void *ctx, struct member *m);
	/* The loop's time in ms. */
	uint64_t (*now)(void *ctx);
	/* Call decide_gate_fired() at time at or earlier (0: no need). */
	void	(*gate_timer)(void *ctx, uint64_t at);
	/* m can't be served any more (no memory for its held ACK). */
	void	(*drop)(void *ctx, struct member *m, const char *why);
	/* The decision memory changed: save it some time soon (or not;
	 * NULL: nobody saves it). */
	void	(*memory_changed)(void *ctx);
};

struct decide_core {
	struct decide_services svc;
	struct cluster_table clusters;
	struct gate gate;		/* ACKs that must wait (gate.h) */
	struct memory memory;		/* decisions beyond clients (memory.h) */
	uint64_t tie_hold_ms;		/* ffsplit's hold for remembered ties */
};

#endif
