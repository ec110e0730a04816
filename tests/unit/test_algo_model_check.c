/*
 * The checks of the randomised runs: follow the events the harness
 * recorded and compare them, step by step, with the reference models.
 */
#include <stdio.h>

#include "test_algo_model.h"

/* Following the events the harness recorded. */


struct sent
scan_events(struct model *m)
{
	struct sent s = { 0 };
	struct qnetd *w = m->w;

	for (; m->scanned < w->nev; m->scanned++) {
		const struct h_event *e = &w->ev[m->scanned];
		int i = index_of(m, e->node);
		struct m_node *nd;
		mask bit;

		M_CHECK(i >= 0 && connected(m, i), "event to node %u, not "
		    "connected", (unsigned)e->node);
		nd = &m->node[i];
		bit = 1u << i;
		if (e->kind == H_REPLY) {
			M_CHECK(!is_ffsplit(m) || !vote_is_decision(e->vote),
			    "ffsplit replied "
			    "%s to node %u", vote_str(e->vote),
			    (unsigned)e->node);
			continue;
		}
		tr("    VOTE_INFO %s to %u seq %u\n", vote_str(e->vote),
		    (unsigned)e->node, (unsigned)e->seq);
		M_CHECK(is_ffsplit(m) ? participates(m, i) :
		    nd->has_membership, "VOTE_INFO to node %u, which has "
		    "not sent its lists", (unsigned)e->node);
		M_CHECK(qn_ring_id_eq(&e->ring, &nd->hc->sent_ring),
		    "VOTE_INFO to node %u for a ring it does not have",
		    (unsigned)e->node);
		M_CHECK(e->seq == nd->seq + 1, "node %u: VOTE_INFO seq %u after "
		    "%u", (unsigned)e->node, (unsigned)e->seq,
		    (unsigned)nd->seq);
		M_CHECK(!((s.ack | s.nack) & bit), "two VOTE_INFOs to node %u "
		    "in one step", (unsigned)e->node);
		nd->seq = e->seq;
		nd->last_vi = (long)m->scanned;
		if (e->vote == QN_VOTE_ACK) {
			s.ack |= bit;
			nd->last_ack = (long)m->scanned;
			nd->ack_winner = m->winner;
			nd->revoke = -1;
		} else {
			s.nack |= bit;
			if (nd->last_ack >= 0 && nd->revoke < 0)
				nd->revoke = (long)m->scanned;
		}
	}
	return s;
}

/*
 * What NACK-first guarantees (3.0.3 and ours): qnetd sends ACK to a new
 * winning partition only after every other client it told ACK before has
 * acknowledged a later NACK.  A qdevice may act on an ACK from the moment
 * it is sent until it has answered a later NACK (VOTE_INFOs arrive in
 * order, so answering any later VOTE_INFO means the NACK arrived).  So at
 * any time, all connected clients that may act on an ACK got it from
 * decisions that chose the same partition: never do two different
 * partitions hold the vote at once.  Clients that have since reported
 * another ring are counted too, which only makes the check stricter.
 *
 * What it does not promise: a client that left is not asked (its vote
 * lapses with the connection), and nothing is said before the losers
 * answer.  A NACK for a ring the qdevice has already left is ignored but
 * still answered; that is safe only because qnetd reads the qdevice's
 * newer membership first (one TCP stream) and decides again on it, which
 * cancels the ACKs of the older decision.  The harness delivers each
 * message at once, so every VOTE_INFO here carries the client's ring.
 */
void
check_safety(struct model *m)
{
	int first = -1;
	char a[32], b[32];

	if (!is_ffsplit(m))
		return;		/* lms and 2nodelms do not send NACK first */
	for (int i = 0; i < m->n; i++) {
		const struct m_node *nd = &m->node[i];

		if (!connected(m, i) || nd->last_ack < 0 ||
		    (nd->revoke >= 0 && nd->answered >= nd->revoke))
			continue;
		M_CHECK(nd->ack_winner & (1u << i), "node %u holds ACK for a "
		    "partition it is not in", (unsigned)nd->id);
		if (first < 0) {
			first = i;
			continue;
		}
		M_CHECK(nd->ack_winner == m->node[first].ack_winner,
		    "nodes %u and %u both hold ACK, for {%s} and {%s}",
		    (unsigned)m->node[first].id, (unsigned)nd->id,
		    ids_str(m, m->node[first].ack_winner, a, sizeof(a)),
		    ids_str(m, nd->ack_winner, b, sizeof(b)));
	}
}

