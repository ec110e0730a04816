/*
 * The reference models the randomised runs follow: decide() of ffsplit
 * (BEHAVIOUR.md §2.2) and the judgements of lms and 2nodelms (§2.3, §2.4),
 * with the queries on the model's cluster state they share.
 */
#include <stdio.h>
#include <string.h>

#include "test_algo_model.h"

const char *
vote_str(uint8_t v)
{
	static const char *const s[] = { "UNDEF", "ACK", "NACK", "ASK_LATER",
	    "WAIT_FOR_REPLY", "NO_CHANGE" };

	return v <= 5 ? s[v] : "?";
}

const char *
heur_str(uint8_t h)
{
	return h == QN_HEUR_PASS ? "P" : h == QN_HEUR_FAIL ? "F" : "U";
}

int
index_of(const struct model *m, uint32_t id)
{
	for (int i = 0; i < m->n; i++)
		if (m->node[i].id == id)
			return i;
	return -1;
}

/* "1,3" for a mask, into buf. */
const char *
ids_str(const struct model *m, mask s, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < m->n && off < len; i++)
		if (s & (1u << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%u",
			    off ? "," : "", (unsigned)m->node[i].id);
	return buf;
}

int
is_ffsplit(const struct model *m)
{
	return m->algo == QN_ALGO_FFSPLIT;
}

int
connected(const struct model *m, int i)
{
	return m->node[i].hc != NULL;
}

/* §14.1: only a client with both lists takes part. */
int
participates(const struct model *m, int i)
{
	return connected(m, i) && m->node[i].has_config &&
	    m->node[i].has_membership;
}

mask
participants(const struct model *m)
{
	mask s = 0;

	for (int i = 0; i < m->n; i++)
		if (participates(m, i))
			s |= 1u << i;
	return s;
}

/* The reference model: decide() of BEHAVIOUR.md §2.2. */

/*
 * Stability: all connected clients configured the same set (one without a
 * config has an empty one); a member Y of X's list that is connected is in
 * X's ring and lists all of X's members.
 */
static int
m_stable(const struct model *m)
{
	int first = -1;

	for (int x = 0; x < m->n; x++) {
		const struct m_node *nx = &m->node[x];
		mask cfg = nx->has_config ? nx->cfg : 0;

		if (!connected(m, x))
			continue;
		if (first < 0)
			first = x;
		if (cfg != (m->node[first].has_config ? m->node[first].cfg : 0))
			return 0;
		for (int y = 0; y < m->n; y++) {
			const struct m_node *ny = &m->node[y];
			mask ymem = ny->has_membership ? ny->mem : 0;

			if (y == x || !connected(m, y) ||
			    !(nx->has_membership && (nx->mem & (1u << y))))
				continue;
			if (!qn_ring_id_eq(&nx->ring, &ny->ring) ||
			    (nx->mem & ~ymem) != 0)
				return 0;
		}
	}
	return 1;
}

static int
weight(uint8_t h)
{
	return h == QN_HEUR_PASS ? 1 : h == QN_HEUR_FAIL ? -1 : 0;
}

struct cand {
	mask cfg;			/* the candidate's config */
	mask members;
	int active, score, held;
};

static struct cand
m_partition(const struct model *m, mask cfg, mask members)
{
	struct cand c = { .cfg = cfg, .members = members };

	for (int i = 0; i < m->n; i++) {
		if (!(members & (1u << i)) || !participates(m, i))
			continue;
		c.active++;
		c.score += 1 + weight(m->node[i].latest);
	}
	/* D1, §14.5: does the partition hold a node of the last winner? */
	c.held = (members & m->prev_quorate) != 0;
	return c;
}

/* KAP counts only if every connected client asked for it (D2: not the
 * one leaving, which is already disconnected in the model). */
static int
m_kap(const struct model *m)
{
	for (int i = 0; i < m->n; i++)
		if (connected(m, i) && !m->node[i].kap)
			return 0;
	return 1;
}

/* The tie-breaker node, from a candidate's config list. */
static uint32_t
m_preferred(const struct model *m, mask cfg)
{
	uint32_t lo = UINT32_MAX, hi = 0;

	for (int i = 0; i < m->n; i++) {
		if (!(cfg & (1u << i)))
			continue;
		if (m->node[i].id < lo)
			lo = m->node[i].id;
		if (m->node[i].id > hi)
			hi = m->node[i].id;
	}
	return m->tb_mode == QN_TB_LOWEST ? lo :
	    m->tb_mode == QN_TB_HIGHEST ? hi : m->tb_node;
}

static int
m_has_id(const struct model *m, mask s, uint32_t id)
{
	int i = index_of(m, id);

	return i >= 0 && (s & (1u << i));
}

unsigned long rule_count[R_COUNT];
unsigned long final_count[3];	/* no winner, winner, nobody */

static int
ruled(int rule, int result)
{
	rule_count[rule]++;
	return result;
}

