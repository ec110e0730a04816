/*
 * lms, last man standing (BEHAVIOUR.md §2.3, PROTOCOL.md §8.4): a
 * partition is the set of connected clients that report the same ring id;
 * the partition with the best heuristics score, else the most nodes, else
 * the one holding the tie-breaker node gets the vote.  A client whose
 * partition members have not all reported its ring yet waits (HB/4 timer).
 *
 * As in 3.0.3, evaluation reads the sender's stored ring id and membership
 * (D4) and a newcomer is refused while another partition holds the vote
 * (D5).  Deliberate differences:
 * - D3: the tie-breaker node is chosen among the clients of the partitions
 *   that tie for the best score (no id cap) and its whole partition wins;
 *   in node-id mode that is the partition of the node's client or, if it
 *   runs none, of the clients whose stored membership lists it; no such
 *   partition → nobody wins the tie.
 * - D6: when a client leaves, every remaining client is evaluated again and
 *   told by VOTE_INFO if its vote changes.
 * - Heuristics (upstream #14): a HEURISTICS_CHANGE changes the scores, so
 *   every client, the sender included, is evaluated again and told by
 *   VOTE_INFO if its vote changes (algo_heuristics_changed); 3.0.3 uses
 *   the result only in later evaluations.
 */
#include <inttypes.h>
#include <limits.h>

#include "algo.h"
#include "log.h"
#include "names.h"

/* The best value among the partitions, and whether another has it too. */
struct top {
	int value;
	int runner_up;		/* best value of the others */
	const struct qn_ring_id *ring;
	int unique;
};

struct partitions {
	int count;
	struct top score;	/* Σ 1 + (pass) − (fail) */
	struct top nodes;
	int heuristics;		/* some client passes or fails */
};

static void
tally(struct top *t, int first, int value, const struct qn_ring_id *ring)
{
	if (first || value > t->value) {
		t->runner_up = first ? INT_MIN : t->value;
		t->value = value;
		t->ring = ring;
		t->unique = 1;
		return;
	}
	if (value == t->value)
		t->unique = 0;
	if (value > t->runner_up)
		t->runner_up = value;
}

static int
heuristics_weight(uint8_t h)
{
	return h == QN_HEUR_PASS ? 1 : h == QN_HEUR_FAIL ? -1 : 0;
}

static int
first_in_ring(const struct cluster *cl, const struct member *c)
{
	const struct member *p;

	for (p = cluster_first(cl); p != c; p = cluster_next(p))
		if (qn_ring_id_eq(&p->ring_id, &c->ring_id))
			return 0;
	return 1;
}

/* Group the connected clients by stored ring id (seq 0 is no ring). */
static void
count_partitions(const struct cluster *cl, struct partitions *p)
{
	const struct member *c, *o;

	*p = (struct partitions){ 0 };
	cluster_for_each(cl, c) {
		int nodes = 0, score = 0;

		if (c->ring_id.seq == 0 || !first_in_ring(cl, c))
			continue;
		for (o = c; o != NULL; o = cluster_next(o)) {
			if (!qn_ring_id_eq(&o->ring_id, &c->ring_id))
				continue;
			nodes++;
			score += 1 + heuristics_weight(o->heur_latest);
			p->heuristics |= o->heur_latest != QN_HEUR_UNDEFINED;
		}
		tally(&p->score, p->count == 0, score, &c->ring_id);
		tally(&p->nodes, p->count == 0, nodes, &c->ring_id);
		p->count++;
	}
}

/*
 * Ring-id agreement: every other client in c's partition, by either one's
 * stored membership list, already reports ring.
 */
static int
rings_agree(const struct member *c, const struct qn_ring_id *ring)
{
	const struct member *o;

	cluster_for_each(c->cluster, o) {
		if (o == c)
			continue;
		if ((node_list_has(&c->membership, o->node_id) ||
		    node_list_has(&o->membership, c->node_id)) &&
		    !qn_ring_id_eq(&o->ring_id, ring))
			return 0;
	}
	return 1;
}

