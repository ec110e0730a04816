/*
 * ffsplit, "fifty-fifty split" (BEHAVIOUR.md §2.2, PROTOCOL.md §8.2): once
 * every client agrees on the membership, at most one partition gets the
 * vote: a majority of the configured nodes, or in a 50:50 split the better
 * one by heuristics score, active clients, keep-active-partition and the
 * tie-breaker.  Votes are delivered NACK-first: the losers acknowledge their
 * NACK before the winners are sent ACK.
 *
 * Deliberate differences from 3.0.3:
 * - D1: a decision reads one consistent view of the cluster (every client's
 *   stored lists, ring id and heuristics, with the trigger's new values in
 *   place of its stored ones) and evaluates each partition once, so the
 *   result never depends on which member a partition is looked at through.
 *   For the same reason keep-active-partition asks whether a partition holds
 *   a node of the previous quorate partition rather than whether the
 *   candidate client is one.
 * - D2: a leaving client is out of its cluster before the re-decision its
 *   disconnect triggers: no candidate, not active, not in the stability
 *   test, its keep-active-partition flag no longer counts.
 * - §14.1: a client that has not stored both a config and a membership list
 *   takes part in no partition and is sent no vote (its lists read as
 *   empty in the stability test, as in 3.0.3); when no client of the
 *   cluster has both lists there is nothing to decide.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "algo.h"
#include "ffsplit_view.h"
#include "log.h"
#include "names.h"

enum cluster_state {
	WAITING_FOR_CHANGE = 0,
	WAITING_FOR_STABLE_MEMBERSHIP,
	SENDING_NACKS,
	SENDING_ACKS
};

/*
 * A client is marked by a decision, then sent its vote.  Only a reply to
 * the vote its mark is about clears the mark: a client re-marked for ACK
 * while its NACK of an earlier decision is unanswered must not lose the
 * ACK when that NACK is acknowledged.
 */
enum client_state {
	IDLE = 0,
	MUST_GET_NACK,
	MUST_GET_ACK,
	NACK_SENT,
	ACK_SENT
};

struct partition {
	const struct member *leader;	/* lowest participating member */
	const struct node_list *members;
	size_t configured;		/* configured nodes (= votes) */
	int active;			/* participating clients in it */
	int score;			/* active + pass - fail */
	int held_vote;			/* has a node of the last winner */
};

/*
 * Each partition is evaluated once, through its first participant: in a
 * stable membership the participants listed in P's membership have P's list.
 */
static int
leads_partition(const struct view *v, const struct member *p)
{
	const struct node_list *m = membership_of(v, p);
	const struct member *q;

	for (q = cluster_first(v->cl); q != p; q = cluster_next(q))
		if (participates(v, q) && node_list_has(m, q->node_id))
			return 0;
	return 1;
}

static int
heuristics_weight(uint8_t h)
{
	return h == QN_HEUR_PASS ? 1 : h == QN_HEUR_FAIL ? -1 : 0;
}

static void
partition_of(const struct view *v, const struct member *leader,
    struct partition *p)
{
	const struct member *q;

	*p = (struct partition){
		.leader = leader,
		.members = membership_of(v, leader),
		.configured = config_of(v, leader)->count,
	};
	cluster_for_each(v->cl, q) {
		if (!participates(v, q) ||
		    !node_list_has(p->members, q->node_id))
			continue;
		p->active++;
		p->score += 1 + heuristics_weight(heuristics_of(v, q));
	}
	p->held_vote = node_list_intersects(p->members, &v->cl->prev_quorate);
}

/* Keep-active-partition applies only if every client asked for it. */
static int
kap_enabled(const struct cluster *cl)
{
	const struct member *c;

	cluster_for_each(cl, c)
		if (!c->kap)
			return 0;
	return 1;
}

