#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "algo/algo.h"
#include "cluster.h"
#include "gate.h"
#include "log.h"
#include "names.h"
#include "vote.h"

void
log_vote(const struct member *m, const char *how, uint8_t vote,
    const struct qn_ring_id *ring, const char *reason)
{
	const char *cluster = m->cluster ? m->cluster->name : m->cluster_name;
	int decision = vote == QN_VOTE_ACK || vote == QN_VOTE_NACK;

	qb_log(decision ? LOG_INFO : LOG_DEBUG,
	    "cluster %s node %" PRIu32 " ring %" PRIx32 ".%" PRIx64
	    ": %s %s%s%s", cluster ? cluster : "?", m->node_id,
	    ring->node_id, ring->seq, how, vote_name(vote),
	    decision && reason[0] ? ": " : "", decision ? reason : "");
}

/* Record a vote sent (and its reason, when ACK or NACK). */
static void
record(struct member *m, uint8_t vote, const char *reason)
{
	size_t n;

	m->last_vote = vote;
	if (vote_is_decision(vote)) {
		m->last_ack_nack = vote;
		/* Only the text: a storm records thousands of them. */
		n = strnlen(reason, sizeof(m->reason) - 1);
		memcpy(m->reason, reason, n);
		m->reason[n] = '\0';
	}
}

/*
 * The membership m's partition has for the ACK gate: while m's membership
 * list is being decided (decide.c), the new one (not yet stored), else
 * the stored one.
 */
static const struct node_list *
partition_of(const struct member *m)
{
	const struct cluster *cl = m->cluster;

	if (cl != NULL && cl->deciding == m)
		return cl->deciding_members;
	return &m->membership;
}

/* ------------------------------------------------------------------ */
/* The ACK gate on the way out */

static void
gate_arm(struct decide_core *core, uint64_t at)
{
	if (at != 0)
		core->svc.gate_timer(core->svc.ctx, at);
}

/* A NACK was sent: a held ACK may pass now (or, for a VOTE_INFO, once it
 * is acknowledged: vote_info_replied). */
static void
vote_sent(struct decide_core *core, uint8_t vote)
{
	if (vote == QN_VOTE_NACK && gate_has_held(&core->gate))
		gate_arm(core, core->svc.now(core->svc.ctx));
}

/*
 * Does an ACK to m pass the gate?  If not it is held (VOTE_INFO seq and
 * ring, sent when the gate opens) and logged with why.
 */
static int
gate_passes(struct member *m, uint32_t seq, const struct qn_ring_id *ring,
    const char *reason)
{
	struct decide_core *core = m->core;
	uint64_t now = core->svc.now(core->svc.ctx), retry;
	char why[DECISION_REASON_LEN];

	if (gate_allows(&core->gate, m, partition_of(m), now, &retry, why,
	    sizeof(why)))
		return 1;
	if (gate_hold(&core->gate, m, seq, ring, reason, why, now) != 0) {
		core->svc.drop(core->svc.ctx, m, "out of memory");
		return 0;
	}
	log_info("cluster %s node %" PRIu32 " ring %" PRIx32 ".%" PRIx64
	    ": ACK held back: %s", m->cluster->name, m->node_id,
	    ring->node_id, ring->seq, why);
	gate_arm(core, retry != 0 ? retry : now + 1000);
	return 0;
}

static void
push(struct member *m, uint32_t seq, uint8_t vote,
    const struct qn_ring_id *ring, const char *reason)
{
	struct decide_core *core = m->core;

	if (core->svc.send_vote_info(core->svc.ctx, m, seq, vote, ring,
	    reason) != 0)
		return;
	if (vote == QN_VOTE_NACK) {
		m->nack_unconfirmed = 1;
		m->nack_in_ack_ring = m->last_ack_nack == QN_VOTE_ACK &&
		    qn_ring_id_eq(ring, &m->ack_ring);
		m->nack_seq = seq;
		m->nack_sent = core->svc.now(core->svc.ctx);
		m->nack_settle_until = 0;
	} else if (vote == QN_VOTE_ACK) {
		m->nack_unconfirmed = 0;
		m->nack_settle_until = 0;
		m->ack_ring = *ring;
	}
	record(m, vote, reason);
	log_vote(m, "pushed", vote, ring, reason);
}

/* The gate let a held ACK through. */
static void
release(struct member *m, uint32_t seq, const struct qn_ring_id *ring,
    const char *reason, uint64_t waited)
{
	char r[DECISION_REASON_LEN];

	snprintf(r, sizeof(r), "%s (held back %.1f s until no other vote "
	    "could count)", reason, (double)waited / 1000);
	push(m, seq, QN_VOTE_ACK, ring, r);
}