static int
partition_score(const struct cluster *cl, const struct qn_ring_id *ring)
{
	const struct member *o;
	int score = 0;

	cluster_for_each(cl, o)
		if (qn_ring_id_eq(&o->ring_id, ring))
			score += 1 + heuristics_weight(o->heur_latest);
	return score;
}

/* A client of one of the partitions that tie for the best score. */
static int
in_tie(const struct member *q, int top)
{
	return q->ring_id.seq != 0 &&
	    partition_score(q->cluster, &q->ring_id) == top;
}

/*
 * The ring id of the tied partition that holds the tie-breaker node, NULL
 * if none does (D3: a whole partition wins the tie, and only a partition
 * that ties for the best score can win it).  *node is that node.
 */
static const struct qn_ring_id *
tie_breaker_ring(const struct member *c, int top, uint32_t *node)
{
	const struct cluster *cl = c->cluster;
	const struct member *q, *t = NULL;

	*node = c->tie_breaker.node_id;
	cluster_for_each(cl, q) {
		if (!in_tie(q, top))
			continue;
		switch (c->tie_breaker.mode) {
		case QN_TB_LOWEST:
			if (t == NULL)
				t = q;
			break;
		case QN_TB_HIGHEST:
			t = q;
			break;
		default:
			/* The node itself, or a member of its partition
			 * when the node does not run qdevice. */
			if (q->node_id == *node)
				return &q->ring_id;
			if (t == NULL && cluster_member(cl, *node) == NULL &&
			    node_list_has(&q->membership, *node))
				t = q;
			break;
		}
	}
	if (t == NULL)
		return NULL;
	if (c->tie_breaker.mode != QN_TB_NODE_ID)
		*node = t->node_id;
	return &t->ring_id;
}

static void
break_tie(const struct member *c, const struct qn_ring_id *ring,
    const struct partitions *p, struct decision *d)
{
	const struct qn_ring_id *winner;
	char r[RING_STR_LEN];
	uint32_t node;

	if ((winner = tie_breaker_ring(c, p->score.value, &node)) == NULL) {
		decision_set(d, QN_VOTE_NACK, "lms: tie (score %d, size %d) "
		    "and tie-breaker node %" PRIu32 " is in no partition",
		    p->score.value, p->nodes.value, node);
		return;
	}
	decision_set(d, c->node_id == node || qn_ring_id_eq(ring, winner) ?
	    QN_VOTE_ACK : QN_VOTE_NACK, "lms: tie (score %d, size %d), "
	    "tie-breaker %s%snode %" PRIu32 " is in ring %s", p->score.value,
	    p->nodes.value, c->tie_breaker.mode == QN_TB_NODE_ID ? "" :
	    tb_mode_id(c->tie_breaker.mode),
	    c->tie_breaker.mode == QN_TB_NODE_ID ? "" : " ", node,
	    ring_str(r, sizeof(r), winner));
}

static void
wait_for_rings(struct member *c, struct decision *d)
{
	algo_timer_start(c, c->heartbeat_interval / 4);
	c->algo_result = QN_VOTE_WAIT_FOR_REPLY;
	decision_vote(d, QN_VOTE_WAIT_FOR_REPLY);
}