/* Lowest or highest configured node, or the configured tie-breaker id. */
static uint32_t
preferred_node(const struct view *v, const struct partition *p)
{
	const struct qn_tie_breaker *tb = &p->leader->tie_breaker;
	const struct node_list *config = config_of(v, p->leader);
	uint32_t id, n;

	if (tb->mode == QN_TB_NODE_ID)
		return tb->node_id;
	id = config->nodes[0].node_id;
	for (size_t i = 1; i < config->count; i++) {
		n = config->nodes[i].node_id;
		if (tb->mode == QN_TB_HIGHEST ? n > id : n < id)
			id = n;
	}
	return id;
}

/* Why the selected partition won. */
enum rule {
	RULE_NONE,		/* no majority, not half: cannot win */
	RULE_MAJORITY,
	RULE_ONLY_HALF,
	RULE_SCORE,
	RULE_ACTIVE,
	RULE_KAP,
	RULE_TIE_BREAKER
};

/*
 * Does p beat best (NULL: none yet)?  Returns the rule that decided and
 * sets *wins; RULE_NONE means p was not compared at all.
 */
static enum rule
beats(const struct view *v, const struct partition *p,
    const struct partition *best, int *wins)
{
	size_t half = p->configured / 2, m = p->members->count;

	*wins = 1;
	if (p->configured % 2 == 1 || m != half)
		return m > half ? RULE_MAJORITY : RULE_NONE;
	/*
	 * 50:50.  3.0.3 gives a missing best score 0 and 0 active; p counts
	 * itself as active, so it always beats that.
	 */
	if (best == NULL)
		return RULE_ONLY_HALF;
	if (p->score != best->score) {
		*wins = p->score > best->score;
		return RULE_SCORE;
	}
	if (p->active != best->active) {
		*wins = p->active > best->active;
		return RULE_ACTIVE;
	}
	if (kap_enabled(v->cl) && p->held_vote != best->held_vote) {
		*wins = p->held_vote;
		return RULE_KAP;
	}
	*wins = node_list_has(p->members, preferred_node(v, p));
	return RULE_TIE_BREAKER;
}

struct selection {
	int found;
	struct partition winner;
	enum rule rule;
	struct partition rival;		/* what the rule was applied to */
};

/* Partition selection: candidates in ascending node id. */
static void
select_partition(const struct view *v, struct selection *s)
{
	const struct member *c;
	struct partition p;
	enum rule r;
	int wins;

	*s = (struct selection){ 0 };
	cluster_for_each(v->cl, c) {
		if (!participates(v, c) || !leads_partition(v, c))
			continue;
		partition_of(v, c, &p);
		r = beats(v, &p, s->found ? &s->winner : NULL, &wins);
		if (r == RULE_NONE)
			continue;
		if (wins) {
			s->rival = s->winner;
			s->winner = p;
			s->found = 1;
		} else {
			s->rival = p;
		}
		s->rule = r;
	}
}

/* Why the winner won, after prefix. */
static void
describe_winner(const struct view *v, const struct selection *s,
    const char *prefix, char *out, size_t len)
{
	const struct partition *w = &s->winner;
	char set[NODE_SET_LEN];
	uint32_t pref;

	node_set_str(set, sizeof(set), w->members);
	switch (s->rule) {
	case RULE_MAJORITY:
		snprintf(out, len, "%spartition %s has %zu of %zu configured "
		    "votes", prefix, set, w->members->count, w->configured);
		break;
	case RULE_ONLY_HALF:
		snprintf(out, len, "%s50:50 split: partition %s is the only "
		    "one with half of %zu configured votes", prefix, set,
		    w->configured);
		break;
	case RULE_SCORE:
	case RULE_ACTIVE:
		/* Without heuristics the score is the active client count. */
		if (s->rule == RULE_SCORE && (w->score != w->active ||
		    s->rival.score != s->rival.active))
			snprintf(out, len, "%s50:50 split: partition %s has "
			    "the higher heuristics score (%d vs %d)", prefix,
			    set, w->score, s->rival.score);
		else
			snprintf(out, len, "%s50:50 split: partition %s has "
			    "more active clients (%d vs %d)", prefix, set,
			    w->active, s->rival.active);
		break;
	case RULE_KAP:
		snprintf(out, len, "%skeep-active-partition: %s was the "
		    "quorate partition", prefix, set);
		break;
	default:
		pref = preferred_node(v, w);
		if (!node_list_has(w->members, pref))
			snprintf(out, len, "%s50:50 split: tie-breaker node %"
			    PRIu32 " is in no partition, %s kept as the first",
			    prefix, pref, set);
		else if (w->leader->tie_breaker.mode == QN_TB_NODE_ID)
			snprintf(out, len, "%s50:50 split: partition %s holds "
			    "tie-breaker node %" PRIu32, prefix, set, pref);
		else
			snprintf(out, len, "%s50:50 split: partition %s holds "
			    "node %" PRIu32 ", tie-breaker %s", prefix, set,
			    pref, tb_mode_id(w->leader->tie_breaker.mode));
		break;
	}
}

