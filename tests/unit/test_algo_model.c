/*
 * Randomised model tests of ffsplit, lms and 2nodelms.  Each run draws a
 * cluster of 2-6 configured nodes (2 for 2nodelms), a tie-breaker,
 * keep-active-partition flags and heuristics, then plays a random
 * interleaving of qdevices connecting (INIT, config list, membership),
 * leaving, reporting true or transiently wrong memberships as the cluster
 * splits and merges, changing heuristics, keep-active-partition and (ffsplit)
 * the configuration, sending lists qnetd refuses, and answering VOTE_INFOs
 * late and in any order across clients (in order per client, sometimes not).
 *
 * ffsplit: a small reference model written from BEHAVIOUR.md §2.2 with the
 * fixes D1, D2 and §14.1 (qnetd/algo/ffsplit.c, man/corosync-qnetd.8)
 * follows the same messages; the runs check
 * - after every step, the NACK-first safety invariant (see check_safety);
 * - after every decision, its reply, that exactly its losers got NACK, or
 *   with no loser its winners got ACK, and that ACKs follow the answer of
 *   the last loser and nothing else does;
 * - at quiescence (every connected qdevice reports the configuration and
 *   its true membership, all VOTE_INFOs answered, timers fired) that every
 *   qdevice acts on the vote the model computed.
 * lms and 2nodelms: see the reference model's section below.
 *
 * Runs use fixed seeds.  On failure the seed and the step trace are
 * printed; MODEL_SEED=n replays one seed with its trace, MODEL_RUNS=n
 * changes how many seeds each loop iteration tries, MODEL_STEPS=n the most
 * random steps of a run (default 80, at least 21), MODEL_STATS=1 prints
 * how often each ffsplit rule decided.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "test_algo.h"

#define M_MAX_NODES	6
#define M_RUNS		400	/* seeds per loop iteration */
#define M_LOOPS		8

/* splitmix64: the same sequence on every platform. */
struct rng {
	uint64_t s;
};

static uint32_t
rnd(struct rng *r, uint32_t n)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return n == 0 ? 0 : (uint32_t)(z % n);
}

static int
chance(struct rng *r, uint32_t percent)
{
	return rnd(r, 100) < percent;
}

/*
 * Step trace, printed when a run fails.  A failed harness assertion ends
 * the forked test process at once (_exit), so the trace lives in memory
 * shared with the parent, which prints a run that never finished (see
 * show_interrupted_run).
 */
struct m_trace {
	char buf[32768];
	size_t len;
	uint64_t seed;
	int running;
	int verbose;
};
static struct m_trace trace_local, *trace = &trace_local;

static void
tr(const char *fmt, ...)
{
	va_list ap;
	int n;

	if (trace->len >= sizeof(trace->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(trace->buf + trace->len, sizeof(trace->buf) - trace->len,
	    fmt, ap);
	va_end(ap);
	if (n > 0)
		trace->len += (size_t)n;
	if (trace->len > sizeof(trace->buf) - 1)
		trace->len = sizeof(trace->buf) - 1;
}

static void
print_trace(void)
{
	fprintf(stderr, "model run failed: seed %llu (replay: MODEL_SEED=%llu)"
	    "\n%s\n", (unsigned long long)trace->seed,
	    (unsigned long long)trace->seed, trace->buf);
}

/* A run that started and neither passed nor reported its failure. */
static void
show_interrupted_run(void)
{
	if (trace->running) {
		trace->running = 0;
		print_trace();
	}
}

#define M_FAIL(...) do {						\
	trace->running = 0;						\
	tr("FAILED: ");							\
	tr(__VA_ARGS__);						\
	print_trace();							\
	ck_abort_msg("seed %llu: see the trace on stderr",		\
	    (unsigned long long)trace->seed);				\
} while (0)

#define M_CHECK(cond, ...) do {						\
	if (!(cond))							\
		M_FAIL(__VA_ARGS__);					\
} while (0)

/* Node sets are bit masks over the configured nodes' indices. */
typedef unsigned mask;

static int
popcount(mask m)
{
	return __builtin_popcount(m);
}

/* One configured node, its qdevice and what qnetd stored from it. */
struct m_node {
	uint32_t id;
	int group;			/* its partition in the real cluster */
	uint8_t heur;			/* its qdevice's heuristics result */
	struct h_client *hc;		/* connected qdevice, or NULL */
	int kap;
	/* The model's copy of what qnetd stores (BEHAVIOUR.md §2.1). */
	int has_config, has_membership;
	mask cfg;			/* its config list */
	mask mem;
	struct qn_ring_id ring;
	uint8_t latest;
	/* Following the VOTE_INFOs sent to this connection. */
	uint32_t seq;			/* last VOTE_INFO sequence number */
	long last_vi;			/* event index of the last VOTE_INFO */
	long last_ack;			/* of the last ACK, or -1 */
	mask ack_winner;		/* partition that ACK was given to */
	long revoke;			/* first NACK after that ACK, or -1 */
	long answered;			/* highest VOTE_INFO index answered */
	/* lms and 2nodelms. */
	uint8_t result;			/* stored last result, 0 = none */
	uint8_t last_ack_nack;		/* last ACK/NACK it was told */
	uint8_t vote;			/* the vote the qdevice acts on */
	int timer;			/* algorithm timer armed */
};

