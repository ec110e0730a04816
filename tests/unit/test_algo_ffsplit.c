/*
 * ffsplit: the worked examples of BEHAVIOUR.md §2.2.1 and the fixes D1, D2
 * and §14.1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_algo.h"

#define FF	QN_ALGO_FFSPLIT
#define P	QN_HEUR_PASS
#define F	QN_HEUR_FAIL
#define U	QN_HEUR_UNDEFINED

static const char *const config_ids[] = {
	NULL, "1", "1,2", "1,2,3", "1,2,3,4", "1,2,3,4,5", "1,2,3,4,5,6"
};

/*
 * Nodes 1..n configured, those in running connect (INIT in ring 1.1), send
 * their initial config and a membership of everybody; all end up with ACK.
 */
static void
setup(struct qnetd *w, int n, const char *running, uint8_t tb_mode,
    uint32_t tb_node, int kap)
{
	struct h_client *hc;

	for (uint32_t id = 1; id <= (uint32_t)n; id++) {
		if (!h_in_ids(running, id))
			continue;
		hc = h_connect(w, "ff", id, FF, tb_mode, tb_node, h_ring(1, 1));
		hc->c.kap = (uint8_t)kap;
		ck_assert_int_eq(h_config(w, hc, 1, config_ids[n]),
		    QN_VOTE_ASK_LATER);
	}
	for (size_t i = 0; i < w->nclients; i++)
		h_membership(w, w->clients[i], h_ring(1, 1), config_ids[n], U);
	h_answer_all(w);
	for (size_t i = 0; i < w->nclients; i++)
		ck_assert_uint_eq(w->clients[i]->vote, QN_VOTE_ACK);
}

static const char *
partition_of(const char *const *parts, uint32_t id)
{
	for (; *parts != NULL; parts++)
		if (h_in_ids(*parts, id))
			return *parts;
	ck_abort_msg("node %u in no partition", id);
	return NULL;
}

static uint32_t
first_id(const char *ids)
{
	return (uint32_t)strtoul(ids, NULL, 10);
}

/* Running nodes send their new membership in ascending node id. */
static void
split(struct qnetd *w, const char *const *parts, uint64_t seq,
    const char *pass, const char *fail)
{
	for (uint32_t id = 1; id <= 16; id++) {
		struct h_client *hc = h_node(w, id);
		const char *part;

		if (hc == NULL)
			continue;
		part = partition_of(parts, id);
		h_membership(w, hc, h_ring(first_id(part), seq), part,
		    pass && h_in_ids(pass, id) ? P :
		    fail && h_in_ids(fail, id) ? F : U);
	}
}

static void
assert_votes(struct qnetd *w, const char *ack, const char *row)
{
	for (size_t i = 0; i < w->nclients; i++) {
		struct h_client *hc = w->clients[i];

		if (hc->gone)
			continue;
		ck_assert_msg(hc->vote == (h_in_ids(ack, hc->c.node_id) ?
		    QN_VOTE_ACK : QN_VOTE_NACK), "%s: node %u has vote %u",
		    row, hc->c.node_id, hc->vote);
	}
}

/* The ACK reason, or the NACK reason when nobody wins. */
static const char *
decision_reason(struct qnetd *w, const char *ack)
{
	for (size_t i = 0; i < w->nclients; i++) {
		struct member *c = &w->clients[i]->c;

		if (ack[0] == '\0' || h_in_ids(ack, c->node_id))
			return c->reason;
	}
	return "";
}