static const struct member *
first_participant(const struct view *v)
{
	const struct member *c;

	cluster_for_each(v->cl, c)
		if (participates(v, c))
			return c;
	return NULL;
}

/* The ACK reason goes to the cluster: ACKs may be sent only later. */
static void
explain(const struct view *v, const struct selection *s,
    const struct member *first, char *nack, size_t len)
{
	static const char prefix[] = "not in the winning partition; ";
	struct cluster *cl = v->cl;
	size_t configured = config_of(v, first)->count, plen, alen;

	if (!s->found) {
		cl->ack_reason[0] = '\0';
		snprintf(nack, len, "no partition has %s of %zu configured "
		    "votes", configured % 2 ? "a majority" : "half or more",
		    configured);
		return;
	}
	/*
	 * The NACK reason is the ACK reason after a prefix: formatted once
	 * (a storm decides for every cluster at once).  Truncation is the
	 * same: the prefix is shorter than the ACK reason's buffer.
	 */
	describe_winner(v, s, "", cl->ack_reason, sizeof(cl->ack_reason));
	plen = strlen(prefix);
	alen = strnlen(cl->ack_reason, sizeof(cl->ack_reason));
	if (plen + alen >= len)
		alen = len - 1 - plen;
	memcpy(nack, prefix, plen);
	memcpy(nack + plen, cl->ack_reason, alen);
	nack[plen + alen] = '\0';
}

/*
 * prev_quorate := the winner (or nothing), kept in the decision memory.
 * While a remembered tie is held, a decision without a winner keeps the
 * remembered partition: it is what the hold waits for.
 */
static void
remember_quorate_partition(const struct view *v, const struct member *first,
    const struct selection *s)
{
	struct cluster *cl = v->cl;
	const struct node_list *winner = s->found ? s->winner.members : NULL;

	if (winner == NULL) {
		if (cl->hold_until != 0 && algo_now(first) < cl->hold_until)
			return;
		node_list_free(&cl->prev_quorate);
		algo_remember(first, NULL, ring_of(v, first));
		return;
	}
	cl->hold_until = 0;
	if (node_list_set(&cl->prev_quorate, winner->nodes,
	    winner->count) != 0) {
		log_err("ffsplit: cluster %s: out of memory, keep-active-"
		    "partition forgets the quorate partition", cl->name);
		node_list_free(&cl->prev_quorate);
	}
	algo_remember(first, winner, ring_of(v, s->winner.leader));
}

static void
mark_clients(const struct view *v, const struct node_list *winner)
{
	struct member *c;

	cluster_for_each(v->cl, c)
		if (participates(v, c))
			c->algo_state = winner != NULL &&
			    node_list_has(winner, c->node_id) ?
			    MUST_GET_ACK : MUST_GET_NACK;
}

/* VOTE_INFO to every client marked for vote; returns how many were sent. */
static int
send_votes(const struct view *v, uint8_t vote, const char *reason)
{
	uint8_t mark = vote == QN_VOTE_ACK ? MUST_GET_ACK : MUST_GET_NACK;
	struct member *c;
	int n = 0;

	cluster_for_each(v->cl, c) {
		if (c->algo_state != mark)
			continue;
		algo_send_vote_info(c, ++c->vote_info_seq, vote, ring_of(v, c),
		    reason);
		c->algo_state = vote == QN_VOTE_ACK ? ACK_SENT : NACK_SENT;
		n++;
	}
	return n;
}