void
vote_gate_fired(struct decide_core *core)
{
	uint64_t now = core->svc.now(core->svc.ctx);
	uint64_t next = gate_retry(&core->gate, partition_of, release, now);

	gate_sweep(&core->gate, now);
	if (next == 0 && core->gate.nrecs > 0)
		next = now + GATE_SWEEP_MS;
	gate_arm(core, next);
}

void
vote_info_replied(struct member *m, uint32_t seq)
{
	struct decide_core *core = m->core;
	uint64_t now = core->svc.now(core->svc.ctx);

	if (!m->nack_unconfirmed || seq != m->nack_seq)
		return;
	m->nack_unconfirmed = 0;
	/*
	 * Its qdevice has told votequorum, but corosync counts the change
	 * only once it is delivered in the node's partition, and an ACK
	 * elsewhere must not overtake that.
	 */
	if (m->nack_in_ack_ring)
		m->nack_settle_until = now + VOTE_NACK_SETTLE_MS;
	if (gate_has_held(&core->gate))
		gate_arm(core, now);
}

void
vote_member_leaves(struct member *m, int server_going_down,
    int closed_by_peer)
{
	struct decide_core *core = m->core;
	uint64_t now;

	if (server_going_down) {
		gate_cancel(&core->gate, m);	/* nothing is decided any more */
		return;
	}
	now = core->svc.now(core->svc.ctx);
	gate_client_left(&core->gate, m, closed_by_peer, now);
	if (gate_has_held(&core->gate))
		gate_arm(core, now);
	else if (core->gate.nrecs > 0)
		gate_arm(core, now + GATE_SWEEP_MS);
}

/* ------------------------------------------------------------------ */
/* What the algorithms and decide.c send */

int
vote_reply(struct member *m, void *reply, uint8_t vote, const char *reason)
{
	struct decide_core *core = m->core;

	if (vote != QN_VOTE_NO_CHANGE)
		gate_cancel(&core->gate, m);
	/*
	 * A held ACK comes later by VOTE_INFO, numbered as lms numbers its
	 * timer's (ffsplit never replies ACK); meanwhile wait for it.
	 */
	if (vote == QN_VOTE_ACK && !gate_passes(m, m->timer_vote_info_seq + 1,
	    &m->ring_id, reason)) {
		m->timer_vote_info_seq++;
		vote = QN_VOTE_WAIT_FOR_REPLY;
		reason = "";
	}
	if (core->svc.send_reply(core->svc.ctx, m, reply, vote, &m->ring_id,
	    reason) != 0)
		return -1;
	if (vote == QN_VOTE_ACK)
		m->ack_ring = m->ring_id;
	record(m, vote, reason);
	log_vote(m, "replied", vote, &m->ring_id, reason);
	vote_sent(core, vote);
	return 0;
}

void
algo_send_vote_info(struct member *m, uint32_t seq, uint8_t vote,
    const struct qn_ring_id *ring, const char *reason)
{
	gate_cancel(&m->core->gate, m);
	if (vote == QN_VOTE_ACK && !gate_passes(m, seq, ring, reason))
		return;
	push(m, seq, vote, ring, reason);
	vote_sent(m->core, vote);
}

void
algo_timer_start(struct member *m, uint32_t ms)
{
	m->core->svc.timer_start(m->core->svc.ctx, m, ms);
}

void
algo_timer_stop(struct member *m)
{
	m->core->svc.timer_stop(m->core->svc.ctx, m);
}

uint64_t
algo_now(const struct member *m)
{
	return m->core->svc.now(m->core->svc.ctx);
}

void
algo_remember(const struct member *m, const struct node_list *nodes,
    const struct qn_ring_id *ring)
{
	struct decide_core *core = m->core;
	struct cluster *cl = m->cluster;
	struct node_list sorted = { 0 };
	const struct node_list *l = nodes;
	int changed;

	if (cl == NULL || cl->mem == NULL)
		return;
	/* A borrowed list has no sorted ids: make them. */
	if (l != NULL && l->ids == NULL) {
		if (node_list_set(&sorted, l->nodes, l->count) != 0)
			return;
		l = &sorted;
	}
	changed = memory_note(cl->mem, m->algorithm, l ? l->ids : NULL,
	    l ? l->nids : 0, ring);
	node_list_free(&sorted);
	if (changed < 0)
		log_err("cluster %s: out of memory, the decision memory keeps "
		    "its previous partition", cl->name);
	else if (changed > 0 && core->svc.memory_changed != NULL)
		core->svc.memory_changed(core->svc.ctx);
}

void
algo_remember_ack(const struct member *m, const struct qn_ring_id *ring)
{
	algo_remember(m, partition_of(m), ring);
}