static const struct ff_row {
	const char *name;
	int nodes;
	const char *running;
	const char *parts[4];
	uint8_t tb_mode;
	uint32_t tb_node;
	const char *pass, *fail;
	const char *ack;
	const char *reason;
} rows[] = {
	{ "1 TB lowest", 4, "1,2,3,4", { "1,2", "3,4" }, QN_TB_LOWEST, 0,
	    NULL, NULL, "1,2",
	    "50:50 split: partition {1,2} holds node 1, tie-breaker lowest" },
	{ "2 TB highest", 4, "1,2,3,4", { "1,2", "3,4" }, QN_TB_HIGHEST, 0,
	    NULL, NULL, "3,4",
	    "50:50 split: partition {3,4} holds node 4, tie-breaker highest" },
	{ "3 TB node 3", 4, "1,2,3,4", { "1,2", "3,4" }, QN_TB_NODE_ID, 3,
	    NULL, NULL, "3,4",
	    "50:50 split: partition {3,4} holds tie-breaker node 3" },
	{ "4 TB node 9", 4, "1,2,3,4", { "1,2", "3,4" }, QN_TB_NODE_ID, 9,
	    NULL, NULL, "1,2", "50:50 split: tie-breaker node 9 is in no "
	    "partition, {1,2} kept as the first" },
	{ "5 node 3 pass", 4, "1,2,3,4", { "1,2", "3,4" }, QN_TB_LOWEST, 0,
	    "3", NULL, "3,4", "50:50 split: partition {3,4} has the higher "
	    "heuristics score (3 vs 2)" },
	{ "6 node 1 fail", 4, "1,2,3,4", { "1,2", "3,4" }, QN_TB_LOWEST, 0,
	    NULL, "1", "3,4", "50:50 split: partition {3,4} has the higher "
	    "heuristics score (2 vs 1)" },
	{ "7 all pass", 4, "1,2,3,4", { "1,2", "3,4" }, QN_TB_LOWEST, 0,
	    "1,2,3,4", NULL, "1,2",
	    "50:50 split: partition {1,2} holds node 1, tie-breaker lowest" },
	{ "8 1 pass 2 fail", 4, "1,2,3,4", { "1,2", "3,4" }, QN_TB_LOWEST, 0,
	    "1", "2", "1,2",
	    "50:50 split: partition {1,2} holds node 1, tie-breaker lowest" },
	{ "9 node 2 no qdevice", 4, "1,3,4", { "1,2", "3,4" }, QN_TB_LOWEST,
	    0, NULL, NULL, "3,4", "50:50 split: partition {3,4} has more "
	    "active clients (2 vs 1)" },
	{ "10 as 9, node 1 pass", 4, "1,3,4", { "1,2", "3,4" }, QN_TB_LOWEST,
	    0, "1", NULL, "3,4", "50:50 split: partition {3,4} has more "
	    "active clients (2 vs 1)" },
	{ "11 1 / 2,3,4", 4, "1,2,3,4", { "1", "2,3,4" }, QN_TB_LOWEST, 0,
	    NULL, NULL, "2,3,4",
	    "partition {2,3,4} has 3 of 4 configured votes" },
	{ "12 1,2 / 3 / 4 highest", 4, "1,2,3,4", { "1,2", "3", "4" },
	    QN_TB_HIGHEST, 0, NULL, NULL, "1,2", "50:50 split: partition "
	    "{1,2} is the only one with half of 4 configured votes" },
	{ "13 5 nodes 1,2 / 3,4,5", 5, "1,2,3,4,5", { "1,2", "3,4,5" },
	    QN_TB_LOWEST, 0, NULL, NULL, "3,4,5",
	    "partition {3,4,5} has 3 of 5 configured votes" },
	{ "14 5 nodes 1,2 / 3,4 / 5", 5, "1,2,3,4,5", { "1,2", "3,4", "5" },
	    QN_TB_LOWEST, 0, NULL, NULL, "",
	    "no partition has a majority of 5 configured votes" },
	{ "15 6 nodes 1,2 / 3,4 / 5,6", 6, "1,2,3,4,5,6",
	    { "1,2", "3,4", "5,6" }, QN_TB_LOWEST, 0, NULL, NULL, "",
	    "no partition has half or more of 6 configured votes" },
};

START_TEST(worked_examples)
{
	const struct ff_row *r = &rows[_i];
	struct qnetd *w = h_world();
	char nack[DECISION_REASON_LEN];

	setup(w, r->nodes, r->running, r->tb_mode, r->tb_node, 0);
	split(w, r->parts, 2, r->pass, r->fail);
	h_answer_all(w);
	assert_votes(w, r->ack, r->name);
	ck_assert_str_eq(decision_reason(w, r->ack), r->reason);
	/* The losers are told who won. */
	snprintf(nack, sizeof(nack), "not in the winning partition; %s",
	    r->reason);
	for (size_t i = 0; r->ack[0] != '\0' && i < w->nclients; i++)
		if (!h_in_ids(r->ack, w->clients[i]->c.node_id))
			ck_assert_str_eq(w->clients[i]->c.reason, nack);
	h_world_free(w);
}
END_TEST