/* Does partition p beat best (found: whether there is one)? */
static int
m_beats(const struct model *m, const struct cand *p, int found,
    const struct cand *best)
{
	int c = popcount(p->cfg), members = popcount(p->members);

	if (c % 2 == 1 || members != c / 2)
		return ruled(members > c / 2 ? R_MAJ : R_NONE,
		    members > c / 2);
	/* 50:50; a missing best has score 0 and 0 active. */
	if (p->score != (found ? best->score : 0))
		return ruled(R_SCORE, p->score > (found ? best->score : 0));
	if (p->active != (found ? best->active : 0))
		return ruled(R_ACTIVE, p->active > (found ? best->active : 0));
	if (found && m_kap(m) && p->held != best->held)
		return ruled(R_KAP, p->held);
	return ruled(R_TB, m_has_id(m, p->members, m_preferred(m, p->cfg)));
}

/*
 * Candidates in ascending node id, each partition once (D1), through its
 * lowest participant.  Evaluating it again through a later member, as
 * 3.0.3 does, is not the same: a wrong membership can make two stable
 * partitions overlap in a node without a qdevice, and a 50:50 partition
 * looked at again after a majority partition became best may beat it on
 * score.
 */
static void
m_select(struct model *m)
{
	struct cand best = { 0 }, p;
	int seen;

	m->found = 0;
	for (int i = 0; i < m->n; i++) {
		if (!participates(m, i))
			continue;
		seen = 0;
		for (int j = 0; j < i; j++)
			if (participates(m, j) &&
			    m->node[j].mem == m->node[i].mem)
				seen = 1;
		if (seen)
			continue;
		p = m_partition(m, m->node[i].cfg, m->node[i].mem);
		if (m_beats(m, &p, m->found, &best)) {
			best = p;
			m->found = 1;
		}
	}
	m->winner = m->found ? best.members : 0;
}

/* Run the model's decide() on its updated view of the cluster. */
enum outcome
m_decide(struct model *m)
{
	mask part = participants(m), losers;
	char a[32], b[32];

	if (part == 0)
		return OUT_NONE;
	m->phase = PH_IDLE;
	if (!m_stable(m)) {
		m->last_decide_stable = 0;
		tr("    model: unstable\n");
		return OUT_UNSTABLE;
	}
	m->last_decide_stable = 1;
	m_select(m);
	m->prev_quorate = m->winner;
	losers = part & ~m->winner;
	m->ack_to = part & m->winner;
	if (losers != 0) {
		m->phase = PH_NACKS;
		m->awaiting = losers;
	}
	tr("    model: winner %s%s%s, NACK {%s}\n", m->found ? "{" : "none",
	    m->found ? ids_str(m, m->winner, a, sizeof(a)) : "",
	    m->found ? "}" : "", ids_str(m, losers, b, sizeof(b)));
	return OUT_STABLE;
}

/*
 * The reference model of lms and 2nodelms (BEHAVIOUR.md §2.3, §2.4, kept
 * D4 and D5, fixed D3 and D6 as man/corosync-qnetd.8 describes them).
 * Both answer each message from what qnetd stored, so the model predicts
 * every reply and every pushed VOTE_INFO.
 */

static mask
stored_mem(const struct model *m, int i)
{
	return m->node[i].has_membership ? m->node[i].mem : 0;
}

int
ring_eq(struct qn_ring_id a, struct qn_ring_id b)
{
	return qn_ring_id_eq(&a, &b);
}

/* A reply or VOTE_INFO reaching node i (the qdevice's side of §2.1). */
void
told(struct model *m, int i, uint8_t vote)
{
	if (vote_is_decision(vote))
		m->node[i].last_ack_nack = vote;
	if (vote != QN_VOTE_NO_CHANGE)
		m->node[i].vote = vote;
}

static uint8_t
store(struct model *m, int i, uint8_t vote)
{
	m->node[i].result = vote;
	return vote;
}

/* D5: a client never decided is refused while another ring holds ACK. */
static int
newcomer_refused(const struct model *m, int i, struct qn_ring_id r)
{
	if (m->node[i].result != 0)
		return 0;
	for (int o = 0; o < m->n; o++)
		if (connected(m, o) && !ring_eq(m->node[o].ring, r) &&
		    m->node[o].result == QN_VOTE_ACK)
			return 1;
	return 0;
}

/* Score of the partition of ring r: Σ 1 + pass − fail. */
static int
ring_score(const struct model *m, struct qn_ring_id r)
{
	int score = 0;

	for (int o = 0; o < m->n; o++)
		if (connected(m, o) && ring_eq(m->node[o].ring, r))
			score += 1 + weight(m->node[o].latest);
	return score;
}

static int
ring_nodes(const struct model *m, struct qn_ring_id r)
{
	int nodes = 0;

	for (int o = 0; o < m->n; o++)
		nodes += connected(m, o) && ring_eq(m->node[o].ring, r);
	return nodes;
}

/*
 * D3: the tie-breaker node is looked for among the clients of the
 * partitions that tie for the best score, and its whole ring wins.
 * Returns the index of the client whose ring wins, or -1.
 */