static void
send_acks(const struct view *v)
{
	v->cl->algo_state = send_votes(v, QN_VOTE_ACK, v->cl->ack_reason) > 0 ?
	    SENDING_ACKS : WAITING_FOR_CHANGE;
}

/*
 * Keep-active-partition across the clients' absence: the cluster came back
 * (after a restart of this qnetd, or after all its clients were gone) with
 * a remembered quorate partition.  A 50:50 tie that would go to a
 * partition holding none of its nodes, only because that partition is the
 * only one with half the votes or by the tie-breaker, is held for it, up
 * to hold_until: everybody is told NACK, and the timer decides again then.
 * A majority, the score and the active clients decide as ever; so does a
 * cluster without keep-active-partition, whose ties never depended on
 * what came before.
 */
static int
hold_tie(const struct view *v, const struct selection *s,
    const struct member *first)
{
	struct cluster *cl = v->cl;
	char set[NODE_SET_LEN], nack[DECISION_REASON_LEN];
	uint64_t now;

	if (cl->hold_until == 0 || !s->found || s->winner.held_vote ||
	    (s->rule != RULE_ONLY_HALF && s->rule != RULE_TIE_BREAKER) ||
	    cl->prev_quorate.count == 0 || !kap_enabled(cl))
		return 0;
	now = algo_now(first);
	if (now >= cl->hold_until) {
		cl->hold_until = 0;
		return 0;
	}
	node_set_str(set, sizeof(set), &cl->prev_quorate);
	snprintf(nack, sizeof(nack), "holding the tie for partition %s, "
	    "which held the vote before %s, for up to %" PRIu64 " s", set,
	    cl->hold_restart ? "the restart" : "its clients disconnected",
	    (cl->hold_until - now + 999) / 1000);
	cl->ack_reason[0] = '\0';
	mark_clients(v, NULL);
	cl->algo_state = SENDING_NACKS;
	if (send_votes(v, QN_VOTE_NACK, nack) == 0)
		send_acks(v);
	algo_timer_start((struct member *)first,
	    (uint32_t)(cl->hold_until - now));
	return 1;
}

static int
any_client_in(const struct cluster *cl, uint8_t state)
{
	const struct member *c;

	cluster_for_each(cl, c)
		if (c->algo_state == state)
			return 1;
	return 0;
}

/*
 * decide() of BEHAVIOUR.md §2.2.  d is the trigger's reply, NULL when a
 * client left (then there may be nobody left to decide for).
 */
static void
decide(const struct view *v, struct decision *d)
{
	const struct member *first = first_participant(v);
	const struct node_list *winner;
	char nack[DECISION_REASON_LEN];
	struct selection s;

	if (first == NULL)
		return;
	v->cl->algo_state = WAITING_FOR_STABLE_MEMBERSHIP;
	if (!ffsplit_membership_is_stable(v)) {
		if (d != NULL)
			decision_vote(d, QN_VOTE_WAIT_FOR_REPLY);
		return;
	}
	select_partition(v, &s);
	if (hold_tie(v, &s, first)) {
		if (d != NULL)
			decision_vote(d, QN_VOTE_NO_CHANGE);
		return;
	}
	winner = s.found ? s.winner.members : NULL;
	explain(v, &s, first, nack, sizeof(nack));
	remember_quorate_partition(v, first, &s);
	mark_clients(v, winner);
	v->cl->algo_state = SENDING_NACKS;
	if (send_votes(v, QN_VOTE_NACK, nack) == 0)
		send_acks(v);
	/* The trigger's own VOTE_INFO, if any, went out before this reply. */
	if (d != NULL)
		decision_vote(d, QN_VOTE_NO_CHANGE);
}

static enum qn_err
ffsplit_client_init(struct member *c)
{
	c->algo_state = IDLE;
	return QN_ERR_NONE;
}