/*
 * Example 1, message by message: 1, 2 and 3 wait; node 4's membership makes
 * it stable: NACKs to 3 and 4 (4's before its own NO_CHANGE reply); once
 * both answered, ACKs to 1 and 2.
 */
START_TEST(example_1_message_sequence)
{
	struct qnetd *w = h_world();
	size_t mark, n3, n4;
	long reply4;

	setup(w, 4, "1,2,3,4", QN_TB_LOWEST, 0, 0);
	mark = w->nev;
	ck_assert_int_eq(h_membership(w, h_node(w, 1), h_ring(1, 2), "1,2",
	    U), QN_VOTE_WAIT_FOR_REPLY);
	ck_assert_int_eq(h_membership(w, h_node(w, 2), h_ring(1, 2), "1,2",
	    U), QN_VOTE_WAIT_FOR_REPLY);
	ck_assert_int_eq(h_membership(w, h_node(w, 3), h_ring(3, 2), "3,4",
	    U), QN_VOTE_WAIT_FOR_REPLY);
	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 0);
	ck_assert_int_eq(h_membership(w, h_node(w, 4), h_ring(3, 2), "3,4",
	    U), QN_VOTE_NO_CHANGE);

	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 2);
	n3 = (size_t)h_find(w, mark, H_VOTE_INFO, 3, QN_VOTE_NACK);
	n4 = (size_t)h_find(w, mark, H_VOTE_INFO, 4, QN_VOTE_NACK);
	reply4 = h_find(w, mark, H_REPLY, 4, QN_VOTE_NO_CHANGE);
	ck_assert(n3 < n4 && (long)n4 < reply4);
	/* Node 4's VOTE_INFO carries its new ring, not yet stored then. */
	ck_assert(qn_ring_id_eq(&w->ev[n4].ring, &(struct qn_ring_id){ 3, 2 }));
	/* "No change (NACK)" for corosync-qnetd-tool. */
	ck_assert_uint_eq(h_node(w, 4)->c.last_vote, QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(h_node(w, 4)->c.last_ack_nack, QN_VOTE_NACK);

	mark = w->nev;
	h_answer(w, n3);
	ck_assert_uint_eq(w->nev, mark);
	h_answer(w, n4);
	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 2);
	ck_assert_int_ge(h_find(w, mark, H_VOTE_INFO, 1, QN_VOTE_ACK), 0);
	ck_assert_int_ge(h_find(w, mark, H_VOTE_INFO, 2, QN_VOTE_ACK), 0);
	h_answer_all(w);
	assert_votes(w, "1,2", "example 1");
	h_world_free(w);
}
END_TEST

/* The initial ACK of example 1's setup went out without any NACK first. */
START_TEST(single_client_first_vote)
{
	struct qnetd *w = h_world();
	struct h_client *a = h_connect(w, "ff", 1, FF, QN_TB_LOWEST, 0,
	    h_ring(1, 10));
	long vi;

	/* PROTOCOL.md §8.2, observed: one node of a 2-node cluster. */
	ck_assert_int_eq(h_config(w, a, 1, "1,2"), QN_VOTE_ASK_LATER);
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 10), "1", U),
	    QN_VOTE_NO_CHANGE);
	vi = h_find(w, 0, H_VOTE_INFO, 1, QN_VOTE_ACK);
	ck_assert_int_ge(vi, 0);
	ck_assert_uint_eq(w->ev[vi].seq, 1);
	ck_assert_int_lt(vi, h_find(w, 0, H_REPLY, 1, QN_VOTE_NO_CHANGE));
	ck_assert_int_eq(h_quorum(w, a, 1, "1,2"), QN_VOTE_NO_CHANGE);
	ck_assert_int_eq(h_ask(w, a),
	    H_ERR(QN_ERR_UNSUPPORTED_DECISION_ALGORITHM_MESSAGE));

	/* A config reload to 3 nodes makes {1} a minority: NACK. */
	h_answer_all(w);
	ck_assert_int_eq(h_config(w, a, 0, "1,2,3"), QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(a->vote, QN_VOTE_NACK);
	ck_assert_str_eq(a->c.reason, "no partition has a majority of 3 "
	    "configured votes");
	h_world_free(w);
}
END_TEST