enum phase { PH_IDLE, PH_NACKS };

struct model {
	uint8_t algo;
	struct rng r;
	struct qnetd *w;
	int n;
	struct m_node node[M_MAX_NODES];
	mask cfg;			/* the configured nodes */
	char config[32];		/* "1,3,4" */
	uint8_t tb_mode;
	uint32_t tb_node;
	int heur;			/* this run uses heuristics */
	/* The real cluster: node i is in group node[i].group. */
	struct qn_ring_id gring[M_MAX_NODES];
	mask gmask[M_MAX_NODES];
	uint64_t ring_seq;
	/* The reference model's cluster state. */
	mask prev_quorate;
	int found;			/* last stable decision found a winner */
	mask winner;
	enum phase phase;
	mask awaiting;			/* losers whose NACK is unanswered */
	mask ack_to;			/* participants to get ACK after them */
	int last_decide_stable;
	int connects;
	size_t scanned;			/* events already followed */
};

/* A step's outcome as the model predicts it. */
enum outcome { OUT_NONE, OUT_UNSTABLE, OUT_STABLE };

static const char *
vote_str(uint8_t v)
{
	static const char *const s[] = { "UNDEF", "ACK", "NACK", "ASK_LATER",
	    "WAIT_FOR_REPLY", "NO_CHANGE" };

	return v <= 5 ? s[v] : "?";
}

static const char *
heur_str(uint8_t h)
{
	return h == QN_HEUR_PASS ? "P" : h == QN_HEUR_FAIL ? "F" : "U";
}

static int
index_of(const struct model *m, uint32_t id)
{
	for (int i = 0; i < m->n; i++)
		if (m->node[i].id == id)
			return i;
	return -1;
}

/* "1,3" for a mask, into buf. */
static const char *
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

static int
is_ffsplit(const struct model *m)
{
	return m->algo == QN_ALGO_FFSPLIT;
}

static int
connected(const struct model *m, int i)
{
	return m->node[i].hc != NULL;
}

/* §14.1: only a client with both lists takes part. */
static int
participates(const struct model *m, int i)
{
	return connected(m, i) && m->node[i].has_config &&
	    m->node[i].has_membership;
}

static mask
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

/* How often each rule decided, for MODEL_STATS. */
enum { R_MAJ, R_SCORE, R_ACTIVE, R_KAP, R_TB, R_NONE, R_COUNT };
static unsigned long rule_count[R_COUNT];
static unsigned long final_count[3];	/* no winner, winner, nobody */

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
static enum outcome
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

/* Following the events the harness recorded. */

/* VOTE_INFOs of one step, as a mask per vote. */
struct sent {
	mask ack, nack;
};

static struct sent
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
static void
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
static void
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