static enum qn_err
ffsplit_config_list(struct member *c, int initial,
    const struct node_list *nodes, struct decision *d)
{
	struct view v;

	if (nodes->count == 0 || !node_list_has(nodes, c->node_id))
		return QN_ERR_INVALID_CONFIG_NODE_LIST;
	if (initial || !c->has_membership) {
		decision_vote(d, QN_VOTE_ASK_LATER);
		return QN_ERR_NONE;
	}
	v = view_for(c);
	v.config = nodes;
	decide(&v, d);
	return QN_ERR_NONE;
}

static enum qn_err
ffsplit_membership_list(struct member *c, const struct qn_ring_id *ring,
    const struct node_list *nodes, uint8_t heuristics, struct decision *d)
{
	struct view v;

	if (nodes->count == 0 || !node_list_has(nodes, c->node_id))
		return QN_ERR_INVALID_MEMBERSHIP_NODE_LIST;
	if (!c->has_config) {
		decision_vote(d, QN_VOTE_ASK_LATER);
		return QN_ERR_NONE;
	}
	v = view_for(c);
	v.membership = nodes;
	v.ring = ring;
	v.heuristics = heuristics;
	decide(&v, d);
	return QN_ERR_NONE;
}

static enum qn_err
ffsplit_quorum_list(struct member *c, int quorate,
    const struct node_list *nodes, struct decision *d)
{
	(void)c;
	(void)quorate;
	(void)nodes;
	decision_vote(d, QN_VOTE_NO_CHANGE);
	return QN_ERR_NONE;
}

static enum qn_err
ffsplit_ask_for_vote(struct member *c, struct decision *d)
{
	(void)c;
	(void)d;
	return QN_ERR_UNSUPPORTED_DECISION_ALGORITHM_MESSAGE;
}

static enum qn_err
ffsplit_vote_info_reply(struct member *c, uint32_t seq)
{
	struct view v = { .cl = c->cluster };

	if (seq != c->vote_info_seq) {
		log_debug("ffsplit: node %" PRIu32 " answered vote info %"
		    PRIu32 ", expected %" PRIu32 ": stale, ignored",
		    c->node_id, seq, c->vote_info_seq);
		return QN_ERR_NONE;
	}
	if (c->algo_state == NACK_SENT || c->algo_state == ACK_SENT)
		c->algo_state = IDLE;
	if (v.cl->algo_state == SENDING_NACKS &&
	    !any_client_in(v.cl, NACK_SENT))
		send_acks(&v);
	else if (v.cl->algo_state == SENDING_ACKS &&
	    !any_client_in(v.cl, ACK_SENT))
		v.cl->algo_state = WAITING_FOR_CHANGE;
	return QN_ERR_NONE;
}

static enum qn_err
ffsplit_heuristics_change(struct member *c, uint8_t heuristics,
    struct decision *d)
{
	struct view v;

	if (!c->has_config || !c->has_membership) {
		decision_vote(d, QN_VOTE_ASK_LATER);
		return QN_ERR_NONE;
	}
	v = view_for(c);
	v.heuristics = heuristics;
	decide(&v, d);
	return QN_ERR_NONE;
}

/* A held tie's time is up (hold_tie). */
static void
ffsplit_timer(struct member *c)
{
	struct view v = { .cl = c->cluster };

	/* Unless a decision ended the hold meanwhile. */
	if (v.cl != NULL && v.cl->hold_until != 0)
		decide(&v, NULL);
}

static void
ffsplit_disconnect(struct member *c, int server_going_down)
{
	struct view v = { .cl = c->cluster };

	if (!server_going_down)
		decide(&v, NULL);
}

const struct algo algo_ffsplit = {
	.id = QN_ALGO_FFSPLIT,
	.name = "Fifty-Fifty split",
	.client_init = ffsplit_client_init,
	.config_list = ffsplit_config_list,
	.membership_list = ffsplit_membership_list,
	.quorum_list = ffsplit_quorum_list,
	.ask_for_vote = ffsplit_ask_for_vote,
	.vote_info_reply = ffsplit_vote_info_reply,
	.heuristics_change = ffsplit_heuristics_change,
	.disconnect = ffsplit_disconnect,
	.timer = ffsplit_timer,
};