START_TEST(input_validation_and_ask_later)
{
	struct qnetd *w = h_world();
	struct h_client *a = h_connect(w, "ff", 1, FF, QN_TB_LOWEST, 0,
	    h_ring(1, 1));
	struct h_client *b = h_connect(w, "ff", 2, FF, QN_TB_LOWEST, 0,
	    h_ring(1, 1));

	ck_assert_int_eq(h_heuristics(w, a, P), QN_VOTE_ASK_LATER);
	ck_assert_int_eq(h_ask(w, a),
	    H_ERR(QN_ERR_UNSUPPORTED_DECISION_ALGORITHM_MESSAGE));
	ck_assert_int_eq(h_config(w, a, 1, ""),
	    H_ERR(QN_ERR_INVALID_CONFIG_NODE_LIST));
	ck_assert_int_eq(h_config(w, a, 0, "2,3"),
	    H_ERR(QN_ERR_INVALID_CONFIG_NODE_LIST));
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 1), "", U),
	    H_ERR(QN_ERR_INVALID_MEMBERSHIP_NODE_LIST));
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 1), "2", U),
	    H_ERR(QN_ERR_INVALID_MEMBERSHIP_NODE_LIST));
	/* No config yet: a membership list asks later (and is stored). */
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 1), "1,2", U),
	    QN_VOTE_ASK_LATER);
	ck_assert_int_eq(h_heuristics(w, a, P), QN_VOTE_ASK_LATER);
	/* The initial config always asks later. */
	ck_assert_int_eq(h_config(w, a, 1, "1,2"), QN_VOTE_ASK_LATER);
	/* No membership yet: a changed config asks later too. */
	ck_assert_int_eq(h_config(w, b, 1, "1,2"), QN_VOTE_ASK_LATER);
	ck_assert_int_eq(h_config(w, b, 0, "1,2"), QN_VOTE_ASK_LATER);
	ck_assert_int_eq(h_quorum(w, b, 1, "1,2"), QN_VOTE_NO_CHANGE);
	/* Both lists: decide (b's missing membership keeps it unstable). */
	ck_assert_int_eq(h_config(w, a, 0, "1,2"), QN_VOTE_WAIT_FOR_REPLY);
	ck_assert_int_eq(h_membership(w, b, h_ring(1, 1), "1,2", U),
	    QN_VOTE_NO_CHANGE);
	h_answer_all(w);
	assert_votes(w, "1,2", "both");
	h_world_free(w);
}
END_TEST

/*
 * Keep-active-partition, 4 nodes, TB highest: phase 1 only 1 and 2 are
 * together; phase 2 3 and 4 join each other.
 */
START_TEST(keep_active_partition)
{
	int kap = _i;
	struct qnetd *w = h_world();
	struct h_client *hc;

	for (uint32_t id = 1; id <= 4; id++) {
		hc = h_connect(w, "ff", id, FF, QN_TB_HIGHEST, 0, h_ring(1, 1));
		hc->c.kap = (uint8_t)kap;
		h_config(w, hc, 1, "1,2,3,4");
	}
	h_membership(w, h_node(w, 1), h_ring(1, 5), "1,2", U);
	h_membership(w, h_node(w, 2), h_ring(1, 5), "1,2", U);
	h_membership(w, h_node(w, 3), h_ring(3, 5), "3", U);
	h_membership(w, h_node(w, 4), h_ring(4, 5), "4", U);
	h_answer_all(w);
	assert_votes(w, "1,2", "KAP phase 1");

	h_membership(w, h_node(w, 3), h_ring(3, 6), "3,4", U);
	h_membership(w, h_node(w, 4), h_ring(3, 6), "3,4", U);
	h_answer_all(w);
	assert_votes(w, kap ? "1,2" : "3,4", "KAP phase 2");
	if (kap)
		ck_assert_str_eq(h_node(w, 1)->c.reason,
		    "keep-active-partition: {1,2} was the quorate partition");
	h_world_free(w);
}
END_TEST

/*
 * Two-node fail-back (TB lowest): {1}/{2} → 1; node 1's qdevice leaves →
 * 2; node 1 comes back in its own partition → KAP off: 1 (fail-back),
 * KAP on: 2 keeps it.
 */