/* After a decision: NACK to the losers, or ACK to the winners. */
void
check_decision(struct model *m, enum outcome o, struct sent s)
{
	char a[32], b[32];

	if (o != OUT_STABLE) {
		M_CHECK((s.ack | s.nack) == 0, "VOTE_INFO without a stable "
		    "membership");
		return;
	}
	if (m->phase == PH_NACKS) {
		M_CHECK(s.ack == 0 && s.nack == m->awaiting, "NACKs to {%s}, "
		    "model: {%s}", ids_str(m, s.nack, a, sizeof(a)),
		    ids_str(m, m->awaiting, b, sizeof(b)));
		return;
	}
	M_CHECK(s.nack == 0 && s.ack == m->ack_to, "ACKs to {%s}, model: {%s}",
	    ids_str(m, s.ack, a, sizeof(a)), ids_str(m, m->ack_to, b,
	    sizeof(b)));
}

void
check_reply(int got, enum outcome o)
{
	int want = o == OUT_UNSTABLE ? QN_VOTE_WAIT_FOR_REPLY :
	    o == OUT_STABLE ? QN_VOTE_NO_CHANGE : QN_VOTE_ASK_LATER;

	tr("    reply %s\n", got < 0 ? "error" : vote_str((uint8_t)got));
	M_CHECK(got == want, "reply %s, model: %s", got < 0 ? "error" :
	    vote_str((uint8_t)got), vote_str((uint8_t)want));
}
/* After an lms or 2nodelms step: the pushes and every qdevice's vote. */
void
check_lms_step(struct model *m, struct sent want, struct sent got)
{
	char a[32], b[32];

	M_CHECK(got.ack == want.ack, "ACK VOTE_INFOs to {%s}, model: {%s}",
	    ids_str(m, got.ack, a, sizeof(a)), ids_str(m, want.ack, b,
	    sizeof(b)));
	M_CHECK(got.nack == want.nack, "NACK VOTE_INFOs to {%s}, model: {%s}",
	    ids_str(m, got.nack, a, sizeof(a)), ids_str(m, want.nack, b,
	    sizeof(b)));
	for (int i = 0; i < m->n && !is_ffsplit(m); i++) {
		const struct m_node *nd = &m->node[i];

		if (!connected(m, i))
			continue;
		M_CHECK(nd->hc->vote == nd->vote, "node %u acts on %s, model: "
		    "%s", (unsigned)nd->id, vote_str(nd->hc->vote),
		    vote_str(nd->vote));
		M_CHECK(nd->hc->timer_armed == nd->timer, "node %u timer %s, "
		    "model: %s", (unsigned)nd->id,
		    nd->hc->timer_armed ? "armed" : "off",
		    nd->timer ? "armed" : "off");
		/* HB/4 with the harness's heartbeat of 8000 ms. */
		M_CHECK(!nd->timer || nd->hc->timer_ms == 2000, "node %u "
		    "timer of %u ms", (unsigned)nd->id,
		    (unsigned)nd->hc->timer_ms);
	}
}

void
expect_push(struct model *m, struct sent *want, int i, uint8_t vote)
{
	if (vote == QN_VOTE_ACK)
		want->ack |= 1u << i;
	else
		want->nack |= 1u << i;
	told(m, i, vote);
}

void
check_lms_reply(struct model *m, int i, int got, uint8_t want)
{
	tr("    reply %s\n", got < 0 ? "error" : vote_str((uint8_t)got));
	M_CHECK(got == want, "reply %s, model: %s", got < 0 ? "error" :
	    vote_str((uint8_t)got), vote_str(want));
	told(m, i, want);
}