static int
lms_tie_winner(const struct model *m, int top)
{
	int t = -1, k;

	for (int o = 0; o < m->n; o++) {
		if (!connected(m, o) || m->node[o].ring.seq == 0 ||
		    ring_score(m, m->node[o].ring) != top)
			continue;
		if (m->tb_mode == QN_TB_LOWEST && t < 0)
			t = o;
		if (m->tb_mode == QN_TB_HIGHEST)
			t = o;
	}
	if (m->tb_mode != QN_TB_NODE_ID)
		return t;
	k = index_of(m, m->tb_node);
	if (k >= 0 && connected(m, k))
		return m->node[k].ring.seq != 0 &&
		    ring_score(m, m->node[k].ring) == top ? k : -1;
	/* The node runs no qdevice: a tied client that lists it. */
	for (int o = 0; o < m->n; o++)
		if (connected(m, o) && m->node[o].ring.seq != 0 &&
		    ring_score(m, m->node[o].ring) == top && k >= 0 &&
		    (stored_mem(m, o) & (1u << k)))
			return o;
	return -1;
}

/* evaluate(client i, ring r) of §2.3. */
uint8_t
lms_eval(struct model *m, int i, struct qn_ring_id r)
{
	struct qn_ring_id rings[M_MAX_NODES];
	int count = 0, top = 0, top_n = 0, big = 0, big_n = 0, w;
	int best = -1, largest = -1;
	uint32_t target;

	m->node[i].timer = 0;
	for (int o = 0; o < m->n; o++)
		if (o != i && connected(m, o) &&
		    ((stored_mem(m, i) & (1u << o)) ||
		    (stored_mem(m, o) & (1u << i))) &&
		    !ring_eq(m->node[o].ring, r))
			goto wait;
	for (int o = 0; o < m->n; o++) {
		int dup = 0;

		if (!connected(m, o) || m->node[o].ring.seq == 0)
			continue;
		for (int k = 0; k < count; k++)
			dup |= ring_eq(rings[k], m->node[o].ring);
		if (!dup)
			rings[count++] = m->node[o].ring;
	}
	if (count == 0)
		goto wait;
	if (count == 1)
		return store(m, i, QN_VOTE_ACK);
	if (newcomer_refused(m, i, r))
		return QN_VOTE_NACK;
	for (int k = 0; k < count; k++) {
		int sc = ring_score(m, rings[k]), nd = ring_nodes(m, rings[k]);

		if (best < 0 || sc > top) {
			top = sc;
			top_n = 0;
			best = k;
		}
		top_n += sc == top;
		if (largest < 0 || nd > big) {
			big = nd;
			big_n = 0;
			largest = k;
		}
		big_n += nd == big;
	}
	if (top_n == 1)
		return store(m, i, ring_eq(r, rings[best]) ? QN_VOTE_ACK :
		    QN_VOTE_NACK);
	if (big_n == 1)
		return store(m, i, ring_eq(r, rings[largest]) ? QN_VOTE_ACK :
		    QN_VOTE_NACK);
	w = lms_tie_winner(m, top);
	if (w < 0)
		return store(m, i, QN_VOTE_NACK);
	/* The target node: the configured one, or the one chosen. */
	target = m->tb_mode == QN_TB_NODE_ID ? m->tb_node : m->node[w].id;
	return store(m, i, m->node[i].id == target ||
	    ring_eq(r, m->node[w].ring) ? QN_VOTE_ACK : QN_VOTE_NACK);
wait:
	m->node[i].timer = 1;
	return store(m, i, QN_VOTE_WAIT_FOR_REPLY);
}

static int
rank(uint8_t h)
{
	return h == QN_HEUR_FAIL ? 0 : h == QN_HEUR_PASS ? 2 : 1;
}

/* Rules 1-5 of §2.4 for node i in ring r. */
uint8_t
two_judge(struct model *m, int i, struct qn_ring_id r, int members,
    uint8_t heur)
{
	int clients = 0, other = -1, lo = -1, hi = -1, w = -1;

	if (newcomer_refused(m, i, r))
		return QN_VOTE_NACK;
	for (int o = 0; o < m->n; o++) {
		if (!connected(m, o))
			continue;
		clients++;
		if (o != i)
			other = o;
		if (lo < 0)
			lo = o;
		hi = o;
		if (m->node[o].id == m->tb_node)
			w = o;
	}
	if (members == 2 || clients == 1)
		return store(m, i, QN_VOTE_ACK);
	if (rank(heur) != rank(m->node[other].latest))
		return store(m, i, rank(heur) > rank(m->node[other].latest) ?
		    QN_VOTE_ACK : QN_VOTE_NACK);
	if (m->tb_mode != QN_TB_NODE_ID)
		w = m->tb_mode == QN_TB_LOWEST ? lo : hi;
	return store(m, i, w == i ? QN_VOTE_ACK : QN_VOTE_NACK);
}