START_TEST(two_node_fail_back)
{
	int kap = _i;
	struct qnetd *w = h_world();
	struct h_client *hc;

	setup(w, 2, "1,2", QN_TB_LOWEST, 0, kap);
	h_membership(w, h_node(w, 1), h_ring(1, 2), "1", U);
	h_membership(w, h_node(w, 2), h_ring(2, 2), "2", U);
	h_answer_all(w);
	assert_votes(w, "1", "split");

	h_leave(w, h_node(w, 1), 0);
	h_answer_all(w);
	assert_votes(w, "2", "node 1 left");

	hc = h_connect(w, "ff", 1, FF, QN_TB_LOWEST, 0, h_ring(1, 3));
	hc->c.kap = (uint8_t)kap;
	h_config(w, hc, 1, "1,2");
	h_membership(w, hc, h_ring(1, 3), "1", U);
	h_answer_all(w);
	assert_votes(w, kap ? "2" : "1", "node 1 back");
	h_world_free(w);
}
END_TEST

/*
 * D1: {1,2} won the 2+2 split; node 3 reports Pass → {3,4}; then Fail →
 * {1,2} must win again (3.0.3 keeps {3,4}: candidate 4 still sees node 3's
 * old Pass).  Reported by HEURISTICS_CHANGE and by a membership list.
 */
START_TEST(d1_consistent_view)
{
	int by_membership = _i;
	struct qnetd *w = h_world();
	struct h_client *n3;
	uint8_t h[] = { P, F };

	setup(w, 4, "1,2,3,4", QN_TB_LOWEST, 0, 0);
	split(w, (const char *const[]){ "1,2", "3,4", NULL }, 2, NULL, NULL);
	h_answer_all(w);
	assert_votes(w, "1,2", "split");
	n3 = h_node(w, 3);
	for (size_t i = 0; i < 2; i++) {
		if (by_membership)
			ck_assert_int_eq(h_membership(w, n3, h_ring(3, 2),
			    "3,4", h[i]), QN_VOTE_NO_CHANGE);
		else
			ck_assert_int_eq(h_heuristics(w, n3, h[i]),
			    QN_VOTE_NO_CHANGE);
		h_answer_all(w);
		assert_votes(w, h[i] == P ? "3,4" : "1,2", "D1");
	}
	ck_assert_str_eq(h_node(w, 1)->c.reason, "50:50 split: partition "
	    "{1,2} has the higher heuristics score (2 vs 1)");
	h_world_free(w);
}
END_TEST

/*
 * D2: after the 2+2 split {1,2} holds the vote; node 2's qdevice leaves.
 * Without it {1,2} has 1 active client against 2: {3,4} wins (3.0.3 still
 * counts node 2 and keeps {1,2}).  Node 1's NACK goes out before the ACKs.
 */
START_TEST(d2_leaving_client_not_counted)
{
	struct qnetd *w = h_world();
	size_t mark;
	long nack1;

	setup(w, 4, "1,2,3,4", QN_TB_LOWEST, 0, 0);
	split(w, (const char *const[]){ "1,2", "3,4", NULL }, 2, NULL, NULL);
	h_answer_all(w);
	mark = w->nev;
	h_leave(w, h_node(w, 2), 0);
	nack1 = h_find(w, mark, H_VOTE_INFO, 1, QN_VOTE_NACK);
	ck_assert_int_ge(nack1, 0);
	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 1);
	h_answer(w, (size_t)nack1);
	ck_assert_int_ge(h_find(w, mark, H_VOTE_INFO, 3, QN_VOTE_ACK), 0);
	ck_assert_int_ge(h_find(w, mark, H_VOTE_INFO, 4, QN_VOTE_ACK), 0);
	h_answer_all(w);
	assert_votes(w, "3,4", "D2");
	ck_assert_str_eq(h_node(w, 3)->c.reason, "50:50 split: partition "
	    "{3,4} has more active clients (2 vs 1)");
	h_world_free(w);
}
END_TEST

/*
 * D2: only the remaining clients' keep-active-partition flags count.  Six
 * nodes, 3 without qdevice, TB lowest, KAP on everywhere but on node 5.
 * {4,5,6} wins the split on active clients; when 5 leaves, {4,6} ties with
 * {1,2,3} and keep-active-partition (now unanimous) keeps the vote there;
 * with 5's flag still counted the tie-breaker would move it to {1,2,3}.
 */
