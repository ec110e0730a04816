/*
 * The steps of a randomised run: the real cluster splits and merges, and
 * each qdevice's messages go to the harness's qnetd, each followed by the
 * reference model and the checks.
 */
#include <stdio.h>
#include <string.h>

#include "test_algo_model.h"

/* The real cluster: a random partition of the configured nodes. */

/*
 * A random partition of the configured nodes, often an even one in
 * halves; a node outside the config is alone.
 */
void
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

void
set_config(struct model *m, mask cfg)
{
	m->cfg = cfg;
	ids_str(m, cfg, m->config, sizeof(m->config));
}

/* ffsplit: a node joins or leaves the configuration. */
void
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

struct h_client *
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

void
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

void
do_true_membership(struct model *m, int i)
{
	int g = m->node[i].group;

	do_membership(m, i, m->gmask[g], m->gring[g]);
	if (!is_ffsplit(m) && chance(&m->r, 70))
		do_quorum(m, i);
}

int
reports_truth(const struct model *m, int i)
{
	const struct m_node *nd = &m->node[i];

	return nd->has_membership && nd->mem == m->gmask[nd->group] &&
	    qn_ring_id_eq(&nd->ring, &m->gring[nd->group]);
}

/*
 * lms, 2nodelms (upstream #14): every client, the sender with its new
 * result, judged again and told by VOTE_INFO only if its vote changes;
 * the reply is NO_CHANGE.
 */
static void
heuristics_lms(struct model *m, int i, int got)
{
	struct sent want = { 0 };

	if (m->node[i].has_membership)
		for (int o = 0; o < m->n; o++) {
			struct m_node *od = &m->node[o];
			uint8_t had, ov;

			if (!connected(m, o) || !od->has_membership)
				continue;
			had = od->result != 0 ? od->result : od->last_ack_nack;
			ov = m->algo == QN_ALGO_LMS ? lms_eval(m, o, od->ring) :
			    two_judge(m, o, od->ring, popcount(od->mem),
			    od->latest);
			if (vote_is_decision(ov) && ov != had)
				expect_push(m, &want, o, ov);
		}
	check_lms_reply(m, i, got, QN_VOTE_NO_CHANGE);
	check_lms_step(m, want, scan_events(m));
}

void
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
		heuristics_lms(m, i, got);
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

void
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
void
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
void
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
void
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
void
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

int
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
void
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
void
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