static void
check_reply(int got, enum outcome o)
{
	int want = o == OUT_UNSTABLE ? QN_VOTE_WAIT_FOR_REPLY :
	    o == OUT_STABLE ? QN_VOTE_NO_CHANGE : QN_VOTE_ASK_LATER;

	tr("    reply %s\n", got < 0 ? "error" : vote_str((uint8_t)got));
	M_CHECK(got == want, "reply %s, model: %s", got < 0 ? "error" :
	    vote_str((uint8_t)got), vote_str((uint8_t)want));
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

static int
ring_eq(struct qn_ring_id a, struct qn_ring_id b)
{
	return qn_ring_id_eq(&a, &b);
}

/* A reply or VOTE_INFO reaching node i (the qdevice's side of §2.1). */
static void
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
static uint8_t
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
static uint8_t
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

/* After an lms or 2nodelms step: the pushes and every qdevice's vote. */
static void
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

static void
expect_push(struct model *m, struct sent *want, int i, uint8_t vote)
{
	if (vote == QN_VOTE_ACK)
		want->ack |= 1u << i;
	else
		want->nack |= 1u << i;
	told(m, i, vote);
}

static void
check_lms_reply(struct model *m, int i, int got, uint8_t want)
{
	tr("    reply %s\n", got < 0 ? "error" : vote_str((uint8_t)got));
	M_CHECK(got == want, "reply %s, model: %s", got < 0 ? "error" :
	    vote_str((uint8_t)got), vote_str(want));
	told(m, i, want);
}

/* The real cluster: a random partition of the configured nodes. */

/*
 * A random partition of the configured nodes, often an even one in
 * halves; a node outside the config is alone.
 */
static void
repartition(struct model *m)
{
	mask old[M_MAX_NODES];
	struct qn_ring_id oldring[M_MAX_NODES];
	int idx[M_MAX_NODES], count = 0, ngroups, g;
	char a[32];

	memcpy(old, m->gmask, sizeof(old));
	memcpy(oldring, m->gring, sizeof(oldring));
	memset(m->gmask, 0, sizeof(m->gmask));
	for (int i = 0; i < m->n; i++)
		if (m->cfg & (1u << i))
			idx[count++] = i;
	ngroups = 1 + (int)rnd(&m->r, (uint32_t)count);
	for (int k = 0; k < count; k++)
		m->node[idx[k]].group = (int)rnd(&m->r, (uint32_t)ngroups);
	if (count % 2 == 0 && chance(&m->r, 50)) {
		int in_one = 0;

		ngroups = 2;
		for (int k = 0; k < count; k++)
			m->node[idx[k]].group = 0;
		while (in_one < count / 2) {
			int k = (int)rnd(&m->r, (uint32_t)count);

			in_one += m->node[idx[k]].group == 0;
			m->node[idx[k]].group = 1;
		}
	}
	g = ngroups;
	for (int i = 0; i < m->n; i++) {
		if (!(m->cfg & (1u << i)))
			m->node[i].group = g++;
		m->gmask[m->node[i].group] |= 1u << i;
	}
	tr("cluster splits into");
	for (g = 0; g < m->n; g++) {
		int same = -1;

		if (m->gmask[g] == 0)
			continue;
		/* A group that did not change keeps its ring. */
		for (int o = 0; o < m->n; o++)
			if (old[o] == m->gmask[g])
				same = o;
		m->gring[g] = same >= 0 ? oldring[same] : h_ring(
		    m->node[__builtin_ctz(m->gmask[g])].id, ++m->ring_seq);
		tr(" {%s}@%u.%llu", ids_str(m, m->gmask[g], a, sizeof(a)),
		    (unsigned)m->gring[g].node_id,
		    (unsigned long long)m->gring[g].seq);
	}
	tr("\n");
}

static void
set_config(struct model *m, mask cfg)
{
	m->cfg = cfg;
	ids_str(m, cfg, m->config, sizeof(m->config));
}

/* ffsplit: a node joins or leaves the configuration. */
static void
change_config(struct model *m)
{
	mask cfg = m->cfg ^ (1u << rnd(&m->r, (uint32_t)m->n));

	if (popcount(cfg) < 2)
		return;
	set_config(m, cfg);
	tr("configuration becomes {%s}\n", m->config);
	repartition(m);
}

/* Messages, each followed by the model and the checks. */

static struct h_client *
do_connect(struct model *m, int i)
{
	struct m_node *nd = &m->node[i];
	struct qn_ring_id ring = m->gring[nd->group];

	/* Sometimes before corosync formed a ring (lms ignores seq 0). */
	if (chance(&m->r, 10))
		ring = h_ring(nd->id, 0);
	nd->hc = h_connect(m->w, "model", nd->id, m->algo, m->tb_mode,
	    m->tb_node, ring);
	nd->hc->c.kap = (uint8_t)nd->kap;
	nd->has_config = nd->has_membership = 0;
	nd->mem = 0;
	nd->ring = ring;
	nd->latest = QN_HEUR_UNDEFINED;
	nd->seq = 0;
	nd->last_vi = nd->last_ack = nd->revoke = nd->answered = -1;
	nd->result = nd->last_ack_nack = 0;
	nd->vote = QN_VOTE_WAIT_FOR_REPLY;
	nd->timer = 0;
	m->connects++;
	tr("%u connects (ring %u.%llu, kap %d)\n", (unsigned)nd->id,
	    (unsigned)ring.node_id, (unsigned long long)ring.seq, nd->kap);
	check_lms_step(m, (struct sent){ 0 }, scan_events(m));
	return nd->hc;
}

static void	do_leave(struct model *m, int i);

static void
do_config(struct model *m, int i, int initial)
{
	struct m_node *nd = &m->node[i];
	enum outcome o = OUT_NONE;
	int got;

	tr("%u sends %s config {%s}\n", (unsigned)nd->id,
	    initial ? "initial" : "changed", m->config);
	got = h_config(m->w, nd->hc, initial, m->config);
	if (!(m->cfg & (1u << i))) {
		/* Removed from the config: error 18, then it disconnects. */
		M_CHECK(got == H_ERR(QN_ERR_INVALID_CONFIG_NODE_LIST),
		    "config without the sender answered %d", got);
		do_leave(m, i);
		return;
	}
	nd->has_config = 1;
	nd->cfg = m->cfg;
	if (!is_ffsplit(m)) {
		check_lms_reply(m, i, got, QN_VOTE_NO_CHANGE);
		check_lms_step(m, (struct sent){ 0 }, scan_events(m));
		return;
	}
	if (!initial && nd->has_membership)
		o = m_decide(m);
	check_reply(got, o);
	check_decision(m, o, scan_events(m));
}

static void
do_membership(struct model *m, int i, mask mem, struct qn_ring_id ring)
{
	struct m_node *nd = &m->node[i];
	enum outcome o = OUT_NONE;
	char ids[32];
	int got;

	ids_str(m, mem, ids, sizeof(ids));
	tr("%u sends membership {%s} ring %u.%llu H=%s\n", (unsigned)nd->id,
	    ids, (unsigned)ring.node_id, (unsigned long long)ring.seq,
	    heur_str(nd->heur));
	got = h_membership(m->w, nd->hc, ring, ids, nd->heur);
	if (!is_ffsplit(m)) {
		/* D4: judged on what was stored before this list. */
		uint8_t v = m->algo == QN_ALGO_LMS ? lms_eval(m, i, ring) :
		    two_judge(m, i, ring, popcount(mem), nd->heur);

		nd->has_membership = 1;
		nd->mem = mem;
		nd->ring = ring;
		nd->latest = nd->heur;
		check_lms_reply(m, i, got, v);
		check_lms_step(m, (struct sent){ 0 }, scan_events(m));
		return;
	}
	/* Stored after the algorithm, even with ASK_LATER. */
	nd->has_membership = 1;
	nd->mem = mem;
	nd->ring = ring;
	nd->latest = nd->heur;
	if (nd->has_config)
		o = m_decide(m);
	check_reply(got, o);
	check_decision(m, o, scan_events(m));
}

static void	do_quorum(struct model *m, int i);

static void
do_true_membership(struct model *m, int i)
{
	int g = m->node[i].group;

	do_membership(m, i, m->gmask[g], m->gring[g]);
	if (!is_ffsplit(m) && chance(&m->r, 70))
		do_quorum(m, i);
}

static int
reports_truth(const struct model *m, int i)
{
	const struct m_node *nd = &m->node[i];

	return nd->has_membership && nd->mem == m->gmask[nd->group] &&
	    qn_ring_id_eq(&nd->ring, &m->gring[nd->group]);
}

static void
do_heuristics(struct model *m, int i, uint8_t h)
{
	struct m_node *nd = &m->node[i];
	enum outcome o = OUT_NONE;
	int got;

	tr("%u heuristics -> %s\n", (unsigned)nd->id, heur_str(h));
	nd->heur = h;
	got = h_heuristics(m->w, nd->hc, h);
	nd->latest = h;
	if (!is_ffsplit(m)) {
		check_lms_reply(m, i, got, QN_VOTE_NO_CHANGE);
		check_lms_step(m, (struct sent){ 0 }, scan_events(m));
		return;
	}
	if (nd->has_config && nd->has_membership)
		o = m_decide(m);
	check_reply(got, o);
	check_decision(m, o, scan_events(m));
}

/* D6: the others are judged again, told only if their vote changes. */
static void
leave_lms(struct model *m)
{
	struct sent want = { 0 };

	for (int o = 0; o < m->n; o++) {
		struct m_node *nd = &m->node[o];
		uint8_t had, v;

		if (!connected(m, o) || !nd->has_membership)
			continue;
		had = nd->result != 0 ? nd->result : nd->last_ack_nack;
		v = m->algo == QN_ALGO_LMS ? lms_eval(m, o, nd->ring) :
		    two_judge(m, o, nd->ring, popcount(nd->mem), nd->latest);
		if (vote_is_decision(v) && v != had)
			expect_push(m, &want, o, v);
	}
	check_lms_step(m, want, scan_events(m));
}

static void
do_leave(struct model *m, int i)
{
	struct m_node *nd = &m->node[i];
	enum outcome o;
	int any = 0;

	tr("%u leaves\n", (unsigned)nd->id);
	h_leave(m->w, nd->hc, 0);
	nd->hc = NULL;
	m->awaiting &= ~(1u << i);
	m->ack_to &= ~(1u << i);
	for (int j = 0; j < m->n; j++)
		any |= connected(m, j);
	/* The cluster is freed with its last client, and its memory. */
	if (!any) {
		m->prev_quorate = 0;
		m->phase = PH_IDLE;
	}
	if (!is_ffsplit(m)) {
		leave_lms(m);
		return;
	}
	/* D2: the leaving client is gone before the re-decision. */
	o = m_decide(m);
	check_decision(m, o, scan_events(m));
}

/*
 * Node i answered its latest VOTE_INFO: was it the last NACK the latest
 * decision waits for before its ACKs?
 */
static int
last_nack_answered(struct model *m, int i)
{
	if (m->phase != PH_NACKS || !(m->awaiting & (1u << i)))
		return 0;
	m->awaiting &= ~(1u << i);
	if (m->awaiting != 0)
		return 0;
	m->phase = PH_IDLE;
	return 1;
}

/* Answer one VOTE_INFO of node i: its oldest, or any unanswered one. */
static void
do_answer(struct model *m, int i, int any)
{
	struct m_node *nd = &m->node[i];
	struct qnetd *w = m->w;
	long pick = -1;
	int count = 0;
	struct sent s;
	char a[32], b[32];
	int current;

	for (size_t k = 0; k < w->nev; k++) {
		const struct h_event *e = &w->ev[k];

		if (e->kind != H_VOTE_INFO || e->answered || e->node != nd->id)
			continue;
		if (!any && pick < 0)
			pick = (long)k;
		if (any && rnd(&m->r, (uint32_t)++count) == 0)
			pick = (long)k;
	}
	if (pick < 0)
		return;
	current = pick == nd->last_vi;
	tr("%u answers seq %u%s\n", (unsigned)nd->id,
	    (unsigned)w->ev[pick].seq, current ? "" : " (stale)");
	h_answer(w, (size_t)pick);
	if (pick > nd->answered)
		nd->answered = pick;
	if (!is_ffsplit(m)) {
		check_lms_step(m, (struct sent){ 0 }, scan_events(m));
		return;
	}
	s = scan_events(m);
	if (current && last_nack_answered(m, i)) {
		M_CHECK(s.nack == 0 && s.ack == m->ack_to, "after the last NACK "
		    "answer ACKs to {%s}, model: {%s}",
		    ids_str(m, s.ack, a, sizeof(a)),
		    ids_str(m, m->ack_to, b, sizeof(b)));
	} else {
		M_CHECK((s.ack | s.nack) == 0, "VOTE_INFO to {%s} after an "
		    "answer that completes nothing",
		    ids_str(m, s.ack | s.nack, a, sizeof(a)));
	}
}

/* The quorum list the qdevice sends after a membership (§14.4). */
static void
do_quorum(struct model *m, int i)
{
	struct m_node *nd = &m->node[i];
	int got;

	tr("%u sends quorum list\n", (unsigned)nd->id);
	got = h_quorum(m->w, nd->hc, 1, m->config);
	if (is_ffsplit(m)) {
		check_reply(got, OUT_STABLE);	/* NO_CHANGE */
		check_decision(m, OUT_NONE, scan_events(m));
		return;
	}
	check_lms_reply(m, i, got, m->algo == QN_ALGO_LMS ?
	    lms_eval(m, i, nd->ring) : QN_VOTE_NO_CHANGE);
	check_lms_step(m, (struct sent){ 0 }, scan_events(m));
}

/* ASK_FOR_VOTE: only servers' tests send it; lms and 2nodelms answer. */
static void
do_ask(struct model *m, int i)
{
	struct m_node *nd = &m->node[i];
	int got;

	tr("%u asks for its vote\n", (unsigned)nd->id);
	got = h_ask(m->w, nd->hc);
	if (is_ffsplit(m)) {
		M_CHECK(got == H_ERR(
		    QN_ERR_UNSUPPORTED_DECISION_ALGORITHM_MESSAGE),
		    "ffsplit answered ASK_FOR_VOTE with %d", got);
		check_decision(m, OUT_NONE, scan_events(m));
		return;
	}
	check_lms_reply(m, i, got, m->algo == QN_ALGO_LMS ?
	    lms_eval(m, i, nd->ring) : nd->result != 0 ? nd->result :
	    QN_VOTE_ASK_LATER);
	check_lms_step(m, (struct sent){ 0 }, scan_events(m));
}

/* lms: node i's algorithm timer fires. */
static void
do_timer(struct model *m, int i)
{
	struct m_node *nd = &m->node[i];
	struct sent want = { 0 };
	uint8_t v;

	tr("%u timer fires\n", (unsigned)nd->id);
	nd->hc->timer_armed = 0;
	algo_get(m->algo)->timer(&nd->hc->c);
	v = lms_eval(m, i, nd->ring);
	if (vote_is_decision(v))
		expect_push(m, &want, i, v);
	check_lms_step(m, want, scan_events(m));
}

static int
pick_armed(struct model *m)
{
	for (int i = 0; i < m->n; i++)
		if (connected(m, i) && m->node[i].timer)
			return i;
	return -1;
}

/*
 * A list qnetd refuses (ffsplit: one without the sender, errors 18/19;
 * 2nodelms: a config of other than 2 nodes, error 12).  Nothing is
 * stored or decided; the qdevice ends the connection on SERVER_ERROR.
 */
static void
do_refused_list(struct model *m, int i)
{
	struct m_node *nd = &m->node[i];
	mask ids = (mask)rnd(&m->r, 1u << m->n) & ~(1u << i);
	int config = m->algo == QN_ALGO_2NODELMS || chance(&m->r, 50);
	int want, got;
	char buf[48];
	struct sent sent;

	if (m->algo == QN_ALGO_LMS)
		return;		/* lms accepts any list */
	if (m->algo == QN_ALGO_2NODELMS) {
		ids = chance(&m->r, 50) ? 1u << i : 0x3;
		ids_str(m, ids, buf, sizeof(buf));
		if (ids == 0x3)
			snprintf(buf, sizeof(buf), "%s,10", m->config);
	} else {
		ids_str(m, ids, buf, sizeof(buf));
	}
	tr("%u sends a refused %s list {%s}\n", (unsigned)nd->id,
	    config ? "config" : "membership", buf);
	if (config) {
		want = H_ERR(m->algo == QN_ALGO_2NODELMS ?
		    QN_ERR_UNSUPPORTED_DECISION_ALGORITHM :
		    QN_ERR_INVALID_CONFIG_NODE_LIST);
		got = h_config(m->w, nd->hc, chance(&m->r, 50), buf);
	} else {
		struct qn_ring_id keep = nd->hc->sent_ring;

		want = H_ERR(QN_ERR_INVALID_MEMBERSHIP_NODE_LIST);
		got = h_membership(m->w, nd->hc, h_ring(nd->id, ++m->ring_seq),
		    buf, nd->heur);
		nd->hc->sent_ring = keep;
	}
	M_CHECK(got == want, "refused list answered %d, want %d", got, want);
	sent = scan_events(m);
	M_CHECK((sent.ack | sent.nack) == 0, "VOTE_INFO after a refused list");
	do_leave(m, i);
}

/* A membership that is wrong for now: a random set with this node. */
static void
do_wrong_membership(struct model *m, int i)
{
	mask mem = (mask)rnd(&m->r, 1u << m->n) | (1u << i);
	struct qn_ring_id ring;

	if (chance(&m->r, 50))
		ring = m->gring[(int)rnd(&m->r, (uint32_t)m->n)];
	else
		ring = h_ring(m->node[i].id, ++m->ring_seq);
	if (ring.seq == 0)
		ring = h_ring(m->node[i].id, ++m->ring_seq);
	do_membership(m, i, mem, ring);
}

static uint8_t
random_heur(struct rng *r)
{
	static const uint8_t h[] = { QN_HEUR_UNDEFINED, QN_HEUR_PASS,
	    QN_HEUR_FAIL };

	return h[rnd(r, 3)];
}

static int
pick_node(struct model *m, int want_connected)
{
	int cand[M_MAX_NODES], n = 0;

	for (int i = 0; i < m->n; i++)
		if (connected(m, i) == want_connected)
			cand[n++] = i;
	return n == 0 ? -1 : cand[rnd(&m->r, (uint32_t)n)];
}

static int
pick_unanswered(struct model *m)
{
	int cand[M_MAX_NODES], n = 0;

	for (int i = 0; i < m->n; i++)
		if (connected(m, i) && m->node[i].last_vi > m->node[i].answered)
			cand[n++] = i;
	/* After an answer out of order older ones may still be open. */
	if (n == 0)
		for (size_t k = 0; k < m->w->nev; k++) {
			const struct h_event *e = &m->w->ev[k];

			if (e->kind == H_VOTE_INFO && !e->answered)
				return index_of(m, e->node);
		}
	return n == 0 ? -1 : cand[rnd(&m->r, (uint32_t)n)];
}

static void
random_step(struct model *m)
{
	uint32_t what = rnd(&m->r, 100);
	int i;

	if (what < 12) {
		i = pick_node(m, 0);
		if (i >= 0 && (m->cfg & (1u << i)) &&
		    m->connects < H_MAX_CLIENTS - 2) {
			do_connect(m, i);
			/* The initial burst (PROTOCOL.md §7.5), sometimes cut. */
			if (chance(&m->r, 85))
				do_config(m, i, 1);
			if (m->node[i].has_config && chance(&m->r, 70))
				do_true_membership(m, i);
		}
	} else if (what < 16) {
		if ((i = pick_node(m, 1)) >= 0)
			do_leave(m, i);
	} else if (what < 26) {
		if (is_ffsplit(m) && chance(&m->r, 15))
			change_config(m);
		else
			repartition(m);
	} else if (what < 40) {
		i = pick_node(m, 1);
		if (i < 0)
			return;
		if (!m->node[i].has_config)
			do_config(m, i, 1);
		else if (m->node[i].cfg != m->cfg && chance(&m->r, 50))
			do_config(m, i, 0);
		else if (chance(&m->r, 80))
			do_true_membership(m, i);
		else
			do_wrong_membership(m, i);
	} else if (what < 48) {
		if ((i = pick_node(m, 1)) >= 0 && (m->heur || chance(&m->r, 20)))
			do_heuristics(m, i, random_heur(&m->r));
	} else if (what < 51) {
		if ((i = pick_node(m, 1)) >= 0 && m->node[i].has_config)
			do_config(m, i, 0);
	} else if (what < 52) {
		if ((i = pick_node(m, 1)) >= 0)
			do_refused_list(m, i);
	} else if (what < 53 && is_ffsplit(m)) {
		if ((i = pick_node(m, 1)) >= 0 && m->node[i].has_membership)
			chance(&m->r, 50) ? do_quorum(m, i) : do_ask(m, i);
	} else if (what < 54 && is_ffsplit(m)) {
		/* SET_OPTION: stored, decides nothing until the next event. */
		if ((i = pick_node(m, 1)) >= 0) {
			m->node[i].kap = !m->node[i].kap;
			m->node[i].hc->c.kap = (uint8_t)m->node[i].kap;
			tr("%u sets keep-active-partition %d\n",
			    (unsigned)m->node[i].id, m->node[i].kap);
		}
	} else if (what < 68 && !is_ffsplit(m)) {
		if (m->algo == QN_ALGO_LMS && chance(&m->r, 70) &&
		    (i = pick_armed(m)) >= 0)
			do_timer(m, i);
		else if ((i = pick_node(m, 1)) >= 0 &&
		    m->node[i].has_membership)
			chance(&m->r, 50) ? do_quorum(m, i) : do_ask(m, i);
	} else {
		if ((i = pick_unanswered(m)) >= 0)
			do_answer(m, i, chance(&m->r, 10));
	}
}

/*
 * lms: the timers decide, then every qdevice sends a quorum list, so all
 * are judged on the same state: then at most one ring holds ACK (the
 * refused newcomers of D5 get NACK).  2nodelms judges only a client's own
 * membership, so no such property holds across its clients.
 */
static void
quiesce_lms(struct model *m, const int *order)
{
	int i, fired = 0, holder = -1;

	while ((i = pick_armed(m)) >= 0) {
		M_CHECK(++fired < 50, "lms timers keep firing");
		do_timer(m, i);
	}
	h_answer_all(m->w);
	check_lms_step(m, (struct sent){ 0 }, scan_events(m));
	if (m->algo != QN_ALGO_LMS)
		return;
	for (int k = 0; k < m->n; k++)
		if (connected(m, order[k]))
			do_quorum(m, order[k]);
	for (i = 0; i < m->n; i++) {
		if (!connected(m, i) || m->node[i].vote != QN_VOTE_ACK)
			continue;
		if (holder < 0)
			holder = i;
		M_CHECK(ring_eq(m->node[i].ring, m->node[holder].ring),
		    "nodes %u and %u hold ACK in different rings",
		    (unsigned)m->node[holder].id, (unsigned)m->node[i].id);
	}
}

/* Every connected qdevice reports its lists and the truth, all answer. */
static void
quiesce(struct model *m)
{
	int order[M_MAX_NODES];

	tr("-- quiescence\n");
	for (int i = 0; i < m->n; i++)
		order[i] = i;
	for (int i = m->n - 1; i > 0; i--) {
		int j = (int)rnd(&m->r, (uint32_t)i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int k = 0; k < m->n; k++) {
		int i = order[k];

		if (!connected(m, i))
			continue;
		if (!m->node[i].has_config || m->node[i].cfg != m->cfg)
			do_config(m, i, !m->node[i].has_config);
		if (connected(m, i) && !reports_truth(m, i))
			do_true_membership(m, i);
		if (is_ffsplit(m))
			check_safety(m);
	}
	if (!is_ffsplit(m)) {
		quiesce_lms(m, order);
		return;
	}
	while ((m->phase == PH_NACKS || m->awaiting) &&
	    pick_unanswered(m) >= 0) {
		do_answer(m, pick_unanswered(m), 0);
		check_safety(m);
	}
	h_answer_all(m->w);
	(void)scan_events(m);
	M_CHECK(h_fire_timers(m->w) == 0, "ffsplit armed a timer");
}

static void
check_final(struct model *m)
{
	char a[32];

	if (!is_ffsplit(m))
		return;		/* every step compared the votes */
	if (participants(m) == 0) {
		final_count[2]++;
		return;
	}
	final_count[m->found]++;
	M_CHECK(m->last_decide_stable, "quiescent but the last decision saw "
	    "an unstable membership");
	tr("final: model winner %s%s%s\n", m->found ? "{" : "none",
	    m->found ? ids_str(m, m->winner, a, sizeof(a)) : "",
	    m->found ? "}" : "");
	for (int i = 0; i < m->n; i++) {
		uint8_t want;

		if (!connected(m, i))
			continue;
		want = (m->winner & (1u << i)) ? QN_VOTE_ACK : QN_VOTE_NACK;
		M_CHECK(m->node[i].hc->vote == want, "node %u acts on %s, "
		    "model: %s", (unsigned)m->node[i].id,
		    vote_str(m->node[i].hc->vote), vote_str(want));
	}
}

/* The seed says the algorithm, so that MODEL_SEED alone replays a run. */
#define SEED_LMS	100000000ULL
#define SEED_2NODELMS	200000000ULL

static uint8_t
algo_of_seed(uint64_t seed)
{
	return seed >= SEED_2NODELMS ? QN_ALGO_2NODELMS :
	    seed >= SEED_LMS ? QN_ALGO_LMS : QN_ALGO_FFSPLIT;
}

static void
setup(struct model *m, uint64_t seed)
{
	mask ids = 0;
	int kap_mode, heur;
	char a[32];

	memset(m, 0, sizeof(*m));
	m->r.s = seed;
	m->algo = algo_of_seed(seed);
	m->n = 2 + (int)rnd(&m->r, M_MAX_NODES - 1);
	if (m->algo == QN_ALGO_2NODELMS)
		m->n = 2;
	/* Node ids from 1..9, so that ids are not indices. */
	while (popcount(ids) < m->n)
		ids |= 1u << rnd(&m->r, 9);
	for (int id = 1, i = 0; id <= 9; id++)
		if (ids & (1u << (id - 1)))
			m->node[i++].id = (uint32_t)id;
	set_config(m, (1u << m->n) - 1);
	m->tb_mode = (uint8_t)(QN_TB_LOWEST + rnd(&m->r, 3));
	/* node-id mode: a configured node, or one that is not. */
	m->tb_node = m->tb_mode != QN_TB_NODE_ID ? 0 : chance(&m->r, 80) ?
	    m->node[rnd(&m->r, (uint32_t)m->n)].id : 10;
	kap_mode = (int)rnd(&m->r, 4);		/* off, on, on, mixed */
	/* Without heuristics, 50:50 splits reach the later rules. */
	heur = m->heur = chance(&m->r, 40);
	for (int i = 0; i < m->n; i++) {
		m->node[i].kap = kap_mode == 3 ? chance(&m->r, 70) : kap_mode > 0;
		m->node[i].heur = heur ? random_heur(&m->r) :
		    QN_HEUR_UNDEFINED;
		m->node[i].group = 0;
	}
	m->gmask[0] = (1u << m->n) - 1;
	m->gring[0] = h_ring(m->node[0].id, ++m->ring_seq);
	m->w = h_world();
	tr("seed %llu: %s, nodes {%s}, tie-breaker %s %u\n",
	    (unsigned long long)seed, is_ffsplit(m) ? "ffsplit" :
	    m->algo == QN_ALGO_LMS ? "lms" : "2nodelms", ids_str(m, m->gmask[0], a, sizeof(a)),
	    m->tb_mode == QN_TB_LOWEST ? "lowest" : m->tb_mode ==
	    QN_TB_HIGHEST ? "highest" : "node", (unsigned)m->tb_node);
}

static uint64_t	env_u64(const char *name, uint64_t dflt);

static void
run_seed(uint64_t seed)
{
	uint64_t max_steps = env_u64("MODEL_STEPS", 80);

	struct model m;
	int steps;

	show_interrupted_run();		/* the loop's last iteration died */
	trace->len = 0;
	trace->buf[0] = '\0';
	trace->seed = seed;
	trace->running = 1;
	setup(&m, seed);
	steps = 20 + (int)rnd(&m.r, (uint32_t)max_steps - 20);
	/* Most qdevices start with the cluster, in one partition. */
	for (int i = 0; i < m.n; i++)
		if (chance(&m.r, 70)) {
			do_connect(&m, i);
			do_config(&m, i, 1);
			do_true_membership(&m, i);
		}
	for (int k = 0; k < steps && m.w->nev < H_MAX_EVENTS - 120; k++) {
		random_step(&m);
		check_safety(&m);
	}
	quiesce(&m);
	check_safety(&m);
	check_final(&m);
	h_world_free(m.w);
	trace->running = 0;
	if (trace->verbose)
		fprintf(stderr, "%s", trace->buf);
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 10) : dflt;
}

/* Loop iteration i of an algorithm's test: seeds base + i * 10^6 + k. */
static void
run_seeds(uint64_t base, int i)
{
	uint64_t runs = env_u64("MODEL_RUNS", M_RUNS);

	if (getenv("MODEL_SEED") != NULL) {
		uint64_t seed = env_u64("MODEL_SEED", 0);

		if (i == 0 && (seed >= base) == (base == 0 || seed >= base) &&
		    algo_of_seed(seed) == algo_of_seed(base)) {
			trace->verbose = 1;
			run_seed(seed);
		}
		return;
	}
	for (uint64_t k = 0; k < runs; k++)
		run_seed(base + (uint64_t)i * 1000000 + k + 1);
}

START_TEST(lms_random_runs)
{
	run_seeds(SEED_LMS, _i);
}
END_TEST

START_TEST(twonode_random_runs)
{
	run_seeds(SEED_2NODELMS, _i);
}
END_TEST

START_TEST(ffsplit_random_runs)
{
	run_seeds(0, _i);
	if (getenv("MODEL_SEED") != NULL)
		return;
	if (getenv("MODEL_STATS") != NULL)
		fprintf(stderr, "loop %d: rules majority %lu score %lu active "
		    "%lu kap %lu tie-breaker %lu none %lu; final: no winner "
		    "%lu, winner %lu, no participant %lu\n", _i,
		    rule_count[R_MAJ], rule_count[R_SCORE],
		    rule_count[R_ACTIVE], rule_count[R_KAP], rule_count[R_TB],
		    rule_count[R_NONE], final_count[0], final_count[1],
		    final_count[2]);
}
END_TEST

Suite *
model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("ffsplit");
	void *shared = mmap(NULL, sizeof(*trace), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (shared != MAP_FAILED)
		trace = shared;

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, show_interrupted_run);
	tcase_add_loop_test(tc, ffsplit_random_runs, 0, M_LOOPS);
	suite_add_tcase(s, tc);
	tc = tcase_create("lms");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, show_interrupted_run);
	tcase_add_loop_test(tc, lms_random_runs, 0, M_LOOPS / 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("2nodelms");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, NULL, show_interrupted_run);
	tcase_add_loop_test(tc, twonode_random_runs, 0, M_LOOPS / 4);
	suite_add_tcase(s, tc);
	return s;
}