START_TEST(d2_kap_of_remaining_clients)
{
	struct qnetd *w = h_world();

	setup(w, 6, "1,2,4,5,6", QN_TB_LOWEST, 0, 1);
	h_node(w, 5)->c.kap = 0;
	split(w, (const char *const[]){ "1,2,3", "4,5,6", NULL }, 2, NULL,
	    "5");
	h_answer_all(w);
	assert_votes(w, "4,5,6", "split");
	ck_assert_str_eq(h_node(w, 4)->c.reason, "50:50 split: partition "
	    "{4,5,6} has more active clients (3 vs 2)");
	h_leave(w, h_node(w, 5), 0);
	h_answer_all(w);
	assert_votes(w, "4,6", "5 left");
	ck_assert_str_eq(h_node(w, 4)->c.reason, "keep-active-partition: "
	    "{4,5,6} was the quorate partition");
	h_world_free(w);
}
END_TEST

/* A VOTE_INFO_REPLY for an older VOTE_INFO does not release the ACKs. */
START_TEST(stale_vote_info_reply_ignored)
{
	struct qnetd *w = h_world();
	size_t mark, old3, old4, mark2;

	setup(w, 4, "1,2,3,4", QN_TB_LOWEST, 0, 0);
	mark = w->nev;
	split(w, (const char *const[]){ "1,2", "3,4", NULL }, 2, NULL, NULL);
	old3 = (size_t)h_find(w, mark, H_VOTE_INFO, 3, QN_VOTE_NACK);
	old4 = (size_t)h_find(w, mark, H_VOTE_INFO, 4, QN_VOTE_NACK);
	/* A new decision before the answers: new NACKs, new numbers. */
	mark2 = w->nev;
	ck_assert_int_eq(h_heuristics(w, h_node(w, 3), F), QN_VOTE_NO_CHANGE);
	ck_assert_uint_eq(h_count(w, mark2, H_VOTE_INFO), 2);
	ck_assert_uint_eq(w->ev[h_find(w, mark2, H_VOTE_INFO, 3,
	    QN_VOTE_NACK)].seq, w->ev[old3].seq + 1);
	mark = w->nev;
	h_answer(w, old3);
	h_answer(w, old4);
	/* Still waiting for the new NACKs to be acknowledged: no ACK yet. */
	ck_assert_uint_eq(w->nev, mark);
	h_answer_all(w);
	ck_assert_uint_eq(h_count(w, mark, H_VOTE_INFO), 2);
	assert_votes(w, "1,2", "stale");
	h_world_free(w);
}
END_TEST

/*
 * A client NACKed by one decision and chosen for ACK by the next, before it
 * answered the NACK: that answer must not cancel its ACK.  (Seen when a
 * split cluster's clients reconnect after a qnetd restart: nodes 2, 3, 4
 * first, so {3,4} leads; then node 1, and {1,2} wins the tie-breaker.)
 */
START_TEST(reply_to_earlier_nack_keeps_new_ack)
{
	struct qnetd *w = h_world();
	struct h_client *c[5];
	size_t mark, nack2;

	for (uint32_t id = 2; id <= 4; id++) {
		c[id] = h_connect(w, "ff", id, FF, QN_TB_LOWEST, 0,
		    h_ring(id <= 2 ? 1 : 3, 2));
		ck_assert_int_eq(h_config(w, c[id], 1, "1,2,3,4"),
		    QN_VOTE_ASK_LATER);
	}
	mark = w->nev;
	h_membership(w, c[2], h_ring(1, 2), "1,2", U);
	h_membership(w, c[3], h_ring(3, 2), "3,4", U);
	h_membership(w, c[4], h_ring(3, 2), "3,4", U);
	nack2 = (size_t)h_find(w, mark, H_VOTE_INFO, 2, QN_VOTE_NACK);
	ck_assert_int_ge((long)nack2, (long)mark);

	/* Node 1 arrives before node 2 answered; {1,2} now wins. */
	c[1] = h_connect(w, "ff", 1, FF, QN_TB_LOWEST, 0, h_ring(1, 2));
	ck_assert_int_eq(h_config(w, c[1], 1, "1,2,3,4"), QN_VOTE_ASK_LATER);
	h_membership(w, c[1], h_ring(1, 2), "1,2", U);
	h_answer(w, nack2);
	h_answer_all(w);
	assert_votes(w, "1,2", "late answer");
	ck_assert_str_eq(c[2]->c.reason,
	    "50:50 split: partition {1,2} holds node 1, tie-breaker lowest");
	h_world_free(w);
}
END_TEST