/* evaluate(client, R) of BEHAVIOUR.md §2.3. */
static void
evaluate(struct member *c, const struct qn_ring_id *ring, struct decision *d)
{
	const struct member *holder;
	struct partitions p;
	char r[RING_STR_LEN];

	algo_timer_stop(c);
	if (!rings_agree(c, ring)) {
		wait_for_rings(c, d);
		return;
	}
	count_partitions(c->cluster, &p);
	if (p.count == 0) {
		wait_for_rings(c, d);
		return;
	}
	if (p.count == 1) {
		decision_set(d, QN_VOTE_ACK, "lms: only partition");
	} else if (c->algo_result == 0 &&
	    (holder = ack_holder_outside(c->cluster, ring)) != NULL) {
		/* Not stored: refused again while the other holds the vote. */
		decision_set(d, QN_VOTE_NACK, "newcomer: node %" PRIu32 " of "
		    "another partition already holds the vote",
		    holder->node_id);
		return;
	} else if (p.score.unique) {
		/* Without heuristics the score is the node count. */
		decision_set(d, qn_ring_id_eq(ring, p.score.ring) ?
		    QN_VOTE_ACK : QN_VOTE_NACK, "lms: partition of ring %s "
		    "has %s (%d vs %d)", ring_str(r, sizeof(r), p.score.ring),
		    p.heuristics ? "the highest heuristics score" :
		    "most nodes", p.score.value, p.score.runner_up);
	} else if (p.nodes.unique) {
		decision_set(d, qn_ring_id_eq(ring, p.nodes.ring) ?
		    QN_VOTE_ACK : QN_VOTE_NACK, "lms: partition of ring %s "
		    "has most nodes (%d vs %d)",
		    ring_str(r, sizeof(r), p.nodes.ring), p.nodes.value,
		    p.nodes.runner_up);
	} else {
		break_tie(c, ring, &p, d);
	}
	c->algo_result = d->vote;
	if (d->vote == QN_VOTE_ACK)
		algo_remember_ack(c, ring);
}

static void
push(struct member *c, const struct decision *d)
{
	algo_send_vote_info(c, ++c->timer_vote_info_seq, d->vote, &c->ring_id,
	    d->reason);
}

static enum qn_err
lms_client_init(struct member *c)
{
	c->algo_result = 0;
	return QN_ERR_NONE;
}

static enum qn_err
lms_config_list(struct member *c, int initial, const struct node_list *nodes,
    struct decision *d)
{
	(void)c;
	(void)initial;
	(void)nodes;
	decision_vote(d, QN_VOTE_NO_CHANGE);
	return QN_ERR_NONE;
}

static enum qn_err
lms_membership_list(struct member *c, const struct qn_ring_id *ring,
    const struct node_list *nodes, uint8_t heuristics, struct decision *d)
{
	(void)nodes;
	(void)heuristics;
	evaluate(c, ring, d);
	return QN_ERR_NONE;
}

static enum qn_err
lms_quorum_list(struct member *c, int quorate, const struct node_list *nodes,
    struct decision *d)
{
	(void)quorate;
	(void)nodes;
	evaluate(c, &c->ring_id, d);
	return QN_ERR_NONE;
}

static enum qn_err
lms_ask_for_vote(struct member *c, struct decision *d)
{
	evaluate(c, &c->ring_id, d);
	return QN_ERR_NONE;
}

static void
lms_timer(struct member *c)
{
	struct decision d;

	evaluate(c, &c->ring_id, &d);
	if (vote_is_decision(d.vote))
		push(c, &d);
}

static void
judge_stored(struct member *o, struct decision *d)
{
	evaluate(o, &o->ring_id, d);
}

static enum qn_err
lms_heuristics_change(struct member *c, uint8_t heuristics,
    struct decision *d)
{
	algo_heuristics_changed(c, heuristics, d, judge_stored, push);
	return QN_ERR_NONE;
}

static void
lms_disconnect(struct member *c, int server_going_down)
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
		evaluate(o, &o->ring_id, &d);
		if (vote_is_decision(d.vote) && d.vote != had)
			push(o, &d);
	}
}

const struct algo algo_lms = {
	.id = QN_ALGO_LMS,
	.name = "LMS",
	.client_init = lms_client_init,
	.config_list = lms_config_list,
	.membership_list = lms_membership_list,
	.quorum_list = lms_quorum_list,
	.ask_for_vote = lms_ask_for_vote,
	.heuristics_change = lms_heuristics_change,
	.timer = lms_timer,
	.disconnect = lms_disconnect,
};
