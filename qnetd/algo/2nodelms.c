/*
 * 2nodelms, two-node last man standing (BEHAVIOUR.md §2.4, PROTOCOL.md
 * §8.3): each membership list is judged by the first rule that applies:
 * newcomer, both nodes in the membership, the only connected node, better
 * heuristics, tie-breaker.
 *
 * Deliberate difference from 3.0.3 (D6): when a client leaves, the other
 * clients are judged again from what they stored and told the result by
 * VOTE_INFO if it changed; 3.0.3 leaves the survivor of a 1/1 split at NACK
 * until its own membership changes.  Heuristics (upstream #14): a
 * HEURISTICS_CHANGE has both clients judged again with the sender's new
 * result and told by VOTE_INFO if their vote changes
 * (algo_heuristics_changed); 3.0.3 compares heuristics only at the next
 * membership list.
 */
#include <inttypes.h>

#include "algo.h"
#include "log.h"
#include "names.h"

/* Fail < Undefined < Pass (PROTOCOL.md §4.9). */
static int
heuristics_rank(uint8_t h)
{
	return h == QN_HEUR_FAIL ? 0 : h == QN_HEUR_PASS ? 2 : 1;
}

static void
compare_heuristics(uint8_t mine, const struct member *other,
    struct decision *d)
{
	uint8_t theirs = other->heur_latest;

	if (heuristics_rank(mine) > heuristics_rank(theirs))
		decision_set(d, QN_VOTE_ACK, "2nodelms: better heuristics "
		    "than node %" PRIu32 " (%s vs %s)", other->node_id,
		    heuristics_id(mine), heuristics_id(theirs));
	else
		decision_set(d, QN_VOTE_NACK, "2nodelms: node %" PRIu32
		    " has better heuristics (%s vs %s)", other->node_id,
		    heuristics_id(theirs), heuristics_id(mine));
}

/* Rule 5: the tie-breaker among the connected clients. */
static void
break_tie(const struct member *c, struct decision *d)
{
	const struct cluster *cl = c->cluster;
	const struct member *q, *winner = NULL;
	uint32_t target = c->tie_breaker.node_id;

	switch (c->tie_breaker.mode) {
	case QN_TB_LOWEST:
		winner = cluster_first(cl);
		break;
	case QN_TB_HIGHEST:
		cluster_for_each(cl, q)
			winner = q;
		break;
	default:
		winner = cluster_member(cl, target);
		break;
	}
	if (winner == NULL) {
		decision_set(d, QN_VOTE_NACK, "2nodelms: tie, tie-breaker node "
		    "%" PRIu32 " is not connected", target);
		return;
	}
	decision_set(d, winner == c ? QN_VOTE_ACK : QN_VOTE_NACK,
	    "2nodelms: tie, tie-breaker (%s) is node %" PRIu32,
	    tb_mode_id(c->tie_breaker.mode), winner->node_id);
}

/* Rules 1-5 for c in ring with the given number of members. */
static void
judge(struct member *c, const struct qn_ring_id *ring, size_t members,
    uint8_t heuristics, struct decision *d)
{
	const struct cluster *cl = c->cluster;
	const struct member *holder, *q, *other = NULL;

	if (c->algo_result == 0 &&
	    (holder = ack_holder_outside(cl, ring)) != NULL) {
		/* Not stored: refused again while the other holds the vote. */
		decision_set(d, QN_VOTE_NACK, "newcomer: node %" PRIu32 " of "
		    "another partition already holds the vote",
		    holder->node_id);
		return;
	}
	if (members == 2) {
		decision_set(d, QN_VOTE_ACK, "2nodelms: both nodes in "
		    "membership");
	} else if (cl->client_count == 1) {
		decision_set(d, QN_VOTE_ACK, "2nodelms: only connected node");
	} else {
		/* As 3.0.3: the last other client in node id order. */
		cluster_for_each(cl, q)
			if (q != c)
				other = q;
		if (heuristics_rank(heuristics) !=
		    heuristics_rank(other->heur_latest))
			compare_heuristics(heuristics, other, d);
		else
			break_tie(c, d);
	}
	c->algo_result = d->vote;
	if (d->vote == QN_VOTE_ACK)
		algo_remember_ack(c, ring);
}

static enum qn_err
twonode_client_init(struct member *c)
{
	c->algo_result = 0;
	return QN_ERR_NONE;
}

static enum qn_err
twonode_config_list(struct member *c, int initial,
    const struct node_list *nodes, struct decision *d)
{
	(void)initial;
	if (nodes->count != 2) {
		log_err("2nodelms: node %" PRIu32 " of cluster %s configured "
		    "%zu nodes, the algorithm needs exactly 2", c->node_id,
		    c->cluster->name, nodes->count);
		return QN_ERR_UNSUPPORTED_DECISION_ALGORITHM;
	}
	decision_vote(d, QN_VOTE_NO_CHANGE);
	return QN_ERR_NONE;
}

static enum qn_err
twonode_membership_list(struct member *c, const struct qn_ring_id *ring,
    const struct node_list *nodes, uint8_t heuristics, struct decision *d)
{
	judge(c, ring, nodes->count, heuristics, d);
	return QN_ERR_NONE;
}

static enum qn_err
twonode_quorum_list(struct member *c, int quorate,
    const struct node_list *nodes, struct decision *d)
{
	(void)c;
	(void)quorate;
	(void)nodes;
	decision_vote(d, QN_VOTE_NO_CHANGE);
	return QN_ERR_NONE;
}

static enum qn_err
twonode_ask_for_vote(struct member *c, struct decision *d)
{
	if (c->algo_result == 0)
		decision_vote(d, QN_VOTE_ASK_LATER);
	else
		decision_set(d, c->algo_result, "%s", c->reason);
	return QN_ERR_NONE;
}

static void
judge_stored(struct member *o, struct decision *d)
{
	judge(o, &o->ring_id, o->membership.count, o->heur_latest, d);
}

static void
push(struct member *o, const struct decision *d)
{
	algo_send_vote_info(o, ++o->vote_info_seq, d->vote, &o->ring_id,
	    d->reason);
}

static enum qn_err
twonode_heuristics_change(struct member *c, uint8_t heuristics,
    struct decision *d)
{
	algo_heuristics_changed(c, heuristics, d, judge_stored, push);
	return QN_ERR_NONE;
}

static void
twonode_disconnect(struct member *c, int server_going_down)
{
	struct member *o;
	struct decision d;
	uint8_t had;

	if (server_going_down)
		return;
	cluster_for_each(c->cluster, o) {
		/*
		 * No membership list, no decision yet; such a qdevice may
		 * still be finishing INIT, where a VOTE_INFO ends it.
		 */
		if (!o->has_membership)
			continue;
		had = vote_in_force(o);
		judge(o, &o->ring_id, o->membership.count, o->heur_latest, &d);
		if (d.vote != had)
			algo_send_vote_info(o, ++o->vote_info_seq, d.vote,
			    &o->ring_id, d.reason);
	}
}

const struct algo algo_2nodelms = {
	.id = QN_ALGO_2NODELMS,
	.name = "2 Node LMS",
	.client_init = twonode_client_init,
	.config_list = twonode_config_list,
	.membership_list = twonode_membership_list,
	.quorum_list = twonode_quorum_list,
	.ask_for_vote = twonode_ask_for_vote,
	.heuristics_change = twonode_heuristics_change,
	.disconnect = twonode_disconnect,
};