/*
 * §14.1 with a decision to make: A reported its lists, B only did INIT.
 * B's empty config keeps the membership unstable (as in 3.0.3); B leaving
 * lets A decide alone, without reading B's missing lists.
 */
START_TEST(client_without_lists)
{
	struct qnetd *w = h_world();
	struct h_client *a = h_connect(w, "ff", 1, FF, QN_TB_LOWEST, 0,
	    h_ring(1, 1));
	struct h_client *b = h_connect(w, "ff", 2, FF, QN_TB_LOWEST, 0,
	    h_ring(1, 1));

	h_config(w, a, 1, "1,2");
	ck_assert_int_eq(h_membership(w, a, h_ring(1, 1), "1,2", U),
	    QN_VOTE_WAIT_FOR_REPLY);
	h_leave(w, b, 0);
	ck_assert_uint_eq(h_count(w, 0, H_VOTE_INFO), 1);
	h_answer_all(w);
	assert_votes(w, "1", "A alone");
	ck_assert_str_eq(a->c.reason, "partition {1,2} has 2 of 2 configured "
	    "votes");

	/* A client with only its config takes part in nothing, gets no vote. */
	b = h_connect(w, "ff", 3, FF, QN_TB_LOWEST, 0, h_ring(3, 1));
	ck_assert_int_eq(h_config(w, b, 1, "1,2,3"), QN_VOTE_ASK_LATER);
	ck_assert_int_eq(h_config(w, a, 0, "1,2,3"), QN_VOTE_NO_CHANGE);
	h_answer_all(w);
	ck_assert_int_lt(h_find(w, 0, H_VOTE_INFO, 3, QN_VOTE_NACK), 0);
	ck_assert_uint_eq(b->vote, QN_VOTE_ASK_LATER);
	ck_assert_uint_eq(a->vote, QN_VOTE_ACK);
	ck_assert_str_eq(a->c.reason, "partition {1,2} has 2 of 3 configured "
	    "votes");
	h_world_free(w);
}
END_TEST

/* Reasons stay short however large the partition. */
START_TEST(long_node_lists_are_truncated)
{
	struct qnetd *w = h_world();
	char ids[256] = "", *p = ids;
	struct h_client *a;

	for (uint32_t id = 1000000001; id <= 1000000020; id++)
		p += sprintf(p, "%s%u", p == ids ? "" : ",", id);
	a = h_connect(w, "ff", 1000000001, FF, QN_TB_LOWEST, 0,
	    h_ring(1000000001, 1));
	h_config(w, a, 1, ids);
	h_membership(w, a, h_ring(1000000001, 1), ids, U);
	ck_assert_str_eq(a->c.reason, "partition {1000000001,1000000002,"
	    "1000000003,...} has 20 of 20 configured votes");
	h_world_free(w);
}
END_TEST

Suite *
ffsplit_suite(void)
{
	Suite *s = suite_create("ffsplit");
	TCase *tc = tcase_create("worked examples (2.2.1)");

	tcase_add_loop_test(tc, worked_examples, 0,
	    sizeof(rows) / sizeof(rows[0]));
	tcase_add_test(tc, example_1_message_sequence);
	tcase_add_loop_test(tc, keep_active_partition, 0, 2);
	tcase_add_loop_test(tc, two_node_fail_back, 0, 2);
	suite_add_tcase(s, tc);
	tc = tcase_create("protocol");
	tcase_add_test(tc, single_client_first_vote);
	tcase_add_test(tc, input_validation_and_ask_later);
	tcase_add_test(tc, stale_vote_info_reply_ignored);
	tcase_add_test(tc, reply_to_earlier_nack_keeps_new_ack);
	tcase_add_test(tc, long_node_lists_are_truncated);
	suite_add_tcase(s, tc);
	tc = tcase_create("fixes");
	tcase_add_loop_test(tc, d1_consistent_view, 0, 2);
	tcase_add_test(tc, d2_leaving_client_not_counted);
	tcase_add_test(tc, d2_kap_of_remaining_clients);
	tcase_add_test(tc, client_without_lists);
	suite_add_tcase(s, tc);
	return s;
}
